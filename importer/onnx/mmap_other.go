//go:build !unix

package onnx

import "os"

// mapFile reads the file (no mmap on this platform).
func mapFile(f *os.File, size int64) ([]byte, func(), error) { return readAll(f, size) }

//go:build unix

package onnx

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile maps the file read-only. Only the pages scanned are read from
// disk; raw_data is skipped.
func mapFile(f *os.File, size int64) ([]byte, func(), error) {
	if size == 0 {
		return nil, func() {}, nil
	}
	if int64(int(size)) != size {
		return nil, nil, fmt.Errorf("%d bytes cannot be mapped", size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		// Some file systems cannot map: read the file instead.
		return readAll(f, size)
	}
	return data, func() { syscall.Munmap(data) }, nil
}

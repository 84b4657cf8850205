// Package memory holds kconv's one memory budget: the most bytes a load or
// a run may allocate for tensors. The ONNX importer checks constants it
// builds against it, the executor checks its buffers (weights, the arena
// at the run's batch size) against it before allocating, and the command
// checks inputs against it; all say what they would need.
//
// Decision: the default is half of the machine's physical memory
// (MemTotal in /proc/meminfo), so that one model cannot push the machine
// into swap or the OOM killer; where that is unknown it is 4 GiB.
package memory // import "github.com/kconv/kconv/internal/memory"

import (
	"bufio"
	"bytes"
	"fmt"
	"math/bits"
	"os"
	"strconv"
)

// Fallback is the default budget where the machine's memory is unknown.
const Fallback = 4 << 30

// Default returns the default budget in bytes: half of MemTotal.
func Default() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return Fallback
	}
	return parseMemTotal(b)
}

func parseMemTotal(b []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "MemTotal:" {
			kb, err := strconv.ParseInt(string(f[1]), 10, 64)
			if err != nil || kb <= 0 || kb > 1<<50 {
				return Fallback
			}
			return kb * 1024 / 2
		}
	}
	return Fallback
}

// Resolve returns budget, or Default when budget is 0 or negative.
func Resolve(budget int64) int64 {
	if budget <= 0 {
		return Default()
	}
	return budget
}

// Bytes returns n elements of size bytes each, and false on overflow of
// int64 (or a negative n).
func Bytes(n int64, size int) (int64, bool) {
	if n < 0 || size < 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(n), uint64(size))
	if hi != 0 || lo > 1<<63-1 {
		return 0, false
	}
	return int64(lo), true
}

// Size formats a byte count for messages: "411 MB (411041792 bytes)".
func Size(n int64) string {
	switch {
	case n >= 1<<40:
		return fmt.Sprintf("%.1f TiB (%d bytes)", float64(n)/(1<<40), n)
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB (%d bytes)", float64(n)/(1<<30), n)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/(1<<20), n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ParseSize parses a budget flag: a byte count with an optional K, M, G
// or T suffix (powers of 1024, optionally followed by "B" or "iB").
func ParseSize(s string) (int64, error) {
	num := s
	mul := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if len(s) > len(suf.s) && s[len(s)-len(suf.s):] == suf.s {
			num, mul = s[:len(s)-len(suf.s)], suf.m
			break
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a positive size (bytes, or with a K, M, G or T suffix)", s)
	}
	b, ok := Bytes(v, int(mul))
	if !ok {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return b, nil
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kconv/kconv/internal/tensorio"
)

// TestHostileFlags is class 5 of issue 16: every numeric flag is checked
// before anything is loaded, as a usage error (exit 2) naming the flag.
func TestHostileFlags(t *testing.T) {
	model := filepath.Join(kerasTD, "cifar_small.h5")
	x := func(d string) string { return file(t, d, "x.npy", npy(t, []int{1, 32, 32, 3})) }
	runWith := func(flags ...string) func(d string) []string {
		return func(d string) []string { return append([]string{"run", model, "--input", x(d)}, flags...) }
	}
	benchWith := func(flags ...string) func(d string) []string {
		return func(d string) []string { return append([]string{"bench", model}, flags...) }
	}
	cases := []hostile{
		{"run --top -5", runWith("--top", "-5"), 2, []string{"--top -5"}},
		{"run --top 0", runWith("--top", "0"), 2, []string{"--top 0"}},
		{"run --threads -1", runWith("--threads", "-1"), 2, []string{"--threads -1"}},
		{"run --threads 10^9", runWith("--threads", "1000000000"), 2, []string{"--threads 1000000000"}},
		{"run --scale NaN", runWith("--scale", "NaN"), 2, []string{"--scale"}},
		{"run --memory-budget nonsense", runWith("--memory-budget", "lots"), 2, []string{"--memory-budget", "lots"}},
		{"run --memory-budget 0", runWith("--memory-budget", "0"), 2, []string{"--memory-budget"}},
		{"bench --batch 0", benchWith("--batch", "0"), 2, []string{"--batch 0"}},
		{"bench --batch -3", benchWith("--batch", "-3"), 2, []string{"--batch -3"}},
		{"bench --runs 0", benchWith("--runs", "0"), 2, []string{"--runs 0"}},
		{"bench --batch 2^63-1", benchWith("--batch", "9223372036854775807", "--runs", "1", "--warmup", "0"), 1, []string{"--batch 9223372036854775807"}},
		{"bench --batch overflowing int", benchWith("--batch", "99999999999999999999"), 2, []string{"--batch"}},
		{"bench --warmup -1", benchWith("--warmup", "-1"), 2, []string{"--warmup -1"}},
		{"bench --threads -1", benchWith("--threads", "-1"), 2, []string{"--threads -1"}},
		{"verify --rtol -1", func(d string) []string {
			return []string{"verify", model, "--input", x(d), "--expect", x(d), "--rtol", "-1"}
		}, 2, []string{"--rtol"}},
		{"verify --atol Inf", func(d string) []string {
			return []string{"verify", model, "--input", x(d), "--expect", x(d), "--atol", "Inf"}
		}, 2, []string{"--atol"}},
		{"verify --threads -2", func(d string) []string {
			return []string{"verify", model, "--input", x(d), "--expect", x(d), "--threads", "-2"}
		}, 2, []string{"--threads -2"}},
	}
	runHostile(t, cases)
}

// TestOutStdout: --out - writes the .npy to standard output (and nothing
// else there), and no file named "-".
func TestOutStdout(t *testing.T) {
	d := t.TempDir()
	x := file(t, d, "x.npy", npy(t, []int{1, 32, 32, 3}))
	wd, _ := os.Getwd()
	if err := os.Chdir(d); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	code, out, errs := kconv(t, "run", filepath.Join(wd, kerasTD, "cifar_small.h5"), "--input", x, "--out", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(d, "-")); err == nil {
		t.Error("a file named - was written")
	}
	p := filepath.Join(d, "y.npy")
	if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	shape, data, _, err := tensorio.ReadNPY(p)
	if err != nil {
		t.Fatalf("standard output is not a .npy: %v (%q)", err, out[:min(len(out), 40)])
	}
	if len(shape) != 2 || shape[0] != 1 || len(data) != shape[1] {
		t.Errorf("shape %v, %d values", shape, len(data))
	}
	if !bytes.HasPrefix([]byte(out), []byte("\x93NUMPY")) || strings.Contains(errs, "internal error") {
		t.Errorf("stderr %q", errs)
	}
}

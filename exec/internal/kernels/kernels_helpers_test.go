package kernels

import (
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Helpers shared by the conv, dense and workspace tests (prefix kh).

// khRand returns n uniform values in [-1, 1) from a fixed seed.
func khRand(seed uint64, n int) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// khClose fails t unless got and want have the same length and every
// element agrees within rtol relative to max(|want[i]|, scale), where scale
// is the RMS of want: float32 sums of many terms err relative to the terms'
// magnitude, not to a result that happens to cancel to near zero.
func khClose(t testing.TB, what string, got, want []float32, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	var ss float64
	for _, w := range want {
		ss += float64(w) * float64(w)
	}
	scale := math.Sqrt(ss / float64(max(len(want), 1)))
	scale = max(scale, 1e-6)
	bad := 0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) || math.Abs(g-w) > rtol*max(math.Abs(w), scale) {
			if bad < 5 {
				t.Errorf("%s: [%d] = %v, want %v", what, i, g, w)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d elements differ", what, bad, len(want))
	}
}

// khPoison returns n NaNs, for outputs a kernel must fully overwrite.
func khPoison(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return s
}

var (
	khReLU = Activation{Kind: ActReLU}
	khELU  = Activation{Kind: ActELU, Alpha: 1}
)

// khLoad measures the CPU time that other processes on the machine use
// while a benchmark runs, so results from a shared, noisy machine can be
// told apart: call it before the timed loop and call the returned function
// after, which reports "foreign-cores" (average cores busy outside this
// process; 0 = the machine was ours). It reports nothing where /proc/stat
// or getrusage is unavailable.
func khLoad(b *testing.B) func() {
	busy0, ok0 := khBusyTicks()
	own0, ok1 := khOwnCPU()
	t0 := time.Now()
	return func() {
		busy1, ok2 := khBusyTicks()
		own1, ok3 := khOwnCPU()
		if !(ok0 && ok1 && ok2 && ok3) {
			return
		}
		wall := time.Since(t0).Seconds()
		foreign := (float64(busy1-busy0)/100 - (own1 - own0).Seconds()) / wall
		b.ReportMetric(max(foreign, 0), "foreign-cores")
	}
}

// khBusyTicks is the machine's non-idle CPU time in USER_HZ (100/s) ticks.
func khBusyTicks() (int64, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for i, s := range f[1:] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false
		}
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, true
}

func khOwnCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kconv/kconv/internal/tensorio"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeEqualsRun serves a Keras file with `kconv serve` on 127.0.0.1,
// checks that an inference over HTTP equals `kconv run` on the same input,
// then stops the server with SIGTERM: it must exit 0.
func TestServeEqualsRun(t *testing.T) {
	model := filepath.Join(kerasTD, "cifar_small.keras")
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 2*32*32*3)
	for i := range x {
		x[i] = r.Float32()
	}
	xPath, yPath := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	f, err := os.Create(xPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := tensorio.EncodeNPY(f, []int{2, 32, 32, 3}, x); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// kconv serve runs cifar_small (3.5 MFLOP per row) on one thread per
	// run (serve.Parallelism): kconv run with the same program
	// configuration computes the same bits (another thread count may split
	// the batch differently, which changes float32 rounding).
	if code, out, errs := kconv(t, "run", model, "--threads", "1", "--input", xPath, "--out", yPath, "-q"); code != 0 {
		t.Fatalf("kconv run: exit %d\n%s%s", code, out, errs)
	}
	_, want, _, err := tensorio.ReadNPY(yPath)
	if err != nil {
		t.Fatal(err)
	}

	var stdout, stderr syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run([]string{"serve", model, "--name", "cifar", "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--max-batch", "4", "-q"}, &stdout, &stderr)
	}()
	addrRE := regexp.MustCompile(`on http://(127\.0\.0\.1:\d+)`)
	var addr string
	for deadline := time.Now().Add(time.Minute); addr == ""; {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case code := <-exited:
			t.Fatalf("kconv serve exited %d before serving: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kconv serve did not start: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "cifar: 1 thread(s) per run, ") {
		t.Fatalf("kconv serve chose other threads than kconv run's here:\n%s", stderr.String())
	}
	body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "input_layer_2", "shape": []int{2, 32, 32, 3}, "datatype": "FP32", "data": x}}})
	res, err := http.Post("http://"+addr+"/v2/models/cifar/infer", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var got struct {
		Outputs []struct {
			Shape []int     `json:"shape"`
			Data  []float32 `json:"data"`
		} `json:"outputs"`
	}
	if res.StatusCode != 200 || json.Unmarshal(b, &got) != nil || len(got.Outputs) != 1 {
		t.Fatalf("%d %s", res.StatusCode, b)
	}
	if fmt.Sprint(got.Outputs[0].Shape) != "[2 10]" || len(got.Outputs[0].Data) != len(want) {
		t.Fatalf("output shape %v, %d values; want [2 10]", got.Outputs[0].Shape, len(got.Outputs[0].Data))
	}
	for i := range want {
		if got.Outputs[0].Data[i] != want[i] {
			t.Fatalf("value %d: serve %v, run %v", i, got.Outputs[0].Data[i], want[i])
		}
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 0 || !strings.Contains(stderr.String(), "stopped after finishing") {
			t.Fatalf("after SIGTERM: exit %d\n%s", code, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("kconv serve did not stop after SIGTERM")
	}
}

func TestServeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"serve"},
		{"serve", "a.h5", "b.h5", "--name", "x"},
		{"serve", "a.h5", "--max-batch", "0"},
	} {
		if code, _, errs := kconv(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, errs)
		}
	}
	if code, _, errs := kconv(t, "serve", "missing.h5"); code != 1 || !strings.Contains(errs, "missing.h5") {
		t.Errorf("missing model: exit %d\n%s", code, errs)
	}
}

package serve

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/kconv/kconv/ir"
	pb "github.com/kconv/kconv/serve/inferencepb"
)

// grpcClient serves s over gRPC on 127.0.0.1 and returns a client.
func grpcClient(t *testing.T, s *Server) pb.GRPCInferenceServiceClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeGRPC(ctx, ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeGRPC: %v", err)
		}
	})
	return pb.NewGRPCInferenceServiceClient(conn)
}

func TestGRPCMetadata(t *testing.T) {
	s, _ := testServer(t, Config{Version: "9"})
	c := grpcClient(t, s)
	ctx := context.Background()
	if r, err := c.ServerLive(ctx, &pb.ServerLiveRequest{}); err != nil || !r.Live {
		t.Fatalf("ServerLive: %v %v", r, err)
	}
	if r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Fatalf("ServerReady: %v %v", r, err)
	}
	if r, err := c.ServerMetadata(ctx, &pb.ServerMetadataRequest{}); err != nil || r.Name != "kconv" || r.Version != "9" || len(r.Extensions) != 1 {
		t.Fatalf("ServerMetadata: %v %v", r, err)
	}
	if r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "two"}); err != nil || !r.Ready {
		t.Fatalf("ModelReady: %v %v", r, err)
	}
	r, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "two", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ts := range [][]*pb.ModelMetadataResponse_TensorMetadata{r.Inputs, r.Outputs} {
		for _, x := range ts {
			got = append(got, fmt.Sprint(x.Name, " ", x.Datatype, " ", x.Shape))
		}
	}
	if r.Name != "two" || r.Platform != "kconv" || strings.Join(r.Versions, ",") != "1" || strings.Join(got, "; ") != "a FP32 [-1 4]; b FP32 [-1 4]; out1 FP32 [-1 3]; out2 FP32 [-1 2]" {
		t.Fatalf("ModelMetadata: %v (%v)", r, got)
	}
	for _, name := range []string{"nope"} {
		if _, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: name}); status.Code(err) != codes.NotFound {
			t.Errorf("ModelMetadata(%s): %v, want NotFound", name, err)
		}
		if _, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: name}); status.Code(err) != codes.NotFound {
			t.Errorf("ModelReady(%s): %v, want NotFound", name, err)
		}
	}
	if _, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "two", Version: "2"}); status.Code(err) != codes.NotFound {
		t.Errorf("version 2: %v, want NotFound", err)
	}
}

func TestGRPCInferEqualsRun(t *testing.T) {
	s, _ := testServer(t, Config{MaxBatch: 4})
	c := grpcClient(t, s)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(11, 12))
	a := randTensor(r, ir.Shape{3, 4}, ir.LayoutNone)
	b := randTensor(r, ir.Shape{3, 4}, ir.LayoutNone)
	want := reference(t, s.models["two"].prog, a, b)

	// Typed contents.
	res, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "two", Id: "x", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "b", Datatype: "FP32", Shape: []int64{3, 4}, Contents: &pb.InferTensorContents{Fp32Contents: b.Data}},
		{Name: "a", Datatype: "FP32", Shape: []int64{3, 4}, Contents: &pb.InferTensorContents{Fp32Contents: a.Data}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ModelName != "two" || res.ModelVersion != "1" || res.Id != "x" || len(res.Outputs) != 2 || res.Outputs[1].Name != "out2" {
		t.Fatalf("response %v", res)
	}
	for o := range 2 {
		sameTensor(t, res.Outputs[o].Name, toInts(res.Outputs[o].Shape), res.Outputs[o].Contents.Fp32Contents, want[o])
	}

	// Raw contents in, raw out; one output asked for.
	res, err = c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "two", ModelVersion: "1",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: "a", Datatype: "FP32", Shape: []int64{3, 4}},
			{Name: "b", Datatype: "FP32", Shape: []int64{3, 4}},
		},
		Outputs:          []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "out2"}},
		RawInputContents: [][]byte{fp32Bytes(a.Data), fp32Bytes(b.Data)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != 1 || len(res.RawOutputContents) != 1 || res.Outputs[0].Contents != nil {
		t.Fatalf("response %v", res)
	}
	sameTensor(t, "out2 (raw)", toInts(res.Outputs[0].Shape), decodeBinary(datatypes["FP32"], res.RawOutputContents[0]), want[1])

	// Integer contents convert.
	ai := &ir.Tensor{Shape: ir.Shape{1, 4}, Data: []float32{1, 2, 250, 0}}
	bi := &ir.Tensor{Shape: ir.Shape{1, 4}, Data: []float32{-3, 5, 7, -100}}
	want = reference(t, s.models["two"].prog, ai, bi)
	res, err = c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "two", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "a", Datatype: "UINT8", Shape: []int64{1, 4}, Contents: &pb.InferTensorContents{UintContents: []uint32{1, 2, 250, 0}}},
		{Name: "b", Datatype: "INT64", Shape: []int64{1, 4}, Contents: &pb.InferTensorContents{Int64Contents: []int64{-3, 5, 7, -100}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sameTensor(t, "out1 (integers)", toInts(res.Outputs[0].Shape), res.Outputs[0].Contents.Fp32Contents, want[0])

	mfs, err := s.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	counted := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "kconv_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["protocol"] == "grpc" && labels["model"] == "two" && labels["code"] == "OK" {
				counted += m.GetCounter().GetValue()
			}
		}
	}
	if counted != 3 {
		t.Errorf("kconv_requests_total{protocol=grpc,model=two,code=OK} = %v, want 3", counted)
	}
}

func toInts(s []int64) []int {
	out := make([]int, len(s))
	for i, d := range s {
		out[i] = int(d)
	}
	return out
}

func TestGRPCBadRequests(t *testing.T) {
	s, _ := testServer(t, Config{})
	c := grpcClient(t, s)
	ctx := context.Background()
	in := func(name, dt string, shape []int64, vals []float32) *pb.ModelInferRequest_InferInputTensor {
		return &pb.ModelInferRequest_InferInputTensor{Name: name, Datatype: dt, Shape: shape, Contents: &pb.InferTensorContents{Fp32Contents: vals}}
	}
	good := in("b", "FP32", []int64{1, 4}, []float32{1, 2, 3, 4})
	cases := []struct {
		name string
		req  *pb.ModelInferRequest
		code codes.Code
		msg  string
	}{
		{"unknown model", &pb.ModelInferRequest{ModelName: "nope"}, codes.NotFound, "unknown model"},
		{"no inputs", &pb.ModelInferRequest{ModelName: "two"}, codes.InvalidArgument, "no inputs"},
		{"wrong shape", &pb.ModelInferRequest{ModelName: "two", Inputs: []*pb.ModelInferRequest_InferInputTensor{in("a", "FP32", []int64{1, 5}, make([]float32, 5)), good}}, codes.InvalidArgument, "input 'a': shape"},
		{"wrong dtype", &pb.ModelInferRequest{ModelName: "two", Inputs: []*pb.ModelInferRequest_InferInputTensor{in("a", "BOOL", []int64{1, 4}, nil), good}}, codes.InvalidArgument, "input 'a': datatype"},
		{"too few values", &pb.ModelInferRequest{ModelName: "two", Inputs: []*pb.ModelInferRequest_InferInputTensor{in("a", "FP32", []int64{1, 4}, []float32{1}), good}}, codes.InvalidArgument, "input 'a': 1 FP32 values"},
		{"contents in the wrong field", &pb.ModelInferRequest{ModelName: "two", Inputs: []*pb.ModelInferRequest_InferInputTensor{in("a", "INT32", []int64{1, 4}, []float32{1, 2, 3, 4}), good}}, codes.InvalidArgument, "input 'a': 0 INT32 values"},
		{"no contents", &pb.ModelInferRequest{ModelName: "two", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "FP32", Shape: []int64{1, 4}}, good}}, codes.InvalidArgument, "no contents"},
		{"FP16 typed", &pb.ModelInferRequest{ModelName: "two", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "FP16", Shape: []int64{1, 4}, Contents: &pb.InferTensorContents{}}, good}}, codes.InvalidArgument, "raw_input_contents"},
		{"UINT8 out of range", &pb.ModelInferRequest{ModelName: "two", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "UINT8", Shape: []int64{1, 4}, Contents: &pb.InferTensorContents{UintContents: []uint32{1, 2, 3, 256}}}, good}}, codes.InvalidArgument, "256 is not a UINT8"},
		{"missing input", &pb.ModelInferRequest{ModelName: "two", Inputs: []*pb.ModelInferRequest_InferInputTensor{good}}, codes.InvalidArgument, "input 'a' is missing"},
		{"raw count", &pb.ModelInferRequest{ModelName: "two", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "FP32", Shape: []int64{1, 4}}, {Name: "b", Datatype: "FP32", Shape: []int64{1, 4}}}, RawInputContents: [][]byte{make([]byte, 16)}}, codes.InvalidArgument, "1 raw_input_contents for 2 inputs"},
		{"raw truncated", &pb.ModelInferRequest{ModelName: "two", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "FP32", Shape: []int64{1, 4}}, {Name: "b", Datatype: "FP32", Shape: []int64{1, 4}}}, RawInputContents: [][]byte{make([]byte, 16), make([]byte, 15)}}, codes.InvalidArgument, "input 'b': 15 raw bytes"},
		{"unknown output", &pb.ModelInferRequest{ModelName: "two", Inputs: []*pb.ModelInferRequest_InferInputTensor{in("a", "FP32", []int64{1, 4}, []float32{1, 2, 3, 4}), good}, Outputs: []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "zz"}}}, codes.InvalidArgument, "unknown output 'zz'"},
	}
	for _, tc := range cases {
		_, err := c.ModelInfer(ctx, tc.req)
		if st, _ := status.FromError(err); st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
			t.Errorf("%s: %v, want %v containing %q", tc.name, err, tc.code, tc.msg)
		}
	}
}

// TestGRPCConcurrent sends gRPC calls from many goroutines with batching
// on; each answer must equal the model run alone on that call's inputs.
func TestGRPCConcurrent(t *testing.T) {
	s, _ := testServer(t, Config{MaxBatch: 8, BatchTimeout: 2 * time.Millisecond, MaxQueue: 128})
	c := grpcClient(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 5))
			for range 10 {
				n := 1 + r.IntN(3)
				a := randTensor(r, ir.Shape{n, 4}, ir.LayoutNone)
				b := randTensor(r, ir.Shape{n, 4}, ir.LayoutNone)
				want, err := s.models["two"].prog.Run(context.Background(), []*ir.Tensor{a, b})
				if err != nil {
					errs <- err
					return
				}
				res, err := c.ModelInfer(context.Background(), &pb.ModelInferRequest{ModelName: "two",
					Inputs: []*pb.ModelInferRequest_InferInputTensor{
						{Name: "a", Datatype: "FP32", Shape: []int64{int64(n), 4}},
						{Name: "b", Datatype: "FP32", Shape: []int64{int64(n), 4}},
					},
					RawInputContents: [][]byte{fp32Bytes(a.Data), fp32Bytes(b.Data)},
				})
				if err != nil {
					errs <- err
					return
				}
				for o := range 2 {
					if err := near(decodeBinary(datatypes["FP32"], res.RawOutputContents[o]), want[o].Data); err != nil {
						errs <- fmt.Errorf("goroutine %d output %d: %w", g, o, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

package serve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/serve/inferencepb"
)

// The Open Inference Protocol over gRPC (inference.GRPCInferenceService):
// the same models, checks, batcher and metrics as the REST endpoints.

// NewGRPC returns a gRPC server offering the protocol's service for s's
// models, with the body limit as its message size limit and panics
// recovered per call. ServeGRPC runs one; use NewGRPC to add it to a server
// of your own making.
func (s *Server) NewGRPC() *grpc.Server {
	gs := grpc.NewServer(
		grpc.MaxRecvMsgSize(int(min(s.cfg.MaxBodyBytes, math.MaxInt32))),
		grpc.ChainUnaryInterceptor(s.grpcRecover, s.grpcMeasure),
	)
	inferencepb.RegisterGRPCInferenceServiceServer(gs, &grpcService{s: s})
	return gs
}

// ServeGRPC answers gRPC calls on ln until ctx ends, then stops accepting
// them and waits for calls in flight (at most Config.DrainTimeout). Call
// Close once it (and Serve) have returned.
func (s *Server) ServeGRPC(ctx context.Context, ln net.Listener) error {
	gs := s.NewGRPC()
	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	stopped := make(chan struct{})
	go func() {
		gs.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
		<-errc
		return nil
	case <-time.After(s.cfg.DrainTimeout):
		gs.Stop()
		<-errc
		return errors.New("draining in-flight gRPC calls: timed out")
	}
}

func (s *Server) grpcRecover(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.cfg.Log.Printf("kconv serve: panic serving %s: %v", info.FullMethod, v)
			resp, err = nil, status.Error(codes.Internal, "internal error")
		}
	}()
	return h(ctx, req)
}

// grpcMeasure counts and times ModelInfer calls (protocol "grpc", code the
// gRPC status code's name).
func (s *Server) grpcMeasure(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	r, ok := req.(*inferencepb.ModelInferRequest)
	if !ok {
		return h(ctx, req)
	}
	start := time.Now()
	resp, err := h(ctx, req)
	model := ""
	if s.models[r.ModelName] != nil {
		model = r.ModelName
	}
	code := status.Code(err)
	if code == codes.OK && model != "" {
		s.metrics.okFor(model, "grpc").observe(time.Since(start))
	} else {
		s.metrics.requests.WithLabelValues(model, "grpc", code.String()).Inc()
		s.metrics.latency.WithLabelValues(model, "grpc").Observe(time.Since(start).Seconds())
	}
	return resp, err
}

// grpcError maps an error (an httpError or other) to a gRPC status.
func grpcError(err error) error {
	var he *httpError
	if !errors.As(err, &he) {
		return status.Error(codes.Internal, err.Error())
	}
	code := codes.Internal
	switch he.code {
	case http.StatusBadRequest:
		code = codes.InvalidArgument
	case http.StatusNotFound:
		code = codes.NotFound
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		code = codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		code = codes.Unavailable
	case http.StatusGatewayTimeout:
		code = codes.DeadlineExceeded
	case 499:
		code = codes.Canceled
	}
	return status.Error(code, he.msg)
}

type grpcService struct {
	inferencepb.UnimplementedGRPCInferenceServiceServer
	s *Server
}

func (g *grpcService) model(name, version string) (*entry, error) {
	e := g.s.models[name]
	if e == nil {
		return nil, status.Errorf(codes.NotFound, "unknown model %q", name)
	}
	if version != "" && version != "1" {
		return nil, status.Errorf(codes.NotFound, "model %q has no version %q (it has version 1)", name, version)
	}
	return e, nil
}

func (g *grpcService) ServerLive(context.Context, *inferencepb.ServerLiveRequest) (*inferencepb.ServerLiveResponse, error) {
	return &inferencepb.ServerLiveResponse{Live: true}, nil
}

func (g *grpcService) ServerReady(context.Context, *inferencepb.ServerReadyRequest) (*inferencepb.ServerReadyResponse, error) {
	return &inferencepb.ServerReadyResponse{Ready: !g.s.draining.Load()}, nil
}

func (g *grpcService) ModelReady(_ context.Context, r *inferencepb.ModelReadyRequest) (*inferencepb.ModelReadyResponse, error) {
	if _, err := g.model(r.Name, r.Version); err != nil {
		return nil, err
	}
	return &inferencepb.ModelReadyResponse{Ready: !g.s.draining.Load()}, nil
}

func (g *grpcService) ServerMetadata(context.Context, *inferencepb.ServerMetadataRequest) (*inferencepb.ServerMetadataResponse, error) {
	return &inferencepb.ServerMetadataResponse{Name: "kconv", Version: g.s.cfg.Version, Extensions: []string{"binary_tensor_data"}}, nil
}

func (g *grpcService) ModelMetadata(_ context.Context, r *inferencepb.ModelMetadataRequest) (*inferencepb.ModelMetadataResponse, error) {
	e, err := g.model(r.Name, r.Version)
	if err != nil {
		return nil, err
	}
	specs := func(ts []tensorSpec) []*inferencepb.ModelMetadataResponse_TensorMetadata {
		out := make([]*inferencepb.ModelMetadataResponse_TensorMetadata, len(ts))
		for i, t := range ts {
			out[i] = &inferencepb.ModelMetadataResponse_TensorMetadata{Name: t.name, Datatype: "FP32", Shape: shapeJSON(t.shape)}
		}
		return out
	}
	return &inferencepb.ModelMetadataResponse{Name: e.name, Versions: []string{"1"}, Platform: "kconv", Inputs: specs(e.inputs), Outputs: specs(e.outputs)}, nil
}

func (g *grpcService) ModelInfer(ctx context.Context, r *inferencepb.ModelInferRequest) (*inferencepb.ModelInferResponse, error) {
	e, err := g.model(r.ModelName, r.ModelVersion)
	if err != nil {
		return nil, err
	}
	inputs, rows, err := grpcInputs(r, e)
	if err != nil {
		return nil, grpcError(err)
	}
	var which []int
	if len(r.Outputs) == 0 {
		for i := range e.outputs {
			which = append(which, i)
		}
	}
	for _, o := range r.Outputs {
		i := -1
		for k, spec := range e.outputs {
			if spec.name == o.Name {
				i = k
			}
		}
		if i < 0 {
			return nil, status.Errorf(codes.InvalidArgument, "unknown output '%s' (model outputs: %s)", o.Name, names(e.outputs))
		}
		which = append(which, i)
	}
	outs, err := g.s.run(ctx, e, inputs, rows)
	if err != nil {
		return nil, grpcError(err)
	}
	// The job was answered: the input buffers go back to the pool unless
	// an output (which the response may hold) aliases one.
	defer func() {
		for _, t := range inputs {
			if !aliased(t.Data, outs) {
				e.bufs.putFloats(t.Data)
			}
		}
	}()
	raw := len(r.RawInputContents) > 0
	res := &inferencepb.ModelInferResponse{ModelName: e.name, ModelVersion: "1", Id: r.Id}
	for _, i := range which {
		t := outs[i]
		o := &inferencepb.ModelInferResponse_InferOutputTensor{Name: e.outputs[i].name, Datatype: "FP32", Shape: make([]int64, len(t.Shape))}
		for d, n := range t.Shape {
			o.Shape[d] = int64(n)
		}
		if raw {
			res.RawOutputContents = append(res.RawOutputContents, encodeFP32(make([]byte, 0, 4*len(t.Data)), t.Data))
		} else {
			o.Contents = &inferencepb.InferTensorContents{Fp32Contents: t.Data}
		}
		res.Outputs = append(res.Outputs, o)
	}
	return res, nil
}

// grpcInputs checks a ModelInfer request's inputs against e and converts
// them, from raw_input_contents or from each input's typed contents.
func grpcInputs(r *inferencepb.ModelInferRequest, e *entry) ([]*ir.Tensor, int, error) {
	if len(r.Inputs) == 0 {
		return nil, 0, badRequest("the request has no inputs (model inputs: %s)", names(e.inputs))
	}
	raw := r.RawInputContents
	if len(raw) > 0 && len(raw) != len(r.Inputs) {
		return nil, 0, badRequest("%d raw_input_contents for %d inputs", len(raw), len(r.Inputs))
	}
	inputs := make([]*ir.Tensor, len(e.inputs))
	rows := -1
	for i, in := range r.Inputs {
		k, dt, elements, err := e.checkInput(in.Name, in.Datatype, in.Shape, inputs, &rows)
		if err != nil {
			return nil, 0, err
		}
		var data []float32
		if len(raw) > 0 {
			if in.Contents != nil {
				return nil, 0, badRequest("input '%s': contents given with raw_input_contents", in.Name)
			}
			if want := elements * dt.size; len(raw[i]) != want {
				return nil, 0, badRequest("input '%s': %d raw bytes, but shape %v of %s takes %d", in.Name, len(raw[i]), in.Shape, dt.name, want)
			}
			data = decodeBinaryInto(e.bufs.getFloats(elements), dt, raw[i])
		} else {
			data, err = contentValues(in.Contents, dt, elements, e.bufs.getFloats)
			if err != nil {
				return nil, 0, badRequest("input '%s': %v", in.Name, err)
			}
		}
		inputs[k] = &ir.Tensor{Shape: toShape(in.Shape), Layout: e.inputs[k].layout, Data: data}
	}
	if err := e.allInputs(inputs); err != nil {
		return nil, 0, err
	}
	return inputs, max(rows, 1), nil
}

// contentValues converts typed contents of datatype dt (elements values)
// to float32, checking integer ranges, into a slice from alloc.
func contentValues(c *inferencepb.InferTensorContents, dt *datatype, elements int, alloc func(n int) []float32) ([]float32, error) {
	if c == nil {
		return nil, errors.New("no contents (give contents or raw_input_contents)")
	}
	var n int
	var at func(i int) float64
	switch dt.name {
	case "FP32":
		n, at = len(c.Fp32Contents), func(i int) float64 { return float64(c.Fp32Contents[i]) }
	case "FP64":
		n, at = len(c.Fp64Contents), func(i int) float64 { return c.Fp64Contents[i] }
	case "INT8", "INT16", "INT32":
		n, at = len(c.IntContents), func(i int) float64 { return float64(c.IntContents[i]) }
	case "INT64":
		n, at = len(c.Int64Contents), func(i int) float64 { return float64(c.Int64Contents[i]) }
	case "UINT8", "UINT16", "UINT32":
		n, at = len(c.UintContents), func(i int) float64 { return float64(c.UintContents[i]) }
	case "UINT64":
		n, at = len(c.Uint64Contents), func(i int) float64 { return float64(c.Uint64Contents[i]) }
	default:
		return nil, fmt.Errorf("%s values travel only in raw_input_contents", dt.name)
	}
	if n != elements {
		return nil, fmt.Errorf("%d %s values for %d elements", n, dt.name, elements)
	}
	out := alloc(n)
	for i := range out {
		v := at(i)
		if dt.integer && (v < dt.min || v > dt.max) {
			return nil, fmt.Errorf("value %s is not a %s", strconv.FormatFloat(v, 'g', -1, 64), dt.name)
		}
		if dt.name == "FP64" && math.Abs(v) > math.MaxFloat32 && !math.IsInf(v, 0) {
			return nil, fmt.Errorf("value %g is out of float32 range", v)
		}
		out[i] = float32(v)
	}
	return out, nil
}

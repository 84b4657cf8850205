package serve

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"unsafe"

	"github.com/kconv/kconv/ir"
)

// headerLength is the binary tensor data extension's header: the length of
// the JSON part of a body whose tensors follow it in binary.
const headerLength = "Inference-Header-Content-Length"

// v2Tensor describes a tensor in metadata.
type v2Tensor struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"name":       "kconv",
		"version":    s.cfg.Version,
		"extensions": []string{"binary_tensor_data"},
	})
}

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request, e *entry) {
	specs := func(ts []tensorSpec) []v2Tensor {
		out := make([]v2Tensor, len(ts))
		for i, t := range ts {
			out[i] = v2Tensor{Name: t.name, Datatype: "FP32", Shape: shapeJSON(t.shape)}
		}
		return out
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name":     e.name,
		"versions": []string{"1"},
		"platform": "kconv",
		"inputs":   specs(e.inputs),
		"outputs":  specs(e.outputs),
	})
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request, e *entry) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"name": e.name, "ready": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": e.name, "ready": true})
}

// v2Request is an inference request ($inference_request).
type v2Request struct {
	ID         string                     `json:"id"`
	Parameters map[string]json.RawMessage `json:"parameters"`
	Inputs     []v2Input                  `json:"inputs"`
	Outputs    []v2RequestOutput          `json:"outputs"`
}

// v2Input is a request input ($request_input).
type v2Input struct {
	Name       string                     `json:"name"`
	Shape      []int64                    `json:"shape"`
	Datatype   string                     `json:"datatype"`
	Parameters map[string]json.RawMessage `json:"parameters"`
	Data       json.RawMessage            `json:"data"`
}

// v2RequestOutput asks for one output ($request_output).
type v2RequestOutput struct {
	Name       string                     `json:"name"`
	Parameters map[string]json.RawMessage `json:"parameters"`
}

// boolParam reads a boolean parameter (false when absent).
func boolParam(params map[string]json.RawMessage, key, where string) (bool, error) {
	raw, ok := params[key]
	if !ok {
		return false, nil
	}
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	var v bool
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, badRequest("%s: parameter %s must be a boolean, got %s", where, key, raw)
	}
	return v, nil
}

func (s *Server) infer(w http.ResponseWriter, r *http.Request, e *entry) {
	var (
		req    *v2Request
		inputs []*ir.Tensor
		rows   int
		err    error
	)
	if hl := r.Header.Get(headerLength); hl != "" && r.ContentLength > 0 && r.ContentLength <= s.cfg.MaxBodyBytes {
		// Binary tensors of a body of known length are read from the
		// connection straight into the input buffers.
		req, inputs, rows, err = s.parseV2Stream(w, r, hl, e)
	} else {
		var body []byte
		if body, err = s.readBody(w, r); err != nil {
			s.writeErr(w, err)
			return
		}
		req, inputs, rows, err = parseV2(hl, body, e)
		s.bufs.putBytes(body) // parseV2 keeps no reference to it
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	// Which outputs, and which in binary.
	type want struct {
		index  int
		binary bool
	}
	allBinary, err := boolParam(req.Parameters, "binary_data_output", "request")
	if err != nil {
		s.writeErr(w, err)
		return
	}
	var wants []want
	if len(req.Outputs) == 0 {
		for i := range e.outputs {
			wants = append(wants, want{i, allBinary})
		}
	} else {
		for _, o := range req.Outputs {
			i := -1
			for k, spec := range e.outputs {
				if spec.name == o.Name {
					i = k
				}
			}
			if i < 0 {
				s.writeErr(w, badRequest("unknown output '%s' (model outputs: %s)", o.Name, names(e.outputs)))
				return
			}
			bin, err := boolParam(o.Parameters, "binary_data", "output '"+o.Name+"'")
			if err != nil {
				s.writeErr(w, err)
				return
			}
			if _, ok := o.Parameters["binary_data"]; !ok {
				bin = allBinary
			}
			wants = append(wants, want{i, bin})
		}
	}
	outs, err := s.run(r.Context(), e, inputs, rows)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	// The job was answered: once the response is written nothing refers to
	// its inputs (outputs may alias them: an identity model).
	defer func() {
		for _, t := range inputs {
			e.bufs.putFloats(t.Data)
		}
	}()
	size := 256
	for _, t := range outs {
		size += 16 * len(t.Data)
	}
	js := s.bufs.getBytes(size)
	defer func() { s.bufs.putBytes(js) }()
	var bin []byte
	js = append(js, `{"model_name":`...)
	js = appendString(js, e.name)
	js = append(js, `,"model_version":"1"`...)
	if req.ID != "" {
		js = append(js, `,"id":`...)
		js = appendString(js, req.ID)
	}
	js = append(js, `,"outputs":[`...)
	for k, wnt := range wants {
		t := outs[wnt.index]
		if k > 0 {
			js = append(js, ',')
		}
		js = append(js, `{"name":`...)
		js = appendString(js, e.outputs[wnt.index].name)
		js = append(js, `,"datatype":"FP32","shape":[`...)
		for d, n := range t.Shape {
			if d > 0 {
				js = append(js, ',')
			}
			js = strconv.AppendInt(js, int64(n), 10)
		}
		js = append(js, ']')
		if wnt.binary {
			js = append(js, `,"parameters":{"binary_data_size":`...)
			js = strconv.AppendInt(js, int64(4*len(t.Data)), 10)
			js = append(js, '}', '}')
			bin = encodeFP32(bin, t.Data)
		} else {
			js = append(js, `,"data":`...)
			js = appendFloats(js, t.Data)
			js = append(js, '}')
		}
	}
	js = append(js, ']', '}')
	if bin == nil {
		writeBody(w, http.StatusOK, "application/json", js)
		return
	}
	w.Header().Set(headerLength, strconv.Itoa(len(js)))
	js = append(js, bin...)
	writeBody(w, http.StatusOK, "application/octet-stream", js)
}

// appendString appends s as a JSON string, as encoding/json writes it.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		// Bytes encoding/json escapes (HTML-safe) or that need a UTF-8
		// check take its path; names are almost always plain ASCII.
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

func names(ts []tensorSpec) string {
	var b bytes.Buffer
	for i, t := range ts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t.name)
	}
	return b.String()
}

// cutDataMin is the JSON size from which parseV2 takes cutData's fast
// path; smaller requests go to encoding/json whole.
const cutDataMin = 4096

// parseV2 decodes and checks an inference request for e: the JSON header
// (the whole body, or its first headerLen bytes with binary tensors after
// it), every input's name, datatype, shape and element count, and the
// binary sizes. It returns the inputs in model order and their batch size.
func parseV2(headerLen string, body []byte, e *entry) (*v2Request, []*ir.Tensor, int, error) {
	jsonPart, binPart := body, []byte(nil)
	if headerLen != "" {
		n, err := jsonLength(headerLen, int64(len(body)))
		if err != nil {
			return nil, nil, 0, err
		}
		jsonPart, binPart = body[:n], body[n:]
	}
	return parseV2Parts(jsonPart, &bytesSource{b: binPart}, e)
}

// jsonLength reads the binary extension's header: the length of the JSON
// part of a body of bodyLen bytes.
func jsonLength(headerLen string, bodyLen int64) (int64, error) {
	n, err := strconv.ParseInt(headerLen, 10, 64)
	if err != nil || n <= 0 || n > bodyLen {
		return 0, badRequest("%s %q: must be a length between 1 and the body's %d bytes", headerLength, headerLen, bodyLen)
	}
	return n, nil
}

// parseV2Parts is parseV2 on the JSON part of a request and its binary
// part, read from bin in the inputs' order.
func parseV2Parts(jsonPart []byte, bin binarySource, e *entry) (*v2Request, []*ir.Tensor, int, error) {
	var req v2Request
	var cut [][]byte
	if fast, ok := decodeV2Fast(jsonPart); ok {
		req = *fast
	} else {
		if len(jsonPart) >= cutDataMin {
			if rest, data, ok := cutData(jsonPart); ok {
				jsonPart, cut = rest, data
			}
		}
		if err := json.Unmarshal(jsonPart, &req); err != nil {
			return nil, nil, 0, badRequest("malformed inference request: %v", err)
		}
	}
	for k := range req.Inputs {
		if k < len(cut) && cut[k] != nil {
			req.Inputs[k].Data = cut[k]
		}
	}
	// The data are views of body, which the caller recycles.
	defer func() {
		for k := range req.Inputs {
			req.Inputs[k].Data = nil
		}
	}()
	if len(req.Inputs) == 0 {
		return nil, nil, 0, badRequest("the request has no inputs (model inputs: %s)", names(e.inputs))
	}
	inputs := make([]*ir.Tensor, len(e.inputs))
	rows := -1
	for _, in := range req.Inputs {
		k, dt, elements, err := e.checkInput(in.Name, in.Datatype, in.Shape, inputs, &rows)
		if err != nil {
			return nil, nil, 0, err
		}
		spec := e.inputs[k]
		var data []float32
		if raw, ok := in.Parameters["binary_data_size"]; ok {
			size, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil {
				// raw is valid JSON: what strconv refuses (a fraction,
				// an exponent, a string) encoding/json refuses too.
				err = json.Unmarshal(raw, &size)
			}
			if err != nil || size < 0 {
				return nil, nil, 0, badRequest("input '%s': binary_data_size must be a non-negative integer, got %s", in.Name, raw)
			}
			if len(in.Data) > 0 && string(in.Data) != "null" {
				return nil, nil, 0, badRequest("input '%s': has both binary_data_size and data", in.Name)
			}
			if want := int64(elements) * int64(dt.size); size != want {
				return nil, nil, 0, badRequest("input '%s': binary_data_size %d, but shape %v of %s takes %d bytes", in.Name, size, in.Shape, dt.name, want)
			}
			if left := bin.left(); left < size {
				return nil, nil, 0, badRequest("input '%s': binary data truncated: %d bytes wanted, %d left in the body", in.Name, size, left)
			}
			data = e.bufs.getFloats(elements)
			if err := bin.fill(data, dt, int(size)); err != nil {
				return nil, nil, 0, err
			}
		} else {
			if len(in.Data) == 0 || string(in.Data) == "null" {
				return nil, nil, 0, badRequest("input '%s': no data (give \"data\" or the binary_data_size parameter)", in.Name)
			}
			// Each value takes at least one byte: a count beyond the
			// data's length is refused before allocating for it.
			if elements > len(in.Data) {
				return nil, nil, 0, badRequest("input '%s': shape %v needs %d values, the data has fewer", in.Name, in.Shape, elements)
			}
			d, _, err := parseArray(in.Data, dt, elements)
			if err != nil {
				return nil, nil, 0, badRequest("input '%s': data: %v", in.Name, err)
			}
			if len(d) != elements {
				return nil, nil, 0, badRequest("input '%s': %d values for shape %v (%d expected)", in.Name, len(d), in.Shape, elements)
			}
			data = d
		}
		inputs[k] = &ir.Tensor{Shape: toShape(in.Shape), Layout: spec.layout, Data: data}
	}
	if err := e.allInputs(inputs); err != nil {
		return nil, nil, 0, err
	}
	if left := bin.left(); left != 0 {
		return nil, nil, 0, badRequest("%d bytes of binary data follow the inputs' binary data", left)
	}
	return &req, inputs, max(rows, 1), nil
}

func toShape(s []int64) ir.Shape {
	shape := make(ir.Shape, len(s))
	for i, d := range s {
		shape[i] = int(d)
	}
	return shape
}

// checkInput checks one request input's name (a model input not given
// before: seen holds the inputs so far), datatype and shape, and that its
// batch size agrees with the other inputs' (rows, -1 until known). It
// returns the input's index, datatype and element count.
func (e *entry) checkInput(name, datatype string, shape []int64, seen []*ir.Tensor, rows *int) (int, *datatype, int, error) {
	k := -1
	for i, spec := range e.inputs {
		if spec.name == name {
			k = i
		}
	}
	if k < 0 {
		return 0, nil, 0, badRequest("unknown input '%s' (model inputs: %s)", name, names(e.inputs))
	}
	if seen[k] != nil {
		return 0, nil, 0, badRequest("input '%s' is given twice", name)
	}
	spec := e.inputs[k]
	dt, err := lookupDatatype(datatype)
	if err != nil {
		return 0, nil, 0, badRequest("input '%s': %v", name, err)
	}
	batch, elements, err := spec.checkShape(shape)
	if err != nil {
		return 0, nil, 0, badRequest("%v", err)
	}
	if spec.shape[0] < 0 {
		if *rows >= 0 && batch != *rows {
			return 0, nil, 0, badRequest("input '%s': batch size %d differs from the other inputs' %d", name, batch, *rows)
		}
		*rows = batch
	}
	return k, dt, elements, nil
}

// allInputs checks that every model input was given.
func (e *entry) allInputs(inputs []*ir.Tensor) error {
	for k, t := range inputs {
		if t == nil {
			return badRequest("input '%s' is missing", e.inputs[k].name)
		}
	}
	return nil
}

// binarySource is the binary part of a v2 request: its bytes left, and
// fill, which converts the next size bytes (elements of dt) into out.
type binarySource interface {
	left() int64
	fill(out []float32, dt *datatype, size int) error
}

// bytesSource is a binary part read into memory.
type bytesSource struct{ b []byte }

func (s *bytesSource) left() int64 { return int64(len(s.b)) }

func (s *bytesSource) fill(out []float32, dt *datatype, size int) error {
	decodeBinaryInto(out, dt, s.b[:size])
	s.b = s.b[size:]
	return nil
}

// readerSource is a binary part still on the connection, of a known
// length. FP32 tensors are read straight into their buffer on
// little-endian machines (the wire format is the memory format); other
// datatypes go through a pooled byte buffer.
type readerSource struct {
	r    io.Reader
	n    int64
	bufs *bufPool
}

func (s *readerSource) left() int64 { return s.n }

func (s *readerSource) fill(out []float32, dt *datatype, size int) error {
	var err error
	if dt.name == "FP32" && littleEndian {
		_, err = io.ReadFull(s.r, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), size))
	} else {
		b := s.bufs.getBytes(size)[:size]
		if _, err = io.ReadFull(s.r, b); err == nil {
			decodeBinaryInto(out, dt, b)
		}
		s.bufs.putBytes(b)
	}
	if err != nil {
		return bodyError(err)
	}
	s.n -= int64(size)
	return nil
}

// parseV2Stream is parseV2 for a binary-extension request whose body has
// a known length within the limit: the JSON part is read into a pooled
// buffer, and the tensors' bytes from the connection into the inputs.
func (s *Server) parseV2Stream(w http.ResponseWriter, r *http.Request, headerLen string, e *entry) (*v2Request, []*ir.Tensor, int, error) {
	n, err := jsonLength(headerLen, r.ContentLength)
	if err != nil {
		return nil, nil, 0, err
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	js := s.bufs.getBytes(int(n))[:n]
	defer s.bufs.putBytes(js) // parseV2Parts keeps no reference to it
	if _, err := io.ReadFull(body, js); err != nil {
		return nil, nil, 0, bodyError(err)
	}
	return parseV2Parts(js, &readerSource{r: body, n: r.ContentLength - n, bufs: &e.bufs}, e)
}

package serve

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/kconv/kconv/ir"
)

// TensorFlow Serving's REST API: model status and :predict, in its row
// ("instances" → "predictions") and columnar ("inputs" → "outputs") forms.

func (s *Server) tfStatus(w http.ResponseWriter, r *http.Request, e *entry) {
	state := "AVAILABLE"
	if s.draining.Load() {
		state = "UNLOADING"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"model_version_status": []map[string]any{{
			"version": "1",
			"state":   state,
			"status":  map[string]string{"error_code": "OK", "error_message": ""},
		}},
	})
}

// tfRequest is a predict request.
type tfRequest struct {
	SignatureName string          `json:"signature_name"`
	Instances     json.RawMessage `json:"instances"`
	Inputs        json.RawMessage `json:"inputs"`
}

// tfNumbers is the datatype of JSON numbers in TF Serving requests.
var tfNumbers = datatypes["FP32"]

func (s *Server) tfPredict(w http.ResponseWriter, r *http.Request, e *entry) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	var req tfRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.writeErr(w, badRequest("malformed predict request: %v", err))
		return
	}
	hasInst := len(req.Instances) > 0 && string(req.Instances) != "null"
	hasIn := len(req.Inputs) > 0 && string(req.Inputs) != "null"
	if hasInst == hasIn {
		s.writeErr(w, badRequest(`a predict request has exactly one of "instances" (row format) and "inputs" (columnar format)`))
		return
	}
	var inputs []*ir.Tensor
	if hasInst {
		inputs, err = tfRows(req.Instances, e)
	} else {
		inputs, err = tfColumns(req.Inputs, e)
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	rows := 1
	for k, spec := range e.inputs {
		if spec.shape[0] < 0 {
			rows = inputs[k].Shape[0]
		}
	}
	outs, err := s.run(r.Context(), e, inputs, rows)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	var b []byte
	if hasInst {
		b = append(b, `{"predictions":`...)
		if len(outs) == 1 {
			b = appendNested(b, outs[0].Data, outs[0].Shape)
		} else {
			n := outs[0].Shape[0]
			b = append(b, '[')
			for i := 0; i < n; i++ {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, '{')
				for o, t := range outs {
					if o > 0 {
						b = append(b, ',')
					}
					row := len(t.Data) / t.Shape[0]
					b = appendString(b, e.outputs[o].name)
					b = append(b, ':')
					b = appendNested(b, t.Data[i*row:(i+1)*row], t.Shape[1:])
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
	} else {
		b = append(b, `{"outputs":`...)
		if len(outs) == 1 {
			b = appendNested(b, outs[0].Data, outs[0].Shape)
		} else {
			b = append(b, '{')
			for o, t := range outs {
				if o > 0 {
					b = append(b, ',')
				}
				b = appendString(b, e.outputs[o].name)
				b = append(b, ':')
				b = appendNested(b, t.Data, t.Shape)
			}
			b = append(b, '}')
		}
	}
	b = append(b, '}')
	writeBody(w, http.StatusOK, "application/json", b)
}

// tfTensor checks a parsed tensor (values and nested shape) against input
// spec and makes it an ir.Tensor.
func tfTensor(spec tensorSpec, data []float32, shape []int) (*ir.Tensor, error) {
	s64 := make([]int64, len(shape))
	for i, d := range shape {
		s64[i] = int64(d)
	}
	if _, _, err := spec.checkShape(s64); err != nil {
		return nil, badRequest("%v", err)
	}
	return &ir.Tensor{Shape: ir.Shape(shape), Layout: spec.layout, Data: data}, nil
}

func firstByte(raw json.RawMessage) byte {
	b := bytes.TrimLeft(raw, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// tfRows reads the row format: a list of instances, each one input's value
// (single-input models) or an object naming every input.
func tfRows(raw json.RawMessage, e *entry) ([]*ir.Tensor, error) {
	if firstByte(raw) != '[' {
		return nil, badRequest(`"instances" must be a list`)
	}
	inner := bytes.TrimLeft(bytes.TrimLeft(raw, " \t\r\n")[1:], " \t\r\n")
	if len(inner) > 0 && inner[0] == ']' {
		return nil, badRequest(`"instances" is empty`)
	}
	if len(inner) > 0 && inner[0] != '{' {
		if len(e.inputs) != 1 {
			return nil, badRequest("the model has %d inputs (%s): each instance must be an object naming them", len(e.inputs), names(e.inputs))
		}
		data, shape, err := parseArray(raw, tfNumbers, 0)
		if err != nil {
			return nil, badRequest("input '%s': instances: %v", e.inputs[0].name, err)
		}
		t, err := tfTensor(e.inputs[0], data, shape)
		if err != nil {
			return nil, err
		}
		return []*ir.Tensor{t}, nil
	}
	var insts []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &insts); err != nil {
		return nil, badRequest(`"instances": %v`, err)
	}
	if len(insts) == 0 {
		return nil, badRequest(`"instances" is empty`)
	}
	out := make([]*ir.Tensor, len(e.inputs))
	for k, spec := range e.inputs {
		var all []float32
		var rowShape []int
		for i, inst := range insts {
			v, ok := inst[spec.name]
			if !ok {
				return nil, badRequest("instance %d: input '%s' is missing", i, spec.name)
			}
			data, shape, err := parseArray(v, tfNumbers, 0)
			if err != nil {
				return nil, badRequest("instance %d: input '%s': %v", i, spec.name, err)
			}
			if i == 0 {
				rowShape = shape
			} else if !ir.Shape(shape).Equal(rowShape) {
				return nil, badRequest("instance %d: input '%s': shape %v differs from instance 0's %v", i, spec.name, shape, rowShape)
			}
			all = append(all, data...)
		}
		t, err := tfTensor(spec, all, append([]int{len(insts)}, rowShape...))
		if err != nil {
			return nil, err
		}
		out[k] = t
	}
	for i, inst := range insts {
		for name := range inst {
			if !hasInput(e, name) {
				return nil, badRequest("instance %d: unknown input '%s' (model inputs: %s)", i, name, names(e.inputs))
			}
		}
	}
	return out, nil
}

func hasInput(e *entry, name string) bool {
	for _, s := range e.inputs {
		if s.name == name {
			return true
		}
	}
	return false
}

// tfColumns reads the columnar format: one batched tensor (single-input
// models) or an object of them by input name.
func tfColumns(raw json.RawMessage, e *entry) ([]*ir.Tensor, error) {
	if firstByte(raw) != '{' {
		if len(e.inputs) != 1 {
			return nil, badRequest(`the model has %d inputs (%s): "inputs" must be an object naming them`, len(e.inputs), names(e.inputs))
		}
		data, shape, err := parseArray(raw, tfNumbers, 0)
		if err != nil {
			return nil, badRequest("input '%s': %v", e.inputs[0].name, err)
		}
		t, err := tfTensor(e.inputs[0], data, shape)
		if err != nil {
			return nil, err
		}
		return []*ir.Tensor{t}, nil
	}
	var cols map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cols); err != nil {
		return nil, badRequest(`"inputs": %v`, err)
	}
	for name := range cols {
		if !hasInput(e, name) {
			return nil, badRequest("unknown input '%s' (model inputs: %s)", name, names(e.inputs))
		}
	}
	out := make([]*ir.Tensor, len(e.inputs))
	rows := -1
	for k, spec := range e.inputs {
		v, ok := cols[spec.name]
		if !ok {
			return nil, badRequest("input '%s' is missing", spec.name)
		}
		data, shape, err := parseArray(v, tfNumbers, 0)
		if err != nil {
			return nil, badRequest("input '%s': %v", spec.name, err)
		}
		t, err := tfTensor(spec, data, shape)
		if err != nil {
			return nil, err
		}
		if spec.shape[0] < 0 {
			if rows >= 0 && t.Shape[0] != rows {
				return nil, badRequest("input '%s': batch size %d differs from the other inputs' %d", spec.name, t.Shape[0], rows)
			}
			rows = t.Shape[0]
		}
		out[k] = t
	}
	return out, nil
}

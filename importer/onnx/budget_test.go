package onnx

import (
	"errors"
	"strings"
	"testing"

	"github.com/kconv/kconv/internal/onnxpb"
	"google.golang.org/protobuf/proto"
)

// TestFoldBudget: tensors computed at import (ConstantOfShape, then a
// Transpose of it: 16.8M elements, over the old fixed 16M-element limit)
// are bounded by the memory budget, not a fixed count, and a budget too
// small for them gives an error naming the node and the budget.
func TestFoldBudget(t *testing.T) {
	const n = 4100
	model := func() []byte {
		return newGraph(13).input("x", -1, n).output("y").
			init(intT("s", n, n)).
			node("ConstantOfShape", "cos", []string{"s"}, []string{"c"},
				&onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: floatT("v", []int64{1}, []float32{0.5})}).
			node("Transpose", "tr", []string{"c"}, []string{"ct"}, aInts("perm", 1, 0)).
			node("MatMul", "mm", []string{"x", "ct"}, []string{"y"}).bytes(t)
	}
	if _, err := DecodeWith(model(), "", Options{MemoryBudget: 1 << 30}); err != nil {
		t.Fatalf("within the budget: %v", err)
	}
	_, err := DecodeWith(model(), "", Options{MemoryBudget: 100 << 20})
	if err == nil || !strings.Contains(err.Error(), "memory budget") || !strings.Contains(err.Error(), "'tr'") {
		t.Fatalf("over the budget: %v, want an error naming node 'tr' and the budget", err)
	}
	var fe *fileError
	if !errors.As(err, &fe) {
		t.Errorf("not a fileError: %T", err)
	}
}

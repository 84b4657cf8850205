package onnx

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"runtime"
	"strconv"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Scale tests: a graph of many small nodes must import in time and memory
// linear in its node count. The graphs are made here at test time (no large
// committed files), written with protowire so that they do not depend on
// the generated onnxpb package.

// scaleShape is the small tensor every value of a generated graph has.
var scaleShape = []int64{1, 4}

// writeScaleGraph writes an ONNX model of n nodes on one [1,4] float input
// x. kind "chain" is x → Relu → Relu → … (each node's output t<i> feeds the
// next); kind "dag" alternates Relu and Add, each Add summing the previous
// value and the one before it (a wide DAG where values have two consumers);
// kind "swish" repeats Mul(x, Sigmoid(x)), which the importer fuses; kind
// "samename" is the chain with every node named "relu" (ONNX does not
// require unique node names: the importer must make them unique). Nodes
// have no names (the importer names them after their outputs), as a 26-byte
// node of a 10^6-node, 26 MB file has.
func writeScaleGraph(w io.Writer, n int, kind string) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	val := func(i int) string {
		if i < 0 {
			return "x"
		}
		return "t" + strconv.Itoa(i)
	}
	var buf []byte
	node := func(op string, out string, ins ...string) {
		var b []byte
		if kind == "samename" {
			b = protowire.AppendTag(b, 3, protowire.BytesType) // name
			b = protowire.AppendString(b, "relu")
		}
		for _, in := range ins {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendString(b, in)
		}
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, out)
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, op)
		buf = protowire.AppendTag(buf, 1, protowire.BytesType) // GraphProto.node
		buf = protowire.AppendBytes(buf, b)
	}
	valueInfo := func(field protowire.Number, name string) {
		var shape []byte
		for _, d := range scaleShape {
			var dim []byte
			dim = protowire.AppendTag(dim, 1, protowire.VarintType) // dim_value
			dim = protowire.AppendVarint(dim, uint64(d))
			shape = protowire.AppendTag(shape, 1, protowire.BytesType)
			shape = protowire.AppendBytes(shape, dim)
		}
		var tt []byte
		tt = protowire.AppendTag(tt, 1, protowire.VarintType) // elem_type FLOAT
		tt = protowire.AppendVarint(tt, 1)
		tt = protowire.AppendTag(tt, 2, protowire.BytesType)
		tt = protowire.AppendBytes(tt, shape)
		var typ []byte
		typ = protowire.AppendTag(typ, 1, protowire.BytesType) // tensor_type
		typ = protowire.AppendBytes(typ, tt)
		var vi []byte
		vi = protowire.AppendTag(vi, 1, protowire.BytesType)
		vi = protowire.AppendString(vi, name)
		vi = protowire.AppendTag(vi, 2, protowire.BytesType)
		vi = protowire.AppendBytes(vi, typ)
		buf = protowire.AppendTag(buf, field, protowire.BytesType)
		buf = protowire.AppendBytes(buf, vi)
	}
	// The graph body is written in pieces; its length is computed first.
	graphLen := 0
	flush := func() {
		graphLen += len(buf)
		buf = buf[:0]
	}
	emit := func(count bool) error {
		buf = buf[:0]
		valueInfo(11, "x")
		if count {
			flush()
		} else if _, err := bw.Write(buf); err != nil {
			return err
		}
		buf = buf[:0]
		last := -1
		for i := 0; i < n; i++ {
			switch kind {
			case "chain", "samename":
				node("Relu", val(i), val(i-1))
			case "dag":
				if i%2 == 0 {
					node("Relu", val(i), val(i-1))
				} else {
					node("Add", val(i), val(i-1), val(i-2))
				}
			case "swish":
				if i%2 == 0 {
					node("Sigmoid", val(i), val(i-1))
				} else {
					node("Mul", val(i), val(i-2), val(i-1))
				}
			default:
				panic("unknown scale graph kind " + kind)
			}
			last = i
			if len(buf) > 1<<15 {
				if count {
					flush()
				} else if _, err := bw.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		valueInfo(12, val(last))
		if count {
			flush()
		} else if _, err := bw.Write(buf); err != nil {
			return err
		}
		buf = buf[:0]
		return nil
	}
	if err := emit(true); err != nil {
		return err
	}
	var head []byte
	head = protowire.AppendTag(head, 1, protowire.VarintType) // ir_version
	head = protowire.AppendVarint(head, 8)
	var opset []byte
	opset = protowire.AppendTag(opset, 2, protowire.VarintType)
	opset = protowire.AppendVarint(opset, 17)
	head = protowire.AppendTag(head, 8, protowire.BytesType)
	head = protowire.AppendBytes(head, opset)
	head = protowire.AppendTag(head, 7, protowire.BytesType) // graph
	head = protowire.AppendVarint(head, uint64(graphLen))
	if _, err := bw.Write(head); err != nil {
		return err
	}
	if err := emit(false); err != nil {
		return err
	}
	return bw.Flush()
}

// TestWriteScaleGraph writes a generated graph for profiling the command
// line (kconv summary FILE): KCONV_SCALE_OUT=FILE KCONV_SCALE_N=1000000
// [KCONV_SCALE_KIND=chain|dag|swish] go test ./importer/onnx -run
// TestWriteScaleGraph. Without KCONV_SCALE_OUT it skips.
func TestWriteScaleGraph(t *testing.T) {
	out := os.Getenv("KCONV_SCALE_OUT")
	if out == "" {
		t.Skip("set KCONV_SCALE_OUT (and KCONV_SCALE_N, KCONV_SCALE_KIND) to write a scale graph")
	}
	n, err := strconv.Atoi(os.Getenv("KCONV_SCALE_N"))
	if err != nil || n < 1 {
		n = 1000000
	}
	kind := os.Getenv("KCONV_SCALE_KIND")
	if kind == "" {
		kind = "chain"
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeScaleGraph(f, n, kind); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkScaleImport imports a generated 10^5-node graph of each kind per
// iteration and reports the time and bytes allocated per node.
func BenchmarkScaleImport(b *testing.B) {
	for _, kind := range []string{"chain", "dag", "swish", "samename"} {
		b.Run(kind, func(b *testing.B) {
			const n = 100000
			var bb bytesBuffer
			if err := writeScaleGraph(&bb, n, kind); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Decode([]byte(bb), ""); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/node")
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/n, "B/node")
		})
	}
}

type bytesBuffer []byte

func (b *bytesBuffer) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// allocsPerNode imports a generated graph of n nodes and returns the heap
// allocations and bytes allocated per node.
func allocsPerNode(t *testing.T, n int, kind string) (allocs, alloced float64) {
	var b bytes.Buffer
	if err := writeScaleGraph(&b, n, kind); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := Decode(data, "")
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("%s of %d nodes: %v", kind, n, err)
	}
	if len(m.Nodes) < n/2 {
		t.Fatalf("%s of %d nodes: imported %d nodes", kind, n, len(m.Nodes))
	}
	return float64(after.Mallocs-before.Mallocs) / float64(n), float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}

// TestScaleLinear fails when importing (translation, shape inference and
// the import passes) costs superlinear work, without timing anything: the
// allocations per node of a 10× larger graph must stay within a generous
// factor of a small one's. A quadratic step (a full-graph index per
// rewritten node, name uniquing that probes every earlier suffix) makes
// them grow about 10×.
func TestScaleLinear(t *testing.T) {
	const small, large, factor = 2000, 20000, 2.0
	for _, kind := range []string{"chain", "dag", "swish", "samename"} {
		a1, b1 := allocsPerNode(t, small, kind)
		a2, b2 := allocsPerNode(t, large, kind)
		t.Logf("%s: %.1f → %.1f allocs/node, %.0f → %.0f bytes/node", kind, a1, a2, b1, b2)
		if a2 > factor*a1 || b2 > factor*b1 {
			t.Errorf("%s: allocations per node grow from %.1f (%.0f B) at %d nodes to %.1f (%.0f B) at %d: superlinear import", kind, a1, b1, small, a2, b2, large)
		}
	}
}

package onnx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kconv/kconv/internal/onnxpb"
	"google.golang.org/protobuf/proto"
)

// storedParams returns the element counts of a file's float and integer
// initializers, read from its structure (no weight data): what onnx's
// sum(numel for initializer) adds up.
func storedParams(path string) (floats, ints int64, err error) {
	f, size, err := openFile(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	stripped, _, err := scanFile(f, size)
	if err != nil {
		return 0, 0, err
	}
	rest, _, err := splitNodes(stripped)
	if err != nil {
		return 0, 0, err
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(rest, &mp); err != nil {
		return 0, 0, err
	}
	for _, tp := range mp.GetGraph().GetInitializer() {
		n := int64(1)
		for _, d := range tp.GetDims() {
			n *= d
		}
		if isFloatType(tp.GetDataType()) {
			floats += n
		} else {
			ints += n
		}
	}
	return floats, ints, nil
}

// TestZooParams imports every NAME.onnx in the folders named by KCONV_ZOO
// (colon-separated, as exec's TestTorchvisionZoo reads them; e.g. opset 13
// and opset 17 exports of ../shared/bench/export_zoo.py) and checks that
// the model's parameter total is its float initializers' element count,
// and that a model found in several folders has the same total, and the
// same trainable part, in each.
// It logs a PARAMS line per file (docs/zoo.md's parameter counts).
func TestZooParams(t *testing.T) {
	dirs := os.Getenv("KCONV_ZOO")
	if dirs == "" {
		t.Skip("KCONV_ZOO not set (e.g. KCONV_ZOO=/work/zooall:/work/zooall17): torchvision zoo parameter counts skipped")
	}
	type counts struct{ total, trainable int64 }
	totals := map[string]counts{}
	where := map[string]string{}
	for _, dir := range filepath.SplitList(dirs) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.onnx"))
		if len(files) == 0 {
			t.Errorf("%s: no .onnx files", dir)
		}
		for _, path := range files {
			name := strings.TrimSuffix(filepath.Base(path), ".onnx")
			floats, ints, err := storedParams(path)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			m, err := LoadWith(path, Options{})
			if err != nil && strings.Contains(err.Error(), "batch") {
				m, err = LoadWith(path, Options{Batch: 2}) // Swin, ViT
			}
			if err != nil {
				t.Errorf("%v", err)
				continue
			}
			tr, nt := m.Params()
			total := tr + nt
			t.Logf("PARAMS %s %s total %d trainable %d float-initializers %d int-initializers %d", filepath.Base(dir), name, total, tr, floats, ints)
			if total != floats {
				t.Errorf("%s: %d parameters, but its float initializers hold %d values", path, total, floats)
			}
			if prev, ok := totals[name]; ok && prev != (counts{total, tr}) {
				t.Errorf("%s: %d parameters (%d trainable), %d (%d) in %s", path, total, tr, prev.total, prev.trainable, where[name])
			}
			totals[name], where[name] = counts{total, tr}, path
		}
	}
}

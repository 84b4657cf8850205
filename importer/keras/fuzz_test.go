package keras

import (
	"os"
	"testing"
)

// FuzzParseConfig feeds arbitrary architectures (JSON or YAML) to the
// config reader: it must return a model or an error, never panic.
func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"testdata/cifar_small.json", "testdata/resnet_block.json", "testdata/02_k1_cnn_tf_weights.config.json", "testdata/36_mnist_arch.json",
		"testdata/rnn_state_k2.json", "testdata/rnn_state_k3.json", "testdata/rnn_state_bi_k2.json"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("class_name: Sequential\nconfig:\n- class_name: Dense\n  config: {name: d, units: 2, batch_input_shape: !!python/tuple [null, 3]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseConfig(data, "fuzz.json", Options{})
		if err == nil && m == nil {
			t.Fatal("no model and no error")
		}
	})
}

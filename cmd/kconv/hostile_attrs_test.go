package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/kconv/kconv/internal/h5"
)

// TestHostileAttrs is class 3 of issue 16: attribute values Keras refuses
// must be refused, naming the layer and the attribute, never read as the
// default.
func TestHostileAttrs(t *testing.T) {
	conv := func(extra map[string]any) map[string]any {
		c := map[string]any{"name": "conv", "filters": 4, "kernel_size": []int{3, 3}, "strides": []int{1, 1}, "padding": "valid", "activation": "relu", "use_bias": true}
		for k, v := range extra {
			c[k] = v
		}
		return map[string]any{"class_name": "Conv2D", "config": c}
	}
	cfgFile := func(name string, layer map[string]any) func(d string) []string {
		return func(d string) []string {
			b, err := json.Marshal(seq(input(8, 8, 4), layer))
			if err != nil {
				t.Fatal(err)
			}
			return []string{"summary", file(t, d, name, b)}
		}
	}
	cases := []hostile{
		{"data_format sideways", cfgFile("df.json", conv(map[string]any{"data_format": "channels_sideways"})), 1, []string{"df.json", "layer 'conv'", "data_format", "channels_sideways"}},
		{"data_format a number", cfgFile("dfn.json", conv(map[string]any{"data_format": 3})), 1, []string{"dfn.json", "layer 'conv'", "data_format"}},
		{"dilation 0", cfgFile("dil.json", conv(map[string]any{"dilation_rate": []int{0, 0}})), 1, []string{"dil.json", "layer 'conv'", "dilation_rate"}},
		{"dilation negative", cfgFile("dil2.json", conv(map[string]any{"dilation_rate": -2})), 1, []string{"dil2.json", "layer 'conv'", "dilation_rate"}},
		{"groups 0", cfgFile("g0.json", conv(map[string]any{"groups": 0})), 1, []string{"g0.json", "layer 'conv'", "groups"}},
		{"groups not dividing channels", cfgFile("g3.json", conv(map[string]any{"groups": 3})), 1, []string{"g3.json", "layer 'conv'", "groups"}},
		{"strides 0", cfgFile("s0.json", conv(map[string]any{"strides": []int{1, 0}})), 1, []string{"s0.json", "layer 'conv'", "strides"}},
		{"padding diagonal", cfgFile("pad.json", conv(map[string]any{"padding": "diagonal"})), 1, []string{"pad.json", "layer 'conv'", "padding", "diagonal"}},
		{"kernel_size 0", cfgFile("k0.json", conv(map[string]any{"kernel_size": []int{0, 3}})), 1, []string{"k0.json", "layer 'conv'", "kernel_size"}},
		{"pool_size 0", cfgFile("pool.json", map[string]any{"class_name": "MaxPooling2D", "config": map[string]any{"name": "pool", "pool_size": []int{0, 2}}}), 1, []string{"pool.json", "layer 'pool'", "pool_size"}},
		{"depth_multiplier 0", cfgFile("dm.json", map[string]any{"class_name": "DepthwiseConv2D", "config": map[string]any{"name": "dw", "kernel_size": 3, "depth_multiplier": 0}}), 1, []string{"dm.json", "layer 'dw'", "depth_multiplier"}},
		{"dim_ordering xy", cfgFile("do.json", map[string]any{"class_name": "Convolution2D", "config": map[string]any{"name": "c1", "nb_filter": 2, "nb_row": 3, "nb_col": 3, "dim_ordering": "xy"}}), 1, []string{"do.json", "layer 'c1'", "dim_ordering"}},
		{"model_config not UTF-8", func(d string) []string {
			p := filepath.Join(d, "utf8.h5")
			w, err := h5.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(seq(input(8), dense("fc", 4, nil)))
			bad := []byte(string(b))
			for i := range bad {
				if bad[i] == 'f' && bad[i+1] == 'c' {
					bad[i] = 0xff // the layer's name
					break
				}
			}
			w.Root().SetAttrString("model_config", string(bad))
			w.Root().SetAttrString("keras_version", "2.4.0")
			w.Close()
			return []string{"summary", p}
		}, 1, []string{"utf8.h5", "UTF-8"}},
	}
	runHostile(t, cases)
}

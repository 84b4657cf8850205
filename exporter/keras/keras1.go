package keras

import (
	"fmt"

	"github.com/kconv/kconv/internal/atomicfile"
	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/ir"
)

// Keras1Options controls WriteKeras1Weights.
type Keras1Options struct {
	// Theano writes the file as the Theano backend did: weight names
	// without the TensorFlow ":0" suffix and convolution kernels flipped
	// spatially (true convolution), so that a reader applying Keras's
	// convert_kernel recovers the model's cross-correlation kernels.
	Theano bool
	// Force replaces an existing file.
	Force bool
}

// WriteKeras1Weights writes m's weights in the Keras 1 weights-only layout.
// Supported weighted layers: Conv2D (channels-first kernels), Dense,
// BatchNormalization (gamma, beta, running_mean, running_std); other weighted
// layers are an error naming the layer.
func WriteKeras1Weights(m *ir.Model, path string, opt Keras1Options) error {
	type entry struct {
		name  string
		shape []int
		data  []float32
	}
	type layer struct {
		name    string
		weights []entry
	}
	var layers []layer
	suffix := ":0"
	if opt.Theano {
		suffix = ""
	}
	for _, n := range m.Nodes {
		if _, ok := n.Op.(*ir.Input); ok {
			continue
		}
		l := layer{name: n.Name}
		data := make([][]float32, len(n.Weights))
		for i, w := range n.Weights {
			d, err := w.Data()
			if err != nil {
				return fmt.Errorf("layer '%s': weight %s: %w", n.Name, w.Name, err)
			}
			data[i] = d
		}
		switch op := n.Op.(type) {
		case *ir.Conv2D:
			if op.Groups > 1 {
				return fmt.Errorf("layer '%s': Keras 1 has no grouped convolution", n.Name)
			}
			k := n.Weights[0].Shape // kh, kw, in, out
			th := toKeras1Kernel(data[0], k[0], k[1], k[2], k[3], opt.Theano)
			l.weights = append(l.weights, entry{n.Name + "_W" + suffix, []int{k[3], k[2], k[0], k[1]}, th})
			if op.UseBias {
				l.weights = append(l.weights, entry{n.Name + "_b" + suffix, []int{k[3]}, data[1]})
			}
		case *ir.Dense:
			l.weights = append(l.weights, entry{n.Name + "_W" + suffix, n.Weights[0].Shape, data[0]})
			if op.UseBias {
				l.weights = append(l.weights, entry{n.Name + "_b" + suffix, n.Weights[1].Shape, data[1]})
			}
		case *ir.BatchNorm:
			if !op.Scale || !op.Center {
				return fmt.Errorf("layer '%s': Keras 1 BatchNormalization always has gamma and beta", n.Name)
			}
			for i, suf := range []string{"_gamma", "_beta", "_running_mean", "_running_std"} {
				l.weights = append(l.weights, entry{n.Name + suf + suffix, n.Weights[i].Shape, data[i]})
			}
		default:
			if len(n.Weights) > 0 {
				return fmt.Errorf("layer '%s': cannot write %s weights in the Keras 1 layout", n.Name, n.Op.Kind())
			}
		}
		layers = append(layers, l)
	}
	return atomicfile.Write(path, opt.Force, func(tmp string) error {
		f, err := h5.Create(tmp)
		if err != nil {
			return err
		}
		root := f.Root()
		names := make([]string, len(layers))
		for i, l := range layers {
			names[i] = l.name
		}
		if err := root.SetAttrStringsFixed("layer_names", names); err != nil {
			f.Close()
			return err
		}
		for _, l := range layers {
			g, err := root.CreateGroup(l.name)
			if err != nil {
				f.Close()
				return err
			}
			wn := make([]string, len(l.weights))
			for i, w := range l.weights {
				wn[i] = w.name
				if err := g.WriteFloat32(w.name, w.shape, w.data); err != nil {
					f.Close()
					return fmt.Errorf("layer '%s': %w", l.name, err)
				}
			}
			if err := g.SetAttrStringsFixed("weight_names", wn); err != nil {
				f.Close()
				return err
			}
		}
		return f.Close()
	})
}

// toKeras1Kernel converts an (kh, kw, in, out) kernel to Keras 1 th layout
// (out, in, kh, kw), optionally flipping it spatially (Theano convolution).
func toKeras1Kernel(k []float32, kh, kw, in, out int, flip bool) []float32 {
	dst := make([]float32, len(k))
	for y := 0; y < kh; y++ {
		for x := 0; x < kw; x++ {
			sy, sx := y, x
			if flip {
				sy, sx = kh-1-y, kw-1-x
			}
			for i := 0; i < in; i++ {
				for o := 0; o < out; o++ {
					dst[((o*in+i)*kh+sy)*kw+sx] = k[((y*kw+x)*in+i)*out+o]
				}
			}
		}
	}
	return dst
}

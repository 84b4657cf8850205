package keras

import "github.com/kconv/kconv/ir"

// The config writers: one function per Keras class that kconv writes from
// more than one op (a Conv2D for Conv2D and for a channel Slice, a Dense
// for Dense, Gemm and MatMul, a BatchNormalization for BatchNorm and a
// per-channel Binary, Permute for Permute and Transpose, Reshape for
// Reshape and ReshapeTo, Concatenate for Merge and Concat, Cropping2D for
// Cropping2D, a Slice and a transposed convolution's crop). Every key that
// carries an op attribute is spelled by ir's Keras key table (ir.KerasKey,
// the same values importer/keras reads with); the other keys are Keras's
// fixed training settings (ir.KerasFixedKey). Keys are in Keras 2's order
// (Layer.get_config); keras3.go reorders them for Keras 3.

// convSpec is what a convolution layer's config states.
type convSpec struct {
	class   string // Conv2D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose
	filters int    // not DepthwiseConv2D
	mult    int    // depth_multiplier: DepthwiseConv2D, SeparableConv2D
	groups  int    // written from Keras 2.3 (Conv2D's groups appeared there)
	win     ir.Window2D
	padding string // "valid" or "same"
	df      ir.Layout
	act     string
	useBias bool
	outPad  any // Conv2DTranspose's output_padding (nil: none)
}

// convConfig returns a convolution layer's config.
func (b *h5build) convConfig(name string, s convSpec) jobj {
	cfg := base(name)
	if s.class != "DepthwiseConv2D" {
		cfg.add(ir.KeyFilters.Name, s.filters)
	}
	cfg.add(ir.KeyKernelSize.Name, pair(s.win.KH, s.win.KW), ir.KeyStrides.Name, pair(s.win.SH, s.win.SW),
		ir.KeyPadding.Name, s.padding, ir.KeyDataFormat.Name, dataFormat(s.df),
		ir.KeyDilation.Name, pair(max(s.win.DH, 1), max(s.win.DW, 1)))
	if b.atLeast(3) {
		cfg.add(ir.KeyGroups.Name, max(s.groups, 1))
	}
	cfg.add(ir.KeyActivation.Name, s.act, ir.KeyUseBias.Name, s.useBias)
	// Depthwise layers have no kernel_* keys (their kernel is "depthwise").
	kernel := s.class != "DepthwiseConv2D"
	if kernel {
		cfg.add("kernel_initializer", initializer("GlorotUniform"))
	}
	cfg.add("bias_initializer", initializer("Zeros"))
	if kernel {
		cfg.add("kernel_regularizer", nil)
	}
	cfg.add("bias_regularizer", nil, "activity_regularizer", nil)
	if kernel {
		cfg.add("kernel_constraint", nil)
	}
	cfg.add("bias_constraint", nil)
	switch s.class {
	case "Conv2DTranspose":
		cfg.add(ir.KeyOutputPadding.Name, s.outPad)
	case "DepthwiseConv2D":
		cfg.add(ir.KeyDepthMultiplier.Name, s.mult, "depthwise_initializer", initializer("GlorotUniform"),
			"depthwise_regularizer", nil, "depthwise_constraint", nil)
	case "SeparableConv2D":
		cfg.add(ir.KeyDepthMultiplier.Name, s.mult,
			"depthwise_initializer", initializer("GlorotUniform"), "pointwise_initializer", initializer("GlorotUniform"),
			"depthwise_regularizer", nil, "pointwise_regularizer", nil,
			"depthwise_constraint", nil, "pointwise_constraint", nil)
	}
	return cfg
}

// denseConfig returns a Dense layer's config.
func denseConfig(name string, units int, act string, useBias bool) jobj {
	cfg := base(name)
	cfg.add(ir.KeyUnits.Name, units, ir.KeyActivation.Name, act, ir.KeyUseBias.Name, useBias,
		"kernel_initializer", initializer("GlorotUniform"), "bias_initializer", initializer("Zeros"),
		"kernel_regularizer", nil, "bias_regularizer", nil, "activity_regularizer", nil,
		"kernel_constraint", nil, "bias_constraint", nil)
	return cfg
}

// batchNormConfig returns a BatchNormalization layer's config.
func batchNormConfig(name string, axis int, eps float64, center, scale bool) jobj {
	cfg := base(name)
	cfg.add(ir.KeyAxis.Name, axis, "momentum", 0.99, ir.KeyEpsilon.Name, eps, ir.KeyCenter.Name, center, ir.KeyScale.Name, scale,
		"beta_initializer", initializer("Zeros"), "gamma_initializer", initializer("Ones"),
		"moving_mean_initializer", initializer("Zeros"), "moving_variance_initializer", initializer("Ones"),
		"beta_regularizer", nil, "gamma_regularizer", nil, "beta_constraint", nil, "gamma_constraint", nil)
	return cfg
}

// mergeConfig returns the config of a merge layer (Add … Concatenate);
// axis is written for Concatenate only.
func mergeConfig(class, name string, axis int) jobj {
	cfg := base(name)
	if ir.KeyMergeAxis.ForClass(class) {
		cfg.add(ir.KeyMergeAxis.Name, axis)
	}
	return cfg
}

// permuteConfig returns a Permute layer's config (dims count from 1, the
// batch axis staying first).
func permuteConfig(name string, dims []int) jobj {
	cfg := base(name)
	cfg.add(ir.KeyDims.Name, append([]int(nil), dims...))
	return cfg
}

// reshapeConfig returns a Reshape layer's config (target without the
// batch axis).
func reshapeConfig(name string, target ir.Shape) jobj {
	cfg := base(name)
	cfg.add(ir.KeyTargetShape.Name, []int(target.Clone()))
	return cfg
}

// croppingConfig returns a Cropping2D layer's config (top, bottom, left,
// right).
func croppingConfig(name string, crop [4]int, df ir.Layout) jobj {
	cfg := base(name)
	cfg.add(ir.KeyCropping.Name, [][]int{pair(crop[0], crop[1]), pair(crop[2], crop[3])}, ir.KeyDataFormat.Name, dataFormat(df))
	return cfg
}

// zeroPaddingConfig returns a ZeroPadding2D layer's config (top, bottom,
// left, right).
func zeroPaddingConfig(name string, p [4]int, df ir.Layout) jobj {
	cfg := base(name)
	cfg.add(ir.KeyZeroPadding.Name, [][]int{pair(p[0], p[1]), pair(p[2], p[3])}, ir.KeyDataFormat.Name, dataFormat(df))
	return cfg
}

package ir

import (
	"slices"
	"strings"
)

// KerasKey is one key of a Keras layer's config: how each Keras vintage
// spells it and which of the op's typed attributes it carries.
//
// Decision (issue 11): the Keras config keys of every op live here, in
// package ir, next to the op table, because both importer/keras (which
// reads them) and exporter/keras (which writes them) already depend on ir
// and on nothing of each other. Each op's row in AllOps lists its keys
// (OpInfo.KerasKeys); importer/keras reads a key with Read() (every
// spelling, newest first) and exporter/keras writes Name (Keras 2 files)
// or K3Name() (Keras 3 files) of the same variable, so a key is spelled
// once. The test in ir/optable writes every exportable op with both
// exporters, requires every key in the files to be one of its row's keys
// (or a KerasFixedKey), and changes or deletes each such key to check that
// importer/keras really reads it.
//
// How a key's value is converted (pairs, lists, Keras 1's padding dict)
// stays with the reader and the writer; the key names and the attributes
// they carry are the table's. The KeyX variables are values: never assign
// to them or to their slices.
type KerasKey struct {
	// Name is the key as Keras 2 spells it, which exporter/keras writes in
	// Keras 2 files; "" for a Keras 1 key no later Keras writes.
	Name string
	// K3 is Keras 3's spelling when it differs from Name (LeakyReLU's
	// negative_slope for alpha).
	K3 string
	// Old are older spellings importer/keras also reads: Keras 1's
	// (nb_filter, subsample, border_mode, dim_ordering, output_dim, …).
	Old []string
	// Attrs are the op's attributes the key carries, as Go field paths of
	// the op's type ("Filters", "KH", "Act.Alpha"); the test checks that
	// they exist. nil: the key carries no attribute but is still read,
	// to refuse a value kconv cannot run (stateful, rms_scaling) or to
	// warn (unroll, Keras 1 BatchNormalization's mode).
	Attrs []string
	// Classes restricts the key to these Keras classes of its row (nil:
	// every class of the row).
	Classes []string
}

// K3Name is the key as Keras 3 spells it.
func (k KerasKey) K3Name() string {
	if k.K3 != "" {
		return k.K3
	}
	return k.Name
}

// Read lists every spelling importer/keras accepts, newest first (Keras 3,
// Keras 2, then the old ones); a config's first present one wins.
func (k KerasKey) Read() []string {
	var out []string
	for _, s := range append([]string{k.K3, k.Name}, k.Old...) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// ForClass reports whether the key belongs to Keras class c of its row.
func (k KerasKey) ForClass(c string) bool {
	return len(k.Classes) == 0 || slices.Contains(k.Classes, c)
}

// The Keras config keys, one variable per key and meaning. Rows share a
// variable when the key means the same attribute for them.
var (
	// Model inputs: an InputLayer's shape (batch first), or the shape a
	// Sequential model's first layer states for its input.
	KeyBatchInputShape = KerasKey{Name: "batch_input_shape", K3: "batch_shape", Attrs: []string{"Type"}}
	KeyInputShape      = KerasKey{Name: "input_shape", Attrs: []string{"Type"}}
	// KeyFirstInputDim is Keras 1/2's input_dim shortcut of a Sequential
	// model's first layer (Dense(input_dim=784)).
	KeyFirstInputDim = KerasKey{Old: []string{"input_dim"}, Attrs: []string{"Type"}}

	// Convolutions (2-D).
	KeyFilters    = KerasKey{Name: "filters", Old: []string{"nb_filter"}, Attrs: []string{"Filters"}}
	KeyKernelSize = KerasKey{Name: "kernel_size", Old: []string{"nb_row", "nb_col"}, Attrs: []string{"KH", "KW"}}
	KeyStrides    = KerasKey{Name: "strides", Old: []string{"subsample"}, Attrs: []string{"SH", "SW"}}
	KeyDilation   = KerasKey{Name: "dilation_rate", Old: []string{"atrous_rate"}, Attrs: []string{"DH", "DW"}}
	KeyPadding    = KerasKey{Name: "padding", Old: []string{"border_mode"}, Attrs: []string{"Padding"}}
	KeyDataFormat = KerasKey{Name: "data_format", Old: []string{"dim_ordering"}, Attrs: []string{"DataFormat"}}
	KeyGroups     = KerasKey{Name: "groups", Attrs: []string{"Groups"}}
	// KeyGroupsOne is the groups key of the convolutions without groups
	// (DepthwiseConv2D, SeparableConv2D, Conv2DTranspose), which Keras 2.3+
	// writes as 1: importer/keras refuses another value.
	KeyGroupsOne       = KerasKey{Name: "groups"}
	KeyActivation      = KerasKey{Name: "activation", Attrs: []string{"Activation"}}
	KeyUseBias         = KerasKey{Name: "use_bias", Old: []string{"bias"}, Attrs: []string{"UseBias"}}
	KeyDepthMultiplier = KerasKey{Name: "depth_multiplier", Attrs: []string{"Multiplier"}}
	KeyOutputPadding   = KerasKey{Name: "output_padding", Attrs: []string{"OutputPadding", "HasOutputPadding"}}
	// KeyDeconvOutputShape is Keras 1 Deconvolution2D's output_shape,
	// which importer/keras turns into output padding (fixDeconvs).
	KeyDeconvOutputShape = KerasKey{Old: []string{"output_shape"}, Attrs: []string{"OutputPadding"}, Classes: []string{"Deconvolution2D"}}

	// Pooling (2-D: strides have no Keras 1 "subsample").
	KeyPoolSize    = KerasKey{Name: "pool_size", Attrs: []string{"KH", "KW"}}
	KeyPoolStrides = KerasKey{Name: "strides", Attrs: []string{"SH", "SW"}}
	KeyKeepDims    = KerasKey{Name: "keepdims", Attrs: []string{"KeepDims"}}

	// KeyFlattenFormat is Flatten's data_format (Keras 2.x+; Keras 1's
	// Flatten has none).
	KeyFlattenFormat = KerasKey{Name: "data_format", Attrs: []string{"ChannelsFirst"}}

	KeyUnits = KerasKey{Name: "units", Old: []string{"output_dim"}, Attrs: []string{"Units"}}
	KeyRate  = KerasKey{Name: "rate", Old: []string{"p"}, Attrs: []string{"Rate"}}

	// Activation layers.
	KeyAct           = KerasKey{Name: "activation", Attrs: []string{"Act"}, Classes: []string{"Activation"}}
	KeyMaxValue      = KerasKey{Name: "max_value", Attrs: []string{"Act.MaxValue", "Act.HasMax"}, Classes: []string{"ReLU"}}
	KeyNegativeSlope = KerasKey{Name: "negative_slope", Attrs: []string{"Act.Alpha"}, Classes: []string{"ReLU"}}
	KeyThreshold     = KerasKey{Name: "threshold", Attrs: []string{"Act.Threshold"}, Classes: []string{"ReLU"}}
	KeyLeakyAlpha    = KerasKey{Name: "alpha", K3: "negative_slope", Attrs: []string{"Act.Alpha"}, Classes: []string{"LeakyReLU"}}
	KeyELUAlpha      = KerasKey{Name: "alpha", Attrs: []string{"Act.Alpha"}, Classes: []string{"ELU"}}
	KeySoftmaxAxis   = KerasKey{Name: "axis", Attrs: []string{"Act.Axis"}, Classes: []string{"Softmax"}}
	KeyTheta         = KerasKey{Name: "theta", Attrs: []string{"Act.Threshold"}, Classes: []string{"ThresholdedReLU"}}
	KeySharedAxes    = KerasKey{Name: "shared_axes", Attrs: []string{"SharedAxes"}}

	// Normalization (BatchNormalization; LayerNormalization shares
	// epsilon, center and scale).
	KeyAxis    = KerasKey{Name: "axis", Attrs: []string{"Axis"}}
	KeyEpsilon = KerasKey{Name: "epsilon", Attrs: []string{"Epsilon"}}
	KeyCenter  = KerasKey{Name: "center", Attrs: []string{"Center"}}
	KeyScale   = KerasKey{Name: "scale", Attrs: []string{"Scale"}}
	// KeyBNMode is Keras 1's BatchNormalization mode: only mode 0 (the
	// moving statistics) is what kconv computes; others are warned about.
	KeyBNMode   = KerasKey{Old: []string{"mode"}}
	KeyNormAxes = KerasKey{Name: "axis", Attrs: []string{"Axes"}}
	// KeyRMSScaling is Keras 3 LayerNormalization's rms_scaling (refused).
	KeyRMSScaling = KerasKey{Name: "rms_scaling"}

	// Merge layers: Concatenate's axis, Keras 1's Merge(mode, concat_axis).
	KeyMergeAxis   = KerasKey{Name: "axis", Attrs: []string{"Axis"}, Classes: []string{"Concatenate"}}
	KeyMerge1Mode  = KerasKey{Old: []string{"mode"}, Attrs: []string{"Mode"}, Classes: []string{"Merge"}}
	KeyMerge1Axis  = KerasKey{Old: []string{"concat_axis"}, Attrs: []string{"Axis"}, Classes: []string{"Merge"}}
	KeyTargetShape = KerasKey{Name: "target_shape", Attrs: []string{"Target"}}
	KeyDims        = KerasKey{Name: "dims", Attrs: []string{"Dims"}}

	// Image resizing, padding, cropping.
	KeySize          = KerasKey{Name: "size", Attrs: []string{"SH", "SW"}}
	KeyInterpolation = KerasKey{Name: "interpolation", Attrs: []string{"Interpolation"}}
	KeyZeroPadding   = KerasKey{Name: "padding", Attrs: []string{"Pads"}}
	KeyCropping      = KerasKey{Name: "cropping", Attrs: []string{"Crops"}}

	// Lambda (only registered functions; see RegisterLambda).
	KeyLambdaFunction    = KerasKey{Name: "function", Attrs: []string{"Function"}}
	KeyLambdaOutputShape = KerasKey{Name: "output_shape", Attrs: []string{"OutputShape"}}
	// KeyLambdaOutputShapeType says whether output_shape is a shape
	// ("raw") or a function ("lambda", not read).
	KeyLambdaOutputShapeType = KerasKey{Name: "output_shape_type"}
	KeyLambdaArguments       = KerasKey{Name: "arguments", Attrs: []string{"Arguments"}}
	// KeyLambdaMask is the layer's own output mask, when not null.
	KeyLambdaMask = KerasKey{Name: "mask", Attrs: []string{"Mask"}}

	// Sequence layers (1-D: Keras 1 spells their windows differently and
	// has no data_format).
	KeyConv1DKernel   = KerasKey{Name: "kernel_size", Old: []string{"filter_length"}, Attrs: []string{"K"}}
	KeyConv1DStrides  = KerasKey{Name: "strides", Old: []string{"subsample_length"}, Attrs: []string{"Stride"}}
	KeyConv1DDilation = KerasKey{Name: "dilation_rate", Old: []string{"atrous_rate"}, Attrs: []string{"Dilation"}}
	KeyConv1DPadding  = KerasKey{Name: "padding", Old: []string{"border_mode"}, Attrs: []string{"Padding", "Causal"}}
	KeySeqFormat      = KerasKey{Name: "data_format", Attrs: []string{"DataFormat"}}
	KeyPool1DSize     = KerasKey{Name: "pool_size", Old: []string{"pool_length"}, Attrs: []string{"K"}}
	KeyPool1DStrides  = KerasKey{Name: "strides", Old: []string{"stride"}, Attrs: []string{"Stride"}}
	KeyInputDim       = KerasKey{Name: "input_dim", Attrs: []string{"InputDim"}}
	KeyOutputDim      = KerasKey{Name: "output_dim", Attrs: []string{"OutputDim"}}
	KeyMaskZero       = KerasKey{Name: "mask_zero", Attrs: []string{"MaskZero"}}
	KeyRepeatN        = KerasKey{Name: "n", Attrs: []string{"N"}}
	KeyMaskValue      = KerasKey{Name: "mask_value", Attrs: []string{"Value"}}

	// Recurrent layers (Keras 1: output_dim, inner_activation).
	KeyRecurrentActivation = KerasKey{Name: "recurrent_activation", Old: []string{"inner_activation"}, Attrs: []string{"RecurrentActivation"}}
	KeyResetAfter          = KerasKey{Name: "reset_after", Attrs: []string{"ResetAfter"}}
	KeyReturnSequences     = KerasKey{Name: "return_sequences", Attrs: []string{"ReturnSequences"}}
	KeyGoBackwards         = KerasKey{Name: "go_backwards", Attrs: []string{"GoBackwards"}}
	KeyReturnState         = KerasKey{Name: "return_state", Attrs: []string{"ReturnState"}}
	// KeyStateful is refused when true (kconv runs stateless models).
	KeyStateful = KerasKey{Name: "stateful"}
	// KeyUnroll changes only how Keras builds its loop (warned about).
	KeyUnroll        = KerasKey{Name: "unroll"}
	KeyBiLayer       = KerasKey{Name: "layer", Attrs: []string{"Cell", "Units"}, Classes: []string{"Bidirectional"}}
	KeyBiMergeMode   = KerasKey{Name: "merge_mode", Attrs: []string{"Merge"}, Classes: []string{"Bidirectional"}}
	KeyBackwardLayer = KerasKey{Name: "backward_layer", Classes: []string{"Bidirectional"}}
	// KeyTDLayer is TimeDistributed's wrapped layer (only Dense is read).
	KeyTDLayer = KerasKey{Name: "layer", Attrs: []string{"Units"}, Classes: []string{"TimeDistributed"}}

	// Attention layers.
	KeyCausal        = KerasKey{Name: "causal"}
	KeyScoreMode     = KerasKey{Name: "score_mode"}
	KeyUseScale      = KerasKey{Name: "use_scale", Attrs: []string{"UseScale"}}
	KeyNumHeads      = KerasKey{Name: "num_heads", Attrs: []string{"Heads"}}
	KeyKeyDim        = KerasKey{Name: "key_dim", Attrs: []string{"KeyDim"}}
	KeyValueDim      = KerasKey{Name: "value_dim", Attrs: []string{"ValueDim"}}
	KeyAttentionAxes = KerasKey{Name: "attention_axes"}
	KeyMHAOutputDim  = KerasKey{Name: "output_shape", Attrs: []string{"OutputDim"}}
)

// kerasFixedKeys are the config keys exporter/keras writes with Keras's
// default values for things the IR does not hold (training state,
// serialization details), and importer/keras ignores: key → why.
var kerasFixedKeys = map[string]string{
	"name":                        "the layer's name is the node's name, not an attribute",
	"trainable":                   "training state",
	"dtype":                       "kconv computes in float32",
	"momentum":                    "BatchNormalization's training update",
	"noise_shape":                 "Dropout's training noise",
	"seed":                        "Dropout's training noise",
	"activity_regularizer":        "training loss",
	"quantization_config":         "Keras 3 quantization, none in kconv's layers",
	"synchronized":                "BatchNormalization's training update (Keras 3)",
	"renorm":                      "BatchNormalization's training update (Keras 3)",
	"renorm_clipping":             "BatchNormalization's training update (Keras 3)",
	"renorm_momentum":             "BatchNormalization's training update (Keras 3)",
	"function_type":               "Lambda: kconv writes a registered function by name",
	"module":                      "Lambda: kconv's registered functions' module",
	"output_shape_module":         "Lambda: output_shape is a shape, not a function",
	"sparse":                      "InputLayer: kconv's inputs are dense",
	"ragged":                      "InputLayer: kconv's inputs are dense",
	"optional":                    "InputLayer: kconv's inputs are required",
	"kernel_initializer":          "training initialization",
	"bias_initializer":            "training initialization",
	"depthwise_initializer":       "training initialization",
	"pointwise_initializer":       "training initialization",
	"alpha_initializer":           "training initialization",
	"beta_initializer":            "training initialization",
	"gamma_initializer":           "training initialization",
	"moving_mean_initializer":     "training initialization",
	"moving_variance_initializer": "training initialization",
}

// KerasFixedKey reports whether exporter/keras writes key with a fixed
// value that no op attribute carries, and why: keys such as
// kernel_initializer or momentum describe training, which kconv does not
// do, so importer/keras does not read them. Regularizers and constraints
// (keys ending in _regularizer or _constraint) are fixed keys too.
func KerasFixedKey(key string) (string, bool) {
	if why, ok := kerasFixedKeys[key]; ok {
		return why, true
	}
	if strings.HasSuffix(key, "_regularizer") || strings.HasSuffix(key, "_constraint") {
		return "training loss and constraints", true
	}
	return "", false
}

// KerasKeyFor returns the key of keys that Keras 2 (keras3 false) or
// Keras 3 writes as name for Keras class class.
func KerasKeyFor(keys []KerasKey, class, name string, keras3 bool) (KerasKey, bool) {
	for _, k := range keys {
		if !k.ForClass(class) {
			continue
		}
		w := k.Name
		if keras3 {
			w = k.K3Name()
		}
		if w == name && w != "" {
			return k, true
		}
	}
	return KerasKey{}, false
}

// kerasKeys returns the Keras config keys of an op kind's row (nil: an op
// without Keras layer). Rows not listed here and why:
//   - Unknown: a layer kconv does not know has no keys it reads;
//   - the ONNX-level ops (Binary, Unary, Pad, Slice, Gemm, …): no Keras
//     class is read into them; exporter/keras writes them as the layers
//     of other rows (a Binary Add as a BatchNormalization), whose keys
//     apply.
func kerasKeys(kind string) []KerasKey {
	conv := []KerasKey{KeyKernelSize, KeyStrides, KeyDilation, KeyPadding, KeyDataFormat, KeyActivation, KeyUseBias}
	rnn := []KerasKey{KeyUnits, KeyActivation, KeyRecurrentActivation, KeyUseBias, KeyResetAfter, KeyReturnSequences,
		KeyGoBackwards, KeyReturnState, KeyStateful, KeyUnroll}
	switch kind {
	case "InputLayer":
		return []KerasKey{KeyBatchInputShape, KeyInputShape, KeyFirstInputDim}
	case "Lambda":
		return []KerasKey{KeyLambdaFunction, KeyLambdaOutputShape, KeyLambdaOutputShapeType, KeyLambdaArguments, KeyLambdaMask}
	case "ZeroPadding2D":
		return []KerasKey{KeyZeroPadding, KeyDataFormat}
	case "Cropping2D":
		return []KerasKey{KeyCropping, KeyDataFormat}
	case "Conv2D":
		return append([]KerasKey{KeyFilters, KeyGroups}, conv...)
	case "DepthwiseConv2D":
		return append([]KerasKey{KeyDepthMultiplier, KeyGroupsOne}, conv...)
	case "SeparableConv2D":
		return append([]KerasKey{KeyFilters, KeyDepthMultiplier, KeyGroupsOne}, conv...)
	case "Conv2DTranspose":
		return append([]KerasKey{KeyFilters, KeyGroupsOne, KeyOutputPadding, KeyDeconvOutputShape}, conv...)
	case "MaxPooling2D", "AveragePooling2D":
		return []KerasKey{KeyPoolSize, KeyPoolStrides, KeyPadding, KeyDataFormat}
	case "GlobalMaxPooling2D", "GlobalAveragePooling2D":
		return []KerasKey{KeyKeepDims, KeyDataFormat}
	case "Flatten":
		return []KerasKey{KeyFlattenFormat}
	case "Dense":
		return []KerasKey{KeyUnits, KeyActivation, KeyUseBias, KeyTDLayer}
	case "Dropout", "SpatialDropout2D":
		return []KerasKey{KeyRate}
	case "Activation":
		return []KerasKey{KeyAct, KeyMaxValue, KeyNegativeSlope, KeyThreshold, KeyLeakyAlpha, KeyELUAlpha, KeySoftmaxAxis, KeyTheta}
	case "PReLU":
		return []KerasKey{KeySharedAxes}
	case "BatchNormalization":
		return []KerasKey{KeyAxis, KeyEpsilon, KeyCenter, KeyScale, KeyBNMode}
	case "Concatenate":
		return []KerasKey{KeyMergeAxis, KeyMerge1Mode, KeyMerge1Axis}
	case "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum":
		// Keras 2/3 merge layers other than Concatenate have no keys;
		// Keras 1's Merge layer states its mode.
		return []KerasKey{KeyMerge1Mode, KeyMerge1Axis}
	case "Reshape":
		return []KerasKey{KeyTargetShape}
	case "Permute":
		return []KerasKey{KeyDims}
	case "UpSampling2D":
		return []KerasKey{KeySize, KeyInterpolation, KeyDataFormat}
	case "Attention":
		return []KerasKey{KeyCausal, KeyScoreMode, KeyUseScale}
	case "LayerNormalization":
		return []KerasKey{KeyNormAxes, KeyEpsilon, KeyCenter, KeyScale, KeyRMSScaling}
	case "MultiHeadAttention":
		return []KerasKey{KeyNumHeads, KeyKeyDim, KeyValueDim, KeyUseBias, KeyAttentionAxes, KeyMHAOutputDim}
	case "Conv1D":
		return []KerasKey{KeyFilters, KeyConv1DKernel, KeyConv1DStrides, KeyConv1DDilation, KeyConv1DPadding, KeySeqFormat, KeyActivation, KeyUseBias}
	case "MaxPooling1D", "AveragePooling1D":
		return []KerasKey{KeyPool1DSize, KeyPool1DStrides, KeyConv1DDilation, KeyConv1DPadding, KeySeqFormat}
	case "GlobalMaxPooling1D", "GlobalAveragePooling1D":
		return []KerasKey{KeyKeepDims, KeySeqFormat}
	case "Embedding":
		return []KerasKey{KeyInputDim, KeyOutputDim, KeyMaskZero}
	case "RepeatVector":
		return []KerasKey{KeyRepeatN}
	case "Masking":
		return []KerasKey{KeyMaskValue}
	case CellSimpleRNN, CellLSTM, CellGRU:
		return rnn
	case "Bidirectional":
		return append([]KerasKey{KeyBiLayer, KeyBiMergeMode, KeyBackwardLayer}, rnn...)
	}
	return nil
}

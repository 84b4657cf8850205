package keras

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kconv/kconv/internal/atomicfile"
	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/ir"
)

// Keras3Version is the Keras version Keras 3 files claim: the version
// whose own files (../shared/fixtures/keras3, written by Keras 3.16.0 and
// read from its source) the writer follows.
const Keras3Version = "3.16.0"

// K3Options controls WriteKeras3 and WriteKeras3H5.
type K3Options struct {
	// Force replaces an existing file.
	Force bool
	// ChannelsFirst keeps an NCHW (ONNX, PyTorch) model's layout: its
	// image layers state data_format "channels_first". By default such a
	// model is rewritten channels_last (see ChannelsLast), the only layout
	// TensorFlow's CPU kernels, TFLite and TF.js run.
	ChannelsFirst bool
	// Date is metadata.json's date_saved (default: now).
	Date time.Time
}

// WriteKeras3 writes m as a Keras 3 .keras archive, as model.save("x.keras")
// does: a zip holding metadata.json (keras_version, date_saved),
// config.json (the serialized Functional model: module, class_name,
// config, registered_name, build_config, compile_config; each layer with
// module, class_name, config, registered_name, build_config where Keras
// records one, name and inbound_nodes of __keras_tensor__ arguments) and
// model.weights.h5 (group layers/<snake_case class>[_<n>]/vars with
// attribute name and datasets 0, 1, … in the layer's variable order, and
// the model's own group vars), in that order.
//
// Layers are those WriteH5Model makes (see there for what each op
// becomes), with Keras 3's names for activations: PyTorch's hard_sigmoid
// (x/6 + 1/2) is Keras 3's hard_sigmoid, hard_swish is hard_silu. Keras
// 2's hard_sigmoid (0.2x + 0.5) and ELU layers with alpha ≠ 1 (Keras 3's
// ELU layer does not save alpha) are errors. The file is written
// atomically and never replaces an existing one without opts.Force.
func WriteKeras3(m *ir.Model, path string, opts K3Options) error {
	b, err := buildK3(m, opts)
	if err != nil {
		return err
	}
	cfg, err := b.k3Config(true)
	if err != nil {
		return err
	}
	date := opts.Date
	if date.IsZero() {
		date = time.Now()
	}
	meta, _ := pyJSON(obj("keras_version", Keras3Version, "date_saved", date.Format("2006-01-02@15:04:05")))
	return atomicfile.Write(path, opts.Force, func(tmp string) error {
		wtmp := tmp + ".weights.h5"
		defer os.Remove(wtmp)
		if err := b.writeK3Weights(wtmp); err != nil {
			return err
		}
		f, err := os.Create(tmp)
		if err != nil {
			return err
		}
		zw := zip.NewWriter(f)
		// As Python's zipfile in Keras: stored, not compressed; the JSON
		// members dated 1980-01-01 (ZipInfo's default), the weights with
		// the time of saving; MS-DOS times only, no extra fields.
		put := func(name string, when time.Time, r io.Reader) error {
			fh := &zip.FileHeader{Name: name, Method: zip.Store}
			//lint:ignore SA1019 Modified would add an extended-timestamp extra field, which Keras's zips lack
			fh.ModifiedDate, fh.ModifiedTime = dosDateTime(when)
			w, err := zw.CreateHeader(fh)
			if err != nil {
				return err
			}
			_, err = io.Copy(w, r)
			return err
		}
		epoch := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
		err = put("metadata.json", epoch, strings.NewReader(meta))
		if err == nil {
			err = put("config.json", epoch, strings.NewReader(cfg))
		}
		if err == nil {
			var wf *os.File
			if wf, err = os.Open(wtmp); err == nil {
				err = put("model.weights.h5", date, wf)
				wf.Close()
			}
		}
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// WriteKeras3H5 writes m as the legacy HDF5 file Keras 3 writes for
// model.save("x.h5"): root attributes keras_version, backend and
// model_config (the config of WriteKeras3 without the module,
// registered_name and build_config keys of the model and its layers, as
// Keras 3's legacy serialization writes it), and /model_weights with
// layer_names, each layer's weight_names (<layer>/<weight>, no ":0") and
// datasets <layer>/<layer>/<weight>, and top_level_model_weights.
func WriteKeras3H5(m *ir.Model, path string, opts K3Options) error {
	b, err := buildK3(m, opts)
	if err != nil {
		return err
	}
	cfg, err := b.k3Config(false)
	if err != nil {
		return err
	}
	b.modelConfig = cfg
	return atomicfile.Write(path, opts.Force, b.write)
}

// buildK3 makes the Keras layers of m for a Keras 3 file.
func buildK3(m *ir.Model, opts K3Options) (*h5build, error) {
	if m == nil {
		return nil, errors.New("no model")
	}
	if !opts.ChannelsFirst {
		var err error
		if m, err = ChannelsLast(m); err != nil {
			return nil, err
		}
	}
	b, err := buildH5(m, H5Options{KerasVersion: DefaultH5KerasVersion, keras3: true})
	if err != nil {
		return nil, err
	}
	if err := b.k3Shapes(); err != nil {
		return nil, err
	}
	return b, nil
}

var (
	reSnake1 = regexp.MustCompile(`(.)([A-Z][a-z]+)`)
	reSnake2 = regexp.MustCompile(`([a-z])([A-Z])`)
)

// snakeCase is Keras's naming.to_snake_case of a class name ("ReLU" →
// "re_lu", "MaxPooling2D" → "max_pooling2d"), the base of a layer's group
// in model.weights.h5.
func snakeCase(s string) string {
	s = reSnake1.ReplaceAllString(s, "${1}_${2}")
	return strings.ToLower(reSnake2.ReplaceAllString(s, "${1}_${2}"))
}

// k3Shapes gives every layer its output shape (for build_config and the
// __keras_tensor__ arguments): a node's last layer has the node's output
// shape; layers added before or after it derive theirs.
func (b *h5build) k3Shapes() error {
	byName := map[string]*klayer{}
	for _, l := range b.layers {
		byName[l.name] = l
	}
	for node, lname := range b.out {
		if l := byName[lname]; l != nil && l.shape == nil {
			l.shape = b.idx[node].Out.Shape.Clone()
		}
	}
	var shape func(l *klayer, depth int) (ir.Shape, error)
	shape = func(l *klayer, depth int) (ir.Shape, error) {
		if l.shape != nil {
			return l.shape, nil
		}
		if depth > len(b.layers) || len(l.inputs) != 1 {
			return nil, fmt.Errorf("layer '%s': output shape unknown", l.name)
		}
		in, err := shape(byName[l.inputs[0]], depth+1)
		if err != nil {
			return nil, err
		}
		s := in.Clone()
		switch l.class {
		case "ZeroPadding2D", "Cropping2D":
			key, sign := ir.KeyZeroPadding.Name, 1
			if l.class == "Cropping2D" {
				key, sign = ir.KeyCropping.Name, -1
			}
			p := l.cfg.get(key).([][]int)
			h := 1
			if l.cfg.get(ir.KeyDataFormat.Name) == "channels_first" {
				h = 2
			}
			for i := 0; i < 2; i++ {
				if s[h+i] >= 0 {
					s[h+i] += sign * (p[i][0] + p[i][1])
				}
			}
		case "ReLU", "LeakyReLU", "ELU", "Softmax", "Activation":
		default:
			return nil, fmt.Errorf("layer '%s' (%s): output shape unknown", l.name, l.class)
		}
		l.shape = s
		return s, nil
	}
	// Backwards: the layer before an activation layer split off a node
	// (a convolution's "_act") has the activation's shape, the layer
	// before a Cropping2D (a transposed convolution's "_crop") the
	// crop's shape plus the cropping.
	for changed := true; changed; {
		changed = false
		for _, l := range b.layers {
			if l.shape == nil || len(l.inputs) != 1 {
				continue
			}
			src := byName[l.inputs[0]]
			if src.shape != nil {
				continue
			}
			switch l.class {
			case "ReLU", "LeakyReLU", "ELU", "Softmax", "Activation":
				src.shape, changed = l.shape.Clone(), true
			case "Cropping2D":
				s := l.shape.Clone()
				p := l.cfg.get(ir.KeyCropping.Name).([][]int)
				h := 1
				if l.cfg.get(ir.KeyDataFormat.Name) == "channels_first" {
					h = 2
				}
				for i := 0; i < 2; i++ {
					if s[h+i] >= 0 {
						s[h+i] += p[i][0] + p[i][1]
					}
				}
				src.shape, changed = s, true
			}
		}
	}
	for _, l := range b.layers {
		if _, err := shape(l, 0); err != nil {
			return err
		}
	}
	return nil
}

// get returns the value of key k (nil if absent).
func (o jobj) get(k string) any {
	for _, kv := range o {
		if kv.k == k {
			return kv.v
		}
	}
	return nil
}

// pyShape is a shape as Keras serializes it: unknown dimensions None.
func pyShape(s ir.Shape) []any {
	out := make([]any, len(s))
	for i, d := range s {
		if d >= 0 {
			out[i] = d
		}
	}
	return out
}

// k3DType is the serialized DTypePolicy of a float32 layer.
func k3DType() jobj {
	return obj("module", "keras", "class_name", "DTypePolicy", "config", obj("name", "float32"), "registered_name", nil)
}

// k3Init converts a Keras 2 serialized initializer to Keras 3's form.
func k3Init(v any) any {
	o, ok := v.(jobj)
	if !ok {
		return v
	}
	class, _ := o.get("class_name").(string)
	cfg := obj()
	if class == "GlorotUniform" {
		cfg = obj("seed", nil, "input_axes", nil, "output_axes", nil)
	}
	return obj("module", "keras.initializers", "class_name", class, "config", cfg, "registered_name", nil)
}

// k3Keys lists, per class, the config keys Keras 3.16 writes after name,
// trainable and dtype (Layer.get_config), in its order: ir's Keras keys
// (written as K3Name() with the value the Keras 2 config holds under Name)
// and fixed keys (ir.KerasFixedKey; k3Extra gives the value of those
// Keras 2 lacks).
var k3Keys = map[string][]ir.KerasKey{
	"Conv2D": k3(ir.KeyFilters, ir.KeyKernelSize, ir.KeyStrides, ir.KeyPadding, ir.KeyDataFormat, ir.KeyDilation, ir.KeyGroups, ir.KeyActivation, ir.KeyUseBias,
		"kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"),
	"DepthwiseConv2D": k3(ir.KeyDepthMultiplier, ir.KeyKernelSize, ir.KeyStrides, ir.KeyPadding, ir.KeyDataFormat, ir.KeyDilation, ir.KeyActivation, ir.KeyUseBias,
		"depthwise_initializer", "bias_initializer", "depthwise_regularizer", "bias_regularizer", "activity_regularizer", "depthwise_constraint", "bias_constraint"),
	"SeparableConv2D": k3(ir.KeyDepthMultiplier, ir.KeyFilters, ir.KeyKernelSize, ir.KeyStrides, ir.KeyPadding, ir.KeyDataFormat, ir.KeyDilation, ir.KeyActivation, ir.KeyUseBias,
		"depthwise_initializer", "pointwise_initializer", "bias_initializer", "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer",
		"activity_regularizer", "depthwise_constraint", "pointwise_constraint", "bias_constraint"),
	"Conv2DTranspose": k3(ir.KeyFilters, ir.KeyKernelSize, ir.KeyStrides, ir.KeyPadding, ir.KeyOutputPadding, ir.KeyDataFormat, ir.KeyDilation, ir.KeyActivation, ir.KeyUseBias,
		"kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"),
	"Dense": k3(ir.KeyUnits, ir.KeyActivation, ir.KeyUseBias, "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
		"kernel_constraint", "bias_constraint", "quantization_config"),
	"BatchNormalization": k3(ir.KeyAxis, "momentum", ir.KeyEpsilon, ir.KeyCenter, ir.KeyScale, "beta_initializer", "gamma_initializer",
		"moving_mean_initializer", "moving_variance_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint",
		"synchronized", "renorm", "renorm_clipping", "renorm_momentum"),
	"Activation":             k3(ir.KeyAct),
	"ReLU":                   k3(ir.KeyMaxValue, ir.KeyNegativeSlope, ir.KeyThreshold),
	"LeakyReLU":              k3(ir.KeyLeakyAlpha),
	"ELU":                    k3(), // Keras 3's ELU layer does not save alpha (checked in k3LayerConfig)
	"Softmax":                k3(ir.KeySoftmaxAxis),
	"PReLU":                  k3("alpha_initializer", "alpha_regularizer", "alpha_constraint", ir.KeySharedAxes),
	"MaxPooling2D":           k3(ir.KeyPoolSize, ir.KeyPadding, ir.KeyPoolStrides, ir.KeyDataFormat),
	"AveragePooling2D":       k3(ir.KeyPoolSize, ir.KeyPadding, ir.KeyPoolStrides, ir.KeyDataFormat),
	"GlobalMaxPooling2D":     k3(ir.KeyDataFormat, ir.KeyKeepDims),
	"GlobalAveragePooling2D": k3(ir.KeyDataFormat, ir.KeyKeepDims),
	"Flatten":                k3(ir.KeyFlattenFormat),
	"Dropout":                k3(ir.KeyRate, "seed", "noise_shape"),
	"ZeroPadding2D":          k3(ir.KeyZeroPadding, ir.KeyDataFormat),
	"Cropping2D":             k3(ir.KeyCropping, ir.KeyDataFormat),
	"UpSampling2D":           k3(ir.KeySize, ir.KeyDataFormat, ir.KeyInterpolation),
	"Reshape":                k3(ir.KeyTargetShape),
	"Permute":                k3(ir.KeyDims),
	"Concatenate":            k3(ir.KeyMergeAxis),
	"Add":                    k3(),
	"Subtract":               k3(),
	"Multiply":               k3(),
	"Average":                k3(),
	"Maximum":                k3(),
	"Minimum":                k3(),
	"Lambda":                 k3(ir.KeyLambdaFunction, ir.KeyLambdaOutputShape, ir.KeyLambdaArguments),
}

// k3 makes a k3Keys entry from ir's keys and fixed keys' names.
func k3(keys ...any) []ir.KerasKey {
	out := make([]ir.KerasKey, len(keys))
	for i, k := range keys {
		switch k := k.(type) {
		case ir.KerasKey:
			out[i] = k
		case string:
			out[i] = ir.KerasKey{Name: k}
		}
	}
	return out
}

// k3Extra are keys Keras 3 has and Keras 2 lacks, with the value kconv's
// layers always have.
var k3Extra = map[string]any{
	"synchronized": false, "renorm": false, "renorm_clipping": nil, "renorm_momentum": 0.99, "quantization_config": nil,
}

// k3Built are the classes whose config records build_config: Keras 3
// builds them when first called (they override build() or do not build at
// construction); activations, pooling, Dropout, Reshape and InputLayer are
// built at construction and record none.
var k3Built = map[string]bool{
	"Conv2D": true, "DepthwiseConv2D": true, "SeparableConv2D": true, "Conv2DTranspose": true, "Dense": true,
	"BatchNormalization": true, "PReLU": true, "Flatten": true, "ZeroPadding2D": true, "Cropping2D": true,
	"UpSampling2D": true, "Permute": true, "Concatenate": true, "Add": true, "Subtract": true, "Multiply": true,
	"Average": true, "Maximum": true, "Minimum": true, "Lambda": true,
}

// k3MaskArg are the classes whose call takes a mask argument, which a
// functional model's inbound node passes as kwargs {"mask": null}.
var k3MaskArg = map[string]bool{"Softmax": true, "BatchNormalization": true, "Lambda": true}

// k3LayerConfig converts a layer's Keras 2 config to Keras 3's.
func (b *h5build) k3LayerConfig(l *klayer) (jobj, error) {
	if l.class == "InputLayer" {
		return obj(ir.KeyBatchInputShape.K3Name(), pyShape(l.shape), "dtype", "float32", "sparse", false, "ragged", false, "name", l.name, "optional", false), nil
	}
	keys, ok := k3Keys[l.class]
	if !ok {
		return nil, fmt.Errorf("layer '%s': class %s has no Keras 3 form in kconv", l.name, l.class)
	}
	cfg := obj("name", l.name, "trainable", true, "dtype", k3DType())
	for _, key := range keys {
		k := key.K3Name()
		if v, ok := k3Extra[k]; ok {
			cfg.add(k, v)
			continue
		}
		v := l.cfg.get(key.Name)
		switch {
		case strings.HasSuffix(k, "_initializer"):
			v = k3Init(v)
		case l.class == "Lambda" && key.Name == ir.KeyLambdaFunction.Name:
			v = obj("module", "builtins", "class_name", "function", "config", v, "registered_name", "function")
		case l.class == "Lambda" && key.Name == ir.KeyLambdaOutputShape.Name:
			if v == nil {
				continue // written only when set
			}
		case l.class == "Lambda" && key.Name == ir.KeyLambdaArguments.Name:
			if v == nil {
				v = map[string]any{}
			}
		}
		cfg.add(k, v)
	}
	if l.class == "ELU" {
		if a, _ := l.cfg.get(ir.KeyELUAlpha.Name).(float64); a != 1 {
			return nil, fmt.Errorf("layer '%s': ELU with alpha %g: Keras 3's ELU layer does not save alpha", l.name, a)
		}
	}
	return cfg, nil
}

// k3Config returns the model's config JSON: the .keras form (full) or the
// legacy h5 form (without module, registered_name and build_config).
func (b *h5build) k3Config(full bool) (string, error) {
	byName := map[string]*klayer{}
	for _, l := range b.layers {
		byName[l.name] = l
	}
	tensor := func(name string) jobj {
		return obj("class_name", "__keras_tensor__", "config", obj("shape", pyShape(byName[name].shape), "dtype", "float32",
			"keras_history", []any{name, 0, 0}))
	}
	layers := make([]any, len(b.layers))
	for i, l := range b.layers {
		cfg, err := b.k3LayerConfig(l)
		if err != nil {
			return "", err
		}
		e := obj()
		if full {
			e.add("module", "keras.layers")
		}
		e.add("class_name", l.class, "config", cfg)
		if full {
			e.add("registered_name", nil)
			if k3Built[l.class] {
				var in any
				if len(l.inputs) == 1 && !isMerge(l.class) {
					in = pyShape(byName[l.inputs[0]].shape)
				} else {
					ss := make([]any, len(l.inputs))
					for j, x := range l.inputs {
						ss[j] = pyShape(byName[x].shape)
					}
					in = ss
				}
				e.add("build_config", obj("input_shape", in))
			}
		}
		inbound := []any{}
		if len(l.inputs) > 0 {
			var args any
			if len(l.inputs) == 1 && !isMerge(l.class) {
				args = tensor(l.inputs[0])
			} else {
				ts := make([]any, len(l.inputs))
				for j, x := range l.inputs {
					ts[j] = tensor(x)
				}
				args = ts
			}
			kwargs := obj()
			if k3MaskArg[l.class] {
				kwargs.add("mask", nil)
			}
			inbound = []any{obj("args", []any{args}, "kwargs", kwargs)}
		}
		e.add("name", l.name, "inbound_nodes", inbound)
		layers[i] = e
	}
	refs := func(nodes []string) any {
		out := make([]any, len(nodes))
		for i, n := range nodes {
			out[i] = []any{b.out[n], 0, 0}
		}
		if len(out) == 1 {
			return out[0]
		}
		return out
	}
	name := b.m.Name
	if name == "" {
		name = "model"
	}
	cfg := obj("name", cleanName(name), "trainable", true, "layers", layers, "input_layers", refs(b.m.Inputs), "output_layers", refs(b.m.Outputs))
	top := obj()
	if full {
		top.add("module", "keras.src.models.functional")
	}
	top.add("class_name", "Functional", "config", cfg)
	if full {
		top.add("registered_name", "Functional", "build_config", obj("input_shape", nil), "compile_config", obj())
	}
	return pyJSON(top)
}

// isMerge reports whether class takes a list of inputs.
func isMerge(class string) bool {
	switch class {
	case "Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum":
		return true
	}
	return false
}

// writeK3Weights writes model.weights.h5 at path.
func (b *h5build) writeK3Weights(path string) (err error) {
	f, err := h5.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	root := f.Root()
	lg, err := root.CreateGroup("layers")
	if err != nil {
		return err
	}
	used := map[string]int{}
	for _, l := range b.layers {
		g := snakeCase(l.class)
		if n, ok := used[g]; ok {
			used[g] = n + 1
			g += "_" + strconv.Itoa(n+1)
		} else {
			used[g] = 0
		}
		grp, err := lg.CreateGroup(g)
		if err != nil {
			return err
		}
		vars, err := grp.CreateGroup("vars")
		if err != nil {
			return err
		}
		if err := vars.SetAttrString("name", l.name); err != nil {
			return err
		}
		for i, w := range l.weights {
			if err := vars.WriteFloat32(strconv.Itoa(i), w.shape, w.data); err != nil {
				return fmt.Errorf("layer '%s': %w", l.name, err)
			}
		}
	}
	vars, err := root.CreateGroup("vars")
	if err != nil {
		return err
	}
	name := b.m.Name
	if name == "" {
		name = "model"
	}
	return vars.SetAttrString("name", cleanName(name))
}

// isSixth reports whether x is 1/6 in float64 or float32.
func isSixth(x float64) bool {
	return x == 1.0/6 || float32(x) == float32(1.0/6)
}

func describeAct3(a ir.Act) string {
	if a.Name == ir.ActHardSigmoid {
		return fmt.Sprintf("hard_sigmoid (%gx%+g; Keras 3's is x/6+0.5)", a.Alpha, a.Beta)
	}
	return describeAct(a)
}

// dosDateTime returns t's MS-DOS date and time (2-second resolution),
// clamped to 1980, the first year they can state.
func dosDateTime(t time.Time) (date, tm uint16) {
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	tm = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, tm
}

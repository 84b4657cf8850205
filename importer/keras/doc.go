// Package keras imports Keras models of every vintage into kconv's IR.
//
// Load reads, telling the format by content rather than extension:
//
//   - full-model HDF5 files of Keras 1.x, Keras 2.x / tf.keras and Keras 3's
//     legacy .h5 (root attribute model_config, weights under
//     /model_weights with layer_names and weight_names);
//   - weights-only HDF5 files (root layer_names) and Keras 3 .weights.h5
//     files (layers/<key>/vars/<i>), with the architecture from
//     Options.Arch: a to_json/to_yaml file, another model file, or a
//     builtin name;
//   - .keras zips (config.json, metadata.json, model.weights.h5);
//   - architecture-only JSON or YAML (a model without weights).
//
// # Architecture
//
// Configs are read with the keys of every Keras version (Keras 1's
// nb_filter, border_mode, subsample, dim_ordering, output_dim, p, …;
// Keras 2/3's filters, padding, strides, data_format, units, rate, …),
// Sequential configs as a list or a dict, Model and Functional graphs with
// Keras 1/2 list inbound nodes or Keras 3 dict ones. When a config does not
// state its Keras version, it is guessed from its keys and recorded as the
// bare major number in Meta.KerasVersion.
//
// A Sequential model without an InputLayer gets the input Keras would make,
// shaped by its first layer's batch_input_shape (or input_shape): Keras 1
// names it "<class>_input_1" (fast.ai's VGG16 has "lambda_input_1"), Keras 2
// "<first layer>_input", Keras 3 "input_layer".
//
// Each layer follows its own data_format / dim_ordering; layers that state
// none (and rank-4 inputs) use the first one stated in the config, else
// "th" for Keras 1 configs and "channels_last" for Keras 2/3. (Keras 1
// configs state dim_ordering on every layer where it matters, so the
// Keras 1 fallback only decides the input layout of configs that never
// state one.)
//
// Nested models (a Sequential or Functional model used as a layer) are
// flattened into the graph: their layers become nodes under their own names
// (prefixed with "<model>/" only when a name clashes), so summaries count
// each inner layer. A layer called several times becomes one node per call
// ("<name>@<k>") sharing the first call's weights, with a warning.
//
// Classes kconv does not implement become ir.Unknown nodes keeping their
// class name and stored weights, with a warning. Activation names follow
// the config's Keras version: hard_sigmoid is 0.2x+0.5 in Keras 1/2 and
// x/6+0.5 in Keras 3.
//
// Lambda layers cannot run Python: the function is chosen from
// Options.Lambdas (layer name → registered name, --lambda LAYER=NAME), else
// by a registered name found in the config (Keras 3's function name, or the
// function's name inside Keras 1/2's marshalled bytecode). An unrecognized
// Lambda gets Function "" and a model warning.
//
// # Weights
//
// Legacy files are read through layer_names and each layer's weight_names,
// in order (names may contain '/' and nest several groups deep). Layers are
// matched by name, or in order among the layers with weights when the names
// differ (as Keras's load_weights does). Keras 3 files are read through the
// key Keras gives each layer: its snake_case class name with a counter per
// class and container, in config order.
//
// Weights are converted to the IR's canonical layouts: Keras 1 "th"
// Convolution2D kernels (out, in, kh, kw) become (kh, kw, in, out), and so
// do "th" SeparableConvolution2D's depthwise (mult, in, kh, kw) and
// pointwise (filters, in*mult, 1, 1) kernels; Keras 1 Deconvolution2D
// kernels ("th" (out, in, kh, kw), "tf" (kh, kw, in, out)) become
// (kh, kw, out, in). Keras 1
// BatchNormalization's running_std is loaded as moving_variance unchanged:
// despite its name Keras 1.2 stores and uses the variance in it
// (K.batch_normalization(x, running_mean, running_std, ...)).
//
// With Options.TheanoFlip "auto" (the default), convolution kernels are
// flipped spatially (Keras's convert_kernel) for Theano-era files: Keras 1
// files whose weight names lack ":0", and Keras 1/2 files whose backend
// attribute is "theano". "on" and "off" force the choice. Flipped Conv2D ops
// have TheanoFlipped set.
//
// No weight data is read by Load: each weight reads its data on its first
// Data call. For an HDF5 file, the file is opened on the first read and
// closed once every weight has been read. For a .keras zip, model.weights.h5
// is extracted to a temporary file during Load (to learn the shapes) and
// again on the first Data call, which then reads all the weights into
// memory; both times the temporary file is removed before the call returns.
//
// # Errors
//
// Errors are one line: "FILE: layer 'conv2d_3': …" where a layer is at
// fault (the error then wraps an *ir.LayerError).
package keras // import "github.com/kconv/kconv/importer/keras"

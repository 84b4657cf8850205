// Package keras writes models in Keras's HDF5 layouts.
//
// WriteKeras1Weights writes a weights-only file exactly as Keras 1.x
// save_weights did (the layout of fast.ai's vgg16.h5): root attribute
// layer_names, one group per layer with attribute weight_names, datasets
// <layer>/<layer>_W and <layer>_b, convolution kernels as
// (filters, channels, rows, cols).
//
// WriteH5Model writes a full model as Keras 2 (tf.keras) model.save does:
// a Functional model_config and /model_weights with layer_names,
// weight_names and <layer>/<layer>/<weight>:0 datasets, readable by Keras 2
// and by kconv's importer. Padding, activations and transposed-convolution
// crops that Keras cannot state become extra ZeroPadding2D ("<layer>_pad"),
// activation ("<layer>_act") and Cropping2D ("<layer>_crop") layers; node
// names are made valid Keras names (H5LayerNames); Lambda layers name their
// registered kconv function (function_type "function", module "kconv").
//
// Files are written atomically and never replace an existing file without
// Force.
package keras

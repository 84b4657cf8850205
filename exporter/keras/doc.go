// Package keras writes models in Keras's HDF5 layouts.
//
// WriteKeras1Weights writes a weights-only file exactly as Keras 1.x
// save_weights did (the layout of fast.ai's vgg16.h5): root attribute
// layer_names, one group per layer with attribute weight_names, datasets
// <layer>/<layer>_W and <layer>_b, convolution kernels as
// (filters, channels, rows, cols). Files are written atomically.
package keras

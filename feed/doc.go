// Package feed builds a model's input tensor from the files users have: a
// NumPy .npy file holding the whole tensor, an HDF5 dataset (FILE.h5:DATASET),
// or PNG/JPEG images (files or folders), decoded, resized bilinearly to the
// model's input size and preprocessed as Keras's preprocess_input modes
// ("caffe", "tf", "torch") or explicit scale/mean/std/BGR settings define.
//
// Sizes are checked against the model's input and the memory budget before
// anything is allocated; errors name the file (and dataset). kconv run uses
// Read; Go programs use it the same way (see Example).
package feed

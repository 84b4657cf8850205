// Package kernels holds kconv's CPU compute kernels over float32 tensors in
// NHWC layout (batch, height, width, channels), with convolution kernels in
// HWIO layout (kh, kw, in, out) as Keras 2/3 stores them.
//
// Every kernel has a naive reference twin (prefix Ref), written for
// clarity, and one shared table of cases runs both and compares them.
package kernels

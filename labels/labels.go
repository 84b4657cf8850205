// Package labels holds class-name lists for classifier outputs.
package labels

import (
	_ "embed"
	"strings"
)

//go:embed imagenet.txt
var imagenetText string

// ImageNet returns the 1000 ImageNet class names in Keras's class order
// (keras.applications' imagenet_class_index.json), as collected in the
// PyTorch Hub repository's imagenet_classes.txt.
func ImageNet() []string {
	return strings.Split(strings.TrimRight(imagenetText, "\n"), "\n")
}

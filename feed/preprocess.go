package feed

import (
	"fmt"
	"strings"
)

// Normalize says how RGB pixel values in 0–255 become a model's input:
// channels are reordered to BGR if BGR is set, then each value v of output
// channel c becomes (v·Scale − Mean[c]) / Std[c]. Mean and Std are in the
// model's channel order (BGR when BGR is set).
type Normalize struct {
	Scale     float64
	Mean, Std [3]float64
	BGR       bool
}

// Identity feeds RGB pixels in 0–255 unchanged.
var Identity = Normalize{Scale: 1, Std: [3]float64{1, 1, 1}}

// PreprocessModes lists the modes Preprocessing accepts.
var PreprocessModes = []string{"none", "caffe", "tf", "torch"}

// Preprocessing returns the normalization of a preprocessing mode, as
// keras.applications' preprocess_input defines them for RGB input in 0–255:
//
//   - "none": the pixels unchanged (models that preprocess inside, like
//     fast.ai's VGG16 with its Lambda layer);
//   - "caffe": RGB → BGR, minus the ImageNet means (103.939, 116.779,
//     123.68 in BGR order), no scaling (VGG16, VGG19, ResNet50);
//   - "tf": x/127.5 − 1, values in [−1, 1] (MobileNet, MobileNetV2,
//     InceptionV3, Xception);
//   - "torch": x/255, minus (0.485, 0.456, 0.406), over (0.229, 0.224,
//     0.225) (DenseNet, torchvision models).
func Preprocessing(mode string) (Normalize, error) {
	switch strings.ToLower(mode) {
	case "none":
		return Identity, nil
	case "caffe":
		return Normalize{Scale: 1, Mean: [3]float64{103.939, 116.779, 123.68}, Std: [3]float64{1, 1, 1}, BGR: true}, nil
	case "tf":
		return Normalize{Scale: 1 / 127.5, Mean: [3]float64{1, 1, 1}, Std: [3]float64{1, 1, 1}}, nil
	case "torch":
		return Normalize{Scale: 1.0 / 255, Mean: [3]float64{0.485, 0.456, 0.406}, Std: [3]float64{0.229, 0.224, 0.225}}, nil
	}
	return Normalize{}, fmt.Errorf("unknown preprocessing %q (want one of %s)", mode, strings.Join(PreprocessModes, ", "))
}

// Apply normalizes px, RGB pixels in (h·w, 3) order as ReadImage returns
// them, into dst (3·h·w values), channels first (c, h, w) or last (h, w, c).
func (n Normalize) Apply(px []float32, dst []float32, channelsFirst bool) {
	hw := len(px) / 3
	for p := 0; p < hw; p++ {
		for ch := 0; ch < 3; ch++ {
			src := ch
			if n.BGR {
				src = 2 - ch
			}
			v := float32((float64(px[p*3+src])*n.Scale - n.Mean[ch]) / n.Std[ch])
			if channelsFirst {
				dst[ch*hw+p] = v
			} else {
				dst[p*3+ch] = v
			}
		}
	}
}

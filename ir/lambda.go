package ir

import (
	"fmt"
	"sort"
	"sync"
)

// LambdaImpl is a Go implementation of a Keras Lambda layer's function.
type LambdaImpl struct {
	Name string
	Doc  string
	// Infer returns the output type; nil means "same as the input".
	Infer func(in TensorType) (TensorType, error)
	// Eval computes out (already allocated with the inferred shape) from
	// in. in.Shape has the actual batch size.
	Eval func(in, out *Tensor) error
}

var lambdas = struct {
	sync.RWMutex
	m map[string]LambdaImpl
}{m: map[string]LambdaImpl{}}

// RegisterLambda makes impl available to Lambda layers whose function has
// impl.Name. Registering a name twice is an error.
func RegisterLambda(impl LambdaImpl) error {
	if impl.Name == "" || impl.Eval == nil {
		return fmt.Errorf("lambda implementation needs a name and Eval")
	}
	lambdas.Lock()
	defer lambdas.Unlock()
	if _, ok := lambdas.m[impl.Name]; ok {
		return fmt.Errorf("lambda %q is already registered", impl.Name)
	}
	lambdas.m[impl.Name] = impl
	return nil
}

// LookupLambda returns the implementation registered under name.
func LookupLambda(name string) (LambdaImpl, bool) {
	lambdas.RLock()
	defer lambdas.RUnlock()
	impl, ok := lambdas.m[name]
	return impl, ok
}

// LambdaNames lists the registered Lambda implementations, sorted.
func LambdaNames() []string {
	lambdas.RLock()
	defer lambdas.RUnlock()
	var names []string
	for n := range lambdas.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// VGGMean is the ImageNet channel mean (R, G, B) that VGG's preprocessing
// subtracts.
var VGGMean = [3]float32{123.68, 116.779, 103.939}

func init() {
	if err := RegisterLambda(LambdaImpl{
		Name: "vgg_preprocess",
		Doc:  "subtract the ImageNet mean [123.68, 116.779, 103.939] per channel, then reverse RGB to BGR (fast.ai's vgg16.py)",
		Infer: func(in TensorType) (TensorType, error) {
			if _, _, _, err := in.Spatial(); err != nil {
				return TensorType{}, err
			}
			if c, _, _, _ := in.Spatial(); c != 3 {
				return TensorType{}, fmt.Errorf("vgg_preprocess needs 3 channels, got %d", c)
			}
			return in, nil
		},
		Eval: vggPreprocess,
	}); err != nil {
		panic(err)
	}
}

// vggPreprocess computes (x - mean)[:, ::-1] on the channel axis.
func vggPreprocess(in, out *Tensor) error {
	if len(in.Shape) != 4 {
		return fmt.Errorf("vgg_preprocess needs a rank-4 input, got %v", in.Shape)
	}
	n := in.Shape[0]
	if in.Layout == ChannelsFirst {
		if in.Shape[1] != 3 {
			return fmt.Errorf("vgg_preprocess needs 3 channels, got %v", in.Shape)
		}
		hw := in.Shape[2] * in.Shape[3]
		for b := 0; b < n; b++ {
			for c := 0; c < 3; c++ {
				src := in.Data[(b*3+c)*hw : (b*3+c+1)*hw]
				dst := out.Data[(b*3+2-c)*hw : (b*3+3-c)*hw]
				m := VGGMean[c]
				for i, v := range src {
					dst[i] = v - m
				}
			}
		}
		return nil
	}
	if in.Shape[3] != 3 {
		return fmt.Errorf("vgg_preprocess needs 3 channels, got %v", in.Shape)
	}
	for i := 0; i+3 <= len(in.Data); i += 3 {
		r, g, b := in.Data[i]-VGGMean[0], in.Data[i+1]-VGGMean[1], in.Data[i+2]-VGGMean[2]
		out.Data[i], out.Data[i+1], out.Data[i+2] = b, g, r
	}
	return nil
}

package feed

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/internal/memory"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
)

// ErrNotInput is wrapped by Read's error for an argument that is no .npy
// file, FILE.h5:DATASET, image or folder (a usage error for a command line).
var ErrNotInput = errors.New("not a .npy file, FILE.h5:DATASET, image or folder")

// Options controls Read.
type Options struct {
	// Normalize is the image preprocessing; nil means the model's own
	// (ForModel).
	Normalize *Normalize
	// MemoryBudget bounds the bytes of the tensor (0: memory's default,
	// half of RAM).
	MemoryBudget int64
}

// Read builds the input of the single-input model m from args: one .npy
// file holding the whole tensor in the model's own layout, batch included;
// one FILE.h5:DATASET; or images and folders of images (one batch entry per
// image, folders in name order). The note, when not empty, says something
// the user should know (a dtype converted, the preprocessing chosen).
func Read(m *ir.Model, args []string, opts Options) (x *ir.Tensor, note string, err error) {
	ins := m.InputTypes()
	if len(ins) != 1 {
		return nil, "", fmt.Errorf("model has %d inputs; Read builds the input of single-input models", len(ins))
	}
	if len(args) == 0 {
		return nil, "", fmt.Errorf("no input given")
	}
	want := ins[0]
	budget := memory.Resolve(opts.MemoryBudget)
	first := args[0]
	if len(args) == 1 && strings.HasSuffix(strings.ToLower(first), ".npy") {
		return NPY(first, want)
	}
	if file, ds, ok := strings.Cut(first, ".h5:"); ok && len(args) == 1 {
		x, err := H5(file+".h5", ds, want, budget)
		return x, "", err
	}
	var images []string
	for _, in := range args {
		if st, err := os.Stat(in); err == nil && st.IsDir() {
			l, err := tensorio.ListImages(in)
			if err != nil {
				return nil, "", err
			}
			images = append(images, l...)
		} else if tensorio.IsImage(in) {
			images = append(images, in)
		} else {
			return nil, "", fmt.Errorf("%s: %w", in, ErrNotInput)
		}
	}
	var n Normalize
	if opts.Normalize != nil {
		n = *opts.Normalize
	} else if n, note, err = ForModel(m); err != nil {
		return nil, "", err
	}
	x, err = Images(images, want, n, budget)
	return x, note, err
}

// ForModel returns the image preprocessing m's architecture expects
// (Meta.Preprocess: builtins and weights-only files matched to one), or
// Identity when kconv does not know it; the note says which mode was
// chosen when it changes the pixels.
func ForModel(m *ir.Model) (Normalize, string, error) {
	if m.Meta.Preprocess == "" {
		return Identity, "", nil
	}
	n, err := Preprocessing(m.Meta.Preprocess)
	if err != nil {
		return n, "", err
	}
	note := ""
	if m.Meta.Preprocess != "none" {
		note = fmt.Sprintf("images preprocessed in %q mode, as the architecture expects (--preprocess none feeds raw 0–255 RGB)", m.Meta.Preprocess)
	}
	return n, note, nil
}

// CheckShape returns an error naming what (a file, FILE.h5:DATASET) when a
// tensor of shape got does not fit want (dynamic dimensions match any size
// of at least 1).
func CheckShape(what string, got []int, want ir.Shape) error {
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		if want[i] >= 0 && got[i] != want[i] || got[i] < 1 {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("%s: input has shape %v, the model expects %v (batch first, in the model's own layout)", what, got, want)
	}
	return nil
}

// unwrapPath drops an os.PathError's repetition of the path the caller
// names itself.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// NPY reads a .npy file holding a whole input of type want (batch
// included, in the model's layout); the note says what was converted.
func NPY(path string, want ir.TensorType) (*ir.Tensor, string, error) {
	shape, data, note, err := tensorio.ReadNPY(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if err := CheckShape(path, shape, want.Shape); err != nil {
		return nil, "", err
	}
	if note != "" {
		note = path + ": " + note
	}
	return &ir.Tensor{Shape: shape, Layout: want.Layout, Data: data}, note, nil
}

// H5 reads the dataset ds of the HDF5 file as an input of type want, after
// checking its shape and that it fits in budget bytes.
func H5(file, ds string, want ir.TensorType, budget int64) (*ir.Tensor, error) {
	f, err := h5.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := f.Root().Dataset(ds)
	if err != nil {
		return nil, err
	}
	if err := CheckShape(file+":"+ds, d.Shape(), want.Shape); err != nil {
		return nil, err
	}
	if b, ok := memory.Bytes(int64(d.Len()), 4); !ok || b > budget {
		return nil, fmt.Errorf("%s:%s: %d values need %s, over the memory budget of %s (--memory-budget)", file, ds, d.Len(), memory.Size(b), memory.Size(budget))
	}
	t := &ir.Tensor{Shape: d.Shape(), Layout: want.Layout, Data: make([]float32, d.Len())}
	if err := d.ReadFloat32(t.Data); err != nil {
		return nil, err
	}
	return t, nil
}

// Images decodes the images, resizes each bilinearly to the height and
// width of want (a 3-channel image input) and normalizes it with n into one
// batch in want's layout. The batch must fit in budget bytes (0: memory's
// default).
func Images(paths []string, want ir.TensorType, n Normalize, budget int64) (*ir.Tensor, error) {
	budget = memory.Resolve(budget)
	c, h, w, err := want.Spatial()
	if err != nil || c != 3 {
		return nil, fmt.Errorf("images need a model with a (3-channel) image input; this one takes %v", want.Shape)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no images")
	}
	t := &ir.Tensor{Shape: append(ir.Shape{len(paths)}, want.Shape[1:]...), Layout: want.Layout}
	elems, err := ir.CheckedElements(t.Shape)
	if err != nil {
		return nil, fmt.Errorf("%d images: %v", len(paths), err)
	}
	if b, ok := memory.Bytes(elems, 4); !ok || b > budget {
		return nil, fmt.Errorf("%d images of shape %v need %s, over the memory budget of %s (--memory-budget)", len(paths), want.Shape[1:], memory.Size(b), memory.Size(budget))
	}
	t.Data = make([]float32, elems)
	per := h * w * 3
	for i, path := range paths {
		px, err := tensorio.ReadImage(path, h, w)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
		}
		n.Apply(px, t.Data[i*per:(i+1)*per], want.Layout == ir.ChannelsFirst)
	}
	return t, nil
}

// IsTensorFile reports whether args name one .npy file or one
// FILE.h5:DATASET, which Read takes as the whole tensor (no image
// preprocessing applies).
func IsTensorFile(args []string) bool {
	if len(args) != 1 {
		return false
	}
	_, _, h5 := strings.Cut(args[0], ".h5:")
	return h5 || strings.HasSuffix(strings.ToLower(args[0]), ".npy")
}

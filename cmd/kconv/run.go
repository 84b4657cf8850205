package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/feed"
	"github.com/kconv/kconv/internal/atomicfile"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/labels"
)

func init() { extraCommands = append(extraCommands, newRunCmd) }

// inputFlags describe how run builds the input tensor.
type inputFlags struct {
	inputs []string
	scale  float64
	mean   string
	std    string
	bgr    bool
	// preprocess is auto (the architecture's own, unless --scale, --mean,
	// --std or --bgr are given) or a feed.Preprocessing mode.
	preprocess string
	changed    func(flag string) bool
	budget     int64 // --memory-budget (0: the default)
}

func newRunCmd() *cobra.Command {
	var (
		lf         loadFlags
		inf        inputFlags
		out        string
		outDir     string
		top        int
		labelsF    string
		threads    int
		noWinograd bool
		asJSON     bool
		force      bool
	)
	cmd := &cobra.Command{
		Use:   "run MODEL --input X",
		Short: "Run a model natively on an input and print its predictions",
		Long: `Run MODEL on the CPU and print the top-K classes of its first output.

--input takes a .npy file holding the whole input tensor in the model's own
layout, batch included; FILE.h5:DATASET; PNG/JPEG images (repeat --input, or
give a folder), decoded, resized bilinearly to the model's input size and laid
out as RGB values in 0–255, then preprocessed as the architecture expects when
kconv knows it (builtins, and weights-only files matched to one: Keras's
"caffe", "tf" or "torch" modes; fast.ai's VGG16 preprocesses inside). Override
with --preprocess MODE, or give --scale, --mean, --std, --bgr yourself.

A model with several inputs takes one .npy file or FILE.h5:DATASET per input:
--input NAME=FILE for each (NAME: its InputLayer, or ONNX graph input), or the files in
the model's input order.`,
		Example: `  kconv run model.h5 --input x.npy --out y.npy
  kconv run vgg16.h5 --arch vgg16 --input cat.jpg --labels imagenet
  kconv run two_inputs.onnx --input image=x.npy --input meta=m.npy --out-dir out`,
		Args: exactArgs(1, "one MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(inf.inputs) == 0 {
				return usagef("run needs --input")
			}
			if err := checkFlags(positive("top", top), threadsOK(threads), finite("scale", inf.scale)); err != nil {
				return err
			}
			if err := lf.parseBudget(); err != nil {
				return err
			}
			m, err := lf.load(args[0])
			if err != nil {
				return err
			}
			if !ir.HasWeights(m) && hasWeightSpecs(m) {
				return fmt.Errorf("%s: the model has no weights (give a weights file, or use `kconv bench` for random weights)", args[0])
			}
			inf.changed = cmd.Flags().Changed
			inf.budget = lf.budget
			xs, note, err := inf.tensors(m)
			if err != nil {
				return err
			}
			if note != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "kconv: note: %s\n", note)
			}
			if err := compileWeights(m, lf.budget); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			p, err := exec.Compile(m, exec.Options{Threads: threads, NoWinograd: noWinograd, MemoryBudget: lf.budget})
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			outs, err := p.Run(context.Background(), xs)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if out != "" && out != "-" {
				if err := writeNPY(out, outs[0], force); err != nil {
					return err
				}
			}
			if outDir != "" {
				if err := os.MkdirAll(outDir, 0o755); err != nil {
					return err
				}
				for i, t := range outs {
					name := strings.ReplaceAll(m.Outputs[i], "/", "_") + ".npy"
					if err := writeNPY(filepath.Join(outDir, name), t, force); err != nil {
						return err
					}
				}
			}
			if out == "-" {
				// The .npy goes to standard output, so the predictions
				// are not printed there.
				if err := tensorio.EncodeNPY(cmd.OutOrStdout(), outs[0].Shape, outs[0].Data); err != nil {
					return fmt.Errorf("standard output: %w", err)
				}
				return nil
			}
			names, err := loadLabels(labelsF)
			if err != nil {
				return err
			}
			return printTop(cmd, outs[0], top, names, inf.inputs, asJSON)
		},
	}
	lf.register(cmd)
	cmd.Flags().StringArrayVarP(&inf.inputs, "input", "i", nil, "input: `X`.npy, FILE.h5:DATASET, an image, or a folder of images (repeatable for images); NAME=FILE for each input of a several-input model")
	cmd.Flags().Float64Var(&inf.scale, "scale", 1, "multiply image pixel values (0–255) by this")
	cmd.Flags().StringVar(&inf.mean, "mean", "", "subtract per-channel `R,G,B` means from images (after --scale)")
	cmd.Flags().StringVar(&inf.std, "std", "", "divide images by per-channel `R,G,B` deviations (after --mean)")
	cmd.Flags().BoolVar(&inf.bgr, "bgr", false, "give images to the model as BGR instead of RGB")
	cmd.Flags().StringVar(&inf.preprocess, "preprocess", "auto", "image preprocessing: auto (the architecture's), none, caffe, tf or torch")
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the first output to `Y.npy` (- for standard output)")
	cmd.Flags().StringVar(&outDir, "out-dir", "", "write every output to `DIR`/<output name>.npy")
	cmd.Flags().IntVar(&top, "top", 5, "print the top `K` classes")
	cmd.Flags().StringVar(&labelsF, "labels", "", "class names: imagenet (builtin) or a `FILE` with one name per line")
	cmd.Flags().IntVar(&threads, "threads", 0, "worker threads (default: all cores)")
	cmd.Flags().BoolVar(&noWinograd, "no-winograd", false, "compute 3×3 convolutions with im2col+GEMM (less memory: Winograd keeps 4× the 3×3 kernels)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print predictions as JSON")
	cmd.Flags().BoolVar(&force, "force", false, "replace existing output files")
	return cmd
}

// tensor builds the model's input from the --input flags (package input
// does the decoding; this picks the preprocessing from the flags).
func (f *inputFlags) tensor(m *ir.Model) (*ir.Tensor, string, error) {
	opts := feed.Options{MemoryBudget: f.budget}
	note := ""
	if !feed.IsTensorFile(f.inputs) {
		norm, n, err := f.normalize(m)
		if err != nil {
			return nil, "", err
		}
		opts.Normalize, note = &norm, n
	}
	x, readNote, err := feed.Read(m, f.inputs, opts)
	if errors.Is(err, feed.ErrNotInput) {
		return nil, "", usagef("--input %v", err)
	}
	if readNote != "" {
		note = readNote
	}
	return x, note, err
}

// normalize picks the image preprocessing: --preprocess MODE, else the
// --scale/--mean/--std/--bgr flags when any is given, else the
// architecture's own (Meta.Preprocess), else none.
func (f *inputFlags) normalize(m *ir.Model) (feed.Normalize, string, error) {
	manual := false
	for _, fl := range []string{"scale", "mean", "std", "bgr"} {
		if f.changed != nil && f.changed(fl) {
			manual = true
		}
	}
	mode := strings.ToLower(f.preprocess)
	if mode == "" {
		mode = "auto"
	}
	if mode != "auto" {
		if manual {
			return feed.Normalize{}, "", usagef("--preprocess %s cannot be combined with --scale, --mean, --std or --bgr", f.preprocess)
		}
		n, err := feed.Preprocessing(mode)
		if err != nil {
			return n, "", usagef("--preprocess: %v", err)
		}
		return n, "", nil
	}
	if !manual && m.Meta.Preprocess != "" {
		return feed.ForModel(m)
	}
	mean, err := triple(f.mean, 0)
	if err != nil {
		return feed.Normalize{}, "", usagef("--mean: %v", err)
	}
	std, err := triple(f.std, 1)
	if err != nil {
		return feed.Normalize{}, "", usagef("--std: %v", err)
	}
	return feed.Normalize{Scale: f.scale, Mean: mean, Std: std, BGR: f.bgr}, "", nil
}

func triple(s string, def float64) ([3]float64, error) {
	out := [3]float64{def, def, def}
	if s == "" {
		return out, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) == 1 {
		parts = []string{parts[0], parts[0], parts[0]}
	}
	if len(parts) != 3 {
		return out, fmt.Errorf("want R,G,B values, got %q", s)
	}
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return out, err
		}
		out[i] = v
	}
	if def == 1 && (out[0] == 0 || out[1] == 0 || out[2] == 0) {
		return out, fmt.Errorf("zero deviation in %q", s)
	}
	return out, nil
}

func writeNPY(path string, t *ir.Tensor, force bool) error {
	return atomicfile.Write(path, force, func(tmp string) error {
		f, err := os.Create(tmp)
		if err != nil {
			return err
		}
		if err := tensorio.EncodeNPY(f, t.Shape, t.Data); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}

func loadLabels(spec string) ([]string, error) {
	switch spec {
	case "":
		return nil, nil
	case "imagenet":
		return labels.ImageNet(), nil
	}
	b, err := os.ReadFile(spec)
	if err != nil {
		return nil, fmt.Errorf("--labels %s: %w", spec, unwrapPath(err))
	}
	return strings.Split(strings.TrimRight(string(b), "\r\n"), "\n"), nil
}

type prediction struct {
	Index int     `json:"index"`
	Label string  `json:"label,omitempty"`
	Score float32 `json:"score"`
}

func printTop(cmd *cobra.Command, y *ir.Tensor, k int, names []string, inputs []string, asJSON bool) error {
	n := y.Shape[0]
	per := len(y.Data) / max(n, 1)
	all := make([][]prediction, n)
	for b := 0; b < n; b++ {
		row := y.Data[b*per : (b+1)*per]
		idx := make([]int, len(row))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(i, j int) bool { return row[idx[i]] > row[idx[j]] })
		for _, i := range idx[:min(k, len(idx))] {
			p := prediction{Index: i, Score: row[i]}
			if i < len(names) {
				p.Label = strings.TrimSpace(names[i])
			}
			all[b] = append(all[b], p)
		}
	}
	w := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"output_shape": y.Shape, "predictions": all})
	}
	for b, preds := range all {
		if n > 1 || len(inputs) > 1 {
			fmt.Fprintf(w, "sample %d:\n", b)
		}
		for r, p := range preds {
			label := p.Label
			if label == "" {
				label = fmt.Sprintf("class %d", p.Index)
			}
			fmt.Fprintf(w, "  %d. %-30s %.6f  (index %d)\n", r+1, label, p.Score, p.Index)
		}
	}
	return nil
}

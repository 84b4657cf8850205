package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	kerasexport "github.com/kconv/kconv/exporter/keras"
	onnxexport "github.com/kconv/kconv/exporter/onnx"
	"github.com/kconv/kconv/internal/atomicfile"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

func init() { extraCommands = append(extraCommands, newConvertCmd) }

func newConvertCmd() *cobra.Command {
	var (
		lf            loadFlags
		opset         int
		batch         string
		inputNCHW     bool
		randomWeights bool
		seed          uint64
		force         bool
		kerasMajor    int
		channelsFirst bool
	)
	cmd := &cobra.Command{
		Use:   "convert IN OUT",
		Short: "Convert a model to another format (OUT's extension picks it: .onnx, .keras, .h5)",
		Long: `Convert the model IN (any file kconv reads, or a builtin such as vgg16) to the
format OUT's extension names:

  .onnx   ONNX (opset 11–20, default 13), weights included. Inside the graph
          every image tensor is NCHW; a channels_last model still takes its
          input as NHWC (add --input-nchw to take NCHW) and gives its outputs
          in the Keras layout. The batch dimension is dynamic ("N") unless
          --batch fixes it (a static one, as in many ONNX files, stays).
  .keras  Keras 3 archive (config.json, metadata.json, model.weights.h5), as
          Keras 3.16's model.save("x.keras") writes it. An NCHW model (ONNX
          from PyTorch) becomes channels_last: it takes NHWC images, as
          TensorFlow, TFLite and TF.js need (--channels-first keeps NCHW).
  .h5     Keras full model (model_config and model_weights), as
          model.save("x.h5") writes it: Keras 2 (tf.keras 2.11) by default,
          Keras 3's legacy h5 with --keras 3 (channels_last as for .keras).
          A Keras 2 file keeps an NCHW model channels_first.

Every layer must have a Keras equivalent; ONNX ops without a Keras layer are
an error naming the node. Max pooling with explicit or ceil-mode padding is
written as ZeroPadding2D + MaxPooling2D when its input is provably
non-negative (after a ReLU), where that is exact. --opset, --batch and
--input-nchw apply to .onnx only; --keras and --channels-first to Keras
output only.

A builtin architecture has no weights: give --random-weights (seeded by
--seed) to convert it with random ones. OUT is never replaced without --force.`,
		Example: `  kconv convert model.h5 model.onnx
  kconv convert resnet50.onnx resnet50.keras
  kconv convert resnet50.onnx resnet50.h5 --keras 3
  kconv convert model.onnx model.h5
  kconv convert vgg16 vgg16.onnx --random-weights --opset 17
  kconv convert weights.h5 model.onnx --arch vgg16 --batch 1`,
		Args: exactArgs(2, "an IN model and an OUT file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, out := args[0], args[1]
			format := strings.ToLower(filepath.Ext(out))
			switch format {
			case ".onnx":
				for _, f := range []string{"keras", "channels-first"} {
					if cmd.Flags().Changed(f) {
						return usagef("--%s applies to Keras output (.keras, .h5), not %s", f, format)
					}
				}
			case ".h5", ".keras":
				for _, f := range []string{"opset", "batch", "input-nchw"} {
					if cmd.Flags().Changed(f) {
						return usagef("--%s applies to .onnx output, not %s", f, format)
					}
				}
				if !cmd.Flags().Changed("keras") {
					kerasMajor = map[string]int{".h5": 2, ".keras": 3}[format]
				}
				switch {
				case kerasMajor != 2 && kerasMajor != 3:
					return usagef("--keras %d: kconv writes Keras 2 and 3 files", kerasMajor)
				case format == ".keras" && kerasMajor != 3:
					return usagef("--keras %d: .keras files are Keras 3", kerasMajor)
				case kerasMajor == 2 && channelsFirst:
					return usagef("--channels-first applies to Keras 3 output (Keras 2 files keep the model's layout)")
				}
			default:
				return usagef("OUT %s: unknown format %q (want .onnx, .keras or .h5)", out, filepath.Ext(out))
			}
			opts := onnxexport.Options{Opset: opset, InputNCHW: inputNCHW, Force: force}
			if opset != 0 && (opset < onnxexport.MinOpset || opset > onnxexport.MaxOpset) {
				return usagef("--opset %d: kconv writes opsets %d to %d", opset, onnxexport.MinOpset, onnxexport.MaxOpset)
			}
			switch b := strings.ToLower(batch); b {
			case "", "dynamic", "n":
			default:
				n, err := strconv.Atoi(b)
				if err != nil || n < 1 {
					return usagef("--batch wants dynamic or a positive number, got %q", batch)
				}
				opts.Batch = n
			}
			if !force {
				if _, err := os.Lstat(out); err == nil {
					return fmt.Errorf("%s: %w", out, atomicfile.ErrExists)
				}
			}
			m, err := lf.load(in)
			if err != nil {
				return err
			}
			switch {
			case randomWeights:
				zoo.RandomWeights(m, seed)
			case !ir.HasWeights(m) && hasWeightSpecs(m):
				return fmt.Errorf("%s: the model has no weights: give a weights file (with --arch for weights-only files) or --random-weights to convert it with seeded random ones", in)
			}
			if err := loadWeights(cmd, m, lf.budget); err != nil {
				return fmt.Errorf("%s: %w", in, err)
			}
			write := func() error { return onnxexport.Write(m, out, opts) }
			k3 := kerasexport.K3Options{Force: force, ChannelsFirst: channelsFirst}
			switch {
			case format == ".keras":
				write = func() error { return kerasexport.WriteKeras3(m, out, k3) }
			case format == ".h5" && kerasMajor == 3:
				write = func() error { return kerasexport.WriteKeras3H5(m, out, k3) }
			case format == ".h5":
				write = func() error { return kerasexport.WriteH5Model(m, out, kerasexport.H5Options{Force: force}) }
			}
			if err := write(); err != nil {
				if errors.Is(err, atomicfile.ErrExists) {
					return err
				}
				return fmt.Errorf("%s: %w", in, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
			return nil
		},
	}
	lf.register(cmd)
	cmd.Flags().IntVar(&opset, "opset", onnxexport.DefaultOpset, "ONNX opset `N` to write (11–20)")
	cmd.Flags().StringVar(&batch, "batch", "dynamic", "batch dimension of the graph: dynamic or a fixed `N`")
	cmd.Flags().BoolVar(&inputNCHW, "input-nchw", false, "take a channels_last model's image input as NCHW instead of NHWC")
	cmd.Flags().BoolVar(&randomWeights, "random-weights", false, "use seeded random weights (for builtins and architecture-only files)")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed for --random-weights")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing OUT")
	cmd.Flags().IntVar(&kerasMajor, "keras", 0, "Keras major `version` of .h5 output: 2 (default) or 3 (.keras is always 3)")
	cmd.Flags().BoolVar(&channelsFirst, "channels-first", false, "Keras 3 output: keep an NCHW model channels_first instead of making it channels_last")
	return cmd
}

// hasWeightSpecs reports whether any layer of m expects weights.
func hasWeightSpecs(m *ir.Model) bool {
	for _, n := range m.Nodes {
		if len(n.Specs) > 0 {
			return true
		}
	}
	return false
}

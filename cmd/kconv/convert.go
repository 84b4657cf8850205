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
	)
	cmd := &cobra.Command{
		Use:   "convert IN OUT",
		Short: "Convert a model to another format (OUT's extension picks it: .onnx, .h5)",
		Long: `Convert the model IN (any file kconv reads, or a builtin such as vgg16) to the
format OUT's extension names:

  .onnx   ONNX (opset 11–20, default 13), weights included. Inside the graph
          every image tensor is NCHW; a channels_last model still takes its
          input as NHWC (add --input-nchw to take NCHW) and gives its outputs
          in the Keras layout. The batch dimension is dynamic ("N") unless
          --batch fixes it (a static one, as in many ONNX files, stays).
  .h5     Keras 2 (tf.keras) full model (model_config and weights), as
          model.save("x.h5") writes it. Every layer must have a Keras
          equivalent: an ONNX model becomes a Keras model of the same layout
          (NCHW models become channels_first ones), and ONNX ops without a
          Keras layer are an error naming the node. --opset, --batch and
          --input-nchw do not apply.

A builtin architecture has no weights: give --random-weights (seeded by
--seed) to convert it with random ones. OUT is never replaced without --force.`,
		Example: `  kconv convert model.h5 model.onnx
  kconv convert model.onnx model.h5
  kconv convert vgg16 vgg16.onnx --random-weights --opset 17
  kconv convert weights.h5 model.onnx --arch vgg16 --batch 1`,
		Args: exactArgs(2, "an IN model and an OUT file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, out := args[0], args[1]
			format := strings.ToLower(filepath.Ext(out))
			switch format {
			case ".onnx":
			case ".h5":
				for _, f := range []string{"opset", "batch", "input-nchw"} {
					if cmd.Flags().Changed(f) {
						return usagef("--%s applies to .onnx output, not %s", f, format)
					}
				}
			case ".keras":
				return fmt.Errorf("%s: writing Keras 3 .keras files is not available yet (kconv writes .onnx and Keras 2 .h5)", out)
			default:
				return usagef("OUT %s: unknown format %q (want .onnx or .h5)", out, filepath.Ext(out))
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
			if format == ".h5" {
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

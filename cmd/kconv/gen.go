package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	kexport "github.com/kconv/kconv/exporter/keras"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

func init() { extraCommands = append(extraCommands, newGenCmd) }

func newGenCmd() *cobra.Command {
	var (
		seed          uint64
		format        string
		force, theano bool
		classes, size int
	)
	cmd := &cobra.Command{
		Use:   "gen BUILTIN OUT",
		Short: "Write a builtin architecture as a weights-only file with seeded random weights",
		Long: `Write a builtin architecture with seeded random weights as a weights-only file in
its original layout, so tests and benchmarks have full-size files without a
download; kconv finds the architecture of such a file by itself.

  vgg16 (fast.ai) and keras.applications' Theano variants (NAME_th):
    --format keras1, fast.ai's vgg16.h5 layout: convolution2d_1/convolution2d_1_W,
    kernels (out, in, rows, cols) flipped as Theano convolution (--theano=false:
    unflipped, names with ':0'; read such a file back with --theano-flip off,
    since kconv reads files in Theano ordering as holding Theano kernels).
  keras.applications models (vgg16_keras, vgg19, resnet50, mobilenet,
  mobilenet_v2, densenet121, inception_v3, xception; NAME_notop without top):
    --format keras2, the layout of keras.applications' weight files (Keras 2
    save_weights: layer_names, <layer>/<layer>/kernel:0); weights are generated
    one at a time.`,
		Example: `  kconv gen vgg16 /tmp/vgg16.h5 && kconv summary /tmp/vgg16.h5
  kconv gen resnet50_notop /tmp/resnet50_notop.h5`,
		Args: exactArgs(2, "a BUILTIN name and an OUT file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := genModel(args[0], classes, size)
			if err != nil {
				return usageError{err}
			}
			f := strings.ToLower(format)
			if f == "auto" {
				f = "keras2"
				if m.Meta.KerasMajor() == 1 {
					f = "keras1"
				}
			}
			switch f {
			case "keras1":
				zoo.RandomWeights(m, seed)
				if err := kexport.WriteKeras1Weights(m, args[1], kexport.Keras1Options{Theano: theano, Force: force}); err != nil {
					return fmt.Errorf("%s: %w", args[1], err)
				}
			case "keras2":
				zoo.LazyRandomWeights(m, seed)
				if err := kexport.WriteKeras2Weights(m, args[1], kexport.Keras2WeightsOptions{Force: force}); err != nil {
					return fmt.Errorf("%s: %w", args[1], err)
				}
			default:
				return usagef("unknown --format %q (want auto, keras1 or keras2)", format)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s, %s layout, seed %d)\n", args[1], args[0], f, seed)
			return nil
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().StringVar(&format, "format", "auto", "file layout: keras1 (Keras 1 weights-only, fast.ai vgg16.h5), keras2 (Keras 2 save_weights, keras.applications) or auto (the builtin's own)")
	cmd.Flags().BoolVar(&theano, "theano", true, "keras1: Theano-era file: no ':0' in weight names, kernels flipped")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing OUT")
	cmd.Flags().IntVar(&classes, "classes", 0, "keras.applications models with top: classifier size (default 1000)")
	cmd.Flags().IntVar(&size, "size", 0, "keras.applications models: input height and width (default the model's own)")
	return cmd
}

// genModel is the builtin name with the --classes and --size choices.
func genModel(name string, classes, size int) (*ir.Model, error) {
	if classes == 0 && size == 0 {
		return zoo.Lookup(name)
	}
	a, cfg, ok := zoo.ParseVariant(name)
	if !ok {
		return nil, fmt.Errorf("--classes and --size apply to keras.applications builtins (%s is not one)", name)
	}
	if classes < 0 || size < 0 {
		return nil, fmt.Errorf("--classes and --size must be positive")
	}
	cfg.Classes, cfg.Height, cfg.Width = classes, size, size
	return a.Build(cfg)
}

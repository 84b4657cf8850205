package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	kexport "github.com/kconv/kconv/exporter/keras"
	"github.com/kconv/kconv/zoo"
)

func init() { extraCommands = append(extraCommands, newGenCmd) }

func newGenCmd() *cobra.Command {
	var (
		seed          uint64
		format        string
		force, theano bool
	)
	cmd := &cobra.Command{
		Use:   "gen BUILTIN OUT",
		Short: "Write a builtin architecture with seeded random weights",
		Long: `Write a builtin architecture (vgg16) with seeded random weights, so tests and
benchmarks have full-size models without a download. --format keras1 writes a
weights-only file in the layout of fast.ai's Theano-era vgg16.h5
(convolution2d_1/convolution2d_1_W, kernels (out, in, rows, cols), flipped as
Theano convolution; read it back with --arch vgg16).`,
		Example: `  kconv gen vgg16 /tmp/vgg16.h5 && kconv summary /tmp/vgg16.h5 --arch vgg16`,
		Args:    exactArgs(2, "a BUILTIN name and an OUT file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := zoo.Lookup(args[0])
			if err != nil {
				return usageError{err}
			}
			zoo.RandomWeights(m, seed)
			switch strings.ToLower(format) {
			case "keras1":
				if err := kexport.WriteKeras1Weights(m, args[1], kexport.Keras1Options{Theano: theano, Force: force}); err != nil {
					return fmt.Errorf("%s: %w", args[1], err)
				}
			default:
				return usagef("unknown --format %q (want keras1)", format)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s, seed %d)\n", args[1], args[0], seed)
			return nil
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().StringVar(&format, "format", "keras1", "file layout: keras1 (weights-only, fast.ai vgg16.h5 layout)")
	cmd.Flags().BoolVar(&theano, "theano", true, "Theano-era file: no ':0' in weight names, kernels flipped")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing OUT")
	return cmd
}

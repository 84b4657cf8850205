package main

import (
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kconv/kconv/exec"
)

func init() { extraCommands = append(extraCommands, newIRCmd) }

func newIRCmd() *cobra.Command {
	var (
		lf     loadFlags
		passes bool
		keep   []string
	)
	cmd := &cobra.Command{
		Use:   "ir MODEL",
		Short: "Print a model's IR as text, or the passes that made it",
		Long: `Print the model as kconv runs it: after its import pipeline and the optimizing
passes that kconv run and serve compile with (sink-transpose,
cancel-transposes, channel-shuffle and the fusions: fuse-pad, fold-batchnorm,
fold-channel-add, fuse-residual, fuse-gelu, fuse-layernorm, fuse-activation,
fuse-pool, and pad-channels, which widens an inverted-residual block's
expanded tensor to a multiple of 16 channels with zero weights; a fused
node takes the name of the last node it absorbed and shows the rest in its
Fused attribute). One line per node with its name, op and typed attributes,
inputs with their types, output type, class (when it differs from the op),
parameter count and weights. No weight data is read. summary and convert
work on the model before the optimizing passes.

--after PASS stops after that pass (of the import pipeline or of the
optimizing passes) and prints the IR then; --passes lists the passes in
order with their time and how many nodes each changed. --keep LAYER keeps
a layer observable, as kconv verify does with every layer it compares:
nothing fuses into or across it. MODEL is a file or a builtin name (vgg16).`,
		Example: `  kconv ir model.onnx
  kconv ir model.onnx --passes
  kconv ir model.onnx --after infer-shapes`,
		Args: exactArgs(1, "one MODEL (a file or a builtin name such as vgg16)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			stop := lf.stopAfter
			optimizeStop, optimize := "", true
			if slices.Contains(exec.OptimizePasses(), stop) {
				lf.stopAfter, optimizeStop = "", stop
			} else if stop != "" {
				optimize = false // stopped inside the import pipeline
			}
			m, err := lf.load(args[0])
			if err != nil {
				return err
			}
			if optimize {
				if m, err = exec.Optimize(m, exec.Options{Keep: keep}, optimizeStop); err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
			}
			for _, w := range m.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "kconv: warning: %s\n", w)
			}
			out := cmd.OutOrStdout()
			if !passes {
				return m.WriteText(out)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "pass\ttime\tchanged")
			for _, p := range m.Passes {
				fmt.Fprintf(tw, "%s\t%s\t%d\n", p.Name, p.Time.Round(time.Microsecond), p.Changed)
			}
			return tw.Flush()
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVar(&lf.stopAfter, "after", "", "stop the pipeline after `PASS` and print the IR then")
	cmd.Flags().BoolVar(&passes, "passes", false, "list the passes that ran, with their time and nodes changed")
	cmd.Flags().StringSliceVar(&keep, "keep", nil, "keep `LAYER` observable: nothing fuses into or across it (repeatable)")
	return cmd
}

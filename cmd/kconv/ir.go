package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newIRCmd) }

func newIRCmd() *cobra.Command {
	var (
		lf     loadFlags
		passes bool
	)
	cmd := &cobra.Command{
		Use:   "ir MODEL",
		Short: "Print a model's IR as text, or the passes that made it",
		Long: `Print the model as kconv holds it after its import pipeline: one line per node
with its name, op and typed attributes, inputs with their types, output type,
class (when it differs from the op), parameter count and weights. No weight
data is read.

--after PASS stops the pipeline after that pass and prints the IR then;
--passes lists the pipeline's passes in order with their time and how many
nodes each changed. MODEL is a file or a builtin name (vgg16).`,
		Example: `  kconv ir model.onnx
  kconv ir model.onnx --passes
  kconv ir model.onnx --after infer-shapes`,
		Args: exactArgs(1, "one MODEL (a file or a builtin name such as vgg16)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := lf.load(args[0])
			if err != nil {
				return err
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
	return cmd
}

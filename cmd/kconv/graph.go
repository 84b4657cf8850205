package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kconv/kconv/graph"
)

func init() { extraCommands = append(extraCommands, newGraphCmd) }

func newGraphCmd() *cobra.Command {
	var (
		lf      loadFlags
		out     string
		rankdir string
		force   bool
	)
	cmd := &cobra.Command{
		Use:   "graph MODEL -o FILE",
		Short: "Draw a model's layer graph as Graphviz .dot, .svg or .png",
		Long: `Draw a model as Keras's plot_model(show_shapes=True) does: one box per layer
with its name, class, activation, output shape and parameter count, an arrow
from each input, the model's inputs outlined in green and its outputs in red.
MODEL is a file (.h5, .keras, .weights.h5, .json, .yaml, .onnx) or a builtin
name (vgg16); no weight data is read.

The format follows FILE's extension: .dot (or .gv) is written directly; .svg
and .png run Graphviz's dot program, which must be installed.`,
		Example: `  kconv graph vgg16 -o vgg16.svg
  kconv graph model.h5 -o model.dot --rankdir LR`,
		Args: exactArgs(1, "one MODEL (a file or a builtin name such as vgg16)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("%s needs -o FILE (.dot, .svg or .png)", cmd.CommandPath())
			}
			format, err := graph.FormatFor(out)
			if err != nil {
				return usageError{err}
			}
			opts := graph.Options{RankDir: strings.ToUpper(rankdir)}
			switch opts.RankDir {
			case "TB", "LR":
			default:
				return usagef("--rankdir must be TB or LR, not %q", rankdir)
			}
			m, err := lf.load(args[0])
			if err != nil {
				return err
			}
			for _, w := range m.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "kconv: warning: %s\n", w)
			}
			if err := graph.Render(m, format, out, force, opts); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
			return nil
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the graph to `FILE`.dot, .svg or .png")
	cmd.Flags().StringVar(&rankdir, "rankdir", "TB", "layout direction: TB (top to bottom) or LR (left to right)")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing FILE")
	return cmd
}

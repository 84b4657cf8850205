package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kconv/kconv/summary"
)

func newSummaryCmd() *cobra.Command {
	var (
		lf     loadFlags
		style  string
		asJSON bool
		check  string
	)
	cmd := &cobra.Command{
		Use:   "summary MODEL",
		Short: "Print a Keras-style summary of a model (no weight data is read)",
		Long: `Print the summary Keras would print: every layer's output shape and parameter
count, and the totals. MODEL is a file (.h5, .keras, .weights.h5, .json, .yaml,
.onnx) or a builtin name (vgg16).

--style picks Keras 1, 2 or 3 formatting (default: the file's own Keras version).
--check REF compares with a reference summary of any Keras vintage, layer by
layer, and exits 1 on any difference.`,
		Example: `  kconv summary vgg16
  kconv summary vgg16 --check testdata/vgg16_summary.txt
  kconv summary weights.h5 --arch model.json --style keras2`,
		Args: exactArgs(1, "one MODEL (a file or a builtin name such as vgg16)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := parseStyle(style)
			if err != nil {
				return err
			}
			m, err := lf.load(args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if check != "" {
				f, err := os.Open(check)
				if err != nil {
					return fmt.Errorf("%s: %w", check, unwrapPath(err))
				}
				defer f.Close()
				ref, err := summary.Parse(f)
				if err != nil {
					return fmt.Errorf("%s: %w", check, err)
				}
				diffs := summary.Check(m, ref)
				if len(diffs) == 0 {
					t, nt := m.Params()
					fmt.Fprintf(out, "ok: %s matches %s (%d layers, %s params)\n", args[0], check, len(ref.Layers), commas(t+nt))
					return nil
				}
				for _, d := range diffs {
					fmt.Fprintln(out, d.String())
				}
				return checkFailed{fmt.Sprintf("%s: %d difference(s) from %s", args[0], len(diffs), check)}
			}
			if asJSON {
				return summary.RenderJSON(out, m)
			}
			if style == "" {
				st = summary.StyleFor(m)
			}
			for _, w := range m.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "kconv: warning: %s\n", w)
			}
			return summary.Render(out, m, st)
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVar(&style, "style", "", "summary style: keras1, keras2 or keras3 (default: the file's Keras version)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	cmd.Flags().StringVar(&check, "check", "", "compare with a reference summary `FILE`; exit 1 on differences")
	return cmd
}

func parseStyle(s string) (summary.Style, error) {
	switch s {
	case "", "keras3", "3":
		return summary.Keras3, nil
	case "keras2", "2":
		return summary.Keras2, nil
	case "keras1", "1":
		return summary.Keras1, nil
	}
	return 0, usagef("unknown --style %q (want keras1, keras2 or keras3)", s)
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	out := ""
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out += ","
		}
		out += string(c)
	}
	return out
}

package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/feed"
	"github.com/kconv/kconv/internal/refcheck"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
)

func init() { extraCommands = append(extraCommands, newVerifyCmd) }

func newVerifyCmd() *cobra.Command {
	var (
		lf         loadFlags
		io         string
		input      string
		expect     string
		rtol, atol float64
		threads    int
	)
	cmd := &cobra.Command{
		Use:   "verify MODEL (--io REF.io.h5 | --input X.npy --expect Y.npy)",
		Short: "Run a model and compare every layer with reference outputs",
		Long: `Run MODEL and compare its outputs with a reference: either an io.h5 file
holding input, output and layers/<layer> (every layer's output, as Keras
computed it), or an input and an expected output as .npy files. Prints the
maximum absolute and relative error per layer and exits 1 naming the first
layer out of tolerance (|got-want| <= atol + rtol*|want|).`,
		Args: exactArgs(1, "one MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (io == "") == (input == "" || expect == "") {
				return usagef("verify needs either --io REF.io.h5 or both --input X.npy and --expect Y.npy")
			}
			if err := checkFlags(threadsOK(threads), finiteNotNegative("rtol", rtol), finiteNotNegative("atol", atol)); err != nil {
				return err
			}
			m, err := lf.load(args[0])
			if err != nil {
				return err
			}
			if err := loadWeights(cmd, m, lf.budget); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			var ref *refcheck.Reference
			if io != "" {
				if ref, err = refcheck.ReadIO(io); err != nil {
					return err
				}
			} else {
				ref = &refcheck.Reference{Layers: map[string]*ir.Tensor{}}
				s, d, _, err := tensorio.ReadNPY(input)
				if err != nil {
					return fmt.Errorf("%s: %w", input, err)
				}
				ref.Input = &ir.Tensor{Shape: s, Data: d}
				s, d, _, err = tensorio.ReadNPY(expect)
				if err != nil {
					return fmt.Errorf("%s: %w", expect, err)
				}
				ref.Output = &ir.Tensor{Shape: s, Data: d}
			}
			if err := feed.CheckShape(io+input, ref.Input.Shape, m.InputTypes()[0].Shape); err != nil {
				return err
			}
			rows, err := refcheck.Run(context.Background(), m, ref, exec.Options{Threads: threads, MemoryBudget: lf.budget}, rtol, atol)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprint(out, refcheck.Table(rows))
			if miss := refcheck.Missing(m, ref); len(miss) > 0 {
				fmt.Fprintf(out, "note: reference layers not in the model: %s\n", strings.Join(miss, ", "))
			}
			if bad := refcheck.FirstFailure(rows); bad != nil {
				why := "out of tolerance"
				if bad.Err != nil {
					why = bad.Err.Error()
				}
				return checkFailed{fmt.Sprintf("%s: layer '%s': %s (max abs err %.3g, rtol %g, atol %g)", args[0], bad.Layer, why, bad.MaxAbs, rtol, atol)}
			}
			fmt.Fprintf(out, "ok: %d comparisons within rtol %g, atol %g\n", len(rows), rtol, atol)
			return nil
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVar(&io, "io", "", "reference `FILE` with input, output and layers/<name> datasets")
	cmd.Flags().StringVar(&input, "input", "", "input `X.npy`")
	cmd.Flags().StringVar(&expect, "expect", "", "expected output `Y.npy`")
	cmd.Flags().Float64Var(&rtol, "rtol", 1e-3, "relative tolerance")
	cmd.Flags().Float64Var(&atol, "atol", 1e-5, "absolute tolerance")
	cmd.Flags().IntVar(&threads, "threads", 0, "worker threads (default: all cores)")
	return cmd
}

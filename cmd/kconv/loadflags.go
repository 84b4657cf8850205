package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kconv/kconv/internal/memory"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
)

// loadFlags are the model-loading flags shared by every command.
type loadFlags struct {
	arch       string
	lambdas    []string
	theanoFlip string
	// stopAfter is load.Options.StopAfter (kconv ir --after).
	stopAfter string
	cmd       *cobra.Command
	// memBudget is --memory-budget as given; budget is it parsed (0: the
	// default), set by load.
	memBudget string
	budget    int64
	// fixedBatch is --fixed-batch: load.Options.Batch.
	fixedBatch int
}

func (lf *loadFlags) register(cmd *cobra.Command) {
	lf.cmd = cmd
	cmd.Flags().StringVar(&lf.arch, "arch", "", "architecture for a weights-only file: a JSON/YAML `FILE` or a builtin name (vgg16, resnet50_notop, …); without it kconv matches the file against the builtins")
	cmd.Flags().StringArrayVar(&lf.lambdas, "lambda", nil, "use Go implementation NAME for Lambda layer LAYER (`LAYER=NAME`; builtin: vgg_preprocess)")
	cmd.Flags().StringVar(&lf.theanoFlip, "theano-flip", "auto", "flip Theano-era convolution kernels: auto, on or off")
	cmd.Flags().StringVar(&lf.memBudget, "memory-budget", "", "most memory for weights and buffers, e.g. 2G (default: half the machine's RAM)")
	cmd.Flags().IntVar(&lf.fixedBatch, "fixed-batch", 0, "import an ONNX model with its dynamic batch size fixed to `N` (graphs that fold the batch into other axes, like torchvision's ViT and Swin exports, need it; 0: dynamic)")
}

// parseBudget sets lf.budget from --memory-budget.
func (lf *loadFlags) parseBudget() error {
	if lf.memBudget == "" {
		return nil
	}
	b, err := memory.ParseSize(lf.memBudget)
	if err != nil {
		return usagef("--memory-budget: %v", err)
	}
	lf.budget = b
	return nil
}

func (lf *loadFlags) load(path string) (*ir.Model, error) {
	if err := lf.parseBudget(); err != nil {
		return nil, err
	}
	if lf.fixedBatch < 0 {
		return nil, usagef("--fixed-batch %d: must be 0 (dynamic) or more", lf.fixedBatch)
	}
	opt := load.Options{Arch: lf.arch, TheanoFlip: lf.theanoFlip, Lambdas: map[string]string{}, StopAfter: lf.stopAfter, MemoryBudget: lf.budget, Batch: lf.fixedBatch}
	switch lf.theanoFlip {
	case "auto", "on", "off":
	default:
		return nil, usagef("--theano-flip must be auto, on or off, not %q", lf.theanoFlip)
	}
	for _, l := range lf.lambdas {
		layer, name, ok := strings.Cut(l, "=")
		if !ok || layer == "" || name == "" {
			return nil, usagef("--lambda wants LAYER=NAME, got %q", l)
		}
		if _, ok := ir.LookupLambda(name); !ok {
			return nil, usagef("--lambda %s: no Go implementation named %q (have %v)", l, name, ir.LambdaNames())
		}
		opt.Lambdas[layer] = name
	}
	m, err := load.Model(path, opt)
	if err == nil && m.Meta.Arch != "" && lf.cmd != nil {
		fmt.Fprintf(lf.cmd.ErrOrStderr(), "architecture: %s\n", m.Meta.Arch)
	}
	return m, err
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

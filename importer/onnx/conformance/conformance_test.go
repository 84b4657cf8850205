// Package conformance runs ONNX's backend test cases and the Keras-exported
// fixtures through importer/onnx and exec and compares the outputs with the
// references; TestRoundTrip exports the imported models again
// (exporter/onnx) and runs them in ONNX Runtime. It lives apart from
// package onnx so that the importer's own tests depend neither on exec nor
// on the exporters.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/importer/onnx/internal/onnxtest"
	"github.com/kconv/kconv/internal/refcheck"
	"github.com/kconv/kconv/ir"
)

// ONNX's runner compares with numpy.testing.assert_allclose(rtol=1e-3,
// atol=1e-7).
const (
	rtol = 1e-3
	atol = 1e-7
)

// execBugs are cases exec computes wrongly today, with the reason, and
// cannotRun the cases whose model exec cannot run yet (an op it does not
// lower), with the reason. Both lists are expectations: a listed case that
// passes fails the test (remove it), and so does a failure not listed, so
// the lists cannot go stale. Both are empty today: every importable case
// runs and matches its reference.
var (
	execBugs  = map[string]string{}
	cannotRun = map[string]string{}
)

// TestConformance runs every importable case (the ones the importer
// refuses are TestImportCases's, with their own strict table) and compares
// its outputs with the reference.
func TestConformance(t *testing.T) {
	cases, missing := onnxtest.Cases("..")
	for _, s := range missing {
		t.Logf("suite %s not found (neither in shared/ nor in testdata/): skipped", s)
	}
	if len(cases) == 0 {
		t.Skip("no ONNX test cases found")
	}
	var ran, expected int
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.ID()] = true
		t.Run(c.ID(), func(t *testing.T) {
			im, err := c.Import()
			if err != nil {
				t.Skipf("not imported (see TestImportCases): %v", err)
			}
			err = run(c, im)
			why, bug := execBugs[c.ID()]
			if !bug {
				why, bug = cannotRun[c.ID()]
			}
			switch {
			case bug && err == nil:
				t.Fatalf("listed as failing (%s) but passes: remove it from execBugs/cannotRun", why)
			case bug:
				expected++
				t.Logf("expected failure: %s (%v)", why, err)
			case err != nil:
				t.Fatal(err)
			default:
				ran++
			}
		})
	}
	t.Logf("%d cases ran and matched, %d expected failures (execBugs, cannotRun)", ran, expected)
	if len(missing) == 0 {
		for _, list := range []map[string]string{execBugs, cannotRun} {
			for id := range list {
				if !seen[id] {
					t.Errorf("%s is listed but is not a case", id)
				}
			}
		}
	}
}

// run compiles and runs a case and compares its outputs.
func run(c onnxtest.Case, im *onnxtest.Imported) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	if c.Suite == "keras3" {
		ref, err := refcheck.ReadIO(filepath.Join(filepath.Dir(c.Model), c.Name+".io.h5"))
		if err != nil {
			return err
		}
		rows, err := refcheck.Run(context.Background(), im.Model, ref, exec.Options{}, rtol, 1e-5)
		if err != nil {
			return err
		}
		if bad := refcheck.FirstFailure(rows); bad != nil {
			return fmt.Errorf("out of tolerance:\n%s", refcheck.Table(rows))
		}
		return nil
	}
	p, err := exec.Compile(im.Model, exec.Options{})
	if err != nil {
		return err
	}
	feeds := make([]*ir.Tensor, len(im.Feeds))
	types := im.Model.InputTypes()
	for i, f := range im.Feeds {
		g := *f
		g.Layout = types[i].Layout
		feeds[i] = &g
	}
	outs, err := p.Run(context.Background(), feeds)
	if err != nil {
		return err
	}
	var errs []error
	for i, want := range im.Want {
		if err := allClose(outs[i], want); err != nil {
			errs = append(errs, fmt.Errorf("output %d (%s): %v", i, im.Model.Outputs[i], err))
		}
	}
	return errors.Join(errs...)
}

// allClose is numpy's assert_allclose: |got-want| <= atol + rtol*|want|,
// NaN matching NaN. Shapes must match (ir's (1,) stands for a scalar).
func allClose(got, want *ir.Tensor) error { return allCloseTol(got, want, rtol, atol) }

// allCloseTol is allClose with the given tolerances.
func allCloseTol(got, want *ir.Tensor, rtol, atol float64) error {
	if !onnxtest.SameShape(got.Shape, want.Shape) || len(got.Data) != len(want.Data) {
		return fmt.Errorf("shape %v, reference %v", got.Shape, want.Shape)
	}
	bad, worst := 0, -1
	for i, w := range want.Data {
		g := got.Data[i]
		if math.IsNaN(float64(w)) && math.IsNaN(float64(g)) {
			continue
		}
		d := math.Abs(float64(g) - float64(w))
		if !(d <= atol+rtol*math.Abs(float64(w))) && !(math.IsInf(float64(w), 0) && g == w) {
			bad++
			if worst < 0 {
				worst = i
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d values out of tolerance; first at %d: got %g, want %g", bad, len(want.Data), worst, got.Data[worst], want.Data[worst])
	}
	return nil
}

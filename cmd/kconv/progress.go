package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/ir"
)

// quiet silences progress bars (the global --quiet flag).
var quiet bool

// progressBar returns a bar on stderr for work of size total, or a silent
// one when stderr is not a terminal or --quiet is given. Bars only appear
// for work that takes more than about a second (they render after a delay).
func progressBar(cmd *cobra.Command, total int64, desc string, bytes bool) *progressbar.ProgressBar {
	w := cmd.ErrOrStderr()
	visible := !quiet && isTerminal(w)
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetVisibility(visible),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(bytes),
		progressbar.OptionSetRenderBlankState(false),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
	)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// compileWeights is what a command that compiles m at once does before
// Compile: it checks m's weights from their declared shapes and leaves the
// reading to Compile, which reads a kernel it packs straight into a buffer
// it reuses (see exec/kernelread.go) rather than into a copy of its own
// that is dropped once packed: on machines where first-touched memory is
// slow, that halves the load time of a CNN. (Compile shows no progress
// bar.)
func compileWeights(m *ir.Model, budget int64) error {
	return exec.CheckWeights(m, budget)
}

// loadWeights reads every weight of m with a progress bar.
func loadWeights(cmd *cobra.Command, m *ir.Model, budget int64) error {
	// Checked from the declared shapes before any weight is read.
	if err := exec.CheckWeights(m, budget); err != nil {
		return err
	}
	bar := progressBar(cmd, m.WeightBytes(), "loading weights", true)
	defer bar.Finish()
	return m.LoadWeightsProgress(func(done int64) { bar.Set64(done) })
}

package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kconv/kconv/internal/atomicfile"
	"github.com/kconv/kconv/ir"
)

// Formats are the output formats Render writes.
var Formats = []string{"dot", "svg", "png"}

// ErrNoDot is wrapped by Render's error when svg or png output is asked for
// and Graphviz's dot program is not on the PATH.
var ErrNoDot = errors.New("needs Graphviz's dot program (apt-get install graphviz)")

// FormatFor returns the output format for a file name's extension: .dot or
// .gv → "dot", .svg → "svg", .png → "png" (case-insensitive).
func FormatFor(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".dot", ".gv":
		return "dot", nil
	case ".svg":
		return "svg", nil
	case ".png":
		return "png", nil
	case "":
		return "", fmt.Errorf("%s: no extension to tell the format from (want .dot, .svg or .png)", path)
	default:
		return "", fmt.Errorf("%s: unknown graph format %q (want .dot, .svg or .png)", path, ext)
	}
}

// Render draws m in format ("dot", "svg" or "png") to the file dst. The dot
// format is written directly; svg and png pipe the DOT text through
// Graphviz's dot program (wrapping ErrNoDot when it is missing), bounded by
// opts' Timeout. The file is written atomically, never half: an existing dst
// is replaced only if force is set. At most one Options may be given.
func Render(m *ir.Model, format, dst string, force bool, opts ...Options) error {
	var o Options
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		return errors.New("graph.Render: more than one Options")
	}
	switch format {
	case "dot", "svg", "png":
	default:
		return fmt.Errorf("unknown graph format %q (want dot, svg or png)", format)
	}
	var src bytes.Buffer
	if err := WriteDOT(&src, m, o); err != nil {
		return err
	}
	if format == "dot" {
		return atomicfile.WriteBytes(dst, force, src.Bytes())
	}
	dot, err := exec.LookPath("dot")
	if err != nil {
		return fmt.Errorf("%s output %w; write .dot instead", format, ErrNoDot)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return atomicfile.Write(dst, force, func(tmp string) error {
		return runDot(dot, format, src.Bytes(), tmp, timeout)
	})
}

// runDot runs dot -T<format> on src, writing its output to the file out.
func runDot(dot, format string, src []byte, out string, timeout time.Duration) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stderr := &capBuffer{max: 4 << 10}
	cmd := exec.CommandContext(ctx, dot, "-T"+format)
	cmd.Stdin = bytes.NewReader(src)
	cmd.Stdout = f
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second // don't wait on pipes held by dot's children
	err = cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("dot -T%s: timed out after %v", format, timeout)
	}
	if err != nil {
		if msg := brief(stderr.String()); msg != "" {
			return fmt.Errorf("dot -T%s: %v: %s", format, err, msg)
		}
		return fmt.Errorf("dot -T%s: %v", format, err)
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() == 0 {
		return fmt.Errorf("dot -T%s produced no output", format)
	}
	return f.Close()
}

// brief shortens dot's stderr to one line of at most 300 bytes.
func brief(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	msg := strings.Join(lines, "; ")
	if len(msg) > 300 {
		cut := 300
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// capBuffer keeps the first max bytes written to it and drops the rest.
type capBuffer struct {
	buf bytes.Buffer
	max int
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		if len(p) > room {
			c.buf.Write(p[:room])
		} else {
			c.buf.Write(p)
		}
	}
	return len(p), nil
}

func (c *capBuffer) String() string { return c.buf.String() }

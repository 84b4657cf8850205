package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestGenIdentify: a file kconv gen writes is identified by every command
// that loads it, which says so in one line on stderr; --arch overrides.
func TestGenIdentify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mobilenet_notop.h5")
	if code, out, errs := kconv(t, "gen", "mobilenet_notop", path); code != 0 || !strings.Contains(out, "keras2 layout") {
		t.Fatalf("gen: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := kconv(t, "summary", path)
	if code != 0 || !strings.Contains(out, "3,228,864") {
		t.Fatalf("summary: exit %d\n%s%s", code, out, errs)
	}
	if want := "architecture: builtin mobilenet_notop (keras.applications MobileNet, include_top=False, matched 54/54 weighted layers)\n"; errs != want {
		t.Errorf("stderr %q, want %q", errs, want)
	}
	if code, _, errs := kconv(t, "summary", path, "--arch", "mobilenet_notop"); code != 0 || errs != "" {
		t.Errorf("--arch: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := kconv(t, "gen", "mobilenet_th", path+"2"); code != 2 || !strings.Contains(errs, "no Theano-ordering variant") {
		t.Errorf("gen mobilenet_th: exit %d, stderr %q", code, errs)
	}
}

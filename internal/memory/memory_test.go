package memory

import "testing"

func TestParse(t *testing.T) {
	if got := parseMemTotal([]byte("MemTotal:       16000000 kB\nMemFree: 1 kB\n")); got != 16000000*1024/2 {
		t.Errorf("parseMemTotal: %d", got)
	}
	if got := parseMemTotal([]byte("nonsense")); got != Fallback {
		t.Errorf("parseMemTotal(nonsense): %d", got)
	}
	if Default() <= 0 {
		t.Error("Default <= 0")
	}
	for s, want := range map[string]int64{"1024": 1024, "2G": 2 << 30, "512MiB": 512 << 20, "3KB": 3072} {
		if got, err := ParseSize(s); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "-1", "0", "x", "1Q", "99999999999T"} {
		if _, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) accepted", s)
		}
	}
	if _, ok := Bytes(1<<62, 4); ok {
		t.Error("Bytes overflow not detected")
	}
}

package exec

import (
	"testing"

	"github.com/kconv/kconv/ir"
)

// TestArenaLayout checks the arena plan of the block CNN and of the
// DenseNet-style one (whose concatenations are views: see concat.go) at
// several batch sizes: buffers live at the same time never share memory,
// every buffer fits in the arena, and the arena is no larger than all
// buffers side by side and no smaller than the most bytes live at any one
// step; every view lies inside its root's buffer, which is live at every
// step that reads or writes the view.
func TestArenaLayout(t *testing.T) {
	for _, m := range []*ir.Model{blocksCNN(t), denseNetCNN(t, ir.ChannelsFirst), denseNetCNN(t, ir.ChannelsLast)} {
		for _, opts := range []Options{{}, {NoFuse: true}, {KeepAll: true}} {
			arenaLayoutCheck(t, m, opts)
		}
	}
}

func arenaLayoutCheck(t *testing.T, m *ir.Model, opts Options) {
	t.Helper()
	{
		p, err := Compile(m, opts)
		if err != nil {
			t.Fatal(err)
		}
		checkViews(t, p)
		for _, batch := range []int{1, 3, 64} {
			l, err := p.layout(batch)
			if err != nil {
				t.Fatal(err)
			}
			sum := 0
			for b := range l.sizes {
				sum += l.sizes[b]
				if l.offsets[b] < 0 || l.offsets[b]+l.sizes[b] > l.total {
					t.Fatalf("batch %d: buffer %d at [%d, %d) outside the arena of %d", batch, b, l.offsets[b], l.offsets[b]+l.sizes[b], l.total)
				}
				for q := range b {
					live := p.lives[q][0] <= p.lives[b][1] && p.lives[b][0] <= p.lives[q][1]
					apart := l.offsets[q]+l.sizes[q] <= l.offsets[b] || l.offsets[b]+l.sizes[b] <= l.offsets[q]
					if live && !apart {
						t.Fatalf("batch %d: buffers %d and %d are live together (steps %v, %v) and overlap", batch, q, b, p.lives[q], p.lives[b])
					}
				}
			}
			peak := 0
			for i := -1; i <= len(p.steps); i++ {
				live := 0
				for b, lv := range p.lives {
					if lv[0] <= i && i <= lv[1] {
						live += l.sizes[b]
					}
				}
				peak = max(peak, live)
			}
			if l.total > sum || l.total < peak {
				t.Errorf("batch %d: arena %d floats, want between the peak live %d and the sum %d", batch, l.total, peak, sum)
			}
			if a, _ := p.ArenaBytes(batch); a != 4*int64(l.total) {
				t.Errorf("batch %d: ArenaBytes %d, layout %d floats", batch, a, l.total)
			}
		}
	}
}

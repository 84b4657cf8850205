package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/kconv/kconv/exec/internal/par"
)

var (
	tanhAct = Activation{Kind: ActTanh}
	sigAct  = Activation{Kind: ActSigmoid}
	hsig2   = Activation{Kind: ActHardSigmoid, Alpha: 0.2, Beta: 0.5} // Keras 1/2
	hsig3   = Activation{Kind: ActHardSigmoid, Alpha: 1.0 / 6, Beta: 0.5}
)

func rnnRand(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * 0.7)
	}
	return s
}

func rnnWeights(r *rand.Rand, p RNNParams, bias bool) RNNWeights {
	g := p.Cell.Gates()
	w := RNNWeights{Kernel: rnnRand(r, p.In*g*p.U), Recurrent: rnnRand(r, p.U*g*p.U)}
	if bias {
		nb := g * p.U
		if p.Cell == CellGRU && p.ResetAfter {
			nb *= 2
		}
		w.Bias = rnnRand(r, nb)
	}
	return w
}

func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// TestRNNTable checks RNN and BiRNN against their references over cells,
// GRU variants, directions, output modes, masks and bias.
func TestRNNTable(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, cell := range []RNNCell{CellSimple, CellLSTM, CellGRU} {
		for _, resetAfter := range []bool{false, true} {
			if resetAfter && cell != CellGRU {
				continue
			}
			for _, back := range []bool{false, true} {
				for _, seq := range []bool{false, true} {
					for _, masked := range []bool{false, true} {
						for _, bias := range []bool{true, false} {
							for _, states := range []bool{false, true} {
								p := RNNParams{Cell: cell, N: 3, T: 5, In: 4, U: 6, Act: tanhAct, RecAct: hsig2,
									ResetAfter: resetAfter, Backwards: back, Sequences: seq}
								if cell == CellGRU {
									p.RecAct = sigAct
								}
								name := fmt.Sprintf("cell%d_ra%v_back%v_seq%v_mask%v_bias%v_states%v", cell, resetAfter, back, seq, masked, bias, states)
								x := rnnRand(r, p.N*p.T*p.In)
								w := rnnWeights(r, p, bias)
								var mask []float32
								if masked {
									mask = make([]float32, p.N*p.T)
									for i := range mask {
										if r.Intn(3) > 0 {
											mask[i] = 1
										}
									}
								}
								want := make([]float32, p.outRows()*p.U)
								got := make([]float32, len(want))
								var wst, gst *RNNState
								if states {
									wst, gst = rnnStates(r, p), rnnStates(r, p)
									gst.H0, gst.C0 = wst.H0, wst.C0
								}
								RNNRef(p, x, w, wst, mask, want, p.U)
								RNN(p, x, w, gst, mask, got, p.U, &Workspace{})
								if d := maxDiff(got, want); d > 1e-5 {
									t.Errorf("%s: max diff %g", name, d)
								}
								if states {
									if d := max(maxDiff(gst.H, wst.H), maxDiff(gst.C, wst.C)); d > 1e-5 {
										t.Errorf("%s: final states: max diff %g", name, d)
									}
									if !seq {
										// The last output is the final h.
										if d := maxDiff(got, gst.H); d != 0 {
											t.Errorf("%s: last output differs from final h by %g", name, d)
										}
									}
								}
								if back {
									continue
								}
								bw := rnnWeights(r, p, bias)
								for _, merge := range []BiMerge{BiConcat, BiSum, BiMul, BiAve} {
									u := p.U
									if merge == BiConcat {
										u *= 2
									}
									want := make([]float32, p.outRows()*u)
									got := make([]float32, len(want))
									var wf, wb, gf, gb *RNNState
									if states {
										wf, wb, gf, gb = rnnStates(r, p), rnnStates(r, p), rnnStates(r, p), rnnStates(r, p)
										gf.H0, gf.C0, gb.H0, gb.C0 = wf.H0, wf.C0, wb.H0, wb.C0
									}
									BiRNNRef(p, x, w, bw, wf, wb, merge, mask, want)
									BiRNN(p, x, w, bw, gf, gb, merge, mask, got, &Workspace{})
									if d := maxDiff(got, want); d > 1e-5 {
										t.Errorf("%s bi merge %d: max diff %g", name, merge, d)
									}
									if states {
										if d := max(maxDiff(gf.H, wf.H), maxDiff(gf.C, wf.C), maxDiff(gb.H, wb.H), maxDiff(gb.C, wb.C)); d > 1e-5 {
											t.Errorf("%s bi merge %d: final states: max diff %g", name, merge, d)
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestRNNHandStates checks initial and final states against one-unit
// cases computed here from Keras's LSTM and GRU (reset_after) equations:
// the recurrence starts from h0 (and c0) and the final states are the
// last h (and c).
func TestRNNHandStates(t *testing.T) {
	x := []float32{1, -2, 0.5}
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	h0, c0 := 0.3, -0.7
	// LSTM gates i, f, c, o; sigmoid recurrent activation.
	lstm := func() (hs []float64, h, c float64) {
		h, c = h0, c0
		for _, v := range x {
			xv := float64(v)
			i := sig(0.3*xv + 0.2*h + 0.01)
			f := sig(-0.4*xv + 0.5*h + 1)
			cc := math.Tanh(0.8*xv - 0.6*h - 0.2)
			o := sig(1.1*xv + 0.7*h + 0.05)
			c = f*c + i*cc
			h = o * math.Tanh(c)
			hs = append(hs, h)
		}
		return hs, h, c
	}
	// GRU gates z, r, h, reset after: input bias then recurrent bias.
	gru := func() (hs []float64, h, c float64) {
		h = h0
		for _, v := range x {
			xv := float64(v)
			z := sig(0.3*xv + 0.1 + 0.2*h + 0.02)
			r := sig(-0.4*xv - 0.1 + 0.5*h + 0.03)
			hh := math.Tanh(0.8*xv + 0.05 + r*(-0.6*h+0.04))
			h = z*h + (1-z)*hh
			hs = append(hs, h)
		}
		return hs, h, 0
	}
	for _, c := range []struct {
		name string
		p    RNNParams
		w    RNNWeights
		want func() ([]float64, float64, float64)
	}{
		{"lstm", RNNParams{Cell: CellLSTM, Act: tanhAct, RecAct: sigAct},
			RNNWeights{Kernel: []float32{0.3, -0.4, 0.8, 1.1}, Recurrent: []float32{0.2, 0.5, -0.6, 0.7}, Bias: []float32{0.01, 1, -0.2, 0.05}}, lstm},
		{"gru_reset_after", RNNParams{Cell: CellGRU, Act: tanhAct, RecAct: sigAct, ResetAfter: true},
			RNNWeights{Kernel: []float32{0.3, -0.4, 0.8}, Recurrent: []float32{0.2, 0.5, -0.6}, Bias: []float32{0.1, -0.1, 0.05, 0.02, 0.03, 0.04}}, gru},
	} {
		p := c.p
		p.N, p.T, p.In, p.U, p.Sequences = 1, len(x), 1, 1, true
		hs, h, cc := c.want()
		for _, ref := range []bool{false, true} {
			st := &RNNState{H0: []float32{float32(h0)}, H: make([]float32, 1)}
			if p.Cell == CellLSTM {
				st.C0, st.C = []float32{float32(c0)}, make([]float32, 1)
			}
			y := make([]float32, len(x))
			if ref {
				RNNRef(p, x, c.w, st, nil, y, 1)
			} else {
				RNN(p, x, c.w, st, nil, y, 1, &Workspace{})
			}
			for i := range hs {
				if math.Abs(float64(y[i])-hs[i]) > 1e-6 {
					t.Errorf("%s ref=%v: step %d: %v, want %v", c.name, ref, i, y[i], hs[i])
				}
			}
			if math.Abs(float64(st.H[0])-h) > 1e-6 {
				t.Errorf("%s ref=%v: final h %v, want %v", c.name, ref, st.H[0], h)
			}
			if p.Cell == CellLSTM && math.Abs(float64(st.C[0])-cc) > 1e-6 {
				t.Errorf("%s ref=%v: final c %v, want %v", c.name, ref, st.C[0], cc)
			}
		}
	}
}

// rnnStates returns random initial states and zeroed final ones for p.
func rnnStates(r *rand.Rand, p RNNParams) *RNNState {
	st := &RNNState{H0: rnnRand(r, p.N*p.U), H: make([]float32, p.N*p.U)}
	if p.Cell == CellLSTM {
		st.C0, st.C = rnnRand(r, p.N*p.U), make([]float32, p.N*p.U)
	}
	return st
}

// TestRNNHand checks both implementations against one-unit cases
// computed here directly from Keras's documented cell equations.
func TestRNNHand(t *testing.T) {
	x := []float32{1, -2, 0.5}
	hs2 := func(v float64) float64 { return math.Max(0, math.Min(1, 0.2*v+0.5)) }
	hs3 := func(v float64) float64 { return math.Max(0, math.Min(1, v/6+0.5)) }
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	type tc struct {
		name string
		p    RNNParams
		w    RNNWeights
		want func() []float64
	}
	cases := []tc{
		{"simple_rnn", RNNParams{Cell: CellSimple, Act: tanhAct, Sequences: true},
			RNNWeights{Kernel: []float32{0.5}, Recurrent: []float32{0.25}, Bias: []float32{0.1}},
			func() []float64 {
				var h float64
				var out []float64
				for _, v := range x {
					h = math.Tanh(0.5*float64(v) + 0.25*h + 0.1)
					out = append(out, h)
				}
				return out
			}},
		// LSTM gates i, f, c, o; Keras 2 hard_sigmoid.
		{"lstm_hard_sigmoid", RNNParams{Cell: CellLSTM, Act: tanhAct, RecAct: hsig2},
			RNNWeights{Kernel: []float32{0.3, -0.4, 0.8, 1.1}, Recurrent: []float32{0.2, 0.5, -0.6, 0.7}, Bias: []float32{0.01, 1, -0.2, 0.05}},
			func() []float64 {
				var h, c float64
				for _, v := range x {
					xv := float64(v)
					i := hs2(0.3*xv + 0.2*h + 0.01)
					f := hs2(-0.4*xv + 0.5*h + 1)
					cc := math.Tanh(0.8*xv - 0.6*h - 0.2)
					o := hs2(1.1*xv + 0.7*h + 0.05)
					c = f*c + i*cc
					h = o * math.Tanh(c)
				}
				return []float64{h}
			}},
		{"lstm_keras3_hard_sigmoid_backwards", RNNParams{Cell: CellLSTM, Act: tanhAct, RecAct: hsig3, Backwards: true},
			RNNWeights{Kernel: []float32{0.3, -0.4, 0.8, 1.1}, Recurrent: []float32{0.2, 0.5, -0.6, 0.7}, Bias: []float32{0.01, 1, -0.2, 0.05}},
			func() []float64 {
				var h, c float64
				for k := len(x) - 1; k >= 0; k-- {
					xv := float64(x[k])
					i := hs3(0.3*xv + 0.2*h + 0.01)
					f := hs3(-0.4*xv + 0.5*h + 1)
					cc := math.Tanh(0.8*xv - 0.6*h - 0.2)
					o := hs3(1.1*xv + 0.7*h + 0.05)
					c = f*c + i*cc
					h = o * math.Tanh(c)
				}
				return []float64{h}
			}},
		// GRU gates z, r, h; reset before the recurrent matmul (Keras 2).
		{"gru_reset_before", RNNParams{Cell: CellGRU, Act: tanhAct, RecAct: sigAct},
			RNNWeights{Kernel: []float32{0.6, -0.3, 0.9}, Recurrent: []float32{0.4, 0.2, -0.7}, Bias: []float32{0.1, -0.1, 0.2}},
			func() []float64 {
				var h float64
				for _, v := range x {
					xv := float64(v)
					z := sig(0.6*xv + 0.4*h + 0.1)
					r := sig(-0.3*xv + 0.2*h - 0.1)
					hh := math.Tanh(0.9*xv + 0.2 + (r*h)*-0.7)
					h = z*h + (1-z)*hh
				}
				return []float64{h}
			}},
		// reset_after: bias (2, 3): input bias, recurrent bias.
		{"gru_reset_after", RNNParams{Cell: CellGRU, Act: tanhAct, RecAct: sigAct, ResetAfter: true},
			RNNWeights{Kernel: []float32{0.6, -0.3, 0.9}, Recurrent: []float32{0.4, 0.2, -0.7}, Bias: []float32{0.1, -0.1, 0.2, 0.05, 0.3, -0.4}},
			func() []float64 {
				var h float64
				for _, v := range x {
					xv := float64(v)
					z := sig(0.6*xv + 0.1 + 0.4*h + 0.05)
					r := sig(-0.3*xv - 0.1 + 0.2*h + 0.3)
					hh := math.Tanh(0.9*xv + 0.2 + r*(-0.7*h-0.4))
					h = z*h + (1-z)*hh
				}
				return []float64{h}
			}},
	}
	for _, c := range cases {
		p := c.p
		p.N, p.T, p.In, p.U = 1, len(x), 1, 1
		want := c.want()
		for _, impl := range []string{"fast", "ref"} {
			got := make([]float32, len(want))
			if impl == "fast" {
				RNN(p, x, c.w, nil, nil, got, 1, nil)
			} else {
				RNNRef(p, x, c.w, nil, nil, got, 1)
			}
			for i := range want {
				if math.Abs(float64(got[i])-want[i]) > 1e-6 {
					t.Errorf("%s %s: output %d = %v, want %v", c.name, impl, i, got[i], want[i])
				}
			}
		}
	}
}

// TestRNNMaskHand: a masked step keeps the state and repeats the output.
func TestRNNMaskHand(t *testing.T) {
	p := RNNParams{Cell: CellSimple, N: 1, T: 3, In: 1, U: 1, Act: tanhAct, Sequences: true}
	w := RNNWeights{Kernel: []float32{1}, Recurrent: []float32{0.5}}
	got := make([]float32, 3)
	RNN(p, []float32{0.5, 9, -1}, w, nil, []float32{1, 0, 1}, got, 1, nil)
	h1 := math.Tanh(0.5)
	h3 := math.Tanh(-1 + 0.5*h1)
	for i, want := range []float64{h1, h1, h3} {
		if math.Abs(float64(got[i])-want) > 1e-6 {
			t.Errorf("step %d: %v, want %v", i, got[i], want)
		}
	}
}

// BenchmarkLSTM: a text-sized LSTM layer (batch 32, 100 steps, 128
// features, 256 units, last output).
func BenchmarkLSTM(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	p := RNNParams{Cell: CellLSTM, N: 32, T: 100, In: 128, U: 256, Act: tanhAct, RecAct: sigAct}
	x := rnnRand(r, p.N*p.T*p.In)
	w := rnnWeights(r, p, true)
	y := make([]float32, p.N*p.U)
	ws := &Workspace{Pool: par.New(2)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		RNN(p, x, w, nil, nil, y, p.U, ws)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/op")
}

// TestRNNONNXOptions checks RNN and BiRNN against their references with
// ONNX's cell options (clip, an LSTM's peepholes, input_forget and
// output activation) over cells, directions, masks and states.
func TestRNNONNXOptions(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	relu := Activation{Kind: ActReLU}
	type opts struct {
		name        string
		clip        float32
		peep        bool
		inputForget bool
		outAct      *Activation
		back        bool // different backward activations
	}
	variants := []opts{
		{name: "clip", clip: 0.4},
		{name: "peep", peep: true},
		{name: "peep_forget_clip", peep: true, inputForget: true, clip: 0.7},
		{name: "out_relu", outAct: &relu},
		{name: "all", peep: true, inputForget: true, clip: 0.5, outAct: &relu},
		{name: "back_acts", back: true},
	}
	for _, cell := range []RNNCell{CellSimple, CellLSTM, CellGRU} {
		for _, v := range variants {
			if cell != CellLSTM && v.name != "clip" && !v.back {
				continue // only clip and backward activations apply to RNN and GRU
			}
			for _, resetAfter := range []bool{false, true} {
				if resetAfter && cell != CellGRU {
					continue
				}
				for _, back := range []bool{false, true} {
					for _, masked := range []bool{false, true} {
						for _, states := range []bool{false, true} {
							p := RNNParams{Cell: cell, N: 3, T: 4, In: 3, U: 5, Act: tanhAct, RecAct: sigAct, ResetAfter: resetAfter,
								Backwards: back, Sequences: true, Clip: v.clip, InputForget: v.inputForget, OutAct: v.outAct}
							name := fmt.Sprintf("cell%d_%s_ra%v_back%v_mask%v_states%v", cell, v.name, resetAfter, back, masked, states)
							x := rnnRand(r, p.N*p.T*p.In)
							w := rnnWeights(r, p, true)
							if v.peep {
								w.Peephole = rnnRand(r, 3*p.U)
							}
							var mask []float32
							if masked {
								mask = make([]float32, p.N*p.T)
								for i := range mask {
									mask[i] = float32(r.Intn(2))
								}
							}
							want := make([]float32, p.outRows()*p.U)
							got := make([]float32, len(want))
							var wst, gst *RNNState
							if states {
								wst, gst = rnnStates(r, p), rnnStates(r, p)
								gst.H0, gst.C0 = wst.H0, wst.C0
							}
							RNNRef(p, x, w, wst, mask, want, p.U)
							RNN(p, x, w, gst, mask, got, p.U, &Workspace{})
							if d := maxDiff(got, want); d > 1e-5 {
								t.Errorf("%s: max diff %g", name, d)
							}
							if states {
								if d := max(maxDiff(gst.H, wst.H), maxDiff(gst.C, wst.C)); d > 1e-5 {
									t.Errorf("%s: final states: max diff %g", name, d)
								}
							}
							if back {
								continue
							}
							if v.back {
								p.BackActs = &RNNActs{Act: Activation{Kind: ActSoftsign}, RecAct: hsig2}
								if cell == CellLSTM {
									p.BackActs.OutAct = &relu
								}
							}
							bw := rnnWeights(r, p, true)
							bw.Peephole = w.Peephole
							want = make([]float32, p.outRows()*2*p.U)
							got = make([]float32, len(want))
							BiRNNRef(p, x, w, bw, nil, nil, BiConcat, mask, want)
							BiRNN(p, x, w, bw, nil, nil, BiConcat, mask, got, &Workspace{})
							if d := maxDiff(got, want); d > 1e-5 {
								t.Errorf("%s bidirectional: max diff %g", name, d)
							}
						}
					}
				}
			}
		}
	}
}

// TestRNNONNXOptionsHand checks a one-unit, one-step LSTM with ONNX's
// peepholes, clip and input_forget against ONNX's equations written out
// here: i = σ(clip(x·Wi + h·Ri + Pi·c + bi)), f = 1 − i, g = tanh(clip(…)),
// c' = f·c + i·g, o = σ(clip(x·Wo + h·Ro + Po·c' + bo)), h' = o·tanh(c').
func TestRNNONNXOptionsHand(t *testing.T) {
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	clip := func(v float64) float64 { return math.Max(-0.8, math.Min(0.8, v)) }
	x, h0, c0 := 1.5, 0.3, -0.6
	// Keras gate order i, f, c, o.
	kw := []float64{0.9, 0.2, -0.7, 0.4}
	rw := []float64{-0.5, 0.1, 0.6, 0.3}
	b := []float64{0.05, -0.2, 0.1, 0.2}
	pe := []float64{0.7, 0.9, -1.1} // i, f, o
	i := sig(clip(x*kw[0] + h0*rw[0] + pe[0]*c0 + b[0]))
	f := 1 - i
	g := math.Tanh(clip(x*kw[2] + h0*rw[2] + b[2]))
	c1 := f*c0 + i*g
	o := sig(clip(x*kw[3] + h0*rw[3] + pe[2]*c1 + b[3]))
	h1 := o * math.Tanh(c1)
	f32 := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for k, e := range v {
			out[k] = float32(e)
		}
		return out
	}
	p := RNNParams{Cell: CellLSTM, N: 1, T: 1, In: 1, U: 1, Act: tanhAct, RecAct: sigAct, Clip: 0.8, InputForget: true}
	w := RNNWeights{Kernel: f32(kw), Recurrent: f32(rw), Bias: f32(b), Peephole: f32(pe)}
	for _, run := range []string{"RNN", "RNNRef"} {
		y := make([]float32, 1)
		st := &RNNState{H0: []float32{float32(h0)}, C0: []float32{float32(c0)}, H: make([]float32, 1), C: make([]float32, 1)}
		if run == "RNN" {
			RNN(p, f32([]float64{x}), w, st, nil, y, 1, &Workspace{})
		} else {
			RNNRef(p, f32([]float64{x}), w, st, nil, y, 1)
		}
		if math.Abs(float64(y[0])-h1) > 1e-6 || math.Abs(float64(st.C[0])-c1) > 1e-6 {
			t.Errorf("%s: h %v c %v, want %v %v", run, y[0], st.C[0], h1, c1)
		}
	}
}

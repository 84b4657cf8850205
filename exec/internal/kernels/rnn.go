package kernels

import (
	"fmt"
	"math"

	"github.com/kconv/kconv/exec/internal/gemm"
)

// RNNCell selects a recurrent cell.
type RNNCell uint8

// Recurrent cells, with Keras 2's gate order in their weights.
const (
	CellSimple RNNCell = iota // h = act(x·W + h·U + b)
	CellLSTM                  // gates i, f, c, o
	CellGRU                   // gates z, r, h
)

// Gates returns the number of gate blocks of a cell's weights.
func (c RNNCell) Gates() int {
	switch c {
	case CellLSTM:
		return 4
	case CellGRU:
		return 3
	}
	return 1
}

// RNNParams describes one recurrent layer run over a batch.
type RNNParams struct {
	Cell           RNNCell
	N, T, In, U    int // batch, steps, input features, units
	Act, RecAct    Activation
	ResetAfter     bool // GRU: bias (2, 3U), reset gate applied to h·U + recurrent bias
	Backwards      bool // read the steps last to first (Keras go_backwards)
	Sequences      bool // output every step (N, T, U) instead of the last (N, U)
	ReverseOutputs bool // with Sequences and Backwards: output step t at position t (Bidirectional's backward half)
	// ONNX's cell options (zero values: Keras's cell). Clip > 0 bounds
	// every gate's and the candidate's pre-activation to [-Clip, Clip];
	// InputForget (LSTM) sets f = 1 − i; OutAct (LSTM, nil: Act) is the
	// activation of c in h = o∘OutAct(c).
	Clip        float32
	InputForget bool
	OutAct      *Activation
	// BackActs, for BiRNN (nil: the forward direction's), are the
	// backward direction's Act, RecAct and OutAct.
	BackActs *RNNActs
}

// RNNActs are one direction's activations (OutAct nil: Act).
type RNNActs struct {
	Act, RecAct Activation
	OutAct      *Activation
}

// backward returns the parameters of BiRNN's backward direction.
func (p RNNParams) backward() RNNParams {
	q := p
	q.Backwards, q.ReverseOutputs = true, true
	if b := p.BackActs; b != nil {
		q.Act, q.RecAct, q.OutAct = b.Act, b.RecAct, b.OutAct
	}
	q.BackActs = nil
	return q
}

// outAct is the activation of an LSTM's cell state in its output.
func (p RNNParams) outAct() Activation {
	if p.OutAct != nil {
		return *p.OutAct
	}
	return p.Act
}

// clipTo bounds v to [-c, c] when c > 0 (NaN stays NaN).
func clipTo(v []float32, c float32) {
	if c <= 0 {
		return
	}
	for i, x := range v {
		if x > c {
			v[i] = c
		} else if x < -c {
			v[i] = -c
		}
	}
}

// RNNWeights are one direction's weights in Keras 2 layout: Kernel (In,
// G·U), Recurrent (U, G·U), Bias (G·U, or 2·3U for a reset-after GRU;
// nil: none), and an LSTM's Peephole (3U: i, f, o; nil: none), ONNX's P:
// i and f add Peephole∘c of the previous cell state to their
// pre-activations, o of the new one.
type RNNWeights struct{ Kernel, Recurrent, Bias, Peephole []float32 }

// RNNState is one direction's initial and final states, each (N, U): H0
// and C0 (LSTM) start the recurrence (nil: zeros), H and C (LSTM) receive
// the state after the last step (nil: not wanted). A nil *RNNState is all
// nil.
type RNNState struct{ H0, C0, H, C []float32 }

func (st *RNNState) check(p RNNParams) {
	if st == nil {
		return
	}
	for _, b := range []struct {
		what string
		v    []float32
	}{{"initial h", st.H0}, {"initial c", st.C0}, {"final h", st.H}, {"final c", st.C}} {
		if b.v != nil {
			convCheckLen("recurrent "+b.what, b.v, p.N*p.U)
		}
	}
	if p.Cell != CellLSTM && (st.C0 != nil || st.C != nil) {
		panic("kernels: a cell state for a cell without one")
	}
}

// start sets h and c to the initial states.
func (st *RNNState) start(h, c []float32) {
	clear(h)
	clear(c)
	if st == nil {
		return
	}
	if st.H0 != nil {
		copy(h, st.H0)
	}
	if st.C0 != nil {
		copy(c, st.C0)
	}
}

// end copies the final states out.
func (st *RNNState) end(h, c []float32) {
	if st == nil {
		return
	}
	if st.H != nil {
		copy(st.H, h)
	}
	if st.C != nil {
		copy(st.C, c)
	}
}

func (p RNNParams) check(x []float32, w RNNWeights, mask, y []float32, ystride int) {
	if p.N < 0 || p.T < 0 || p.In < 1 || p.U < 1 {
		panic("kernels: bad recurrent sizes")
	}
	g := p.Cell.Gates()
	convCheckLen("recurrent input", x, p.N*p.T*p.In)
	convCheckLen("recurrent kernel", w.Kernel, p.In*g*p.U)
	convCheckLen("recurrent recurrent_kernel", w.Recurrent, p.U*g*p.U)
	if w.Bias != nil {
		nb := g * p.U
		if p.Cell == CellGRU && p.ResetAfter {
			nb *= 2
		}
		convCheckLen("recurrent bias", w.Bias, nb)
	}
	if w.Peephole != nil {
		if p.Cell != CellLSTM {
			panic("kernels: peepholes for a cell other than an LSTM")
		}
		convCheckLen("recurrent peephole", w.Peephole, 3*p.U)
	}
	if (p.InputForget || p.OutAct != nil || p.BackActs != nil && p.BackActs.OutAct != nil) && p.Cell != CellLSTM {
		panic("kernels: input_forget or an output activation for a cell other than an LSTM")
	}
	if mask != nil {
		convCheckLen("recurrent mask", mask, p.N*p.T)
	}
	if ystride < p.U || len(y) < (p.outRows()-1)*ystride+p.U {
		panic(fmt.Sprintf("kernels: recurrent output has %d elements, want %d rows %d apart", len(y), p.outRows(), ystride))
	}
}

func (p RNNParams) outRows() int {
	if p.Sequences {
		return p.N * p.T
	}
	return p.N
}

// rnnScratch is the number of floats RNN takes from the workspace.
func (p RNNParams) rnnScratch() int {
	g := p.Cell.Gates()
	return p.N*p.T*g*p.U + p.N*g*p.U + 3*p.N*p.U
}

// RNN runs a recurrent layer: y gets (N, T, U) (Sequences) or (N, U),
// rows ystride apart starting at y[0] (ystride U for a plain layer, 2U for
// one half of a concatenated Bidirectional). mask (N×T of 0/1, nil: none)
// marks steps to skip: a masked step keeps the state and outputs the
// previous output, as Keras's RNN does. st (nil: none) gives initial
// states and takes the final ones. The input projection x·W of every
// step is one GEMM; each step adds h·U (one GEMM over the batch) and
// applies the gates. Scratch comes from ws.
func RNN(p RNNParams, x []float32, w RNNWeights, st *RNNState, mask []float32, y []float32, ystride int, ws *Workspace) {
	p.check(x, w, mask, y, ystride)
	st.check(p)
	if p.N == 0 {
		return
	}
	rnnRun(p, x, w, st, mask, y, ystride, ws.Get(p.rnnScratch()), ws)
}

// BiMerge is how BiRNN combines its directions.
type BiMerge uint8

// Bidirectional merge modes (Keras merge_mode).
const (
	BiConcat BiMerge = iota
	BiSum
	BiMul
	BiAve
)

// BiRNN runs a Bidirectional layer: the forward layer over p, the
// backward one reading the steps last to first (its sequence outputs put
// back in step order), merged into y ((N, [T,] 2U) for BiConcat, else
// (N, [T,] U)). fst and bst are the directions' states (nil: none).
func BiRNN(p RNNParams, x []float32, fw, bw RNNWeights, fst, bst *RNNState, merge BiMerge, mask []float32, y []float32, ws *Workspace) {
	if p.Backwards {
		panic("kernels: BiRNN of a backwards layer")
	}
	fst.check(p)
	bst.check(p)
	if p.N == 0 {
		return
	}
	q := p.backward()
	rows := p.outRows()
	if merge == BiConcat {
		p.check(x, fw, mask, y, 2*p.U)
		q.check(x, bw, mask, y[p.U:], 2*p.U)
		buf := ws.Get(p.rnnScratch())
		rnnRun(p, x, fw, fst, mask, y, 2*p.U, buf, ws)
		rnnRun(q, x, bw, bst, mask, y[p.U:], 2*p.U, buf, ws)
		return
	}
	p.check(x, fw, mask, y, p.U)
	q.check(x, bw, mask, y, p.U)
	all := ws.Get(rows*p.U + p.rnnScratch())
	back, buf := all[:rows*p.U], all[rows*p.U:]
	rnnRun(p, x, fw, fst, mask, y, p.U, buf, ws)
	rnnRun(q, x, bw, bst, mask, back, p.U, buf, ws)
	biMerge(merge, y[:rows*p.U], back)
}

func biMerge(merge BiMerge, y, back []float32) {
	for i, b := range back {
		switch merge {
		case BiSum:
			y[i] += b
		case BiMul:
			y[i] *= b
		case BiAve:
			y[i] = (y[i] + b) / 2
		}
	}
}

// BiRNNRef is the reference of BiRNN, built on RNNRef.
func BiRNNRef(p RNNParams, x []float32, fw, bw RNNWeights, fst, bst *RNNState, merge BiMerge, mask []float32, y []float32) {
	q := p.backward()
	rows := p.outRows()
	if merge == BiConcat {
		RNNRef(p, x, fw, fst, mask, y, 2*p.U)
		RNNRef(q, x, bw, bst, mask, y[p.U:], 2*p.U)
		return
	}
	back := make([]float32, rows*p.U)
	RNNRef(p, x, fw, fst, mask, y, p.U)
	RNNRef(q, x, bw, bst, mask, back, p.U)
	biMerge(merge, y[:rows*p.U], back)
}

// rnnRun is RNN with its scratch (p.rnnScratch() floats) given.
func rnnRun(p RNNParams, x []float32, w RNNWeights, st *RNNState, mask []float32, y []float32, ystride int, buf []float32, ws *Workspace) {
	g := p.Cell.Gates()
	gu := g * p.U
	xw := buf[:p.N*p.T*gu]
	hu := buf[len(xw) : len(xw)+p.N*gu]
	rest := buf[len(xw)+len(hu):]
	h, c, tmp := rest[:p.N*p.U], rest[p.N*p.U:2*p.N*p.U], rest[2*p.N*p.U:3*p.N*p.U]
	st.start(h, c)
	// xw = x·W + input bias.
	var beta float32
	if w.Bias != nil {
		for r := 0; r < p.N*p.T; r++ {
			copy(xw[r*gu:(r+1)*gu], w.Bias[:gu])
		}
		beta = 1
	}
	gemm.Sgemm(ws.Par(), false, false, p.N*p.T, gu, p.In, 1, x, p.In, w.Kernel, gu, beta, xw, gu)
	var rbias []float32
	if p.Cell == CellGRU && p.ResetAfter && w.Bias != nil {
		rbias = w.Bias[gu:]
	}
	for s := 0; s < p.T; s++ {
		t := s
		if p.Backwards {
			t = p.T - 1 - s
		}
		// hu = h·U (+ recurrent bias); a GRU without reset_after
		// multiplies only the z and r blocks here.
		cols := gu
		if p.Cell == CellGRU && !p.ResetAfter {
			cols = 2 * p.U
		}
		beta = 0
		if rbias != nil {
			for n := 0; n < p.N; n++ {
				copy(hu[n*gu:(n+1)*gu], rbias)
			}
			beta = 1
		}
		gemm.Sgemm(ws.Par(), false, false, p.N, cols, p.U, 1, h, p.U, w.Recurrent, gu, beta, hu, gu)
		for n := 0; n < p.N; n++ {
			hn, cn := h[n*p.U:(n+1)*p.U], c[n*p.U:(n+1)*p.U]
			if mask == nil || mask[n*p.T+t] != 0 {
				xr := xw[(n*p.T+t)*gu : (n*p.T+t+1)*gu]
				hr := hu[n*gu : (n+1)*gu]
				rnnCellStep(p, xr, hr, hn, cn, tmp[n*p.U:(n+1)*p.U], w.Recurrent, w.Peephole, gu)
			}
			row := n
			if p.Sequences {
				pos := s
				if p.Backwards && p.ReverseOutputs {
					pos = t
				}
				row = n*p.T + pos
			} else if s != p.T-1 {
				continue
			}
			copy(y[row*ystride:row*ystride+p.U], hn)
		}
	}
	st.end(h, c)
}

// rnnCellStep updates one sample's state h (and c) from its input
// projection xr and recurrent projection hr.
func rnnCellStep(p RNNParams, xr, hr, h, c, tmp, rec, peep []float32, gu int) {
	u := p.U
	switch p.Cell {
	case CellSimple:
		for j := 0; j < u; j++ {
			h[j] = xr[j] + hr[j]
		}
		clipTo(h, p.Clip)
		p.Act.Apply(h)
	case CellLSTM:
		for j := 0; j < 4*u; j++ {
			xr[j] += hr[j] // xr is this step's own row: free to overwrite
		}
		i, f, cc, o := xr[:u], xr[u:2*u], xr[2*u:3*u], xr[3*u:]
		if peep != nil {
			for j := 0; j < u; j++ {
				i[j] += peep[j] * c[j]
				f[j] += peep[u+j] * c[j]
			}
		}
		clipTo(xr[:3*u], p.Clip)
		p.RecAct.Apply(i)
		if p.InputForget {
			for j := 0; j < u; j++ {
				f[j] = 1 - i[j]
			}
		} else {
			p.RecAct.Apply(f)
		}
		p.Act.Apply(cc)
		for j := 0; j < u; j++ {
			c[j] = f[j]*c[j] + i[j]*cc[j]
			tmp[j] = c[j]
		}
		if peep != nil {
			for j := 0; j < u; j++ {
				o[j] += peep[2*u+j] * c[j]
			}
		}
		clipTo(o, p.Clip)
		p.RecAct.Apply(o)
		p.outAct().Apply(tmp)
		for j := 0; j < u; j++ {
			h[j] = o[j] * tmp[j]
		}
	case CellGRU:
		z, r, hh := xr[:u], xr[u:2*u], xr[2*u:]
		for j := 0; j < 2*u; j++ {
			xr[j] += hr[j]
		}
		clipTo(xr[:2*u], p.Clip)
		p.RecAct.Apply(z)
		p.RecAct.Apply(r)
		if p.ResetAfter {
			for j := 0; j < u; j++ {
				hh[j] += r[j] * hr[2*u+j]
			}
		} else {
			// hh += (r∘h)·U_h
			for j := 0; j < u; j++ {
				tmp[j] = r[j] * h[j]
			}
			gemm.SgemmSerial(false, false, 1, u, u, 1, tmp, u, rec[2*u:], gu, 1, hh, u)
		}
		clipTo(hh, p.Clip)
		p.Act.Apply(hh)
		for j := 0; j < u; j++ {
			h[j] = z[j]*h[j] + (1-z[j])*hh[j]
		}
	}
}

// RNNRef is the naive reference of RNN: every product written out, one
// sample and one step at a time, straight from Keras's cell equations.
func RNNRef(p RNNParams, x []float32, w RNNWeights, st *RNNState, mask []float32, y []float32, ystride int) {
	p.check(x, w, mask, y, ystride)
	st.check(p)
	g, u := p.Cell.Gates(), p.U
	gu := g * u
	bias := func(j int) float64 {
		if w.Bias == nil {
			return 0
		}
		return float64(w.Bias[j])
	}
	rbias := func(j int) float64 {
		if w.Bias == nil || !(p.Cell == CellGRU && p.ResetAfter) {
			return 0
		}
		return float64(w.Bias[gu+j])
	}
	act := func(a Activation, v float64) float64 {
		if c := float64(p.Clip); c > 0 {
			v = math.Max(-c, math.Min(c, v))
		}
		s := []float32{float32(v)}
		a.Apply(s)
		return float64(s[0])
	}
	peep := func(k, j int) float64 {
		if w.Peephole == nil {
			return 0
		}
		return float64(w.Peephole[k*u+j])
	}
	for n := 0; n < p.N; n++ {
		h := make([]float64, u)
		c := make([]float64, u)
		if st != nil && st.H0 != nil {
			for j := range h {
				h[j] = float64(st.H0[n*u+j])
			}
		}
		if st != nil && st.C0 != nil {
			for j := range c {
				c[j] = float64(st.C0[n*u+j])
			}
		}
		for s := 0; s < p.T; s++ {
			t := s
			if p.Backwards {
				t = p.T - 1 - s
			}
			xt := x[(n*p.T+t)*p.In : (n*p.T+t+1)*p.In]
			// xW(j) and hU(j) for gate column j.
			xW := func(j int) float64 {
				v := bias(j)
				for k := 0; k < p.In; k++ {
					v += float64(xt[k]) * float64(w.Kernel[k*gu+j])
				}
				return v
			}
			vU := func(v []float64, j int) float64 {
				var a float64
				for k := 0; k < u; k++ {
					a += v[k] * float64(w.Recurrent[k*gu+j])
				}
				return a
			}
			if mask == nil || mask[n*p.T+t] != 0 {
				nh := make([]float64, u)
				switch p.Cell {
				case CellSimple:
					for j := 0; j < u; j++ {
						nh[j] = act(p.Act, xW(j)+vU(h, j))
					}
				case CellLSTM:
					for j := 0; j < u; j++ {
						i := act(p.RecAct, xW(j)+vU(h, j)+peep(0, j)*c[j])
						f := 1 - i
						if !p.InputForget {
							f = act(p.RecAct, xW(u+j)+vU(h, u+j)+peep(1, j)*c[j])
						}
						cc := act(p.Act, xW(2*u+j)+vU(h, 2*u+j))
						c[j] = f*c[j] + i*cc
						o := act(p.RecAct, xW(3*u+j)+vU(h, 3*u+j)+peep(2, j)*c[j])
						// The cell state itself is not clipped.
						s := []float32{float32(c[j])}
						p.outAct().Apply(s)
						nh[j] = o * float64(s[0])
					}
				case CellGRU:
					z := make([]float64, u)
					r := make([]float64, u)
					for j := 0; j < u; j++ {
						z[j] = act(p.RecAct, xW(j)+vU(h, j)+rbias(j))
						r[j] = act(p.RecAct, xW(u+j)+vU(h, u+j)+rbias(u+j))
					}
					rh := make([]float64, u)
					for j := 0; j < u; j++ {
						rh[j] = r[j] * h[j]
					}
					for j := 0; j < u; j++ {
						var hh float64
						if p.ResetAfter {
							hh = xW(2*u+j) + r[j]*(vU(h, 2*u+j)+rbias(2*u+j))
						} else {
							hh = xW(2*u+j) + vU(rh, 2*u+j)
						}
						hh = act(p.Act, hh)
						nh[j] = z[j]*h[j] + (1-z[j])*hh
					}
				}
				h = nh
			}
			if !p.Sequences && s != p.T-1 {
				continue
			}
			row := n
			if p.Sequences {
				pos := s
				if p.Backwards && p.ReverseOutputs {
					pos = t
				}
				row = n*p.T + pos
			}
			for j := 0; j < u; j++ {
				y[row*ystride+j] = float32(h[j])
			}
		}
		for j := 0; j < u; j++ {
			if st != nil && st.H != nil {
				st.H[n*u+j] = float32(h[j])
			}
			if st != nil && st.C != nil {
				st.C[n*u+j] = float32(c[j])
			}
		}
	}
}

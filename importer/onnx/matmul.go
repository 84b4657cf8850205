package onnx

import (
	"fmt"

	"github.com/kconv/kconv/ir"
)

// Matrix products: Gemm and MatMul (ir.Dense when the right operand is a
// constant matrix, ir.MatMul otherwise).

func (c *nctx) gemm() error {
	alpha, err := c.float("alpha", 1)
	if err != nil {
		return err
	}
	beta, err := c.float("beta", 1)
	if err != nil {
		return err
	}
	ta, err := c.int("transA", 0)
	if err != nil {
		return err
	}
	tb, err := c.int("transB", 0)
	if err != nil {
		return err
	}
	a, err := c.need(0)
	if err != nil {
		return err
	}
	b, err := c.need(1)
	if err != nil {
		return err
	}
	cv := c.in(2)
	sa, sb := shapeOf(a), shapeOf(b)
	if len(sa) != 2 || len(sb) != 2 {
		return fmt.Errorf("gemm needs rank-2 A and B, got %v and %v", sa, sb)
	}
	bConst := b.c != nil && b.node == ""
	if ir.GemmIsDense(ta != 0, a.node == "", bConst, len(sb)) {
		k, n := sb[0], sb[1]
		if tb != 0 {
			k, n = sb[1], sb[0]
		}
		if sa[1] != k {
			return fmt.Errorf("gemm inner sizes differ: A %v, B %v", sa, sb)
		}
		transB := tb != 0
		var kernel *ir.Weight
		switch a := float32(alpha); {
		case transB:
			// B is (n, k): rows j0… of it are columns of the kernel.
			kernel = weight("kernel", ir.Shape{k, n}, b.c, k, func(src []float32, j0 int, dst []float32) {
				ir.GemmKernelRows(src, j0, k, n, a, true, dst)
			})
		case a != 1:
			kernel = weight("kernel", ir.Shape{k, n}, b.c, n, func(src []float32, i0 int, dst []float32) {
				ir.GemmKernelRows(src, i0, k, n, a, false, dst)
			})
		default:
			kernel = weight("kernel", ir.Shape{k, n}, b.c, 0, nil)
		}
		op := &ir.Dense{Units: n}
		ws := []*ir.Weight{kernel}
		var rest *val
		if cv != nil {
			cs := shapeOf(cv)
			vector := cv.c != nil && cv.node == "" && len(cs) <= 2 && ir.Shape(cs).Elements() == int64(n) &&
				(len(cs) == 0 || cs[len(cs)-1] == n || n == 1)
			scalar := cv.c != nil && cv.node == "" && ir.Shape(cs).Elements() == 1
			switch {
			case vector || scalar:
				ct := cv.c
				op.UseBias = true
				bias := ir.NewWeight("bias", ir.Shape{n}, ir.Float32, ct.origin, ir.SourceFunc(func(dst []float32) error {
					f, err := ct.floats()
					if err != nil {
						return err
					}
					ir.GemmBias(dst, float32(beta), f)
					return nil
				}))
				bias.Provenance = provOf(ct)
				ws = append(ws, bias)
			case beta != 0:
				rest = cv
			}
		}
		if rest == nil {
			x, _, err := c.act(0)
			if err != nil {
				return err
			}
			return c.emitOut(op, []string{x}, ws...)
		}
		x, _, err := c.act(0)
		if err != nil {
			return err
		}
		d, _, err := c.emit("dense", op, []string{x}, ws...)
		if err != nil {
			return err
		}
		cn, err := c.im.nodeOf(c.inName(2), rest)
		if err != nil {
			return err
		}
		if beta != 1 {
			k, err := c.im.constNode(c.name+"/beta", floatTensor([]int{1}, []float32{float32(beta)}))
			if err != nil {
				return err
			}
			if cn, _, err = c.emit("beta_c", &ir.Binary{Op: ir.BinaryMul}, []string{cn, k}); err != nil {
				return err
			}
		}
		return c.emitOut(&ir.Binary{Op: ir.BinaryAdd}, []string{d, cn})
	}
	var ins []string
	for i := 0; i < 3; i++ {
		if c.in(i) == nil {
			continue
		}
		x, _, err := c.act(i)
		if err != nil {
			return err
		}
		ins = append(ins, x)
	}
	return c.emitOut(&ir.Gemm{TransA: ta != 0, TransB: tb != 0, Alpha: alpha, Beta: beta}, ins)
}

func (c *nctx) matmul() error {
	a, err := c.need(0)
	if err != nil {
		return err
	}
	b, err := c.need(1)
	if err != nil {
		return err
	}
	sa, sb := shapeOf(a), shapeOf(b)
	if ir.MatMulIsDense(a.node == "", len(sa), b.c != nil && b.node == "", len(sb)) {
		if sa[len(sa)-1] != sb[0] {
			return fmt.Errorf("matmul inner sizes differ: %v × %v", sa, sb)
		}
		x, _, err := c.act(0)
		if err != nil {
			return err
		}
		return c.emitOut(&ir.Dense{Units: sb[1]}, []string{x}, weight("kernel", ir.Shape{sb[0], sb[1]}, b.c, 0, nil))
	}
	return c.batchedMatMul(false, 0)
}

// batchedMatMul emits ir.MatMul of inputs 0 and 1, input 1 (of rank r)
// with its last two axes swapped first when transB.
func (c *nctx) batchedMatMul(transB bool, r int) error {
	x, _, err := c.act(0)
	if err != nil {
		return err
	}
	y, _, err := c.act(1)
	if err != nil {
		return err
	}
	if transB {
		perm := make([]int, r)
		for d := range perm {
			perm[d] = d
		}
		perm[r-2], perm[r-1] = r-1, r-2
		if y, _, err = c.emit("transpose_b", &ir.Transpose{Perm: perm}, []string{y}); err != nil {
			return err
		}
	}
	return c.emitOut(&ir.MatMul{}, []string{x, y})
}

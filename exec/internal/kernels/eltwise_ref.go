package kernels

// refBroadcastIndex maps the flat index i of a tensor of shape out to the
// flat index of an operand of shape s that broadcasts to out.
func refBroadcastIndex(i int, out, s []int) int {
	idx, stride := 0, 1
	for d := len(out) - 1; d >= 0; d-- {
		coord := i % out[d]
		i /= out[d]
		k := d - (len(out) - len(s))
		if k < 0 {
			continue
		}
		if s[k] != 1 {
			idx += coord * stride
		}
		stride *= s[k]
	}
	return idx
}

// RefBinary is the reference broadcasting binary op: every output element
// is computed from its own coordinates. It returns the result and its shape.
func RefBinary(op BinaryOp, a []float32, aShape []int, b []float32, bShape []int) ([]float32, []int) {
	out, err := BroadcastShape(aShape, bShape)
	if err != nil {
		panic(err)
	}
	res := make([]float32, shapeElems(out))
	for i := range res {
		res[i] = op.Eval(a[refBroadcastIndex(i, out, aShape)], b[refBroadcastIndex(i, out, bShape)])
	}
	return res, out
}

// RefBroadcastTo is the reference broadcast of x to shape.
func RefBroadcastTo(x []float32, xShape, shape []int) []float32 {
	res := make([]float32, shapeElems(shape))
	for i := range res {
		res[i] = x[refBroadcastIndex(i, shape, xShape)]
	}
	return res
}

// RefNary folds op over the inputs left to right with broadcasting (the
// reference of SumN, ProdN, MaxN, MinN).
func RefNary(op BinaryOp, inputs [][]float32, shapes [][]int) ([]float32, []int) {
	acc, shape := inputs[0], shapes[0]
	for k := 1; k < len(inputs); k++ {
		acc, shape = RefBinary(op, acc, shape, inputs[k], shapes[k])
	}
	out, err := BroadcastShape(shapes...)
	if err != nil {
		panic(err)
	}
	return RefBroadcastTo(acc, shape, out), out
}

// RefMeanN is the reference of MeanN: the left-to-right sum divided by the
// number of inputs.
func RefMeanN(inputs [][]float32, shapes [][]int) ([]float32, []int) {
	sum, shape := RefNary(OpAdd, inputs, shapes)
	for i := range sum {
		sum[i] /= float32(len(inputs))
	}
	return sum, shape
}

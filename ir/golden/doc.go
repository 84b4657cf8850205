// Package golden holds the IR snapshot tests: the imported and the
// optimized IR (ir.Model.WriteText; optimized: the import pipeline, then
// exec.Optimize's fusion passes) of every fixture model kconv has — the
// builtin vgg16, the repository's testdata and, when present, the shared
// fixtures — as txtar goldens under testdata/, so that a review shows what
// a change did to each model. It has no non-test code.
//
// Regenerate with:
//
//	go test ./ir/golden -update
package golden

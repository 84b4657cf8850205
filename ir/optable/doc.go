// Package optable holds the test of ir's op table (ir.AllOps): it has no
// non-test code. The test walks every op kind and
//
//   - requires a row for every Op type declared in package ir (found by
//     parsing ir's sources, so a new op without a row fails);
//   - checks each row's Example against the op's shape rule (Infer) and
//     parameter rule (Weights);
//   - checks the Keras class names against importer/keras's class switch
//     and the ONNX op types against importer/onnx's op switch, both ways;
//   - tries every ir.Capability (exec lowering and running; export to Keras
//     and ONNX, read back by kconv's importers to the same outputs) and
//     fails when an unmarked capability fails or a capability marked
//     unsupported works, so the marks cannot go stale;
//   - checks the Keras key table (ir.KerasKey, OpInfo.KerasKeys): each
//     key names attributes its op has; every key exporter/keras writes in
//     a Keras 2 or Keras 3 file is a key of its class's row (or a fixed
//     training key), and deleting or changing it changes what
//     importer/keras imports; every key variable is read by importer/keras.
//
// testdata/optable.txt records the table as the code behaves (the layers
// and ONNX ops actually written for each kind), testdata/keraskeys.txt
// the Keras keys; -update rewrites them.
//
// It lives outside ir because it imports exec, the importers and the
// exporters, which import ir.
package optable

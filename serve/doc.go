// Package serve puts compiled kconv models behind standard inference APIs:
// the Open Inference Protocol (KServe v2) over HTTP/REST, with the binary
// tensor data extension, and over gRPC (package inferencepb), and
// TensorFlow Serving's REST predict API.
//
// A Server holds a fixed set of models, each compiled once (exec.Compile).
// Requests for one model go through a bounded queue to that model's workers,
// which merge concurrent requests into one batch (up to Config.MaxBatch rows:
// the requests queued so far, plus, only while other batches of the model
// keep every core busy, those arriving within Config.BatchTimeout; a
// request reaching an idle model runs at once, on its own goroutine, with
// no hand-off to a worker), run it with Program.Run and split the outputs
// back. A full queue answers 429 with Retry-After. Parallelism chooses a
// model's threads per run and runs at once by its work per row.
//
// Every request is checked against the model (input names, ranks, dims,
// datatypes, element counts, binary sizes) before anything is allocated at
// its size or run; a bad request gets a 4xx status and {"error": "..."}
// naming the input. The body size is limited (413), each request has a
// deadline (504 when it passes), and a panic while serving one request
// answers 500 for that request only. Serve drains in-flight requests when
// its context ends.
//
// Prometheus metrics live in a registry owned by the Server (never the
// process-global default registry): requests by model, protocol and status
// code, request latency, batch sizes and queue depth.
//
// Decisions:
//   - Models compute in float32. Inputs are declared FP32; requests may send
//     any numeric datatype (INT8…INT64, UINT8…UINT64, FP16, FP32, FP64),
//     converted to float32 (integers must be exact, values must fit). BOOL
//     and BYTES are refused as the wrong datatype.
//   - JSON cannot carry NaN or ±Inf: such output values are written as null
//     in JSON responses; binary outputs carry them unchanged.
//   - TensorFlow Serving's columnar request ({"inputs": …}) answers in its
//     columnar form ({"outputs": …}), row requests ({"instances": …}) answer
//     {"predictions": …}, as TensorFlow Serving itself does.
//   - Every model has the single version "1".
//   - Only the first (batch) dimension of a model's inputs and outputs may be
//     dynamic; New refuses models with other unknown dimensions.
//   - TF Serving's {"b64": …} binary values are not accepted (models take
//     numbers); use the v2 binary extension for bulk data.
//   - Fast paths never change what a request means: the v2 request header
//     (decodeV2Fast), JSON data arrays (cutData, parseArray) and FP32
//     numbers (parseFloat32Fast) are read without encoding/json or strconv
//     only in forms where the result is provably theirs, and fall back to
//     them otherwise; tests and fuzz targets compare each with its
//     reference.
//   - The server runs with kconv's GOGC=50. A fixed 64 MiB headroom over
//     the live heap (GOGC ~6000 for cifar_small, near no collections under
//     load) was tried and dropped: it cost ~20% more server CPU per
//     request (a heap walked through 64 MiB of fresh memory between
//     collections misses the caches; GOGC=50 keeps it within a few MB),
//     which outweighed the collections it saved.
//   - exec keeps an arena pool per batch size, so merged batches of many
//     different sizes hold more memory until the pools are collected;
//     --max-batch bounds how many sizes there can be.
package serve

// Package inferencepb is the generated Go code of the Open Inference
// Protocol's gRPC service (grpc_predict_v2.proto), used by package serve.
package inferencepb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative grpc_predict_v2.proto

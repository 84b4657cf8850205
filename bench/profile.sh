#!/usr/bin/env bash
# Sets kconv's step profile beside ONNX Runtime's node profile of the same
# ONNX file, node by node (a fused kconv step carries the name of the last
# node it computes, as ORT's fused nodes do), sorted by how much longer
# kconv takes: where kconv loses time against ORT, layer by layer.
#
#   bench/profile.sh MODEL.onnx [--batch N] [--threads T] [--runs R] [--top K]
#
# With --threads 1 (the default) both sides are single-threaded and kconv
# reports thread CPU time, steady on a shared machine. Nodes only one side
# has (ORT's layout reorders, kconv's layout steps, nodes one engine
# fused into another) are listed after the table. Needs onnxruntime-node
# in bench/ort/node_modules, as compare.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."

model="" batch=1 threads=1 runs=20 top=25
while (($#)); do
	case "$1" in
	--batch) batch=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--top) top=$2; shift 2 ;;
	-*) echo "unknown flag $1" >&2; exit 2 ;;
	*) model=$1; shift ;;
	esac
done
[[ -n "$model" ]] || { echo "usage: bench/profile.sh MODEL.onnx [--batch N] [--threads T] [--runs R] [--top K]" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/kconv" ./cmd/kconv
export NODE_PATH=${KCONV_ORT_MODULES:-$PWD/bench/ort/node_modules}
"$tmp/kconv" bench "$model" --batch "$batch" --threads "$threads" --runs "$runs" --profile 100000 >"$tmp/k.txt"
node bench/ort/run.js profile "$model" --batch "$batch" --threads "$threads" --runs "$runs" >"$tmp/o.txt"

grep -m1 '^profile:' "$tmp/k.txt" | sed 's/^/kconv /'
head -1 "$tmp/o.txt"
# kconv's slowest-steps lines: "  NODE  KIND  MS ms [GFLOP/s]"; ORT's: "NODE\tOP\tMS".
awk -v top="$top" '
	FNR == NR { if (FNR > 1) { split($0, f, "\t"); ort[f[1]] = f[3]; op[f[1]] = f[2] } next }
	/^  [^ ]+ +[^ ]+ +[0-9.]+ ms/ && $1 ~ /\// {
		k[$1] = $3; kind[$1] = $2
	}
	END {
		n = 0
		for (x in k) if (x in ort) { d[x] = k[x] - ort[x]; keys[++n] = x }
		# sort by difference, largest first
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (d[keys[j]] > d[keys[i]]) { t = keys[i]; keys[i] = keys[j]; keys[j] = t }
		printf "%-50s %-20s %9s %9s %9s\n", "node", "kconv kind", "kconv ms", "ORT ms", "diff"
		for (i = 1; i <= n && i <= top; i++) { x = keys[i]; printf "%-50s %-20s %9.3f %9.3f %+9.3f\n", x, kind[x], k[x], ort[x], d[x] }
		ko = ""; for (x in k) if (!(x in ort)) ko = ko " " x "=" k[x]
		oo = ""; for (x in ort) if (!(x in k)) oo = oo " " x "=" ort[x]
		print "kconv only:" ko
		print "ORT only:" oo
	}' "$tmp/o.txt" "$tmp/k.txt"

#!/usr/bin/env bash
# Times kconv and ONNX Runtime on the same ONNX file, alternately (A B A B …)
# so that the machine's noise hits both alike, and prints the median of each
# engine's per-round medians, the best min, and the ratio kconv/ORT.
#
#   bench/compare.sh [MODEL.onnx] [--batch N] [--threads T] [--rounds R] [--runs K]
#
# Without MODEL it makes the torchvision-layout VGG16 with seeded random
# weights using kconv itself. Needs onnxruntime-node in bench/ort/node_modules
# (npm install --prefix bench/ort onnxruntime-node@1.30.0 --ignore-scripts).
set -euo pipefail
cd "$(dirname "$0")/.."

model="" batch=1 threads=2 rounds=5 runs=5
while (($#)); do
	case "$1" in
	--batch) batch=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	-*) echo "unknown flag $1" >&2; exit 2 ;;
	*) model=$1; shift ;;
	esac
done

bin=$(mktemp -d)/kconv
go build -o "$bin" ./cmd/kconv
if [[ -z "$model" ]]; then
	model=${TMPDIR:-/tmp}/kconv-vgg16-torchvision.onnx
	[[ -f "$model" ]] || "$bin" convert vgg16_torchvision "$model" --random-weights --seed 1 -q
fi
export NODE_PATH=${KCONV_ORT_MODULES:-$PWD/bench/ort/node_modules}

token() { grep -o "$1=[0-9.]*" | head -1 | cut -d= -f2; }
med() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -a km kmin kr kl kg kp om omin or ol
for ((r = 0; r < rounds; r++)); do
	out=$("$bin" bench "$model" --batch "$batch" --threads "$threads" --runs "$runs" --warmup 1 -q)
	km+=("$(token median_ms <<<"$out")"); kmin+=("$(token min_ms <<<"$out")")
	kr+=("$(token peak_rss_mb <<<"$out")"); kl+=("$(token ready_ms <<<"$out")")
	kg+=("$(token gflop_per_s <<<"$out")"); kp+=("$(token peak_share <<<"$out")")
	gflop=$(token gflop_per_image <<<"$out")
	out=$(node bench/ort/run.js bench "$model" --batch "$batch" --threads "$threads" --runs "$runs" --warmup 1)
	om+=("$(token median_ms <<<"$out")"); omin+=("$(token min_ms <<<"$out")")
	or+=("$(token peak_rss_mb <<<"$out")"); ol+=("$(token session_ms <<<"$out")")
done

k=$(printf '%s\n' "${km[@]}" | med); o=$(printf '%s\n' "${om[@]}" | med)
printf 'model=%s batch=%s threads=%s rounds=%s runs=%s\n' "$(basename "$model")" "$batch" "$threads" "$rounds" "$runs"
printf '%-8s %10s %10s %12s %14s\n' engine median_ms min_ms peak_rss_mb load_ms
printf '%-8s %10.3f %10.3f %12s %14s\n' kconv "$k" "$(printf '%s\n' "${kmin[@]}" | sort -g | head -1)" \
	"$(printf '%s\n' "${kr[@]}" | med)" "$(printf '%s\n' "${kl[@]}" | med)"
printf '%-8s %10.3f %10.3f %12s %14s\n' ort "$o" "$(printf '%s\n' "${omin[@]}" | sort -g | head -1)" \
	"$(printf '%s\n' "${or[@]}" | med)" "$(printf '%s\n' "${ol[@]}" | med)"
awk -v k="$k" -v o="$o" 'BEGIN {printf "ratio kconv/ort (median) = %.2f\n", k/o}'
# Each round's kconv median over the ORT median measured right after it:
# where the host slows for minutes, a round's pair slows together, so the
# median of these ratios moves less than the ratio of the two medians.
paired=$(for ((r = 0; r < rounds; r++)); do awk -v k="${km[r]}" -v o="${om[r]}" 'BEGIN {print k/o}'; done | med)
awk -v p="$paired" 'BEGIN {printf "ratio kconv/ort (median of per-round ratios) = %.2f\n", p}'
echo "(load_ms: ready to run — kconv: file open to compiled Program, weights read and packed; ORT: session creation, which also optimizes the graph and prepacks weights)"
# One machine-readable line (bench/zoo.sh reads it).
printf 'summary model=%s batch=%s gflop_per_image=%s kconv_ms=%s ort_ms=%s paired_ratio=%.3f kconv_gflop_per_s=%s kconv_peak_share=%s kconv_rss_mb=%s ort_rss_mb=%s kconv_load_ms=%s ort_load_ms=%s\n' \
	"$(basename "$model" .onnx)" "$batch" "$gflop" "$k" "$o" "$paired" "$(printf '%s\n' "${kg[@]}" | med)" \
	"$(printf '%s\n' "${kp[@]}" | med)" "$(printf '%s\n' "${kr[@]}" | med)" "$(printf '%s\n' "${or[@]}" | med)" \
	"$(printf '%s\n' "${kl[@]}" | med)" "$(printf '%s\n' "${ol[@]}" | med)"

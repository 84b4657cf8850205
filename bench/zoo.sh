#!/usr/bin/env bash
# Times kconv against ONNX Runtime on a zoo of torchvision CNNs and prints
# one table: per model and batch size, GFLOP per image, both engines'
# median latency (bench/compare.sh: the engines alternate, medians of the
# per-round medians, each round's runs after a warm-up run), the ratio,
# the paired ratio (the median of each round's kconv/ORT: the host's slow
# phases move a round's pair together), kconv's GFLOP/s and share of FMA
# peak (as `kconv bench` reports it), peak RSS and load time of both, and
# the geometric means of the ratios.
#
#   bench/zoo.sh [--zoo DIR] [--models a,b,…] [--batches "1 8"] [--threads T] [--rounds R] [--runs K]
#
# The ONNX files come from ../shared/bench/export_zoo.py (Debian's
# python3-torch and python3-torchvision; seeded random weights), made in
# DIR (default $KCONV_ZOO, else $TMPDIR/kconv-zoo) when missing. Needs
# onnxruntime-node in bench/ort/node_modules, as compare.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."

zoo=${KCONV_ZOO:-${TMPDIR:-/tmp}/kconv-zoo}
models=vgg16,resnet50,mobilenet_v2,efficientnet_b0,densenet121,squeezenet1_1
batches="1 8" threads=2 rounds=5 runs=5
while (($#)); do
	case "$1" in
	--zoo) zoo=$2; shift 2 ;;
	--models) models=$2; shift 2 ;;
	--batches) batches=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done

IFS=, read -ra names <<<"$models"
missing=()
for m in "${names[@]}"; do
	[[ -f "$zoo/$m.onnx" ]] || missing+=("$m")
done
if ((${#missing[@]})); then
	exporter=${KCONV_EXPORT_ZOO:-../shared/bench/export_zoo.py}
	[[ -f "$exporter" ]] || { echo "zoo.sh: $zoo lacks ${missing[*]} and $exporter is missing" >&2; exit 1; }
	mkdir -p "$zoo"
	# Debian's torch is installed for the system python.
	py=${PYTHON:-$( [[ -x /usr/bin/python3 ]] && echo /usr/bin/python3 || echo python3 )}
	models_csv=$(IFS=,; echo "${missing[*]}")
	"$py" "$exporter" "$zoo" --models "$models_csv" >&2
fi

field() { grep -o " $1=[^ ]*" | head -1 | cut -d= -f2; }

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
echo "# kconv vs ONNX Runtime, $(date -u +%Y-%m-%d), ${cpu:-unknown CPU}, $(nproc) CPUs, threads=$threads, rounds=$rounds, runs=$runs"
echo
echo "| model | batch | GFLOP/img | kconv ms | ORT ms | kconv/ORT | paired | kconv GFLOP/s | % peak | kconv RSS MB | ORT RSS MB | kconv load ms | ORT load ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
declare -A logsum plogsum count
for b in $batches; do
	for m in "${names[@]}"; do
		s=$(bench/compare.sh "$zoo/$m.onnx" --batch "$b" --threads "$threads" --rounds "$rounds" --runs "$runs" | grep '^summary ')
		k=$(field kconv_ms <<<"$s") o=$(field ort_ms <<<"$s")
		ratio=$(awk -v k="$k" -v o="$o" 'BEGIN {printf "%.2f", k/o}')
		paired=$(awk -v p="$(field paired_ratio <<<"$s")" 'BEGIN {printf "%.2f", p}')
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$m" "$b" \
			"$(field gflop_per_image <<<"$s")" "$k" "$o" "$ratio" "$paired" "$(field kconv_gflop_per_s <<<"$s")" \
			"$(field kconv_peak_share <<<"$s")%" "$(field kconv_rss_mb <<<"$s")" "$(field ort_rss_mb <<<"$s")" \
			"$(field kconv_load_ms <<<"$s")" "$(field ort_load_ms <<<"$s")"
		logsum[$b]=$(awk -v s="${logsum[$b]:-0}" -v r="$ratio" 'BEGIN {print s + log(r)}')
		plogsum[$b]=$(awk -v s="${plogsum[$b]:-0}" -v r="$paired" 'BEGIN {print s + log(r)}')
		count[$b]=$(( ${count[$b]:-0} + 1 ))
	done
done
echo
for b in $batches; do
	awk -v s="${logsum[$b]}" -v p="${plogsum[$b]}" -v n="${count[$b]}" -v b="$b" 'BEGIN {printf "geometric mean kconv/ORT, batch %s: %.2f (paired: %.2f)\n", b, exp(s/n), exp(p/n)}'
done
echo "(load: ready to run — kconv: file open to compiled Program; ORT: session creation. Medians of per-round medians; paired: the median of each round's kconv/ORT.)"

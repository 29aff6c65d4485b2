#!/bin/sh
# run.sh times one DPO step and one forward pass of refeval (llm/train on the
# pure-Go backend, bench/dpo/main.go) against PyTorch with OpenBLAS
# (bench/dpo/dpo.py) on the same Qwen2 shapes and parameter count, running
# the two alternately ROUNDS times, and prints a table of medians with the
# speed-up (PyTorch time / refeval time; the goal is ≥ 1.2).
#
#	sh bench/dpo/run.sh            # ROUNDS=3 STEPS=3 by default
#
# Needs Debian's python3-torch and OpenBLAS:
#	apt-get install -y python3-torch libopenblas0-pthread
# Debian's torch calls the system libblas.so.3, the reference BLAS by
# default (10–25× slower); this script preloads OpenBLAS's libblas.so.3 and
# prints the BLAS libraries the Python process mapped. Both sides use 2
# threads (torch.set_num_threads(2), OPENBLAS_NUM_THREADS=2; Go uses
# GOMAXPROCS = the 2 CPUs). Wall time is noisy on a shared machine, so the
# table gives CPU time (user + system) too, and the load average. A second
# anchor runs PyTorch on 1 thread (torch and OpenBLAS): on a loaded machine
# two OpenMP and two OpenBLAS threads spin-wait, which inflates the 2-thread
# anchor's CPU time, so the 1-thread anchor's CPU time is the honest measure
# of the work PyTorch needs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export GOEXPERIMENT=simd GOMLX_NO_AUTO_INSTALL=1
rounds=${ROUNDS:-3}
steps=${STEPS:-3}
blas=${OPENBLAS_LIB:-/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3}
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	echo "run.sh: /usr/bin/python3 cannot import torch: apt-get install -y python3-torch" >&2
	exit 1
fi
if [ ! -f "$blas" ]; then
	echo "run.sh: no OpenBLAS at $blas: apt-get install -y libopenblas0-pthread (or set OPENBLAS_LIB)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/dpo" ./bench/dpo)
"$tmp/dpo" -config >"$tmp/config.json"
echo "host: $(nproc) CPUs, load at start $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
	"$tmp/dpo" -steps "$steps" | sed "s/^/go /" >>"$tmp/out"
	OPENBLAS_NUM_THREADS=2 LD_PRELOAD="$blas" /usr/bin/python3 "$here/dpo.py" "$steps" <"$tmp/config.json" | sed "s/^/torch /" >>"$tmp/out"
	TORCH_THREADS=1 OPENBLAS_NUM_THREADS=1 LD_PRELOAD="$blas" /usr/bin/python3 "$here/dpo.py" "$steps" <"$tmp/config.json" | sed "s/^/torch1 /" >>"$tmp/out"
	echo "round $r of $rounds done, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
grep '^torch blas' "$tmp/out" | head -1 | sed 's/^torch blas/PyTorch BLAS:/'
awk -v cfg="$(cat "$tmp/config.json")" -v rounds="$rounds" -v steps="$steps" '
function med(key,   n, i, j, t, a) {
	n = split(vals[key], a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
$2 == "params" { params[$1] = $3 }
$3 == "wall" { vals[$1 " " $2 " wall"] = vals[$1 " " $2 " wall"] " " $4; vals[$1 " " $2 " cpu"] = vals[$1 " " $2 " cpu"] " " $6 }
END {
	if (params["go"] != params["torch"] || params["go"] != params["torch1"]) { printf "parameter counts differ: refeval %s, PyTorch %s\n", params["go"], params["torch"]; exit 1 }
	printf "model: Qwen2 shapes %s\n", cfg
	printf "parameters: %d (every side); medians of %d rounds × %d timed repetitions\n\n", params["go"], rounds, steps
	print "| measurement | refeval wall (CPU) | anchor | anchor wall (CPU) | speed-up wall | speed-up CPU |"
	print "|---|---|---|---|---|---|"
	split("dpo_step forward", names, " ")
	label["dpo_step"] = "DPO step, 4 pairs, micro-batch 2 × accumulation 2, AdamW"
	label["forward"] = "forward, 8 sequences × 128 tokens"
	for (k = 1; k <= 2; k++) {
		m = names[k]
		gw = med("go " m " wall"); gc = med("go " m " cpu")
		for (a = 1; a <= 2; a++) {
			an = a == 1 ? "torch" : "torch1"
			tw = med(an " " m " wall"); tc = med(an " " m " cpu")
			printf "| %s | %.3f s (%.3f s) | PyTorch + OpenBLAS, %d thread%s | %.3f s (%.3f s) | %.2f× | %.2f× |\n", label[m], gw, gc, 3 - a, a == 1 ? "s" : "", tw, tc, tw / gw, tc / gc
		}
	}
}' "$tmp/out"
echo
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"

#!/bin/sh
# check.sh measures a GPU through a CUDA PJRT plugin against refeval's
# pure-Go CPU backend on a Qwen2.5-0.5B-shaped model with random weights
# and prints one table: forward parity (largest log-prob difference, must be
# ≤ 1e-3, else exit 1), one DPO step's time and MFU, and sampling tokens/s.
#
#	sh bench/gpu/check.sh /abs/path/xla_cuda_plugin.so   # on a GPU machine
#	sh bench/gpu/check.sh --tiny                         # anywhere: a tiny model on the pure-Go backend
#
# Without a plugin argument it measures $GOMLX_BACKEND (else the pure-Go
# backend). PEAK_TFLOPS sets the peak the MFU is taken against (default
# 989, an H100/H200's dense bfloat16 tensor-core peak; refeval computes in
# float32, so MFU against that peak is an upper bound's share, and 67 is
# the H200's float32 peak without tensor cores). Extra flags after the
# plugin go to the Go program (go run ./bench/gpu -h lists them). Without
# Go on the machine, build the program elsewhere first:
#	GOEXPERIMENT=simd go build -o bench/gpu/check.bin ./bench/gpu
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export GOEXPERIMENT=simd GOMLX_NO_AUTO_INSTALL=1
size="-size 0.5B"
peak=${PEAK_TFLOPS:-989}
if [ "${1:-}" = --tiny ]; then
	shift
	size="-size tiny -vocab 1000 -seq 32 -pairs 2 -steps 2 -batch 4 -tokens 16"
	peak=${PEAK_TFLOPS:-0}
elif [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	case "$1" in
	/*) ;;
	*) echo "check.sh: the PJRT plugin must be an absolute path (XLA searches its own folders for a bare name), got $1" >&2; exit 1 ;;
	esac
	if [ ! -f "$1" ]; then
		echo "check.sh: no plugin at $1" >&2
		exit 1
	fi
	export GOMLX_BACKEND="xla:$1"
	shift
fi
echo "host: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
bin="$here/check.bin"
if command -v go >/dev/null 2>&1; then
	(cd "$root" && go build -o "$bin" ./bench/gpu)
elif [ ! -x "$bin" ]; then
	echo "check.sh: no go command and no $bin; build it where Go is (see the comment at the top)" >&2
	exit 1
fi
# shellcheck disable=SC2086 # $size is a list of flags.
exec "$bin" $size -peak-tflops "$peak" "$@"

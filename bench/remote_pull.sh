#!/usr/bin/env bash
# remote_pull.sh: how fast `refeval cache pull` brings a 1 GB output down
# from the team cache (SeaweedFS on 127.0.0.1, scripts/services/s3.sh),
# next to `aws s3 cp` of the same object from the same store, alternating
# runs in one session. refeval's time includes what aws does not do:
# hashing every segment as it streams, fsyncing, committing the output and
# writing the cache entry. Also times the upload (`refeval cache push` of
# the same output) next to `aws s3 cp` up. Not run in CI.
# Usage: bench/remote_pull.sh [RUNS] [MB]   (from the repository root)
set -euo pipefail
RUNS=${1:-3}
MB=${2:-1024}
export GOEXPERIMENT=simd GOMLX_NO_AUTO_INSTALL=1
root=$(pwd)

if ! command -v aws >/dev/null; then
	echo "installing the aws CLI (Debian's awscli) for the baseline" >&2
	apt-get install -y -qq awscli >/dev/null
fi
# shellcheck source=/dev/null
source scripts/services/s3.sh
work=$(mktemp -d)
trap 'stop_s3; rm -rf "$work"' EXIT
start_s3

export AWS_ACCESS_KEY_ID=$REFEVAL_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$REFEVAL_TEST_S3_SECRET_KEY
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=us-east-1
export REFEVAL_REMOTE=s3://$REFEVAL_TEST_S3_BUCKET/bench-$$ REFEVAL_REMOTE_ENDPOINT=$REFEVAL_TEST_S3_ENDPOINT
aws() { command aws --endpoint-url "$REFEVAL_TEST_S3_ENDPOINT" "$@"; }

go build -o "$work/refeval" ./cmd/refeval
mkdir -p "$work/p"
cat > "$work/p/p.hcl" <<HCL
stage "exec" "big" {
  command = ["sh", "-c", "head -c ${MB}M /dev/urandom > \$OUT/big.bin"]
}
HCL
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

echo "machine A: build a $MB MB output, then push it" >&2
REFEVAL_CACHE=$work/a REFEVAL_REMOTE_MODE=read "$work/refeval" build "$work/p/p.hcl" 2>"$work/a.log"
t0=$(now)
REFEVAL_CACHE=$work/a "$work/refeval" cache push >>"$work/a.log" 2>&1
t1=$(now)
up_refeval=$(secs "$t0" "$t1")
key=$(aws s3 ls "$REFEVAL_REMOTE/blob/" | awk '{print $4}' | head -1)
[[ -n $key ]] || { echo "no blob uploaded"; cat "$work/a.log"; exit 1; }
file=$(find "$work/a/out" -name big.bin)
t0=$(now)
aws s3 cp --only-show-errors "$file" "s3://$REFEVAL_TEST_S3_BUCKET/bench-aws-$$/big.bin"
t1=$(now)
up_aws=$(secs "$t0" "$t1")

best_r=
best_a=
for i in $(seq 1 "$RUNS"); do
	rm -rf "$work/b" "$work/x.bin"
	t0=$(now)
	REFEVAL_CACHE=$work/b "$work/refeval" cache pull "$work/p/p.hcl" 2>"$work/b.log"
	t1=$(now)
	grep -q 'pulled 1 ' "$work/b.log" || { cat "$work/b.log"; exit 1; }
	r=$(secs "$t0" "$t1")
	t0=$(now)
	aws s3 cp --only-show-errors "$REFEVAL_REMOTE/blob/$key" "$work/x.bin"
	t1=$(now)
	a=$(secs "$t0" "$t1")
	cmp -s "$work/x.bin" "$(find "$work/b/out" -name big.bin)" || { echo "pulled file differs from aws's copy"; exit 1; }
	printf 'run %d: refeval cache pull %.2f s, aws s3 cp %.2f s\n' "$i" "$r" "$a"
	if [[ -z $best_r ]] || (($(echo "$r < $best_r" | bc))); then best_r=$r; fi
	if [[ -z $best_a ]] || (($(echo "$a < $best_a" | bc))); then best_a=$a; fi
done
printf 'pull %d MB, best of %d: refeval %.2f s (%.0f MB/s), aws s3 cp %.2f s (%.0f MB/s): refeval takes %.2fx the time of aws\n' \
	"$MB" "$RUNS" "$best_r" "$(echo "$MB / $best_r" | bc -l)" "$best_a" "$(echo "$MB / $best_a" | bc -l)" "$(echo "$best_r / $best_a" | bc -l)"
printf 'upload %d MB once: refeval cache push %.2f s, aws s3 cp up %.2f s: %.2fx\n' "$MB" "$up_refeval" "$up_aws" "$(echo "$up_refeval / $up_aws" | bc -l)"
echo "baseline: $(command aws --version 2>&1 | head -1)"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

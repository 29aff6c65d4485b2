#!/bin/sh
# noop.sh: how long a no-op build of a 200-stage exec pipeline takes in
# refeval, next to GNU make (make -q) and go-task (checksum mode) on the same
# files, and how fast refeval hashes a new input next to sha256sum.
# Not run in CI. Usage: bench/noop.sh [RUNS] [HASH_MB]   (from the repository root)
set -eu
RUNS=${1:-10}
HASH_MB=${2:-512}
STAGES=200
TASK_VERSION=v3.54.0
export GOEXPERIMENT=simd GOMLX_NO_AUTO_INSTALL=1

root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "building refeval and task $TASK_VERSION into $work/bin" >&2
mkdir -p "$work/bin"
GOFLAGS=-mod=mod go build -o "$work/bin/refeval" ./cmd/refeval
GOFLAGS= GOBIN="$work/bin" go install -v=false github.com/go-task/task/v3/cmd/task@$TASK_VERSION
PATH="$work/bin:$PATH"

# The same 200 steps three times: step i copies in/i.txt and, unless i is a
# multiple of 10, appends step i-1's output (chains of 10).
p="$work/p"
mkdir -p "$p/in" "$p/out" "$p/tout"
for i in $(seq 1 $STAGES); do echo "input $i" > "$p/in/$i.txt"; done
{
  for i in $(seq 1 $STAGES); do
    if [ $((i % 10)) -eq 1 ]; then
      printf 'stage "exec" "s%d" {\n  command = ["sh", "-c", "cat in/%d.txt > $OUT/o.txt"]\n  inputs  = ["in/%d.txt"]\n}\n' $i $i $i
    else
      printf 'stage "exec" "s%d" {\n  command = ["sh", "-c", "cat in/%d.txt ${stage.exec.s%d.out}/o.txt > $OUT/o.txt"]\n  inputs  = ["in/%d.txt"]\n}\n' $i $i $((i - 1)) $i
    fi
  done
} > "$p/p.hcl"
{
  printf 'stamp:'
  for i in $(seq 1 $STAGES); do printf ' out/%d.txt' $i; done
  printf '\n\ttouch stamp\n'
  for i in $(seq 1 $STAGES); do
    if [ $((i % 10)) -eq 1 ]; then
      printf 'out/%d.txt: in/%d.txt\n\tcat in/%d.txt > $@\n' $i $i $i
    else
      printf 'out/%d.txt: in/%d.txt out/%d.txt\n\tcat in/%d.txt out/%d.txt > $@\n' $i $i $((i - 1)) $i $((i - 1))
    fi
  done
} > "$p/Makefile"
{
  printf 'version: "3"\nmethod: checksum\ntasks:\n  default:\n    deps: ['
  for i in $(seq 1 $STAGES); do printf 't%d' $i; [ $i -lt $STAGES ] && printf ', '; done
  printf ']\n'
  for i in $(seq 1 $STAGES); do
    if [ $((i % 10)) -eq 1 ]; then
      printf '  t%d:\n    sources: [in/%d.txt]\n    generates: [tout/%d.txt]\n    cmds: ["cat in/%d.txt > tout/%d.txt"]\n' $i $i $i $i $i
    else
      printf '  t%d:\n    deps: [t%d]\n    sources: [in/%d.txt, tout/%d.txt]\n    generates: [tout/%d.txt]\n    cmds: ["cat in/%d.txt tout/%d.txt > tout/%d.txt"]\n' $i $((i - 1)) $i $((i - 1)) $i $i $((i - 1)) $i
    fi
  done
} > "$p/Taskfile.yml"

cd "$p"
refeval build -j 2 p.hcl 2>/dev/null
make -s stamp >/dev/null
task --silent >/dev/null 2>&1

# now_ms prints the wall clock in milliseconds.
now_ms() { date +%s%3N; }
# time_runs CMD... runs CMD RUNS times and prints the median milliseconds
# (the median, not the mean: a shared machine's load comes in bursts).
time_runs() {
  for _ in $(seq 1 "$RUNS"); do
    start=$(now_ms)
    "$@" >/dev/null 2>&1 || true
    end=$(now_ms)
    echo $((end - start))
  done | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
# Check that each tool really has nothing to do.
refeval build --json p.hcl 2>/dev/null | grep -q '"ran":\[\]' || { echo "refeval no-op build ran stages" >&2; exit 1; }
make -q stamp || { echo "make -q: not up to date" >&2; exit 1; }

r=$(time_runs refeval build p.hcl)
m=$(time_runs make -q stamp)
t=$(time_runs task --silent)
echo "no-op build of $STAGES stages, median of $RUNS runs:"
echo "  refeval  ${r} ms"
echo "  make -q  ${m} ms   refeval/make = $(awk "BEGIN{printf \"%.1f\", $r/($m>0?$m:1)}")"
echo "  task     ${t} ms   refeval/task = $(awk "BEGIN{printf \"%.2f\", $r/($t>0?$t:1)}")"

# First-time hashing: a new cache, one stage whose input is a big file.
h="$work/h"
mkdir -p "$h"
head -c $((HASH_MB * 1024 * 1024)) /dev/urandom > "$h/big.bin"
printf 'stage "exec" "h" {\n  command = ["true"]\n  inputs  = ["big.bin"]\n}\n' > "$h/p.hcl"
printf 'stage "exec" "h" {\n  command = ["true"]\n}\n' > "$h/empty.hcl"
cd "$h"
cat big.bin > /dev/null # warm the page cache for both tools
s0=$(now_ms); sha256sum big.bin >/dev/null; s1=$(now_ms)
e0=$(now_ms); refeval build --cache "$h/c0" empty.hcl 2>/dev/null; e1=$(now_ms)
b0=$(now_ms); refeval build --cache "$h/c1" p.hcl 2>/dev/null; b1=$(now_ms)
sha=$((s1 - s0)); base=$((e1 - e0)); ref=$((b1 - b0 - base))
echo "first-time hashing of ${HASH_MB} MB (refeval build minus a build without the input):"
echo "  refeval    ${ref} ms  $(awk "BEGIN{printf \"%.0f\", $HASH_MB*1000/($ref>0?$ref:1)}") MB/s"
echo "  sha256sum  ${sha} ms  $(awk "BEGIN{printf \"%.0f\", $HASH_MB*1000/($sha>0?$sha:1)}") MB/s   refeval/sha256sum time = $(awk "BEGIN{printf \"%.2f\", $ref/($sha>0?$sha:1)}")"

#!/bin/sh
# plan.sh: how long `refeval plan` and a no-op `refeval build` take on an
# N-stage exec pipeline whose stages are all cached, next to `make -q` on an
# equivalent Makefile, for N = 200, 2,000 and 10,000, in one run. Each pair
# is timed alternately; medians of RUNS runs. Also prints plan's time per
# stage, which stays flat when plan is linear in the number of stages.
# SHAPE "chain" (default) writes one stage block per step, in chains of 10;
# "foreach" writes one block whose for_each runs over a local of N keys
# (independent steps), which loads through one global evaluated once;
# "indexed" two blocks of N/2 keys, the second indexing the first by
# each.key (pairs of steps).
# Not run in CI (the 10,000-stage first build takes minutes).
# Usage: bench/plan.sh [RUNS] [SIZES] [SHAPE]   (from the repository root)
#        bench/plan.sh 5 "200 2000 10000"
#        bench/plan.sh 5 "200 2000 10000" foreach   (SIZES multiples of 100)
#        bench/plan.sh 5 "200 2000 10000" indexed   (SIZES multiples of 200)
set -eu
RUNS=${1:-5}
SIZES=${2:-"200 2000 10000"}
SHAPE=${3:-chain}
export GOEXPERIMENT=simd GOMLX_NO_AUTO_INSTALL=1
command -v make >/dev/null || { echo "plan.sh needs GNU make: apt-get install make" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
echo "building refeval into $work/bin" >&2
go build -o "$work/bin/refeval" ./cmd/refeval
refeval="$work/bin/refeval"

# gen N DIR writes N stages in chains of 10 (stage i copies in/i.txt and,
# unless i is 1 modulo 10, appends stage i-1's output) as p.hcl, and the
# same steps as a Makefile whose target stamp needs every output.
gen() {
  n=$1 d=$2
  mkdir -p "$d/in" "$d/out"
  awk -v n="$n" -v d="$d" 'BEGIN {
    for (i = 1; i <= n; i++) print "input " i > (d "/in/" i ".txt")
  }'
  if [ "$SHAPE" = foreach ]; then
    gen_foreach "$n" "$d"
    return
  fi
  if [ "$SHAPE" = indexed ]; then
    gen_indexed "$n" "$d"
    return
  fi
  awk -v n="$n" 'BEGIN {
    for (i = 1; i <= n; i++) {
      if (i % 10 == 1)
        printf "stage \"exec\" \"s%d\" {\n  command = [\"sh\", \"-c\", \"cat in/%d.txt > $OUT/o.txt\"]\n  inputs  = [\"in/%d.txt\"]\n}\n", i, i, i
      else
        printf "stage \"exec\" \"s%d\" {\n  command = [\"sh\", \"-c\", \"cat in/%d.txt ${stage.exec.s%d.out}/o.txt > $OUT/o.txt\"]\n  inputs  = [\"in/%d.txt\"]\n}\n", i, i, i - 1, i
    }
  }' > "$d/p.hcl"
  awk -v n="$n" 'BEGIN {
    printf "stamp:"
    for (i = 1; i <= n; i++) printf " out/%d.txt", i
    printf "\n\ttouch stamp\n"
    for (i = 1; i <= n; i++) {
      if (i % 10 == 1)
        printf "out/%d.txt: in/%d.txt\n\tcat in/%d.txt > $@\n", i, i, i
      else
        printf "out/%d.txt: in/%d.txt out/%d.txt\n\tcat in/%d.txt out/%d.txt > $@\n", i, i, i - 1, i, i - 1
    }
  }' > "$d/Makefile"
}

# foreach_hcl N NAME prints a local of N keys and a for_each block NAME
# over them whose instance k copies in/k.txt.
foreach_hcl() {
  cat <<EOF
locals {
  ids = toset(flatten([for j in range($(($1 / 100))) : [for i in range(100) : tostring(j * 100 + i + 1)]]))
}
stage "exec" "$2" {
  for_each = local.ids
  command  = ["sh", "-c", "cat in/\${each.key}.txt > \$OUT/o.txt"]
  inputs   = ["in/\${each.key}.txt"]
}
EOF
}

# gen_foreach N DIR writes one for_each block over N independent steps
# (after gen has written the inputs) and the equivalent Makefile.
gen_foreach() {
  n=$1 d=$2
  foreach_hcl "$n" s > "$d/p.hcl"
  awk -v n="$n" 'BEGIN {
    printf "stamp:"
    for (i = 1; i <= n; i++) printf " out/%d.txt", i
    printf "\n\ttouch stamp\n"
    for (i = 1; i <= n; i++) printf "out/%d.txt: in/%d.txt\n\tcat in/%d.txt > $@\n", i, i, i
  }' > "$d/Makefile"
}

# gen_indexed N DIR writes two for_each blocks of N/2 instances each, the
# second's instance k reading the first's instance k
# (stage.exec.a[each.key]), and the equivalent Makefile.
gen_indexed() {
  n=$1 d=$2
  {
    foreach_hcl $((n / 2)) a
    cat <<EOF
stage "exec" "b" {
  for_each = local.ids
  command  = ["sh", "-c", "cat \${stage.exec.a[each.key].out}/o.txt > \$OUT/o.txt"]
}
EOF
  } > "$d/p.hcl"
  awk -v n="$((n / 2))" 'BEGIN {
    printf "stamp:"
    for (i = 1; i <= n; i++) printf " out/b%d.txt", i
    printf "\n\ttouch stamp\n"
    for (i = 1; i <= n; i++) printf "out/a%d.txt: in/%d.txt\n\tcat in/%d.txt > $@\nout/b%d.txt: out/a%d.txt\n\tcat out/a%d.txt > $@\n", i, i, i, i, i, i
  }' > "$d/Makefile"
}

# now_ms prints the wall clock in milliseconds.
now_ms() { date +%s%3N; }
# ms CMD... runs CMD once and prints its wall time in milliseconds.
ms() {
  start=$(now_ms)
  "$@" >/dev/null 2>&1 || true
  end=$(now_ms)
  echo $((end - start))
}
# median reads numbers, one a line, and prints their median.
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ratio() { awk "BEGIN{printf \"%.2f\", $1/($2>0?$2:1)}"; }

printf '%-7s %11s %11s %11s %12s %13s %12s\n' stages "plan ms" "no-op ms" "make -q ms" "plan/make" "no-op/make" "plan us/stage"
for n in $SIZES; do
  d="$work/p$n"
  gen "$n" "$d"
  (cd "$d" && "$refeval" build -j 2 p.hcl >/dev/null 2>&1 && make -s -j 2 stamp >/dev/null)
  # Check that each tool really has nothing to do.
  (cd "$d" && "$refeval" build --json p.hcl 2>/dev/null | grep -q '"ran":\[\]') || { echo "refeval no-op build of $n stages ran stages" >&2; exit 1; }
  (cd "$d" && "$refeval" plan p.hcl 2>/dev/null | tail -1 | grep -q "^0 to run") || { echo "refeval plan of $n stages has stages to run" >&2; exit 1; }
  (cd "$d" && make -q stamp) || { echo "make -q: $n stages not up to date" >&2; exit 1; }
  : > "$work/plan" ; : > "$work/noop" ; : > "$work/make"
  for _ in $(seq 1 "$RUNS"); do
    (cd "$d" && ms "$refeval" plan p.hcl) >> "$work/plan"
    (cd "$d" && ms make -q stamp) >> "$work/make"
    (cd "$d" && ms "$refeval" build p.hcl) >> "$work/noop"
  done
  p=$(median < "$work/plan"); b=$(median < "$work/noop"); m=$(median < "$work/make")
  printf '%-7s %11s %11s %11s %12s %13s %12s\n' "$n" "$p" "$b" "$m" "$(ratio "$p" "$m")" "$(ratio "$b" "$m")" "$(awk "BEGIN{printf \"%.0f\", $p*1000/$n}")"
done
echo "$SHAPE pipelines; medians of $RUNS runs, each tool run alternately; ratios below 1 mean refeval is faster than make -q"

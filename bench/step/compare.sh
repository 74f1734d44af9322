#!/usr/bin/env bash
# Step split (forward, backward, optimiser) of main's code (a baseline commit, default e6bffb1) and of this
# checkout, interleaved in one run (base, new, base, new, ...), with the same harness (StepSplit.java, which uses
# only API the baseline has). Prints the per-variant medians and appends them to bench/step/results.md.
# Usage: bench/step/compare.sh [preset] [batch] [rounds] [steps per round] [baseline commit]
#        (defaults: small 2 3 2 e6bffb1; one untimed warm-up step per round)
# Needs: mvn (offline is fine once dependencies are in ~/.m2); builds worker-runtime of both into target dirs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
preset=${1:-small}
batch=${2:-2}
rounds=${3:-3}
steps=${4:-2}
base_commit=${5:-e6bffb1}
base=${BASE_DIR:-/tmp/hicmae-step-base-$base_commit}
if [[ ! -d $base/worker-runtime/target/classes ]]; then
  mkdir -p "$base"
  git -C "$root" archive "$base_commit" | tar -x -C "$base"
  (cd "$base" && mvn -B -q -o -pl worker-runtime compile)
fi
(cd "$root" && mvn -B -q -o -pl worker-runtime compile dependency:build-classpath -Dmdep.outputFile=target/step-cp.txt)
deps=$(cat "$root/worker-runtime/target/step-cp.txt")
export PYTORCH_VERSION=2.7.1 MALLOC_ARENA_MAX=2
samples=$(mktemp)
trap 'rm -f "$samples"' EXIT
for ((r = 1; r <= rounds; r++)); do
  for variant in base new; do
    classes=$root/worker-runtime/target/classes
    [[ $variant == base ]] && classes=$base/worker-runtime/target/classes
    java -Xmx6g -Dai.djl.offline=true -cp "$classes:$deps" "$root/bench/step/StepSplit.java" \
      "$variant" "$preset" "$batch" 1 "$steps" 2>/dev/null | grep -E '^(base|new) ' | tee -a "$samples"
  done
done
summary=$(awk '
  function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  { v = $1; n[v]++; f[v, n[v]] = $2; b[v, n[v]] = $3; o[v, n[v]] = $4; s[v, n[v]] = $5 }
  END {
    print "| variant | steps | forward ms | backward ms | optimiser ms | step ms | optimiser share |"
    print "|---|--:|--:|--:|--:|--:|--:|"
    for (v in n) {
      for (i = 1; i <= n[v]; i++) { F[i] = f[v, i]; B[i] = b[v, i]; O[i] = o[v, i]; S[i] = s[v, i] }
      mf = median(F, n[v]); mb = median(B, n[v]); mo = median(O, n[v]); ms = median(S, n[v])
      printf "| %s | %d | %.0f | %.0f | %.0f | %.0f | %.1f%% |\n", v, n[v], mf, mb, mo, ms, 100 * mo / ms
    }
  }' "$samples")
{
  echo
  echo "## $(date -u +%F) step split, $preset batch $batch: baseline $base_commit vs $(git -C "$root" rev-parse --short HEAD) (interleaved, $rounds rounds x $steps steps)"
  echo
  echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average at the end $(cut -d' ' -f1-3 /proc/loadavg) (shared machine)"
  echo
  echo "$summary"
} | tee -a "$root/bench/step/results.md"

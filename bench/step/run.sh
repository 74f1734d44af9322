#!/usr/bin/env bash
# Training-step benchmark (forward + backward + AdamW) and resident-memory check; appends to results.md.
# Usage: bench/step/run.sh [preset] [batch] [steps]   (defaults: small 2 10)
# Needs a build: mvn -B -q -DskipTests package
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
preset=${1:-small}
batch=${2:-2}
steps=${3:-10}
out="$root/bench/step/results.md"
{
  echo
  echo "## $(date -u +%F) $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo '```'
  "$root/bin/hicmae" bench step --preset "$preset" --batch "$batch" --steps "$steps" --warmup 2 2>/dev/null
  "$root/bin/hicmae" bench memory --preset tiny --batch 2 --at 200,1000,2000 2>/dev/null
  echo '```'
} | tee -a "$out"

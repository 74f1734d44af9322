#!/usr/bin/env bash
# Checkpoint cost: the training thread's stall per checkpoint, asynchronous (copy to host memory, upload in the
# background) against synchronous (today's write on the training thread), interleaved in one run; as a fraction of
# a step and amortised over checkpoint-every 100. Appends to bench/checkpoint/results.md.
# Usage: bench/checkpoint/run.sh [preset] [batch] [repetitions]   (defaults: small 2 5)
# Needs a build: mvn -B -q -DskipTests package
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
preset=${1:-small}
batch=${2:-2}
reps=${3:-5}
out="$root/bench/checkpoint/results.md"
{
  echo
  echo "## $(date -u +%F) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load average before $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo '```'
  "$root/bin/hicmae" bench checkpoint --preset "$preset" --batch "$batch" --reps "$reps" --every 100 2>/dev/null
  echo '```'
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$out"

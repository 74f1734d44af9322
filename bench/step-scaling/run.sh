#!/usr/bin/env bash
# Data-parallel step overhead: the real `hicmae pretrain` with 1 rank pinned (taskset) to 1 core, then 2 ranks pinned
# to 2 cores. Pinning gives equal per-rank resources: PretrainJob sizes spark.task.cpus, and so each rank's libtorch
# threads, from the cores the JVM sees (1 per rank in both runs), and each rank's loader thread, its all-reduce and
# Spark share those cores. Reads rank 0's metrics.jsonl, skips the warm-up steps and prints a Markdown table; appends
# it to bench/step-scaling/results.md. About 3 minutes on 2 idle cores at the defaults.
# Usage: bench/step-scaling/run.sh [preset] [batch per rank] [steps] [warm-up steps]   (defaults: small 2 10 2)
# Needs a build (mvn -B -DskipTests package), taskset and jq. Makes a 24-clip synthetic dataset once (about a
# minute) under $HICMAE_BENCH_DIR (default ${TMPDIR:-/tmp}/hicmae-step-scaling), or set HICMAE_BENCH_DATA.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
preset=${1:-small}
batch=${2:-2}
steps=${3:-10}
warmup=${4:-2}
work=${HICMAE_BENCH_DIR:-${TMPDIR:-/tmp}/hicmae-step-scaling}
data=${HICMAE_BENCH_DATA:-$work/clips}
out="$root/bench/step-scaling/results.md"
hicmae="$root/bin/hicmae"

for tool in taskset jq; do
  command -v "$tool" >/dev/null || { echo "step-scaling: $tool is missing" >&2; exit 2; }
done
if (( $(nproc) < 2 )); then
  echo "step-scaling: needs 2 cores, this machine offers $(nproc)" >&2
  exit 2
fi
if (( warmup < 1 || steps < warmup + 2 )); then
  echo "step-scaling: need 1 <= warm-up steps ($warmup) <= steps ($steps) - 2" >&2
  exit 2
fi
# On one core the JVM would pick the serial collector, on two G1: the same collector for both runs.
export HICMAE_JAVA_OPTS="${HICMAE_JAVA_OPTS:-} -XX:+UseG1GC"
mkdir -p "$work"
if [[ ! -f "$data/_dataset.json" ]]; then
  "$hicmae" synth --out "$work/videos" --videos 8 --seconds 8 --seed 1 >&2
  "$hicmae" prep --input "$work/videos" --output "$data" >&2
fi

# Waits until the driver printed step $2 of the run in log $1 (or the JVM $3 ended); prints "nanos cpu-ticks" then.
at_step() {
  until grep -q "^step $2/" "$1"; do
    kill -0 "$3" 2>/dev/null || return 0
    sleep 0.2
  done
  echo "$(date +%s%N) $(awk '{print $14 + $15}' "/proc/$3/stat")"
}

# One run; prints the path of rank 0's metrics.jsonl, then the JVM's CPU ms and the wall ms from the end of the
# warm-up to the end of the last step but one (all ranks are threads of that JVM in local mode). Its log is kept.
run() {
  local ranks=$1 cpus=$2 id log pid a b
  id="scaling-$ranks-$(date +%s)"
  log="$work/$id.log"
  taskset -c "$cpus" "$hicmae" pretrain --data "$data" --zoo "$work/zoo" --preset "$preset" --world-size "$ranks" \
    --batch-size "$batch" --epochs 100000 --max-steps "$steps" --checkpoint-every "$steps" --run-id "$id" \
    >"$log" 2>&1 &
  pid=$!  # bin/hicmae and taskset exec, so this is the JVM
  a=$(at_step "$log" "$warmup" "$pid")
  b=$(at_step "$log" "$((steps - 1))" "$pid")  # before the last step, which also writes the checkpoint
  wait "$pid" || { tail -n 30 "$log" >&2; echo "step-scaling: see $log" >&2; exit 1; }
  ls "$work/zoo/_runs/$id/checkpoints/"*/metrics.jsonl | tail -n 1
  read -r t0 c0 <<<"$a"
  read -r t1 c1 <<<"$b"
  echo "$(( (c1 - c0) * 1000 / $(getconf CLK_TCK) )) $(( (t1 - t0) / 1000000 ))"
}

# Medians over the steps after the warm-up; step = data + compute + all-reduce + optimiser (checkpoints excluded).
# Adds the JVM's CPU ms per rank and step and the cores it got (CPU / wall), over the same steps but the last: under
# load from other processes the wall times stretch, while the CPU per rank-step still shows what data parallelism
# itself costs.
summary() {
  local ranks=$1 metrics cpu wall
  { read -r metrics; read -r cpu wall; } <<<"$2"
  jq -s --argjson w "$warmup" --argjson ranks "$ranks" --argjson cpu "$cpu" --argjson wall "$wall" '
    def med(f): (map(f) | sort) as $v | ($v | length) as $n
      | if $n % 2 == 1 then $v[($n - 1) / 2] else ($v[$n / 2 - 1] + $v[$n / 2]) / 2 end;
    def total: .ms_data + .ms_compute + .ms_allreduce + .ms_optimizer;
    map(select(.step > $w))
    | {n: length, step: med(total), data: med(.ms_data), compute: med(.ms_compute),
       allreduce: med(.ms_allreduce), optimizer: med(.ms_optimizer),
       allreduce_share: ((map(.ms_allreduce) | add) / (map(total) | add)),
       data_share: ((map(.ms_data) | add) / (map(total) | add)),
       cpu_per_rank_step: ($cpu / $ranks / (length - 1)), cores: ($cpu / $wall)}' "$metrics"
}

load1=$(cut -d' ' -f1-3 /proc/loadavg)
one=$(summary 1 "$(run 1 0)")
load2=$(cut -d' ' -f1-3 /proc/loadavg)
two=$(summary 2 "$(run 2 0,1)")
load3=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo
  echo "## $(date -u '+%F %H:%M') UTC, $(nproc) cores, preset $preset, batch $batch per rank, steps $((warmup + 1))-$steps"
  echo
  echo "Load average (1, 5, 15 min) before the 1-rank run: $load1; before the 2-rank run: $load2; after: $load3."
  echo "Each rank: 1 core (taskset), 1 libtorch thread (spark.task.cpus = 1), 1 loader thread; G1 in both runs. Times are rank 0's"
  echo "medians in ms; the all-reduce time includes waiting for the slower rank."
  echo
  echo "| ranks | step | data wait | compute | all-reduce | optimiser | all-reduce share | data-wait share | CPU ms per rank-step | cores used |"
  echo "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
  for r in 1 2; do
    s=$([[ $r == 1 ]] && echo "$one" || echo "$two")
    jq -r --arg r "$r" '"| \($r) | \(.step | round) | \(.data * 10 | round / 10) | \(.compute | round) | \(.allreduce | round)'\
' | \(.optimizer | round) | \(.allreduce_share * 1000 | round / 10)% | \(.data_share * 1000 | round / 10)%'\
' | \(.cpu_per_rank_step | round) | \(.cores * 100 | round / 100) |"' <<<"$s"
  done
  echo
  jq -nr --argjson a "$one" --argjson b "$two" \
    '"2-rank step overhead over 1 rank: \((($b.step / $a.step) - 1) * 1000 | round / 10)% (target <= 10%);'\
' data wait \($b.data_share * 1000 | round / 10)% of the 2-rank step time (target <= 5%)."'
} | tee -a "$out"

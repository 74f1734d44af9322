#!/usr/bin/env bash
# Pre-training steps across emulated hosts: one rank per network namespace (bench/netns/hosts.sh: bridge, each
# host's veth shaped to RATE with tbf), each rank its own JVM (io.hicmae.runtime.bench.RankStepBench) pinned to its
# own core with one libtorch thread, training PRESET on generated clips. Steps alternate between the modes: plain
# (all-reduce, then the optimiser), overlap (the optimiser overlapped with the bucketed all-reduce) and backward (that
# all-reduce also beside the staged backward pass, bucket by bucket as the gradients are written); rank 0 prints the
# medians and the overlap target step <= 1.10 x (compute + max(all-reduce, optimiser)). With --ranks 1,2 it runs one
# rank alone (one core) and then the ranks together, interleaved --rounds times, and prints the step overhead of 2
# ranks over 1 (issue target <= 10% at 5 Gbit/s, fp32 wire, overlap on). With --twin the 1-rank run has a twin: an
# identical, unconnected 1-rank job on the other core, so that both runs share the machine's 2 cores alike (caches,
# memory bandwidth, the hypervisor) and the overhead is the communication's, as between hosts with their own cores.
# Every JVM starts with bin/hicmae's glibc malloc settings (MallocTuning) unless GLIBC_TUNABLES is set.
#
# Usage: bench/step-scaling/netns.sh [--ranks 2 | --ranks 1,2] [--rate 1gbit] [--preset small] [--batch 2]
#          [--steps 6] [--warmup 2] [--bucket-mb 25] [--modes plain,overlap,backward] [--rounds 1] [--twin]
#          [--dtypes fp32 | --dtypes fp32,bf16] [--job pretrain|finetune] [--cores-per-rank 1] [--out FILE]
#   --dtypes: the wire formats of the multi-rank runs, interleaved in each round (bf16 chunks on the wire, fp32
#   accumulation; the 1-rank run has no wire).
#   --job finetune: full fine-tuning of PRESET (upstream's recipe) instead of pre-training.
#   --cores-per-rank K: each emulated host (and the twin) gets K cores (taskset) and K libtorch threads, so that the
#   wire's CPU work need not share the compute's core; needs K x ranks cores (K x 2 with --twin).
# Needs root, ip, tc, taskset and a compiled worker-runtime (the script compiles it); results go to stdout and FILE
# (default bench/step-scaling/netns-<date>[-N].md).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/bench/netns/hosts.sh"
ranks_list=2 rate=1gbit preset=small batch=2 steps=6 warmup=2 bucket=25 modes=plain,overlap,backward rounds=1 out="" cp="" twin=0 dtypes=fp32 job=pretrain cores=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ranks) ranks_list=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --preset) preset=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --bucket-mb) bucket=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --cp) cp=$2; shift 2 ;;
    --twin) twin=1; shift ;;
    --dtypes) dtypes=$2; shift 2 ;;
    --job) job=$2; shift 2 ;;
    --cores-per-rank) cores=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "unknown flag $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
hosts_check
command -v taskset >/dev/null || { echo "$0 needs taskset" >&2; exit 3; }
maxranks=$(tr , '\n' <<< "$ranks_list" | sort -n | tail -1)
(( twin == 0 || maxranks >= 2 )) || maxranks=2 # the twin runs in host 1's namespace
tunables=${GLIBC_TUNABLES:-$(sed -n 's/^malloc_tunables="\(.*\)"$/\1/p' "$root/bin/hicmae")}
[[ $cores =~ ^[1-9][0-9]*$ ]] || { echo "invalid --cores-per-rank $cores: a positive integer" >&2; exit 2; }
(( maxranks * cores <= $(nproc) )) || echo "warning: $maxranks ranks x $cores cores on $(nproc) cores share cores" >&2
[[ -n $out ]] || out=$(hosts_results_file "$root/bench/step-scaling" netns)
[[ -n $cp ]] || cp=$(hosts_runtime_cp "$root")
hosts_up "$maxranks" "$rate"
head -c 32 /dev/urandom > "$hosts_tmp/secret"
{
  echo "# Pre-training steps across $maxranks network namespaces, $(date -u '+%F %H:%M UTC')"
  echo
  echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, shared with other work; load at start:" \
    "$(cut -d' ' -f1-3 /proc/loadavg). Links: bridge + veth, egress \`tbf rate $rate burst 256kb latency 50ms\`." \
    "Job $job, preset $preset, batch $batch per rank, $steps timed steps per mode after $warmup warm-up, modes $modes," \
    "buckets of $bucket MB, $cores core(s) (taskset) and $cores libtorch thread(s) per rank, wire $dtypes," \
    "GLIBC_TUNABLES=$tunables.$( ((twin)) && echo " The 1-rank runs have a twin on the other core (--twin).")"
  echo
} | tee "$out"

run_ranks() { # N [DTYPE] -> rank 0's report
  local n=$1 dtype=${2:-fp32} r peers="" pids=() failed=0
  for ((r = 0; r < n; r++)); do peers+="${hosts_addr[r]}:29500,"; done
  peers=${peers%,}
  start_rank() { # rank peers core name
    local c cpus=""
    for ((c = 0; c < cores; c++)); do cpus+="$(( ($3 * cores + c) % $(nproc) )),"; done
    ip netns exec "${hosts_ns[$3]}" taskset -c "${cpus%,}" env PYTORCH_VERSION=2.7.1 \
      OMP_NUM_THREADS="$cores" \
      MALLOC_ARENA_MAX=2 GLIBC_TUNABLES="$tunables" java -Xmx1g -XX:+UseG1GC -Dai.djl.offline=true \
      -Dlog4j2.loggerContextFactory=org.apache.logging.log4j.simple.SimpleLoggerContextFactory \
      -cp "$cp" io.hicmae.runtime.bench.RankStepBench --rank "$1" --peers "$2" --secret-file "$hosts_tmp/secret" \
      --preset "$preset" --batch "$batch" --steps "$steps" --warmup "$warmup" --bucket-mb "$bucket" --modes "$modes" \
      --allreduce-dtype "$dtype" --job "$job" --threads "$cores" > "$hosts_tmp/rank-$n-$4.out" 2> "$hosts_tmp/rank-$n-$4.err" &
    pids+=($!)
    hosts_track $!
  }
  for ((r = n - 1; r >= 0; r--)); do
    start_rank "$r" "$peers" "$r" "$r"
  done
  if (( twin && n == 1 )); then
    start_rank 0 "${hosts_addr[1]}:29500" 1 twin
  fi
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  if [[ $failed -ne 0 ]]; then
    echo "ranks failed:" >&2
    tail -n 20 "$hosts_tmp"/rank-"$n"-*.err >&2
    return 1
  fi
  cat "$hosts_tmp/rank-$n-0.out"
}

for ((k = 1; k <= rounds; k++)); do
  for n in ${ranks_list//,/ }; do
    for dtype in ${dtypes//,/ }; do
      (( n > 1 )) || [[ $dtype == "${dtypes%%,*}" ]] || continue # one rank has no wire: run it once
      echo "## round $k, $n rank(s), wire $dtype, load $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$out"
      run_ranks "$n" "$dtype" | tee -a "$out" "$hosts_tmp/all.lines"
    done
  done
done
if [[ $ranks_list == *,* || $dtypes == *,* ]]; then
  /usr/bin/python3 - "$hosts_tmp/all.lines" <<'PY' | tee -a "$out"
import re, statistics, sys
steps = {}
for line in open(sys.argv[1]):
    m = re.match(r"preset .*?, (\d+) ranks, .*?wire (\w+)", line)
    if m:
        n, wire = int(m[1]), m[2] if int(m[1]) > 1 else "-"
    m = re.match(r"(\w+): step ([0-9.]+) ms", line)
    if m:
        steps.setdefault((m[1], n, wire), []).append(float(m[2]))
for mode, n, wire in sorted(k for k in steps if k[1] > 1):
    two = steps[(mode, n, wire)]
    b = statistics.median(two)
    one = steps.get((mode, 1, "-"))
    if one:
        a = statistics.median(one)
        print(f"- {mode}, wire {wire}: 1 rank {a:.1f} ms, {n} ranks {b:.1f} ms: {n}-rank step overhead"
              f" {100 * (b / a - 1):+.1f}% (target <= 10%; rounds 1 rank {one}, {n} ranks {two})")
        plain = steps.get(("plain", 1, "-"))
        if plain and mode != "plain":
            p = statistics.median(plain)
            print(f"  - over the 1-rank plain step ({p:.1f} ms): {100 * (b / p - 1):+.1f}%")
    else:
        print(f"- {mode}, wire {wire}: {n} ranks {b:.1f} ms (median of rounds {two})")
PY
fi
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
echo "wrote $out" >&2

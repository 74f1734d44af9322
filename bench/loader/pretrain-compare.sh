#!/usr/bin/env bash
# End to end: `hicmae pretrain` on the demo preset (1 rank, CPU) with main's jars and with this checkout's,
# interleaved (main, branch, main, branch, ...), on the bench/loader dataset. Per run: the median over steps 4..N of
# the step's time (data wait + compute + all-reduce + optimiser + checkpoint, from metrics.jsonl), clips/s from it,
# the median data wait, and the command's wall time. Shows whether CPU training got slower end to end.
# Usage: bench/loader/pretrain-compare.sh [ROUNDS] [STEPS] [BATCH]   (defaults 3, 16, 4); ORDER="branch main" runs
# this checkout first in each round.
# Needs: this checkout's jars (mvn -B -DskipTests package), main's under $MAIN (run.sh builds them), the dataset of
# run.sh under $LOADER_BENCH_DIR/clips.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=${1:-3}
steps=${2:-16}
batch=${3:-4}
work=${LOADER_BENCH_DIR:-/tmp/hicmae-loader-bench}
baseline=${BASELINE_COMMIT:-4740614}
main=${MAIN:-$work/main-$baseline}
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
echo "# pretrain demo, 1 rank, batch $batch, $steps steps: main $baseline vs $(git -C "$root" rev-parse --short HEAD)"
echo "# $(lscpu | grep 'Model name' | sed 's/  */ /g'), $(nproc) cores; machine shared with other work"
for r in $(seq 1 "$rounds"); do
  for variant in ${ORDER:-main branch}; do
    dir=$root
    [[ $variant == main ]] && dir=$main
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    t0=$(date +%s.%N)
    "$dir/bin/hicmae" pretrain --data "file://$work/clips" --zoo "file://$runs/zoo-$variant-$r" --preset demo \
      --world-size 1 --batch-size "$batch" --max-steps "$steps" --checkpoint-every 100000 --notice-every 100000 \
      --seed 7 > "$runs/$variant-$r.log" 2>&1 || { echo "$variant round $r failed:"; tail -20 "$runs/$variant-$r.log"; exit 1; }
    t1=$(date +%s.%N)
    metrics=$(ls -d "$runs/zoo-$variant-$r"/_runs/*/checkpoints/step-* | awk -F'step-' '{print $NF, $0}' \
      | sort -n | tail -1 | cut -d' ' -f2)/metrics.jsonl
    python3 - "$metrics" "$variant" "$r" "$load" "$t0" "$t1" <<'PY'
import json, statistics, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
tail = [l for l in lines if l['step'] > 3]
step = [sum(l.get(k, 0) for k in ('ms_data', 'ms_compute', 'ms_allreduce', 'ms_optimizer', 'ms_checkpoint')) for l in tail]
ms = statistics.median(step)
print(f"{sys.argv[2]} round {sys.argv[3]} (load {sys.argv[4]}): {len(lines)} steps, median step {ms:.0f} ms, "
      f"{lines[0]['clips'] * 1000 / ms:.2f} clips/s, median data wait {statistics.median(l['ms_data'] for l in tail):.1f} ms, "
      f"median compute {statistics.median(l['ms_compute'] for l in tail):.0f} ms, wall {float(sys.argv[6]) - float(sys.argv[5]):.0f} s, "
      f"final loss {lines[-1]['loss']:.4f}")
PY
  done
done
echo "# end, load: $(cut -d' ' -f1-3 /proc/loadavg)"

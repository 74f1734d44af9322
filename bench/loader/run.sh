#!/usr/bin/env bash
# bench/loader: host-side clips/s of the pre-training loader, main's (host crop + normalise + fbank) against this
# branch's in both forms (device: I/O only, what a GPU rank's loader does; host: crop, normalise and fbank on the
# loader thread, what a CPU rank's loader does), and the independent yardstick: DuckDB with one thread reading the
# frames and pcm columns of the same files. Rounds are interleaved (machine shared: ratios, not absolutes); every figure also comes per CPU second of
# the reading thread/process, which load on other cores disturbs less.
#
# Usage: bench/loader/run.sh [ROUNDS] [SECONDS]   (defaults 5, 15); needs node + npm, and the jars of
# `mvn -B -DskipTests package`. Writes bench/loader/results-<date>.txt.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=${1:-5}
seconds=${2:-15}
work=${LOADER_BENCH_DIR:-/tmp/hicmae-loader-bench}
baseline=${BASELINE_COMMIT:-4740614}
mkdir -p "$work"
out="$here/results-$(date -u +%Y-%m-%dT%H%M).txt"

# the dataset: 40 synthetic videos of 12 s (160 clips), as the issue asks
if [[ ! -f "$work/clips/_dataset.json" ]]; then
  "$root/bin/hicmae" synth --out "$work/videos" --videos 40 --seconds 12
  "$root/bin/hicmae" prep --input "$work/videos" --output "$work/clips"
fi
# main's jars, built once from a clean export of the baseline commit
main="$work/main-$baseline"
if [[ ! -f "$main/driver/target/hicmae-driver.jar" ]]; then
  rm -rf "$main" && mkdir -p "$main"
  git -C "$root" archive "$baseline" | tar -x -C "$main"
  (cd "$main" && mvn -B -q -DskipTests package)
fi
(cd "$here" && [[ -d node_modules/@duckdb/node-api ]] || npm install --no-audit --no-fund --silent)

export PYTORCH_VERSION=2.7.1
main_cp="$main/driver/target/lib/*:$main/driver/target/hicmae-driver.jar"
{
  echo "# bench/loader $(date -u +%FT%TZ), branch $(git -C "$root" rev-parse --short HEAD), baseline $baseline"
  echo "# $(lscpu | grep 'Model name' | sed 's/  */ /g'), $(nproc) cores; machine shared with other work"
  echo "# clips per CPU second: of the loader thread (java) or the process (duckdb); wall clips/s depend on the load"
  echo "# dataset: $work/clips (hicmae synth --videos 40 --seconds 12, then prep): demo geometry, batch 8, 1 thread"
} | tee "$out"
for r in $(seq 1 "$rounds"); do
  echo "## round $r, load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
  java -Dai.djl.offline=true -cp "$main_cp" "$here/MainLoader.java" "file://$work/clips" demo 8 "$seconds" 2>/dev/null \
    | grep -E "loader" | sed 's/^/main: /' | tee -a "$out"
  "$root/bin/hicmae" bench loader --data "file://$work/clips" --preset demo --batch 8 --threads 1 \
    --preprocessing device --seconds "$seconds" 2>/dev/null | grep -E "^(loader|host|longest)" \
    | sed 's/^/branch: /' | tee -a "$out"
  "$root/bin/hicmae" bench loader --data "file://$work/clips" --preset demo --batch 8 --threads 1 \
    --preprocessing host --seconds "$seconds" 2>/dev/null | grep -E "^(loader|host|longest)" \
    | sed 's/^/branch-host: /' | tee -a "$out"
  node "$here/duckdb-read.mjs" "$work/clips" "$seconds" copy | sed 's/^/duckdb: /' | tee -a "$out"
  node "$here/duckdb-read.mjs" "$work/clips" "$seconds" length | sed 's/^/duckdb: /' | tee -a "$out"
done
echo "## end, load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
# medians per reader: wall clips/s and clips per CPU second
python3 "$here/summarise.py" "$out" | tee -a "$out"

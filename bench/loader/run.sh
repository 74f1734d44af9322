#!/usr/bin/env bash
# bench/loader: host-side clips/s of the pre-training loader, main's (host crop + normalise + fbank) against this
# branch's (I/O only), and the independent yardstick: DuckDB with one thread reading the frames and pcm columns of the
# same files. Rounds are interleaved (machine shared: ratios, not absolutes); every figure also comes per CPU second of
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
baseline=${BASELINE_COMMIT:-e6bffb1}
mkdir -p "$work"
out="$here/results-$(date -u +%Y-%m-%d).txt"

# the dataset: 40 synthetic videos of 12 s (160 clips), as the issue asks
if [[ ! -f "$work/clips/_dataset.json" ]]; then
  "$root/bin/hicmae" synth --out "$work/videos" --videos 40 --seconds 12
  "$root/bin/hicmae" prep --input "$work/videos" --output "$work/clips"
fi
# main's jars, built once from a clean export of the baseline commit
if [[ ! -f "$work/main/driver/target/hicmae-driver.jar" ]]; then
  rm -rf "$work/main" && mkdir -p "$work/main"
  git -C "$root" archive "$baseline" | tar -x -C "$work/main"
  (cd "$work/main" && mvn -B -q -DskipTests package)
fi
(cd "$here" && [[ -d node_modules/@duckdb/node-api ]] || npm install --no-audit --no-fund --silent)

export PYTORCH_VERSION=2.7.1
main_cp="$work/main/driver/target/lib/*:$work/main/driver/target/hicmae-driver.jar"
{
  echo "# bench/loader $(date -u +%FT%TZ), branch $(git -C "$root" rev-parse --short HEAD), baseline $baseline"
  echo "# $(lscpu | grep 'Model name' | sed 's/  */ /g'), $(nproc) cores; machine shared with other work"
  echo "# dataset: $work/clips (hicmae synth --videos 40 --seconds 12, then prep): demo geometry, batch 8, 1 thread"
} | tee "$out"
for r in $(seq 1 "$rounds"); do
  echo "## round $r, load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
  java -Dai.djl.offline=true -cp "$main_cp" "$here/MainLoader.java" "file://$work/clips" demo 8 "$seconds" 2>/dev/null \
    | grep -E "loader" | sed 's/^/main: /' | tee -a "$out"
  "$root/bin/hicmae" bench loader --data "file://$work/clips" --preset demo --batch 8 --threads 1 \
    --seconds "$seconds" 2>/dev/null | grep -E "^(loader|host)" | sed 's/^/branch: /' | tee -a "$out"
  node "$here/duckdb-read.mjs" "$work/clips" "$seconds" copy | sed 's/^/duckdb: /' | tee -a "$out"
  node "$here/duckdb-read.mjs" "$work/clips" "$seconds" length | sed 's/^/duckdb: /' | tee -a "$out"
done
echo "## end, load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
# medians per reader: wall clips/s and clips per CPU second
python3 - "$out" <<'PY' | tee -a "$out"
import re, statistics, sys
text = open(sys.argv[1]).read()
def med(pattern):
    v = [float(x) for x in re.findall(pattern, text)]
    return (statistics.median(v), len(v)) if v else (float('nan'), 0)
rows = {
    'main loader': (r'main: main loader: ([\d.]+) clips/s', r'main: loader thread: [\d.]+ CPU s, ([\d.]+) clips per'),
    'branch loader': (r'branch: loader: [\d.]+ clips/s per thread, total ([\d.]+) clips/s',
                      r'branch: loader threads: .*?, ([\d.]+) clips per loader CPU'),
    'duckdb copy': (r'duckdb: duckdb single-thread read \(copy\): ([\d.]+) clips/s',
                    r'duckdb: duckdb 1 thread \(copy\):.*?, ([\d.]+) clips per CPU'),
    'duckdb length': (r'duckdb: duckdb single-thread read \(length\): ([\d.]+) clips/s',
                      r'duckdb: duckdb 1 thread \(length\):.*?, ([\d.]+) clips per CPU'),
}
print('# medians: reader, wall clips/s, clips per CPU second (n)')
m = {}
for k, (wall, cpu) in rows.items():
    w, n = med(wall)
    c, _ = med(cpu)
    m[k] = (w, c)
    print(f'{k}: {w:.1f} clips/s wall, {c:.1f} clips per CPU s (n={n})')
best = max(m['duckdb copy'][1], m['duckdb length'][1])
bw = max(m['duckdb copy'][0], m['duckdb length'][0])
print(f"branch / main: {m['branch loader'][0] / m['main loader'][0]:.1f}x wall, "
      f"{m['branch loader'][1] / m['main loader'][1]:.1f}x per CPU s")
print(f"duckdb (faster mode) / branch: {bw / m['branch loader'][0]:.2f}x wall, {best / m['branch loader'][1]:.2f}x per CPU s "
      f"(target <= 2.5x)")
PY

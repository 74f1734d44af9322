#!/usr/bin/env bash
# Prep throughput per core: clips per CPU second of `hicmae prep` (Spark local[1]; the CPU time of its tasks,
# which decode, compress and write Parquet) on synthetic 224x224 25 fps talking faces, beside the `ffmpeg` program
# doing the same decode work on the same files with one thread (its user + sys time): decode every frame, scale to
# 224x224, crop 160x160 at (32, 0), convert to rgb24, resample the audio to 16 kHz mono s16. CPU time rather than
# wall time, so other load on a shared machine does not skew the ratio; wall-clock clips/s is printed too.
# Target: prep >= 0.8x ffmpeg. Also reports bytes per clip of the written Parquet.
#
# Usage: bench/prep/run.sh [videos] [seconds-per-video]   (defaults 32 and 32)
#   ROUNDS=N      repeat prep (and ffmpeg) N times on the same files, interleaved, and print medians (default 1)
#   BASE=DIR      a built checkout of another revision: its bin/hicmae prep runs in each round too, interleaved
# Installs ffmpeg with apt-get when missing (for this comparison only: the product needs no system FFmpeg);
# skips the comparison when that is not possible.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
videos=${1:-32}
seconds=${2:-32}
work=$(mktemp -d -t hicmae-bench-prep-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$root"

if [[ ! -f driver/target/hicmae-driver.jar ]]; then
  mvn -B -q -DskipTests package
fi

bin/hicmae synth --out "$work/in" --videos "$videos" --seconds "$seconds" --seed 1 >/dev/null
rounds=${ROUNDS:-1}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
builds=("$root")
[[ -n "${BASE:-}" ]] && builds+=("$(cd "$BASE" && pwd)")
: > "$work/rates"
for ((r = 1; r <= rounds; r++)); do
  for ((b = 0; b < ${#builds[@]}; b++)); do
    "${builds[$b]}/bin/hicmae" prep --input "$work/in" --output "$work/out-$r-$b" --master 'local[1]' 2>/dev/null \
      > "$work/prep.log"
    done_line=$(grep '^prep done:' "$work/prep.log")
    prep_rate=$(sed -E 's/.*; ([0-9.]+) clips per task CPU second\).*/\1/' <<<"$done_line")
    echo "$b $prep_rate" >> "$work/rates"
    echo "round $r ${builds[$b]}: $prep_rate clips per CPU second"
  done
done
done_line=$(grep '^prep done:' "$work/prep.log")
wall_rate=$(sed -E 's/.*\(([0-9.]+) clips\/s per core;.*/\1/' <<<"$done_line")
clips=$(sed -E 's/.*, clips=([0-9]+),.*/\1/' <<<"$done_line")
bytes_per_clip=$(sed -E 's/.*bytes_per_clip=([0-9]+);.*/\1/' <<<"$done_line")
prep_rate=$(awk '$1 == 0 { print $2 }' "$work/rates" | median)
if [[ ${#builds[@]} -gt 1 ]]; then
  base_rate=$(awk '$1 == 1 { print $2 }' "$work/rates" | median)
  echo "base:   ${builds[1]}: median $base_rate clips per CPU second over $rounds rounds"
fi

echo "prep:   $clips clips from $videos videos of $seconds s; median $prep_rate clips per CPU second over $rounds" \
  "rounds ($wall_rate clips/s per core by wall clock, last round); $bytes_per_clip bytes per clip (zstd Parquet)"

if ! command -v ffmpeg >/dev/null; then
  (apt-get update -q && apt-get install -y -q --no-install-recommends ffmpeg) >/dev/null 2>&1 || true
fi
if ! command -v ffmpeg >/dev/null; then
  echo "ffmpeg: not available (apt-get install ffmpeg failed); comparison skipped"
  exit 0
fi

TIMEFORMAT='%U %S'
for ((r = 1; r <= rounds; r++)); do
cpu=$( { time (
  for f in "$work"/in/*.mp4; do
    ffmpeg -nostdin -v error -threads 1 -filter_threads 1 -i "$f" \
      -map 0:v -vf 'scale=224:224:flags=bilinear,crop=160:160:32:0' -pix_fmt rgb24 -f rawvideo -y /dev/null \
      -map 0:a -ac 1 -ar 16000 -f s16le -y /dev/null
  done
) ; } 2>&1 )
awk -v c="$clips" -v t="$cpu" 'BEGIN { split(t, a, " "); printf "%.2f\n", c / (a[1] + a[2]) }' >> "$work/ffmpeg"
done
ffmpeg_rate=$(median < "$work/ffmpeg")
ratio=$(awk -v p="$prep_rate" -v f="$ffmpeg_rate" 'BEGIN { printf "%.2f", p / f }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.8 ? "meets" : "misses") }')
echo "ffmpeg: median $ffmpeg_rate clips per CPU second over $rounds rounds ($(ffmpeg -version | head -1 | cut -d' ' -f1-3), one thread, same work)"
echo "ratio:  prep / ffmpeg = $ratio ($verdict the 0.8x target)"

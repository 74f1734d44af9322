#!/usr/bin/env bash
# Prep throughput per core: clips per CPU second of `hicmae prep` (Spark local[1]; the CPU time of its tasks,
# which decode, compress and write Parquet) on synthetic 224x224 25 fps talking faces, beside the `ffmpeg` program
# doing the same decode work on the same files with one thread (its user + sys time): decode every frame, scale to
# 224x224, crop 160x160 at (32, 0), convert to rgb24, resample the audio to 16 kHz mono s16. CPU time rather than
# wall time, so other load on a shared machine does not skew the ratio; wall-clock clips/s is printed too.
# Target: prep >= 0.8x ffmpeg. Also reports bytes per clip of the written Parquet.
#
# Usage: bench/prep/run.sh [videos] [seconds-per-video]   (defaults 32 and 32)
# Installs ffmpeg with apt-get when missing; skips the comparison when that is not possible.
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
bin/hicmae prep --input "$work/in" --output "$work/out" --master 'local[1]' 2>/dev/null | tee "$work/prep.log"
done_line=$(grep '^prep done:' "$work/prep.log")
wall_rate=$(sed -E 's/.*\(([0-9.]+) clips\/s per core;.*/\1/' <<<"$done_line")
prep_rate=$(sed -E 's/.*; ([0-9.]+) clips per task CPU second\).*/\1/' <<<"$done_line")
clips=$(sed -E 's/.*, clips=([0-9]+),.*/\1/' <<<"$done_line")
bytes_per_clip=$(sed -E 's/.*bytes_per_clip=([0-9]+);.*/\1/' <<<"$done_line")

echo "prep:   $clips clips from $videos videos of $seconds s; $prep_rate clips per CPU second" \
  "($wall_rate clips/s per core by wall clock); $bytes_per_clip bytes per clip (zstd Parquet)"

if ! command -v ffmpeg >/dev/null; then
  (apt-get update -q && apt-get install -y -q --no-install-recommends ffmpeg) >/dev/null 2>&1 || true
fi
if ! command -v ffmpeg >/dev/null; then
  echo "ffmpeg: not available (apt-get install ffmpeg failed); comparison skipped"
  exit 0
fi

TIMEFORMAT='%U %S'
cpu=$( { time (
  for f in "$work"/in/*.mp4; do
    ffmpeg -nostdin -v error -threads 1 -filter_threads 1 -i "$f" \
      -map 0:v -vf 'scale=224:224:flags=bilinear,crop=160:160:32:0' -pix_fmt rgb24 -f rawvideo -y /dev/null \
      -map 0:a -ac 1 -ar 16000 -f s16le -y /dev/null
  done
) ; } 2>&1 )
ffmpeg_rate=$(awk -v c="$clips" -v t="$cpu" 'BEGIN { split(t, a, " "); printf "%.2f", c / (a[1] + a[2]) }')
ratio=$(awk -v p="$prep_rate" -v f="$ffmpeg_rate" 'BEGIN { printf "%.2f", p / f }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.8 ? "meets" : "misses") }')
echo "ffmpeg: $ffmpeg_rate clips per CPU second ($(ffmpeg -version | head -1 | cut -d' ' -f1-3), one thread, same work)"
echo "ratio:  prep / ffmpeg = $ratio ($verdict the 0.8x target)"

#!/usr/bin/env bash
# The README's first command's main job, timed against a baseline build: `bin/hicmae quickstart` of BASE_ROOT (a
# checkout of the baseline commit with its jars built: `mvn -B -q -DskipTests package` there) and of this checkout,
# interleaved (new, base, new, base, ...), each in a fresh directory. Prints wall and CPU seconds (user + sys of the
# whole JVM) per run and the pre-training rate the run printed last; appends to bench/quickstart/results.md.
# Usage: BASE_ROOT=/path/to/baseline-checkout bench/quickstart/compare.sh [rounds]   (default 3)
# Needs GNU time (/usr/bin/time). The baseline e6bffb1 decodes through JavaCV, which needs the system's libpulse0.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
base=${BASE_ROOT:?set BASE_ROOT to a built checkout of the baseline commit}
rounds=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lines=()
for ((i = 1; i <= rounds; i++)); do
  for variant in new base; do
    dir=$root; [[ $variant == base ]] && dir=$base
    mkdir -p "$work/$variant-$i"
    l0=$(cut -d' ' -f1 /proc/loadavg)
    (cd "$work/$variant-$i" && /usr/bin/time -f '%e %U %S' -o time.txt "$dir/bin/hicmae" quickstart > log.txt 2>&1)
    read -r e u s < "$work/$variant-$i/time.txt"
    rate=$(grep -E '^step [0-9]+/[0-9]+ ' "$work/$variant-$i/log.txt" | tail -1 | grep -oE '[0-9.]+ clips/s')
    line="| $variant | $i | $e | $(echo "$u + $s" | bc) | $rate | $l0..$(cut -d' ' -f1 /proc/loadavg) |"
    echo "$line"
    lines+=("$line")
  done
done
{
  echo
  echo "## $(date -u '+%F %H:%M') quickstart: $(git -C "$base" rev-parse --short HEAD) (base) vs $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD || echo ' with uncommitted changes') (new), interleaved"
  echo
  echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo
  echo "| variant | round | wall s | CPU s | pretrain rate | load |"
  echo "|---|--:|--:|--:|---|---|"
  printf '%s\n' "${lines[@]}"
} >> "$root/bench/quickstart/results.md"

#!/usr/bin/env bash
# One GPU check in one go (< 10 minutes on one GPU): golden parity (fp32), `bench step` fp32 and fp16 for the small
# and base presets, and `bench loader` when the build has it; appends the results to a file.
# Without a GPU it runs the CPU path (tiny preset, a few steps) so CI keeps it working.
# Usage: bench/gpu/run.sh [--cpu] [--skip-golden] [--out FILE] [--data URI]
#   --cpu    force the CPU path even where a GPU is present
#   --skip-golden  leave out the golden check (CI: GoldenSuiteTest already runs it; on 2 shared cores it takes minutes)
#   --out    results file (default bench/gpu/results.md)
#   --data   a prep output for `bench loader` (default: none on the CPU path; a small synthetic set on the GPU path)
# Needs: Java 17+, a build (mvn -B -DskipTests package); on a GPU machine the CUDA 12.8 flavour of libtorch 2.7.1
# (see driver/README.md, "A GPU machine").
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out="$root/bench/gpu/results.md"
mode=auto
data=
golden_check=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cpu) mode=cpu; shift ;;
    --skip-golden) golden_check=0; shift ;;
    --out) out=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "bench/gpu/run.sh: unknown argument $1 (usage: [--cpu] [--skip-golden] [--out FILE] [--data URI])" >&2; exit 2 ;;
  esac
done

missing=()
if ! command -v java >/dev/null; then
  missing+=("java (JDK 17 or newer on PATH)")
elif ! java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; then
  missing+=("Java 17 or newer (found: $(java -version 2>&1 | head -1))")
fi
if [[ ! -f "$root/driver/target/hicmae-driver.jar" || ! -d "$root/driver/target/lib" ]]; then
  missing+=("the build: mvn -B -DskipTests package (driver/target/hicmae-driver.jar and driver/target/lib)")
fi
if [[ $mode == auto ]]; then
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then mode=gpu; else mode=cpu; fi
fi
if [[ $mode == gpu ]]; then
  # DJL 0.36 binds libtorch 2.7.1; the CUDA flavour is cu128: either its Maven jar beside the others, or an
  # unpacked libtorch named by PYTORCH_LIBRARY_PATH (with PYTORCH_FLAVOR=cu128).
  if ! ls "$root"/driver/target/lib/pytorch-native-cu128-*.jar >/dev/null 2>&1 \
      && [[ ! -f "${PYTORCH_LIBRARY_PATH:-/nonexistent}/libtorch_cuda.so" ]]; then
    missing+=("CUDA libtorch 2.7.1 (cu128): ai.djl.pytorch:pytorch-native-cu128:2.7.1:linux-x86_64 in driver/target/lib, or PYTORCH_LIBRARY_PATH=<libtorch>/lib holding libtorch_cuda.so and PYTORCH_FLAVOR=cu128")
  fi
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "bench/gpu/run.sh ($mode path) cannot run; missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 3
fi
if [[ $mode == gpu && -n ${PYTORCH_LIBRARY_PATH:-} ]]; then
  export PYTORCH_FLAVOR=${PYTORCH_FLAVOR:-cu128}
fi

hicmae="$root/bin/hicmae"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log="$tmp/results.md"
start=$(date +%s)
run() { # title, command...
  local t0=$SECONDS
  { echo; echo "### $1"; echo; echo '```'; echo "\$ ${*:2}"; } >>"$log"
  if "${@:2}" >>"$log" 2>"$tmp/stderr"; then
    echo "(${SECONDS}s total so far, this one $((SECONDS - t0)) s)" >>"$log"
  else
    local rc=$?
    tail -20 "$tmp/stderr" >>"$log"
    echo "FAILED (exit $rc)" >>"$log"
    failed=$((failed + 1))
  fi
  echo '```' >>"$log"
}
failed=0
{
  echo
  echo "## $(date -u +%FT%TZ) $mode path, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
  if [[ $mode == gpu ]]; then echo "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"; fi
} >>"$log"

golden="$root/../shared/golden"
if [[ $golden_check == 0 ]]; then
  echo "golden skipped (--skip-golden)" >>"$log"
elif [[ -d $golden ]]; then
  run "golden (fp32)" "$hicmae" golden --dir "$golden"
else
  echo "golden skipped: $golden not found" >>"$log"
fi
if [[ $mode == gpu ]]; then
  for preset in small base; do
    for precision in fp32 fp16; do
      run "bench step $preset $precision" "$hicmae" bench step --device gpu --preset "$preset" --batch 8 \
        --warmup 3 --steps 10 --precision "$precision"
    done
  done
else
  for precision in fp32 fp16; do
    run "bench step tiny $precision (CPU path)" "$hicmae" bench step --device cpu --preset tiny --batch 2 \
      --warmup 1 --steps 3 --precision "$precision"
  done
fi
if "$hicmae" bench loader --help >/dev/null 2>&1; then
  if [[ -z $data && $mode == gpu ]]; then
    "$hicmae" synth --out "$tmp/videos" --videos 8 --seconds 6 >/dev/null 2>&1 \
      && "$hicmae" prep --input "$tmp/videos" --output "$tmp/clips" >/dev/null 2>&1 && data="$tmp/clips"
  fi
  if [[ -n $data ]]; then
    run "bench loader" "$hicmae" bench loader --data "$data" --seconds 20
  else
    echo "bench loader skipped: no --data given (the CPU path does not prepare a dataset)" >>"$log"
  fi
else
  echo "bench loader skipped: this build has no 'bench loader'" >>"$log"
fi
echo "total $(( $(date +%s) - start )) s, $failed failed" >>"$log"
mkdir -p "$(dirname "$out")"
cat "$log" >>"$out"
cat "$log"
[[ $failed -eq 0 ]]

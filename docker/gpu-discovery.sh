#!/usr/bin/env bash
# Spark's GPU discovery script (spark.executor.resource.gpu.discoveryScript): prints the GPUs this container sees
# as {"name":"gpu","addresses":["0","1"]}. Fails loudly when there is no usable nvidia-smi or no GPU, so an
# executor on a wrongly scheduled node dies at start instead of training on the CPU.
set -euo pipefail

if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu-discovery: nvidia-smi is not on the PATH ($PATH); the executor needs a GPU node and the NVIDIA container runtime" >&2
  exit 1
fi

if ! out=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>&1); then
  echo "gpu-discovery: nvidia-smi --query-gpu=index failed: $out" >&2
  exit 1
fi

addresses=""
while IFS= read -r line; do
  index="${line//[[:space:]]/}"
  [[ -z "$index" ]] && continue
  if [[ ! "$index" =~ ^[0-9]+$ ]]; then
    echo "gpu-discovery: unexpected GPU index '$line' from nvidia-smi" >&2
    exit 1
  fi
  addresses+="${addresses:+,}\"$index\""
done <<<"$out"

if [[ -z "$addresses" ]]; then
  echo "gpu-discovery: nvidia-smi lists no GPU" >&2
  exit 1
fi
printf '{"name":"gpu","addresses":[%s]}\n' "$addresses"

#!/usr/bin/env bash
# The ring all-reduce across emulated hosts: N network namespaces joined by a bridge, each host's veth shaped to
# RATE with tbf (egress), one rank per namespace as its own JVM (the bench's per-process mode), Gloo's all-reduce
# (Debian's python3-torch, installed when missing) in the same namespaces as the reference, and the raw TCP rate
# between two of the hosts. Prints, per size, `busbw X GB/s = Y% of the link bound` (the bound is the shaped rate;
# bytes are the fp32 gradient bytes reduced, whatever travels). Needs root, ip and tc.
#
# Usage: bench/allreduce/netns.sh --ranks N --rate R --mb M [--allreduce-dtype fp32|bf16] [--iters 5] [--warmup 5]
#          [--rounds 1] [--sizes-mb 16,64,M] [--baseline-cp CLASSPATH] [--no-gloo] [--chunk-kib 1024] [--out FILE]
#   R: a tc rate (1gbit, 500mbit) or a number of Gbit/s. M: the largest size in MB (10^6 bytes).
#   --rounds K repeats ring, baseline and Gloo K times, interleaved, and prints the median of each per size.
#   --baseline-cp runs AllReduceProcessBench from another build (e.g. main's ring) beside this one, interleaved.
#   --cp CLASSPATH runs the ring from there instead of building worker-runtime here.
#   --overlap-buckets-mb B measures the bucketed all-reduce with an optimiser in its callbacks instead (no Gloo).
#   --cut A:B --run-s D --io-timeout-s T: the ranks all-reduce M MB back to back for D s; A s in, host 1's link
#   goes down for B s (`ip link set <veth> down`). B < T is survived (a slower step); B > T fails the ring and the
#   error names the silent peer.
# Results go to stdout and to bench/allreduce/netns-<date>[-N].md (or --out). Unique names per run; every exit
# removes the namespaces, the bridge and the processes this script started.
set -euo pipefail

ranks=2 rate=1gbit mb=64 dtype=fp32 iters=5 rounds=1 sizes="" baseline_cp="" gloo=1 out="" chunk_kib=1024 cp="" warmup=5 overlap_mb=0 cut="" io_timeout=120 run_s=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ranks) ranks=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --mb) mb=$2; shift 2 ;;
    --allreduce-dtype) dtype=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --sizes-mb) sizes=$2; shift 2 ;;
    --baseline-cp) baseline_cp=$2; shift 2 ;;
    --no-gloo) gloo=0; shift ;;
    --chunk-kib) chunk_kib=$2; shift 2 ;;
    --cp) cp=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --overlap-buckets-mb) overlap_mb=$2; gloo=0; shift 2 ;;
    --cut) cut=$2; gloo=0; shift 2 ;;
    --io-timeout-s) io_timeout=$2; shift 2 ;;
    --run-s) run_s=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "unknown flag $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ $dtype == fp32 || $dtype == bf16 ]] || { echo "--allreduce-dtype must be fp32 or bf16, not $dtype" >&2; exit 2; }
[[ $ranks -ge 2 && $ranks -le 16 ]] || { echo "--ranks must be in [2, 16], not $ranks" >&2; exit 2; }
case "$rate" in
  *gbit) gbit=${rate%gbit} ;;
  *mbit) gbit=$(awk "BEGIN{print ${rate%mbit}/1000}") ;;
  *[!0-9.]*) echo "--rate must be like 2gbit, 500mbit or a number of Gbit/s, not $rate" >&2; exit 2 ;;
  *) gbit=$rate; rate=${rate}gbit ;;
esac
[[ -n $sizes ]] || sizes=$(printf '%s\n' 16 64 "$mb" | awk -v m="$mb" '$1<=m' | sort -nu | paste -sd,)
maxmb=$(tr , '\n' <<< "$sizes" | sort -n | tail -1)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/bench/netns/hosts.sh"
hosts_check
[[ -n $out ]] || out=$(hosts_results_file "$root/bench/allreduce" netns)

# ---------------------------------------------------------------- build
[[ -n $cp ]] || cp=$(hosts_runtime_cp "$root")
if [[ $gloo -eq 1 ]] && ! /usr/bin/python3 -c 'import torch.distributed' 2>/dev/null; then
  echo "installing Debian's python3-torch for the Gloo reference" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch >&2
fi

# ---------------------------------------------------------------- hosts
hosts_up "$ranks" "$rate"
sfx=$hosts_sfx tmp=$hosts_tmp
addrs=("${hosts_addr[@]}")
track() { hosts_track "$1"; }
peers=$(for a in "${addrs[@]}"; do printf '%s:29500,' "$a"; done)
peers=${peers%,}
head -c 32 /dev/urandom > "$tmp/secret"

{
  echo "# Ring all-reduce across $ranks network namespaces, $(date -u '+%F %H:%M UTC')"
  echo
  echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, shared with other work; load at start:" \
    "$(cut -d' ' -f1-3 /proc/loadavg). Kernel $(uname -r). Links: bridge + veth (MTU 1500), each host's egress" \
    "shaped by \`tc qdisc add dev <veth> root tbf rate $rate burst 256kb latency 50ms\`. Wire: $dtype." \
    "Sizes $sizes MB, median of $iters after $warmup warm-up, $rounds round(s) interleaved. busbw = fp32 bytes / time" \
    "x 2(n-1)/n; the link bound is the shaped rate ($gbit Gbit/s = $(awk "BEGIN{print $gbit/8}") GB/s)."
  echo
} | tee "$out"

# ---------------------------------------------------------------- raw TCP between hosts 0 and 1
raw_tcp() {
  local secs=3
  ip netns exec "${hosts_ns[1]}" /usr/bin/python3 -c '
import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], 29600)); s.listen(1)
s.settimeout(60); c,_=s.accept(); c.settimeout(60); n=0; b=bytearray(1<<22); m=memoryview(b)
while True:
    k=c.recv_into(m)
    if k==0: break
    n+=k
c.sendall(b"ok")
' "${addrs[1]}" &
  local srv=$!
  track "$srv"
  sleep 1
  ip netns exec "${hosts_ns[0]}" /usr/bin/python3 -c '
import socket,sys,time
gbit=float(sys.argv[3]); total=int(gbit*1e9/8*float(sys.argv[2]))
s=socket.create_connection((sys.argv[1], 29600), timeout=60); b=b"\0"*(1<<22); n=0; t=time.perf_counter()
while n<total: s.sendall(b); n+=len(b)
s.shutdown(socket.SHUT_WR); s.recv(2); dt=time.perf_counter()-t
print(f"raw TCP host 0 -> host 1: {n*8/dt/1e9:.3f} Gbit/s = {100*n*8/dt/1e9/gbit:.1f}% of the shaped rate ({gbit:g} Gbit/s)")
' "${addrs[1]}" "$secs" "$gbit"
  wait "$srv" || true
}
raw_tcp | tee -a "$out"

# Waits for every rank of a run (label, pids); prints rank 0's lines, or the ranks' errors and fails.
await_ranks() {
  local label=$1 p failed=0
  shift
  for p in "$@"; do wait "$p" || failed=1; done
  if [[ $failed -ne 0 ]]; then
    echo "$label failed:" >&2
    tail -n 20 "$tmp/$label"-*.err >&2
    return 1
  fi
  cat "$tmp/$label-0.out"
}

run_ring() { # label classpath
  local label=$1 classpath=$2 r
  local -a mine=() mode=()
  # Only the modes' own flags: a baseline build of the plain mode knows none of them.
  if [[ $overlap_mb -gt 0 ]]; then mode+=(--overlap-buckets-mb "$overlap_mb"); fi
  if [[ $run_s -gt 0 ]]; then mode+=(--run-s "$run_s" --io-timeout-s "$io_timeout"); fi
  for ((r = ranks - 1; r >= 0; r--)); do
    ip netns exec "${hosts_ns[r]}" java -Xmx$((overlap_mb > 0 ? 3 * maxmb + 256 : 256))m -XX:MaxDirectMemorySize=2g \
      -XX:+UseSerialGC \
      -Dlog4j2.loggerContextFactory=org.apache.logging.log4j.simple.SimpleLoggerContextFactory \
      -cp "$classpath" io.hicmae.runtime.allreduce.AllReduceProcessBench --rank "$r" --peers "$peers" \
      --secret-file "$tmp/secret" --sizes-mb "$sizes" --iters "$iters" --warmup "$warmup" --allreduce-dtype "$dtype" --chunk-kib "$chunk_kib" \
      --link-gbit "$gbit" --label "$label" "${mode[@]}" > "$tmp/$label-$r.out" 2> "$tmp/$label-$r.err" &
    mine+=($!)
    track $!
  done
  await_ranks "$label" "${mine[@]}"
}

run_gloo() {
  local r
  local -a mine=()
  for ((r = ranks - 1; r >= 0; r--)); do
    ip netns exec "${hosts_ns[r]}" env GLOO_SOCKET_IFNAME="hvn$sfx$r" OMP_NUM_THREADS=1 /usr/bin/python3 \
      "$root/bench/allreduce/gloo_allreduce.py" "$r" "$ranks" "${addrs[0]}" 29700 "$sizes" "$iters" "$warmup" "$gbit" \
      > "$tmp/gloo-$r.out" 2> "$tmp/gloo-$r.err" &
    mine+=($!)
    track $!
  done
  await_ranks gloo "${mine[@]}"
}

if [[ -n $cut ]]; then
  [[ $run_s -gt 0 ]] || run_s=$(( ${cut%%:*} + ${cut##*:} + 20 ))
  sizes=$mb
  echo "cut: host 1's link down ${cut##*:} s from ${cut%%:*} s into a ${run_s} s run, io-timeout ${io_timeout} s" \
    | tee -a "$out"
  ( sleep "${cut%%:*}"; ip link set "${hosts_veth[1]}" down; echo "link of host 1 down at $(date -u +%T)";
    sleep "${cut##*:}"; ip link set "${hosts_veth[1]}" up; echo "link of host 1 up at $(date -u +%T)" ) | tee -a "$out" &
  cutter=$!
  status=0
  run_ring ring "$cp" > /dev/null || status=$?
  wait "$cutter" || true
  for ((r = 0; r < ranks; r++)); do
    { grep -E "failed|took" "$tmp/ring-$r.out" || true; } \
      | awk -v r="$r" 'NR<=2 || /failed/ {print} END {print "rank " r ": " NR " steps reported"}' | tee -a "$out"
    { tail -n 3 "$tmp/ring-$r.out" | grep -v failed || true; } | tee -a "$out"
  done
  echo "ring exit status: $status" | tee -a "$out"
  exit 0
fi

for ((k = 1; k <= rounds; k++)); do
  echo "round $k, load $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$out"
  run_ring ring "$cp" | tee -a "$out" "$tmp/all.lines"
  if [[ -n $baseline_cp ]]; then run_ring baseline "$baseline_cp" | tee -a "$out" "$tmp/all.lines"; fi
  if [[ $gloo -eq 1 ]]; then run_gloo | tee -a "$out" "$tmp/all.lines"; fi
done

if [[ $rounds -gt 1 ]]; then
  echo | tee -a "$out"
  echo "Medians over $rounds rounds (of each round's median):" | tee -a "$out"
  /usr/bin/python3 - "$tmp/all.lines" "$gbit" <<'PY' | tee -a "$out"
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) (\S+) (\d+) ranks (\d+) MB: time .*?, busbw ([0-9.]+) GB/s", line)
    if m:
        rows.setdefault((int(m[4]), m[1], m[2], int(m[3])), []).append(float(m[5]))
for (mb, label, dtype, n), v in sorted(rows.items()):
    b = statistics.median(v)
    print(f"- {label} {dtype} {n} ranks {mb} MB: busbw {b:.3f} GB/s = {100 * b / (float(sys.argv[2]) / 8):.1f}%"
          f" of the link bound (rounds: {', '.join(f'{x:.3f}' for x in v)})")
PY
fi
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
echo "wrote $out" >&2

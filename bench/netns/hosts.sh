#!/usr/bin/env bash
# Emulated hosts for the benches and tests across real links, sourced (not run): `hosts_up N RATE` creates N network
# namespaces joined by a bridge, each host's veth egress shaped by `tc qdisc add dev <veth> root tbf rate RATE
# burst 256kb latency 50ms` (netem is not in these kernels: no added delay), with unique names, and registers a trap
# that removes them, the bridge and every process `hosts_track`ed on any exit. After it: $hosts_sfx, $hosts_br,
# $hosts_tmp (a private directory), hosts_ns[r] (namespace of host r), hosts_addr[r] (its address), hosts_veth[r]
# (its bridge-side veth, for `ip link set ... down`). Needs root, ip and tc; `hosts_check` says so and exits 3.

hosts_check() {
  if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null || ! command -v tc >/dev/null; then
    echo "$(basename "$0") needs root, ip and tc (network namespaces, veth, bridge, tbf)" >&2
    exit 3
  fi
}

hosts_track() { echo "$1" >> "$hosts_tmp/pids"; }

hosts_cleanup() {
  local p
  # Only processes still inside this run's namespaces: a pid that ended may have been reused by someone else.
  hosts_ours() { [[ $(ip netns identify "$1" 2>/dev/null) == "hns$hosts_sfx-"* ]]; }
  if [[ -f $hosts_tmp/pids ]]; then
    while read -r p; do if hosts_ours "$p"; then kill "$p" 2>/dev/null || true; fi; done < "$hosts_tmp/pids"
    sleep 0.5
    while read -r p; do if hosts_ours "$p"; then kill -9 "$p" 2>/dev/null || true; fi; done < "$hosts_tmp/pids"
  fi
  for p in "${hosts_ns[@]}"; do ip netns del "$p" 2>/dev/null || true; done
  ip link del "$hosts_br" 2>/dev/null || true
  rm -rf "$hosts_tmp"
}

# hosts_up N RATE
hosts_up() {
  local n=$1 rate=$2 r net
  hosts_sfx=$(printf '%04x' $((RANDOM ^ $$ & 0xffff)))
  hosts_br="hbr$hosts_sfx"
  hosts_tmp=$(mktemp -d "/tmp/netns-hosts-$hosts_sfx.XXXX")
  : > "$hosts_tmp/pids"
  hosts_ns=() hosts_addr=() hosts_veth=()
  trap hosts_cleanup EXIT
  trap 'exit 130' INT TERM
  # A /24 nobody on this machine uses yet.
  for _ in $(seq 50); do
    net="10.$((64 + RANDOM % 128)).$((RANDOM % 250))"
    ip -o addr | grep -q " $net\." || break
  done
  hosts_net=$net
  ip link add "$hosts_br" type bridge
  ip link set "$hosts_br" up
  for ((r = 0; r < n; r++)); do
    hosts_ns+=("hns$hosts_sfx-$r")
    ip netns add "hns$hosts_sfx-$r"
    ip link add "hvh$hosts_sfx$r" type veth peer name "hvn$hosts_sfx$r"
    hosts_veth+=("hvh$hosts_sfx$r")
    ip link set "hvh$hosts_sfx$r" master "$hosts_br" up
    ip link set "hvn$hosts_sfx$r" netns "hns$hosts_sfx-$r"
    ip -n "hns$hosts_sfx-$r" addr add "$net.$((r + 10))/24" dev "hvn$hosts_sfx$r"
    ip -n "hns$hosts_sfx-$r" link set lo up
    ip -n "hns$hosts_sfx-$r" link set "hvn$hosts_sfx$r" up
    ip netns exec "hns$hosts_sfx-$r" tc qdisc add dev "hvn$hosts_sfx$r" root tbf rate "$rate" burst 256kb latency 50ms
    hosts_addr+=("$net.$((r + 10))")
  done
}

# hosts_results_file DIR PREFIX: DIR/PREFIX-<date>.md, or -2, -3, ... when taken (a new file per run).
hosts_results_file() {
  local f="$1/$2-$(date +%F).md" i=2
  while [[ -e "$f" ]]; do f="$1/$2-$(date +%F)-$((i++)).md"; done
  echo "$f"
}

# hosts_runtime_cp ROOT: compiles worker-runtime (offline) and prints its runtime classpath, classes first.
hosts_runtime_cp() {
  local cp_file="$1/worker-runtime/target/runtime.classpath"
  (cd "$1" && mvn -B -q -o -Dstyle.color=never -pl worker-runtime -DskipTests compile dependency:build-classpath \
    -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=runtime) >&2
  echo "$1/worker-runtime/target/classes:$(cat "$cp_file")"
}

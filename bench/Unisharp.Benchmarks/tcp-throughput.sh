#!/usr/bin/env bash
# TCP receive throughput of examples/network (a sink on port 8080) against a Linux sender, as issue 4 measures it:
#   tap-offload  our stack over a TAP device with checksum/segmentation offload (the default)
#   tap-plain    the same with --net-offload=off
#   socket       the host's sockets (--net socket), the sender across a veth pair: Linux against Linux
# Each case runs in network namespaces made here (198.18.5.0/24, 198.18.6.0/24) and deleted on exit.
# Usage (root): bench/Unisharp.Benchmarks/tcp-throughput.sh [binary] [rounds] [MiB per transfer]
# The binary defaults to examples/network/dist/network (./unisharp build examples/network). Not a test: the numbers
# depend on the machine and its load.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${1:-$root/examples/network/dist/network}"
rounds="${2:-3}"
mib="${3:-512}"
[[ -x "$bin" ]] || { echo "no executable $bin: run ./unisharp build examples/network" >&2; exit 2; }
log="$(mktemp -d)"
namespaces=()
app=""
cleanup() {
  [[ -n "$app" ]] && kill "$app" 2>/dev/null && wait "$app" 2>/dev/null || true
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$log"
}
trap cleanup EXIT

# send NS ADDRESS: one transfer of $mib MiB of zeros; prints the app's MB/s for it.
send() {
  ip netns exec "$1" bash -c "dd if=/dev/zero bs=1M count=$mib iflag=fullblock 2>/dev/null | nc -N $2 8080"
  sleep 0.3
}

run_tap() {  # run_tap NAME [device options]
  local name=$1; shift
  local ns="usbench-$name-$$"
  ip netns add "$ns"; namespaces+=("$ns")
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" "$bin" --net tap:tap0 "$@" --ipv4=198.18.5.2/24 > "$log/$name" 2>&1 &
  app=$!
  for _ in $(seq 100); do ip netns exec "$ns" ip link show tap0 >/dev/null 2>&1 && break; sleep 0.1; done
  ip netns exec "$ns" ip addr add 198.18.5.1/24 dev tap0
  ip netns exec "$ns" ip link set tap0 up
  sleep 1
  for _ in $(seq "$rounds"); do send "$ns" 198.18.5.2; done
  kill "$app"; wait "$app" 2>/dev/null || true; app=""
}

run_socket() {
  local a="usbench-sa-$$" b="usbench-sb-$$"
  ip netns add "$a"; namespaces+=("$a"); ip netns add "$b"; namespaces+=("$b")
  ip link add "usb$$" netns "$a" type veth peer name "usc$$" netns "$b"
  ip netns exec "$a" ip link set lo up; ip netns exec "$b" ip link set lo up
  ip netns exec "$a" ip addr add 198.18.6.2/24 dev "usb$$"; ip netns exec "$a" ip link set "usb$$" up
  ip netns exec "$b" ip addr add 198.18.6.1/24 dev "usc$$"; ip netns exec "$b" ip link set "usc$$" up
  ip netns exec "$a" "$bin" --net socket > "$log/socket" 2>&1 &
  app=$!
  sleep 1.5
  for _ in $(seq "$rounds"); do send "$b" 198.18.6.2; done
  kill "$app"; wait "$app" 2>/dev/null || true; app=""
}

# The sink logs "... (N MB/s)" at the end of each connection.
rates() { grep -o '([0-9.]* MB/s)' "$log/$1" | tr -d '(' | cut -d' ' -f1 | tr '\n' ' '; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

run_tap tap-offload
run_tap tap-plain --net-offload=off
run_socket
for case in tap-offload tap-plain socket; do
  printf '%-12s MB/s: %s (median %s)\n' "$case" "$(rates "$case")" "$(rates "$case" | median)"
done
ours=$(rates tap-offload | median); linux=$(rates socket | median)
awk -v o="$ours" -v l="$linux" 'BEGIN { printf "ratio tap-offload / socket: %.2f\n", o / l }'

#!/bin/bash
# How the TCP segments in TcpCaptures.cs were recorded (as root, with tcpdump, nc and python3): nc connects
# 198.18.0.1:5000 -> 198.18.0.2:7000, sends "hello" and closes; then a SYN to the closed port 7001 gets a reset.
# Namespaces are created and always deleted. Print with: tcpdump -r tcp.pcap -nn -xx
set -u
A=nsA-tcpcap-$$; B=nsB-tcpcap-$$
OUT=${1:-tcp.pcap}
cleanup() { ip netns del $A 2>/dev/null; ip netns del $B 2>/dev/null; }
trap cleanup EXIT
txoff() {
  ip netns exec $1 python3 -c "
import socket,fcntl,struct,ctypes
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
v=ctypes.create_string_buffer(struct.pack('II',0x17,0))
fcntl.ioctl(s,0x8946,struct.pack('16sP',b'$2',ctypes.addressof(v)))"
}
ip netns add $A && ip netns add $B || exit 1
ip link add vA netns $A type veth peer name vB netns $B || exit 1
ip -n $A link set vA address 02:00:00:00:00:0a
ip -n $B link set vB address 02:00:00:00:00:0b
ip -n $A addr add 198.18.0.1/24 dev vA
ip -n $B addr add 198.18.0.2/24 dev vB
ip -n $A link set vA up; ip -n $B link set vB up
txoff $A vA; txoff $B vB
ip netns exec $A tcpdump -i vA -w "$OUT" -U tcp 2>/dev/null & TD=$!
sleep 1
ip netns exec $B timeout 5 nc -l -s 198.18.0.2 -p 7000 > /dev/null & sleep 0.5
printf 'hello' | ip netns exec $A timeout 5 nc -N -p 5000 198.18.0.2 7000
sleep 0.5
# RST: connect to a closed port
ip netns exec $A timeout 2 nc -p 5001 198.18.0.2 7001 </dev/null
sleep 1; kill $TD; wait $TD 2>/dev/null

#!/bin/bash
# How the frames in Captures.cs were recorded (as root, on Linux with tcpdump, python3 and dnsmasq).
# Two namespaces joined by a veth pair, 198.18.0.1 (02:00:00:00:00:0a) and 198.18.0.2 (02:00:00:00:00:0b),
# transmit checksum offload off so the captured checksums are final. Everything is deleted on exit.
# Print the frames as hex with: tcpdump -r capture.pcap -xx
set -u
A=nsA-capture-$$; B=nsB-capture-$$
OUT=${1:-capture.pcap}
cleanup() { [ -n "${DM:-}" ] && kill $DM 2>/dev/null; ip netns del $A 2>/dev/null; ip netns del $B 2>/dev/null; }
trap cleanup EXIT
txoff() { # ethtool -K IF tx off, without ethtool: SIOCETHTOOL with ETHTOOL_STXCSUM
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
ip -n $A link set vA up; ip -n $B link set vB up
txoff $A vA; txoff $B vB
ip netns exec $A tcpdump -i vA -w "$OUT" -U 2>/dev/null & TD=$!
# DHCP: dnsmasq serves; a scripted client sends DISCOVER then REQUEST (xid 0x3903f326).
ip netns exec $A dnsmasq --no-daemon --conf-file=/dev/null --interface=vA --bind-interfaces --port=0 \
  --dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0,120 --dhcp-option=3,198.18.0.1 --dhcp-option=6,198.18.0.1 \
  --dhcp-leasefile=/tmp/capture-$$.leases 2>/dev/null & DM=$!
sleep 1.5
ip netns exec $B python3 -c "
import socket,struct,time
mac=bytes.fromhex('02000000000b')
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET,socket.SO_BROADCAST,1); s.setsockopt(socket.SOL_SOCKET,25,b'vB\0'); s.bind(('0.0.0.0',68))
def msg(t,opts):
    m=struct.pack('!BBBBIHHIIII',1,1,6,0,0x3903f326,0,0x8000,0,0,0,0)+mac+bytes(202)+bytes([99,130,83,99])+bytes([53,1,t])+opts+bytes([55,4,1,3,6,51,255])
    return m+bytes(max(0,300-len(m)))
s.sendto(msg(1,b''),('255.255.255.255',67)); time.sleep(4)
s.sendto(msg(3,bytes([50,4,198,18,0,104,54,4,198,18,0,1])),('255.255.255.255',67)); time.sleep(1)"
ip -n $B addr add 198.18.0.2/24 dev vB
# ICMP echo (with and without fragmentation) and UDP: an echo on 7000, then a datagram to the closed port 7001.
ip netns exec $A ping -c 1 -W 1 -p 61626364 -s 8 198.18.0.2 >/dev/null
ip netns exec $A ping -c 1 -W 1 -s 2000 198.18.0.2 >/dev/null
ip netns exec $B python3 -c "
import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('198.18.0.2',7000)); s.settimeout(2)
d,a=s.recvfrom(100); s.sendto(d.upper(),a)" & sleep 0.5
ip netns exec $A python3 -c "
import socket,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('198.18.0.1',5000)); s.settimeout(2)
s.sendto(b'hello',('198.18.0.2',7000)); s.recvfrom(100); s.sendto(b'closed?',('198.18.0.2',7001)); time.sleep(0.3)"
sleep 1; kill $TD; wait $TD 2>/dev/null; rm -f /tmp/capture-$$.leases

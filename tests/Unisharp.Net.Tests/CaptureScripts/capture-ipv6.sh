#!/bin/bash
# How the IPv6 frames in Ipv6Captures.cs were recorded (as root, on Linux with tcpdump, iputils ping and radvd).
# Two namespaces joined by a veth pair, A at 02:00:00:00:00:0a (fe80::aff:fe00:a, fd00:198:18::1) and
# B at 02:00:00:00:00:0b (fe80::ff:fe00:b by EUI-64), transmit checksum offload off. Everything is deleted on exit.
# Print the frames as hex with: tcpdump -r capture-ipv6.pcap -xx
set -u
A=nsA-cap6-$$; B=nsB-cap6-$$
OUT=${1:-capture-ipv6.pcap}
cleanup() { [ -n "${RD:-}" ] && kill $RD 2>/dev/null; ip netns del $A 2>/dev/null; ip netns del $B 2>/dev/null; rm -f /tmp/radvd-$$.*; }
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
ip netns exec $A sysctl -qw net.ipv6.conf.vA.addr_gen_mode=0 net.ipv6.conf.vA.forwarding=1
ip netns exec $B sysctl -qw net.ipv6.conf.vB.addr_gen_mode=0 net.ipv6.conf.vB.accept_ra=2
ip -n $A addr add fd00:198:18::1/64 dev vA nodad
txoff $A vA; txoff $B vB
ip -n $A link set vA up
ip netns exec $A tcpdump -i vA -w "$OUT" -U ip6 2>/dev/null & TD=$!
sleep 1
ip -n $B link set vB up
cat > /tmp/radvd-$$.conf <<CONF
interface vA { AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 4; AdvLinkMTU 1500;
  prefix fd00:198:18::/64 { AdvOnLink on; AdvAutonomous on; AdvValidLifetime 86400; AdvPreferredLifetime 14400; }; };
CONF
ip netns exec $A radvd -n -C /tmp/radvd-$$.conf -p /tmp/radvd-$$.pid -m stderr 2>/dev/null & RD=$!
sleep 5
# Echo to the link-local address (ND first), then to the SLAAC address.
ip netns exec $A ping -6 -c 1 -W 1 -p 61626364 -s 8 fe80::ff:fe00:b%vA >/dev/null
ip netns exec $A ping -6 -c 1 -W 1 -s 8 fd00:198:18::ff:fe00:b >/dev/null
# A datagram to a closed UDP port: destination unreachable.
ip netns exec $A python3 -c "
import socket,time
s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM); s.sendto(b'closed?',('fd00:198:18::ff:fe00:b',7001)); time.sleep(0.3)"
sleep 1; kill $TD; wait $TD 2>/dev/null

#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/ from the golden captures in tests/Unisharp.Net.Tests/Captures.cs.

Run again when the captures change; AFL's finds are added next to the seeds by ./fuzz/run --save.
"""
import os, re, struct, pathlib

root = pathlib.Path(__file__).resolve().parent.parent
src = (root / "tests/Unisharp.Net.Tests/Captures.cs").read_text()
frames = {}
for m in re.finditer(r"public static byte\[\] (\w+) => Convert\.FromHexString\((.*?)\);", src, re.S):
    frames[m.group(1)] = bytes.fromhex("".join(re.findall(r'"([0-9a-f]*)"', m.group(2))))
corpus = root / "fuzz/corpus"

def put(target, name, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data)

def checksum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack(f"!{len(data)//2}H", data))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def tcp_segment(src, dst, sport, dport, seq, ack, flags, window, options=b"", data=b""):
    off = (20 + len(options)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, window, 0, 0) + options + data
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(h))
    c = checksum(pseudo + h)
    return h[:16] + struct.pack("!H", c) + h[18:]

linux_syn_options = bytes.fromhex("020405b40402080a0001e2400000000001030307")
peer, stack = bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])

for name, f in frames.items():
    put("ethernet", name, f)
    if f[12:14] == b"\x08\x06":
        put("arp", name, f[14:])
    elif f[12:14] == b"\x08\x00":
        ip = f[14:]
        put("ipv4", name, ip)
        ihl = (ip[0] & 15) * 4
        proto, payload = ip[9], ip[ihl:struct.unpack("!H", ip[2:4])[0]]
        fragment = struct.unpack("!H", ip[6:8])[0] & 0x3FFF
        if proto == 1 and fragment == 0:
            put("icmp", name, payload)
        if proto == 17:
            put("udp", name, payload)
            if name.startswith("Dhcp"):
                put("dhcp", name, payload[8:])

put("tcp", "LinuxSyn", tcp_segment(peer, stack, 40000, 80, 1000, 0, 0x02, 64240, linux_syn_options))
put("tcp", "SackAck", tcp_segment(peer, stack, 40000, 80, 1001, 5001, 0x10, 501,
                                  bytes.fromhex("0101050a000013880000177001010101")))
put("tcp", "Data", tcp_segment(peer, stack, 40000, 80, 1001, 5001, 0x18, 501, b"", b"hello\n"))

# Fragments: [fragment field u16][length u8][bytes], a datagram in three pieces and an overlapping one.
put("ipv4-fragments", "ThreePieces", struct.pack("!HB", 0x2000, 16) + bytes(range(16)) + struct.pack("!HB", 0x2002, 16)
    + bytes(range(16, 32)) + struct.pack("!HB", 0x0004, 5) + b"tail!")
put("ipv4-fragments", "Overlap", struct.pack("!HB", 0x2000, 24) + bytes(24) + struct.pack("!HB", 0x0001, 24) + bytes(24))

put("boot-args", "Typed", b"--count=5\0--verbose\0--greeting\0hello there\0--port=8080")
put("boot-args", "Network", b"--ipv4=198.18.0.2/24\0--gateway=198.18.0.1\0--peer=198.18.0.1:80\0--mac=02:00:00:00:00:0a")
put("app-args-word", "Quoted", b"--greeting=%22hi%2C%20there%22,--port=80")
put("app-args-word", "Utf8", "--name=caf\u00e9,,%E2%82%AC".encode())

# The stateful target: steps (see StackTarget.Step).
def tcp_step(kind, flags, seq_delta, ack_delta, window, options=b"", data_units=0, data=b""):
    return bytes([kind, flags, seq_delta & 0xFF, ack_delta & 0xFF]) + struct.pack("!H", window) + bytes([len(options)]) + options \
        + bytes([data_units]) + data.ljust(data_units * 8, b"x")

handshake = tcp_step(1, 0x02, 0, 0, 64240, linux_syn_options) + tcp_step(1, 0x10, 0, 0, 502)
put("stack", "ListenerExchange", handshake + tcp_step(1, 0x18, 0, 0, 502, b"", 2, b"GET / HTTP/1.0\r\n")
    + bytes([5, 0x03, 5, 0x00]) + tcp_step(1, 0x10, 0, 0, 502) + tcp_step(1, 0x11, 0, 0, 502) + bytes([5, 0x06, 3, 0, 200]))
put("stack", "ClientExchange", tcp_step(2, 0x12, 0, 0, 64240, bytes.fromhex("020405b401030307")) + bytes([5, 0x01])
    + tcp_step(2, 0x10, 0, 0, 300) + bytes([3, 0, 250]) + tcp_step(2, 0x18, 0, 0, 300, b"", 4, b"reply") + bytes([5, 0x04])
    + bytes([0x83, 0, 0]) + tcp_step(2, 0x04, 0, 0, 0))
put("stack", "Retransmit", handshake + bytes([5, 0x02]) + bytes([0x83, 0, 0]) * 4 + tcp_step(1, 0x10, 0, -100 & 0xFF, 502)
    + tcp_step(1, 0x10, 0, 0, 502, bytes.fromhex("0101050a") + struct.pack("!II", 0, 0)))
raw = b"".join(bytes([0]) + struct.pack("!H", len(f)) + f for f in frames.values())
put("stack", "Captures", raw + bytes([5, 8]))
put("stack", "Fragments", bytes([6, 1]) + struct.pack("!HBH", 0x2000, 7, 16) + bytes(16) + bytes([6, 1]) + struct.pack("!HBH", 0x0002, 7, 8) + bytes(8)
    + bytes([7, 8, 0]) + struct.pack("!IB", 0x12340001, 4) + b"ping" + bytes([4, 5]) + b"hello")
# IPv6: the packets (without their Ethernet header) of the captures in Ipv6Captures.cs.
v6src = (root / "tests/Unisharp.Net.Tests/Ipv6Captures.cs").read_text()
for m in re.finditer(r"public static byte\[\] (\w+) => Convert\.FromHexString\((.*?)\);", v6src, re.S):
    put("ipv6", m.group(1), bytes.fromhex("".join(re.findall(r'"([0-9a-fA-F]*)"', m.group(2))))[14:])
print("seeds written under", corpus)

# Prints dig-style A queries and dnsmasq's answers as hex (the golden bytes of Wire/DnsTests.cs). Run inside a namespace
# where dnsmasq listens on 127.0.0.1:53 with --address=/svc.test/198.18.0.1 --cname=alias.test,svc.test --local=/test/.
import socket, struct, sys
def q(id, name, t=1):
    b = struct.pack(">HHHHHH", id, 0x0100, 1, 0, 0, 0)
    for l in name.split('.'):
        b += bytes([len(l)]) + l.encode()
    return b + b"\0" + struct.pack(">HH", t, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.bind(("127.0.0.1", 40000))
for id, name in [(0x1234, "svc.test"), (0x2345, "alias.test"), (0x3456, "nothing.test")]:
    m = q(id, name)
    s.sendto(m, ("127.0.0.1", 53))
    r, _ = s.recvfrom(4096)
    print(name, "Q", m.hex())
    print(name, "R", r.hex())

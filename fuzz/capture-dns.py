#!/usr/bin/env python3
"""Seeds for the dns and dns-resolver fuzz targets from real dnsmasq answers (issue 20).

Runs dnsmasq in a network namespace of its own (usfuzz-dns-<pid>, deleted on exit), on 127.0.0.1:53 there, with a
small zone (A records with a 20 s TTL, CNAME chains, many A records, TXT, MX, SRV, PTR, an authoritative zone with its SOA for NXDOMAIN and
NODATA), asks it questions of every type over UDP (and over TCP for the answers too big for UDP), and writes:
  fuzz/corpus/dns/seed-dnsmasq-NAME-TYPE[-tcp]   each answer as it came (the TCP one without its length prefix)
  fuzz/corpus/dns-resolver/seed-dnsmasq-WHAT      inputs of the resolver target (see DnsResolverTarget): the name's
                                                  selector byte, then the answers the resolver gets, length-prefixed
Needs root and dnsmasq. Run: sudo python3 fuzz/capture-dns.py
"""
import os
import random
import socket
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.abspath(__file__))
NS = f"usfuzz-dns-{os.getpid()}"
TYPES = {"a": 1, "ns": 2, "cname": 5, "soa": 6, "ptr": 12, "mx": 15, "txt": 16, "aaaa": 28, "srv": 33, "any": 255}
# DnsResolverTarget's names, by selector.
RESOLVER_NAMES = ["svc.test", "alias.test", "nx.test", "many.test"]


def query(name, qtype, qid):
    labels = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + struct.pack(">HH", qtype, 1)


def ask_udp(name, qtype):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(query(name, qtype, random.randrange(65536)), ("127.0.0.1", 53))
    answer = s.recv(65536)
    s.close()
    return answer


def ask_tcp(name, qtype):
    q = query(name, qtype, random.randrange(65536))
    s = socket.create_connection(("127.0.0.1", 53), timeout=3)
    s.sendall(struct.pack(">H", len(q)) + q)
    data = b""
    while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data  # with its length prefix


def capture():
    """Runs inside the namespace: starts dnsmasq, asks, writes the seeds."""
    big = "x" * 200
    args = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
            "--interface=lo", "--local-ttl=20", "--auth-ttl=20", "--bind-interfaces", "--listen-address=127.0.0.1", "--user=root", "--log-facility=-",
            "--auth-server=ns.test,lo", "--auth-zone=test", "--auth-soa=2026120701,hostmaster.test,1200,180,1209600,300",
            "--host-record=svc.test,198.18.7.7", "--cname=alias.test,svc.test", "--cname=chain.test,alias.test",
            "--cname=dangling.test,gone.test", "--ptr-record=7.7.18.198.in-addr.arpa,svc.test",
            "--txt-record=txt.test,hello,world", f"--txt-record=big.test,{big},{big},{big}",
            "--mx-host=mx.test,svc.test,10", "--srv-host=_http._tcp.test,svc.test,80"]
    args += [f"--host-record=many.test,198.18.8.{i}" for i in range(1, 41)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(50):
            try:
                ask_udp("svc.test", 1)
                break
            except OSError:
                time.sleep(0.1)
        dns_dir = os.path.join(ROOT, "corpus", "dns")
        resolver_dir = os.path.join(ROOT, "corpus", "dns-resolver")
        os.makedirs(dns_dir, exist_ok=True)
        os.makedirs(resolver_dir, exist_ok=True)
        written = 0
        for name in ["svc.test", "alias.test", "chain.test", "dangling.test", "nx.test", "many.test", "txt.test", "big.test",
                     "mx.test", "_http._tcp.test", "7.7.18.198.in-addr.arpa", "test"]:
            for tname, qtype in TYPES.items():
                answer = ask_udp(name, qtype)
                stem = f"seed-dnsmasq-{name.replace('.', '_')}-{tname}"
                with open(os.path.join(dns_dir, stem), "wb") as f:
                    f.write(answer)
                written += 1
                if answer[2] & 0x02:  # TC: the whole answer over TCP
                    with open(os.path.join(dns_dir, stem + "-tcp"), "wb") as f:
                        f.write(ask_tcp(name, qtype)[2:])
                    written += 1

        def resolver_seed(what, selector, answers):
            with open(os.path.join(resolver_dir, f"seed-dnsmasq-{what}"), "wb") as f:
                f.write(bytes([selector]) + b"".join(struct.pack(">H", len(a)) + a for a in answers))

        resolver_seed("svc", 0x04, [ask_udp("svc.test", 1)])
        resolver_seed("alias", 0x05, [ask_udp("alias.test", 1)])
        resolver_seed("nx", 0x06, [ask_udp("nx.test", 1)])
        resolver_seed("many-tcp", 0x07, [ask_udp("many.test", 1), ask_tcp("many.test", 1)])
        resolver_seed("svc-later", 0x04 | 30 << 3, [ask_udp("svc.test", 1), ask_udp("svc.test", 1)])
        # An empty datagram first (dropped as malformed), then the answer.
        resolver_seed("svc-after-junk", 0x00, [b"", ask_udp("svc.test", 1)])
        # A CNAME whose target the server left out, then the target's own answer.
        resolver_seed("alias-then-target", 0x01, [strip_target(ask_udp("alias.test", 1)), ask_udp("svc.test", 1)])
        print(f"{written} dns seeds, 7 dns-resolver seeds")
    finally:
        proc.terminate()
        proc.wait(5)


def strip_target(answer):
    """ALIAS's answer with only its first record (the CNAME), so the resolver has to ask for the target."""
    qd, an = struct.unpack(">HH", answer[4:8])
    at = 12
    for _ in range(qd):
        at = skip_name(answer, at) + 4
    at = skip_name(answer, at) + 8
    end = at + 2 + struct.unpack(">H", answer[at:at + 2])[0]
    return answer[:6] + struct.pack(">HHH", 1, 0, 0) + answer[12:end]


def skip_name(m, at):
    while True:
        b = m[at]
        if b & 0xC0 == 0xC0:
            return at + 2
        if b == 0:
            return at + 1
        at += 1 + b


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        capture()
        return
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "netns", "exec", NS, sys.executable, os.path.abspath(__file__), "--inside"], check=True)
    finally:
        subprocess.run(["ip", "netns", "delete", NS])


if __name__ == "__main__":
    main()

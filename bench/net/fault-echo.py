#!/usr/bin/env python3
"""Echo under loss (issue 14): SIZE MiB through examples/echo, byte-exact, timed, per fault spec and stack.

For each SPEC (e.g. "drop=0.1,reorder=0.05,duplicate=0.05"; "none" for a clean link), side by side in one run:
  tap     `unisharp run examples/echo --net tap:ustap0 --netns NS --net-fault=SPEC,seed=7` (our stack; the
          faults are the unix target's seeded injector, both directions); the client is in NS, 198.18.0.1 ->
          198.18.0.2.
  kernel  the same app with `--net socket` (Linux's TCP) in a namespace of its own, the client in another, joined
          by a veth pair 198.18.2.1 -> 198.18.2.2, with SPEC's drop as an nftables rule on each end's input hook
          (`numgen random mod 1000 < D*1000 drop`: a frame lost on the wire, each way). The kernel here has no
          netem, so reordering and duplication are not applied to Linux: its figure is for loss alone.
The client (python, in the namespace) sends SIZE MiB (1 MiB blocks, each numbered) while it reads the echo, and
checks the echo's SHA-256 against what it sent. Prints seconds and MB/s per SPEC and stack, and tap/kernel.

Environment: SPECS (default "none;drop=0.01;drop=0.1,reorder=0.05,duplicate=0.05"), SIZE_MIB (256), STACKS
("tap kernel"), APP (the built examples/echo for `kernel`; built with ./unisharp when not given; `tap` runs
examples/echo through `unisharp run --no-build`), TIMEOUT (seconds per run, 900).
Namespaces are usbench-loss-<pid>-*, deleted on exit, also on Ctrl-C.
"""
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(ROOT, "..", ".."))
PREFIX = f"usbench-loss-{os.getpid()}"
NAMESPACES = []
BLOCK = 1 << 20


def run(*args, check=True):
    return subprocess.run(args, check=check, text=True, capture_output=True)


def make_ns(suffix):
    name = f"{PREFIX}-{suffix}"
    run("ip", "netns", "add", name)
    NAMESPACES.append(name)
    run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
    return name


def cleanup():
    for name in NAMESPACES:
        for pid in run("ip", "netns", "pids", name, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        run("ip", "netns", "delete", name, check=False)
    NAMESPACES.clear()


def client(address, size_mib):
    """Runs in the client's namespace: send size_mib numbered blocks, read the echo, compare hashes."""
    seed = os.urandom(BLOCK)
    sent, got = hashlib.sha256(), hashlib.sha256()
    total = size_mib * BLOCK
    s = socket.create_connection((address, 7), timeout=600)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def writer():
        for i in range(size_mib):
            block = i.to_bytes(8, "little") + seed[8:]
            sent.update(block)
            s.sendall(block)
        s.shutdown(socket.SHUT_WR)

    start = time.monotonic()
    t = threading.Thread(target=writer)
    t.start()
    received = 0
    buf = bytearray(1 << 20)
    while True:
        n = s.recv_into(buf)
        if n == 0:
            break
        got.update(memoryview(buf)[:n])
        received += n
    seconds = time.monotonic() - start
    t.join()
    s.close()
    ok = received == total and sent.digest() == got.digest()
    print(f"RESULT {seconds:.3f} {received} {'ok' if ok else 'MISMATCH'}")


def measure(ns, address, size_mib, timeout):
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__), "--client", address, str(size_mib)],
                         text=True, capture_output=True, timeout=timeout)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT"):
            _, seconds, received, verdict = line.split()
            if verdict != "ok":
                raise RuntimeError(f"echo differs: {received} bytes back")
            return float(seconds)
    raise RuntimeError(f"client failed: {out.stdout}{out.stderr}")


def start(args, log_path, ready):
    log = open(log_path, "w")
    proc = subprocess.Popen(args, stdout=log, stderr=log, start_new_session=True)
    deadline = time.time() + 120
    while ready not in open(log_path).read():
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"app did not start:\n{open(log_path).read()}")
        time.sleep(0.2)
    return proc, log


def stop(proc, log):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    log.close()


def drop_rule(ns, spec):
    """SPEC's drop probability as a random drop of TCP on the namespace's input hook (needs nftables)."""
    faults = dict(kv.split("=") for kv in spec.split(",")) if spec != "none" else {}
    drop = float(faults.get("drop", 0))
    if drop:
        run("ip", "netns", "exec", ns, "nft", "add", "table", "inet", "loss")
        run("ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "loss", "in", "{ type filter hook input priority 0; }")
        run("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "loss", "in", "meta", "l4proto", "tcp",
            "numgen", "random", "mod", "1000", "<", str(int(drop * 1000)), "drop")


def run_tap(app, spec, size_mib, timeout):
    ns = make_ns(f"tap{len(NAMESPACES)}")
    fault = [] if spec == "none" else [f"--net-fault={spec},seed=7"]
    log_path = f"/tmp/{ns}.log"
    proc, log = start([os.path.join(REPO, "unisharp"), "run", os.path.join(REPO, "examples", "echo"), "--no-build", "--net", "tap:ustap0",
                       "--netns", ns, *fault, "--", "--ipv4=198.18.0.2/24", "--udp=false"], log_path, "echoing TCP")
    try:
        # With --netns the TAP gets no address: the host side is ours to give.
        run("ip", "-n", ns, "addr", "add", "198.18.0.1/24", "dev", "ustap0")
        run("ip", "-n", ns, "link", "set", "ustap0", "up")
        return measure(ns, "198.18.0.2", size_mib, timeout)
    finally:
        stop(proc, log)
        os.unlink(log_path)


def run_kernel(app, spec, size_mib, timeout):
    server = make_ns(f"ks{len(NAMESPACES)}")
    peer = make_ns(f"kc{len(NAMESPACES)}")
    run("ip", "link", "add", "usl0", "netns", server, "type", "veth", "peer", "name", "usl1", "netns", peer)
    for ns, dev, addr in ((server, "usl0", "198.18.2.2/24"), (peer, "usl1", "198.18.2.1/24")):
        run("ip", "-n", ns, "addr", "add", addr, "dev", dev)
        run("ip", "-n", ns, "link", "set", dev, "up")
        drop_rule(ns, spec)
    log_path = f"/tmp/{server}.log"
    proc, log = start(["ip", "netns", "exec", server, app, "--net", "socket", "--", "--udp=false"], log_path, "echoing TCP")
    try:
        return measure(peer, "198.18.2.2", size_mib, timeout)
    finally:
        stop(proc, log)
        os.unlink(log_path)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--client":
        client(sys.argv[2], int(sys.argv[3]))
        return
    specs = os.environ.get("SPECS", "none;drop=0.01;drop=0.1,reorder=0.05,duplicate=0.05").split(";")
    size_mib = int(os.environ.get("SIZE_MIB", "256"))
    stacks = os.environ.get("STACKS", "tap kernel").split()
    timeout = int(os.environ.get("TIMEOUT", "900"))
    app = os.environ.get("APP") or run(os.path.join(REPO, "unisharp"), "build", os.path.join(REPO, "examples", "echo")).stdout.strip().splitlines()[-1]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    print(f"load average at start: {os.getloadavg()[0]:.1f}; {size_mib} MiB echoed per run")
    print("| faults | stack | seconds | MB/s |")
    print("|---|---|---:|---:|")
    results = {}
    try:
        for spec in specs:
            for stack in stacks:
                try:
                    seconds = (run_tap if stack == "tap" else run_kernel)(app, spec, size_mib, timeout)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    print(f"| {spec} | {stack} | failed: {str(e).splitlines()[0] if str(e) else type(e).__name__} | |", flush=True)
                    continue
                finally:
                    cleanup()
                results[(spec, stack)] = seconds
                print(f"| {spec} | {stack} | {seconds:.1f} | {size_mib * BLOCK / seconds / 1e6:.1f} |", flush=True)
    finally:
        cleanup()
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    for spec in specs:
        if (spec, "tap") in results and (spec, "kernel") in results:
            print(f"{spec}: tap/kernel time {results[(spec, 'tap')] / results[(spec, 'kernel')]:.2f}")
    if ("none", "tap") in results:
        for spec in specs:
            if spec != "none" and (spec, "tap") in results:
                print(f"{spec}: tap time / tap lossless time {results[(spec, 'tap')] / results[('none', 'tap')]:.2f}")


if __name__ == "__main__":
    main()

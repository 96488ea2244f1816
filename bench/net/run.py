#!/usr/bin/env python3
"""The seed's network benchmark on the unix target: our stack over TAP against the Linux kernel on veth.

N clients (1, 2, 4, 8) each send BYTES of zeros (`dd if=/dev/zero bs=64M count=8 iflag=fullblock | nc -N`)
to examples/network, the TCP sink on port 8080, in two set-ups measured in the same run, one after the other
for each client count:
  tap     examples/network with our stack over a TAP device (`--net tap:ustap0`); the clients are in the
          TAP's namespace, 198.18.0.1 -> 198.18.0.2.
  kernel  the same binary with `--net socket` (the host's sockets: Linux's TCP receives) in a namespace of
          its own, the clients in another, joined by a veth pair, 198.18.2.1 -> 198.18.2.2.
Prints, per client count and set-up, the aggregate MB/s (10^6 bytes/s, all bytes over the wall time from
the first client's start to the last one's end), the ratio tap/kernel, and CPU seconds per GB received
by the app process (utime+stime from /proc/PID/stat) and by the whole machine (/proc/stat, noisy on a
shared host), and the bytes the app allocated per TCP segment during each load (from the "allocated N bytes, M
segments" line examples/network logs at each connection's end; for `kernel` the segments are the namespace's).

Environment:
  CLIENTS="1 2 4 8"   client counts
  BLOCK_MB=64         dd block size in MiB; each client sends BLOCK_MB * COUNT MiB
  COUNT=8             dd blocks per client (8 x 64 MiB = 512 MiB, the seed's load)
  REPS=1              runs of each; the median is reported
  APP                 the built examples/network binary; built with ./unisharp when not given
  CSV                 where raw results go (default: none)
Namespaces are named usbench-net-<pid>-*, and deleted on exit, also on Ctrl-C.
"""
import os
import re
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(ROOT, "..", ".."))
CLIENTS = [int(c) for c in os.environ.get("CLIENTS", "1 2 4 8").split()]
BLOCK_MB = int(os.environ.get("BLOCK_MB", "64"))
COUNT = int(os.environ.get("COUNT", "8"))
REPS = int(os.environ.get("REPS", "1"))
CSV = os.environ.get("CSV")
BYTES = BLOCK_MB * COUNT * 1024 * 1024
TICK = os.sysconf("SC_CLK_TCK")
PREFIX = f"usbench-net-{os.getpid()}"
NAMESPACES = []


def run(*args, check=True, **kw):
    return subprocess.run(args, check=check, text=True, capture_output=True, **kw)


def netns(name, *args, check=True):
    return run("ip", "netns", "exec", name, *args, check=check)


def make_ns(suffix):
    name = f"{PREFIX}-{suffix}"
    run("ip", "netns", "add", name)
    NAMESPACES.append(name)
    netns(name, "ip", "link", "set", "lo", "up")
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


def build_app():
    app = os.environ.get("APP")
    if app:
        return app
    out = run(os.path.join(REPO, "unisharp"), "build", os.path.join(REPO, "examples", "network")).stdout.strip()
    return out.splitlines()[-1]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15)


def machine_busy_seconds():
    values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICK


class Sink:
    """examples/network started in a namespace; its log is read from a file."""

    def __init__(self, ns, app, args):
        self.log_path = f"/tmp/{PREFIX}-{ns.rsplit('-', 1)[1]}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, app, *args], stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while "sink listening" not in self.text():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"sink did not start:\n{self.text()}")
            time.sleep(0.1)

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        text = self.text()
        os.unlink(self.log_path)
        return text


ALLOCATED = re.compile(r"allocated (\d+) bytes, (\d+) segments")


def allocations(text):
    """The sink's last (allocated bytes, TCP segments) line, or None when it logs none."""
    found = ALLOCATED.findall(text)
    return tuple(map(int, found[-1])) if found else None


def load(client_ns, address, n, sink):
    """n clients at once; returns (seconds, app CPU seconds, machine busy seconds, bytes allocated per segment or None)."""
    done_before = len(re.findall(r"read \d+ bytes in \d+ ms \(", sink.text()))
    alloc0 = allocations(sink.text())
    cpu0, busy0, t0 = cpu_seconds(sink.proc.pid), machine_busy_seconds(), time.monotonic()
    cmd = f"dd if=/dev/zero bs={BLOCK_MB}M count={COUNT} iflag=fullblock status=none | nc -N {address} 8080"
    clients = [subprocess.Popen(["ip", "netns", "exec", client_ns, "sh", "-c", cmd]) for _ in range(n)]
    failed = [c for c in clients if c.wait() != 0]
    # The sink logs each connection's total at EOF; wait for all of them (nc -N returns once the sink closes).
    deadline = time.time() + 30
    while len(re.findall(r"read \d+ bytes in \d+ ms \(", sink.text())) < done_before + n and time.time() < deadline:
        time.sleep(0.05)
    seconds = time.monotonic() - t0
    cpu, busy = cpu_seconds(sink.proc.pid) - cpu0, machine_busy_seconds() - busy0
    # The sink logs its running allocation total with each connection's end: this load's share is the difference.
    time.sleep(0.2)
    alloc1 = allocations(sink.text())
    per_segment = None
    if alloc0 and alloc1 and alloc1[1] > alloc0[1]:
        per_segment = (alloc1[0] - alloc0[0]) / (alloc1[1] - alloc0[1])
    totals = [int(b) for b in re.findall(r"read (\d+) bytes in \d+ ms \(", sink.text())][done_before:]
    if failed or len(totals) != n or any(t != BYTES for t in totals):
        raise RuntimeError(f"{n} clients: {len(failed)} failed, sink counted {totals}, expected {n} x {BYTES}\n{sink.text()[-3000:]}")
    return seconds, cpu, busy, per_segment


def main():
    app = build_app()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(130))
    try:
        # (a) our stack: the app on a TAP device, the clients on the TAP's Linux side.
        tap_ns = make_ns("tap")
        netns(tap_ns, "ip", "tuntap", "add", "ustap0", "mode", "tap")
        netns(tap_ns, "ip", "addr", "add", "198.18.0.1/24", "dev", "ustap0")
        netns(tap_ns, "ip", "link", "set", "ustap0", "up")
        # (b) Linux: the same app on host sockets in one namespace, the clients in another, over veth.
        srv_ns, cli_ns = make_ns("ksrv"), make_ns("kcli")
        run("ip", "link", "add", "usbv0", "netns", cli_ns, "type", "veth", "peer", "name", "usbv1", "netns", srv_ns)
        netns(cli_ns, "ip", "addr", "add", "198.18.2.1/24", "dev", "usbv0")
        netns(srv_ns, "ip", "addr", "add", "198.18.2.2/24", "dev", "usbv1")
        netns(cli_ns, "ip", "link", "set", "usbv0", "up")
        netns(srv_ns, "ip", "link", "set", "usbv1", "up")

        ours = Sink(tap_ns, app, ["--net=tap:ustap0", "--mac=02:00:00:00:00:02", "--ipv4=198.18.0.2/24", "--port=8080"])
        kernel = Sink(srv_ns, app, ["--net=socket", "--ipv4=198.18.2.2/24", "--port=8080"])
        setups = [("tap", tap_ns, "198.18.0.2", ours), ("kernel", cli_ns, "198.18.2.2", kernel)]
        print(f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
              f"{BYTES / 1e6:.0f} MB per client, median of {REPS}", flush=True)
        print("| clients | tap MB/s | kernel MB/s | tap/kernel | tap app CPU s/GB | kernel app CPU s/GB | tap machine CPU s/GB | kernel machine CPU s/GB | tap B alloc/segment | kernel B alloc/segment |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
        rows = []
        for n in CLIENTS:
            result = {}
            for name, client_ns, address, sink in setups:
                runs = [load(client_ns, address, n, sink) for _ in range(REPS)]
                seconds, cpu, busy, per_segment = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
                gb = n * BYTES / 1e9
                result[name] = (n * BYTES / seconds / 1e6, cpu / gb, busy / gb, per_segment)
                rows.append((n, name, seconds, *result[name]))
                print(f"  {n} clients, {name}: {result[name][0]:.0f} MB/s, app {result[name][1]:.2f} CPU s/GB, "
                      f"machine {result[name][2]:.2f} CPU s/GB", file=sys.stderr, flush=True)
            tap, ker = result["tap"], result["kernel"]
            alloc = ["n/a" if r[3] is None else f"{r[3]:.2f}" for r in (tap, ker)]
            print(f"| {n} | {tap[0]:.0f} | {ker[0]:.0f} | {tap[0] / ker[0]:.2f}x | {tap[1]:.2f} | {ker[1]:.2f} | {tap[2]:.2f} | {ker[2]:.2f} | {alloc[0]} | {alloc[1]} |",
                  flush=True)
        ours_log, kernel_log = ours.stop(), kernel.stop()
        for name, text in (("tap", ours_log), ("kernel", kernel_log)):
            allocated = allocations(text)
            if allocated:
                b, s = allocated
                print(f"# {name}: whole run, start-up included: {b / max(s, 1):.2f} bytes allocated per segment ({b} bytes, {s} segments)")
            else:
                print(f"# {name}: allocations per segment n/a (the app does not log them)")
        if CSV:
            with open(CSV, "w") as f:
                f.write("clients,setup,seconds,mb_per_s,app_cpu_s_per_gb,machine_cpu_s_per_gb,bytes_allocated_per_segment\n")
                for row in rows:
                    f.write(",".join(str(v) for v in row) + "\n")
    finally:
        cleanup()


if __name__ == "__main__":
    main()

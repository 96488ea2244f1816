#!/usr/bin/python3
"""Soak under faults (issue 20): examples/echo and examples/http on our stack over TAP, mixed traffic for N minutes.

Both apps are launched through what ships, `unisharp run APP --no-build --net tap:NAME --netns NS
--net-fault=drop=0.02,reorder=0.02,duplicate=0.01,seed=S`, into one namespace this script creates and deletes
(ussoak-<pid>): echo at 198.18.0.2 (host side 198.18.0.1), http at 198.18.1.2 (host side 198.18.1.1). A load process
in the namespace (this script with --load) runs, all at once:
  short echo   3 threads: connect, echo 1 B..256 KiB of random bytes, SHA-256 of what came back against what went out
  long echo    2 threads: one connection streaming random bytes for 60 s (read while writing), then the same check
  short http   2 threads: GET /bytes/N (N up to 512 KiB, Connection: close), body against the app's SplitMix64 pattern
  long http    1 thread: a keep-alive connection, GETs of up to 8 MiB one after another for 60 s, each checked
  udp          1 thread: datagrams of 1..1400 bytes (1 in 10 up to 4000: IP fragments) with a sequence number,
               each echo compared with what was sent; a lost one (faults drop 2% each way) is counted, not a failure
  ping flood   every 60 s: `ping -f -c 2000 -w 15` at one app, then the other
  SYN burst    every 60 s: `hping3 -S -i u200 -c 2000` at echo's port 7, then http's port 80
Every second this process records each app's VmRSS (/proc/PID/status of the app process itself, found under the CLI),
the TCP connections the load process holds open to each app (the apps expose no connection count), and the bytes
verified. Pass: every TCP transfer complete and byte-exact, every UDP echo received byte-exact, both apps alive at the
end, and RSS flat after warm-up: a least-squares line through each app's RSS over the last two thirds of the run
(the last 20 minutes of 30) may not rise more than max(4 MiB, 2% of its median) over that window.
Writes OUT.csv (one row a second), OUT.md (the summary), OUT.png (RSS and throughput over time).

  sudo bench/soak/soak.py --minutes 1 --out /tmp/soak-smoke       # the smoke run
  sudo bench/soak/soak.py --minutes 30                             # bench/results/<date>-soak.{csv,md,png}
Needs root; installs hping3, iputils-ping, python3-matplotlib and python3-numpy from Debian if missing; the apps are
built first with ./unisharp build examples/echo and examples/http.
"""
import argparse
import csv
import datetime
import hashlib
import json
import os
import random
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(ROOT, "..", ".."))
NS = f"ussoak-{os.getpid()}"
FAULT = "drop=0.02,reorder=0.02,duplicate=0.01"
ECHO, HTTP = "198.18.0.2", "198.18.1.2"
MIB = 1 << 20


# ---------------------------------------------------------------- the load (runs inside the namespace)

class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {k: 0 for k in ("bytes", "tcp_ok", "tcp_corrupt", "tcp_error", "open_echo", "open_http", "rx", "udp_sent",
                                 "udp_ok", "udp_corrupt", "udp_lost", "ping_sent", "ping_received", "syn_bursts",
                                 "syn_sent")}
        self.errors = []

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                self.c[k] += v

    def error(self, kind, what):
        with self.lock:
            self.c[kind] += 1
            if len(self.errors) < 50:
                self.errors.append(f"{time.strftime('%H:%M:%S')} {what}")


def pattern(length):
    """The first LENGTH bytes of examples/http's /bytes pattern (seed 0): word i is SplitMix64(i), little-endian."""
    import numpy as np
    x = np.arange((length + 7) // 8, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return x.astype("<u8").tobytes()[:length]


def connect(address, port, counters, key):
    s = socket.create_connection((address, port), timeout=60)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    counters.add(**{key: 1})
    return s


def echo_exchange(s, chunks, counters, stall=60):
    """Sends CHUNKS (an iterator of bytes) while reading the echo; shuts down the write side at the end and reads to
    EOF. Returns (sha256 sent, sha256 received, bytes sent, bytes received). Raises on a stall of STALL seconds."""
    s.setblocking(False)
    sent_hash, got_hash = hashlib.sha256(), hashlib.sha256()
    sent = got = 0
    pending = memoryview(b"")
    done_writing = False
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    last = time.monotonic()
    try:
        while True:
            events = sel.select(1.0)
            now = time.monotonic()
            if not events and now - last > stall:
                raise TimeoutError(f"stalled {stall} s: {sent} sent, {got} back")
            for _, mask in events:
                if mask & selectors.EVENT_READ:
                    try:
                        data = s.recv(1 << 18)
                    except BlockingIOError:
                        data = None
                    if data == b"":
                        return sent_hash.digest(), got_hash.digest(), sent, got
                    if data:
                        got_hash.update(data)
                        got += len(data)
                        counters.add(rx=len(data))
                        last = now
                if mask & selectors.EVENT_WRITE and not done_writing:
                    if not pending:
                        chunk = next(chunks, None)
                        if chunk is None:
                            s.shutdown(socket.SHUT_WR)
                            done_writing = True
                            sel.modify(s, selectors.EVENT_READ)
                            continue
                        sent_hash.update(chunk)
                        pending = memoryview(chunk)
                    try:
                        n = s.send(pending)
                    except BlockingIOError:
                        n = 0
                    pending = pending[n:]
                    sent += n
                    if n:
                        last = now
    finally:
        sel.close()


def echo_worker(counters, stop, rng, long_seconds):
    block = os.urandom(MIB)
    while not stop.is_set():
        if long_seconds:
            deadline = time.monotonic() + long_seconds

            def chunks():
                while time.monotonic() < deadline and not stop.is_set():
                    start = rng.randrange(0, MIB - 65536)
                    yield block[start:start + rng.randrange(1, 65536)]
        else:
            size = rng.choice((rng.randrange(1, 1500), rng.randrange(1, 65536), rng.randrange(1, 256 * 1024)))

            def chunks(size=size):
                start = rng.randrange(0, MIB - size)
                yield block[start:start + size]
        try:
            s = connect(ECHO, 7, counters, "open_echo")
        except OSError as e:
            counters.error("tcp_error", f"echo connect: {e!r}")
            time.sleep(1)
            continue
        try:
            sent_hash, got_hash, sent, got = echo_exchange(s, chunks(), counters)
            if sent_hash == got_hash and sent == got:
                counters.add(tcp_ok=1, bytes=sent + got)
            else:
                counters.error("tcp_corrupt", f"echo {'long' if long_seconds else 'short'}: {sent} sent, {got} back, hashes differ")
        except OSError as e:
            counters.error("tcp_error", f"echo {'long' if long_seconds else 'short'}: {e!r}")
        finally:
            s.close()
            counters.add(open_echo=-1)


def read_response(f, expected, counters):
    """Reads one response from file F; checks 200, Content-Length and the body against EXPECTED. Returns the verdict."""
    status = f.readline()
    if not status:
        raise ConnectionError("connection closed before the status line")
    length = None
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if not status.startswith(b"HTTP/1.1 200") or length != len(expected):
        return f"status {status.strip()!r}, length {length} for {len(expected)}"
    h = hashlib.sha256()
    left = length
    while left:
        data = f.read(min(left, 1 << 18))
        if not data:
            return f"body ended after {length - left} of {length} bytes"
        h.update(data)
        left -= len(data)
        counters.add(rx=len(data))
    return "ok" if h.digest() == hashlib.sha256(expected).digest() else "body differs"


def http_worker(counters, stop, rng, body, long_seconds):
    while not stop.is_set():
        try:
            s = connect(HTTP, 80, counters, "open_http")
        except OSError as e:
            counters.error("tcp_error", f"http connect: {e!r}")
            time.sleep(1)
            continue
        try:
            f = s.makefile("rb")
            deadline = time.monotonic() + long_seconds
            while True:
                last = not long_seconds or time.monotonic() >= deadline or stop.is_set()
                n = rng.randrange(0, 8 * MIB) if long_seconds else rng.choice((rng.randrange(0, 1500), rng.randrange(0, 512 * 1024)))
                s.sendall(f"GET /bytes/{n} HTTP/1.1\r\nHost: {HTTP}\r\n{'Connection: close' + chr(13) + chr(10) if last else ''}\r\n".encode())
                verdict = read_response(f, memoryview(body)[:n], counters)
                if verdict != "ok":
                    counters.error("tcp_corrupt", f"http /bytes/{n}: {verdict}")
                    break
                counters.add(tcp_ok=1, bytes=n)
                if last:
                    if f.read(1) != b"":
                        counters.error("tcp_corrupt", "http: bytes after the last response")
                    break
            f.close()
        except (OSError, ValueError) as e:
            counters.error("tcp_error", f"http {'long' if long_seconds else 'short'}: {e!r}")
        finally:
            s.close()
            counters.add(open_http=-1)


def udp_worker(counters, stop, rng):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((ECHO, 7))
    s.settimeout(0.3)
    block = os.urandom(8192)
    seq = 0
    while not stop.is_set():
        seq += 1
        size = rng.randrange(8, 4000) if rng.random() < 0.1 else rng.randrange(8, 1400)
        datagram = seq.to_bytes(8, "little") + block[:size - 8]
        s.send(datagram)
        counters.add(udp_sent=1)
        deadline = time.monotonic() + 0.3
        while True:
            try:
                reply = s.recv(65536)
            except (TimeoutError, socket.timeout):
                counters.add(udp_lost=1)
                break
            except ConnectionRefusedError:
                counters.error("udp_corrupt", "udp: port unreachable")
                break
            if int.from_bytes(reply[:8], "little") != seq:
                if time.monotonic() > deadline:
                    counters.add(udp_lost=1)
                    break
                continue  # a late echo of an earlier datagram (counted lost) or a duplicate: not this one's
            if reply == datagram:
                counters.add(udp_ok=1)
            else:
                counters.error("udp_corrupt", f"udp #{seq}: {len(reply)} bytes back for {len(datagram)}, differ")
            break
    s.close()


def periodic(counters, stop, offset, action):
    """Runs ACTION(round) every 60 s, first at OFFSET seconds."""
    round = 0
    if stop.wait(offset):
        return
    while True:
        started = time.monotonic()
        action(round)
        round += 1
        if stop.wait(max(0.0, 60 - (time.monotonic() - started))):
            return


def ping_flood(counters, round):
    target = (ECHO, HTTP)[round % 2]
    out = subprocess.run(["ping", "-f", "-q", "-c", "2000", "-w", "15", target], text=True, capture_output=True).stdout
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    if m:
        counters.add(ping_sent=int(m.group(1)), ping_received=int(m.group(2)))


def syn_burst(counters, round):
    target, port = ((ECHO, 7), (HTTP, 80))[round % 2]
    subprocess.run(["hping3", "-q", "-S", "-p", str(port), "-i", "u200", "-c", "2000", target],
                   capture_output=True, timeout=60)
    counters.add(syn_bursts=1, syn_sent=2000)


def load(seconds, seed):
    counters, stop = Counters(), threading.Event()
    body = pattern(8 * MIB)
    rng = random.Random(seed)
    workers = [(echo_worker, (0,)), (echo_worker, (0,)), (echo_worker, (0,)), (echo_worker, (60,)), (echo_worker, (60,)),
               (http_worker, (body, 0)), (http_worker, (body, 0)), (http_worker, (body, 60))]
    threads = [threading.Thread(target=w, args=(counters, stop, random.Random(rng.random()), *a), daemon=True) for w, a in workers]
    threads.append(threading.Thread(target=udp_worker, args=(counters, stop, random.Random(rng.random())), daemon=True))
    threads.append(threading.Thread(target=periodic, args=(counters, stop, 10, lambda r: ping_flood(counters, r)), daemon=True))
    threads.append(threading.Thread(target=periodic, args=(counters, stop, 35, lambda r: syn_burst(counters, r)), daemon=True))
    for t in threads:
        t.start()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(1 - (time.monotonic() % 1))
        with counters.lock:
            print(json.dumps(counters.c), flush=True)
    stop.set()
    # The transfers under way finish (a long one within its stall timeout), then the last counts.
    for t in threads:
        t.join(timeout=120)
    with counters.lock:
        print(json.dumps(counters.c), flush=True)
        print("ALIVE " + " ".join(t.name for t in threads if t.is_alive()), flush=True)
        for e in counters.errors:
            print("ERROR " + e, flush=True)
    print("DONE", flush=True)


# ---------------------------------------------------------------- the driver (root namespace)

def run(*args, check=True):
    return subprocess.run(args, check=check, text=True, capture_output=True)


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def app_pid(cli, artifact):
    """The app process under the CLI (ip netns exec runs it in place of itself): the one whose executable is ARTIFACT."""
    for pid in descendants(cli):
        try:
            if os.path.realpath(f"/proc/{pid}/exe") == os.path.realpath(artifact):
                return pid
        except OSError:
            pass
    return None


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class App:
    def __init__(self, name, tap, address, host, seed, ready, extra):
        self.name, self.tap, self.address, self.host = name, tap, address, host
        self.artifact = os.path.join(REPO, "examples", name, "dist", name)
        self.log_path = f"/tmp/{NS}-{name}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([os.path.join(REPO, "unisharp"), "run", os.path.join(REPO, "examples", name), "--no-build",
                                      "--net", f"tap:{tap}", "--netns", NS, f"--net-fault={FAULT},seed={seed}", "--",
                                      f"--ipv4={address}/24", *extra], stdout=self.log, stderr=self.log, start_new_session=True)
        deadline = time.time() + 180
        while not all(r in open(self.log_path).read() for r in ready):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{name} did not start:\n{open(self.log_path).read()}")
            time.sleep(0.2)
        self.pid = app_pid(self.proc.pid, self.artifact)
        if self.pid is None:
            raise RuntimeError(f"{name}: no process of {self.artifact} under the CLI {self.proc.pid}")
        # With --netns the TAP gets no address: the host side is ours to give.
        run("ip", "-n", NS, "addr", "add", f"{host}/24", "dev", tap)
        run("ip", "-n", NS, "link", "set", tap, "up")

    def alive(self):
        return self.proc.poll() is None and os.path.exists(f"/proc/{self.pid}") and rss_kib(self.pid) is not None

    def stop(self):
        code = None
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            code = self.proc.wait(15)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.log.close()
        return code


def cleanup():
    for pid in run("ip", "netns", "pids", NS, check=False).stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    run("ip", "netns", "delete", NS, check=False)


def fit(ts, ys):
    """Least-squares slope (per second) and its standard error."""
    import numpy as np
    t, y = np.asarray(ts, float), np.asarray(ys, float)
    if len(t) < 3:
        return 0.0, 0.0
    (slope, intercept), cov = np.polyfit(t, y, 1, cov=True)
    return float(slope), float(np.sqrt(cov[0][0]))


def plot(rows, warmup, out_png, verdicts):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = [r["t"] / 60 for r in rows]
    fig, (a, b) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for name, color in (("echo", "tab:blue"), ("http", "tab:orange")):
        a.plot(t, [r[f"{name}_rss_kib"] / 1024 for r in rows], color=color, label=f"{name} RSS")
        slope, intercept = verdicts[name]["line"]
        a.plot([warmup / 60, t[-1]], [(intercept + slope * warmup) / 1024, (intercept + slope * rows[-1]["t"]) / 1024],
               color=color, linestyle="--", linewidth=1, label=f"{name} fit: {verdicts[name]['growth_mib']:+.2f} MiB over the window")
    a.axvline(warmup / 60, color="grey", linestyle=":", label="end of warm-up")
    a.set_ylabel("VmRSS (MiB)")
    a.set_ylim(bottom=0)
    a.legend(loc="lower right", fontsize=8)
    a.set_title(f"examples/echo and examples/http on our stack over TAP, --net-fault {FAULT}", fontsize=10)
    b.plot(t, [r["mb_per_s"] for r in rows], color="tab:green", linewidth=0.8, label="TCP bytes received by the clients (MB/s)")
    b.set_ylabel("MB/s received")
    b2 = b.twinx()
    b2.plot(t, [r["open_echo"] + r["open_http"] for r in rows], color="tab:red", linewidth=0.8, label="open connections (client side)")
    b2.set_ylabel("open connections")
    b.set_xlabel("minutes")
    b.legend(loc="upper left", fontsize=8)
    b2.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)


def ensure_tools():
    """Installs from Debian's packages what the soak needs and this machine lacks (as run-tests does)."""
    import importlib.util
    import shutil
    missing = [pkg for tool, pkg in (("hping3", "hping3"), ("ping", "iputils-ping")) if shutil.which(tool) is None]
    missing += [pkg for mod, pkg in (("numpy", "python3-numpy"), ("matplotlib", "python3-matplotlib"))
                if importlib.util.find_spec(mod) is None]
    if not missing:
        return
    print(f"soak: installing {' '.join(missing)} from Debian's packages", flush=True)
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        sys.exit(f"soak: needs {' '.join(missing)}; install them (apt-get install) as root")
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--out", help="path prefix of the results (default bench/results/<date>-soak)")
    p.add_argument("--seed", type=int, default=20)
    p.add_argument("--load", type=float, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.load is not None:
        load(a.load, a.seed)
        return
    ensure_tools()
    out = a.out or os.path.join(REPO, "bench", "results", f"{datetime.date.today().isoformat()}-soak")
    seconds = int(a.minutes * 60)
    warmup = seconds / 3
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(1))
    started_at = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()
    apps, rows, loadp = {}, [], None
    tail, dead = [], []
    try:
        run("ip", "netns", "add", NS)
        run("ip", "-n", NS, "link", "set", "lo", "up")
        apps["echo"] = App("echo", "ussoak0", ECHO, "198.18.0.1", a.seed + 1, ("echoing TCP", "echoing UDP"), [])
        apps["http"] = App("http", "ussoak1", HTTP, "198.18.1.1", a.seed + 2, ("serving HTTP",), [])
        print(f"{NS}: echo pid {apps['echo'].pid}, http pid {apps['http'].pid}; {a.minutes} min of load", flush=True)
        loadp = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, os.path.abspath(__file__), "--load", str(seconds),
                                  "--seed", str(a.seed)], stdout=subprocess.PIPE, text=True, bufsize=1)
        t0 = time.monotonic()
        prev = None
        for line in loadp.stdout:
            if not line.startswith("{"):
                tail.append(line.rstrip())
                continue
            c = json.loads(line)
            t = time.monotonic() - t0
            row = {"t": round(t, 1)}
            for name, app in apps.items():
                r = rss_kib(app.pid)
                if r is None and name not in dead:
                    dead.append(name)
                row[f"{name}_rss_kib"] = r or 0
            row["mb_per_s"] = round((c["rx"] - (prev["rx"] if prev else 0)) / 1e6 / max(t - (rows[-1]["t"] if rows else 0), 0.1), 3)
            row.update(c)
            rows.append(row)
            prev = c
            if len(rows) % 60 == 0:
                print(f"{t / 60:5.1f} min: echo {row['echo_rss_kib'] / 1024:.1f} MiB, http {row['http_rss_kib'] / 1024:.1f} MiB, "
                      f"{c['tcp_ok']} transfers ok, {c['tcp_corrupt']} corrupt, {c['tcp_error']} errors, "
                      f"udp {c['udp_ok']}/{c['udp_sent']}, load {os.getloadavg()[0]:.1f}", flush=True)
        loadp.wait()
        alive = {name: app.alive() for name, app in apps.items()}
        exit_codes = {name: app.stop() for name, app in apps.items()}
    finally:
        if loadp and loadp.poll() is None:
            loadp.kill()
        for app in apps.values():
            if app.proc.poll() is None:
                app.stop()
        cleanup()
    load_end = os.getloadavg()
    # The last sample is the final count after the load's threads finished; the per-second rows before it.
    final = rows[-1]
    window = [r for r in rows if r["t"] >= warmup]
    verdicts = {}
    for name in apps:
        ys = [r[f"{name}_rss_kib"] for r in window]
        slope, err = fit([r["t"] for r in window], ys)
        import numpy as np
        intercept = float(np.mean(ys) - slope * np.mean([r["t"] for r in window]))
        span = window[-1]["t"] - window[0]["t"]
        median = float(np.median(ys))
        bound = max(4 * 1024, 0.02 * median)
        verdicts[name] = {"slope_kib_per_min": slope * 60, "err": err * 60, "growth_mib": slope * span / 1024,
                          "bound_mib": bound / 1024, "median_mib": median / 1024, "min_mib": min(ys) / 1024,
                          "max_mib": max(ys) / 1024, "flat": slope * span <= bound, "line": (slope, intercept)}
    passed = {
        "every TCP transfer complete and byte-exact": final["tcp_corrupt"] == 0 and final["tcp_error"] == 0 and final["tcp_ok"] > 0,
        "every UDP echo byte-exact": final["udp_corrupt"] == 0 and final["udp_ok"] > 0,
        "both apps alive at the end": all(alive.values()) and not dead,
        "echo RSS flat after warm-up": verdicts["echo"]["flat"],
        "http RSS flat after warm-up": verdicts["http"]["flat"],
    }
    with open(out + ".csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    plot(rows, warmup, out + ".png", verdicts)
    errors = [l[6:] for l in tail if l.startswith("ERROR ")]
    hung = [l[6:] for l in tail if l.startswith("ALIVE ") and l[6:].strip()]
    passed["every load thread finished"] = not hung
    lines = [
        f"# Soak {started_at:%Y-%m-%d %H:%M} UTC: {a.minutes:g} minutes under `--net-fault {FAULT}`",
        "",
        "`bench/soak/soak.py` (see its README): examples/echo and examples/http on our stack over TAP, each through "
        "`unisharp run --net-fault`, in one namespace, with mixed traffic from Linux peers at once. "
        f"Load average {load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end (2 cores shared with other builds).",
        "",
        f"**{'PASS' if all(passed.values()) else 'FAIL'}**",
        "",
        *[f"- {'pass' if ok else 'FAIL'}: {what}" for what, ok in passed.items()],
        "",
        "| traffic | figure |",
        "|---|---|",
        f"| TCP transfers verified (echo and http) | {final['tcp_ok']:,}, {final['bytes'] / 1e9:.2f} GB; {final['tcp_corrupt']} corrupt, {final['tcp_error']} failed |",
        f"| UDP echoes | {final['udp_ok']:,} of {final['udp_sent']:,} byte-exact, {final['udp_lost']:,} lost ({final['udp_lost'] / max(final['udp_sent'], 1):.1%}), {final['udp_corrupt']} corrupt |",
        f"| ping floods | {final['ping_received']:,} of {final['ping_sent']:,} answered ({1 - final['ping_received'] / max(final['ping_sent'], 1):.1%} lost) |",
        f"| SYN bursts (hping3) | {final['syn_bursts']} bursts of 2,000 SYNs |",
        f"| mean verified TCP throughput | {final['bytes'] / 1e6 / max(rows[-2]['t'] if len(rows) > 1 else 1, 1):.1f} MB/s |",
        f"| most connections open at once (client side) | {max(r['open_echo'] + r['open_http'] for r in rows)} |",
        "",
        f"RSS (VmRSS of the app process) from {warmup / 60:.1f} min to the end, least-squares line:",
        "",
        "| app | median MiB | min..max MiB | slope KiB/min (± s.e.) | growth over the window | bound | flat |",
        "|---|---:|---:|---:|---:|---:|---|",
        *[f"| {n} | {v['median_mib']:.1f} | {v['min_mib']:.1f}..{v['max_mib']:.1f} | {v['slope_kib_per_min']:+.1f} (± {v['err']:.1f}) "
          f"| {v['growth_mib']:+.2f} MiB | {v['bound_mib']:.1f} MiB | {'yes' if v['flat'] else 'NO'} |" for n, v in verdicts.items()],
        "",
        f"Exit codes after SIGTERM: {', '.join(f'{n} {c}' for n, c in exit_codes.items())}.",
        "",
        f"![RSS and throughput]({os.path.basename(out)}.png)",
    ]
    if errors:
        lines += ["", "First failures:", "", *[f"- {e}" for e in errors]]
    with open(out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    for app in apps.values():
        print(f"log: {app.log_path}")
    sys.exit(0 if all(passed.values()) else 1)


if __name__ == "__main__":
    main()

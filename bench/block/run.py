#!/usr/bin/env python3
"""The seed's block benchmark on the unix target, with dd and fio as peers in the same run.

Copies disk 0 onto disk 1 (two files, refilled from /dev/urandom before every run) in jobs of N sectors,
serial and parallel, through Unisharp's BlockIoScheduler over FileBlockDevice (O_DIRECT, io_uring), and
copies the same disks with `dd iflag=direct oflag=direct bs=<same>` and with fio at the same block size
and queue depth. Prints the median MB/s of each and the ratio to dd.

Environment (defaults are the full benchmark; it takes hours at the smallest sizes):
  DISK_MB=256        size of each disk
  SMALL_DISK_MB      disk size for buffsizes under 50 sectors (default DISK_MB): dd at 512 bytes copies
                     about 1 MB/s, so 256 MiB there takes minutes per run
  REPS=5             runs of each, the median is reported
  SIZES="1 2 5 10 20 50 100 200 500 1000 2000"   buffsizes in 512-byte sectors
  DIR=/var/tmp/unisharp-block-bench              where the disks live (a filesystem that takes O_DIRECT)
  HARNESS            the BlockBench binary; built (Native AOT, as apps are) when not given
  CSV                where raw results go (default $DIR/results.csv)
"""
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(ROOT, "..", ".."))
DISK_MB = int(os.environ.get("DISK_MB", "256"))
SMALL_DISK_MB = int(os.environ.get("SMALL_DISK_MB", str(DISK_MB)))
REPS = int(os.environ.get("REPS", "5"))
SIZES = [int(s) for s in os.environ.get("SIZES", "1 2 5 10 20 50 100 200 500 1000 2000").split()]
DIR = os.environ.get("DIR", "/var/tmp/unisharp-block-bench")
CSV = os.environ.get("CSV", os.path.join(DIR, "results.csv"))
SECTOR = 512
# BlockCopy's parallel mode: the queue depth of a file disk, at most 16 MiB of buffers in flight.
FILE_QUEUE_DEPTH = 64
MAX_BYTES_IN_FLIGHT = 16 * 1024 * 1024


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def build_harness():
    out = "/tmp/art-block-bench/aot"
    run(["dotnet", "publish", os.path.join(ROOT, "BlockBench", "BlockBench.csproj"), "-c", "Release", "-r", "linux-x64",
         "-p:PublishAot=true", "--artifacts-path", "/tmp/art-block-bench", "-o", out, "--nologo"], cwd=REPO)
    return os.path.join(out, "BlockBench")


def refill(paths, size_mb):
    for p in paths:
        run(["dd", "if=/dev/urandom", f"of={p}", "bs=1M", f"count={size_mb}", "iflag=fullblock", "status=none"])


def ours(harness, d0, d1, buffsize, parallel):
    out = run([harness, d0, d1, str(buffsize), "true" if parallel else "false"]).stdout
    ns = int(re.search(r"done: (\d+)", out).group(1))
    size = int(re.search(r"bytes=(\d+)", out).group(1))
    return size / 1e6 / (ns / 1e9)


def dd(d0, d1, block, size):
    count = (size + block - 1) // block
    err = run(["dd", f"if={d0}", f"of={d1}", f"bs={block}", f"count={count}", "iflag=direct", "oflag=direct", "conv=notrunc"]).stderr
    m = re.search(r"(\d+) bytes .* copied, ([0-9.]+) s", err)
    return int(m.group(1)) / 1e6 / float(m.group(2))


def fio(d0, d1, block, size, depth):
    # fio cannot copy: a reader of disk 0 and a writer of disk 1 run side by side at the same block size
    # and queue depth, the copy's upper bound; the rate is the disk's bytes over the slower job's time.
    args = ["fio", "--output-format=json", "--ioengine=io_uring", "--direct=1", f"--bs={block}", f"--iodepth={depth}",
            f"--size={size}", "--group_reporting=0",
            "--name=read", f"--filename={d0}", "--rw=read",
            "--name=write", f"--filename={d1}", "--rw=write"]
    out = json.loads(run(args).stdout)
    runtime_ms = max(max(j["read"]["runtime"], j["write"]["runtime"]) for j in out["jobs"])
    return size / 1e6 / (runtime_ms / 1e3)


def main():
    os.makedirs(DIR, exist_ok=True)
    harness = os.environ.get("HARNESS") or build_harness()
    d0, d1 = os.path.join(DIR, "disk0.img"), os.path.join(DIR, "disk1.img")
    rows = []
    with open(CSV, "w") as csv:
        csv.write("buffsize_sectors,block_bytes,disk_mb,tool,rep,mbps\n")
        for n in SIZES:
            size_mb = SMALL_DISK_MB if n < 50 else DISK_MB
            size = size_mb * 1024 * 1024
            block = n * SECTOR
            depth = max(1, min(FILE_QUEUE_DEPTH, MAX_BYTES_IN_FLIGHT // block))
            results = {"serial": [], "parallel": [], "dd": [], "fio": []}
            for rep in range(REPS):
                for tool in results:
                    refill([d0, d1], size_mb)
                    if tool == "serial":
                        mbps = ours(harness, d0, d1, n, False)
                    elif tool == "parallel":
                        mbps = ours(harness, d0, d1, n, True)
                    elif tool == "dd":
                        mbps = dd(d0, d1, block, size)
                    else:
                        mbps = fio(d0, d1, block, size, depth)
                    results[tool].append(mbps)
                    csv.write(f"{n},{block},{size_mb},{tool},{rep},{mbps:.2f}\n")
                    csv.flush()
            med = {k: statistics.median(v) for k, v in results.items()}
            rows.append((n, block, size_mb, depth, med))
            print(f"buffsize {n:5} ({block:7} B, {size_mb} MiB, qd {depth:2}): serial {med['serial']:8.1f}  parallel {med['parallel']:8.1f}  "
                  f"dd {med['dd']:8.1f}  fio {med['fio']:8.1f} MB/s", flush=True)
    print()
    print(f"Median of {REPS} runs, MB/s (10^6 bytes/s); disks of {DISK_MB} MiB (buffsize < 50: {SMALL_DISK_MB} MiB) in {DIR}")
    print("| buffsize (sectors) | block | serial | parallel | dd | fio (same bs, qd) | serial/dd | parallel/dd |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, block, size_mb, depth, med in rows:
        print(f"| {n} | {block} | {med['serial']:.1f} | {med['parallel']:.1f} | {med['dd']:.1f} | {med['fio']:.1f} (qd {depth}) "
              f"| {med['serial'] / med['dd']:.2f}x | {med['parallel'] / med['dd']:.2f}x |")
    for p in (d0, d1):
        os.remove(p)


if __name__ == "__main__":
    sys.exit(main())

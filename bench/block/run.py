#!/usr/bin/env python3
"""The seed's block benchmark on the unix target, with dd and fio as peers in the same run.

Copies disk 0 onto disk 1 (two files, refilled from /dev/urandom before every run) in jobs of N sectors,
serial and parallel, through Unisharp's BlockIoScheduler over FileBlockDevice (O_DIRECT, io_uring), and
copies the same disks with `dd iflag=direct oflag=direct bs=<same>` and with fio at the same block size
and queue depth. Prints the median MB/s of each and the ratio to dd.

The defaults are the full benchmark of issue 6 (two 256 MiB disks, 11 sizes, median of 5); it takes hours,
because dd copies about 1 MB/s at 512 bytes. --time-limit stops starting new runs after that many seconds
and reports what completed (a size cut short shows how many runs its median is of).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(ROOT, "..", ".."))
SECTOR = 512
ALL_SIZES = "1,2,5,10,20,50,100,200,500,1000,2000"
# BlockCopy's parallel mode: the queue depth of a file disk, at most 16 MiB of buffers in flight.
FILE_QUEUE_DEPTH = 64
MAX_BYTES_IN_FLIGHT = 16 * 1024 * 1024
TOOLS = ("serial", "parallel", "dd", "fio")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=5, help="runs of each tool per size; the median is reported (5)")
    p.add_argument("--sizes", default=ALL_SIZES, help=f"buffsizes in 512-byte sectors, comma separated ({ALL_SIZES})")
    p.add_argument("--disk-mib", type=int, default=256, help="size of each disk in MiB (256)")
    p.add_argument("--small-disk-mib", type=int, default=None,
                   help="disk size for buffsizes under 50 sectors (default: --disk-mib)")
    p.add_argument("--largest-first", action="store_true",
                   help="run the sizes from the largest down, so a time-bounded run covers the most sizes")
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds; no run starts after this, the sizes done so far are reported")
    p.add_argument("--dir", default="/var/tmp/unisharp-block-bench", help="where the disks live (must take O_DIRECT)")
    p.add_argument("--harness", default=os.environ.get("HARNESS"), help="a built BlockBench; built with Native AOT when absent")
    p.add_argument("--csv", default=None, help="raw results (default DIR/results.csv)")
    p.add_argument("--markdown", default=None, help="also write the result table to this file after every size")
    return p.parse_args()


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def build_harness():
    out = "/tmp/art-block/bench/aot"
    run(["dotnet", "publish", os.path.join(ROOT, "BlockBench", "BlockBench.csproj"), "-c", "Release", "-r", "linux-x64",
         "-p:PublishAot=true", "--artifacts-path", "/tmp/art-block/bench", "-o", out, "--nologo"], cwd=REPO)
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


def table(rows, args):
    small = args.small_disk_mib or args.disk_mib
    lines = [f"Median of up to {args.reps} runs, MB/s (10^6 bytes/s); disks of {args.disk_mib} MiB "
             f"(buffsize < 50: {small} MiB) in {args.dir}",
             "",
             "| buffsize (sectors) | block | runs | serial | parallel | dd | fio (same bs, qd) | serial/dd | parallel/dd |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, block, depth, med, runs in sorted(rows):
        lines.append(f"| {n} | {block} | {runs} | {med['serial']:.1f} | {med['parallel']:.1f} | {med['dd']:.1f} | "
                     f"{med['fio']:.1f} (qd {depth}) | {med['serial'] / med['dd']:.2f}x | {med['parallel'] / med['dd']:.2f}x |")
    return "\n".join(lines) + "\n"


def main():
    args = parse_args()
    started = time.monotonic()
    sizes = [int(s) for s in args.sizes.replace(" ", ",").split(",") if s]
    if args.largest_first:
        sizes.sort(reverse=True)
    small = args.small_disk_mib or args.disk_mib
    os.makedirs(args.dir, exist_ok=True)
    harness = args.harness or build_harness()
    d0, d1 = os.path.join(args.dir, "disk0.img"), os.path.join(args.dir, "disk1.img")
    csv_path = args.csv or os.path.join(args.dir, "results.csv")

    def out_of_time():
        return args.time_limit is not None and time.monotonic() - started > args.time_limit

    rows = []
    with open(csv_path, "w") as csv:
        csv.write("buffsize_sectors,block_bytes,disk_mb,tool,rep,mbps\n")
        for n in sizes:
            size_mb = small if n < 50 else args.disk_mib
            size = size_mb * 1024 * 1024
            block = n * SECTOR
            depth = max(1, min(FILE_QUEUE_DEPTH, MAX_BYTES_IN_FLIGHT // block))
            results = {t: [] for t in TOOLS}
            for rep in range(args.reps):
                if out_of_time():
                    break
                # A run is every tool once, each on freshly refilled disks.
                for tool in TOOLS:
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
            runs = min(len(v) for v in results.values())
            if runs == 0:
                print(f"buffsize {n}: out of time, not run", flush=True)
                continue
            med = {k: statistics.median(v[:runs]) for k, v in results.items()}
            rows.append((n, block, depth, med, runs))
            print(f"buffsize {n:5} ({block:7} B, {size_mb} MiB, qd {depth:2}, {runs} runs): serial {med['serial']:8.1f}  "
                  f"parallel {med['parallel']:8.1f}  dd {med['dd']:8.1f}  fio {med['fio']:8.1f} MB/s", flush=True)
            if args.markdown:
                with open(args.markdown, "w") as md:
                    md.write(table(rows, args))
    print()
    print(table(rows, args), end="")
    for p in (d0, d1):
        if os.path.exists(p):
            os.remove(p)


if __name__ == "__main__":
    sys.exit(main())

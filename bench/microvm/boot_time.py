#!/usr/bin/env python3
"""Boots a QEMU command line once and prints, as one JSON line, the wall time from QEMU's start to the first
appearance of MARKER on the console (null when it did not appear within 120 s).

    boot_time.py NAME MARKER -- qemu-system-x86_64 ARGS...
    boot_time.py --summary RESULTS.jsonl      # median, min and max per NAME, and each median over the first NAME's
"""
import json
import os
import statistics
import subprocess
import sys
import time


def boot_once(command, marker, timeout=120.0):
    start = time.monotonic()
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    os.set_blocking(process.stdout.fileno(), True)
    seen = b""
    first = None
    try:
        while time.monotonic() - start < timeout:
            chunk = process.stdout.read1(4096)
            if not chunk:
                break
            seen += chunk
            if marker in seen:
                first = time.monotonic() - start
                break
    finally:
        process.kill()
        process.wait()
    return first, seen


def main():
    if sys.argv[1] == "--summary":
        summary(sys.argv[2])
        return
    name, marker = sys.argv[1], sys.argv[2].encode()
    command = sys.argv[sys.argv.index("--") + 1:]
    first, seen = boot_once(command, marker)
    if first is None:
        sys.stderr.write(f"{name}: no '{marker.decode()}' on the console; last output: {seen[-300:]!r}\n")
    print(json.dumps({"name": name, "seconds": None if first is None else round(first, 3)}), flush=True)


def summary(path):
    runs = {}
    for line in open(path):
        row = json.loads(line)
        runs.setdefault(row["name"], []).append(row["seconds"])
    reference = None
    print(f"{'configuration':28} {'median s':>9} {'min s':>7} {'max s':>7} {'failed':>7} {'x first':>8}")
    for name, values in runs.items():
        times = [v for v in values if v is not None]
        failed = len(values) - len(times)
        if times:
            median = statistics.median(times)
            reference = reference or median
            print(f"{name:28} {median:9.2f} {min(times):7.2f} {max(times):7.2f} {failed:7} {median / reference:8.2f}")
        else:
            print(f"{name:28} {'-':>9} {'-':>7} {'-':>7} {failed:7} {'-':>8}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmarks (`just bench` / scripts/bench.sh): wall time, rows/s and peak RSS of the release
binary on the Baiyin sample and on synthetic scale-ups, median of 3 runs each. Prints a
markdown table for BENCHMARKS.md. Standard library only."""
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / "target/release/riskcensus"
GEN = REPO / "target/release/riskcensus-samplegen"
WORK = REPO / "target/bench"
RUNS = 3


def measure(args, cwd):
    """Run one child; return (seconds, peak RSS in MiB of that child)."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.chdir(cwd)
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.execv(str(BIN), [str(BIN), *args])
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"riskcensus {' '.join(args)} exited {code}")
    return seconds, usage.ru_maxrss / 1024


def bench(label, pipeline, rows, out):
    results = []
    for mode, args in (("run", ["run", str(pipeline), "--out", str(out), "-q"]), ("validate", ["validate", "--pipeline", str(pipeline)])):
        samples = [measure(args, REPO) for _ in range(RUNS)]
        secs = statistics.median(s for s, _ in samples)
        rss = max(r for _, r in samples)
        results.append((label, mode, rows, secs, rows / secs, rss))
    return results


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]
    WORK.mkdir(parents=True, exist_ok=True)
    rows = []
    sample_rows = sum(i["rows_read"] for i in json.loads(
        subprocess.run([str(BIN), "validate", "--pipeline", "pipelines/baiyin-2021.toml", "--format", "json"],
                       cwd=REPO, capture_output=True, text=True).stdout)["files"])
    rows += bench("Baiyin sample (31 classes, 33 files, planted defects)", REPO / "pipelines/baiyin-2021.toml", sample_rows, WORK / "sample-db")
    for n in sizes:
        d = WORK / f"scale-{n}"
        if not (d / "pipeline.toml").exists():
            subprocess.run([str(GEN), "scale", str(n), str(d), str(REPO / "sample_data")], check=True)
        rows += bench(f"synthetic schools, {n:,} rows", d / "pipeline.toml", n, d / "db")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem = next((int(l.split()[1]) // 1024 // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    print(f"Machine: {cpu}, {os.cpu_count()} cores, {mem} GiB RAM, {platform.system()} {platform.release()}; "
          f"median of {RUNS} runs; peak RSS is the largest of the runs.\n")
    print("| input | command | rows | wall (s) | rows/s | peak RSS (MiB) |")
    print("|---|---|---:|---:|---:|---:|")
    for label, mode, n, secs, rate, rss in rows:
        print(f"| {label} | {mode} | {n:,} | {secs:.2f} | {rate:,.0f} | {rss:.0f} |")


if __name__ == "__main__":
    main()

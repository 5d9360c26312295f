#!/usr/bin/env python3
"""Benchmarks (`just bench` / scripts/bench.sh): the release binary against a peer, on the Baiyin
sample and on synthetic censuses (`riskcensus synth`) at 100 k, 1 M and 5.4 M rows.

For every synthetic size (villages = rows / 9, as in the national census: 5.4 M rows over 600 k
villages; seed 1, 1 % planted defects):

- `run`      — riskcensus end to end (ingest, validate, locate, aggregate, publish), `--timings`;
- `validate` — riskcensus validate-only (ingest, validate, locate; no database);
- `peer`     — bench/peer/peer.py: pandas (pyarrow engine) + geopandas, a subset of the checks,
               GeoParquet out;
- `duckdb`   — bench/peer/duckdb_floor.py: DuckDB + spatial, CSV → GeoParquet, no checks (the floor).

Each size runs on two shapes of the same rows: as `synth` writes them, one file per province and
class (≈ 960 files at 5.4 M rows), and merged into one file per class (31 files, the largest over
a million rows: a merge step below, outside the timing).

Village shapes (`--shapes`, default `tiling,grid`): synth's jittered tiling, and grid cells (four
villages meeting at each corner, straight shared borders); `slivers` (neighbours overlapping by
≈ 2 m, as digitised boundaries do) can be added. Each shape is its own census of the same sizes.

Each is run RUNS times (default 3); the table gives the median wall time and the largest peak RSS
(`wait4` rusage of the child and its children). Prints markdown for BENCHMARKS.md.

Usage: bench.py [ROWS ...] [--runs N] [--shapes tiling,grid,slivers]
       (default sizes: 100000 1000000 5400000)
"""
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / "target/release/riskcensus"
PY = REPO / "target/pyenv/bin/python"
WORK = REPO / "target/bench"


def measure(argv, cwd=REPO):
    """Run one child; return (seconds, peak RSS in MiB of that child, exit code)."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.chdir(cwd)
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.execv(str(argv[0]), [str(a) for a in argv])
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{' '.join(map(str, argv))} exited {code}")
    return seconds, usage.ru_maxrss / 1024


def repeat(argv, runs, after=None, fresh=None):
    """`argv`: the command, or a function of the run's number that gives it. `fresh`: a directory
    removed before every run (outside the timing), so each run writes a new database instead of
    also deleting the previous one."""
    samples = []
    extra = []
    for i in range(runs):
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
        samples.append(measure(argv(i) if callable(argv) else argv))
        if after:
            extra.append(after())
    secs = statistics.median(s for s, _ in samples)
    rss = max(r for _, r in samples)
    return secs, rss, extra


def merged_per_class(census):
    """The census of `census` with each class's returns merged into one file (the header once), in
    a sibling folder that links the register, schemas and geometry. Made once per census."""
    merged = census.parent / f"{census.name}-per-class"
    pipeline = tomllib.loads((census / "pipeline.toml").read_text(encoding="utf-8"))
    done = merged / "pipeline.toml"
    if done.exists() and done.stat().st_mtime >= (census / "synth.json").stat().st_mtime:
        return merged
    shutil.rmtree(merged, ignore_errors=True)
    (merged / "returns").mkdir(parents=True)
    for name in ("register.csv", "schemas", "geometry", "synth.json"):
        (merged / name).symlink_to(census / name)
    by_class = {}
    for r in pipeline["returns"]:
        by_class.setdefault(r["class"], []).append(census / r["path"])
    text = (census / "pipeline.toml").read_text(encoding="utf-8")
    text = text[:text.index("[[returns]]")]
    for code, paths in by_class.items():
        with open(merged / "returns" / f"{code}.csv", "wb") as out:
            for i, path in enumerate(paths):
                with open(path, "rb") as f:
                    header = f.readline()
                    if i == 0:
                        out.write(header)
                    shutil.copyfileobj(f, out)
        text += f'[[returns]]\nclass = "{code}"\npath = "returns/{code}.csv"\n\n'
    done.write_text(text, encoding="utf-8")
    return merged


def stage_medians(timings):
    """Median seconds and median memory held at the stage's end (MiB) per stage over the runs'
    --timings files."""
    stages = [s["stage"] for s in timings[0]["stages"]]

    def median_of(i, key):
        values = [t["stages"][i].get(key) for t in timings]
        return statistics.median(values) if all(v is not None for v in values) else None

    return [(name, median_of(i, "seconds"), median_of(i, "rss_mib")) for i, name in enumerate(stages)]


def bench_census(census, label, rows, runs, table, stage_tables):
    """Every command on the census in `census`, RUNS times each; rows added to the tables. Returns
    the databases written (removed at the end of the benchmark)."""
    pipeline = census / "pipeline.toml"
    databases = []

    timings_file = census / "timings.json"
    # Every run writes a database of its own, and they are all removed at the end of the
    # benchmark: on the reference machine's ext4, which has no journal, creating files
    # within minutes of deleting a national database (~160,000 files) makes every creation
    # scan the inodes just freed (the kernel's `recently_deleted`, a quarter of a run's CPU
    # samples; BENCHMARKS.md). That is a cost of the benchmark's clean-up, not of the run.
    secs, rss, timings = repeat(
        lambda i: [BIN, "run", pipeline, "--out", census / f"db-{i + 1}", "-q", "--timings", timings_file],
        runs, after=lambda: json.loads(timings_file.read_text()))
    databases.extend(census / f"db-{i + 1}" for i in range(runs))
    table.append((label, "riskcensus run", rows, secs, rss))
    stage_tables.append((label, stage_medians(timings)))
    secs, rss, _ = repeat([BIN, "validate", "--pipeline", pipeline, "--format", "json", "-o",
                           census / "findings.json"], runs)
    table.append((label, "riskcensus validate", rows, secs, rss))
    secs, rss, _ = repeat([PY, REPO / "bench/peer/peer.py", census, census / "peer-out"], runs,
                          fresh=census / "peer-out")
    table.append((label, "peer: pandas + geopandas", rows, secs, rss))
    secs, rss, _ = repeat([PY, REPO / "bench/peer/duckdb_floor.py", census, census / "duckdb-out"], runs,
                          fresh=census / "duckdb-out")
    table.append((label, "floor: DuckDB CSV → GeoParquet, no checks", rows, secs, rss))

    return databases


def main():
    args = sys.argv[1:]
    runs = 3
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i:i + 2]
    shapes = ["tiling", "grid"]
    if "--shapes" in args:
        i = args.index("--shapes")
        shapes = args[i + 1].split(",")
        del args[i:i + 2]
    sizes = [int(a) for a in args] or [100_000, 1_000_000, 5_400_000]
    WORK.mkdir(parents=True, exist_ok=True)
    table = []
    stage_tables = []
    databases = []
    # Databases an interrupted benchmark left behind.
    for old in WORK.glob("synth-*/db*"):
        shutil.rmtree(old, ignore_errors=True)

    sample_rows = sum(i["rows_read"] for i in json.loads(
        subprocess.run([str(BIN), "validate", "--pipeline", "pipelines/baiyin-2021.toml", "--format", "json"],
                       cwd=REPO, capture_output=True, text=True).stdout)["files"])
    label = "Baiyin sample (31 classes, 33 files, planted defects)"
    for mode, argv in (("run", [BIN, "run", "pipelines/baiyin-2021.toml", "--out", WORK / "sample-db", "-q"]),
                       ("validate", [BIN, "validate", "--pipeline", "pipelines/baiyin-2021.toml"])):
        secs, rss, _ = repeat(argv, runs)
        table.append((label, mode, sample_rows, secs, rss))

    for rows in sizes:
        for village_shape in shapes:
            villages = max(rows // 9, 1)
            census = WORK / (f"synth-{rows}" if village_shape == "tiling" else f"synth-{rows}-{village_shape}")
            summary = census / "synth.json"
            want = {"rows": rows, "villages": villages, "village_shape": village_shape}
            have = json.loads(summary.read_text()) if summary.exists() else {}
            if any(have.get(k, "tiling" if k == "village_shape" else None) != v for k, v in want.items()):
                subprocess.run([BIN, "synth", "--villages", str(villages), "--rows", str(rows), "--seed", "1",
                                "--village-shape", village_shape, "--out", census], check=True, cwd=REPO)
            for layout, files in (("per province", census), ("one file per class", merged_per_class(census))):
                label = f"synthetic census, {rows:,} rows, {villages:,} villages ({village_shape}), {layout}"
                databases.extend(bench_census(files, label, rows, runs, table, stage_tables))

    for database in databases:
        shutil.rmtree(database, ignore_errors=True)

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
               platform.processor())
    mem = next((int(l.split()[1]) // 1024 // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    print(f"Machine: {cpu}, {os.cpu_count()} cores, {mem} GiB RAM, {platform.system()} {platform.release()}; "
          f"median of {runs} runs; peak RSS is the largest of the runs.\n")
    print("| input | command | rows | wall (s) | rows/s | peak RSS (MiB) | vs peer |")
    print("|---|---|---:|---:|---:|---:|---:|")
    peer = {label: secs for label, mode, _, secs, _ in table if mode.startswith("peer")}
    for label, mode, n, secs, rss in table:
        ratio = f"{peer[label] / secs:.2f}×" if label in peer else ""
        print(f"| {label} | {mode} | {n:,} | {secs:.2f} | {n / secs:,.0f} | {rss:.0f} | {ratio} |")
    for label, stages in stage_tables:
        print(f"\nStages of `riskcensus run`, {label} (medians):\n")
        print("| stage | seconds | memory held after (MiB) |")
        print("|---|---:|---:|")
        for name, secs, rss in stages:
            held = f"{rss:.0f}" if rss is not None else ""
            print(f"| {name} | {secs:.2f} | {held} |")


if __name__ == "__main__":
    main()

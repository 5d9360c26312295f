#!/usr/bin/env python3
"""Load test of `riskcensus serve` on loopback: N concurrent uploads of one return, each waited
for until its check is done. Prints a Markdown row: uploads, rows each, latency (median, p95,
max: from the start of the upload to the check's end), failures, the server's peak RSS.

    scripts/load_serve.py BIN PIPELINE FILE [--uploads 20] [--limit 60]

Bounded: gives up after --limit seconds (the failures count what did not finish). Standard
library only."""
import argparse
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path


def upload(url, path):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{path.name}\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url + "/upload", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(request)
    except urllib.error.HTTPError as e:
        if e.code != 303:
            raise RuntimeError(f"upload: HTTP {e.code}: {e.read().decode()[:200]}")
        return e.headers["Location"].split("?")[0]
    raise RuntimeError("upload: no redirect")


def wait(url, session, deadline):
    import json
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url + session + "/status") as r:
            status = json.load(r)
        if status["state"] == "done":
            return status
        if status["state"] != "running":
            raise RuntimeError(f"check: {status}")
        time.sleep(0.1)
    raise TimeoutError("not done in time")


def peak_rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("pipeline")
    ap.add_argument("file", type=Path)
    ap.add_argument("--uploads", type=int, default=20)
    ap.add_argument("--limit", type=float, default=60)
    args = ap.parse_args()
    server = subprocess.Popen([args.bin, "serve", "--pipeline", args.pipeline, "--listen", "127.0.0.1:0",
                               "--max-upload-mib", "256"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = server.stdout.readline().strip().rstrip("/")
    rss_at_start = peak_rss_mib(server.pid)
    rows = sum(1 for _ in args.file.open(encoding="utf-8-sig")) - 1
    latencies, failures = [], []
    deadline = time.monotonic() + args.limit
    start = threading.Barrier(args.uploads)

    def one():
        start.wait()
        t0 = time.monotonic()
        try:
            status = wait(url, upload(url, args.file), deadline)
            assert status["rows_read"] == rows == status["accepted"] + status["rejected"], status
            latencies.append(time.monotonic() - t0)
        except Exception as e:  # counted, and the first printed
            failures.append(repr(e))

    t0 = time.monotonic()
    threads = [threading.Thread(target=one) for _ in range(args.uploads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    peak = peak_rss_mib(server.pid)
    server.terminate()
    server.wait(timeout=30)
    if failures:
        print("first failure:", failures[0])
    lat = sorted(latencies)
    p95 = lat[max(0, int(round(0.95 * len(lat))) - 1)] if lat else float("nan")
    print("| uploads | rows each | wall s | latency median s | p95 s | max s | failed | server RSS at start MiB | peak MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.uploads} | {rows} | {wall:.1f} | {statistics.median(lat) if lat else float('nan'):.2f} | {p95:.2f} | "
          f"{lat[-1] if lat else float('nan'):.2f} | {len(failures)} | {rss_at_start:.0f} | {peak:.0f} |")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

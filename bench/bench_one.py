"""One measurement in a process of its own: one engine, one model, one thread count, one batch.

    python bench/bench_one.py --engine ferry|onnxruntime --model model.onnx --feeds feeds.npz \
        --threads 1 --runs 30 --warmup 5 --json out.json

Imports only numpy and the engine (the feeds come ready-made in an .npz written by the driver),
so the peak resident memory it reports is the interpreter, numpy, the engine and the model
alone. It is VmHWM of /proc/self/status, the high-water mark of this process's own address
space: getrusage's ru_maxrss would not do, as Linux carries it across exec, so a child exec'd
from a large driver would report the driver's size. Steps: create the session (timed; each engine's default
optimization level, intra-op threads = --threads, inter-op 1, sequential execution), run the
warm-up, then --runs timed runs (time.perf_counter around each run call). Writes
{"engine", "creation_s", "times_s": [...], "peak_rss_kb", "rss_before_session_kb"} to --json.
Progress goes to stderr as lines "progress DONE TOTAL" for the driver's bar.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def _status_kb(field: str) -> int:
    """A memory figure of /proc/self/status in KiB (VmRSS: now, VmHWM: peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _session(engine: str, model: str, threads: int):
    if engine == "ferry":
        import ferry as rt
    elif engine == "onnxruntime":
        import onnxruntime as rt
    else:
        raise SystemExit(f"bench_one: unknown engine {engine!r} (ferry or onnxruntime)")
    options = rt.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = rt.ExecutionMode.ORT_SEQUENTIAL
    start = time.perf_counter()
    session = rt.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    return session, time.perf_counter() - start


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", required=True, choices=("ferry", "onnxruntime"))
    ap.add_argument("--model", required=True, help="the .onnx file")
    ap.add_argument("--feeds", required=True, help=".npz of the inputs, by input name")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--json", required=True, help="where to write the result")
    args = ap.parse_args(argv)

    import numpy as np

    with np.load(args.feeds) as data:
        feeds = {k: data[k] for k in data.files}
    rss_before = _status_kb("VmRSS")
    session, creation_s = _session(args.engine, args.model, args.threads)
    total = args.warmup + args.runs
    times = []
    for i in range(total):
        start = time.perf_counter()
        session.run(None, feeds)
        elapsed = time.perf_counter() - start
        if i >= args.warmup:
            times.append(elapsed)
        print(f"progress {i + 1} {total}", file=sys.stderr, flush=True)
    result = {"engine": args.engine, "threads": args.threads, "creation_s": creation_s, "times_s": times,
              "peak_rss_kb": _status_kb("VmHWM"),
              "rss_before_session_kb": rss_before}
    with open(args.json, "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())

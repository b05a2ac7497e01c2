"""Ferry vs onnxruntime, side by side on the model zoo (issue 6). See bench/README.md.

    PYTHONPATH=build/python .venv/bin/python bench/run_bench.py [--models resnet50,lstm] [--threads 1,2]

For each model, thread count and batch, Ferry and onnxruntime each run in fresh processes
(bench/bench_one.py), one after the other, the order flipping from pair to pair so that drift of
the machine hits both; `--processes` pairs per figure, whose medians are reported. Writes
OUT/results.json (raw), OUT/RESULTS.md (tables and ratios ferry/onnxruntime, each marked against
issue 6's target) and OUT/results.png (ratio bars).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import threading

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import flops  # noqa: E402
import report  # noqa: E402
from progress import Progress  # noqa: E402

ENGINES = ("ferry", "onnxruntime")
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq",
             "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8")


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="all", help="comma-separated zoo recipes (default: every recipe)")
    ap.add_argument("--size", default="full", choices=("full", "smoke"), help="zoo size (smoke: the harness's test)")
    ap.add_argument("--threads", default="1,2", help="intra-op thread counts, e.g. 1,2")
    ap.add_argument("--runs", type=int, default=30, help="timed runs at batch 1 (p50/p90 over these)")
    ap.add_argument("--processes", type=int, default=3,
                    help="fresh process pairs per figure; each figure is the median over them (a host hiccup "
                         "that slows one process then moves no row)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs after session creation")
    ap.add_argument("--batch8", action=argparse.BooleanOptionalAction, default=True,
                    help="batch-8 throughput and memory for the vision (CNN/ViT) recipes")
    ap.add_argument("--batch8-runs", type=int, default=10, help="timed runs at batch 8")
    ap.add_argument("--batch8-processes", type=int, default=0,
                    help="fresh process pairs per batch-8 figure (default: --processes); batch 8 runs 8x as "
                         "long, and its targets are memory, not latency")
    ap.add_argument("--exporter", default="torchscript", help="zoo exporter of the benchmarked export")
    ap.add_argument("--opset", type=int, default=17, help="opset of the benchmarked export")
    ap.add_argument("--out", default=str(HERE), help="where results.json, RESULTS.md, results.png go")
    ap.add_argument("--probe", default="", help="ferry_sgemm_probe binary (default: BUILD/ferry_sgemm_probe)")
    ap.add_argument("--probe-sizes", default="512,1024,2048", help="square sgemm sizes the probe times")
    ap.add_argument("--probe-reps", type=int, default=10, help="the probe's timed repetitions (best counts)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds one measurement may take")
    ap.add_argument("--report-only", action="store_true", help="rewrite RESULTS.md/results.png from OUT/results.json")
    args = ap.parse_args(argv)
    args.threads = [int(t) for t in _csv(args.threads)]
    if args.processes < 1:
        ap.error("--processes must be at least 1")
    if args.batch8_processes < 0:
        ap.error("--batch8-processes must be at least 1 (0: as --processes)")
    args.batch8_processes = args.batch8_processes or args.processes
    return args


def build_dir() -> pathlib.Path:
    """The CMake build whose extension is imported (BUILD/python/ferry), or $FERRY_BUILD_DIR."""
    if os.environ.get("FERRY_BUILD_DIR"):
        return pathlib.Path(os.environ["FERRY_BUILD_DIR"]).resolve()
    import ferry

    return pathlib.Path(os.path.abspath(ferry.__file__)).parent.parent.parent


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict:
    import onnx
    import onnxruntime

    import ferry

    cpu, flags = platform.processor(), set()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                cpu = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
            "isa_flags": [f for f in ISA_FLAGS if f in flags], "os": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__, "ferry": ferry.__version__,
            "ferry_commit": commit + ("+local changes" if dirty else ""),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "loadavg_start": os.getloadavg()[0]}


def sgemm_peak(args, build: pathlib.Path) -> dict | None:
    probe = pathlib.Path(args.probe) if args.probe else build / "ferry_sgemm_probe"
    if not probe.exists():
        print(f"run_bench: {probe} not found (cmake --build ... --target ferry_sgemm_probe); "
              "no % of peak", file=sys.stderr)
        return None
    proc = subprocess.run([str(probe), "--threads", ",".join(map(str, args.threads)), "--sizes", args.probe_sizes,
                           "--reps", str(args.probe_reps)],
                          capture_output=True, text=True, timeout=args.timeout)
    if proc.returncode != 0:
        print(f"run_bench: {probe} failed: {proc.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


def stats(raw: dict) -> dict:
    times = np.asarray(raw["times_s"])
    return {"creation_s": raw["creation_s"], "p50_s": float(np.percentile(times, 50)),
            "p90_s": float(np.percentile(times, 90)), "mean_s": float(times.mean()), "min_s": float(times.min()),
            "runs": int(times.size), "peak_rss_kb": raw["peak_rss_kb"],
            "rss_before_session_kb": raw["rss_before_session_kb"]}


def median_of_processes(per_process: list[dict]) -> dict:
    """One engine's figure from its processes: the median of each figure (the fastest run's time is
    the minimum), with every process's own stats kept under "per_process"; the first error, if any."""
    failed = [s for s in per_process if "error" in s]
    if failed:
        return failed[0]
    merged = {key: float(np.median([s[key] for s in per_process])) for key in
              ("creation_s", "p50_s", "p90_s", "mean_s", "peak_rss_kb", "rss_before_session_kb")}
    merged.update(min_s=min(s["min_s"] for s in per_process), runs=per_process[0]["runs"],
                  processes=len(per_process), per_process=per_process)
    return merged


def measure(args, engine: str, model: pathlib.Path, feeds: pathlib.Path, threads: int, runs: int,
            bar: Progress, tmp: pathlib.Path) -> dict:
    """Runs bench_one.py in a fresh process; its stats, or {"error": ...}."""
    out = tmp / f"result-{engine}.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, str(HERE / "bench_one.py"), "--engine", engine, "--model", str(model),
           "--feeds", str(feeds), "--threads", str(threads), "--runs", str(runs),
           "--warmup", str(args.warmup), "--json", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    timer = threading.Timer(args.timeout, proc.kill)
    timer.start()
    tail = collections.deque(maxlen=15)
    try:
        for line in proc.stdout:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "progress":
                bar.within(int(parts[1]) / int(parts[2]))
            else:
                tail.append(line.rstrip())
        proc.wait()
    finally:
        timer.cancel()
    if proc.returncode != 0 or not out.exists():
        why = "timed out" if proc.returncode == -9 else f"exit {proc.returncode}"
        last = [t for t in tail if t.strip()]
        return {"error": f"{why}: {last[-1] if last else 'no output'}", "log": "\n".join(tail)}
    return stats(json.loads(out.read_text()))


def main(argv=None) -> int:
    args = parse_args(argv)
    out_dir = pathlib.Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        results = json.loads((out_dir / "results.json").read_text())
        report.write(results, out_dir)
        return 0

    from ferry import model_zoo as z

    names = z.list() if args.models == "all" else _csv(args.models)
    for name in names:
        z.recipe(name)  # an unknown name fails here, before anything runs
    build = build_dir()
    results = {"machine": machine(), "config": {k: v for k, v in vars(args).items() if k != "report_only"},
               "models": {}}
    results["config"]["models"] = names
    print(f"run_bench: {len(names)} models, threads {args.threads}, {args.size} size, "
          f"{args.exporter} opset {args.opset}", file=sys.stderr)
    results["sgemm"] = sgemm_peak(args, build)

    # Per model, the (threads, batch, runs, process pairs) measurements, each run by both engines.
    plan = {n: [(t, b, args.runs, args.processes) if b == 1 else (t, b, args.batch8_runs, args.batch8_processes)
                for t in args.threads
                for b in ([1, 8] if args.batch8 and z.recipe(n).family == "vision" else [1])] for n in names}
    weight = {n: [(args.warmup + runs) * b for _, b, runs, _ in plan[n]] for n in names}
    bar = Progress(sum(pairs for p in plan.values() for *_, pairs in p) * len(ENGINES),
                   sum(w * pairs for n in names for w, (*_, pairs) in zip(weight[n], plan[n])) * len(ENGINES))
    pair = 0
    with tempfile.TemporaryDirectory(prefix="ferry-bench-") as tmp_name:
        tmp = pathlib.Path(tmp_name)
        for name in names:
            r = z.recipe(name)
            seq = r.sizes[args.size].seq_lens[0]
            bar.set_label(f"{name}: export/inputs")
            entry = {"family": r.family, "seq": seq, "batches": {}}
            results["models"][name] = entry
            try:
                model = z.get(name, args.size, args.exporter, args.opset)
            except Exception as e:  # noqa: BLE001 - a model that cannot be built is reported, not fatal
                entry["error"] = f"{type(e).__name__}: {e}"
                for w, (*_, pairs) in zip(weight[name], plan[name]):
                    for _ in range(pairs * len(ENGINES)):
                        bar.step_done(f"{name}: {entry['error']}", weight=w)
                continue
            entry["model"] = str(model)
            batches = sorted({b for _, b, _, _ in plan[name]})
            feeds = {}
            for b in batches:
                feeds[b] = tmp / f"{name}-b{b}.npz"
                inputs = z.make_inputs(name, args.size, b, seq)
                np.savez(feeds[b], **inputs)
                entry["batches"][str(b)] = {}
                if b != 1:
                    continue  # GFLOP/s is reported at batch 1
                bar.set_label(f"{name}: counting FLOPs")
                try:
                    entry["batches"]["1"]["flops"] = flops.count_flops(model, inputs)["total"]
                except Exception as e:  # noqa: BLE001 - GFLOP/s is then left out for this model
                    entry["batches"]["1"].update(flops=None, flops_error=f"{type(e).__name__}: {e}")
            for (t, b, runs, pairs), w in zip(plan[name], weight[name]):
                cell = entry["batches"][str(b)].setdefault(f"threads_{t}", {})
                per_process = {engine: [] for engine in ENGINES}
                for rep in range(pairs):
                    order = ENGINES if pair % 2 == 0 else ENGINES[::-1]
                    pair += 1
                    for engine in order:
                        bar.begin(w, f"{name} batch {b} threads {t}: {engine} ({rep + 1}/{pairs})")
                        got = measure(args, engine, model, feeds[b], t, runs, bar, tmp)
                        per_process[engine].append(got)
                        status = got.get("error", f"p50 {got.get('p50_s', 0) * 1e3:.2f} ms")
                        bar.step_done(f"{name} b{b} t{t} {engine} {rep + 1}/{pairs}: {status}")
                for engine in ENGINES:
                    cell[engine] = median_of_processes(per_process[engine])
            # Written after each model, so an interrupted run keeps what it measured.
            results["machine"]["loadavg_end"] = os.getloadavg()[0]
            (out_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    bar.close()
    (out_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    report.write(results, out_dir)
    print(f"run_bench: wrote {out_dir / 'results.json'}, {out_dir / 'RESULTS.md'}, {out_dir / 'results.png'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The `ferry` command line.

    ferry run [MODEL] [--input NAME=FILE.npy ...] [--threads N] [--level LEVEL]
              [--disable-pass NAME ...] [--log-passes]
    ferry optimize MODEL -o OUT.onnx [--level disabled|basic|extended|all]
              [--disable-pass NAME ...] [--log-passes]
    ferry info MODEL
    ferry bench MODEL [--threads N] [--runs N] [--warmup N]
    ferry zoo list
    ferry zoo build NAME [--size smoke|full] [--exporter torchscript|dynamo] [--opset N]

Model and input problems are reported as one line, "ferry: error: <message>", exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Sequence

import numpy as np

_NUMPY_TYPES = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int8)": np.int8, "tensor(int16)": np.int16, "tensor(int32)": np.int32, "tensor(int64)": np.int64,
    "tensor(uint8)": np.uint8, "tensor(uint16)": np.uint16, "tensor(uint32)": np.uint32,
    "tensor(uint64)": np.uint64, "tensor(bool)": np.bool_, "tensor(string)": object,
}


class CliError(Exception):
    """A problem to report in one line, without a traceback."""


def _fmt_shape(shape) -> str:
    if shape is None:
        return "[?]"
    return "[" + ",".join(str(d) for d in shape) + "]"


def _fmt_type(t: str) -> str:
    return t[len("tensor("):-1] if t.startswith("tensor(") and t.endswith(")") else t


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


#: --level's names -> GraphOptimizationLevel numbers (onnxruntime's).
LEVELS = {"disabled": 0, "basic": 1, "extended": 2, "all": 99}


def _session(model: str, threads: int, level: str = "all", disabled_passes: Sequence[str] = (),
             save_to: str = ""):
    import ferry

    if not os.path.exists(model):
        raise CliError(f"{model}: no such file")
    opts = ferry.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.graph_optimization_level = ferry.GraphOptimizationLevel(LEVELS[level])
    opts.disabled_passes = list(disabled_passes)
    opts.optimized_model_filepath = save_to
    return ferry.InferenceSession(model, opts)


def _print_pass_log(sess) -> None:
    """--log-passes: each pass's time and node counts (all graphs, subgraphs included)."""
    report = sess.optimizer_report()
    passes = report["passes"]
    if not passes:
        print("optimizer: no passes at this level")
        return
    width = max(len("pass"), *(len(p["name"]) for p in passes))
    print(f"{'pass':<{width}}  {'ms':>8}  {'nodes before':>12}  {'nodes after':>11}  {'changed rounds':>14}")
    for p in passes:
        print(f"{p['name']:<{width}}  {p['ms']:8.2f}  {p['nodes_before']:12}  {p['nodes_after']:11}  "
              f"{p['changed_rounds']:14}")
    print(f"optimizer: {report['nodes_before']} -> {report['nodes_after']} nodes in {report['rounds']} "
          f"round{'s' if report['rounds'] != 1 else ''}, {report['total_ms']:.2f} ms")


def _parse_inputs(specs: Sequence[str]) -> dict[str, np.ndarray]:
    feeds = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise CliError(f"--input expects NAME=FILE.npy, got {spec!r}")
        try:
            feeds[name] = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise CliError(f"--input {name}: cannot read {path}: {e}") from None
    return feeds


def _random_input(arg, rng: np.random.Generator) -> np.ndarray:
    shape = [d if isinstance(d, int) and d >= 0 else 1 for d in (arg.shape or [])]
    dtype = _NUMPY_TYPES.get(arg.type)
    if dtype is None:
        raise CliError(f"input '{arg.name}' has type {arg.type}; pass it with --input {arg.name}=FILE.npy")
    if dtype is object:
        return np.array(["ferry"] * int(np.prod(shape)), dtype=object).reshape(shape)
    if dtype is np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, 10, size=shape).astype(dtype)
    return rng.standard_normal(size=shape).astype(dtype)


def _summary(a: np.ndarray) -> str:
    if a.dtype == object or a.size == 0:
        first = ", ".join(repr(x) for x in a.reshape(-1)[:5])
        return f"first: [{first}]"
    flat = a.reshape(-1)
    if a.dtype == np.bool_:
        return f"true: {int(flat.sum())}/{flat.size}, first: {flat[:6].tolist()}"
    f = flat.astype(np.float64)
    first = ", ".join(f"{x:.6g}" for x in f[:6])
    more = ", ..." if flat.size > 6 else ""
    return f"min {f.min():.6g}, max {f.max():.6g}, mean {f.mean():.6g}; first: [{first}{more}]"


def _cmd_run(args) -> int:
    if args.model is None:
        return _run_default(args)
    sess = _session(args.model, args.threads, args.level, args.disable_pass)
    if args.log_passes:
        _print_pass_log(sess)
    feeds = _parse_inputs(args.input)
    rng = np.random.default_rng(0)
    for arg in sess.get_inputs():
        if arg.name not in feeds:
            feeds[arg.name] = _random_input(arg, rng)
            print(f"input '{arg.name}': not given; using seeded random {_fmt_type(arg.type)}"
                  f"{_fmt_shape(feeds[arg.name].shape)} (symbolic dims = 1)")
    t0 = time.perf_counter()
    outputs = sess.run(None, feeds)
    ms = (time.perf_counter() - t0) * 1e3
    for arg, value in zip(sess.get_outputs(), outputs):
        dtype = "string" if value.dtype == object else str(value.dtype)
        print(f"output '{arg.name}': {dtype}{_fmt_shape(value.shape)}  {_summary(value)}")
    print(f"latency: {ms:.2f} ms (first run, includes memory planning; see `ferry bench`)")
    return 0


def _ascii_drawing(image: np.ndarray) -> list[str]:
    """A [1,1,H,W] image in [0,1] as text, two pixel rows per line."""
    img = np.asarray(image, np.float32).reshape(image.shape[-2], image.shape[-1])
    rows = img[0::2] if img.shape[0] % 2 else (img[0::2] + img[1::2]) / 2
    return ["".join("#" if v > 0.6 else "+" if v > 0.3 else "." for v in row) for row in rows]


def _run_default(args) -> int:
    try:
        from .default_model import ensure_default_model
    except ImportError as e:
        raise CliError(f"the bundled default model is not available ({e})") from None
    try:
        model_path, sample, class_names = ensure_default_model()
    except ImportError as e:
        raise CliError(f"building the default model needs the onnx package ({e}); pip install onnx") from None
    if isinstance(sample, (str, os.PathLike)):
        sample = np.load(sample)
    sess = _session(model_path, args.threads)
    meta = sess.get_modelmeta()
    inp = sess.get_inputs()[0]
    print(f"model: {meta.graph_name} (bundled default model, {model_path})")
    if meta.description:
        print(f"       {meta.description}")
    accuracy = meta.custom_metadata_map.get("held_out_accuracy")
    if accuracy:
        print(f"       Built from code: seeded weights, classifier fitted on drawn shapes; held-out accuracy {float(accuracy):.1%}.")
    print(f"input: '{inp.name}' {_fmt_type(inp.type)}{_fmt_shape(inp.shape)}, "
          f"given the bundled sample {sample.dtype}{_fmt_shape(sample.shape)}")
    for row in _ascii_drawing(sample):
        print(f"       {row}")
    sess.run(None, {inp.name: sample})  # warm-up: first-run planning is not the latency
    t0 = time.perf_counter()
    (probs,) = sess.run(None, {inp.name: sample})
    ms = (time.perf_counter() - t0) * 1e3
    p = probs.reshape(-1)
    print("top-5:")
    for rank, k in enumerate(np.argsort(-p)[:5], 1):
        name = class_names[k] if k < len(class_names) else f"class {k}"
        print(f"  {rank}. {name:<16} {p[k] * 100:6.2f}%")
    print(f"latency: {ms:.2f} ms")
    return 0


def _cmd_optimize(args) -> int:
    out = os.path.abspath(args.output)
    if not os.path.isdir(os.path.dirname(out)):
        raise CliError(f"-o {args.output}: directory {os.path.dirname(out)} does not exist")
    sess = _session(args.model, 1, args.level, args.disable_pass, save_to=out)
    if args.log_passes:
        _print_pass_log(sess)
    report = sess.optimizer_report()
    ops = sess.model_info()["opset_imports"]
    domains = ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in sorted(ops.items()))
    print(f"{args.model}: {report['nodes_before']} -> {report['nodes_after']} nodes at level {args.level} "
          f"({report['total_ms']:.1f} ms); wrote {args.output} (opsets: {domains})")
    return 0


def _cmd_info(args) -> int:
    sess = _session(args.model, 1, args.level)
    info = sess.model_info()
    print(f"model: {args.model}")
    print(f"ir_version: {info['ir_version']}")
    opsets = ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in sorted(info["opset_imports"].items()))
    print(f"opsets: {opsets}")
    producer = info["producer_name"] + (f" {info['producer_version']}" if info["producer_version"] else "")
    print(f"producer: {producer or '(none)'}")
    if info["graph_name"]:
        print(f"graph: {info['graph_name']}")
    if info["doc_string"]:
        print(f"description: {info['doc_string']}")
    print("inputs:")
    for a in sess.get_inputs():
        print(f"  {a.name}: {_fmt_type(a.type)}{_fmt_shape(a.shape)}")
    print("outputs:")
    for a in sess.get_outputs():
        print(f"  {a.name}: {_fmt_type(a.type)}{_fmt_shape(a.shape)}")
    print(f"nodes: {info['node_count']}")
    print(f"parameters: {info['parameter_count']:,} ({_fmt_bytes(info['parameter_bytes'])})")
    print("ops:")
    for op, n in sorted(info["op_histogram"].items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {op:<24} {n}")
    if info["metadata"]:
        print("metadata:")
        for k, v in info["metadata"].items():
            print(f"  {k}: {v}")
    return 0


def _peak_rss_bytes() -> int:
    try:
        import resource
    except ImportError:
        return 0
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb if sys.platform == "darwin" else kb * 1024


def _cmd_bench(args) -> int:
    if args.runs < 1:
        raise CliError("--runs must be at least 1")
    t0 = time.perf_counter()
    sess = _session(args.model, args.threads)
    create_ms = (time.perf_counter() - t0) * 1e3
    rng = np.random.default_rng(0)
    feeds = _parse_inputs(args.input)
    for arg in sess.get_inputs():
        if arg.name not in feeds:
            feeds[arg.name] = _random_input(arg, rng)
    for _ in range(max(args.warmup, 0)):
        sess.run(None, feeds)
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t) * 1e3)
    plan = sess.memory_plan({k: list(np.shape(v)) for k, v in feeds.items()
                             if k in {a.name for a in sess.get_inputs()}})
    lat = np.array(times)
    shapes = ", ".join(f"{k}{_fmt_shape(np.shape(v))}" for k, v in feeds.items())
    print(f"model: {args.model}")
    print(f"inputs: {shapes}")
    print(f"threads: {args.threads or 'all cores'}, runs: {args.runs}, warmup: {args.warmup}")
    print(f"session creation: {create_ms:.2f} ms")
    print(f"latency: p50 {np.percentile(lat, 50):.3f} ms, p90 {np.percentile(lat, 90):.3f} ms, "
          f"p99 {np.percentile(lat, 99):.3f} ms, mean {lat.mean():.3f} ms")
    print(f"peak resident memory: {_fmt_bytes(_peak_rss_bytes())}")
    print(f"memory plan: peak {_fmt_bytes(plan['peak_bytes'])} (without reuse {_fmt_bytes(plan['total_bytes'])}), "
          f"{plan['planned_values']} planned, {plan['in_place_values']} in place, "
          f"{plan['view_values']} views, {plan['dynamic_values']} dynamic")
    return 0


def _cmd_zoo_list(args) -> int:
    from ferry import model_zoo

    for name in model_zoo.list():
        r = model_zoo.recipe(name)
        print(f"{name:<16} {r.family:<9} {r.description}")
    return 0


def _cmd_zoo_build(args) -> int:
    from ferry import model_zoo

    try:
        path = model_zoo.get(args.name, args.size, args.exporter, args.opset, rebuild=args.rebuild)
    except (KeyError, model_zoo.ExportError) as e:
        raise CliError(str(e).strip("'\"")) from e
    except ImportError as e:
        raise CliError(f"building zoo models needs torch (scripts/setup.sh installs it): {e}") from e
    print(path)
    return 0


def _add_optimizer_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--level", default="all", choices=list(LEVELS),
                   help="graph optimization level (default all; onnxruntime's ORT_DISABLE_ALL .. ORT_ENABLE_ALL)")
    p.add_argument("--disable-pass", action="append", default=[], metavar="NAME",
                   help="skip this optimizer pass (repeatable; docs/optimizer.md lists them)")
    p.add_argument("--log-passes", action="store_true",
                   help="print each optimizer pass with its time and node counts before/after")


def _parser() -> argparse.ArgumentParser:
    import ferry

    p = argparse.ArgumentParser(prog="ferry", description="Ferry: run, inspect and benchmark ONNX models.")
    p.add_argument("--version", action="version", version=f"ferry {ferry.__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    r = sub.add_parser("run", help="run a model (no MODEL: the bundled demo model on its sample input)",
                       description="Run MODEL on the given inputs and print a summary of each output. "
                                   "Inputs not given get seeded random data (symbolic dims = 1). "
                                   "Without MODEL, runs the bundled shape-recognition model on its sample "
                                   "drawing and prints the top-5 classes.")
    r.add_argument("model", nargs="?", metavar="MODEL", help="an .onnx file")
    r.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                   help="feed input NAME from a .npy file (repeatable)")
    r.add_argument("--threads", type=int, default=0, metavar="N", help="intra-op threads (0 = all cores)")
    _add_optimizer_args(r)
    r.set_defaults(func=_cmd_run)

    o = sub.add_parser("optimize", help="optimize a model and save it as ONNX",
                       description="Load MODEL, run the optimizer at --level and save the optimized "
                                   "model to OUT. Levels basic and disabled write plain ONNX (runs in "
                                   "onnxruntime); extended and all may add ops of the 'ferry' domain "
                                   "(docs/ferry_ops.md), which only Ferry runs.")
    o.add_argument("model", metavar="MODEL", help="an .onnx file")
    o.add_argument("-o", "--output", required=True, metavar="OUT.onnx", help="where to save the optimized model")
    _add_optimizer_args(o)
    o.set_defaults(func=_cmd_optimize)

    i = sub.add_parser("info", help="describe a model's inputs, outputs, opsets and ops",
                       description="Print MODEL's inputs and outputs (with symbolic shapes), IR version, "
                                   "opsets, producer, op histogram, node count and parameter count.")
    i.add_argument("model", metavar="MODEL", help="an .onnx file")
    i.add_argument("--level", default="disabled", choices=list(LEVELS),
                   help="describe the model after this optimization level (default disabled: as stored)")
    i.set_defaults(func=_cmd_info)

    b = sub.add_parser("bench", help="measure session creation, latency and memory",
                       description="Time session creation and repeated runs of MODEL on seeded random "
                                   "inputs (or --input files); report latency percentiles, peak resident "
                                   "memory and the memory plan's peak.")
    b.add_argument("model", metavar="MODEL", help="an .onnx file")
    b.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                   help="feed input NAME from a .npy file (repeatable)")
    b.add_argument("--threads", type=int, default=0, metavar="N", help="intra-op threads (0 = all cores)")
    b.add_argument("--runs", type=int, default=100, metavar="N", help="timed runs (default 100)")
    b.add_argument("--warmup", type=int, default=5, metavar="N", help="untimed runs first (default 5)")
    b.set_defaults(func=_cmd_bench)

    z = sub.add_parser("zoo", help="list or build the model zoo's architectures (seeded weights)",
                       description="The model zoo: real architectures built from code with seeded "
                                   "weights and exported to ONNX into a cache directory.")
    zsub = z.add_subparsers(dest="zoo_command", metavar="ZOO_COMMAND")
    zsub.required = True
    zl = zsub.add_parser("list", help="the zoo's models")
    zl.set_defaults(func=_cmd_zoo_list)
    zb = zsub.add_parser("build", help="export NAME (if not cached) and print the model's path")
    zb.add_argument("name", metavar="NAME")
    zb.add_argument("--size", default="smoke", choices=["smoke", "full"])
    zb.add_argument("--exporter", default="torchscript", choices=["torchscript", "dynamo"])
    zb.add_argument("--opset", type=int, default=17)
    zb.add_argument("--rebuild", action="store_true", help="export again even if cached")
    zb.set_defaults(func=_cmd_zoo_build)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    import ferry

    args = _parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, ferry.FerryError) as e:
        print(f"ferry: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ferry: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes the model zoo's status table: for every recipe x exporter x opset, whether torch
exports it, whether Ferry runs it, the max abs error against onnxruntime and against torch
over the recorded cases, and one run's latency of Ferry and onnxruntime (informational only;
`make bench` is where speed is measured).

    PYTHONPATH=build/python .venv/bin/python tools/zoo_report.py --size smoke [--out model_zoo/README.md]
        [-k NAME] [--exporter torchscript|dynamo] [--opset N]
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
import time
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _max_err(a: list, b: list) -> float:
    errs = [float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))) if x.size else 0.0
            for x, y in zip(a, b)]
    return max(errs) if errs else 0.0


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - start) * 1e3


def add_selection_args(p: argparse.ArgumentParser) -> None:
    """--size, -k, --exporter, --opset: which zoo models a report covers (shared with
    tools/optimizer_report.py)."""
    from ferry import model_zoo

    p.add_argument("--size", default="smoke", choices=model_zoo.SIZES)
    p.add_argument("-k", default="", help="only models whose name contains this")
    p.add_argument("--exporter", choices=model_zoo.EXPORTERS, action="append", help="only these exporters")
    p.add_argument("--opset", type=int, action="append", help="only these opsets")


def selected(args: argparse.Namespace):
    """(name, exporter, opset) for every zoo combination the selection arguments allow."""
    from ferry import model_zoo

    for name in model_zoo.list():
        if args.k not in name:
            continue
        for exporter in args.exporter or model_zoo.EXPORTERS:
            for opset in model_zoo.OPSETS[exporter]:
                if not args.opset or opset in args.opset:
                    yield name, exporter, opset


def export_failure(e: Exception, opset: int) -> str:
    """torch's reason for not exporting, short enough for a table cell."""
    return re.sub(r"\s+", " ", str(e).split(f"at opset {opset}: ", 1)[-1])[:120]


def write_between_markers(path: pathlib.Path, begin: str, end: str, lines: list[str]) -> None:
    """Replaces what lies between the marker lines in `path` (appending the markers if absent)."""
    text = path.read_text() if path.exists() else ""
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    path.write_text(head + begin + "\n" + "\n".join(lines) + "\n" + end + tail)


def row(name: str, exporter: str, opset: int, size: str) -> str:
    import onnxruntime

    import ferry
    from ferry import model_zoo
    from ferry.validate import compare_with_onnxruntime

    try:
        path = model_zoo.get(name, size, exporter, opset)
    except model_zoo.ExportError as e:
        return f"| {name} | {exporter} | {opset} | not exported: {export_failure(e, opset)} | | | | |"
    tol = model_zoo.manifest(path)["tolerance"]
    cases = model_zoo.references(path)
    try:
        fsess = ferry.InferenceSession(str(path))
    except Exception as e:
        return f"| {name} | {exporter} | {opset} | Ferry cannot load: {str(e)[:90]} | | | | |"
    osess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    err_ort = err_torch = 0.0
    status = "ok"
    f_ms = o_ms = 0.0
    for case in cases:
        names = list(case["outputs"])
        ok, report = compare_with_onnxruntime(str(path), case["inputs"], tol["rtol"], tol["atol"], names)
        got, f_ms = _timed(lambda: fsess.run(names, case["inputs"]))
        ref, o_ms = _timed(lambda: osess.run(names, case["inputs"]))
        err_ort = max(err_ort, _max_err(got, ref))
        err_torch = max(err_torch, _max_err(got, list(case["outputs"].values())))
        if not ok:
            status = "mismatch: " + report.splitlines()[-1][:90]
    if status == "ok" and err_torch > tol["atol"] + tol["rtol"] * max(
            float(np.max(np.abs(v))) for c in cases for v in c["outputs"].values()):
        status = "mismatch vs torch"
    return (f"| {name} | {exporter} | {opset} | {status} | {err_ort:.2g} | {err_torch:.2g} | "
            f"{f_ms:.1f} | {o_ms:.1f} |")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_selection_args(p)
    p.add_argument("--out", default=str(ROOT / "model_zoo" / "README.md"))
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    lines = [f"Size: {args.size}. Errors are the max abs difference over the recorded cases "
             f"(batch 1 and 3; two sequence lengths for sequence models); latency is the last "
             f"case's single run in ms (informational).", "",
             "| model | exporter | opset | status | max err vs onnxruntime | max err vs torch | "
             "ferry ms | onnxruntime ms |", "|---|---|---|---|---|---|---|---|"]
    for name, exporter, opset in selected(args):
        lines.append(row(name, exporter, opset, args.size))
        print(lines[-1], flush=True)
    write_between_markers(pathlib.Path(args.out), f"<!-- zoo-table-{args.size}:begin -->",
                          f"<!-- zoo-table-{args.size}:end -->", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())

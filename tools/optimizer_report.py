#!/usr/bin/env python3
"""Writes the optimizer's table into docs/optimizer.md: for every zoo recipe x exporter x opset,
the node count as exported, after Ferry's levels basic, extended and all, and after
onnxruntime's ORT_ENABLE_EXTENDED; Ferry's optimization time (level all, from the optimizer
report) beside its first run; and whether Ferry's extended count is at most onnxruntime's.

    PYTHONPATH=build/python .venv/bin/python tools/optimizer_report.py [--size smoke|full]
        [-k NAME] [--exporter torchscript|dynamo] [--opset N] [--out docs/optimizer.md]

Node counts are those of the saved models (optimized_model_filepath of each runtime), subgraph
nodes included, so both runtimes are counted the same way.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile
import time
import warnings

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import zoo_report  # noqa: E402  (selection arguments, export-failure text, marker writing)

ROOT = pathlib.Path(__file__).resolve().parent.parent
LEVELS = {"basic": 1, "extended": 2, "all": 99}
HEADER = ["| model | exporter | opset | original | ferry basic | ferry extended | ferry all | "
          "onnxruntime extended | ferry optimize ms (all) | ferry first run ms (all) | "
          "ferry extended <= onnxruntime |", "|---|---|---|---|---|---|---|---|---|---|---|"]


def count_nodes(path) -> int:
    """Nodes of a saved ONNX model, subgraphs (If/Loop/Scan bodies) included."""
    import onnx

    def graph_nodes(g) -> int:
        n = len(g.node)
        for node in g.node:
            for a in node.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    n += graph_nodes(a.g)
                n += sum(graph_nodes(sg) for sg in a.graphs)
        return n

    return graph_nodes(onnx.load(str(path), load_external_data=False).graph)


def row(name: str, exporter: str, opset: int, size: str, work: pathlib.Path) -> str:
    import onnxruntime

    import ferry
    from ferry import model_zoo

    try:
        path = model_zoo.get(name, size, exporter, opset)
    except model_zoo.ExportError as e:
        return f"| {name} | {exporter} | {opset} | not exported: {zoo_report.export_failure(e, opset)} |" + " |" * 7
    feeds = model_zoo.references(path)[0]["inputs"]
    counts = {}
    try:
        for level_name, level in LEVELS.items():
            opts = ferry.SessionOptions()
            opts.graph_optimization_level = level
            opts.optimized_model_filepath = str(work / f"ferry-{level_name}.onnx")
            sess = ferry.InferenceSession(str(path), opts)
            counts[level_name] = count_nodes(opts.optimized_model_filepath)
        optimize_ms = sess.optimizer_report()["total_ms"]  # the last session: level all
        start = time.perf_counter()
        sess.run(None, feeds)
        first_run_ms = (time.perf_counter() - start) * 1e3
    except ferry.FerryError as e:
        message = str(e).splitlines()[0].removeprefix(f"{path}: ").replace("|", "/")
        return f"| {name} | {exporter} | {opset} | Ferry fails: {message[:160]} |" + " |" * 7
    so = onnxruntime.SessionOptions()
    so.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    so.optimized_model_filepath = str(work / "ort-extended.onnx")
    onnxruntime.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    ort = count_nodes(so.optimized_model_filepath)
    verdict = "yes" if counts["extended"] <= ort else "**no**"
    return (f"| {name} | {exporter} | {opset} | {count_nodes(path)} | {counts['basic']} | {counts['extended']} | "
            f"{counts['all']} | {ort} | {optimize_ms:.1f} | {first_run_ms:.1f} | {verdict} |")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    zoo_report.add_selection_args(p)
    p.set_defaults(size="full")
    p.add_argument("--out", default=str(ROOT / "docs" / "optimizer.md"))
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    lines = [f"Size: {args.size}. Node counts include subgraphs; times are one session's, in ms "
             f"(first run: the first recorded case, memory planning included).", "", *HEADER]
    with tempfile.TemporaryDirectory() as tmp:
        for name, exporter, opset in zoo_report.selected(args):
            lines.append(row(name, exporter, opset, args.size, pathlib.Path(tmp)))
            print(lines[-1], flush=True)
    rows = [ln for ln in lines[len(HEADER) + 2:] if ln.endswith(("| yes |", "| **no** |"))]
    lines += ["", f"Ferry's extended count is at most onnxruntime's for "
              f"{sum(ln.endswith('| yes |') for ln in rows)} of {len(rows)} models."]
    zoo_report.write_between_markers(pathlib.Path(args.out), f"<!-- optimizer-report-{args.size}:begin -->",
                                     f"<!-- optimizer-report-{args.size}:end -->", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())

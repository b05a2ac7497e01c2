#!/usr/bin/env python3
"""Runs the official ONNX backend node test suite against Ferry's CPU provider.

    python tests/conformance/run_conformance.py                     # the whole suite
    python tests/conformance/run_conformance.py -k test_relu -v     # some cases, with diffs
    python tests/conformance/run_conformance.py --update-expectations

The suite comes from the installed onnx package (its `onnx.backend.test.case.node` cases,
1884 in onnx 1.23.1). Releases no longer ship the data files and onnx's own
`python -m onnx.backend.test.cmd_tools generate-data` writes only the model tests (real,
simple), so this script writes the node cases itself in the layout onnx used to ship
(`node/<test>/model.onnx`, `test_data_set_0/input_<i>.pb`, `output_<i>.pb`), into a cache in
the build tree (`<build>/conformance-data`). A stamp file records the onnx version; the cache
is regenerated only when it is missing or the version changed.

Each case runs in a worker subprocess (two by default; a worker runs many cases in turn), so
a crash or a hang in one case marks that case "crash" or "timeout" and the run goes on with a
fresh worker. Outputs are compared as onnx's backend test runner compares them
(`onnx/backend/test/runner/__init__.py`, `Runner.assert_similar_outputs`): same output count,
same shape, same dtype, strings exactly, numbers with `np.testing.assert_allclose` at the
case's rtol/atol (the suite's defaults rtol=1e-3, atol=1e-7; a case directory's `data.json`
may declare others), NaN equal to NaN, bfloat16 at no less than two bfloat16 ULPs of rtol,
sequences element by element. No tolerance is loosened here.

`tests/conformance/expectations` lists every case that does not pass, with its reason. A
listed case that fails is "excluded"; a case that fails and is not listed fails the run; a
listed case that passes is reported so the file can be trimmed. The last line reads
`conformance: P passed, F failed, E excluded of T`; the exit status is 1 when F > 0 and 2
when the run itself could not be done.

A case listed with a reason that starts with `random:` (Bernoulli, Dropout in training mode:
outputs no other generator than numpy's can reproduce) is run and checked by its properties
instead of its values (check_random: shape and dtype as the reference's, then per op, e.g.
Bernoulli values in {0, 1}); it is reported "random-checked" and counted with the excluded,
and a property that does not hold fails the run.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import glob
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EXPECTATIONS = HERE / "expectations"

#: Bumped when the layout written by generate_node_data changes, so old caches are rebuilt.
GENERATOR_VERSION = 1
DEFAULT_RTOL, DEFAULT_ATOL = 1e-3, 1e-7
#: A worker is replaced after this many cases, so a slow leak in one cannot grow without bound.
CASES_PER_WORKER = 500
#: How long a fresh worker may take to import numpy, onnx and ferry.
WORKER_START_TIMEOUT_S = 180.0
#: Reason categories written by this script; any other reason is a person's and is kept.
AUTO_CATEGORIES = ("not implemented", "mismatch", "error", "crash", "timeout")


# ---------------------------------------------------------------------------------------------
# Test data: generated from the installed onnx into a cache in the build tree
# ---------------------------------------------------------------------------------------------

def _write_value(path: str, value, value_info) -> None:
    """Serializes one input or output as onnx's cmd_tools.generate_data does."""
    import onnx
    from onnx import numpy_helper

    type_proto = value_info.type
    if type_proto.HasField("map_type"):
        proto = numpy_helper.from_dict(value, value_info.name)
    elif type_proto.HasField("sequence_type"):
        proto = numpy_helper.from_list(value, value_info.name)
    elif type_proto.HasField("optional_type"):
        proto = numpy_helper.from_optional(value, value_info.name)
    elif isinstance(value, onnx.TensorProto):
        proto = value
    else:
        proto = numpy_helper.from_array(value, value_info.name)
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())


def generate_node_data(out_dir: Path) -> int:
    """Writes every node test case of the installed onnx under out_dir/node; returns the count."""
    import warnings

    with warnings.catch_warnings():
        # The case modules compute references with numpy and trip overflow/divide warnings.
        warnings.simplefilter("ignore")
        from onnx.backend.test.case import node as node_cases
        cases = node_cases.collect_testcases()
    for case in cases:
        case_dir = out_dir / "node" / case.name
        case_dir.mkdir(parents=True)
        model = case.model
        (case_dir / "model.onnx").write_bytes(model.SerializeToString())
        if (case.rtol, case.atol) != (DEFAULT_RTOL, DEFAULT_ATOL):
            (case_dir / "data.json").write_text(json.dumps({"rtol": case.rtol, "atol": case.atol}))
        for i, (inputs, outputs) in enumerate(case.data_sets):
            set_dir = case_dir / f"test_data_set_{i}"
            set_dir.mkdir()
            for j, value in enumerate(inputs):
                _write_value(str(set_dir / f"input_{j}.pb"), value, model.graph.input[j])
            for j, value in enumerate(outputs):
                _write_value(str(set_dir / f"output_{j}.pb"), value, model.graph.output[j])
    return len(cases)


def ensure_data(data_dir: Path) -> tuple[int, float | None]:
    """Makes sure data_dir holds the installed onnx's node tests. Returns (case count, seconds
    spent generating or None when the cache was current). Concurrent runners take a lock; the
    cache is built beside data_dir and renamed into place, so it is never seen half-written."""
    import fcntl

    import onnx

    want = {"onnx": onnx.__version__, "generator": GENERATOR_VERSION}
    stamp = data_dir / "stamp.json"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(data_dir.parent / (data_dir.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with contextlib.suppress(OSError, ValueError):
            have = json.loads(stamp.read_text())
            if all(have.get(k) == v for k, v in want.items()):
                return int(have["cases"]), None
        print(f"conformance: generating the node tests of onnx {onnx.__version__} into {data_dir} ...",
              flush=True)
        start = time.time()
        tmp = Path(tempfile.mkdtemp(prefix=data_dir.name + ".tmp-", dir=data_dir.parent))
        try:
            count = generate_node_data(tmp)
            seconds = time.time() - start
            (tmp / "stamp.json").write_text(json.dumps({**want, "cases": count,
                                                        "generation_seconds": round(seconds, 1)}))
            if data_dir.exists():
                shutil.rmtree(data_dir)
            tmp.rename(data_dir)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return count, seconds


# ---------------------------------------------------------------------------------------------
# Expectations file
# ---------------------------------------------------------------------------------------------

def reason_category(reason: str) -> str:
    """`not implemented: no CPU kernel for Abs` -> `not implemented`."""
    return reason.split(":", 1)[0].strip()


@dataclass
class Expectations:
    path: Path
    lines: list[str] = field(default_factory=list)       # the file as read, for rewriting
    reasons: dict[str, str] = field(default_factory=dict)  # test name -> reason

    @classmethod
    def load(cls, path: Path) -> "Expectations":
        exp = cls(path)
        if not path.exists():
            return exp
        exp.lines = path.read_text().splitlines()
        for number, line in enumerate(exp.lines, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            parts = text.split(None, 1)
            if len(parts) < 2 or not parts[0].startswith("test_"):
                raise SystemExit(f"{path}:{number}: expected `test_name  reason`, got {line!r}")
            if parts[0] in exp.reasons:
                raise SystemExit(f"{path}:{number}: {parts[0]} is listed twice")
            exp.reasons[parts[0]] = parts[1].strip()
        return exp

    def rewrite(self, results: dict[str, "CaseResult"], suite: set[str], header: str) -> tuple[int, int, int]:
        """Rewrites the file from this run's results: entries of cases that now pass (or are
        no longer in the suite) go, with the comment lines that headed a group left empty;
        entries that still fail stay with their comments, keeping a person's reason and
        refreshing a generated one (AUTO_CATEGORIES); new failures join the last group that
        holds their category (or a new group at the end). Entries of cases this run did not
        select stay as they are. Returns (kept, removed, added)."""
        # Parse into a header (the leading comment block, up to the first blank line) and
        # groups: a run of comment lines followed by the entries below it.
        lines = list(self.lines) if self.lines else header.splitlines() + [""]
        head: list[str] = []
        first_blank = next((i for i, line in enumerate(lines) if not line.strip()), None)
        if first_blank is not None and all(line.startswith("#") for line in lines[:first_blank]):
            head, lines = lines[:first_blank], lines[first_blank + 1:]
        groups: list[tuple[list[str], list[tuple[str, str]]]] = []
        for line in lines:
            text = line.strip()
            if not text:
                continue
            if text.startswith("#"):
                if not groups or groups[-1][1]:
                    groups.append(([], []))
                groups[-1][0].append(line)
                continue
            name, reason = text.split(None, 1)
            if not groups:
                groups.append(([], []))
            groups[-1][1].append((name, reason.strip()))

        kept = removed = 0
        for _, entries in groups:
            new_entries = []
            for name, reason in entries:
                r = results.get(name)
                if r is None:
                    if name not in suite:
                        removed += 1  # left the suite
                        continue
                    new_entries.append((name, reason))  # not selected this time: unchanged
                    kept += 1
                    continue
                if r.passed:
                    removed += 1
                    continue
                if reason_category(reason) in AUTO_CATEGORIES:
                    reason = r.reason
                new_entries.append((name, reason))
                kept += 1
            entries[:] = new_entries

        listed = {name for _, entries in groups for name, _ in entries}
        added = 0
        for name in sorted(results):
            r = results[name]
            if r.passed or name in listed:
                continue
            category = reason_category(r.reason)
            target = None
            for _, entries in groups:
                if entries and any(reason_category(rs) == category for _, rs in entries):
                    target = entries
            if target is None:
                groups.append(([f"# {category}{_CATEGORY_NOTES.get(category, '')}"], []))
                target = groups[-1][1]
            target.append((name, r.reason))
            added += 1

        out = list(head)
        while out and not out[-1].strip():
            out.pop()
        out.append("")
        for group_comments, entries in groups:
            if not entries:
                continue
            entries.sort()
            out.extend(group_comments)
            width = min(max(len(n) for n, _ in entries), 44)  # longer names get two spaces
            out.extend(f"{n:<{width}}  {rs}" for n, rs in entries)
            out.append("")
        self.path.write_text("\n".join(out).rstrip("\n") + "\n")
        return kept, removed, added


_CATEGORY_NOTES = {
    "not implemented": ": Ferry has no CPU kernel for the op at this opset or for these types (issue 3)",
    "mismatch": ": the run completes but an output differs from the reference beyond the suite's tolerance",
    "error": ": the session could not be created or the run raised (the first line of the error)",
    "crash": ": the worker process died while running the case",
    "timeout": ": no result within the per-case time limit",
}

FILE_HEADER = """\
# ONNX backend node tests (the installed onnx's suite) that do not pass on Ferry's CPU provider.
# One line per test: `test_name  reason`; `#` starts a comment that heads the group below it.
# Read by tests/conformance/run_conformance.py:
#   - a listed test that fails is expected ("excluded");
#   - a test that fails and is not listed fails the run (so does a test that passed and
#     starts failing: it is not listed);
#   - a listed test that passes is reported: trim its line.
# `run_conformance.py --update-expectations` rewrites this file from a run, keeping comments
# and hand-written reasons for the lines that stay. The reasons it writes itself start with
# not implemented, mismatch, error, crash or timeout, and it refreshes them on every rewrite;
# replace one with a specific reason (any other first word, e.g. `random: checks shape, dtype
# and range instead`) once a failure is understood and accepted, and it is kept."""


# ---------------------------------------------------------------------------------------------
# Worker: runs cases in this process, one after another, and reports each as a JSON line
# ---------------------------------------------------------------------------------------------

def _load_value(path: str, type_proto):
    """Reads one input_/output_ .pb file as onnx's runner does (Runner._load_proto), plus maps."""
    import onnx
    from onnx import numpy_helper

    data = Path(path).read_bytes()
    if type_proto.HasField("sequence_type"):
        proto = onnx.SequenceProto()
        proto.ParseFromString(data)
        return numpy_helper.to_list(proto)
    if type_proto.HasField("optional_type"):
        proto = onnx.OptionalProto()
        proto.ParseFromString(data)
        return numpy_helper.to_optional(proto)
    if type_proto.HasField("map_type"):
        proto = onnx.MapProto()
        proto.ParseFromString(data)
        return numpy_helper.to_dict(proto)
    proto = onnx.TensorProto()
    proto.ParseFromString(data)
    return numpy_helper.to_array(proto)


def _describe(value) -> str:
    import numpy as np

    if value is None:
        return "None (empty optional)"
    if isinstance(value, (list, tuple)):
        return f"sequence of {len(value)}"
    if isinstance(value, dict):
        return f"map of {len(value)}"
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array {tuple(value.shape)}"
    return type(value).__name__


class Mismatch(Exception):
    """An output differs from the reference: a one-line reason and the full diff."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _element_diff(out, ref, rtol: float, atol: float, limit: int = 20) -> str:
    """The first elements that fail |out - ref| <= atol + rtol * |ref| (NaN equal to NaN)."""
    import numpy as np

    o = np.asarray(out).astype(np.float64).reshape(-1)
    r = np.asarray(ref).astype(np.float64).reshape(-1)
    bad = ~np.isclose(o, r, rtol=rtol, atol=atol, equal_nan=True)
    idx = np.flatnonzero(bad)
    lines = [f"{len(idx)} of {r.size} elements differ; the first {min(limit, len(idx))}:",
             f"  {'index':<16} {'expected':>14} {'got':>14} {'abs err':>10}"]
    for k in idx[:limit]:
        where = "[" + ", ".join(str(int(i)) for i in np.unravel_index(k, np.shape(ref))) + "]"
        lines.append(f"  {where:<16} {r[k]:>14.7g} {o[k]:>14.7g} {abs(o[k] - r[k]):>10.3g}")
    return "\n".join(lines)


def compare(refs: list, outs: list, rtol: float, atol: float, where: str = "output") -> None:
    """Raises Mismatch unless outs match refs as onnx's Runner.assert_similar_outputs requires."""
    import numpy as np

    if len(outs) != len(refs):
        raise Mismatch(f"mismatch: {len(outs)} {where}s, expected {len(refs)}",
                       f"got {len(outs)} {where}s, the reference has {len(refs)}")
    for i, (ref, out) in enumerate(zip(refs, outs)):
        label = f"{where} {i}"
        if ref is None or out is None:  # empty optionals
            if (ref is None) != (out is None):
                raise Mismatch(f"mismatch: {label} is {_describe(out)}, expected {_describe(ref)}",
                               f"{label}: got {_describe(out)}, expected {_describe(ref)}")
            continue
        if isinstance(ref, (list, tuple)):
            if not isinstance(out, (list, tuple)):
                raise Mismatch(f"mismatch: {label} is {_describe(out)}, expected {_describe(ref)}",
                               f"{label}: got {_describe(out)}, expected {_describe(ref)}")
            compare(list(ref), list(out), rtol, atol, where=f"{label} element")
            continue
        if isinstance(ref, dict):
            if not isinstance(out, dict) or sorted(out) != sorted(ref):
                raise Mismatch(f"mismatch: {label} is {_describe(out)}, expected {_describe(ref)}",
                               f"{label}: got {out!r}, expected {ref!r}")
            keys = sorted(ref)
            compare([ref[k] for k in keys], [out[k] for k in keys], rtol, atol, where=f"{label} value")
            continue
        if not isinstance(out, np.ndarray):
            out = np.asarray(out) if np.isscalar(out) else out
            if not isinstance(out, np.ndarray):
                raise Mismatch(f"mismatch: {label} is {_describe(out)}, expected {_describe(ref)}",
                               f"{label}: got {out!r}, expected {_describe(ref)}")
        try:
            np.testing.assert_array_equal(out.shape, ref.shape, err_msg=f"Output {i} has incorrect shape")
        except AssertionError as e:
            raise Mismatch(f"mismatch: {label} shape {tuple(out.shape)}, expected {tuple(ref.shape)}",
                           str(e)) from None
        if ref.dtype == object:  # strings
            try:
                np.testing.assert_array_equal(out, ref)
            except AssertionError as e:
                differ = int(np.sum(out.reshape(-1) != ref.reshape(-1))) if out.shape == ref.shape else -1
                raise Mismatch(f"mismatch: {label} strings differ in {differ} of {ref.size} elements",
                               str(e)) from None
            continue
        try:
            np.testing.assert_equal(out.dtype, ref.dtype)
        except AssertionError as e:
            raise Mismatch(f"mismatch: {label} dtype {out.dtype}, expected {ref.dtype}", str(e)) from None
        o, r, out_rtol = out, ref, rtol
        if o.dtype.name == "bfloat16":
            out_rtol = max(rtol, 2**-6)  # as onnx's runner: two bfloat16 ULPs
            o, r = o.astype(np.float32), r.astype(np.float32)
        try:
            np.testing.assert_allclose(o, r, rtol=out_rtol, atol=atol)
        except AssertionError as e:
            of, rf = np.asarray(o).astype(np.float64), np.asarray(r).astype(np.float64)
            nan_diff = int(np.sum(np.isnan(of) != np.isnan(rf)))
            both = ~(np.isnan(of) | np.isnan(rf))
            with np.errstate(invalid="ignore", over="ignore"):
                err = np.abs(of[both] - rf[both])
            max_err = float(np.nanmax(err)) if err.size else 0.0
            if nan_diff and not (err > atol + out_rtol * np.abs(rf[both])).any():
                summary = f"NaN in {nan_diff} of {ref.size} elements where the other side has none"
            elif np.isinf(max_err) or np.isnan(max_err):
                summary = "infinity where a finite value is expected"
            else:
                summary = f"max abs err {max_err:.3g}"
                if nan_diff:
                    summary += f", NaN mismatch in {nan_diff}"
            raise Mismatch(f"mismatch: {label} {summary} (rtol {out_rtol:g}, atol {atol:g})",
                           str(e) + "\n" + _element_diff(o, r, out_rtol, atol)) from None
        except (TypeError, ValueError) as e:
            raise Mismatch(f"mismatch: {label} cannot be compared ({type(e).__name__})", str(e)) from None


#: `node #3 (Max, opset 18)` / `(ai.onnx.ml:LabelEncoder, opset 4)` in Ferry's errors.
_UNSUPPORTED_NODE = re.compile(r"\(([\w.:]+), opset (\d+)\)")
#: `Max (opset 18)` in the reasons this script writes.
_REASON_OP = re.compile(r"([\w.:]+) \(opset \d+\)")


def error_reason(exc: BaseException, paths: list[str]) -> str:
    """One stable line for an exception: `not implemented: no CPU kernel for Abs (opset 13)` for
    Ferry's NotImplementedByFerry (every unsupported op it names, in order), else
    `error: <Type>: <first line>` with local paths removed."""
    text = str(exc).strip()
    for p in paths:
        text = text.replace(p, "<model>")
    first = text.splitlines()[0] if text else ""
    if first.startswith("<model>: "):
        first = first[len("<model>: "):]
    if type(exc).__name__ == "NotImplementedByFerry" and "no kernel" in first:
        ops = list(dict.fromkeys(f"{op} (opset {v})" for op, v in _UNSUPPORTED_NODE.findall(first)))
        if ops:
            more = f" and {len(ops) - 4} more" if len(ops) > 4 else ""
            return f"not implemented: no CPU kernel for {', '.join(ops[:4])}{more}"
    if type(exc).__name__ == "NotImplementedByFerry":
        return f"not implemented: {first[:200]}"
    return f"error: {type(exc).__name__}: {first[:200]}"


#: Expectations whose reason starts with this are checked by their properties, not values.
RANDOM_CATEGORY = "random"


def _graph_ops(graph) -> list:
    """Every node of a graph and its subgraphs."""
    nodes = []
    for node in graph.node:
        nodes.append(node)
        for attr in node.attribute:
            if attr.HasField("g"):
                nodes += _graph_ops(attr.g)
            for g in attr.graphs:
                nodes += _graph_ops(g)
    return nodes


def _initializer(model, name: str):
    from onnx import numpy_helper

    for t in model.graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    return None


def check_random(model, feeds: dict, refs: list, outs: list) -> str:
    """For a case whose values are random (a seeded generator other than numpy's can never
    reproduce them): checks what holds for every correct output and raises Mismatch (reason
    `random: ...`) otherwise. The output count, shapes and dtypes must equal the reference's;
    then, by the ops in the model:
      - Dropout (training): output = input / (1 - ratio) where kept and 0 where dropped; the
        mask, when asked for, is bool and says which;
      - Bernoulli (and its expansion RandomUniformLike + Greater + Cast): every value is 0 or 1;
      - RandomUniform / RandomUniformLike alone: every value in [low, high);
      - RandomNormal / RandomNormalLike: every value finite.
    Returns a one-line summary of what was checked."""
    import numpy as np

    if len(outs) != len(refs):
        raise Mismatch(f"random: {len(outs)} outputs, expected {len(refs)}",
                       f"got {len(outs)} outputs, the reference has {len(refs)}")
    for i, (ref, out) in enumerate(zip(refs, outs)):
        out = np.asarray(out)
        if out.shape != ref.shape or out.dtype != ref.dtype:
            raise Mismatch(f"random: output {i} is {out.dtype} {tuple(out.shape)}, expected {ref.dtype} "
                           f"{tuple(ref.shape)}", f"output {i}: got {_describe(out)}, expected {_describe(ref)}")
    nodes = _graph_ops(model.graph)
    ops = {n.op_type for n in nodes}
    outs = [np.asarray(o) for o in outs]

    def value_of(name: str):
        if not name:
            return None
        return feeds[name] if name in feeds else _initializer(model, name)

    if "Dropout" in ops:
        node = next(n for n in nodes if n.op_type == "Dropout")
        x = value_of(node.input[0])
        ratio = value_of(node.input[1]) if len(node.input) > 1 else None
        ratio = 0.5 if ratio is None else float(np.asarray(ratio))
        scale = 1.0 / (1.0 - ratio) if ratio < 1 else 0.0
        y = outs[0]
        expected_kept = (x * scale).astype(x.dtype)
        kept = np.isclose(y, expected_kept, rtol=1e-5, atol=1e-6)
        dropped = y == 0
        if not np.all(kept | dropped):
            bad = int(np.sum(~(kept | dropped)))
            raise Mismatch(f"random: Dropout output has {bad} values that are neither 0 nor input/(1-ratio)",
                           f"ratio {ratio}, scale {scale}")
        if len(outs) > 1:
            mask = outs[1]
            if mask.dtype != np.bool_:
                raise Mismatch(f"random: Dropout mask dtype {mask.dtype}, expected bool", "")
            if not np.all(np.where(mask, kept, dropped)):
                raise Mismatch("random: Dropout output disagrees with its mask",
                               "output must be input/(1-ratio) where the mask is true and 0 where false")
        what = "output and mask" if len(outs) > 1 else "output"
        return f"random-checked: Dropout {what} consistent with ratio {ratio:g}"
    comparisons = {"Less", "Greater", "LessOrEqual", "GreaterOrEqual"}
    if "Bernoulli" in ops or ("RandomUniformLike" in ops and ops & comparisons):
        for i, out in enumerate(outs):
            if not np.all((out == 0) | (out == 1)):
                raise Mismatch(f"random: Bernoulli output {i} holds values other than 0 and 1",
                               f"values: {np.unique(out)[:20]}")
        return "random-checked: shape, dtype, values in {0, 1}"
    if ops & {"RandomUniform", "RandomUniformLike"}:
        node = next(n for n in nodes if n.op_type in ("RandomUniform", "RandomUniformLike"))
        attrs = {a.name: a.f for a in node.attribute}
        low, high = attrs.get("low", 0.0), attrs.get("high", 1.0)
        for i, out in enumerate(outs):
            if out.size and not (np.all(out >= low) and np.all(out < high)):
                raise Mismatch(f"random: output {i} has values outside [{low:g}, {high:g})",
                               f"min {out.min()}, max {out.max()}")
        return f"random-checked: shape, dtype, values in [{low:g}, {high:g})"
    if ops & {"RandomNormal", "RandomNormalLike"}:
        for i, out in enumerate(outs):
            if not np.all(np.isfinite(out.astype(np.float64))):
                raise Mismatch(f"random: output {i} has non-finite values", "")
        return "random-checked: shape, dtype, finite values"
    return "random-checked: shape and dtype"


def run_case(case_dir: str, threads: int, random: bool = False) -> dict:
    import onnx

    import ferry

    model_path = os.path.join(case_dir, "model.onnx")
    paths = [os.path.abspath(model_path), model_path, os.path.abspath(case_dir), case_dir]
    stage = "load"
    try:
        rtol, atol = DEFAULT_RTOL, DEFAULT_ATOL
        data_json = os.path.join(case_dir, "data.json")
        if os.path.exists(data_json):
            with open(data_json) as f:
                data = json.load(f)
            rtol, atol = data.get("rtol", rtol), data.get("atol", atol)
        model = onnx.load(model_path)
        inputs = [i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
        options = ferry.SessionOptions()
        options.intra_op_num_threads = threads
        stage = "session"
        sess = ferry.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        details = []
        for set_dir in sorted(glob.glob(os.path.join(case_dir, "test_data_set_*"))):
            stage = "inputs"
            n_in = len(glob.glob(os.path.join(set_dir, "input_*.pb")))
            n_out = len(glob.glob(os.path.join(set_dir, "output_*.pb")))
            feeds = {inputs[j].name: _load_value(os.path.join(set_dir, f"input_{j}.pb"), inputs[j].type)
                     for j in range(n_in)}
            refs = [_load_value(os.path.join(set_dir, f"output_{j}.pb"), model.graph.output[j].type)
                    for j in range(n_out)]
            stage = "run"
            outs = sess.run(None, feeds)
            stage = "compare"
            if random:
                details.append(f"{os.path.basename(set_dir)}: {check_random(model, feeds, refs, list(outs))}")
                continue
            compare(refs, list(outs), rtol, atol)
            details.append(f"{os.path.basename(set_dir)}: {n_out} outputs match (rtol {rtol:g}, atol {atol:g})")
        if random:
            return {"status": "random-checked", "reason": details[-1].split(": ", 1)[1] if details else
                    "random-checked: no data sets", "detail": "\n".join(details)}
        return {"status": "pass", "reason": "", "detail": "\n".join(details)}
    except Mismatch as m:
        return {"status": "fail", "reason": m.reason, "detail": m.detail[:20000]}
    except Exception as e:  # noqa: BLE001  (any failure of the engine is a result, not a crash)
        import traceback

        reason = error_reason(e, paths)
        if stage in ("load", "inputs", "compare"):
            first = (str(e).splitlines() or [""])[0]
            reason = f"error: reading the case ({stage}): {type(e).__name__}: {first[:160]}"
        if isinstance(e, ferry.FerryError) and stage in ("session", "run"):
            detail = f"{type(e).__name__} during {stage}: {e}"  # the engine's own message says it all
        else:
            detail = f"during {stage}:\n{traceback.format_exc()}"
        return {"status": "fail", "reason": reason, "detail": detail[-20000:]}


def worker_main(data_dir: str, threads: int, memory_limit_gb: float) -> int:
    """Reads case names from stdin, answers one JSON line per case on the original stdout.
    The engine's own stdout goes to stderr so it cannot corrupt the protocol."""
    if memory_limit_gb > 0:
        import resource

        limit = int(memory_limit_gb * 2**30)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import faulthandler

    faulthandler.enable()  # a crash prints the Python stack, which the parent keeps as its detail
    import warnings

    warnings.simplefilter("ignore")
    try:
        import numpy  # noqa: F401
        import onnx  # noqa: F401

        import ferry
    except Exception as e:  # noqa: BLE001
        proto.write(json.dumps({"ready": False, "error": f"{type(e).__name__}: {e}"}) + "\n")
        return 2
    proto.write(json.dumps({"ready": True, "ferry": ferry.__version__, "module": ferry._ferry.__file__}) + "\n")
    for line in sys.stdin:
        name, _, mode = line.strip().partition(" ")
        if not name:
            continue
        start = time.time()
        result = run_case(os.path.join(data_dir, "node", name), threads, random=mode == RANDOM_CATEGORY)
        result["name"] = name
        result["seconds"] = round(time.time() - start, 4)
        proto.write(json.dumps(result) + "\n")
    return 0


# ---------------------------------------------------------------------------------------------
# Parent: hands cases to workers, survives their crashes and hangs
# ---------------------------------------------------------------------------------------------

@dataclass
class CaseResult:
    name: str
    passed: bool
    reason: str = ""
    detail: str = ""
    seconds: float = 0.0
    #: Checked by its properties (an expectation `random: ...`) and they held: neither passed
    #: nor failed; counted with the excluded.
    random_checked: bool = False


class WorkerError(Exception):
    pass


class Worker:
    def __init__(self, args: argparse.Namespace, env: dict[str, str]) -> None:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--data", str(args.data),
               "--threads", str(args.threads), "--memory-limit-gb", str(args.memory_limit_gb)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, text=True, bufsize=1,
                                     start_new_session=True)
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        self.echo = args.verbose
        self._drain = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drain.start()
        self.cases_run = 0
        self.timed_out = False
        self.info = self._read(WORKER_START_TIMEOUT_S)
        if self.info is None or not self.info.get("ready"):
            why = (self.info or {}).get("error") or "it exited or hung while starting"
            self.kill()
            tail = "\n".join(self.stderr_tail)
            raise WorkerError(f"a conformance worker could not start: {why}\n{tail}")

    def _drain_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip("\n"))
            if self.echo:
                sys.stderr.write(f"    | {line}")

    def _read(self, timeout: float) -> dict | None:
        timer = threading.Timer(timeout, self._on_timeout)
        timer.start()
        try:
            line = self.proc.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            return None
        return json.loads(line)

    def _on_timeout(self) -> None:
        self.timed_out = True
        self.kill()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def run(self, name: str, timeout: float, random: bool = False) -> CaseResult:
        self.cases_run += 1
        start = time.time()
        try:
            self.proc.stdin.write(name + (f" {RANDOM_CATEGORY}" if random else "") + "\n")
            self.proc.stdin.flush()
            reply = self._read(timeout)
        except BrokenPipeError:
            reply = None
        if reply is not None:
            return CaseResult(name, reply["status"] == "pass", reply["reason"], reply.get("detail", ""),
                              reply.get("seconds", 0.0), reply["status"] == "random-checked")
        seconds = time.time() - start
        if self.timed_out:
            return CaseResult(name, False, f"timeout: no result after {timeout:g} s",
                              "the worker was killed", seconds)
        rc = self.proc.wait()
        self._drain.join(timeout=5)
        if rc < 0:
            try:
                how = f"killed by {signal.Signals(-rc).name}"
            except ValueError:
                how = f"killed by signal {-rc}"
        else:
            how = f"exited with status {rc}"
        tail = "(the worker's stderr is printed above)" if self.echo else \
            "worker stderr (last lines):\n" + "\n".join(self.stderr_tail)
        return CaseResult(name, False, f"crash: worker {how}", tail, seconds)

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


def run_all(names: list[str], args: argparse.Namespace, env: dict[str, str],
            on_result, random: set[str] = frozenset()) -> tuple[dict[str, CaseResult], dict]:
    todo: queue.Queue[str] = queue.Queue()
    for n in names:
        todo.put(n)
    results: dict[str, CaseResult] = {}
    lock = threading.Lock()
    failures: list[BaseException] = []
    info: dict = {}

    def slot() -> None:
        worker: Worker | None = None
        try:
            while not failures:
                try:
                    name = todo.get_nowait()
                except queue.Empty:
                    break
                if worker is None:
                    worker = Worker(args, env)
                    info.update(worker.info)
                result = worker.run(name, args.timeout, name in random)
                if worker.timed_out or worker.proc.poll() is not None:
                    worker.kill()
                    worker = None  # it is dead; the next case gets a fresh one
                elif worker.cases_run >= CASES_PER_WORKER:
                    worker.close()
                    worker = None
                with lock:
                    results[name] = result
                    on_result(result)
        except BaseException as e:  # noqa: BLE001
            failures.append(e)
        finally:
            if worker is not None:
                worker.close()

    threads = [threading.Thread(target=slot, daemon=True) for _ in range(max(1, args.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    return results, info


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def find_extension(build: Path) -> Path | None:
    found = sorted(glob.glob(str(build / "python" / "ferry" / "_ferry*.so")))
    return Path(found[0]) if found else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--build", type=Path, default=Path(os.environ.get("FERRY_BUILD_DIR", ROOT / "build")),
                        help="build tree whose python/ holds the ferry extension (default: $FERRY_BUILD_DIR or build)")
    parser.add_argument("--data", type=Path, help="test data cache (default: BUILD/conformance-data)")
    parser.add_argument("--expectations", type=Path, default=EXPECTATIONS)
    parser.add_argument("-k", dest="patterns", action="append", default=[],
                        help="run only tests whose name matches this regular expression (re.search; repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every case, and for failures the error or the output diff")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case (default 60)")
    parser.add_argument("--threads", type=int, default=1,
                        help="intra-op threads per session (default 1: the workers already use the cores)")
    parser.add_argument("--memory-limit-gb", type=float, default=8.0,
                        help="address-space limit of each worker (0: none)")
    parser.add_argument("--update-expectations", action="store_true",
                        help="rewrite the expectations file from this run's results")
    parser.add_argument("--list", action="store_true", help="list the selected test names and exit")
    parser.add_argument("--json", type=Path, help="also write every case's result to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.build = args.build if args.build.is_absolute() else (Path.cwd() / args.build)
    args.data = (args.data or args.build / "conformance-data").resolve()

    if args.worker:
        return worker_main(str(args.data), args.threads, args.memory_limit_gb)

    import onnx

    extension = find_extension(args.build)
    if extension is None and not args.list:
        print(f"conformance: no ferry extension under {args.build}/python/ferry (build it, or pass --build)")
        return 2
    start = time.time()
    try:
        count, gen_seconds = ensure_data(args.data)
    except Exception as e:  # noqa: BLE001
        print(f"conformance: could not generate the test data into {args.data}: {type(e).__name__}: {e}")
        return 2
    names = sorted(os.listdir(args.data / "node"))
    suite = set(names)
    if args.patterns:
        regexes = [re.compile(p) for p in args.patterns]
        names = [n for n in names if any(r.search(n) for r in regexes)]
    if args.list:
        print("\n".join(names))
        return 0
    if not names:
        print(f"conformance: no test name matches {' or '.join(args.patterns)} (see --list)")
        return 2
    expectations = Expectations.load(args.expectations)
    unknown = sorted(set(expectations.reasons) - suite)

    env = dict(os.environ)
    env["PYTHONPATH"] = str(args.build / "python") + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    gen_text = f"generated in {gen_seconds:.1f} s" if gen_seconds is not None else "cached"
    print(f"conformance: onnx {onnx.__version__} backend node tests ({count}, {gen_text}); "
          f"running {len(names)} with {extension.relative_to(args.build)} of {args.build}, "
          f"{args.jobs} workers, {args.timeout:g} s per case", flush=True)

    done = [0]
    # Listed as `random: ...`: checked by their properties; a property failure fails the run (an
    # error or crash of such a case is excluded, as for any listed case).
    random = {n for n in names if reason_category(expectations.reasons.get(n, "")) == RANDOM_CATEGORY}

    def property_failed(r: CaseResult) -> bool:
        return r.name in random and reason_category(r.reason) == RANDOM_CATEGORY

    def on_result(r: CaseResult) -> None:
        done[0] += 1
        listed = r.name in expectations.reasons
        if args.verbose:
            status = "PASS" if r.passed else ("RANDOM-CHECKED" if r.random_checked else
                                              "FAIL" if property_failed(r) or not listed else "FAIL (listed)")
            print(f"{status:<13} {r.name}  {r.reason}  ({r.seconds:.2f} s)", flush=True)
            if not r.passed and r.detail:
                print("\n".join("    " + line for line in r.detail.splitlines()), flush=True)
            elif r.passed and listed:
                print(f"    listed as: {expectations.reasons[r.name]}", flush=True)

    try:
        results, info = run_all(names, args, env, on_result, random)
    except WorkerError as e:
        print(f"conformance: {e}")
        return 2
    wall = time.time() - start

    if args.json:
        args.json.write_text(json.dumps({n: {"passed": r.passed, "reason": r.reason, "seconds": r.seconds}
                                         for n, r in sorted(results.items())}, indent=1))
    if args.update_expectations:
        kept, removed, added = expectations.rewrite(results, suite, FILE_HEADER)
        print(f"conformance: rewrote {args.expectations}: {kept} kept, {removed} removed, {added} added; "
              "the counts below are against the rewritten file")
        expectations = Expectations.load(args.expectations)

    passed = [n for n in names if results[n].passed]
    failed = [n for n in names if not results[n].passed and not results[n].random_checked
              and (n not in expectations.reasons or property_failed(results[n]))]
    excluded = [n for n in names if not results[n].passed and n in expectations.reasons and n not in failed]
    random_checked = [n for n in names if results[n].random_checked]
    now_passing = [n for n in passed if n in expectations.reasons]
    changed = [n for n in excluded
               if reason_category(expectations.reasons[n]) in AUTO_CATEGORIES
               and reason_category(expectations.reasons[n]) != reason_category(results[n].reason)]
    if not args.update_expectations:
        for n in now_passing:
            print(f"now passes; trim the expectations file: {n}  (listed as: {expectations.reasons[n]})")
        if changed:
            print(f"note: {len(changed)} listed tests fail for another kind of reason than listed "
                  f"(e.g. {changed[0]}: {results[changed[0]].reason}); --update-expectations refreshes them")
        for n in unknown:
            print(f"note: {n} is listed in the expectations but is not in onnx {onnx.__version__}'s suite")
        for n in failed:
            why = "a property of its random output" if property_failed(results[n]) else "not in the expectations"
            print(f"FAILED ({why}): {n}  {results[n].reason}")

    # Counts by reason, over the listed tests this run excluded.
    by_category = collections.Counter(reason_category(expectations.reasons[n]) for n in excluded
                                      if n in expectations.reasons)
    if random_checked:
        print(f"random-checked: {len(random_checked)} (their properties held; excluded from the pass count)")
    if by_category:
        parts = []
        for category, n in by_category.most_common():
            if category == "not implemented":
                ops = {op for t in excluded if reason_category(expectations.reasons[t]) == category
                       for op in _REASON_OP.findall(expectations.reasons[t])}
                parts.append(f"{category} {n} (naming {len(ops)} ops)")
            else:
                parts.append(f"{category} {n}")
        print("excluded by reason: " + ", ".join(parts))
    slowest = sorted(results.values(), key=lambda r: -r.seconds)[:3]
    print(f"conformance: {len(names)} cases in {wall:.1f} s"
          + (f" (slowest: {', '.join(f'{r.name} {r.seconds:.1f} s' for r in slowest)})" if slowest else ""))
    print(f"conformance: {len(passed)} passed, {len(failed)} failed, {len(excluded)} excluded of {len(names)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Comparing Ferry with onnxruntime on one model: output by output, and, when they differ,
the first node whose output differs (the seed of `ferry validate`).

    ok, report = compare_with_onnxruntime("model.onnx", feeds, rtol=1e-4, atol=1e-4)

Only the main graph's node outputs that onnx's shape inference can type are compared; a
divergence inside an If/Loop/Scan body is reported at the control-flow node.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import numpy as np


@dataclasses.dataclass
class Mismatch:
    name: str
    max_abs_err: float
    detail: str

    def __str__(self) -> str:
        return f"{self.name}: {self.detail}"


def compare_arrays(name: str, actual, expected, rtol: float, atol: float) -> Mismatch | None:
    """None when `actual` matches `expected` (numpy.allclose semantics, NaN equal to NaN,
    identical shapes and dtypes); otherwise what differs."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        return Mismatch(name, float("inf"), f"shape {list(actual.shape)} vs {list(expected.shape)}")
    if actual.dtype != expected.dtype:
        return Mismatch(name, float("inf"), f"dtype {actual.dtype} vs {expected.dtype}")
    if actual.size == 0:
        return None
    if actual.dtype.kind in "fc":
        a, e = actual.astype(np.float64), expected.astype(np.float64)
        both_nan = np.isnan(a) & np.isnan(e)
        close = np.isclose(a, e, rtol=rtol, atol=atol) | both_nan
        if close.all():
            return None
        err = np.where(both_nan, 0.0, np.abs(a - e))
        worst = np.unravel_index(int(np.nanargmax(err)), err.shape)
        return Mismatch(name, float(np.nanmax(err)),
                        f"max abs err {np.nanmax(err):.3g} at {list(worst)} ({a[worst]:.6g} vs {e[worst]:.6g}); "
                        f"{int((~close).sum())} of {close.size} beyond rtol {rtol:g}, atol {atol:g}")
    if np.array_equal(actual, expected):
        return None
    diff = int((actual != expected).sum())
    return Mismatch(name, float("inf"), f"{diff} of {actual.size} elements differ")


def _with_intermediate_outputs(model):
    """The model with every typed main-graph node output added as a graph output; returns the
    model and [(node, output name)] in node order."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    typed = {vi.name: vi for vi in [*inferred.graph.value_info, *inferred.graph.output]
             if vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type}
    existing = {o.name for o in model.graph.output}
    order = []
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for node in model.graph.node:
        for out in node.output:
            if out and out in typed:
                if out not in existing:
                    probe.graph.output.append(typed[out])
                    existing.add(out)
                order.append((node, out))
    return probe, order


def first_divergence(model_path: str, feeds: Mapping[str, np.ndarray], rtol: float, atol: float) -> str:
    """Runs Ferry and onnxruntime with every intermediate value exposed and names the first
    node (in graph order) whose output differs, with its inputs' state."""
    import onnx
    import onnxruntime

    import ferry

    model = onnx.load(model_path)
    probe, order = _with_intermediate_outputs(model)
    blob = probe.SerializeToString()
    names = [out for _, out in order]
    try:
        ort_values = dict(zip(names, onnxruntime.InferenceSession(
            blob, providers=["CPUExecutionProvider"]).run(names, dict(feeds))))
    except Exception as e:  # onnxruntime itself cannot run the probe: nothing to compare with
        return f"onnxruntime could not run the instrumented model: {e}"
    try:
        ferry_values = dict(zip(names, ferry.InferenceSession(blob).run(names, dict(feeds))))
    except Exception as e:
        return f"Ferry fails on the instrumented model: {e}"
    for node, out in order:
        mismatch = compare_arrays(out, ferry_values[out], ort_values[out], rtol, atol)
        if mismatch is not None:
            label = node.name or f"<unnamed {node.op_type}>"
            return f"first divergence at node '{label}' ({node.op_type}), output {mismatch}"
    return "no intermediate value differs; the outputs differ only past the compared values"


def compare_with_onnxruntime(model_path: str, feeds: Mapping[str, np.ndarray], rtol: float,
                             atol: float, output_names: Sequence[str] | None = None):
    """(True, "") when Ferry's outputs match onnxruntime's; otherwise (False, report) where the
    report names the differing outputs and the first diverging node."""
    import onnxruntime

    import ferry

    ort = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    names = list(output_names or [o.name for o in ort.get_outputs()])
    expected = ort.run(names, dict(feeds))
    try:
        actual = ferry.InferenceSession(model_path).run(names, dict(feeds))
    except Exception as e:
        return False, f"Ferry fails: {e}"
    problems = [m for m in (compare_arrays(n, a, e, rtol, atol)
                            for n, a, e in zip(names, actual, expected)) if m is not None]
    if not problems:
        return True, ""
    return False, "; ".join(map(str, problems)) + "\n" + first_divergence(model_path, feeds, rtol, atol)

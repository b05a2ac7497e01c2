"""FLOPs of the GEMM/conv work in an ONNX model at concrete input shapes.

    count_flops(model, feeds) -> {"total": F, "by_op": {"Conv": F1, "MatMul": F2, ...}}

Counted (a multiply-add is 2 FLOPs; bias adds, activations and everything else are left out,
so the figure is the dense-math floor that a fast engine runs at close to sgemm speed):
  MatMul        2 * prod(batch dims) * M * N * K (numpy broadcasting of the batch dims)
  Gemm          2 * M * N * K (transA/transB honoured)
  Conv          2 * N * Cout * (Cin / group) * prod(kernel) * prod(output spatial)
  ConvTranspose 2 * N * Cin * (Cout / group) * prod(kernel) * prod(input spatial)
  LSTM / GRU    2 * seq * batch * directions * gates * hidden * (input + hidden), gates 4 / 3
  Einsum        2 * product of the sizes of every index (contractions of 2+ operands)
Nodes inside subgraphs (Loop/If/Scan bodies) are not counted.

Shapes are exact: the model is run once in onnxruntime (optimizations off) with the operands of
those nodes added as graph outputs, so every dynamic or computed shape is the one the feeds give.
The count is of the ONNX model as exported, before either engine fuses anything, so Ferry's and
onnxruntime's GFLOP/s divide the same number.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import onnx

COUNTED = ("MatMul", "Gemm", "Conv", "ConvTranspose", "LSTM", "GRU", "Einsum")


def _attr(node: onnx.NodeProto, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _shapes(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray], names: set[str]) -> dict[str, tuple]:
    """Concrete shapes of `names` for these feeds."""
    import onnxruntime as ort

    shapes = {k: tuple(v.shape) for k, v in feeds.items()}
    for init in model.graph.initializer:
        shapes[init.name] = tuple(init.dims)
    for node in model.graph.node:  # Constant nodes hold weights in some exports
        if node.op_type == "Constant" and node.output[0] in names:
            value = _attr(node, "value", None)
            if value is not None:
                shapes[node.output[0]] = tuple(value.dims)
    wanted = sorted(n for n in names if n and n not in shapes)
    if not wanted:
        return shapes
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    existing = {o.name for o in probe.graph.output}
    probe.graph.output.extend(onnx.ValueInfoProto(name=n) for n in wanted if n not in existing)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    outputs = session.run(wanted, dict(feeds))
    shapes.update({n: tuple(np.shape(v)) for n, v in zip(wanted, outputs)})
    return shapes


def _matmul(a: tuple, b: tuple) -> int:
    if len(a) == 1:
        a = (1, *a)
    if len(b) == 1:
        b = (*b, 1)
    batch = np.broadcast_shapes(a[:-2], b[:-2])
    return 2 * math.prod(batch) * a[-2] * b[-1] * a[-1]


def _einsum(equation: str, shapes: list[tuple]) -> int:
    terms = equation.replace(" ", "").split("->")[0].split(",")
    if len(terms) < 2:
        return 0
    sizes: dict[str, int] = {}
    ellipsis: tuple = ()
    for term, shape in zip(terms, shapes):
        if "..." in term:
            head, tail = term.split("...")
            ellipsis = np.broadcast_shapes(ellipsis, shape[len(head):len(shape) - len(tail)])
            term = head + tail
            shape = shape[:len(head)] + shape[len(shape) - len(tail):]
        sizes.update(zip(term, shape))
    return 2 * math.prod(sizes.values()) * math.prod(ellipsis)


def _node_flops(node: onnx.NodeProto, shape) -> int:
    op = node.op_type
    if op == "MatMul":
        return _matmul(shape(node.input[0]), shape(node.input[1]))
    if op == "Gemm":
        a, b = shape(node.input[0]), shape(node.input[1])
        m, k = (a[1], a[0]) if _attr(node, "transA", 0) else (a[0], a[1])
        n = b[0] if _attr(node, "transB", 0) else b[1]
        return 2 * m * n * k
    if op == "Conv":
        w, y = shape(node.input[1]), shape(node.output[0])
        return 2 * y[0] * w[0] * w[1] * math.prod(w[2:]) * math.prod(y[2:])
    if op == "ConvTranspose":
        x, w = shape(node.input[0]), shape(node.input[1])
        return 2 * x[0] * w[0] * w[1] * math.prod(w[2:]) * math.prod(x[2:])
    if op in ("LSTM", "GRU"):
        x, r = shape(node.input[0]), shape(node.input[2])  # X [seq, batch, in] (layout 0), R [dirs, G*H, H]
        seq, batch = (x[1], x[0]) if _attr(node, "layout", 0) else (x[0], x[1])
        hidden = r[2]
        return 2 * seq * batch * r[0] * r[1] * (x[2] + hidden)
    if op == "Einsum":
        return _einsum(_attr(node, "equation", b"").decode(), [shape(i) for i in node.input])
    return 0


def count_flops(model: onnx.ModelProto | str, feeds: Mapping[str, np.ndarray]) -> dict:
    """FLOPs of one run of `model` on `feeds` (see the module doc for what is counted)."""
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    nodes = [n for n in model.graph.node if n.op_type in COUNTED]
    names = set()
    for n in nodes:
        names.update(n.input if n.op_type == "Einsum" else n.input[:3])
        if n.op_type == "Conv":
            names.add(n.output[0])
    shapes = _shapes(model, feeds, names) if nodes else {}
    by_op: dict[str, int] = {}
    for n in nodes:
        by_op[n.op_type] = by_op.get(n.op_type, 0) + _node_flops(n, lambda name: shapes[name])
    return {"total": sum(by_op.values()), "by_op": by_op}

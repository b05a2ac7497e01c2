"""Op tests for Det, DeformConv, MaxRoiPool, TensorScatter and BitCast. onnxruntime is the
reference where it has the kernel; otherwise onnx's reference evaluator (DeformConv,
TensorScatter, BitCast, whose opsets onnxruntime may not run).

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_misc_ext.py -q
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import helper

import ferry
from op_harness import onnx_reference, BOOL, F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Case, In, Lit, make_test

F16 = np.float16
BF16 = ml_dtypes.bfloat16
CASES: list[Case] = []


# ---------------------------------------------------------------------------------------------
# Det: batched, singular, 1x1, empty batch; float/double/float16.
CASES += [
    Case("Det", [In((3, 3), F32)], opsets=(11, 22), name="2d"),
    Case("Det", [In((2, 4, 5, 5), F64)], opsets=(11, 22), name="batched-f64"),
    Case("Det", [In((3, 1, 1), F32)], opsets=(11,), name="1x1"),
    Case("Det", [Lit(np.array([[1, 2, 3], [2, 4, 6], [0, 1, 1]], F32))], opsets=(11,), name="singular"),
    Case("Det", [Lit(np.array([[0, 1], [1, 0]], F32))], opsets=(11,), name="needs-pivot"),
    Case("Det", [In((2, 3, 3), F16)], opsets=(11, 22), name="f16", rtol=1e-2, atol=1e-2),
    Case("Det", [In((0, 3, 3), F32)], opsets=(11,), name="empty-batch"),
]

# ---------------------------------------------------------------------------------------------
# DeformConv (2-D): offsets, mask, bias, groups, offset_group, strides, pads, dilations.
def deform(name, x, w, attrs, oh, ow, og=1, mask=False, bias=False, dt=F32, opsets=(19, 22), **kw):
    k = w[2] * w[3]
    ins = [In(x, dt), In(w, dt), In((x[0], og * k * 2, oh, ow), dt), In((w[0],), dt) if bias else None,
           In((x[0], og * k, oh, ow), dt, "pos") if mask else None]
    while ins[-1] is None:
        ins.pop()
    CASES.append(Case("DeformConv", ins, attrs, opsets=opsets, name=name,
                      reference=onnx_reference("DeformConv", opsets[-1]), **kw))


deform("basic", (1, 1, 3, 3), (1, 1, 2, 2), {}, 2, 2)
deform("pads", (1, 1, 3, 3), (1, 1, 2, 2), {"pads": [1, 1, 1, 1]}, 4, 4)
deform("mask-bias", (2, 2, 4, 5), (3, 2, 2, 2), {}, 3, 4, mask=True, bias=True)
deform("groups", (1, 4, 5, 5), (6, 2, 3, 3), {"group": 2, "pads": [1, 0, 1, 2]}, 5, 5, bias=True)
deform("offset-groups", (1, 4, 4, 4), (2, 4, 2, 2), {"offset_group": 2}, 3, 3, og=2, mask=True)
deform("strides-dilations", (1, 2, 7, 6), (2, 2, 2, 3), {"strides": [2, 1], "dilations": [2, 1], "pads": [0, 1, 0, 1]},
       3, 6, bias=True)
deform("kernel-shape-attr", (1, 1, 4, 4), (1, 1, 3, 3), {"kernel_shape": [3, 3]}, 2, 2)
# The reference evaluator samples (GridSample) in float32, so double agrees to float precision only.
deform("f64", (1, 2, 4, 4), (2, 1, 2, 2), {"group": 2}, 3, 3, dt=F64, mask=True, bias=True, rtol=1e-5, atol=1e-6)
deform("f16", (1, 2, 4, 4), (2, 2, 2, 2), {}, 3, 3, dt=F16, mask=True, rtol=1e-2, atol=1e-2)



# Other spatial ranks (the spec's reference is 2-D only): with zero offsets DeformConv is Conv,
# which onnxruntime computes; 1-D with real offsets and a mask against a direct numpy loop.
def conv_via_ort(x, w, offset, b=None, mask=None, **attrs):
    import onnxruntime as ort
    attrs = {k: v for k, v in attrs.items() if k != "offset_group"}
    names = ["x", "w"] + (["b"] if b is not None else [])
    node = helper.make_node("Conv", names, ["y"], **attrs)
    feeds = dict(zip(names, [x, w] + ([b] if b is not None else [])))
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
                                            for k, v in feeds.items()], [helper.make_empty_tensor_value_info("y")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    return [ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]]


def deform_1d(x, w, offset, b=None, mask=None, strides=(1,), pads=(0, 0), dilations=(1,), group=1, offset_group=1):
    n, c, length = x.shape
    oc, cpg, k = w.shape
    ol = offset.shape[2]
    y = np.zeros((n, oc, ol))
    for bi in range(n):
        for o in range(oc):
            gi = o // (oc // group)
            for ci in range(cpg):
                ch = gi * cpg + ci
                og = ch // (c // offset_group)
                for t in range(k):
                    for j in range(ol):
                        p = j * strides[0] - pads[0] + t * dilations[0] + offset[bi, og * k + t, j]
                        f = int(np.floor(p))
                        v = sum(wt * x[bi, ch, q] for q, wt in ((f, 1 - (p - f)), (f + 1, p - f)) if 0 <= q < length)
                        m = mask[bi, og * k + t, j] if mask is not None else 1
                        y[bi, o, j] += w[o, ci, t] * v * m
            if b is not None:
                y[bi, o] += b[o]
    return [y.astype(x.dtype)]


CASES += [
    Case("DeformConv", [In((2, 4, 9), F32), In((4, 2, 3), F32), Lit(np.zeros((2, 2 * 3, 4), F32)), In((4,), F32)],
         {"group": 2, "offset_group": 2, "strides": [2], "pads": [1, 0]}, opsets=(19,), name="1d-zero-offsets",
         reference=conv_via_ort),
    Case("DeformConv", [In((1, 2, 4, 5, 3), F32), In((2, 2, 2, 2, 2), F32), Lit(np.zeros((1, 24, 3, 4, 4), F32))],
         {"dilations": [1, 2, 1], "pads": [0, 1, 1, 0, 0, 1]}, opsets=(19, 22), name="3d-zero-offsets",
         reference=conv_via_ort),
    Case("DeformConv", [In((2, 4, 7), F64), In((2, 4, 3), F64), In((2, 6, 5), F64), In((2,), F64), In((2, 6, 5), F64, "pos")],
         {"offset_group": 2, "dilations": [2], "pads": [1, 1]}, opsets=(19,), name="1d-offsets-mask",
         reference=deform_1d),
]

# ---------------------------------------------------------------------------------------------
# MaxRoiPool: rois inside, partly outside and degenerate; spatial_scale; float/double/float16.
# onnxruntime runs float only, and starts each bin's max at FLT_MIN (the smallest positive float)
# instead of the lowest value, so the inputs are positive; double and float16 cases compare with
# onnxruntime on the same values in float (exact: max pooling only selects).
ROIS = np.array([[0, 0, 0, 4, 4], [1, 1, 2, 6, 3], [0, 3.4, 1.6, 2.2, 0.5], [1, -3, -2, 9, 10], [0, 5, 5, 5, 5]], F32)


def roi_pool_via_float(x, rois, **attrs):
    import onnxruntime as ort
    node = helper.make_node("MaxRoiPool", ["x", "r"], ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x.shape),
                                            helper.make_tensor_value_info("r", onnx.TensorProto.FLOAT, rois.shape)],
                              [helper.make_empty_tensor_value_info("y")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 7)], ir_version=8)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [sess.run(None, {"x": x.astype(F32), "r": rois.astype(F32)})[0].astype(x.dtype)]


POS = np.abs(np.random.default_rng(3).standard_normal((2, 2, 5, 6))).astype(F32) + 0.1
CASES += [
    Case("MaxRoiPool", [In((2, 3, 6, 7), F32, "pos"), Lit(ROIS)], {"pooled_shape": [2, 2]}, opsets=(1,), name="basic"),
    Case("MaxRoiPool", [In((2, 2, 8, 8), F32, "pos"), Lit(ROIS)], {"pooled_shape": [3, 2], "spatial_scale": 0.5},
         opsets=(1,), name="scale"),
    Case("MaxRoiPool", [Lit(POS.astype(F64)), Lit(ROIS.astype(F64))], {"pooled_shape": [4, 3]}, opsets=(1,), name="f64",
         reference=roi_pool_via_float),
    Case("MaxRoiPool", [Lit(POS.astype(F16)), Lit(ROIS.astype(F16))], {"pooled_shape": [1, 1]}, opsets=(1, 22),
         name="f16", reference=roi_pool_via_float),
]

# ---------------------------------------------------------------------------------------------
# TensorScatter: linear and circular, default axis -2 and others, with and without write_indices.
TS = onnx_reference("TensorScatter", 24)
CASES += [
    Case("TensorScatter", [In((2, 3, 6, 4), F32), In((2, 3, 2, 4), F32), Lit(np.array([1, 4], I64))], opsets=(24,),
         name="linear", reference=TS),
    Case("TensorScatter", [In((2, 3, 6, 4), F32), In((2, 3, 6, 4), F32)], opsets=(24,), name="full-no-indices",
         reference=TS),
    Case("TensorScatter", [In((2, 5, 3), F16), In((2, 3, 3), F16), Lit(np.array([4, 1], I64))], {"mode": "circular", "axis": 1},
         opsets=(24,), name="circular-axis1", reference=TS),
    Case("TensorScatter", [In((3, 2, 4), I32), In((3, 2, 2), I32), Lit(np.array([0, -3, 7], I64))],
         {"mode": "circular", "axis": -1}, opsets=(24,), name="circular-last-axis", reference=TS),
    Case("TensorScatter", [In((2, 4, 3), BOOL), In((2, 1, 3), BOOL), Lit(np.array([3, 0], I64))], {"axis": 1},
         opsets=(24,), name="bool", reference=TS),
    Case("TensorScatter", [In((2, 4, 3), F64), In((2, 0, 3), F64)], {"axis": 1}, opsets=(24,), name="empty-update",
         reference=TS),
]

# ---------------------------------------------------------------------------------------------
# BitCast between every same-width pair the harness can express.
PAIRS = [(F32, I32), (I32, F32), (F32, U32), (F64, I64), (I64, F64), (U64, F64), (F16, I16), (U16, F16),
         (I16, U16), (I8, U8), (U8, I8), (BOOL, U8), (U8, BOOL), (U32, I32)]
for src, dst in PAIRS:
    data = In((2, 3), src) if src not in (U8,) else Lit(np.array([[0, 1, 1], [0, 0, 1]], U8))
    CASES.append(Case("BitCast", [data], {"to": helper.np_dtype_to_tensor_dtype(np.dtype(dst))}, opsets=(26,),
                      name=f"{np.dtype(src).name}-to-{np.dtype(dst).name}", reference=onnx_reference("BitCast", 26)))
CASES.append(Case("BitCast", [Lit(np.array(1.5, F32))], {"to": onnx.TensorProto.INT32}, opsets=(26,), name="scalar",
                  reference=onnx_reference("BitCast", 26)))



def bf16_via_float32(op: str, opset: int):
    """bfloat16 reference: onnx's evaluator on the inputs widened to float32, rounded back."""
    def ref(*arrays, **attrs):
        wide = [a.astype(F32) if a is not None and a.dtype == BF16 else a for a in arrays]
        return [o.astype(BF16) for o in onnx_reference(op, opset)(*wide, **attrs)]
    return ref


# bfloat16 (opset 22 for Det, DeformConv, MaxRoiPool), two bfloat16 ULPs where arithmetic rounds.
CASES += [
    Case("Det", [In((2, 3, 3), BF16)], opsets=(22,), name="bf16", reference=bf16_via_float32("Det", 22),
         rtol=2e-2, atol=2e-2),
    Case("DeformConv", [In((1, 2, 4, 4), BF16), In((2, 2, 2, 2), BF16), In((1, 8, 3, 3), BF16), In((2,), BF16)], opsets=(22,),
         name="bf16", reference=bf16_via_float32("DeformConv", 22), rtol=2e-2, atol=2e-2),
    Case("MaxRoiPool", [Lit(POS.astype(BF16)), Lit(ROIS.astype(BF16))], {"pooled_shape": [2, 3]}, opsets=(22,),
         name="bf16", reference=roi_pool_via_float),
    Case("TensorScatter", [In((2, 5, 3), BF16), In((2, 2, 3), BF16), Lit(np.array([4, 1], I64))], {"mode": "circular", "axis": 1},
         opsets=(24,), name="bf16-circular", reference=TS),
    Case("BitCast", [In((2, 3), BF16)], {"to": onnx.TensorProto.INT16}, opsets=(26,), name="bfloat16-to-int16",
         reference=onnx_reference("BitCast", 26)),
    Case("BitCast", [Lit(np.array([0, 16256, -16512, 100], I16))], {"to": onnx.TensorProto.BFLOAT16}, opsets=(26,), name="int16-to-bfloat16",
         reference=onnx_reference("BitCast", 26)),
]

test_op = make_test(CASES)


def _session(node, inputs, outputs, opset):
    graph = helper.make_graph([node], "g", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def test_tensor_scatter_linear_overflow_raises() -> None:
    T = onnx.TensorProto
    sess = _session(helper.make_node("TensorScatter", ["p", "u", "w"], ["y"]),
                    [helper.make_tensor_value_info("p", T.FLOAT, [1, 4, 2]), helper.make_tensor_value_info("u", T.FLOAT, [1, 2, 2]),
                     helper.make_tensor_value_info("w", T.INT64, [1])],
                    [helper.make_tensor_value_info("y", T.FLOAT, [1, 4, 2])], 24)
    with pytest.raises(Exception, match=r"write_indices\[0\] = 3"):
        sess.run(None, {"p": np.zeros((1, 4, 2), F32), "u": np.ones((1, 2, 2), F32), "w": np.array([3], I64)})


def test_max_roi_pool_bad_batch_index_raises() -> None:
    T = onnx.TensorProto
    sess = _session(helper.make_node("MaxRoiPool", ["x", "r"], ["y"], pooled_shape=[1, 1]),
                    [helper.make_tensor_value_info("x", T.FLOAT, [1, 1, 2, 2]), helper.make_tensor_value_info("r", T.FLOAT, [1, 5])],
                    [helper.make_tensor_value_info("y", T.FLOAT, None)], 7)
    with pytest.raises(Exception, match="batch index 2"):
        sess.run(None, {"x": np.zeros((1, 1, 2, 2), F32), "r": np.array([[2, 0, 0, 1, 1]], F32)})


@pytest.mark.parametrize("op,attrs,shapes,pattern", [
    ("DeformConv", {"group": 2}, [(1, 4, 5, 5), (3, 2, 2, 2), (1, 8, 4, 4)], "do not fit group 2"),
    ("DeformConv", {}, [(1, 2, 5, 5), (3, 2, 2, 2), (1, 8, 3, 4)], r"input 'offset' must have shape \[1,8,4,4\]"),
    ("Det", {}, [(2, 3, 4)], "square"),
])
def test_bad_shapes_raise(op, attrs, shapes, pattern) -> None:
    T = onnx.TensorProto
    names = [f"i{k}" for k in range(len(shapes))]
    sess = _session(helper.make_node(op, names, ["y"], **attrs),
                    [helper.make_tensor_value_info(n, T.FLOAT, None) for n in names],
                    [helper.make_tensor_value_info("y", T.FLOAT, None)], 22)
    with pytest.raises(Exception, match=pattern):
        sess.run(None, {n: np.ones(s, F32) for n, s in zip(names, shapes)})


def test_bitcast_width_mismatch_raises() -> None:
    T = onnx.TensorProto
    with pytest.raises(Exception, match="bit width"):
        _session(helper.make_node("BitCast", ["x"], ["y"], to=T.INT64), [helper.make_tensor_value_info("x", T.FLOAT, [2])],
                 [helper.make_tensor_value_info("y", T.INT64, [2])], 26).run(None, {"x": np.ones(2, F32)})

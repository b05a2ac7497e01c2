"""Op tests for the extended nn ops: Resize/Upsample, ConvTranspose, the normalizations, LpPool and
the global pools, MaxUnpool, Einsum, GridSample, AffineGrid, RoiAlign, NonMaxSuppression. Each case
is a one-node model run by onnxruntime (the reference) and by Ferry; where onnxruntime has no
kernel (or deviates from the spec), onnx's reference evaluator is the reference.

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_nn.py -q
"""

from __future__ import annotations

import numpy as np
from onnx import helper

from op_harness import onnx_reference, F32, F64, I8, I32, I64, U8, Case, In, Lit, make_test

F16 = np.float16
CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


# ---------------------------------------------------------------------------------------------
# Resize / Upsample.
EMPTY = Lit(np.array([], F32))
for mode in ("nearest", "linear", "cubic"):
    for coord in ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"):
        for name, scales in (("up", [1, 1, 2.0, 1.5]), ("down", [1, 1, 0.6, 0.5])):
            # Downscaling with align_corners: onnxruntime divides by the integer output length,
            # the ONNX reference (and the conformance suite) by scale * input length.
            ref = onnx_reference("Resize", 13) if (coord, name) == ("align_corners", "down") else None
            add(Case("Resize", [In((1, 2, 4, 6)), EMPTY, Lit(np.array(scales, F32))],
                     {"mode": mode, "coordinate_transformation_mode": coord}, name=f"{mode}_{coord}_{name}",
                     opsets=(13,) if ref else (11, 13, 18), rtol=1e-4, atol=1e-5, reference=ref))
    add(Case("Resize", [In((2, 3, 5, 4)), EMPTY, EMPTY, Lit(np.array([2, 3, 7, 3], I64))], {"mode": mode},
             name=f"{mode}_sizes", opsets=(11,), rtol=1e-4, atol=1e-5))
    add(Case("Resize", [In((2, 3, 5, 4)), None, None, Lit(np.array([2, 3, 7, 3], I64))], {"mode": mode},
             name=f"{mode}_sizes_no_scales", opsets=(13, 18), rtol=1e-4, atol=1e-5))
for nm in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil"):
    add(Case("Resize", [In((1, 1, 3, 5)), EMPTY, Lit(np.array([1, 1, 2.5, 1.7], F32))],
             {"mode": "nearest", "nearest_mode": nm, "coordinate_transformation_mode": "asymmetric"},
             name=f"nearest_{nm}", opsets=(13,)))
add(Case("Resize", [In((1, 1, 4, 4)), EMPTY, Lit(np.array([1, 1, 1.5, 0.75], F32))],
         {"mode": "cubic", "exclude_outside": 1, "cubic_coeff_a": -0.5}, name="cubic_exclude", opsets=(13,),
         rtol=1e-4, atol=1e-5))
add(Case("Resize", [In((1, 1, 5, 5)), Lit(np.array([0, 0, 0.2, 0.3, 1, 1, 0.8, 0.9], F32)),
                    Lit(np.array([1, 1, 1.6, 1.2], F32))],
         {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize", "extrapolation_value": 3.0},
         name="crop", opsets=(13,), rtol=1e-4, atol=1e-5))
add(Case("Resize", [In((1, 1, 5, 5)), Lit(np.array([0, 0, -0.2, 0.3, 1, 1, 1.4, 0.9], F32)),
                    Lit(np.array([1, 1, 1.6, 1.2], F32))],
         {"mode": "nearest", "coordinate_transformation_mode": "tf_crop_and_resize", "extrapolation_value": -1.0},
         name="crop_extrapolate", opsets=(13,)))
add(Case("Resize", [In((3, 8)), EMPTY, Lit(np.array([1, 2.5], F32))], {"mode": "linear"}, name="2d", opsets=(13,),
         rtol=1e-4, atol=1e-5))
add(Case("Resize", [In((2, 3, 4, 5, 6)), EMPTY, Lit(np.array([1, 1, 1.5, 0.5, 2], F32))], {"mode": "linear"},
         name="5d", opsets=(13,), rtol=1e-4, atol=1e-5))
add(Case("Resize", [In((1, 2, 4, 4), F64), EMPTY, Lit(np.array([1, 1, 2, 2], F32))], {"mode": "linear"},
         name="f64", opsets=(13,)))
for dt in (U8, I8, I32):
    add(Case("Resize", [In((1, 2, 4, 4), dt), EMPTY, Lit(np.array([1, 1, 2, 1.5], F32))], {"mode": "nearest"},
             name=f"nearest_{np.dtype(dt).name}", opsets=(13,)))
add(Case("Resize", [In((1, 2, 6, 6), U8), EMPTY, Lit(np.array([1, 1, 0.5, 0.5], F32))], {"mode": "linear"},
         name="linear_uint8", opsets=(13,), reference=onnx_reference("Resize", 13)))
# Opset 18+: axes, keep_aspect_ratio_policy, antialias; 19: half_pixel_symmetric.
for policy in ("stretch", "not_larger", "not_smaller"):
    add(Case("Resize", [In((1, 2, 4, 6)), EMPTY, EMPTY, Lit(np.array([7, 5], I64))],
             {"mode": "nearest", "axes": [2, 3], "keep_aspect_ratio_policy": policy}, name=f"policy_{policy}",
             opsets=(18,), reference=onnx_reference("Resize", 18)))
add(Case("Resize", [In((1, 2, 4, 6)), EMPTY, Lit(np.array([1.5, 2], F32))], {"mode": "linear", "axes": [3, 2]},
         name="axes_32", opsets=(18,), rtol=1e-4, atol=1e-5))
for mode in ("linear", "cubic"):
    for name, scales in (("down", [1, 1, 0.6, 0.4]), ("up", [1, 1, 1.5, 2])):
        add(Case("Resize", [In((1, 1, 8, 10)), EMPTY, Lit(np.array(scales, F32))], {"mode": mode, "antialias": 1},
                 name=f"antialias_{mode}_{name}", opsets=(18,), rtol=1e-4, atol=1e-5))
add(Case("Resize", [In((1, 1, 4, 5)), EMPTY, Lit(np.array([1, 1, 1.7, 0.7], F32))],
         {"mode": "linear", "coordinate_transformation_mode": "half_pixel_symmetric"}, name="half_pixel_symmetric",
         opsets=(19,), reference=onnx_reference("Resize", 19)))
add(Case("Resize", [In((1, 1, 4, 4), F16), EMPTY, Lit(np.array([1, 1, 2, 2], F32))], {"mode": "linear"},
         name="f16", opsets=(13,), reference=onnx_reference("Resize", 13)))
# Opset 10 (scales only; asymmetric) and Upsample.
add(Case("Resize", [In((1, 1, 3, 4)), Lit(np.array([1, 1, 2, 3], F32))], {"mode": "nearest"}, name="v10_nearest",
         opsets=(10,)))
add(Case("Resize", [In((1, 1, 4, 6)), Lit(np.array([1, 1, 0.5, 0.5], F32))], {"mode": "nearest"},
         name="v10_nearest_down", opsets=(10,)))
add(Case("Resize", [In((1, 1, 3, 4)), Lit(np.array([1, 1, 2, 1.5], F32))], {"mode": "linear"}, name="v10_linear",
         opsets=(10,)))
add(Case("Upsample", [In((1, 2, 3, 4))], {"mode": "nearest", "scales": [1.0, 1.0, 2.0, 3.0]}, name="v7_nearest",
         opsets=(7,)))
add(Case("Upsample", [In((1, 2, 3, 4))], {"mode": "linear", "scales": [1.0, 1.0, 2.0, 2.0]}, name="v7_linear",
         opsets=(7,)))
add(Case("Upsample", [In((1, 2, 3, 4)), Lit(np.array([1, 1, 2, 3], F32))], {"mode": "nearest"}, name="v9_nearest",
         opsets=(9,)))

# ---------------------------------------------------------------------------------------------
# ConvTranspose.
CT = [
    ("1d", (1, 2, 5), (2, 3, 3), {}),
    ("2d", (2, 3, 4, 5), (3, 2, 3, 3), {}),
    ("stride", (1, 2, 4, 4), (2, 3, 3, 3), {"strides": [2, 2]}),
    ("pads", (1, 2, 4, 4), (2, 3, 3, 3), {"strides": [2, 2], "pads": [1, 0, 1, 2]}),
    ("opad", (1, 2, 3, 3), (2, 2, 3, 3), {"strides": [3, 2], "output_padding": [1, 1]}),
    ("dil", (1, 2, 4, 4), (2, 2, 2, 3), {"dilations": [2, 2]}),
    ("group", (1, 4, 3, 3), (4, 2, 3, 3), {"group": 2}),
    ("depthwise", (2, 3, 5, 5), (3, 1, 3, 3), {"group": 3, "strides": [2, 1]}),
    ("oshape", (1, 1, 3, 3), (1, 2, 3, 3), {"strides": [3, 2], "output_shape": [10, 8]}),
    ("same_upper", (1, 1, 3, 3), (1, 2, 3, 3), {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ("valid", (1, 1, 3, 3), (1, 2, 3, 3), {"strides": [2, 2], "auto_pad": "VALID"}),
    ("3d", (1, 2, 3, 4, 3), (2, 2, 2, 3, 2), {"strides": [2, 1, 2]}),
    ("kshape", (1, 1, 3), (1, 1, 2), {"kernel_shape": [2]}),
]
for name, xs, ws, attrs in CT:
    add(Case("ConvTranspose", [In(xs), In(ws)], attrs, name=name, opsets=(11, 22), rtol=1e-4, atol=1e-4))
add(Case("ConvTranspose", [In((1, 2, 4, 4)), In((2, 3, 3, 3)), In((3,))], {"strides": [2, 2]}, name="bias",
         opsets=(11,), rtol=1e-4, atol=1e-4))
add(Case("ConvTranspose", [In((1, 2, 4, 4), F64), In((2, 3, 3, 3), F64)], name="f64", opsets=(11,)))
add(Case("ConvTranspose", [In((1, 2, 4, 4), F16), In((2, 3, 3, 3), F16), In((3,), F16)], {"strides": [2, 2]},
         name="f16", opsets=(11,), rtol=3e-3, atol=3e-3))

# ---------------------------------------------------------------------------------------------
# Normalizations.
for axis in (0, 1, -1, 2, -2):
    add(Case("LayerNormalization", [In((2, 3, 4)), In((2, 3, 4)[axis:] if axis >= 0 else (2, 3, 4)[axis:]),
                                    In((2, 3, 4)[axis:])], {"axis": axis}, outputs=3, name=f"axis{axis}",
             opsets=(17,), rtol=1e-4, atol=1e-4))
add(Case("LayerNormalization", [In((3, 5)), In((5,))], {"epsilon": 0.1}, name="no_bias", opsets=(17,), rtol=1e-4,
         atol=1e-4))
add(Case("LayerNormalization", [In((3, 5), F64), In((5,), F64), In((5,), F64)], name="f64", opsets=(17,)))
add(Case("LayerNormalization", [In((4, 6), F16), In((6,), F16), In((6,), F16)], name="f16", opsets=(17,),
         rtol=3e-3, atol=3e-3))
for axis in (0, 1, -1):
    add(Case("RMSNormalization", [In((2, 3, 4)), In((2, 3, 4)[axis:])], {"axis": axis}, name=f"axis{axis}",
             opsets=(23,), reference=onnx_reference("RMSNormalization", 23), rtol=1e-4, atol=1e-4))
add(Case("InstanceNormalization", [In((2, 3, 4, 5)), In((3,)), In((3,))], name="4d", opsets=(6, 22), rtol=1e-4,
         atol=1e-4))
add(Case("InstanceNormalization", [In((2, 3, 7)), In((3,)), In((3,))], {"epsilon": 0.01}, name="3d", opsets=(6,),
         rtol=1e-4, atol=1e-4))
# GroupNormalization-18 (per-group scale) is deprecated in the schema, so models using it are
# rejected at load; only the opset-21 semantics can be exercised.
add(Case("GroupNormalization", [In((2, 6, 3, 4)), In((6,)), In((6,))], {"num_groups": 2, "epsilon": 0.01},
         name="v21", opsets=(21,), rtol=1e-4, atol=1e-4))
add(Case("MeanVarianceNormalization", [In((2, 3, 4, 5))], name="default", opsets=(9, 13), rtol=1e-4, atol=1e-4))
add(Case("MeanVarianceNormalization", [In((2, 3, 4))], {"axes": [1]}, name="axes1", opsets=(13,), rtol=1e-4,
         atol=1e-4))
for axis in (0, 1, -1):
    for p in (1, 2):
        add(Case("LpNormalization", [In((3, 4, 5))], {"axis": axis, "p": p}, name=f"ax{axis}_p{p}", opsets=(1, 22),
                 rtol=1e-4, atol=1e-5))
add(Case("LRN", [In((2, 5, 3, 3))], {"size": 3}, name="size3", opsets=(1, 13), rtol=1e-4, atol=1e-5))
add(Case("LRN", [In((1, 6, 4, 4))], {"size": 5, "alpha": 0.01, "beta": 0.5, "bias": 2.0}, name="size5", opsets=(13,),
         rtol=1e-4, atol=1e-5))


# ---------------------------------------------------------------------------------------------
# Pools.
add(Case("GlobalMaxPool", [In((2, 3, 4, 5))], name="4d", opsets=(1, 22)))
add(Case("GlobalMaxPool", [In((2, 3, 7))], name="3d", opsets=(1,)))
add(Case("GlobalLpPool", [In((2, 3, 4, 5))], {"p": 3}, name="p3", opsets=(2,), rtol=1e-4, atol=1e-5))
add(Case("GlobalLpPool", [In((2, 3, 4, 5))], name="p2", opsets=(2,), rtol=1e-4, atol=1e-5))
LP = [
    ("2d", (1, 2, 5, 5), {"kernel_shape": [2, 2]}),
    ("stride_pad", (1, 2, 6, 5), {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ("1d", (2, 2, 9), {"kernel_shape": [3], "strides": [2], "p": 3}),
    ("same", (1, 1, 5, 5), {"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER", "strides": [2, 2]}),
]
for name, xs, attrs in LP:
    add(Case("LpPool", [In(xs)], attrs, name=name, opsets=(11, 18), rtol=1e-4, atol=1e-5))
add(Case("LpPool", [In((1, 1, 6, 6))], {"kernel_shape": [2, 2], "dilations": [2, 2]}, name="dil", opsets=(18,),
         rtol=1e-4, atol=1e-5))
add(Case("MaxUnpool", [Lit(np.array([[[[5, 6], [7, 8]]]], F32)), Lit(np.array([[[[5, 7], [13, 15]]]], I64))],
         {"kernel_shape": [2, 2], "strides": [2, 2]}, name="basic", opsets=(9, 11)))
add(Case("MaxUnpool", [Lit(np.array([[[[5, 6], [7, 8]]]], F32)), Lit(np.array([[[[5, 7], [13, 15]]]], I64)),
                       Lit(np.array([1, 1, 5, 5], I64))],
         {"kernel_shape": [2, 2], "strides": [2, 2]}, name="oshape", opsets=(11,),
         # onnxruntime scatters the flat indices into the larger output directly; the spec's
         # reference (and the conformance suite) unpools into the inferred shape at the origin.
         reference=onnx_reference("MaxUnpool", 11)))

# ---------------------------------------------------------------------------------------------
# Einsum.
EINSUMS = [
    ("matmul", "ij,jk->ik", [(3, 4), (4, 5)]),
    ("implicit", "ij,jk", [(3, 4), (4, 5)]),
    ("batch", "bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("transpose", "ij->ji", [(3, 4)]),
    ("sum", "ij->", [(3, 4)]),
    ("trace", "ii", [(4, 4)]),
    ("diag", "ii->i", [(4, 4)]),
    ("outer", "i,j->ij", [(3,), (4,)]),
    ("dot", "i,i", [(5,), (5,)]),
    ("ellipsis", "...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("ellipsis_bcast", "...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]),
    ("three", "ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("repeat3", "iij->j", [(3, 3, 4)]),
    ("mixed", "bIj,bjK->bKI", [(2, 3, 4), (2, 4, 2)]),
    ("contract_two", "abc,cbd->ad", [(2, 3, 4), (4, 3, 5)]),
]
for name, eq, shapes in EINSUMS:
    # onnxruntime rejects ellipsis dims that broadcast (1 vs 5); numpy's einsum is the reference there.
    ref = (lambda *xs, equation: [np.einsum(equation, *xs)]) if name == "ellipsis_bcast" else None
    add(Case("Einsum", [In(s) for s in shapes], {"equation": eq}, name=name, opsets=(12,), rtol=1e-4, atol=1e-4,
             reference=ref))
add(Case("Einsum", [In((3, 4), F64), In((4, 2), F64)], {"equation": "ij,jk->ik"}, name="f64", opsets=(12,)))
add(Case("Einsum", [In((3, 4), I32), In((4, 2), I32)], {"equation": "ij,jk->ik"}, name="int32", opsets=(12,)))
add(Case("Einsum", [In((3, 4), I64), In((4, 2), I64)], {"equation": "ij,jk->ik"}, name="int64", opsets=(12,)))

# ---------------------------------------------------------------------------------------------
# GridSample, AffineGrid.
for mode in ("linear", "nearest", "cubic"):
    for pad in ("zeros", "border", "reflection"):
        for ac in (0, 1):
            add(Case("GridSample", [In((1, 2, 4, 5)), In((1, 3, 6, 2))],
                     {"mode": mode, "padding_mode": pad, "align_corners": ac}, name=f"{mode}_{pad}_ac{ac}",
                     opsets=(20,), reference=onnx_reference("GridSample", 20), rtol=1e-4, atol=1e-4))
    old = {"linear": "bilinear", "cubic": "bicubic"}.get(mode, mode)
    add(Case("GridSample", [In((2, 2, 4, 5)), In((2, 3, 6, 2))], {"mode": old}, name=f"v16_{old}", opsets=(16,),
             rtol=1e-4, atol=1e-4))
add(Case("GridSample", [In((1, 2, 3, 4, 5)), In((1, 2, 3, 2, 3))], {"mode": "linear"}, name="3d", opsets=(20,),
         reference=onnx_reference("GridSample", 20), rtol=1e-4, atol=1e-4))
for ac in (0, 1):
    add(Case("AffineGrid", [In((2, 2, 3)), Lit(np.array([2, 3, 4, 5], I64))], {"align_corners": ac}, name=f"2d_ac{ac}",
             opsets=(20,), reference=onnx_reference("AffineGrid", 20), rtol=1e-4, atol=1e-5))
    add(Case("AffineGrid", [In((1, 3, 4)), Lit(np.array([1, 2, 3, 4, 5], I64))], {"align_corners": ac},
             name=f"3d_ac{ac}", opsets=(20,), reference=onnx_reference("AffineGrid", 20), rtol=1e-4, atol=1e-5))

# ---------------------------------------------------------------------------------------------
# RoiAlign, NonMaxSuppression.
ROIS = Lit(np.array([[0, 0, 9, 9], [0, 5, 4, 9], [5, 5, 9, 9], [1.5, 2.2, 7.1, 3.3]], F32))
BATCH = Lit(np.array([0, 1, 0, 1], I64))
for mode in ("avg", "max"):
    for coord in ("half_pixel", "output_half_pixel"):
        add(Case("RoiAlign", [In((2, 3, 10, 10)), ROIS, BATCH],
                 {"mode": mode, "coordinate_transformation_mode": coord, "output_height": 3, "output_width": 4,
                  "sampling_ratio": 2, "spatial_scale": 1.0}, name=f"{mode}_{coord}", opsets=(16,), rtol=1e-4,
                 atol=1e-4))
    add(Case("RoiAlign", [In((2, 3, 10, 10)), ROIS, BATCH], {"mode": mode, "output_height": 2, "output_width": 2,
                                                            "spatial_scale": 0.5}, name=f"{mode}_adaptive",
             opsets=(10, 16), rtol=1e-4, atol=1e-4))

BOXES = np.array([[[0, 0, 1, 1], [0, 0.1, 1, 1.1], [0, -0.1, 1, 0.9], [0, 10, 1, 11], [0, 10.1, 1, 11.1],
                   [0, 100, 1, 101]]], F32)
SCORES = np.array([[[0.9, 0.75, 0.6, 0.95, 0.5, 0.3], [0.1, 0.9, 0.9, 0.2, 0.95, 0.3]]], F32)
for name, extra, attrs in (
        ("basic", [Lit(np.array([3], I64)), Lit(np.array([0.5], F32))], {}),
        ("score", [Lit(np.array([3], I64)), Lit(np.array([0.5], F32)), Lit(np.array([0.4], F32))], {}),
        ("max2", [Lit(np.array([2], I64)), Lit(np.array([0.0], F32))], {}),
        ("none", [], {}),
        ("center", [Lit(np.array([5], I64)), Lit(np.array([0.3], F32))], {"center_point_box": 1})):
    add(Case("NonMaxSuppression", [Lit(BOXES), Lit(SCORES)] + extra, attrs, name=name, opsets=(11,)))
add(Case("NonMaxSuppression", [In((2, 7, 4)), In((2, 3, 7)), Lit(np.array([4], I64)), Lit(np.array([0.2], F32))],
         name="random", opsets=(10, 11)))

test_op = make_test(CASES)


# float16 through float.
H = dict(rtol=3e-3, atol=3e-3)
add(Case("InstanceNormalization", [In((2, 3, 4, 5), F16), In((3,), F16), In((3,), F16)], name="f16", opsets=(6,), **H))
add(Case("GroupNormalization", [In((2, 6, 3, 4), F16), In((6,), F16), In((6,), F16)], {"num_groups": 3}, name="f16",
         opsets=(21,), reference=onnx_reference("GroupNormalization", 21), **H))
add(Case("RMSNormalization", [In((3, 8), F16), In((8,), F16)], name="f16", opsets=(23,),
         reference=onnx_reference("RMSNormalization", 23), **H))
add(Case("MeanVarianceNormalization", [In((2, 3, 4, 5), F16)], name="f16", opsets=(13,), **H))
add(Case("LpNormalization", [In((3, 4), F16)], name="f16", opsets=(22,), reference=onnx_reference("LpNormalization", 22), **H))
add(Case("LRN", [In((1, 5, 3, 3), F16)], {"size": 3}, name="f16", opsets=(13,), **H))
add(Case("GlobalMaxPool", [In((2, 3, 4, 5), F16)], name="f16", opsets=(22,)))
add(Case("LpPool", [In((1, 2, 5, 5), F16)], {"kernel_shape": [2, 2]}, name="f16", opsets=(18,),
         reference=onnx_reference("LpPool", 18), **H))
add(Case("Einsum", [In((2, 3, 4), F16), In((2, 4, 5), F16)], {"equation": "bij,bjk->bik"}, name="f16", opsets=(12,),
         reference=lambda a, b, equation: [np.einsum(equation, a.astype(F32), b.astype(F32)).astype(F16)], **H))
add(Case("GridSample", [In((1, 2, 4, 5), F16), In((1, 3, 6, 2), F16)], name="f16", opsets=(20,),
         reference=onnx_reference("GridSample", 20), **H))
add(Case("RoiAlign", [In((2, 3, 10, 10), F16), Lit(np.array([[0, 0, 9, 9], [1.5, 2.2, 7.1, 3.3]], F16)),
                      Lit(np.array([0, 1], I64))], {"output_height": 2, "output_width": 3, "sampling_ratio": 2},
         name="f16", opsets=(16,), reference=onnx_reference("RoiAlign", 16), **H))
add(Case("AffineGrid", [In((1, 2, 3), F16), Lit(np.array([1, 1, 3, 4], I64))], name="f16", opsets=(20,),
         reference=onnx_reference("AffineGrid", 20), **H))

# ---------------------------------------------------------------------------------------------
# Bad inputs give a ferry error naming what is wrong, never a crash.
import ferry  # noqa: E402
import pytest  # noqa: E402

BAD = [
    ("TopK", [np.zeros((2, 3), F32), np.array([4], I64)], {}, 11, "k = 4"),
    ("Resize", [np.zeros((1, 1, 2, 2), F32), np.array([], F32), np.array([], F32), np.array([1, 1, -2, 2], I64)],
     {}, 13, "sizes must be non-negative"),
    ("Resize", [np.zeros((1, 1, 2, 2), F32), np.array([], F32), np.array([1, 1, 0, 2], F32)], {}, 13,
     "scales must be positive"),
    ("MaxUnpool", [np.zeros((1, 1, 2, 2), F32), np.array([[[[0, 1, 2, 99]]]], I64).reshape(1, 1, 2, 2)],
     {"kernel_shape": [2, 2], "strides": [2, 2]}, 11, "outside the unpooled shape"),
    ("Einsum", [np.zeros((2, 3), F32), np.zeros((4, 5), F32)], {"equation": "ij,jk->ik"}, 12, "disagree"),
    ("ArgMax", [np.zeros((2, 0), F32)], {"axis": 1}, 13, "empty axis"),
    ("CumSum", [np.zeros((2, 3), F32), np.array([0, 1], I64)], {}, 14, "must be a scalar"),
    ("ReduceSum", [np.zeros((2, 3), F32), np.array([2], I64)], {}, 13, "out of range"),
    ("RoiAlign", [np.zeros((1, 1, 4, 4), F32), np.zeros((1, 4), F32), np.array([3], I64)], {}, 16, "batch index 3"),
]


@pytest.mark.parametrize("op,inputs,attrs,opset,message", BAD, ids=[f"{b[0]}-{b[4]}" for b in BAD])
def test_bad_input(op, inputs, attrs, opset, message):
    names = [f"i{k}" for k in range(len(inputs))]
    node = helper.make_node(op, names, ["o"] + (["o2"] if op == "TopK" else []), **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)
                                            for n, x in zip(names, inputs)],
                              [helper.make_empty_tensor_value_info(o) for o in node.output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    with pytest.raises(ferry.FerryError, match=message):
        ferry.InferenceSession(model.SerializeToString()).run(None, dict(zip(names, inputs)))

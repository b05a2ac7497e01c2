"""Ferry's type and shape inference against onnx.shape_inference, op by op and opset by opset.

Each case builds a small model with onnx.helper; both engines infer every value, and
compare() checks that they agree: element types and ranks exactly, concrete dims exactly.
Where onnx leaves a dim symbolic or unknown, Ferry may give any symbol or expression, but if
onnx says a dim is one of the model's free input symbols ("N", "seq"), Ferry must say the same
symbol, never a number.

Ferry is reached through the bindings: _ferry.infer_types(model_bytes) returns
{value_name: (type_string, shape_list_or_None)}.
"""
import itertools

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ferry import _ferry  # a missing extension is an error, not a skip

NEWEST = onnx.defs.onnx_opset_version()
OPSETS = [7, 13, NEWEST]
F = TensorProto.FLOAT
I64 = TensorProto.INT64


def inp(name, shape, elem=F):
    return helper.make_tensor_value_info(name, elem, shape)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def ints(name, values):
    return init(name, np.array(values, dtype=np.int64))


def zeros(name, shape):
    return init(name, np.zeros(shape, dtype=np.float32))


class Case:
    def __init__(self, name, nodes, inputs, outputs, initializers=(), min_opset=1, max_opset=10**9):
        self.name, self.nodes, self.inputs, self.outputs = name, nodes, inputs, outputs
        self.initializers, self.min_opset, self.max_opset = list(initializers), min_opset, max_opset

    def model(self, opset):
        graph = helper.make_graph(self.nodes, self.name, self.inputs,
                                  [helper.make_empty_tensor_value_info(o) for o in self.outputs],
                                  initializer=self.initializers)
        ir = max(helper.find_min_ir_version_for([helper.make_opsetid("", opset)]), 7)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir)


def N(op, inputs, outputs, **attrs):
    return helper.make_node(op, inputs, outputs, name=f"{op}_{outputs[0]}", **attrs)


def axes_variant(op, x, out, axes, opset, tag):
    """Squeeze/Unsqueeze with axes as an attribute (opset < 13) or an input (13+)."""
    if opset < 13:
        return [N(op, [x], [out], axes=axes)], []
    return [N(op, [x, f"axes_{tag}"], [out])], [ints(f"axes_{tag}", axes)]


def cases(opset):
    X = inp("x", ["N", 3, 32, 32])
    out = []
    # Conv
    conv_w = [zeros("w", [8, 3, 3, 3]), zeros("b", [8])]
    out += [
        Case("conv_plain", [N("Conv", ["x", "w", "b"], ["y"])], [X], ["y"], conv_w),
        Case("conv_strided", [N("Conv", ["x", "w"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1])], [X], ["y"], conv_w),
        Case("conv_dilated", [N("Conv", ["x", "w"], ["y"], dilations=[2, 2], kernel_shape=[3, 3])], [X], ["y"], conv_w),
        Case("conv_same", [N("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", strides=[2, 2])], [X], ["y"], conv_w),
        Case("conv_valid", [N("Conv", ["x", "w"], ["y"], auto_pad="VALID", strides=[3, 3])], [X], ["y"], conv_w),
        Case("conv_group", [N("Conv", ["x", "wg"], ["y"], group=2)], [inp("x", ["N", 4, 9, 7])], ["y"],
             [zeros("wg", [6, 2, 3, 1])]),
        Case("conv_1d_sym", [N("Conv", ["x", "w1"], ["y"], pads=[1, 1])], [inp("x", ["N", 3, "L"])], ["y"],
             [zeros("w1", [5, 3, 3])]),
        Case("conv_3d", [N("Conv", ["x", "w3"], ["y"], strides=[1, 2, 2])], [inp("x", [1, 2, 5, 8, 8])], ["y"],
             [zeros("w3", [4, 2, 3, 3, 3])]),
    ]
    # Gemm / MatMul
    out += [
        Case("gemm", [N("Gemm", ["a", "b", "c"], ["y"])], [inp("a", ["M", 5])], ["y"], [zeros("b", [5, 7]), zeros("c", [7])]),
        Case("gemm_trans", [N("Gemm", ["a", "b", "c"], ["y"], transA=1, transB=1, alpha=2.0)], [inp("a", [5, "M"])], ["y"],
             [zeros("b", [7, 5]), zeros("c", [1])]),
        Case("matmul_3x2", [N("MatMul", ["a", "b"], ["y"])], [inp("a", ["B", "S", 64])], ["y"], [zeros("b", [64, 32])]),
        Case("matmul_vec_left", [N("MatMul", ["a", "b"], ["y"])], [inp("a", [64])], ["y"], [zeros("b", [64, 32])]),
        Case("matmul_vec_right", [N("MatMul", ["a", "b"], ["y"])], [inp("a", ["B", "S", 64])], ["y"], [zeros("b", [64])]),
        Case("matmul_batch_bcast", [N("MatMul", ["a", "b"], ["y"])], [inp("a", [2, 1, 3, 4]), inp("b", [5, 4, 6])], ["y"]),
    ]
    # Element-wise
    for op in ["Add", "Sub", "Mul", "Div"]:
        out += [
            Case(f"{op}_bcast", [N(op, ["a", "b"], ["y"])], [inp("a", ["N", 3, 1]), inp("b", [1, 4])], ["y"]),
            Case(f"{op}_same_sym", [N(op, ["a", "b"], ["y"])], [inp("a", ["N", "S"]), inp("b", ["N", "S"])], ["y"]),
            Case(f"{op}_scalar", [N(op, ["a", "b"], ["y"])], [inp("a", [2, 3]), inp("b", [])], ["y"]),
            Case(f"{op}_sym_vs_1", [N(op, ["a", "b"], ["y"])], [inp("a", ["N", 1]), inp("b", [1, "M"])], ["y"]),
            Case(f"{op}_int", [N(op, ["a", "b"], ["y"])], [inp("a", [4], I64), inp("b", [1], I64)], ["y"]),
        ]
    for op in ["Relu", "Sigmoid", "Tanh", "Identity"]:
        out.append(Case(f"{op}_unary", [N(op, ["a"], ["y"])], [inp("a", ["N", 3, 5])], ["y"]))
    out += [
        Case("softmax_default", [N("Softmax", ["a"], ["y"])], [inp("a", ["N", 10])], ["y"]),
        Case("softmax_axis", [N("Softmax", ["a"], ["y"], axis=1)], [inp("a", ["N", 4, 10])], ["y"]),
    ]
    # Pools
    out += [
        Case("maxpool", [N("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])], [X], ["y"]),
        Case("maxpool_same", [N("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")],
             [inp("x", ["N", 3, 15, 15])], ["y"]),
        Case("maxpool_indices", [N("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 2], strides=[2, 2])], [X], ["y", "i"],
             min_opset=8),
        Case("maxpool_ceil", [N("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)],
             [inp("x", ["N", 3, 16, 17])], ["y"], min_opset=10),
        Case("maxpool_ceil_pad", [N("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1],
                                    ceil_mode=1)], [inp("x", [1, 1, 5, 6])], ["y"], min_opset=10),
        Case("maxpool_dilated", [N("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], dilations=[2, 2])], [X], ["y"],
             min_opset=10),
        Case("avgpool", [N("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], count_include_pad=1,
                           pads=[0, 0, 1, 1])], [X], ["y"]),
        Case("avgpool_ceil", [N("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)],
             [inp("x", [2, 3, 10, 11])], ["y"], min_opset=10),
        Case("avgpool_1d_sym", [N("AveragePool", ["x"], ["y"], kernel_shape=[3])], [inp("x", ["N", 3, "L"])], ["y"]),
        Case("gap", [N("GlobalAveragePool", ["x"], ["y"])], [X], ["y"]),
        Case("gap_1d", [N("GlobalAveragePool", ["x"], ["y"])], [inp("x", ["N", 3, "L"])], ["y"]),
    ]
    bn_params = [zeros(n, [3]) for n in ("s", "bb", "m", "v")]
    out.append(Case("batchnorm", [N("BatchNormalization", ["x", "s", "bb", "m", "v"], ["y"])], [X], ["y"], bn_params))
    # Layout
    for axis in [0, 1, 2, 4]:
        out.append(Case(f"flatten_{axis}", [N("Flatten", ["x"], ["y"], axis=axis)], [inp("x", ["N", 3, 4, 5])], ["y"]))
    out.append(Case("flatten_neg", [N("Flatten", ["x"], ["y"], axis=-1)], [inp("x", ["N", 3, 4, 5])], ["y"], min_opset=11))
    out += [
        Case("reshape_0_m1", [N("Reshape", ["x", "s"], ["y"])], [inp("x", ["N", 4, 6])], ["y"], [ints("s", [0, -1])],
             min_opset=5),
        Case("reshape_m1", [N("Reshape", ["x", "s"], ["y"])], [inp("x", [2, 3, 4])], ["y"], [ints("s", [-1])]),
        Case("reshape_mid", [N("Reshape", ["x", "s"], ["y"])], [inp("x", [2, 3, 4])], ["y"], [ints("s", [2, -1, 4])]),
        Case("reshape_allowzero", [N("Reshape", ["x", "s"], ["y"], allowzero=1)], [inp("x", [0, 4])], ["y"],
             [ints("s", [4, 0])], min_opset=14),
        Case("transpose_default", [N("Transpose", ["x"], ["y"])], [inp("x", ["N", 3, 5])], ["y"]),
        Case("transpose_perm", [N("Transpose", ["x"], ["y"], perm=[0, 2, 3, 1])], [X], ["y"]),
        Case("concat_1", [N("Concat", ["a", "b"], ["y"], axis=1)], [inp("a", ["N", 3, 5]), inp("b", ["N", 4, 5])], ["y"]),
        Case("concat_neg", [N("Concat", ["a", "b", "c"], ["y"], axis=-1)],
             [inp("a", ["N", 2]), inp("b", ["N", 3]), inp("c", ["N", 1])], ["y"], min_opset=11),
        Case("concat_sym", [N("Concat", ["a", "b"], ["y"], axis=0)], [inp("a", ["S", 2]), inp("b", ["T", 2])], ["y"]),
    ]
    # Constants
    t = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "t")
    out += [
        Case("const_tensor", [N("Constant", [], ["y"], value=t)], [], ["y"]),
        Case("const_int_tensor", [N("Constant", [], ["y"], value=numpy_helper.from_array(np.array([1, 2], np.int64)))],
             [], ["y"], min_opset=9),
        Case("const_float", [N("Constant", [], ["y"], value_float=1.5)], [], ["y"], min_opset=12),
        Case("const_floats", [N("Constant", [], ["y"], value_floats=[1.0, 2.0])], [], ["y"], min_opset=12),
        Case("const_int", [N("Constant", [], ["y"], value_int=3)], [], ["y"], min_opset=12),
        Case("const_ints", [N("Constant", [], ["y"], value_ints=[3, 4, 5])], [], ["y"], min_opset=12),
        Case("const_string", [N("Constant", [], ["y"], value_string="hi")], [], ["y"], min_opset=12),
        Case("const_strings", [N("Constant", [], ["y"], value_strings=["a", "b"])], [], ["y"], min_opset=12),
    ]
    # Shape, Gather, Cast, Dropout
    out += [
        Case("shape", [N("Shape", ["x"], ["y"])], [X], ["y"]),
        Case("shape_slice", [N("Shape", ["x"], ["y"], start=1, end=-1)], [X], ["y"], min_opset=15),
        Case("gather_0", [N("Gather", ["d", "i"], ["y"])], [inp("d", ["N", 5, 6]), inp("i", [2, 3], I64)], ["y"]),
        Case("gather_1", [N("Gather", ["d", "i"], ["y"], axis=1)], [inp("d", ["N", 5, 6])], ["y"], [ints("i", 2)]),
        Case("cast_i64", [N("Cast", ["x"], ["y"], to=I64)], [X], ["y"]),
        Case("cast_f16", [N("Cast", ["x"], ["y"], to=TensorProto.FLOAT16)], [inp("x", ["N", 3], I64)], ["y"]),
        Case("dropout", [N("Dropout", ["x"], ["y"])], [X], ["y"]),
        Case("dropout_mask", [N("Dropout", ["x"], ["y", "mask"])], [X], ["y", "mask"]),
    ]
    # Squeeze / Unsqueeze
    nodes, inits = axes_variant("Squeeze", "x", "y", [0, 3], opset, "s")
    out.append(Case("squeeze", nodes, [inp("x", [1, "N", 3, 1])], ["y"], inits))
    nodes, inits = axes_variant("Unsqueeze", "x", "y", [0, 3], opset, "u")
    out.append(Case("unsqueeze", nodes, [inp("x", ["N", 3])], ["y"], inits))
    out.append(Case("squeeze_all", [N("Squeeze", ["x"], ["y"])], [inp("x", [1, 3, 1, 2])], ["y"]))
    if opset >= 11:
        nodes, inits = axes_variant("Unsqueeze", "x", "y", [-1], opset, "n")
        out.append(Case("unsqueeze_neg", nodes, [inp("x", ["N", 3])], ["y"], inits))
    # Shape -> Gather -> Unsqueeze -> Concat -> Reshape
    chain = [N("Shape", ["x"], ["shp"]), N("Gather", ["shp", "i0"], ["b0"]), N("Gather", ["shp", "i1"], ["s0"])]
    n1, i1 = axes_variant("Unsqueeze", "b0", "b1", [0], opset, "b")
    n2, i2 = axes_variant("Unsqueeze", "s0", "s1", [0], opset, "c")
    chain += n1 + n2 + [N("Concat", ["b1", "s1", "heads"], ["target"], axis=0), N("Reshape", ["x", "target"], ["y"])]
    out.append(Case("reshape_chain", chain, [inp("x", ["N", "S", 12])], ["y", "target"],
                    [init("i0", np.array(0, np.int64)), init("i1", np.array(1, np.int64)), ints("heads", [3, -1])] + i1 + i2,
                    min_opset=5))
    return [c for c in out if c.min_opset <= opset <= c.max_opset]


def onnx_types(model):
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    out = {}
    g = inferred.graph
    for vi in itertools.chain(g.input, g.value_info, g.output):
        out[vi.name] = vi.type
    free = set()
    for vi in model.graph.input:
        for d in vi.type.tensor_type.shape.dim:
            if d.HasField("dim_param"):
                free.add(d.dim_param)
    return out, free


def compare(case, opset, ours, theirs, free):
    where = f"{case.name} at opset {opset}"
    for name, tp in theirs.items():
        if not tp.HasField("tensor_type") or tp.tensor_type.elem_type == 0:
            continue
        assert name in ours, f"{where}: Ferry has no type for '{name}'"
        type_string, shape = ours[name]
        want = "tensor(" + TensorProto.DataType.Name(tp.tensor_type.elem_type).lower() + ")"
        assert type_string == want, f"{where}: '{name}' is {type_string}, onnx says {want}"
        if not tp.tensor_type.HasField("shape"):
            continue
        dims = list(tp.tensor_type.shape.dim)
        assert shape is not None, f"{where}: '{name}' has no shape, onnx gives rank {len(dims)}"
        assert len(shape) == len(dims), f"{where}: '{name}' has shape {shape}, onnx gives rank {len(dims)}"
        for k, (mine, d) in enumerate(zip(shape, dims)):
            if d.HasField("dim_value"):
                assert mine == d.dim_value, f"{where}: '{name}' dim {k} is {mine}, onnx says {d.dim_value}"
            elif d.HasField("dim_param") and d.dim_param in free:
                assert mine == d.dim_param, f"{where}: '{name}' dim {k} is {mine!r}, onnx says {d.dim_param!r}"


@pytest.mark.parametrize("opset", OPSETS)
def test_matches_onnx(opset):
    checked = 0
    failures = []
    for case in cases(opset):
        model = case.model(opset)
        theirs, free = onnx_types(model)
        ours = _ferry.infer_types(model.SerializeToString())
        try:
            compare(case, opset, ours, theirs, free)
        except AssertionError as e:
            failures.append(str(e))
        checked += 1
    assert checked > 40
    assert not failures, "\n".join(failures)


def test_reshape_chain_is_exact():
    model = [c for c in cases(13) if c.name == "reshape_chain"][0].model(13)
    ours = _ferry.infer_types(model.SerializeToString())
    assert ours["y"] == ("tensor(float)", ["N", "S", 3, 4])

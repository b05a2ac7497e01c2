"""ONNX -> Ferry IR -> ONNX round trips through `_ferry.load_and_serialize`.

Each model is built with onnx.helper, checked by onnx.checker before Ferry sees it (so a
failure afterwards is the importer's or exporter's), exported by Ferry, checked again with
full_check, and compared with the original: op types in order, initializers by value
(sparse ones densified), metadata. Model-local functions are inlined by Ferry, so that case
is compared with onnx's own inliner.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnx.inliner
import pytest
from onnx import TensorProto, helper, numpy_helper

from ferry import _ferry  # a missing extension is an error, not a skip

RNG = np.random.default_rng(0)


def _f32(*shape) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def cnn_model() -> onnx.ModelProto:
    inits = [
        numpy_helper.from_array(_f32(8, 3, 3, 3), "conv1.W"),
        numpy_helper.from_array(_f32(8), "conv1.B"),
        numpy_helper.from_array(_f32(8), "bn.scale"),
        numpy_helper.from_array(_f32(8), "bn.bias"),
        numpy_helper.from_array(_f32(8), "bn.mean"),
        numpy_helper.from_array(np.abs(_f32(8)) + 0.5, "bn.var"),
        numpy_helper.from_array(_f32(8 * 4 * 4, 10), "fc.W"),
        numpy_helper.from_array(_f32(10), "fc.B"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv1.W", "conv1.B"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["b1"],
                         name="bn1", epsilon=1e-5),
        helper.make_node("Relu", ["b1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p1"], ["f1"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f1", "fc.W", "fc.B"], ["logits"], name="fc"),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 10])],
        inits,
        value_info=[helper.make_tensor_value_info("c1", TensorProto.FLOAT, ["N", 8, 8, 8])],
        doc_string="a small CNN")
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="pytest",
                              producer_version="1.0", doc_string="model doc", model_version=4)
    helper.set_model_props(model, {"author": "ferry", "task": "classification"})
    return model


def control_flow_model() -> onnx.ModelProto:
    then_g = helper.make_graph(
        [helper.make_node("Mul", ["sq", "x"], ["t"], name="then_mul")], "then", [],
        [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2])])
    else_g = helper.make_graph(
        [helper.make_node("Sub", ["sq", "x"], ["e"], name="else_sub")], "else", [],
        [helper.make_tensor_value_info("e", TensorProto.FLOAT, [2])])
    body = helper.make_graph(
        [helper.make_node("Add", ["acc", "step"], ["acc2"]), helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc2", TensorProto.FLOAT, [2])])
    nodes = [
        helper.make_node("Mul", ["x", "x"], ["sq"], name="square"),
        helper.make_node("If", ["cond"], ["y"], name="if1", then_branch=then_g, else_branch=else_g),
        helper.make_node("Loop", ["n", "", "y"], ["out"], name="loop1", body=body),
    ]
    graph = helper.make_graph(
        nodes, "control_flow",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("n", TensorProto.INT64, []),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2])],
        [numpy_helper.from_array(np.array([0.5, 1.5], np.float32), "step")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)])


def function_model() -> onnx.ModelProto:
    # Inner(A) -> B = A * k   (k: attribute with default 3.0)
    inner = helper.make_function(
        "local", "Inner", ["A"], ["B"],
        [_ref_node("Constant", [], ["K"], "value_float", "k", onnx.AttributeProto.FLOAT),
         helper.make_node("Mul", ["A", "K"], ["B"])],
        [helper.make_opsetid("", 17)],
        attributes=[],
        attribute_protos=[helper.make_attribute("k", 3.0)])
    # Outer(X) -> Y = Inner(LeakyRelu(X, alpha=@alpha))
    outer = helper.make_function(
        "local", "Outer", ["X"], ["Y"],
        [_ref_node("LeakyRelu", ["X"], ["T"], "alpha", "alpha", onnx.AttributeProto.FLOAT),
         helper.make_node("Inner", ["T"], ["Y"], domain="local")],
        [helper.make_opsetid("", 17), helper.make_opsetid("local", 1)],
        attributes=["alpha"])
    graph = helper.make_graph(
        [helper.make_node("Outer", ["x"], ["h"], name="call1", domain="local", alpha=0.2),
         helper.make_node("Outer", ["h"], ["y"], name="call2", domain="local", alpha=0.1)],
        "functions",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])])
    return helper.make_model(graph, functions=[outer, inner],
                             opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)])


def _ref_node(op, inputs, outputs, attr_name, ref_name, attr_type) -> onnx.NodeProto:
    node = helper.make_node(op, inputs, outputs)
    attr = onnx.AttributeProto()
    attr.name = attr_name
    attr.ref_attr_name = ref_name
    attr.type = attr_type
    node.attribute.append(attr)
    return node


def sparse_and_float16_model() -> onnx.ModelProto:
    h_raw = numpy_helper.from_array(np.array([[1, -2, 0.5], [0, 4, 8]], np.float16), "H_raw")
    h_typed = helper.make_tensor("H_typed", TensorProto.FLOAT16, [2, 3],
                                 np.array([1, 2, 3, 4, 5, 6], np.float16))  # int32_data bits
    bf = helper.make_tensor("BF", TensorProto.BFLOAT16, [2], [1.0, -2.0])
    values = numpy_helper.from_array(np.array([2.5, -1.0], np.float32), "S")
    indices = numpy_helper.from_array(np.array([1, 5], np.int64), "S_indices")
    sparse = helper.make_sparse_tensor(values, indices, [2, 3])
    nodes = [
        helper.make_node("Add", ["x", "H_raw"], ["a"]),
        helper.make_node("Mul", ["a", "H_typed"], ["m"]),
        helper.make_node("Cast", ["m"], ["y"], to=TensorProto.FLOAT),
        helper.make_node("Identity", ["BF"], ["bf_out"]),
    ]
    graph = helper.make_graph(
        nodes, "mixed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("bf_out", TensorProto.BFLOAT16, [2])],
        [h_raw, h_typed, bf],
        sparse_initializer=[sparse])  # unused: onnx types it sparse_tensor, which no standard op takes
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


MODELS = {
    "cnn": cnn_model,
    "control_flow": control_flow_model,
    "function": function_model,
    "sparse_and_float16": sparse_and_float16_model,
}


def _dense_initializers(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    out = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for sp in graph.sparse_initializer:
        dense = np.zeros(list(sp.dims), dtype=helper.tensor_dtype_to_np_dtype(sp.values.data_type))
        idx = numpy_helper.to_array(sp.indices)
        vals = numpy_helper.to_array(sp.values)
        if idx.ndim == 1:
            dense.reshape(-1)[idx] = vals
        else:
            dense[tuple(idx.T)] = vals
        out[sp.values.name] = dense
    return out


def _op_types(graph: onnx.GraphProto) -> list[str]:
    return [n.op_type for n in graph.node]


def _roundtrip(model: onnx.ModelProto) -> onnx.ModelProto:
    onnx.checker.check_model(model, full_check=True)
    out = onnx.load_from_string(_ferry.load_and_serialize(model.SerializeToString()))
    onnx.checker.check_model(out, full_check=True)
    return out


@pytest.mark.parametrize("name", sorted(MODELS))
def test_roundtrip_passes_checker_and_keeps_content(name):
    original = MODELS[name]()
    out = _roundtrip(original)
    expected = onnx.inliner.inline_local_functions(original) if original.functions else original
    assert _op_types(out.graph) == _op_types(expected.graph)
    assert len(out.functions) == 0
    a, b = _dense_initializers(expected.graph), _dense_initializers(out.graph)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert [(i.name, i.type) for i in out.graph.input] == [(i.name, i.type) for i in original.graph.input]
    assert [o.name for o in out.graph.output] == [o.name for o in original.graph.output]
    # A second trip changes nothing.
    assert _ferry.load_and_serialize(out.SerializeToString()) == out.SerializeToString()


def test_metadata_and_docs_survive():
    out = _roundtrip(cnn_model())
    assert {p.key: p.value for p in out.metadata_props} == {"author": "ferry", "task": "classification"}
    assert out.producer_name == "pytest"
    assert out.producer_version == "1.0"
    assert out.model_version == 4
    assert out.doc_string == "model doc"
    assert out.graph.doc_string == "a small CNN"
    assert [n.name for n in out.graph.node][:2] == ["conv1", "bn1"]
    conv = out.graph.node[0]
    assert helper.get_attribute_value(conv.attribute[0]) == [1, 1, 1, 1]
    # The declared intermediate type is kept.
    c1 = [vi for vi in out.graph.value_info if vi.name == "c1"]
    assert c1 and [d.dim_param or d.dim_value for d in c1[0].type.tensor_type.shape.dim] == ["N", 8, 8, 8]


def test_subgraphs_keep_outer_scope_references():
    out = _roundtrip(control_flow_model())
    if_node = next(n for n in out.graph.node if n.op_type == "If")
    then_g = next(a.g for a in if_node.attribute if a.name == "then_branch")
    assert list(then_g.node[0].input) == ["sq", "x"]
    loop = next(n for n in out.graph.node if n.op_type == "Loop")
    assert list(loop.input) == ["n", "", "y"]
    body = next(a.g for a in loop.attribute if a.name == "body")
    assert list(body.node[0].input) == ["acc", "step"]


def test_functions_are_inlined_with_attribute_values():
    out = _roundtrip(function_model())
    assert {o.domain for o in out.opset_import} == {""}
    alphas = [n.attribute[0].f for n in out.graph.node if n.op_type == "LeakyRelu"]
    assert alphas == pytest.approx([0.2, 0.1])
    ks = [n.attribute[0].f for n in out.graph.node if n.op_type == "Constant"]
    assert ks == [3.0, 3.0]
    names = [o for n in out.graph.node for o in n.output]
    assert len(names) == len(set(names))


def test_sparse_initializer_is_written_back_sparse():
    out = _roundtrip(sparse_and_float16_model())
    assert [s.values.name for s in out.graph.sparse_initializer] == ["S"]
    assert "S" not in {t.name for t in out.graph.initializer}
    np.testing.assert_array_equal(_dense_initializers(out.graph)["S"],
                                  np.array([[0, 2.5, 0], [0, 0, -1.0]], np.float32))


def test_outputs_match_onnx_reference_evaluator():
    from onnx.reference import ReferenceEvaluator

    original = cnn_model()
    out = _roundtrip(original)
    x = _f32(2, 3, 8, 8)
    want = ReferenceEvaluator(original).run(None, {"x": x})[0]
    got = ReferenceEvaluator(out).run(None, {"x": x})[0]
    np.testing.assert_array_equal(want, got)

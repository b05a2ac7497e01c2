"""Control flow (If, Loop, Scan, SequenceMap) and sequence / optional ops, run by Ferry and by
onnxruntime on whole small models: subgraphs reading outer-scope values, nested bodies,
loop-carried sequences, scan axes and directions. Sequences come back as lists of arrays and
optionals as None or their value, as onnxruntime returns them."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as TP
from onnx import helper as h

import ferry

F = TP.FLOAT
I64 = TP.INT64
B = TP.BOOL


def _vi(name, elem, shape=None):
    return h.make_tensor_value_info(name, elem, shape)


def _seq_vi(name, elem, shape=None):
    return h.make_tensor_sequence_value_info(name, elem, shape)


def _opt_vi(name, type_proto):
    return h.make_value_info(name, h.make_optional_type_proto(type_proto))


def _const(name, value):
    return h.make_node("Constant", [], [name], value=onnx.numpy_helper.from_array(np.asarray(value), name + "_v"))


def _model(nodes, inputs, outputs, opset=17, inits=()):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], ir_version=8)
    return m.SerializeToString()


def _compare(model: bytes, feeds: dict, ref=None):
    got = ferry.InferenceSession(model).run(None, feeds)
    if ref is None:
        ref = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feeds)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        _same(g, r)
    return got


def _same(g, r):
    if r is None:
        assert g is None
    elif isinstance(r, list):
        assert isinstance(g, list) and len(g) == len(r)
        for a, b in zip(g, r):
            _same(a, b)
    else:
        r = np.asarray(r)
        assert g.dtype == r.dtype and g.shape == r.shape, (g.dtype, g.shape, r.dtype, r.shape)
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)


# ---- If ---------------------------------------------------------------------------------------

def if_model(opset=13):
    # then: x + y (outer x, outer y); else: x * 2 (nested If on x's sum inside)
    then_g = h.make_graph([h.make_node("Add", ["x", "y"], ["t"])], "then", [], [_vi("t", F, None)])
    inner_then = h.make_graph([h.make_node("Neg", ["x"], ["it"])], "ithen", [], [_vi("it", F, None)])
    inner_else = h.make_graph([h.make_node("Mul", ["x", "two"], ["ie"])], "ielse", [], [_vi("ie", F, None)])
    else_g = h.make_graph([
        h.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
        h.make_node("Greater", ["s", "zero"], ["pos"]),
        h.make_node("If", ["pos"], ["e"], then_branch=inner_then, else_branch=inner_else),
    ], "else", [], [_vi("e", F, None)])
    nodes = [_const("two", np.float32(2)), _const("zero", np.float32(0)),
             h.make_node("If", ["c"], ["out"], then_branch=then_g, else_branch=else_g)]
    return _model(nodes, [_vi("c", B, []), _vi("x", F, [2, 3]), _vi("y", F, [2, 3])], [_vi("out", F, None)], opset)


@pytest.mark.parametrize("cond", [True, False])
@pytest.mark.parametrize("sign", [1, -1])
def test_if_outer_scope_and_nested(cond, sign):
    rng = np.random.default_rng(0)
    x = (np.abs(rng.standard_normal((2, 3))) * sign).astype(np.float32)
    y = rng.standard_normal((2, 3)).astype(np.float32)
    _compare(if_model(), {"c": np.array(cond), "x": x, "y": y})


def test_if_sequence_output():
    then_g = h.make_graph([h.make_node("SequenceConstruct", ["x", "x"], ["s"])], "then", [], [_seq_vi("s", F)])
    else_g = h.make_graph([h.make_node("SequenceConstruct", ["x"], ["s2"])], "else", [], [_seq_vi("s2", F)])
    m = _model([h.make_node("If", ["c"], ["out"], then_branch=then_g, else_branch=else_g)],
               [_vi("c", B, []), _vi("x", F, [2])], [_seq_vi("out", F)], 13)
    for c in (True, False):
        _compare(m, {"c": np.array(c), "x": np.array([1, 2], np.float32)})


# ---- Loop -------------------------------------------------------------------------------------

def loop_model(with_m=True, with_cond=True):
    # carried: acc (float[2]) += x * i ; scan output: acc ; stop when i == stop_at
    body = h.make_graph([
        h.make_node("Cast", ["i"], ["fi"], to=F),
        h.make_node("Mul", ["x", "fi"], ["xi"]),
        h.make_node("Add", ["acc_in", "xi"], ["acc_out"]),
        h.make_node("Less", ["i", "stop_at"], ["cond_out"]),
        h.make_node("Identity", ["acc_out"], ["scan_out"]),
    ], "body", [_vi("i", I64, []), _vi("cond_in", B, []), _vi("acc_in", F, [2])],
        [_vi("cond_out", B, []), _vi("acc_out", F, [2]), _vi("scan_out", F, [2])])
    node = h.make_node("Loop", ["M" if with_m else "", "cond" if with_cond else "", "acc0"], ["acc", "scan"], body=body)
    inputs = [_vi("x", F, [2]), _vi("stop_at", I64, []), _vi("acc0", F, [2])]
    if with_m:
        inputs.append(_vi("M", I64, []))
    if with_cond:
        inputs.append(_vi("cond", B, []))
    return _model([node], inputs, [_vi("acc", F, [2]), _vi("scan", F, [None, 2])], 13)


@pytest.mark.parametrize("m,stop,cond", [(5, 100, True), (5, 2, True), (0, 100, True), (5, 100, False), (None, 3, True),
                                         (3, 100, None)])
def test_loop(m, stop, cond):
    model = loop_model(m is not None, cond is not None)
    feeds = {"x": np.array([1.5, -2], np.float32), "stop_at": np.array(stop, np.int64),
             "acc0": np.array([0.5, 1], np.float32)}
    if m is not None:
        feeds["M"] = np.array(m, np.int64)
    if cond is not None:
        feeds["cond"] = np.array(cond)
    _compare(model, feeds)


def test_loop_sequence_carried_and_growing_shapes():
    # carried: a sequence gets one tensor of growing length per iteration; a tensor grows too.
    body = h.make_graph([
        h.make_node("Add", ["i", "one"], ["n"]),
        h.make_node("Unsqueeze", ["n", "axes0"], ["n1"]),
        h.make_node("Expand", ["x", "n1"], ["row"]),
        h.make_node("SequenceInsert", ["seq_in", "row"], ["seq_out"]),
        h.make_node("Concat", ["grow_in", "row"], ["grow_out"], axis=0),
        h.make_node("Identity", ["cond_in"], ["cond_out"]),
    ], "body", [_vi("i", I64, []), _vi("cond_in", B, []), _seq_vi("seq_in", F), _vi("grow_in", F, [None])],
        [_vi("cond_out", B, []), _seq_vi("seq_out", F), _vi("grow_out", F, [None])])
    nodes = [_const("one", np.int64(1)), _const("axes0", np.array([0], np.int64)),
             h.make_node("SequenceEmpty", [], ["seq0"], dtype=F),
             h.make_node("Loop", ["M", "", "seq0", "g0"], ["seq", "grow"], body=body)]
    model = _model(nodes, [_vi("M", I64, []), _vi("x", F, [1]), _vi("g0", F, [1])],
                   [_seq_vi("seq", F), _vi("grow", F, [None])], 13)
    for m in (0, 1, 4):
        _compare(model, {"M": np.array(m, np.int64), "x": np.array([2.5], np.float32), "g0": np.array([7], np.float32)})


def test_loop_nested_reads_outer_values():
    inner = h.make_graph([
        h.make_node("Add", ["a_in", "w"], ["a_out"]),   # w: main-graph value, two levels up
        h.make_node("Identity", ["c_in"], ["c_out"]),
    ], "inner", [_vi("j", I64, []), _vi("c_in", B, []), _vi("a_in", F, [3])], [_vi("c_out", B, []), _vi("a_out", F, [3])])
    outer = h.make_graph([
        h.make_node("Loop", ["K", "", "b_in"], ["b_mid"], body=inner),
        h.make_node("Mul", ["b_mid", "scale"], ["b_out"]),
        h.make_node("Identity", ["c_in"], ["c_out"]),
    ], "outer", [_vi("i", I64, []), _vi("c_in", B, []), _vi("b_in", F, [3])], [_vi("c_out", B, []), _vi("b_out", F, [3])])
    nodes = [h.make_node("Loop", ["M", "", "b0"], ["b"], body=outer)]
    model = _model(nodes, [_vi("M", I64, []), _vi("K", I64, []), _vi("b0", F, [3]), _vi("w", F, [3]),
                           _vi("scale", F, [])], [_vi("b", F, [3])], 13)
    rng = np.random.default_rng(2)
    _compare(model, {"M": np.array(3, np.int64), "K": np.array(2, np.int64),
                     "b0": rng.standard_normal(3).astype(np.float32), "w": rng.standard_normal(3).astype(np.float32),
                     "scale": np.array(0.5, np.float32)})


# ---- Scan -------------------------------------------------------------------------------------

def scan_model(opset, axes=None, dirs=None, out_axes=None, out_dirs=None, x_shape=(3, 2)):
    body = h.make_graph([
        h.make_node("Add", ["s_in", "x_t"], ["s_out"]),
        h.make_node("Mul", ["x_t", "k"], ["y_t"]),   # k: outer scope
    ], "body", [_vi("s_in", F, [2]), _vi("x_t", F, [2])], [_vi("s_out", F, [2]), _vi("y_t", F, [2])])
    attrs = {"num_scan_inputs": 1}
    if axes is not None:
        attrs["scan_input_axes"] = axes
    if dirs is not None:
        attrs["scan_input_directions"] = dirs
    if out_axes is not None:
        attrs["scan_output_axes"] = out_axes
    if out_dirs is not None:
        attrs["scan_output_directions"] = out_dirs
    node = h.make_node("Scan", ["s0", "x"], ["s", "y"], body=body, **attrs)
    return _model([node], [_vi("s0", F, [2]), _vi("x", F, list(x_shape)), _vi("k", F, [])],
                  [_vi("s", F, None), _vi("y", F, None)], opset)


@pytest.mark.parametrize("axes,dirs,out_axes,out_dirs,shape", [
    (None, None, None, None, (3, 2)), ([0], [1], None, None, (3, 2)), ([1], None, None, None, (2, 4)),
    ([-1], [1], [1], [1], (2, 4)), (None, None, [-1], None, (5, 2))])
def test_scan(axes, dirs, out_axes, out_dirs, shape):
    model = scan_model(16, axes, dirs, out_axes, out_dirs, shape)
    rng = np.random.default_rng(3)
    _compare(model, {"s0": np.ones(2, np.float32), "x": rng.standard_normal(shape).astype(np.float32),
                     "k": np.array(3, np.float32)})


def test_scan_of_length_zero():
    # onnxruntime fails on an empty scan axis; the spec's answer: states unchanged, empty outputs
    model = scan_model(16, None, None, None, None, (0, 2))
    feeds = {"s0": np.ones(2, np.float32), "x": np.zeros((0, 2), np.float32), "k": np.array(3, np.float32)}
    _compare(model, feeds, ref=[np.ones(2, np.float32), np.zeros((0, 2), np.float32)])


def test_scan_opset8_batch_and_sequence_lens():
    body = h.make_graph([h.make_node("Add", ["s_in", "x_t"], ["s_out"]), h.make_node("Identity", ["s_out"], ["y_t"])],
                        "body", [_vi("s_in", F, [2]), _vi("x_t", F, [2])], [_vi("s_out", F, [2]), _vi("y_t", F, [2])])
    node = h.make_node("Scan", ["lens", "s0", "x"], ["s", "y"], body=body, num_scan_inputs=1, directions=[0])
    model = _model([node], [_vi("lens", I64, [2]), _vi("s0", F, [2, 2]), _vi("x", F, [2, 3, 2])],
                   [_vi("s", F, [2, 2]), _vi("y", F, [2, 3, 2])], 8)
    x = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    s0 = np.zeros((2, 2), np.float32)
    got = ferry.InferenceSession(model).run(None, {"lens": np.array([3, 2], np.int64), "s0": s0, "x": x})
    # batch 1 stops after 2 steps; its scan output is zero past that
    want_s = np.stack([x[0].sum(0), x[1, :2].sum(0)])
    want_y = np.stack([np.cumsum(x[0], 0), np.concatenate([np.cumsum(x[1, :2], 0), np.zeros((1, 2), np.float32)])])
    np.testing.assert_allclose(got[0], want_s)
    np.testing.assert_allclose(got[1], want_y)


# ---- sequences and optionals ------------------------------------------------------------------

def test_sequence_ops():
    nodes = [
        h.make_node("SequenceConstruct", ["a", "b"], ["s1"]),
        h.make_node("SequenceInsert", ["s1", "c", "pos0"], ["s2"]),
        h.make_node("SequenceErase", ["s2", "neg1"], ["s3"]),
        h.make_node("SequenceAt", ["s3", "neg1"], ["at"]),
        h.make_node("SequenceLength", ["s3"], ["n"]),
        h.make_node("ConcatFromSequence", ["s3"], ["cat"], axis=0),
        h.make_node("ConcatFromSequence", ["s3"], ["stk"], axis=-1, new_axis=1),
    ]
    inits = [onnx.numpy_helper.from_array(np.array(0, np.int64), "pos0"),
             onnx.numpy_helper.from_array(np.array(-1, np.int64), "neg1")]
    model = _model(nodes, [_vi("a", F, [2, 3]), _vi("b", F, [2, 3]), _vi("c", F, [2, 3])],
                   [_seq_vi("s3", F), _vi("at", F, None), _vi("n", I64, []), _vi("cat", F, None), _vi("stk", F, None)],
                   inits=inits)
    rng = np.random.default_rng(4)
    _compare(model, {k: rng.standard_normal((2, 3)).astype(np.float32) for k in "abc"})


@pytest.mark.parametrize("split,axis,keepdims", [(None, 0, 1), (None, 1, 0), (np.array(2, np.int64), 1, 1),
                                                 (np.array([1, 3, 1], np.int64), 1, 1), (None, -1, 0)])
def test_split_to_sequence(split, axis, keepdims):
    inputs = ["x"] + (["split"] if split is not None else [])
    feeds_vi = [_vi("x", F, [2, 5])] + ([_vi("split", I64, list(split.shape))] if split is not None else [])
    model = _model([h.make_node("SplitToSequence", inputs, ["s"], axis=axis, keepdims=keepdims)], feeds_vi,
                   [_seq_vi("s", F)])
    feeds = {"x": np.arange(10, dtype=np.float32).reshape(2, 5)}
    if split is not None:
        feeds["split"] = split
    _compare(model, feeds)


def test_sequence_map_with_tensor_and_outer_inputs():
    body = h.make_graph([h.make_node("Add", ["e", "t"], ["o1"]), h.make_node("Shape", ["e"], ["o2"])], "body",
                        [_vi("e", F, [None]), _vi("t", F, [1])], [_vi("o1", F, [None]), _vi("o2", I64, [1])])
    model = _model([h.make_node("SequenceMap", ["s", "t"], ["r1", "r2"], body=body)],
                   [_seq_vi("s", F, [None]), _vi("t", F, [1])], [_seq_vi("r1", F), _seq_vi("r2", I64)])
    seq = [np.arange(n, dtype=np.float32) for n in (1, 3, 0)]
    got = ferry.InferenceSession(model).run(None, {"s": seq, "t": np.array([10], np.float32)})
    _same(got[0], [a + 10 for a in seq])
    _same(got[1], [np.array([len(a)], np.int64) for a in seq])


def test_optional_ops():
    tp = h.make_tensor_type_proto(F, [2])
    nodes = [
        h.make_node("Optional", ["x"], ["ox"]),
        h.make_node("Optional", [], ["none"], type=tp),
        h.make_node("OptionalHasElement", ["ox"], ["has_x"]),
        h.make_node("OptionalHasElement", ["none"], ["has_none"]),
        h.make_node("OptionalGetElement", ["ox"], ["got"]),
        h.make_node("OptionalHasElement", ["in_opt"], ["has_in"]),
    ]
    model = _model(nodes, [_vi("x", F, [2]), _opt_vi("in_opt", tp)],
                   [_vi("has_x", B, []), _vi("has_none", B, []), _vi("got", F, [2]), _vi("has_in", B, []),
                    _opt_vi("none", tp)], opset=18)
    x = np.array([1, 2], np.float32)
    for opt in (None, x):
        got = ferry.InferenceSession(model).run(None, {"x": x, "in_opt": opt})
        assert [bool(got[0]), bool(got[1]), bool(got[3])] == [True, False, opt is not None]
        np.testing.assert_array_equal(got[2], x)
        assert got[4] is None


def test_identity_sequence_and_optional():
    seq_tp = h.make_sequence_type_proto(h.make_tensor_type_proto(F, None))
    model = _model([h.make_node("Identity", ["s"], ["s_out"]), h.make_node("Identity", ["o"], ["o_out"])],
                   [_seq_vi("s", F), _opt_vi("o", seq_tp)], [_seq_vi("s_out", F), _opt_vi("o_out", seq_tp)], 16)
    seq = [np.ones((2, 2), np.float32), np.zeros(3, np.float32)]
    got = ferry.InferenceSession(model).run(None, {"s": seq, "o": seq})
    _same(got[0], seq)
    _same(got[1], seq)
    got = ferry.InferenceSession(model).run(None, {"s": [], "o": None})
    assert got[0] == [] and got[1] is None


def test_sequence_errors_are_clear():
    model = _model([h.make_node("SequenceAt", ["s", "p"], ["y"])], [_seq_vi("s", F), _vi("p", I64, [])], [_vi("y", F, None)])
    sess = ferry.InferenceSession(model)
    with pytest.raises(ferry.InvalidArgument, match=r"position 5 is out of range for a sequence of 2"):
        sess.run(None, {"s": [np.ones(1, np.float32)] * 2, "p": np.array(5, np.int64)})
    with pytest.raises(ferry.InvalidArgument, match="expected a list"):
        sess.run(None, {"s": np.ones(1, np.float32), "p": np.array(0, np.int64)})

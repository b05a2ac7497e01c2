"""The onnxruntime-compatible Python API, checked against onnxruntime itself on small models:
same outputs, same input/output descriptions; clear exceptions; zero-copy feeds that are never
modified; concurrent runs from Python threads; the internal helpers other tests rely on; and
the C++ example program."""

from __future__ import annotations

import gc
import os
import subprocess
import threading
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import ferry
from ferry import _ferry

REPO = Path(__file__).resolve().parents[2]


def _model(nodes, inputs, outputs, initializers=(), opset=13, opset_imports_extra=(), **kwargs) -> bytes:
    graph = helper.make_graph(nodes, "test_graph", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), *opset_imports_extra],
                              ir_version=10, **kwargs)
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def _vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def mlp_bytes() -> bytes:
    rng = np.random.default_rng(1)
    inits = [numpy_helper.from_array(rng.standard_normal((8, 16)).astype(np.float32), "W1"),
             numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "b1"),
             numpy_helper.from_array(rng.standard_normal((16, 5)).astype(np.float32), "W2"),
             numpy_helper.from_array(rng.standard_normal(5).astype(np.float32), "b2")]
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["h0"], name="mm1"),
             helper.make_node("Add", ["h0", "b1"], ["h1"], name="add1"),
             helper.make_node("Relu", ["h1"], ["h2"], name="relu"),
             helper.make_node("Gemm", ["h2", "W2", "b2"], ["logits"], name="gemm"),
             helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1)]
    return _model(nodes, [_vi("x", TensorProto.FLOAT, ["batch", 8])],
                  [_vi("probs", TensorProto.FLOAT, ["batch", 5]), _vi("logits", TensorProto.FLOAT, ["batch", 5])],
                  inits, producer_name="ferry-tests", doc_string="a small MLP", domain="ai.ferry.test",
                  model_version=7)


def tensor_ops_bytes() -> bytes:
    """Two inputs of different types; Transpose, Reshape (a view), Concat, Gather, Cast."""
    inits = [numpy_helper.from_array(np.array([2, 6], np.int64), "shape"),
             numpy_helper.from_array(np.array([0, 2], np.int64), "idx")]
    nodes = [helper.make_node("Transpose", ["a"], ["at"], perm=[1, 0], name="t"),
             helper.make_node("Reshape", ["at", "shape"], ["ar"], name="reshape"),
             helper.make_node("Cast", ["b"], ["bf"], to=TensorProto.FLOAT, name="cast"),
             helper.make_node("Concat", ["ar", "bf"], ["cat"], axis=0, name="concat"),
             helper.make_node("Gather", ["cat", "idx"], ["picked"], axis=0, name="gather"),
             helper.make_node("Sigmoid", ["picked"], ["out"], name="sigmoid")]
    return _model(nodes, [_vi("a", TensorProto.FLOAT, [4, 3]), _vi("b", TensorProto.INT64, ["n", 6])],
                  [_vi("out", TensorProto.FLOAT, [2, 6]), _vi("cat", TensorProto.FLOAT, [None, 6])], inits)


def _feeds_for(sess, rng, dims=None):
    feeds = {}
    for arg in sess.get_inputs():
        shape = [d if isinstance(d, int) else (dims or {}).get(d, 3) for d in arg.shape]
        if arg.type == "tensor(float)":
            feeds[arg.name] = rng.standard_normal(shape).astype(np.float32)
        else:
            feeds[arg.name] = rng.integers(-5, 5, size=shape).astype(np.int64)
    return feeds


MODELS = {"mlp": mlp_bytes, "tensor_ops": tensor_ops_bytes}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_outputs_match_onnxruntime(name):
    model = MODELS[name]()
    ours = ferry.InferenceSession(model)
    ref = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for batch in (1, 4, 2):
        feeds = _feeds_for(ref, rng, {"batch": batch, "n": batch})
        got = ours.run(None, feeds)
        want = ref.run(None, feeds)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        # Named and reordered outputs.
        names = [o.name for o in ref.get_outputs()][::-1]
        for g, w in zip(ours.run(names, feeds), ref.run(names, feeds)):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_default_model_matches_onnxruntime(tmp_path, monkeypatch):
    monkeypatch.setenv("FERRY_CACHE_DIR", str(tmp_path))
    from ferry.default_model import ensure_default_model

    path, sample, classes = ensure_default_model()
    got = ferry.InferenceSession(path).run(None, {"image": sample})[0]
    want = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"image": sample})[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    assert classes[int(got.argmax())] == "triangle"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_inputs_and_outputs_describe_like_onnxruntime(name):
    model = MODELS[name]()
    ours, ref = ferry.InferenceSession(model), ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    for mine, theirs in ((ours.get_inputs(), ref.get_inputs()), (ours.get_outputs(), ref.get_outputs())):
        assert [a.name for a in mine] == [a.name for a in theirs]
        assert [a.type for a in mine] == [a.type for a in theirs]
        for a, b in zip(mine, theirs):
            assert len(a.shape) == len(b.shape)
            for x, y in zip(a.shape, b.shape):
                if isinstance(y, (int, str)):  # onnxruntime gives None for unnamed dims
                    assert x == y


def test_initializer_inputs_are_not_listed():
    init = numpy_helper.from_array(np.ones(3, np.float32), "w")
    model = _model([helper.make_node("Add", ["x", "w"], ["y"])],
                   [_vi("x", TensorProto.FLOAT, [3]), _vi("w", TensorProto.FLOAT, [3])],
                   [_vi("y", TensorProto.FLOAT, [3])], [init])
    ours, ref = ferry.InferenceSession(model), ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    assert [a.name for a in ours.get_inputs()] == [a.name for a in ref.get_inputs()] == ["x"]
    x = np.arange(3, dtype=np.float32)
    np.testing.assert_array_equal(ours.run(None, {"x": x})[0], x + 1)


def test_metadata_providers_and_options(tmp_path):
    model = mlp_bytes()
    meta, ref_meta = ferry.InferenceSession(model).get_modelmeta(), ort.InferenceSession(model).get_modelmeta()
    for field in ("producer_name", "graph_name", "domain", "description", "version", "custom_metadata_map"):
        assert getattr(meta, field) == getattr(ref_meta, field), field
    assert meta.producer_name == "ferry-tests" and meta.version == 7 and meta.domain == "ai.ferry.test"

    assert ferry.get_available_providers() == ["CPUExecutionProvider"]
    assert isinstance(ferry.__version__, str) and ferry.__version__.count(".") == 2

    opts = ferry.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.graph_optimization_level = ferry.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    sess = ferry.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
    assert sess.get_providers() == ["CPUExecutionProvider"]
    assert sess.get_session_options() is opts
    onnx.checker.check_model(onnx.load(opts.optimized_model_filepath))
    for level in ferry.GraphOptimizationLevel:
        assert int(level) == int(getattr(ort.GraphOptimizationLevel, level.name))
        opts.graph_optimization_level = level
        ferry.InferenceSession(model, opts)
    # (name, options) pairs are accepted as in onnxruntime.
    ferry.InferenceSession(model, providers=[("CPUExecutionProvider", {})])

    with pytest.raises(ferry.InvalidArgument, match="unknown execution provider 'CUDAExecutionProvider'; "
                                                    "this build has: CPUExecutionProvider"):
        ferry.InferenceSession(model, providers=["CUDAExecutionProvider"])


def test_errors_raise_clear_exceptions(tmp_path):
    sess = ferry.InferenceSession(mlp_bytes())
    x = np.zeros((2, 8), np.float32)
    with pytest.raises(ValueError, match=r"input 'x': expected float\[batch,8\], given double\[2,8\] "
                                         r"\(wrong element type\)") as info:
        sess.run(None, {"x": x.astype(np.float64)})
    assert isinstance(info.value, ferry.FerryError) and isinstance(info.value, RuntimeError)
    with pytest.raises(ferry.InvalidArgument, match=r"given float\[2,7\] \(dim 1 is 7, the model requires 8\)"):
        sess.run(None, {"x": np.zeros((2, 7), np.float32)})
    with pytest.raises(ferry.InvalidArgument, match=r"rank 3, expected rank 2"):
        sess.run(None, {"x": np.zeros((1, 2, 8), np.float32)})
    with pytest.raises(ferry.InvalidArgument, match=r"missing input 'x' \(float\[batch,8\]\)"):
        sess.run(None, {})
    with pytest.raises(ferry.InvalidArgument, match=r"unknown input 'y'; the model's inputs are 'x' float\[batch,8\]"):
        sess.run(None, {"x": x, "y": x})
    with pytest.raises(ferry.InvalidArgument, match=r"unknown output 'nope'"):
        sess.run(["nope"], {"x": x})
    with pytest.raises(ferry.InvalidArgument, match=r"has no ONNX equivalent"):
        sess.run(None, {"x": np.zeros((2, 8), dtype="datetime64[s]")})

    with pytest.raises(ferry.InvalidModel, match="not a valid ONNX model"):
        ferry.InferenceSession(b"not a model")
    missing = tmp_path / "missing.onnx"
    with pytest.raises(OSError, match="missing.onnx"):
        ferry.InferenceSession(str(missing))
    with pytest.raises(ferry.FerryError, match="no kernel for this op/opset/types in CPUExecutionProvider"):
        # An op of a domain no provider implements.
        ferry.InferenceSession(_model([helper.make_node("Frobnicate", ["x"], ["y"], name="weird",
                                                        domain="com.example.nowhere")],
                                      [_vi("x", TensorProto.FLOAT, [2])], [_vi("y", TensorProto.FLOAT, [2])],
                                      opset_imports_extra=[helper.make_opsetid("com.example.nowhere", 1)]))
    with pytest.raises(ferry.InvalidArgument, match="intra_op_num_threads"):
        opts = ferry.SessionOptions()
        opts.intra_op_num_threads = -1
        ferry.InferenceSession(mlp_bytes(), opts)
    # The session survives all of that.
    assert sess.run(None, {"x": x})[0].shape == (2, 5)


def test_zero_copy_inputs_are_never_modified_and_outputs_own_their_memory():
    model = _model([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Sigmoid", ["a"], ["b"]),
                    helper.make_node("Tanh", ["b"], ["y"]),
                    helper.make_node("Reshape", ["x", "flat"], ["xv"])],
                   [_vi("x", TensorProto.FLOAT, ["n", 4])],
                   [_vi("y", TensorProto.FLOAT, ["n", 4]), _vi("xv", TensorProto.FLOAT, [None])],
                   [numpy_helper.from_array(np.array([-1], np.int64), "flat")])
    unfused = ferry.SessionOptions()  # the planner's in-place reuse is under test: keep the chain
    unfused.graph_optimization_level = ferry.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ferry.InferenceSession(model, unfused)
    x = np.linspace(-3, 3, 4000, dtype=np.float32).reshape(1000, 4)
    before = x.copy()
    y, xv = sess.run(None, {"x": x})
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(y, np.tanh(1 / (1 + np.exp(-np.maximum(x, 0)))), rtol=1e-5, atol=1e-6)
    # A view of the caller's input that is an output is a copy, not an alias.
    assert not np.shares_memory(xv, x)
    xv[:] = 42
    np.testing.assert_array_equal(x, before)
    plan = sess.memory_plan({"x": [1000, 4]})
    assert plan["in_place_values"] >= 1

    # Non-contiguous and Fortran-ordered inputs are copied, with the same results.
    big = np.linspace(-1, 1, 8000, dtype=np.float32).reshape(1000, 8)
    strided = big[:, ::2]
    assert not strided.flags.c_contiguous
    np.testing.assert_allclose(sess.run(["y"], {"x": strided})[0], sess.run(["y"], {"x": strided.copy()})[0])
    np.testing.assert_allclose(sess.run(["y"], {"x": np.asfortranarray(x)})[0], y)

    # Outputs outlive the session and stay valid.
    del sess
    gc.collect()
    np.testing.assert_allclose(y, np.tanh(1 / (1 + np.exp(-np.maximum(before, 0)))), rtol=1e-5, atol=1e-6)
    assert y.flags.writeable


def test_dtypes_round_trip():
    import ml_dtypes

    def cast_model(src, dst, shape=(3,)):
        return _model([helper.make_node("Cast", ["a"], ["o"], to=dst)], [_vi("a", src, list(shape))],
                      [_vi("o", dst, list(shape))], opset=21)

    cases = [(TensorProto.FLOAT16, np.float16), (TensorProto.BOOL, np.bool_), (TensorProto.INT8, np.int8),
             (TensorProto.UINT16, np.uint16), (TensorProto.INT32, np.int32), (TensorProto.DOUBLE, np.float64),
             (TensorProto.BFLOAT16, ml_dtypes.bfloat16)]
    for elem, npdt in cases:
        a = np.array([1, 0, 3]).astype(npdt)
        (o,) = ferry.InferenceSession(cast_model(elem, TensorProto.FLOAT)).run(None, {"a": a})
        np.testing.assert_array_equal(o, a.astype(np.float32))
        (back,) = ferry.InferenceSession(cast_model(TensorProto.FLOAT, elem)).run(None, {"a": o})
        assert back.dtype == np.dtype(npdt)
        np.testing.assert_array_equal(back, a)

    strings = _model([helper.make_node("Identity", ["s"], ["o"])], [_vi("s", TensorProto.STRING, [3])],
                     [_vi("o", TensorProto.STRING, [3])])
    sess = ferry.InferenceSession(strings)
    for feed in (np.array(["a", "héllo", ""]), np.array(["a", "héllo", ""], dtype=object)):
        (o,) = sess.run(None, {"s": feed})
        assert o.dtype == object and o.tolist() == ["a", "héllo", ""]
    assert sess.get_inputs()[0].type == "tensor(string)"


def test_concurrent_runs_from_python_threads():
    model = mlp_bytes()
    sess = ferry.InferenceSession(model)
    ref = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(3)
    cases = [rng.standard_normal((b, 8)).astype(np.float32) for b in (1, 2, 3, 5, 8)]
    expected = [ref.run(["probs"], {"x": c})[0] for c in cases]
    failures = []

    def worker(t):
        try:
            for i in range(50):
                k = (t + i) % len(cases)
                (got,) = sess.run(["probs"], {"x": cases[k]})
                if not np.allclose(got, expected[k], rtol=1e-5, atol=1e-6):
                    failures.append((t, i))
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(repr(e))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert failures == []
    assert sess.cached_plan_count() == len(cases)


def test_plan_cache_is_bounded():
    opts = ferry.SessionOptions()
    opts.max_cached_plans = 3
    sess = ferry.InferenceSession(mlp_bytes(), opts)
    for b in range(1, 10):
        sess.run(None, {"x": np.ones((b, 8), np.float32)})
        assert sess.cached_plan_count() <= 3
    assert sess.cached_plan_count() == 3
    plan = sess.memory_plan({"x": [32, 8]})
    assert set(plan) == {"peak_bytes", "total_bytes", "planned_values", "dynamic_values", "in_place_values",
                         "view_values"}
    assert 0 < plan["peak_bytes"] <= plan["total_bytes"]


def test_internal_helpers():
    model = mlp_bytes()
    types = _ferry.infer_types(model)
    assert types["x"] == ("tensor(float)", ["batch", 8])
    assert types["h0"] == ("tensor(float)", ["batch", 16])
    assert types["probs"] == ("tensor(float)", ["batch", 5])
    assert types["W1"] == ("tensor(float)", [8, 16])
    again = onnx.load_model_from_string(_ferry.load_and_serialize(model))
    onnx.checker.check_model(again, full_check=True)
    assert [n.op_type for n in again.graph.node] == ["MatMul", "Add", "Relu", "Gemm", "Softmax"]
    text = _ferry.print_model(model)
    assert "MatMul" in text and "Softmax" in text


def test_cpp_example_runs(tmp_path):
    build = Path(os.environ.get("FERRY_BUILD_DIR", REPO / "build"))
    exe = build / "run_model"
    if not exe.exists():
        pytest.skip(f"{exe} not built (set FERRY_BUILD_DIR to the CMake build directory)")
    path = tmp_path / "mlp.onnx"
    path.write_bytes(mlp_bytes())
    r = subprocess.run([str(exe), str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "input  x: float[1,8]" in r.stdout
    assert "output probs: float[1,5] [" in r.stdout
    assert "output logits: float[1,5] [" in r.stdout
    bad = subprocess.run([str(exe), str(tmp_path / "nope.onnx")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "run_model: error:" in bad.stderr and "nope.onnx" in bad.stderr


# ---- sequences and optionals: lists of arrays and None, as onnxruntime takes and returns them --

def _seq_opt_model() -> bytes:
    seq_tp = helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, None))
    opt_tp = helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, [2]))
    nodes = [helper.make_node("SequenceInsert", ["s", "x"], ["s2"]),
             helper.make_node("SequenceLength", ["s2"], ["n"]),
             helper.make_node("OptionalHasElement", ["o"], ["has"]),
             helper.make_node("Identity", ["o"], ["o2"])]
    graph = helper.make_graph(nodes, "seq_opt", [helper.make_value_info("s", seq_tp), _vi("x", TensorProto.FLOAT, [2]),
                                                 helper.make_value_info("o", opt_tp)],
                              [helper.make_value_info("s2", seq_tp), _vi("n", TensorProto.INT64, []),
                               _vi("has", TensorProto.BOOL, []), helper.make_value_info("o2", opt_tp)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8).SerializeToString()


@pytest.mark.parametrize("opt", [None, np.array([3, 4], np.float32)])
@pytest.mark.parametrize("seq_len", [0, 2])
def test_sequence_and_optional_inputs_and_outputs_match_onnxruntime(opt, seq_len):
    model = _seq_opt_model()
    feeds = {"s": [np.full(k + 1, k, np.float32) for k in range(seq_len)], "x": np.array([1, 2], np.float32), "o": opt}
    got = ferry.InferenceSession(model).run(None, feeds)
    ref = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feeds)
    assert isinstance(got[0], list) and len(got[0]) == len(ref[0]) == seq_len + 1
    for g, r in zip(got[0], ref[0]):
        np.testing.assert_array_equal(g, r)
    assert int(got[1]) == int(ref[1]) and bool(got[2]) == bool(ref[2])
    if opt is None:
        assert got[3] is None and ref[3] is None
    else:
        np.testing.assert_array_equal(got[3], ref[3])
    sess = ferry.InferenceSession(model)
    assert [i.type for i in sess.get_inputs()] == ["seq(tensor(float))", "tensor(float)", "optional(tensor(float))"]


def test_sequence_input_given_an_array_is_a_clear_error():
    sess = ferry.InferenceSession(_seq_opt_model())
    with pytest.raises(ferry.InvalidArgument, match=r"input 's' is seq\(tensor\(float\)\): expected a list of arrays"):
        sess.run(None, {"s": np.ones(2, np.float32), "x": np.ones(2, np.float32), "o": None})

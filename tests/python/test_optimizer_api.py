"""The optimizer's surface: levels (ferry's enum, onnxruntime's enum, ints), disabled passes,
get_optimizer_report(), saving the optimized model (optimized_model_filepath), and the
`ferry optimize` / `--log-passes` command line. The passes themselves are tested in
tests/unit/test_optimizer_*.cc; the zoo at every level in tests/models."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import ferry
from ferry import _ferry

LEVELS = [ferry.GraphOptimizationLevel.ORT_DISABLE_ALL, ferry.GraphOptimizationLevel.ORT_ENABLE_BASIC,
          ferry.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, ferry.GraphOptimizationLevel.ORT_ENABLE_ALL]


def _pipeline(level: int) -> list[str]:
    return dict(_ferry.optimizer_pipeline())[int(level)]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A small transformer-ish block with things for every level to do: an Identity, a constant
    subexpression, MatMul + Add, GELU written with Erf, LayerNormalization written out."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((8, 8)).astype(np.float32) / 3, "w")
    b = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "b")
    half = numpy_helper.from_array(np.array(0.5, np.float32), "half")
    one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
    sqrt2 = numpy_helper.from_array(np.array(np.sqrt(2.0), np.float32), "sqrt2")
    eps = numpy_helper.from_array(np.array(1e-5, np.float32), "eps")
    two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    gamma = numpy_helper.from_array(np.linspace(0.5, 1.5, 8).astype(np.float32), "gamma")
    beta = numpy_helper.from_array(np.linspace(-0.1, 0.1, 8).astype(np.float32), "beta")
    nodes = [
        helper.make_node("Identity", ["x"], ["xi"], name="identity"),
        helper.make_node("MatMul", ["xi", "w"], ["mm"], name="matmul"),
        helper.make_node("Add", ["mm", "b"], ["h"], name="bias"),
        # GELU: 0.5 * h * (1 + erf(h / sqrt(2)))
        helper.make_node("Div", ["h", "sqrt2"], ["hd"], name="gelu_div"),
        helper.make_node("Erf", ["hd"], ["he"], name="gelu_erf"),
        helper.make_node("Add", ["he", "one"], ["h1"], name="gelu_add"),
        helper.make_node("Mul", ["h", "h1"], ["hm"], name="gelu_mul"),
        helper.make_node("Mul", ["hm", "half"], ["g"], name="gelu_half"),
        helper.make_node("Add", ["g", "x"], ["r"], name="residual"),
        # LayerNorm over the last axis, written out
        helper.make_node("ReduceMean", ["r"], ["mu"], axes=[-1], name="ln_mean"),
        helper.make_node("Sub", ["r", "mu"], ["d"], name="ln_sub"),
        helper.make_node("Pow", ["d", "two"], ["d2"], name="ln_pow"),
        helper.make_node("ReduceMean", ["d2"], ["var"], axes=[-1], name="ln_var"),
        helper.make_node("Add", ["var", "eps"], ["ve"], name="ln_eps"),
        helper.make_node("Sqrt", ["ve"], ["sd"], name="ln_sqrt"),
        helper.make_node("Div", ["d", "sd"], ["n"], name="ln_div"),
        helper.make_node("Mul", ["n", "gamma"], ["ng"], name="ln_gamma"),
        helper.make_node("Add", ["ng", "beta"], ["y"], name="ln_beta"),
    ]
    graph = helper.make_graph(nodes, "block", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 5, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 5, 8])],
                              [w, b, half, one, sqrt2, eps, two, gamma, beta])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    path = tmp_path_factory.mktemp("optimizer") / "block.onnx"
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def feeds():
    return {"x": np.random.default_rng(1).standard_normal((2, 5, 8)).astype(np.float32)}


@pytest.fixture(scope="module")
def expected(model_path, feeds):
    return onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]


def _session(path, level, **opts):
    so = ferry.SessionOptions()
    so.graph_optimization_level = level
    for k, v in opts.items():
        setattr(so, k, v)
    return ferry.InferenceSession(str(path), so)


@pytest.mark.parametrize("level", LEVELS, ids=lambda lv: lv.name)
def test_every_level_matches_onnxruntime_and_reports_its_pipeline(model_path, feeds, expected, level):
    sess = _session(model_path, level)
    np.testing.assert_allclose(sess.run(None, feeds)[0], expected, rtol=1e-4, atol=1e-5)
    passes = sess.get_optimizer_report()
    assert [p["name"] for p in passes] == _pipeline(level)
    report = sess.optimizer_report()
    assert report["passes"] == passes
    assert report["nodes_before"] == 18
    assert report["nodes_after"] == sess.model_info()["node_count"]
    for p in passes:
        assert set(p) == {"name", "ms", "nodes_before", "nodes_after", "changed_rounds"}
        assert p["ms"] >= 0 and 0 <= p["changed_rounds"] <= report["rounds"]
    if passes:
        assert passes[0]["nodes_before"] == report["nodes_before"]
        assert passes[-1]["nodes_after"] == report["nodes_after"]
        assert sum(p["ms"] for p in passes) <= report["total_ms"] + 1e-6
    else:
        assert report["rounds"] == 0 and report["nodes_after"] == report["nodes_before"]


def test_higher_levels_never_leave_more_nodes(model_path):
    # (not `all`: its kernel-layout choices may add nodes)
    counts = [_session(model_path, lv).optimizer_report()["nodes_after"] for lv in LEVELS[:3]]
    assert counts == sorted(counts, reverse=True), counts


@pytest.mark.parametrize("level", [onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL,
                                   onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                                   onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                                   onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL, 0, 1, 2, 99],
                         ids=str)
def test_level_accepts_onnxruntimes_enum_and_ints(model_path, level):
    sess = _session(model_path, level)
    assert [p["name"] for p in sess.get_optimizer_report()] == _pipeline(int(level))


@pytest.mark.parametrize("bad", [3, -1, "basic", None, 1.5, True])
def test_bad_level_is_invalid_argument(model_path, bad):
    with pytest.raises(ferry.InvalidArgument, match="graph_optimization_level"):
        _session(model_path, bad)


def test_unknown_disabled_pass_names_the_valid_ones(model_path):
    with pytest.raises(ferry.InvalidArgument, match=r"unknown optimizer pass 'no_such_pass'.*expand_functions"):
        _session(model_path, 99, disabled_passes=["no_such_pass"])
    with pytest.raises(ferry.InvalidArgument, match="unknown optimizer pass 'no_such_pass'"):
        ferry.InferenceSession(str(model_path), disabled_optimizers=["no_such_pass"])


def test_disabled_passes_are_passed_through(model_path, feeds, expected):
    names = _pipeline(99)
    # A lone string is one name, not a list of letters.
    _session(model_path, 99, disabled_passes="expand_functions")
    assert names, "level all has no passes"
    for off in ([names[0]], names):
        for sess in (_session(model_path, 99, disabled_passes=off),
                     ferry.InferenceSession(str(model_path), disabled_optimizers=off)):
            ran = [p["name"] for p in sess.get_optimizer_report()]
            assert ran == [n for n in names if n not in off]
            np.testing.assert_allclose(sess.run(None, feeds)[0], expected, rtol=1e-4, atol=1e-5)


def _ferry_ops(model) -> list[str]:
    return [n.op_type for n in model.graph.node if n.domain == "ferry"]


@pytest.mark.parametrize("level", LEVELS, ids=lambda lv: lv.name)
def test_saved_model_passes_the_checker_and_runs(model_path, feeds, expected, tmp_path, level):
    out = tmp_path / "opt.onnx"
    sess = _session(model_path, level, optimized_model_filepath=str(out))
    saved = onnx.load(str(out))
    onnx.checker.check_model(saved, full_check=True)
    assert len(saved.graph.node) == sess.optimizer_report()["nodes_after"]
    imports = {o.domain: o.version for o in saved.opset_import}
    fused = _ferry_ops(saved)
    # Ferry itself runs the saved file to the same result.
    np.testing.assert_allclose(ferry.InferenceSession(str(out)).run(None, feeds)[0], expected, rtol=1e-4, atol=1e-5)
    if level <= ferry.GraphOptimizationLevel.ORT_ENABLE_BASIC:
        assert not fused, f"ferry-domain ops at level {level.name}: {fused}"
    if fused:
        assert imports.get("ferry") == 1, imports
        with pytest.raises(onnx.checker.ValidationError):  # the import is what makes it valid
            broken = onnx.ModelProto()
            broken.CopyFrom(saved)
            del broken.opset_import[[o.domain for o in broken.opset_import].index("ferry")]
            onnx.checker.check_model(broken)
        return
    got = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_saving_to_a_missing_directory_is_a_file_error(model_path, tmp_path):
    with pytest.raises(ferry.FileError):
        _session(model_path, 1, optimized_model_filepath=str(tmp_path / "no" / "such" / "dir" / "m.onnx"))


# ---- command line ------------------------------------------------------------------------


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "ferry", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))


@pytest.mark.parametrize("level", ["disabled", "basic", "extended", "all"])
def test_cli_optimize_writes_the_model_and_logs_passes(model_path, feeds, expected, tmp_path, level):
    out = tmp_path / f"{level}.onnx"
    r = _cli("optimize", model_path, "-o", out, "--level", level, "--log-passes")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    number = {"disabled": 0, "basic": 1, "extended": 2, "all": 99}[level]
    report = _session(model_path, number).optimizer_report()
    lines = r.stdout.splitlines()
    assert lines[-1].startswith(f"{model_path}: 18 -> {report['nodes_after']} nodes at level {level} (")
    assert f"wrote {out}" in lines[-1]
    names = _pipeline(number)
    if names:
        assert lines[0].split() == ["pass", "ms", "nodes", "before", "nodes", "after", "changed", "rounds"]
        assert [ln.split()[0] for ln in lines[1:1 + len(names)]] == names
        assert lines[1 + len(names)].startswith(f"optimizer: 18 -> {report['nodes_after']} nodes in ")
    else:
        assert lines[0] == "optimizer: no passes at this level"
    saved = onnx.load(str(out))
    onnx.checker.check_model(saved)
    np.testing.assert_allclose(ferry.InferenceSession(str(out)).run(None, feeds)[0], expected, rtol=1e-4, atol=1e-5)


def test_cli_optimize_disable_pass(model_path, tmp_path):
    names = _pipeline(99)
    assert names, "level all has no passes"
    r = _cli("optimize", model_path, "-o", tmp_path / "o.onnx", "--disable-pass", names[0], "--log-passes")
    assert r.returncode == 0, r.stderr
    listed = [ln.split()[0] for ln in r.stdout.splitlines()[1:len(names)]]
    assert names[0] not in listed and listed == names[1:]


def test_cli_run_log_passes_and_level(model_path):
    r = _cli("run", model_path, "--level", "basic", "--log-passes")
    assert r.returncode == 0, r.stderr
    assert "output 'y': float32[1,5,8]" in r.stdout
    assert ("optimizer: 18 -> " in r.stdout) or ("optimizer: no passes at this level" in r.stdout)


@pytest.mark.parametrize("args,needle", [
    (["optimize", "missing.onnx", "-o", "out.onnx"], "missing.onnx: no such file"),
    (["optimize", "{model}", "-o", "out.onnx", "--disable-pass", "no_such_pass"], "unknown optimizer pass 'no_such_pass'"),
    (["optimize", "{model}", "-o", "{tmp}/no/dir/out.onnx"], "does not exist"),
    (["run", "{model}", "--disable-pass", "no_such_pass"], "unknown optimizer pass 'no_such_pass'"),
])
def test_cli_errors_are_one_line(model_path, tmp_path, args, needle):
    r = _cli(*[a.format(model=model_path, tmp=tmp_path) for a in args])
    assert r.returncode == 1
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ferry: error: ") and needle in err[0], r.stderr


def test_cli_optimize_needs_output_and_a_known_level(model_path):
    for args in (["optimize", model_path], ["optimize", model_path, "-o", "x.onnx", "--level", "max"]):
        r = _cli(*args)
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert r.stderr.strip().splitlines()[-1].startswith("ferry optimize: error: "), r.stderr

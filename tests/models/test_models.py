"""Model-level equivalence: every model-zoo recipe × exporter × opset that torch exports runs
in Ferry and matches onnxruntime and PyTorch within the recipe's tolerance, at batch 1 and 3
(text and sequence models: at two sequence lengths too).

Size: $FERRY_ZOO_SIZE (default "smoke"; `make test-models` runs "full"). Builds are cached in
$FERRY_ZOO_CACHE (scripts/run_tests.py points it into the build tree). A combination torch
cannot export is skipped with torch's reason, and counted as skipped. On a mismatch the
failure names the first node whose output differs from onnxruntime's.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is pinned in requirements.txt; run scripts/setup.sh")

import ferry  # noqa: E402
from ferry import model_zoo  # noqa: E402
from ferry.validate import compare_arrays, compare_with_onnxruntime  # noqa: E402

SIZE = os.environ.get("FERRY_ZOO_SIZE", "smoke")

COMBOS = [(name, exporter, opset) for name in model_zoo.list()
          for exporter in model_zoo.EXPORTERS for opset in model_zoo.OPSETS[exporter]]


@pytest.fixture(scope="module")
def built():
    cache = {}

    def get(name, exporter, opset):
        key = (name, exporter, opset)
        if key not in cache:
            try:
                cache[key] = model_zoo.get(name, SIZE, exporter, opset)
            except model_zoo.ExportError as e:
                cache[key] = e
        if isinstance(cache[key], model_zoo.ExportError):
            pytest.skip(f"torch cannot export: {cache[key]}")
        return cache[key]

    return get


@pytest.mark.parametrize("name,exporter,opset", COMBOS, ids=[f"{n}-{e}-opset{o}" for n, e, o in COMBOS])
def test_model_matches_onnxruntime_and_torch(built, name, exporter, opset):
    path = built(name, exporter, opset)
    tol = model_zoo.manifest(path)["tolerance"]
    rtol, atol = tol["rtol"], tol["atol"]
    session = ferry.InferenceSession(str(path))
    problems = []
    cases = model_zoo.references(path)
    expected_cases = len(model_zoo.recipe(name).batch_sizes) * len(model_zoo.recipe(name).sizes[SIZE].seq_lens)
    assert len(cases) == expected_cases, f"{path}: {len(cases)} recorded cases, expected {expected_cases}"
    for case in cases:
        label = f"batch {case['batch']}" + (f", seq {case['seq']}" if case["seq"] else "")
        ok, report = compare_with_onnxruntime(str(path), case["inputs"], rtol, atol,
                                              list(case["outputs"]))
        if not ok:
            problems.append(f"{label}: vs onnxruntime: {report}")
            continue
        actual = session.run(list(case["outputs"]), case["inputs"])
        for (out, expected), got in zip(case["outputs"].items(), actual):
            mismatch = compare_arrays(out, got, expected, rtol, atol)
            if mismatch is not None:
                problems.append(f"{label}: vs torch: {mismatch}")
    assert not problems, f"{name} ({exporter}, opset {opset}, {SIZE}):\n" + "\n".join(problems)


LEVELS = {"disabled": ferry.GraphOptimizationLevel.ORT_DISABLE_ALL, "basic": ferry.GraphOptimizationLevel.ORT_ENABLE_BASIC,
          "extended": ferry.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, "all": ferry.GraphOptimizationLevel.ORT_ENABLE_ALL}

#: Sub-checks skipped by test_model_matches_at_every_optimization_level, with the reason;
#: conftest.py prints them at the end of the run.
SKIPPED_SAVED_MODEL_CHECKS: list[str] = []


def _ferry_domain_ops(model) -> list[str]:
    """Ops of the "ferry" domain in a saved model, subgraphs included."""
    from onnx import AttributeProto

    found = []

    def walk(graph):
        for node in graph.node:
            if node.domain == "ferry":
                found.append(node.op_type)
            for attr in node.attribute:
                if attr.type == AttributeProto.GRAPH:
                    walk(attr.g)
                for g in attr.graphs:
                    walk(g)

    walk(model.graph)
    return sorted(set(found))


@pytest.mark.parametrize("name,exporter,opset", COMBOS, ids=[f"{n}-{e}-opset{o}" for n, e, o in COMBOS])
def test_model_matches_at_every_optimization_level(built, tmp_path, name, exporter, opset):
    """At every level the optimized model matches torch's recorded outputs and onnxruntime's on
    the original model; the model saved at each level passes onnx's checker, and runs in
    onnxruntime with the same outputs when it is plain ONNX (always at disabled and basic; at
    extended and all unless a fusion into the ferry domain fired, which is then counted)."""
    import onnx
    import onnxruntime

    path = built(name, exporter, opset)
    tol = model_zoo.manifest(path)["tolerance"]
    rtol, atol = tol["rtol"], tol["atol"]
    cases = model_zoo.references(path)
    ort = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ort_outputs = [ort.run(list(c["outputs"]), c["inputs"]) for c in cases]
    where = f"{name} ({exporter}, opset {opset}, {SIZE})"
    problems = []

    def check(label: str, run) -> None:
        for case, ort_out in zip(cases, ort_outputs):
            case_label = f"{label}, batch {case['batch']}" + (f", seq {case['seq']}" if case["seq"] else "")
            got = run(list(case["outputs"]), case["inputs"])
            for (out, expected), o, g in zip(case["outputs"].items(), ort_out, got):
                for ref_name, ref in (("torch", expected), ("onnxruntime", o)):
                    mismatch = compare_arrays(out, g, ref, rtol, atol)
                    if mismatch is not None:
                        problems.append(f"{case_label}: vs {ref_name}: {mismatch}")

    for level_name, level in LEVELS.items():
        opts = ferry.SessionOptions()
        opts.graph_optimization_level = level
        saved = tmp_path / f"{level_name}.onnx"
        opts.optimized_model_filepath = str(saved)
        session = ferry.InferenceSession(str(path), opts)
        check(f"level {level_name}", session.run)
        model = onnx.load(str(saved))
        try:
            onnx.checker.check_model(model)
        except onnx.checker.ValidationError as e:
            problems.append(f"level {level_name}: saved model fails onnx.checker: {str(e).splitlines()[0]}")
            continue
        fused = _ferry_domain_ops(model)
        if fused:
            assert level_name in ("extended", "all"), f"{where}: ferry-domain ops {fused} at level {level_name}"
            assert model.opset_import and any(o.domain == "ferry" for o in model.opset_import), \
                f"{where}: level {level_name} saved ferry ops {fused} without a 'ferry' opset import"
            reason = (f"{where}: level {level_name}: saved model not run in onnxruntime: it has ferry-domain "
                      f"ops ({', '.join(fused)})")
            SKIPPED_SAVED_MODEL_CHECKS.append(reason)
            print(reason)
            continue
        saved_ort = onnxruntime.InferenceSession(str(saved), providers=["CPUExecutionProvider"])
        check(f"level {level_name}, saved model in onnxruntime", saved_ort.run)
    assert not problems, f"{where}:\n" + "\n".join(problems[:20])


def test_every_recipe_has_smoke_and_full_sizes_and_valid_inputs():
    for name in model_zoo.list():
        r = model_zoo.recipe(name)
        assert set(r.sizes) == set(model_zoo.SIZES), name
        for size in model_zoo.SIZES:
            feeds = model_zoo.make_inputs(name, size, batch=2, seq=r.sizes[size].seq_lens[0])
            assert list(feeds) == [s.name for s in r.inputs]
            again = model_zoo.make_inputs(name, size, batch=2, seq=r.sizes[size].seq_lens[0])
            for spec in r.inputs:
                np.testing.assert_array_equal(feeds[spec.name], again[spec.name])  # seeded: reproducible
                assert feeds[spec.name].shape[spec.shape.index("batch")] == 2


def test_divergence_report_names_the_first_differing_node(tmp_path, monkeypatch):
    """The finder must blame the first node whose output differs. Ferry and onnxruntime agree
    on real models, so onnxruntime is handed a doctored copy (one initializer changed): the
    report must name that initializer's consumer, not the nodes before or after it."""
    import onnx
    import onnxruntime
    from onnx import helper, numpy_helper

    from ferry.validate import first_divergence

    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 3])
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="first"),
             helper.make_node("Mul", ["a", "k"], ["b"], name="scale"),
             helper.make_node("Add", ["b", "x"], ["y"], name="last")]
    k = numpy_helper.from_array(np.full((2, 3), 2.0, np.float32), "k")
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], [k]),
                              opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))

    real_session = onnxruntime.InferenceSession

    def doctored_session(blob, providers=None):
        doctored = onnx.ModelProto()
        doctored.ParseFromString(blob)
        doctored.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.full((2, 3), 3.0, np.float32), "k"))
        return real_session(doctored.SerializeToString(), providers=providers)

    monkeypatch.setattr(onnxruntime, "InferenceSession", doctored_session)
    feeds = {"x": np.arange(6, dtype=np.float32).reshape(2, 3) - 2}
    report = first_divergence(str(path), feeds, 1e-4, 1e-4)
    assert report.startswith("first divergence at node 'scale' (Mul), output b: max abs err 3"), report


def test_cli_zoo_list_and_build(tmp_path, monkeypatch, capsys):
    from ferry import cli

    monkeypatch.setenv("FERRY_ZOO_CACHE", str(tmp_path))
    assert cli.main(["zoo", "list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == model_zoo.list()
    assert cli.main(["zoo", "build", "no_such_model"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown model 'no_such_model'" in err[0] and "resnet50" in err[0]
    assert cli.main(["zoo", "build", "lstm"]) == 0
    path = capsys.readouterr().out.strip().splitlines()[-1]
    assert path == str(tmp_path / "lstm" / "smoke" / "torchscript-opset17" / "model.onnx")
    assert model_zoo.manifest(path)["inputs"][0]["shape"] == ["batch", "seq", 12]

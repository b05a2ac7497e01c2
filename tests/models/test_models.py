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

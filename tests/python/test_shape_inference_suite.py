"""Ferry's type and shape inference against onnx.shape_inference on every model of the ONNX
backend node suite (the models tests/conformance/run_conformance.py writes under
<build>/conformance-data; the build dir is $FERRY_BUILD_DIR, default `build`).

    FERRY_BUILD_DIR=build .venv/bin/python -m pytest -q tests/python/test_shape_inference_suite.py
    ... -k 'test_gather_ or test_reshape_'        # one test per suite model, named after it

No kernel runs. Each model's graph outputs lose their declared types first (the suite declares
them from the reference outputs), so both engines infer every value themselves:

  onnx   onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
  Ferry  _ferry.infer_types(model_bytes) -> {value_name: (type_string, shape_list_or_None)}

Comparison rule, for every value of the main graph that onnx types (`expected`):

  1. Ferry must type the value. Its type must have the same structure (tensor, sequence,
     optional, map, sparse tensor) and the same element types wherever `expected` has one;
     where `expected` leaves an element type undefined, Ferry may give any.
  2. Where `expected` has a shape, Ferry must have one of the same rank.
  3. Each dim: where `expected` has an int, Ferry must have the same int. Where `expected`
     has a symbol or nothing, Ferry may have anything: a symbol, an expression, or an int
     (Ferry may be MORE precise than onnx, never contradict a known int, type or rank).
  4. Where `expected` has no shape, Ferry may have any.

The graph outputs are also checked against the types the suite declared, which are those of
the real reference outputs, so that a wrong guess where onnx leaves a dim open is caught: there
Ferry may know less (no type, no shape, a symbol where the output has an int: the shape may
depend on input data), but what it does know (element types, rank, int dims) must agree.

Shapes nested in sequences and optionals are not exposed by the binding; their types are.
A model whose op has no Ferry inference fails here ("Ferry has no type"); it is not skipped.
ALLOWANCES lists, by model and value, the few places where the spec leaves the answer open,
each with its reason; an allowance that no longer fires fails, so the list stays trimmed.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto

from ferry import _ferry  # a missing extension is an error, not a skip

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "conformance"))
import run_conformance  # noqa: E402  (the suite's generator and cache)

BUILD = Path(os.environ.get("FERRY_BUILD_DIR", ROOT / "build"))
BUILD = BUILD if BUILD.is_absolute() else ROOT / BUILD
DATA = BUILD / "conformance-data"
run_conformance.ensure_data(DATA)
MODELS = sorted(p.name for p in (DATA / "node").iterdir() if (p / "model.onnx").exists())

#: (model, value) -> why a disagreement there is not Ferry's error. Kept to named cases.
ALLOWANCES: dict[tuple[str, str], str] = {
}


# ---------------------------------------------------------------------------------------------
# Types as trees: ("tensor", elem, dims | None), ("seq", inner), ("optional", inner),
# ("map", key_elem, inner), ("sparse_tensor", elem, dims | None), None for unknown.
# ---------------------------------------------------------------------------------------------

def _elem(code: int) -> str | None:
    return TensorProto.DataType.Name(code).lower() if code else None


def onnx_tree(tp: onnx.TypeProto):
    which = tp.WhichOneof("value")
    if which in ("tensor_type", "sparse_tensor_type"):
        t = getattr(tp, which)
        dims = None
        if t.HasField("shape"):
            dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]
        return ("tensor" if which == "tensor_type" else "sparse_tensor", _elem(t.elem_type), dims)
    if which == "sequence_type":
        return ("seq", onnx_tree(tp.sequence_type.elem_type) if tp.sequence_type.HasField("elem_type") else None)
    if which == "optional_type":
        return ("optional", onnx_tree(tp.optional_type.elem_type) if tp.optional_type.HasField("elem_type") else None)
    if which == "map_type":
        return ("map", _elem(tp.map_type.key_type), onnx_tree(tp.map_type.value_type))
    return None


_TOKEN = re.compile(r"\s*([A-Za-z0-9_]+|[(),])")
#: The shape of a tensor nested in a sequence, optional or map: the binding does not expose it.
NESTED = "nested"


def ferry_tree(type_string: str, shape):
    """Parses Ferry's Type::to_string ("seq(tensor(float))", "map(int64,tensor(float))")."""
    tokens = _TOKEN.findall(type_string)
    pos = 0

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def parse(outer_shape):
        word = take()
        if word == "unknown":
            return None
        if word in ("tensor", "sparse_tensor"):
            take(), (elem := take()), take()
            return (word, None if elem == "undefined" else elem, outer_shape)
        take()  # (
        if word == "map":
            key = take()
            take()  # ,
            inner = parse(NESTED)
            take()
            return ("map", key, inner)
        inner = parse(NESTED)
        take()  # )
        return (word, inner)

    return parse(shape)


def disagreements(mine, want, where: str, exact: bool = True) -> list[str]:
    """Where Ferry's tree `mine` contradicts `want` under the rule in the module docstring
    (exact: against onnx's inference; not exact: against the declared reference shapes)."""
    if want is None:
        return []
    if mine is None:
        return [f"{where}: Ferry has no type, expected {show(want)}"] if exact else []
    if mine[0] != want[0]:
        return [f"{where}: Ferry says {show(mine)}, expected {show(want)}"]
    kind = want[0]
    if kind in ("seq", "optional"):
        return disagreements(mine[1], want[1], where, exact)
    if kind == "map":
        if want[1] and mine[1] != want[1]:
            return [f"{where}: Ferry says {show(mine)}, expected {show(want)}"]
        return disagreements(mine[2], want[2], where, exact)
    if want[1] and mine[1] != want[1] and (exact or mine[1]):
        return [f"{where}: element type {mine[1]}, expected {want[1]}"]
    if want[2] is None or mine[2] == NESTED:
        return []
    if mine[2] is None:
        return [f"{where}: Ferry has no shape, expected {want[2]}"] if exact else []
    if len(mine[2]) != len(want[2]):
        return [f"{where}: Ferry says shape {mine[2]}, expected {want[2]} (rank)"]
    bad = [k for k, (m, w) in enumerate(zip(mine[2], want[2]))
           if isinstance(w, int) and m != w and (exact or isinstance(m, int))]
    return [f"{where}: Ferry says shape {mine[2]}, expected {want[2]} (dim {bad})"] if bad else []


def show(tree) -> str:
    if tree is None:
        return "unknown"
    if tree[0] in ("tensor", "sparse_tensor"):
        shape = "" if tree[2] is None else str(tree[2])
        return f"{tree[0]}({tree[1] or '?'}){shape}"
    if tree[0] == "map":
        return f"map({tree[1]},{show(tree[2])})"
    return f"{tree[0]}({show(tree[1])})"


# ---------------------------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------------------------

def strip_outputs(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, onnx.TypeProto]]:
    """The model with its graph outputs untyped, and the types they declared."""
    stripped = onnx.ModelProto()
    stripped.CopyFrom(model)
    declared = {}
    for out in stripped.graph.output:
        declared[out.name] = onnx.TypeProto()
        declared[out.name].CopyFrom(out.type)
        out.ClearField("type")
    return stripped, declared


def producers(model: onnx.ModelProto) -> dict[str, str]:
    return {o: n.op_type for n in model.graph.node for o in n.output if o}


@pytest.mark.parametrize("name", MODELS)
def test_suite_model(name):
    model = onnx.load(str(DATA / "node" / name / "model.onnx"))
    stripped, declared = strip_outputs(model)
    inferred = onnx.shape_inference.infer_shapes(stripped, strict_mode=False, data_prop=True)
    theirs = {vi.name: vi.type for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
    ours = _ferry.infer_types(stripped.SerializeToString())
    made_by = producers(model)

    problems = []
    for expected, source in ((theirs, "onnx"), (declared, "declared")):
        for value, tp in expected.items():
            mine = ferry_tree(*ours[value]) if value in ours else None
            where = f"'{value}' ({made_by.get(value, 'input')}) vs {source}"
            for problem in disagreements(mine, onnx_tree(tp), where, exact=source == "onnx"):
                problems.append((value, problem))

    allowed = {v for (m, v) in ALLOWANCES if m == name}
    unused = allowed - {v for v, _ in problems}
    assert not unused, f"allowances that no longer fire, remove them: {sorted(unused)}"
    problems = [p for v, p in problems if v not in allowed]
    assert not problems, "\n".join(problems)


def test_every_suite_model_is_compared():
    """The cache holds every case of the installed onnx's suite, so none goes unchecked."""
    cases, _ = run_conformance.ensure_data(DATA)
    assert len(MODELS) == cases > 1000


@pytest.mark.parametrize("mine, want, exact, ok", [
    (("tensor", "float", [2, "unk__0"]), ("tensor", "float", [2, 3]), True, False),   # a symbol for a known int
    (("tensor", "float", [2, 3]), ("tensor", "float", [2, "N"]), True, True),          # more precise
    (("tensor", "float", [2, 4]), ("tensor", "float", [2, "N"]), True, True),
    (("tensor", "float", [2, 4]), ("tensor", "float", [2, 3]), True, False),          # a wrong int
    (("tensor", "float", [2]), ("tensor", "float", [2, 3]), True, False),             # rank
    (("tensor", "int64", [2, 3]), ("tensor", "float", [2, 3]), True, False),          # element type
    (("tensor", None, [2, 3]), ("tensor", "float", [2, 3]), True, False),
    (("tensor", "float", None), ("tensor", "float", [2, 3]), True, False),
    (("tensor", "float", None), ("tensor", "float", None), True, True),
    (None, ("tensor", "float", [2]), True, False),                                    # no type
    (("seq", ("tensor", "float", NESTED)), ("seq", ("tensor", "float", [4])), True, True),
    (("seq", ("tensor", "int32", NESTED)), ("seq", ("tensor", "float", [4])), True, False),
    (("optional", ("tensor", "float", NESTED)), ("seq", ("tensor", "float", None)), True, False),
    # against declared reference outputs: less is fine, a wrong int or rank is not
    (("tensor", "float", ["unk__0", 3]), ("tensor", "float", [2, 3]), False, True),
    (("tensor", "float", None), ("tensor", "float", [2, 3]), False, True),
    (None, ("tensor", "float", [2, 3]), False, True),
    (("tensor", "float", [5, 3]), ("tensor", "float", [2, 3]), False, False),
    (("tensor", "float", [3]), ("tensor", "float", [2, 3]), False, False),
])
def test_comparison_rule(mine, want, exact, ok):
    assert (not disagreements(mine, want, "v", exact)) == ok


def test_ferry_type_strings_parse():
    assert ferry_tree("tensor(float)", [2, "N"]) == ("tensor", "float", [2, "N"])
    assert ferry_tree("unknown", None) is None
    assert ferry_tree("tensor(undefined)", None) == ("tensor", None, None)
    assert ferry_tree("seq(optional(tensor(int64)))", None) == ("seq", ("optional", ("tensor", "int64", NESTED)))
    assert ferry_tree("map(int64,tensor(float))", None) == ("map", "int64", ("tensor", "float", NESTED))
    assert ferry_tree("seq(unknown)", None) == ("seq", None)

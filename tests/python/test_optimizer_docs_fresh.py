"""docs/ferry_ops.md and the pipeline section of docs/optimizer.md must match the schemas and
the optimizer pipeline of the build under test (tools/gen_optimizer_docs.py writes them)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import gen_optimizer_docs  # noqa: E402


def test_ferry_ops_doc_is_fresh():
    actual = (ROOT / "docs" / "ferry_ops.md").read_text()
    assert actual == gen_optimizer_docs.render_ferry_ops(), \
        "docs/ferry_ops.md is stale: run tools/gen_optimizer_docs.py (make docs)"


def test_optimizer_doc_pipeline_is_fresh():
    actual = (ROOT / "docs" / "optimizer.md").read_text()
    assert gen_optimizer_docs.PIPELINE_BEGIN in actual and gen_optimizer_docs.PIPELINE_END in actual
    assert actual == gen_optimizer_docs.render_optimizer_doc(actual), \
        "docs/optimizer.md's pipeline section is stale: run tools/gen_optimizer_docs.py (make docs)"


def test_docs_name_every_ferry_op_and_every_pass():
    from ferry import _ferry

    ops = (ROOT / "docs" / "ferry_ops.md").read_text()
    for s in _ferry.schemas("ferry"):
        assert f"## {s['name']}" in ops
    optimizer = (ROOT / "docs" / "optimizer.md").read_text()
    for _, names in _ferry.optimizer_pipeline():
        for n in names:
            assert f"`{n}`" in optimizer


def test_replace_between_keeps_the_rest():
    begin, end = gen_optimizer_docs.PIPELINE_BEGIN, gen_optimizer_docs.PIPELINE_END
    text = f"head\n{begin}\nold\n{end}\ntail\n"
    block = f"{begin}\nnew\n{end}"
    assert gen_optimizer_docs.replace_between(text, begin, end, block) == f"head\n{block}\ntail\n"
    assert gen_optimizer_docs.replace_between("head\n", begin, end, block) == f"head\n\n{block}\n"

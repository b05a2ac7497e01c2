"""docs/supported_ops.md must match the kernel registry of the build under test."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import gen_supported_ops  # noqa: E402


def test_supported_ops_doc_is_fresh():
    expected = gen_supported_ops.render()
    actual = (ROOT / "docs" / "supported_ops.md").read_text()
    assert actual == expected, "docs/supported_ops.md is stale: run tools/gen_supported_ops.py"


def test_doc_lists_every_registered_op():
    from ferry import _ferry

    text = (ROOT / "docs" / "supported_ops.md").read_text()
    for k in _ferry.registered_kernels():
        assert f"| {k['op_type']} |" in text

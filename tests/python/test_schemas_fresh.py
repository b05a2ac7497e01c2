"""ir/schemas_generated.inc must match what tools/gen_schemas.py produces from the installed onnx."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_generated_schema_table_is_fresh(tmp_path):
    out = tmp_path / "schemas_generated.inc"
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_schemas.py"), "-o", str(out)], check=True)
    committed = open(os.path.join(ROOT, "ir", "schemas_generated.inc"), encoding="ascii").read()
    fresh = out.read_text(encoding="ascii")
    assert fresh == committed, (
        "ir/schemas_generated.inc is stale for the installed onnx; run "
        ".venv/bin/python tools/gen_schemas.py and commit the result")


def test_generated_table_covers_every_schema():
    import onnx.defs

    committed = open(os.path.join(ROOT, "ir", "schemas_generated.inc"), encoding="ascii").read()
    count = sum(1 for line in committed.splitlines() if line.lstrip().startswith('"S|'))
    assert count == len(onnx.defs.get_all_schemas_with_history())

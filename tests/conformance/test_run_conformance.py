"""Tests of the conformance runner itself (not of Ferry): with a stand-in `ferry` package that
passes, mismatches, raises, crashes and hangs on chosen cases, the runner must classify each
case, survive the crash and the hang, apply the expectations file, and rewrite it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "run_conformance.py"

FAKE_FERRY = '''
import os, signal, time
import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator

__version__ = "fake"
class FerryError(RuntimeError): pass
class NotImplementedByFerry(FerryError): pass
class _ferry:
    __file__ = __file__
class SessionOptions:
    intra_op_num_threads = 0

class InferenceSession:
    def __init__(self, path, options=None, providers=None):
        self.name = os.path.basename(os.path.dirname(path))
        if self.name == "test_acosh":
            raise NotImplementedByFerry(f"{path}: node #0 (Acosh, opset 9): no kernel for this "
                                        "op/opset/types in CPUExecutionProvider")
        self.ref = ReferenceEvaluator(onnx.load(path))
    def run(self, names, feeds):
        if self.name == "test_abs":
            os.kill(os.getpid(), signal.SIGSEGV)
        if self.name == "test_acos":
            time.sleep(600)
        if self.name == "test_asin":
            raise FerryError("shape (3, 4) is not (3,)\\nsecond line")
        outs = self.ref.run(None, feeds)
        if self.name == "test_add":
            outs = [o + 1 for o in outs]
        if self.name == "test_bernoulli_double":
            outs = [o + 2 for o in outs]  # shape and dtype right, values not 0/1
        return outs
'''

CASES = ["test_relu", "test_abs", "test_acos", "test_acosh", "test_add", "test_asin", "test_and2d"]


@pytest.fixture(scope="module")
def fake_build(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("build")
    pkg = build / "python" / "ferry"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(FAKE_FERRY)
    (pkg / "_ferry.fake.so").write_text("")  # what the runner looks for
    return build


@pytest.fixture(scope="module")
def data_dir() -> Path:
    """The real generated suite, shared with the runs of the build tree when it exists."""
    build = Path(os.environ.get("FERRY_BUILD_DIR", HERE.parent.parent / "build"))
    return build / "conformance-data"


def run(fake_build: Path, data_dir: Path, expectations: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(RUNNER), "--build", str(fake_build), "--data", str(data_dir),
           "--expectations", str(expectations), "--timeout", "3", *extra]
    for case in CASES:
        cmd += ["-k", f"^{case}$"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_classifies_crashes_hangs_errors_and_mismatches(fake_build, data_dir, tmp_path):
    expectations = tmp_path / "expectations"
    expectations.write_text(textwrap.dedent("""\
        # header

        # these are known
        test_abs     crash: known
        test_relu    mismatch: was broken once
    """))
    proc = run(fake_build, data_dir, expectations, "-v")
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    lines = out.splitlines()
    assert lines[-1] == "conformance: 2 passed, 4 failed, 1 excluded of 7", out
    assert "FAIL (listed) test_abs  crash: worker killed by SIGSEGV" in out
    assert "test_acos  timeout: no result after 3 s" in out
    assert "test_acosh  not implemented: no CPU kernel for Acosh (opset 9)" in out
    assert "test_add  mismatch: output 0 max abs err 1 (rtol 0.001, atol 1e-07)" in out
    assert "test_asin  error: FerryError: shape (3, 4) is not (3,)" in out
    assert "now passes; trim the expectations file: test_relu" in out
    # the case after the crash and after the hang still ran, in fresh workers
    assert "PASS          test_and2d" in out
    assert "excluded by reason: crash 1" in out


def test_update_expectations_keeps_comments_and_human_reasons(fake_build, data_dir, tmp_path):
    expectations = tmp_path / "expectations"
    expectations.write_text(textwrap.dedent("""\
        # header line

        # group whose entry now passes: this comment must go
        test_relu   not implemented: no CPU kernel for Relu (opset 14)

        # hand-written reasons stay
        test_abs    random: checked elsewhere
        test_acosh  not implemented: no CPU kernel for Acosh (opset 9)

        # an entry whose category changed is refreshed
        test_add    not implemented: no CPU kernel for Add (opset 14)
        test_gone_from_the_suite  crash: whatever
    """))
    proc = run(fake_build, data_dir, expectations, "--update-expectations")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = expectations.read_text()
    assert "test_relu" not in text and "this comment must go" not in text
    assert "test_gone_from_the_suite" not in text
    entries = dict(re.findall(r"^(test_\w+) +(.*)$", text, re.M))
    assert entries == {
        "test_abs": "random: checked elsewhere",  # a person's reason stays
        "test_acosh": "not implemented: no CPU kernel for Acosh (opset 9)",
        "test_add": "mismatch: output 0 max abs err 1 (rtol 0.001, atol 1e-07)",  # refreshed
        "test_acos": "timeout: no result after 3 s",  # new failures are added
        "test_asin": "error: FerryError: shape (3, 4) is not (3,)",
    }, text
    assert "# hand-written reasons stay\ntest_abs " in text
    assert text.startswith("# header line\n\n")
    # the rewritten file now describes the run exactly
    proc = run(fake_build, data_dir, expectations)
    assert proc.stdout.splitlines()[-1] == "conformance: 2 passed, 0 failed, 5 excluded of 7", proc.stdout
    assert proc.returncode == 0


def test_random_cases_are_checked_by_their_properties(fake_build, data_dir, tmp_path):
    """`random:` expectations: values are not compared; shape, dtype and the op's properties are.
    Properties that hold give "random-checked" (excluded, not passed); one that fails fails the run."""
    expectations = tmp_path / "expectations"
    expectations.write_text(textwrap.dedent("""\
        test_bernoulli               random: checks shape, dtype and values in {0, 1}
        test_bernoulli_double        random: checks shape, dtype and values in {0, 1}
        test_training_dropout_mask   random: checks output = input/(1-ratio) where the mask is true, else 0
    """))
    cmd = [sys.executable, str(RUNNER), "--build", str(fake_build), "--data", str(data_dir),
           "--expectations", str(expectations), "--timeout", "30", "-v"]
    for case in ["test_bernoulli", "test_bernoulli_double", "test_training_dropout_mask"]:
        cmd += ["-k", f"^{case}$"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "RANDOM-CHECKED test_bernoulli  random-checked: shape, dtype, values in {0, 1}" in out, out
    assert "RANDOM-CHECKED test_training_dropout_mask  random-checked: Dropout output and mask" in out, out
    assert re.search(r"^FAIL +test_bernoulli_double  random: Bernoulli output 0 holds values other than 0 and 1",
                     out, re.M), out
    assert "random-checked: 2 (their properties held; excluded from the pass count)" in out, out
    assert out.splitlines()[-1] == "conformance: 0 passed, 1 failed, 2 excluded of 3", out

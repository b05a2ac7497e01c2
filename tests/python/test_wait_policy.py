"""The OpenMP wait policy that `import ferry` chooses for the intra-op threads (a short spin of
GOMP_SPINCOUNT=1000, then sleep), checked where it matters: in the settings libgomp itself
reports (OMP_DISPLAY_ENV) when the extension loads it. A policy or spin count the user set is left
as it is. Each case runs in a fresh interpreter, since libgomp reads its settings once."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import ferry

SCRIPT = ("import os, ferry; print('policy-env=' + str(os.environ.get('OMP_WAIT_POLICY')) + "
          "' spin-env=' + str(os.environ.get('GOMP_SPINCOUNT')))")


def import_ferry(**env_overrides: str | None) -> tuple[str, dict[str, str]]:
    """Imports ferry in a fresh interpreter; returns what it printed and libgomp's displayed settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env["OMP_DISPLAY_ENV"] = "VERBOSE"
    env["PYTHONPATH"] = os.pathsep.join(p for p in [os.path.dirname(os.path.dirname(ferry.__file__)),
                                                    env.get("PYTHONPATH", "")] if p)
    for k, v in env_overrides.items():
        if v is not None:
            env[k] = v
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    shown = dict(re.findall(r"^\s*([A-Z_]+) = '([^']*)'", run.stderr, re.MULTILINE))
    if "GOMP_SPINCOUNT" not in shown:
        pytest.skip("the OpenMP runtime does not display its settings (not libgomp)")
    return run.stdout, shown


def test_default_is_a_short_spin():
    out, shown = import_ferry()
    assert "policy-env=None spin-env=1000" in out
    assert shown["GOMP_SPINCOUNT"] == "1000"


def test_user_policy_is_kept():
    out, shown = import_ferry(OMP_WAIT_POLICY="ACTIVE")
    assert "policy-env=ACTIVE spin-env=None" in out
    assert shown["OMP_WAIT_POLICY"] == "ACTIVE"
    assert int(shown["GOMP_SPINCOUNT"]) > 0


def test_user_spin_count_is_kept():
    out, shown = import_ferry(GOMP_SPINCOUNT="1234")
    assert "policy-env=None spin-env=1234" in out  # ferry sets nothing over the user's spin count
    assert shown["GOMP_SPINCOUNT"] == "1234"

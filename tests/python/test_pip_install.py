"""`pip install .` from the repository root builds and installs the package and the `ferry` command.

The install goes into a fresh virtual environment. The build tools come from the project's
pinned .venv (`--no-build-isolation` with them preinstalled, all from requirements.txt), and the
CMake build directory persists under the build tree so later runs are incremental.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("FERRY_BUILD_DIR", ROOT / "build"))


def _pinned(*names: str) -> list[str]:
    wanted = {n.lower() for n in names}
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines
            if line.strip() and not line.startswith("#") and line.split("==")[0].lower() in wanted]


@pytest.fixture(scope="module")
def installed_env(tmp_path_factory):
    env_dir = tmp_path_factory.mktemp("pip-install") / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    quiet = ["-q", "--disable-pip-version-check"]
    build_tools = _pinned("numpy", "onnx", "protobuf", "ml_dtypes", "scikit-build-core", "pybind11", "cmake", "ninja")
    subprocess.run([str(python), "-m", "pip", "install", *quiet, *build_tools], check=True)
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", *quiet, "--no-build-isolation",
         f"-Cbuild-dir={BUILD_DIR / 'pip-install'}", str(ROOT)],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["FERRY_CACHE_DIR"] = str(tmp_path_factory.mktemp("ferry-cache"))
    return env_dir, env


def test_installed_package_imports_outside_the_tree(installed_env, tmp_path):
    env_dir, env = installed_env
    script = (
        "import ferry, numpy as np, onnx\n"
        "from onnx import helper, TensorProto\n"
        "g = helper.make_graph([helper.make_node('Relu', ['x'], ['y'])], 'g',\n"
        "    [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['n'])],\n"
        "    [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['n'])])\n"
        "m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])\n"
        "s = ferry.InferenceSession(m.SerializeToString())\n"
        "print(ferry.__file__)\n"
        "print(s.run(None, {'x': np.array([-1, 2], np.float32)})[0].tolist())\n")
    proc = subprocess.run([str(env_dir / "bin" / "python"), "-c", script], cwd=tmp_path,
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    location, values = proc.stdout.strip().splitlines()
    assert location.startswith(str(env_dir)), location  # the installed copy, not the source tree
    assert values == "[0.0, 2.0]"


def test_installed_ferry_command(installed_env, tmp_path):
    env_dir, env = installed_env
    ferry_cmd = env_dir / "bin" / "ferry"
    assert ferry_cmd.exists()
    help_proc = subprocess.run([str(ferry_cmd), "--help"], capture_output=True, text=True, env=env)
    assert help_proc.returncode == 0 and "run" in help_proc.stdout and "bench" in help_proc.stdout
    run_proc = subprocess.run([str(ferry_cmd), "run"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run_proc.returncode == 0, run_proc.stderr
    assert "triangle" in run_proc.stdout

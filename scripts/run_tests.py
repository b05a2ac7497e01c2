#!/usr/bin/env python3
"""Runs every Ferry test suite and prints one summary line of counts.

Suites:
  unit        the GoogleTest binary of the Release build
  sanitizers  the same GoogleTest binary built with AddressSanitizer + UBSan; any sanitizer
              report fails it (halt on the first report)
  python      pytest over tests/python and tests/ops against the Release build's extension
  models      pytest over tests/models: every model-zoo recipe x exporter x opset at smoke
              size, Ferry vs onnxruntime and PyTorch (exports cached in BUILD/model-zoo)
  conformance the official ONNX backend node suite against the Release build's extension
              (tests/conformance/run_conformance.py, after the runner's own tests); counts as
              one result, passed when no test fails that tests/conformance/expectations does
              not list; its line `conformance: P passed, F failed, E excluded of T` is repeated
              in the summary

The last line reads `summary: N passed, N failed, N skipped`; every skip is listed with its
reason above it. The exit status is non-zero when anything failed or a suite could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SuiteResult:
    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)  # suite-level failures (crash, report)
    skip_reasons: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # lines repeated under the suite's summary


def run_gtest(name: str, binary: Path, env: dict[str, str]) -> SuiteResult:
    result = SuiteResult(name)
    if not binary.exists():
        result.errors.append(f"{binary} does not exist (build failed?)")
        return result
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        start = time.time()
        proc = subprocess.run([str(binary), f"--gtest_output=json:{report}", "--gtest_brief=1"],
                              env=env, cwd=ROOT, capture_output=True, text=True)
        result.seconds = time.time() - start
        output = proc.stdout + proc.stderr
        sanitizer_report = any(s in output for s in ("ERROR: AddressSanitizer", "runtime error:",
                                                      "ERROR: LeakSanitizer"))
        if report.exists():
            data = json.loads(report.read_text())
            for suite in data.get("testsuites", []):
                for case in suite.get("testsuite", []):
                    full = f"{suite['name']}.{case['name']}"
                    if case.get("result") == "SKIPPED" or case.get("status") == "NOTRUN":
                        result.skipped += 1
                        msg = " ".join(f.get("failure", "") for f in case.get("skipped", []) or []) or \
                            case.get("skipped_message", "") or "skipped (reason printed in the test log)"
                        result.skip_reasons.append(f"{full}: {msg.strip()}")
                    elif case.get("failures"):
                        result.failed += 1
                        first = case["failures"][0].get("failure", "").strip().splitlines()
                        result.failures.append(f"{full}: {first[0] if first else ''}")
                    else:
                        result.passed += 1
        if proc.returncode != 0 and result.failed == 0:
            result.errors.append(f"{binary.name} exited with {proc.returncode}")
        if sanitizer_report:
            result.errors.append("sanitizer report in the output")
        if result.errors or result.failed:
            sys.stdout.write(output[-20000:])
    return result


def run_pytest(name: str, paths: list[str], env: dict[str, str]) -> SuiteResult:
    result = SuiteResult(name)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        start = time.time()
        cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
               f"--junitxml={report}", *paths]
        proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        result.seconds = time.time() - start
        if report.exists():
            for case in ET.parse(report).getroot().iter("testcase"):
                full = f"{case.get('classname')}.{case.get('name')}"
                skipped = case.find("skipped")
                failure = case.find("failure") if case.find("failure") is not None else case.find("error")
                if skipped is not None:
                    result.skipped += 1
                    result.skip_reasons.append(f"{full}: {skipped.get('message', '').strip()}")
                elif failure is not None:
                    result.failed += 1
                    result.failures.append(f"{full}: {(failure.get('message') or '').strip()[:300]}")
                else:
                    result.passed += 1
        if proc.returncode not in (0, 1) or (proc.returncode == 1 and result.failed == 0):
            result.errors.append(f"pytest exited with {proc.returncode}")
        if result.errors or result.failed:
            sys.stdout.write((proc.stdout + proc.stderr)[-20000:])
    return result


def run_conformance(build: Path, env: dict[str, str]) -> SuiteResult:
    """The ONNX backend node suite as one result: the runner's own tests (pytest, with a
    stand-in engine), then the suite against the build's extension."""
    result = SuiteResult("conformance")
    start = time.time()
    self_test = run_pytest("conformance-runner", ["tests/conformance/test_run_conformance.py"], env)
    result.failures += [f"runner self-test {f}" for f in self_test.failures]
    result.errors += [f"runner self-test: {e}" for e in self_test.errors]
    cmd = [sys.executable, "tests/conformance/run_conformance.py", "--build", str(build)]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    result.seconds = time.time() - start
    output = proc.stdout + proc.stderr
    sys.stdout.write(output[-20000:])
    lines = [line for line in proc.stdout.splitlines() if line.startswith("conformance: ")]
    if lines and " passed, " in lines[-1]:
        result.notes.append(lines[-1])
    result.failures += [line.split("): ", 1)[-1] for line in proc.stdout.splitlines()
                        if line.startswith("FAILED (not in the expectations)")]
    if proc.returncode != 0 and not result.failures:
        result.errors.append(f"run_conformance.py exited with {proc.returncode}")
    if result.failures or result.errors:
        result.failed = 1
    else:
        result.passed = 1
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--asan-build", default="build-asan")
    parser.add_argument("--only", choices=["unit", "sanitizers", "python", "models", "conformance"], action="append")
    args = parser.parse_args()
    build, asan_build = ROOT / args.build, ROOT / args.asan_build
    wanted = set(args.only or ["unit", "sanitizers", "python", "models", "conformance"])

    base_env = dict(os.environ)
    base_env["FERRY_BUILD_DIR"] = str(build)
    base_env["PYTHONPATH"] = str(build / "python") + os.pathsep + base_env.get("PYTHONPATH", "")

    results: list[SuiteResult] = []
    if "unit" in wanted:
        print("== unit (Release GoogleTest)", flush=True)
        results.append(run_gtest("unit", build / "ferry_unit_tests", base_env))
    if "sanitizers" in wanted:
        print("== sanitizers (ASan + UBSan GoogleTest)", flush=True)
        env = dict(base_env)
        env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1"
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        results.append(run_gtest("sanitizers", asan_build / "ferry_unit_tests", env))
    if "python" in wanted:
        print("== python (pytest: API, CLI, ops vs onnxruntime, shape inference, round trips)", flush=True)
        results.append(run_pytest("python", ["tests/python", "tests/ops"], base_env))
    if "models" in wanted:
        print("== models (model zoo, smoke sizes: Ferry vs onnxruntime and PyTorch)", flush=True)
        env = dict(base_env)
        env.setdefault("FERRY_ZOO_CACHE", str(build / "model-zoo"))
        results.append(run_pytest("models", ["tests/models"], env))
    if "conformance" in wanted:
        print("== conformance (ONNX backend node suite, CPU provider, tests/conformance/expectations)", flush=True)
        results.append(run_conformance(build, base_env))

    total = SuiteResult("total")
    for r in results:
        status = "ok" if not (r.failed or r.errors) else "FAILED"
        print(f"{r.name:>11}: {r.passed} passed, {r.failed} failed, {r.skipped} skipped "
              f"in {r.seconds:.0f} s  [{status}]")
        for n in r.notes:
            print(f"    {n}")
        for f in r.failures:
            print(f"    failed: {f}")
        for e in r.errors:
            print(f"    error: {e}")
        for s in r.skip_reasons:
            print(f"    skipped: {s}")
        total.passed += r.passed
        total.failed += r.failed + len(r.errors)
        total.skipped += r.skipped
    print(f"summary: {total.passed} passed, {total.failed} failed, {total.skipped} skipped")
    return 1 if total.failed else 0


if __name__ == "__main__":
    sys.exit(main())

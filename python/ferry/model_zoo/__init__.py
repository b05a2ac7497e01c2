"""Ferry's model zoo: real architectures with seeded weights, exported to ONNX on demand.

    ferry.model_zoo.list()                                   # recipe names
    ferry.model_zoo.get("resnet50", size="smoke")            # path of model.onnx (built if absent)
    ferry.model_zoo.get("gru", exporter="dynamo", opset=18)
    ferry.model_zoo.references(path)                         # the inputs and torch outputs kept beside it

Nothing is downloaded: weights come from torch's generator seeded per model, and the inputs
from numpy's, so a build is reproducible. Builds land in $FERRY_ZOO_CACHE (default
~/.cache/ferry/model_zoo) as NAME/SIZE/EXPORTER-opsetN/{model.onnx, manifest.json,
references.npz}. Exporting needs torch (and onnxscript for the torch.export-based exporter).
"""

from __future__ import annotations

import builtins
import json
import os
import pathlib
import zlib

import numpy as np

from ._recipe import SIZES, InputSpec, Recipe, SizeConfig, is_dynamic  # noqa: F401

EXPORTERS = ("torchscript", "dynamo")
# 13 and 17 as the issue asks, and each exporter's newest; torch.export's exporter writes
# nothing older than opset 18 (asked for 13 or 17, it writes 18).
OPSETS = {"torchscript": (13, 17, 20), "dynamo": (18, 23)}


# Bumped whenever building changes what lands in the cache (recipes, export steps), so that
# builds cached by older code are redone instead of reused.
BUILD_VERSION = 2


class ExportError(RuntimeError):
    """torch could not export the model with this exporter at this opset."""


def _recipes() -> dict[str, Recipe]:
    from .recipes import detector, sequence, text, vision

    return {r.name: r for module in (vision, detector, text, sequence) for r in module.RECIPES}


def list() -> builtins.list[str]:  # noqa: A001 - the issue's API name
    return sorted(_recipes())


def recipe(name: str) -> Recipe:
    recipes = _recipes()
    if name not in recipes:
        raise KeyError(f"unknown model {name!r}; the zoo has: {', '.join(sorted(recipes))}")
    return recipes[name]


def cache_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("FERRY_ZOO_CACHE", pathlib.Path.home() / ".cache" / "ferry" / "model_zoo"))


def _seed(name: str) -> int:
    return zlib.crc32(name.encode())


def build_module(name: str, size: str = "smoke"):
    """The eval-mode torch module with the zoo's seeded weights (BatchNorm statistics drawn too,
    so that folding and normalisation paths see realistic values). A module may define
    `calibrate()`, a data-dependent initialisation run after that, in eval mode."""
    import torch

    r = recipe(name)
    if size not in r.sizes:
        raise KeyError(f"{name}: unknown size {size!r}; sizes: {', '.join(r.sizes)}")
    torch.manual_seed(_seed(name))
    module = r.build(**r.sizes[size].params)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
    module.eval()
    if hasattr(module, "calibrate"):
        module.calibrate()
    return module


def build_for_export(name: str, size: str, exporter: str, opset: int):
    """build_module, adapted to what the exporter can write at that opset (a module's
    `prepare_export(exporter, opset)`, e.g. eager attention where SDPA cannot be exported).
    Returns the module and the adaptations, which go into the manifest."""
    module = build_module(name, size)
    variant = module.prepare_export(exporter, opset) if hasattr(module, "prepare_export") else {}
    return module, variant


def make_inputs(name: str, size: str, batch: int, seq: int = 0) -> dict[str, np.ndarray]:
    r = recipe(name)
    rng = np.random.default_rng([_seed(name), batch, seq])
    return {s.name: s.draw(rng, batch, seq, r.sizes[size].dims) for s in r.inputs}


def _torch_outputs(module, feeds: dict[str, np.ndarray]) -> builtins.list[np.ndarray]:
    import torch

    with torch.no_grad():
        out = module(*(torch.from_numpy(v) for v in feeds.values()))
    out = out if isinstance(out, tuple) else (out,)
    return [o.detach().numpy() for o in out]


def _reference_cases(r: Recipe, size: str) -> builtins.list[tuple[int, int]]:
    return [(b, s) for b in r.batch_sizes for s in r.sizes[size].seq_lens]


def _export(r: Recipe, module, size: str, exporter: str, opset: int, path: pathlib.Path) -> None:
    import torch

    batch, seq = r.batch_sizes[-1], r.sizes[size].seq_lens[-1]
    example = tuple(torch.from_numpy(v) for v in make_inputs(r.name, size, batch, seq).values())
    names = [s.name for s in r.inputs]
    try:
        if exporter == "torchscript":
            for custom in r.custom_ops:
                torch.onnx.register_custom_op_symbolic(custom.name, custom.torchscript, opset)
            torch.onnx.export(module, example, str(path), dynamo=False, opset_version=opset,
                              input_names=names, output_names=builtins.list(r.outputs),
                              dynamic_axes=r.dynamic_axes())
        elif exporter == "dynamo":
            dims = {}
            shapes = tuple({i: (dims.setdefault(d, torch.export.Dim(d, min=1)) if "+" not in d
                                else torch.export.Dim.AUTO)
                            for i, d in enumerate(spec.shape) if is_dynamic(d)}
                           for spec in r.inputs)
            program = torch.onnx.export(module, example, dynamo=True, opset_version=opset,
                                        input_names=names, output_names=builtins.list(r.outputs),
                                        dynamic_shapes=shapes, verbose=False,
                                        custom_translation_table={c.torch_op(): c.onnxscript
                                                                  for c in r.custom_ops})
            program.save(str(path))
        else:
            raise KeyError(f"unknown exporter {exporter!r}; exporters: {', '.join(EXPORTERS)}")
    except KeyError:
        raise
    except Exception as e:  # torch raises many types; the caller needs one
        root = e
        while root.__cause__ is not None:
            root = root.__cause__
        first_line = next((line for line in str(root).splitlines() if line.strip()), "")
        raise ExportError(f"{r.name}: the {exporter} exporter failed at opset {opset}: "
                          f"{type(root).__name__}: {first_line}") from e


def _onnx_opsets(path: pathlib.Path):
    import onnx

    return onnx.load(str(path), load_external_data=False).opset_import


def _specialized_axes(r: Recipe, path: pathlib.Path) -> builtins.list[str]:
    """The dynamic input axes that the exported model fixed to a number."""
    import onnx

    graph_inputs = {i.name: i for i in onnx.load(str(path), load_external_data=False).graph.input}
    fixed = []
    for spec in r.inputs:
        dims = graph_inputs[spec.name].type.tensor_type.shape.dim
        fixed += [f"{spec.name}[{i}] ({d})" for i, d in enumerate(spec.shape)
                  if is_dynamic(d) and dims[i].HasField("dim_value")]
    return fixed


def _export_checked(r: Recipe, module, size: str, exporter: str, opset: int, path: pathlib.Path) -> None:
    """Exports and checks that every dynamic axis stayed dynamic. torch.export can specialize
    an axis when an earlier export ran in the same process (seen with nn.GRU/nn.LSTM, a
    second export of either), so a specialized export is redone in a fresh interpreter."""
    _export(r, module, size, exporter, opset, path)
    if not _specialized_axes(r, path):
        return
    if os.environ.get("FERRY_ZOO_ISOLATED"):
        raise ExportError(f"{r.name}: the {exporter} exporter fixed dynamic axes "
                          f"{', '.join(_specialized_axes(r, path))} at opset {opset}")
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "ferry.model_zoo", r.name, size, exporter, str(opset), str(path)],
                          env={**os.environ, "FERRY_ZOO_ISOLATED": "1", "PYTHONPATH": os.pathsep.join(sys.path)},
                          capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ExportError(f"{r.name}: the {exporter} exporter at opset {opset}, redone alone: {last}")


def get(name: str, size: str = "smoke", exporter: str = "torchscript", opset: int = 17,
        rebuild: bool = False) -> pathlib.Path:
    """Path of the exported model.onnx, building it (and its references) if absent."""
    r = recipe(name)
    if size not in r.sizes:
        raise KeyError(f"{name}: unknown size {size!r}; sizes: {', '.join(r.sizes)}")
    out_dir = cache_dir() / name / size / f"{exporter}-opset{opset}"
    model_path = out_dir / "model.onnx"
    if model_path.exists() and (out_dir / "references.npz").exists() and not rebuild:
        try:
            current = json.loads((out_dir / "manifest.json").read_text()).get("build_version") == BUILD_VERSION
        except (OSError, ValueError):
            current = False
        if current:
            return model_path
    out_dir.mkdir(parents=True, exist_ok=True)
    module, variant = build_for_export(name, size, exporter, opset)
    tmp = out_dir / "model.onnx.tmp"
    _export_checked(r, module, size, exporter, opset, tmp)
    refs = {}
    for batch, seq in _reference_cases(r, size):
        feeds = make_inputs(name, size, batch, seq)
        for k, v in feeds.items():
            refs[f"b{batch}_s{seq}/in/{k}"] = v
        for k, v in zip(r.outputs, _torch_outputs(module, feeds)):
            refs[f"b{batch}_s{seq}/out/{k}"] = v
    np.savez(out_dir / "references.npz", **refs)
    manifest = r.manifest(size) | {"exporter": exporter, "opset": opset, "build_version": BUILD_VERSION}
    if variant:
        manifest["export_variant"] = variant
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    exported = next((o.version for o in _onnx_opsets(tmp) if o.domain in ("", "ai.onnx")), None)
    if exported != opset:
        tmp.unlink()
        raise ExportError(f"{name}: the {exporter} exporter wrote opset {exported} when asked for {opset}")
    os.replace(tmp, model_path)
    return model_path


def references(model_path) -> builtins.list[dict]:
    """The recorded cases beside a built model: [{"batch", "seq", "inputs", "outputs"}], with
    inputs and torch's outputs by name, in the manifest's order."""
    out_dir = pathlib.Path(model_path).parent
    manifest = json.loads((out_dir / "manifest.json").read_text())
    data = np.load(out_dir / "references.npz")
    cases = []
    for key in sorted({k.split("/")[0] for k in data.files}):
        batch, seq = (int(p[1:]) for p in key.split("_"))
        cases.append({"batch": batch, "seq": seq,
                      "inputs": {i["name"]: data[f"{key}/in/{i['name']}"] for i in manifest["inputs"]},
                      "outputs": {o: data[f"{key}/out/{o}"] for o in manifest["outputs"]}})
    return cases


def manifest(model_path) -> dict:
    return json.loads((pathlib.Path(model_path).parent / "manifest.json").read_text())

"""What a model-zoo recipe declares: how to build the torch module, its inputs, its tolerances.

A recipe is data plus one build function. Everything downstream (export, reference outputs,
tests, benchmarks) reads the same `Recipe`, so a model is described once.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

SIZES = ("smoke", "full")
# Dims exported as dynamic axes; a shape entry may also be a sum of them ("past+seq").
DYNAMIC_AXES = ("batch", "seq", "past")


def is_dynamic(dim) -> bool:
    return isinstance(dim, str) and all(part in DYNAMIC_AXES for part in dim.split("+"))


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """One graph input. `shape` holds ints, the dynamic axes "batch", "seq" and "past" (or a sum
    of them, "past+seq"), and names of per-size dims (SizeConfig.dims: fixed ones such as
    "image", and the value "past" takes in the recorded cases); `kind`
    says how values are drawn: "normal" (float32, N(0,1)), "tokens" (int64 in [0, high)),
    "mask" (int64 ones with the tail of each row after a seeded length zeroed)."""

    name: str
    shape: tuple
    kind: str = "normal"
    high: int = 0

    def dtype(self) -> np.dtype:
        return np.dtype(np.float32) if self.kind == "normal" else np.dtype(np.int64)

    def concrete_shape(self, batch: int, seq: int, dims: dict) -> tuple[int, ...]:
        named = {**dims, "batch": batch, "seq": seq}
        return tuple(sum(named[p] for p in d.split("+")) if isinstance(d, str) else int(d) for d in self.shape)

    def draw(self, rng: np.random.Generator, batch: int, seq: int, dims: dict) -> np.ndarray:
        shape = self.concrete_shape(batch, seq, dims)
        if self.kind == "normal":
            return rng.standard_normal(shape, dtype=np.float32)
        if self.kind == "tokens":
            return rng.integers(0, self.high, size=shape, dtype=np.int64)
        if self.kind == "mask":
            mask = np.ones(shape, dtype=np.int64)
            for row in range(shape[0]):
                keep = int(rng.integers(max(1, shape[-1] // 2), shape[-1] + 1))
                mask[row, keep:] = 0
            return mask
        raise ValueError(f"input {self.name}: unknown kind {self.kind!r}")


@dataclasses.dataclass(frozen=True)
class SizeConfig:
    """One size class of a recipe: the keyword arguments of its build function, the fixed
    input dims it implies, and the sequence lengths its references are recorded at (text
    models: two lengths; 0 where the model has no sequence axis)."""

    params: dict
    dims: dict = dataclasses.field(default_factory=dict)
    seq_lens: tuple[int, ...] = (0,)


@dataclasses.dataclass(frozen=True)
class CustomOp:
    """A torch custom op a recipe uses, with how each exporter writes it as ONNX:
    `torchscript(g, *inputs)` for torch.onnx.register_custom_op_symbolic, and `onnxscript`
    a function of onnxscript ops for the torch.export-based exporter's translation table.
    `torch_op()` returns the op overload (looked up late, after the recipe module defined it)."""

    name: str
    torch_op: Callable[[], object]
    torchscript: Callable[..., object]
    onnxscript: Callable[..., object]


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A model-zoo architecture.

    build(**params) returns an eval-mode torch.nn.Module whose forward takes the inputs in
    `inputs` order, with weights drawn from torch's generator seeded by the zoo before the call.
    rtol/atol bound Ferry vs onnxruntime and vs torch; `tolerance_reason` says why when they
    exceed the issue's 1e-4 default."""

    name: str
    family: str
    description: str
    build: Callable[..., object]
    inputs: tuple[InputSpec, ...]
    outputs: tuple[str, ...]
    sizes: dict[str, SizeConfig]
    rtol: float = 1e-4
    atol: float = 1e-4
    tolerance_reason: str = ""
    batch_sizes: tuple[int, ...] = (1, 3)
    custom_ops: tuple[CustomOp, ...] = ()

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        axes = {}
        for spec in self.inputs:
            named = {i: d.replace("+", "_plus_") for i, d in enumerate(spec.shape) if is_dynamic(d)}
            if named:
                axes[spec.name] = named
        return axes

    def manifest(self, size: str) -> dict:
        cfg = self.sizes[size]
        return {
            "name": self.name,
            "family": self.family,
            "description": self.description,
            "size": size,
            "params": cfg.params,
            "inputs": [{"name": s.name, "shape": [d if is_dynamic(d) else cfg.dims.get(d, d) for d in s.shape],
                        "dtype": str(s.dtype()),
                        "generator": s.kind + (f" [0, {s.high})" if s.kind == "tokens" else "")}
                       for s in self.inputs],
            "outputs": [*self.outputs],
            "batch_sizes": [*self.batch_sizes],
            "seq_lens": [s for s in cfg.seq_lens if s],
            "tolerance": {"rtol": self.rtol, "atol": self.atol, "reason": self.tolerance_reason},
        }

"""Ferry: run ONNX models from Python with onnxruntime's API.

    import ferry
    sess = ferry.InferenceSession("model.onnx")
    outputs = sess.run(None, {"input": x})

Switching from onnxruntime is a one-line change (`import ferry as ort` works for the common
API: InferenceSession, SessionOptions, GraphOptimizationLevel, RunOptions,
get_available_providers). Errors raise `ferry.FerryError` (a RuntimeError); bad inputs raise
`ferry.InvalidArgument`, which is also a ValueError.
"""

from __future__ import annotations

import enum
import os
from typing import Any, Iterable, Mapping, Sequence

# The intra-op threads are an OpenMP team (shared with oneDNN), and libgomp reads its wait policy
# once, when it is loaded, so it is chosen here, before the extension loads it, unless the user
# chose one (OMP_WAIT_POLICY or GOMP_SPINCOUNT; tests/python/test_wait_policy.py). Idle threads
# spin GOMP_SPINCOUNT=1000 pauses (about 25 us) before they sleep. That bridges the gap between
# one kernel's parallel region and the next, which otherwise costs a 30-50 us futex wake-up each
# on a 2-core VM (MobileNetV2 at 2 threads: 8.8-9.7 ms passive, 5.8-5.9 ms with this spin,
# onnxruntime 4.8-5.2). A longer spin is no faster when the machine is idle and is what hurts
# when it is not: oneDNN splits each primitive statically, so a thread that spins while its
# partner waits for a core holds up the region (with one busy process beside it: 36.5 ms at a
# spin of 10000, 13.0 ms at 1000, 10.4 ms passive, onnxruntime 8.5-12.3). libgomp's own default
# spins 300000. A libgomp that torch loaded earlier in the process keeps its own setting. C++
# programs: set GOMP_SPINCOUNT or OMP_WAIT_POLICY in their environment.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "1000"

from . import _ferry  # noqa: E402

__version__: str = _ferry.__version__

FerryError = _ferry.FerryError
InvalidArgument = _ferry.InvalidArgument
InvalidModel = _ferry.InvalidModel
NotImplementedByFerry = _ferry.NotImplementedByFerry
RunError = _ferry.RunError
FileError = _ferry.FileError

__all__ = [
    "InferenceSession", "SessionOptions", "RunOptions", "GraphOptimizationLevel", "NodeArg",
    "ModelMetadata", "get_available_providers", "get_device", "FerryError", "InvalidArgument",
    "InvalidModel", "NotImplementedByFerry", "RunError", "FileError", "__version__",
]


class GraphOptimizationLevel(enum.IntEnum):
    """onnxruntime's optimization levels, with its numbers."""
    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_ALL = 99


class ExecutionMode(enum.IntEnum):
    ORT_SEQUENTIAL = 0
    ORT_PARALLEL = 1


class SessionOptions:
    """Session settings, named as in onnxruntime. Settings Ferry does not use are accepted and
    kept (so existing code runs unchanged) but have no effect."""

    def __init__(self) -> None:
        self.intra_op_num_threads: int = 0
        self.inter_op_num_threads: int = 0
        self.graph_optimization_level: GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL
        self.optimized_model_filepath: str = ""
        self.execution_mode: ExecutionMode = ExecutionMode.ORT_SEQUENTIAL
        #: Record session phases and per-node kernel times; end_profiling() writes them as a
        #: Chrome-trace JSON file named `<profile_file_prefix>_<date_time>.json`.
        self.enable_profiling: bool = False
        self.profile_file_prefix: str = "onnxruntime_profile"
        self.enable_mem_pattern: bool = True
        self.enable_cpu_mem_arena: bool = True
        self.log_severity_level: int = 2
        self.log_verbosity_level: int = 0
        self.logid: str = ""
        #: Ferry: memory plans kept per input-shape signature.
        self.max_cached_plans: int = 16
        #: Ferry: optimizer passes to skip, by name.
        self.disabled_passes: list[str] = []
        #: Ferry: when False, a node no listed provider can run is an error, not a CPU fallback.
        self.allow_cpu_fallback: bool = True
        self._config: dict[str, str] = {}

    def add_session_config_entry(self, key: str, value: str) -> None:
        """onnxruntime's config entries. Ferry reads "session.compute_precision": "f32" (the
        default) or "bf16" (oneDNN Conv / MatMul / Gemm compute with bfloat16 operands and float32
        accumulation where the CPU has AVX512-BF16 or AMX; float32 elsewhere)."""
        self._config[str(key)] = str(value)

    def get_session_config_entry(self, key: str) -> str:
        return self._config[key]

    def _to_native(self, providers: list[str]) -> Any:
        native = _ferry.SessionOptions()
        threads = int(self.intra_op_num_threads)
        if threads < 0:
            raise InvalidArgument(f"intra_op_num_threads must be >= 0 (0 = one per core), got {threads}")
        native.intra_op_num_threads = threads
        native.graph_optimization_level = _ferry.GraphOptimizationLevel(_level_number(self.graph_optimization_level))
        native.optimized_model_filepath = os.fspath(self.optimized_model_filepath or "")
        native.providers = providers
        native.allow_cpu_fallback = bool(self.allow_cpu_fallback)
        native.disabled_passes = _pass_names(self.disabled_passes)
        native.max_cached_plans = int(self.max_cached_plans)
        native.enable_profiling = bool(self.enable_profiling)
        native.profile_file_prefix = os.fspath(self.profile_file_prefix or "onnxruntime_profile")
        native.config_entries = dict(self._config)
        return native


def _level_number(level: Any) -> int:
    """ferry.GraphOptimizationLevel, onnxruntime.GraphOptimizationLevel (a pybind11 enum whose
    int() is the same number) or a plain int -> the level's number."""
    valid = ", ".join(f"{m.name}={m.value}" for m in GraphOptimizationLevel)
    if isinstance(level, (bool, float)):
        raise InvalidArgument(f"graph_optimization_level must be a GraphOptimizationLevel ({valid}), got {level!r}")
    try:
        number = int(level)
    except (TypeError, ValueError):
        raise InvalidArgument(f"graph_optimization_level must be a GraphOptimizationLevel ({valid}), "
                              f"got {level!r}") from None
    if number not in {m.value for m in GraphOptimizationLevel}:
        raise InvalidArgument(f"graph_optimization_level {number} is not one of {valid}")
    return number


def _pass_names(names: Any) -> list[str]:
    """A pass name or an iterable of them -> list (a lone string is one name, not its letters)."""
    if names is None:
        return []
    if isinstance(names, str):
        return [names]
    out = list(names)
    for n in out:
        if not isinstance(n, str):
            raise InvalidArgument(f"disabled_passes must be pass names (strings), got {n!r}")
    return out


class RunOptions:
    """Per-run settings, named as in onnxruntime (accepted; Ferry has none that matter yet)."""

    def __init__(self) -> None:
        self.log_severity_level: int = 2
        self.log_verbosity_level: int = 0
        self.logid: str = ""
        self.run_tag: str = ""
        self.terminate: bool = False
        self.only_execute_path_to_fetches: bool = False

    def add_run_config_entry(self, key: str, value: str) -> None:
        pass


class NodeArg:
    """An input or output as the model declares it: `name`, `shape` (ints, and strings for
    symbolic dims; None when the rank is unknown) and `type` ("tensor(float)")."""

    def __init__(self, name: str, type: str, shape: list | None) -> None:
        self.name = name
        self.type = type
        self.shape = shape

    def __repr__(self) -> str:
        return f"NodeArg(name={self.name!r}, type={self.type!r}, shape={self.shape!r})"


class ModelMetadata:
    def __init__(self, info: dict) -> None:
        self.producer_name: str = info["producer_name"]
        self.graph_name: str = info["graph_name"]
        self.domain: str = info["domain"]
        self.description: str = info["doc_string"]
        self.graph_description: str = info["graph_doc_string"]
        self.version: int = info["model_version"]
        self.custom_metadata_map: dict[str, str] = dict(info["metadata"])

    def __repr__(self) -> str:
        return (f"ModelMetadata(producer_name={self.producer_name!r}, graph_name={self.graph_name!r}, "
                f"domain={self.domain!r}, version={self.version})")


def get_available_providers() -> list[str]:
    """Execution providers compiled into this build, in default priority order."""
    return list(_ferry.available_providers())


def get_all_providers() -> list[str]:
    return get_available_providers()


def get_device() -> str:
    return "CPU"


def _provider_names(providers: Iterable | None) -> list[str]:
    if providers is None:
        return []
    names = []
    for p in providers:
        # onnxruntime also accepts (name, options) pairs.
        name = p[0] if isinstance(p, (tuple, list)) else p
        if not isinstance(name, str):
            raise InvalidArgument(f"providers must be names or (name, options) pairs, got {p!r}")
        names.append(name)
    return names


class InferenceSession:
    """Loads a model once (from a path or its serialized bytes) and runs it many times.
    `run` is thread-safe and releases the GIL while the model runs."""

    def __init__(self, path_or_bytes: str | bytes | os.PathLike, sess_options: SessionOptions | None = None,
                 providers: Sequence | None = None, provider_options: Sequence | None = None,
                 **kwargs: Any) -> None:
        self._sess_options = sess_options if sess_options is not None else SessionOptions()
        names = _provider_names(providers)
        native_options = self._sess_options._to_native(names)
        # onnxruntime's spelling: InferenceSession(..., disabled_optimizers=[...]).
        extra = _pass_names(kwargs.get("disabled_optimizers"))
        if extra:
            native_options.disabled_passes = list(native_options.disabled_passes) + extra
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            self._model_path = None
            self._sess = _ferry.Session(bytes(path_or_bytes), native_options)
        else:
            self._model_path = os.fspath(path_or_bytes)
            self._sess = _ferry.Session(self._model_path, native_options)
        self._inputs = [NodeArg(v.name, v.type, v.shape) for v in self._sess.inputs]
        self._outputs = [NodeArg(v.name, v.type, v.shape) for v in self._sess.outputs]
        self._model_info = self._sess.model_info()

    def run(self, output_names: Sequence[str] | None, input_feed: Mapping[str, Any],
            run_options: RunOptions | None = None) -> list:
        """Runs the model; returns numpy arrays for `output_names` (None or empty: all outputs).
        As in onnxruntime, a sequence is a list of arrays and an optional is None (empty) or its
        value, both in `input_feed` and in the results."""
        if not isinstance(input_feed, Mapping):
            raise InvalidArgument(f"input_feed must be a dict of name -> array, got {type(input_feed).__name__}")
        names = list(output_names) if output_names else None
        return self._sess.run(names, dict(input_feed))

    def run_with_ort_values(self, output_names, input_dict_ort_values, run_options=None):
        raise NotImplementedByFerry("run_with_ort_values: Ferry has no OrtValue; use run() with numpy arrays")

    def get_inputs(self) -> list[NodeArg]:
        return list(self._inputs)

    def get_outputs(self) -> list[NodeArg]:
        return list(self._outputs)

    def get_overridable_initializers(self) -> list[NodeArg]:
        return []

    def get_providers(self) -> list[str]:
        return list(self._sess.providers())

    def get_provider_options(self) -> dict:
        return {p: {} for p in self.get_providers()}

    def get_session_options(self) -> SessionOptions:
        return self._sess_options

    def get_modelmeta(self) -> ModelMetadata:
        return ModelMetadata(self._model_info)

    def get_profiling_start_time_ns(self) -> int:
        """When profiling started (session creation), in ns since the epoch; 0 without profiling."""
        return int(self._sess.profiling_start_time_ns())

    def end_profiling(self) -> str:
        """Writes the profile (a Chrome-trace JSON list of events) and returns its file name;
        "" when the session was created without enable_profiling."""
        return self._sess.end_profiling()

    # Ferry additions ---------------------------------------------------------------------

    def model_info(self) -> dict:
        """IR version, opsets, producer, op histogram, node and parameter counts."""
        return dict(self._model_info)

    def timings(self) -> dict:
        """Milliseconds spent creating the session, by stage."""
        return self._sess.timings()

    def get_optimizer_report(self) -> list[dict]:
        """What each optimizer pass of the session's level did while the session was created, in
        pipeline order: dicts with name, ms, nodes_before, nodes_after (node counts of all graphs,
        subgraphs included, when the pass first and last ran) and changed_rounds."""
        return list(self._sess.optimizer_report()["passes"])

    def optimizer_report(self) -> dict:
        """get_optimizer_report()'s list as "passes", plus totals: rounds, nodes_before,
        nodes_after, total_ms."""
        return self._sess.optimizer_report()

    def memory_plan(self, input_shapes: Mapping[str, Sequence[int]]) -> dict:
        """The memory plan for inputs of these shapes (planned and cached if new): peak_bytes,
        total_bytes, planned_values, dynamic_values, in_place_values, view_values."""
        return self._sess.memory_plan({k: [int(d) for d in v] for k, v in input_shapes.items()})

    def cached_plan_count(self) -> int:
        return self._sess.cached_plan_count()

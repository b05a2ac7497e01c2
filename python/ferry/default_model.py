"""The bundled default model: a small CNN that recognises drawn shapes.

`ferry run` with no model runs it on a bundled sample drawing. The model is built from code,
never downloaded: a fixed edge-detecting first convolution (Sobel filters), a seeded random
second convolution, and a nearest-centroid classifier (Gemm + Softmax) fitted on a few hundred
procedurally drawn shapes. It exercises BatchNormalization, Conv, Relu, MaxPool, Flatten,
Gemm and Softmax with a symbolic batch dimension.

Everything is deterministic: the same onnx and numpy versions give the same bytes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

CLASS_NAMES = ["circle", "square", "triangle", "cross", "horizontal bar", "vertical bar"]
IMAGE_SIZE = 32
MODEL_NAME = "ferry-shapes-cnn"
_SEED = 20261121
_FORMAT_VERSION = "1"  # bump when the model's construction changes


def draw_shape(kind: str, rng: np.random.Generator, noise: float = 0.08) -> np.ndarray:
    """A 32x32 float32 drawing of `kind` with random size, position and pixel noise."""
    n = IMAGE_SIZE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    cy, cx = rng.uniform(12, 20, size=2)
    r = rng.uniform(6, 10)
    t = rng.uniform(1.5, 2.5)  # stroke half-width
    if kind == "circle":
        d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        img = np.abs(d - r) < t
    elif kind == "square":
        d = np.maximum(np.abs(yy - cy), np.abs(xx - cx))
        img = np.abs(d - r) < t
    elif kind == "triangle":
        # outline of an upward triangle: distance to its three edges
        top, base = cy - r, cy + r * 0.8
        half = (base - top) / np.sqrt(3.0)
        inside = (yy >= top) & (yy <= base) & (np.abs(xx - cx) <= (yy - top) / (base - top) * half * 1.15)
        shrunk_top, shrunk_base, shrink = top + 2 * t, base - t, 2 * t
        inner = (yy >= shrunk_top) & (yy <= shrunk_base) & (
            np.abs(xx - cx) <= np.maximum((yy - shrunk_top) / (base - top) * half * 1.15 - shrink * 0.3, 0))
        img = inside & ~inner
    elif kind == "cross":
        img = ((np.abs(yy - cy) < t) & (np.abs(xx - cx) < r)) | ((np.abs(xx - cx) < t) & (np.abs(yy - cy) < r))
    elif kind == "horizontal bar":
        img = (np.abs(yy - cy) < t) & (np.abs(xx - cx) < r * 1.3)
    elif kind == "vertical bar":
        img = (np.abs(xx - cx) < t) & (np.abs(yy - cy) < r * 1.3)
    else:
        raise ValueError(f"unknown shape {kind!r}")
    out = img.astype(np.float32) + rng.normal(0, noise, size=(n, n)).astype(np.float32)
    return np.clip(out, 0, 1)


def _weights():
    rng = np.random.default_rng(_SEED)
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32) / 4
    sobel_d = np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]], np.float32) / 4
    w1 = np.stack([sobel_x, sobel_x.T, sobel_d, sobel_d[:, ::-1], -sobel_x, -sobel_x.T])[:, None]
    b1 = np.full(6, -0.05, np.float32)
    w2 = (rng.standard_normal((12, 6, 3, 3)) * 0.3).astype(np.float32)
    b2 = np.zeros(12, np.float32)
    return rng, w1, b1, w2, b2


def _conv3x3(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NCHW convolution, 3x3 kernel, stride 1, padding 1 (numpy reference used for fitting)."""
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))  # n,c,h,w,3,3
    return np.einsum("nchwij,ocij->nohw", windows, w, optimize=True) + b[None, :, None, None]


def _maxpool2(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


_BN_MEAN, _BN_VAR = 0.15, 0.1


def _features(images: np.ndarray, w1, b1, w2, b2) -> np.ndarray:
    x = (images - _BN_MEAN) / np.sqrt(_BN_VAR + 1e-5)
    x = _maxpool2(np.maximum(_conv3x3(x, w1, b1), 0))
    x = _maxpool2(np.maximum(_conv3x3(x, w2, b2), 0))
    return x.reshape(len(images), -1)


def build_model_bytes() -> tuple[bytes, np.ndarray, float]:
    """(serialized ONNX model, sample input [1,1,32,32], held-out accuracy of the numpy reference)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng, w1, b1, w2, b2 = _weights()
    per_class = 60
    images = np.stack([draw_shape(k, rng) for k in CLASS_NAMES for _ in range(per_class)])[:, None]
    labels = np.repeat(np.arange(len(CLASS_NAMES)), per_class)
    feats = _features(images, w1, b1, w2, b2)
    scale = 1.0 / (np.linalg.norm(feats, axis=1).mean() + 1e-6)
    centroids = np.stack([feats[labels == k].mean(axis=0) for k in range(len(CLASS_NAMES))]) * scale
    temperature = 60.0
    gemm_w = (centroids * scale * temperature).astype(np.float32)  # [classes, features]
    gemm_b = (-0.5 * (centroids ** 2).sum(axis=1) * temperature).astype(np.float32)

    test_images = np.stack([draw_shape(k, rng) for k in CLASS_NAMES for _ in range(50)])[:, None]
    test_labels = np.repeat(np.arange(len(CLASS_NAMES)), 50)
    logits = _features(test_images, w1, b1, w2, b2) @ gemm_w.T + gemm_b
    accuracy = float((logits.argmax(axis=1) == test_labels).mean())

    init = [
        numpy_helper.from_array(np.array([1.0], np.float32), "bn_scale"),
        numpy_helper.from_array(np.array([0.0], np.float32), "bn_bias"),
        numpy_helper.from_array(np.array([_BN_MEAN], np.float32), "bn_mean"),
        numpy_helper.from_array(np.array([_BN_VAR], np.float32), "bn_var"),
        numpy_helper.from_array(w1, "conv1.weight"), numpy_helper.from_array(b1, "conv1.bias"),
        numpy_helper.from_array(w2, "conv2.weight"), numpy_helper.from_array(b2, "conv2.bias"),
        numpy_helper.from_array(gemm_w, "classifier.weight"), numpy_helper.from_array(gemm_b, "classifier.bias"),
    ]
    pool = dict(kernel_shape=[2, 2], strides=[2, 2])
    nodes = [
        helper.make_node("BatchNormalization", ["image", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["normalized"],
                         name="normalize", epsilon=1e-5),
        helper.make_node("Conv", ["normalized", "conv1.weight", "conv1.bias"], ["conv1"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("MaxPool", ["relu1"], ["pool1"], name="pool1", **pool),
        helper.make_node("Conv", ["pool1", "conv2.weight", "conv2.bias"], ["conv2"], name="conv2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv2"], ["relu2"], name="relu2"),
        helper.make_node("MaxPool", ["relu2"], ["pool2"], name="pool2", **pool),
        helper.make_node("Flatten", ["pool2"], ["features"], name="flatten", axis=1),
        helper.make_node("Gemm", ["features", "classifier.weight", "classifier.bias"], ["logits"], name="classifier",
                         transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, MODEL_NAME,
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, IMAGE_SIZE, IMAGE_SIZE])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", len(CLASS_NAMES)])],
        init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="ferry",
                              producer_version=_FORMAT_VERSION, ir_version=8,
                              doc_string="Recognises drawn shapes: " + ", ".join(CLASS_NAMES) + ".")
    helper.set_model_props(model, {"class_names": ",".join(CLASS_NAMES),
                                   "held_out_accuracy": f"{accuracy:.3f}"})
    onnx.checker.check_model(model, full_check=True)

    sample = draw_shape("triangle", np.random.default_rng(7), noise=0.05)[None, None]
    return model.SerializeToString(), sample.astype(np.float32), accuracy


def cache_dir() -> Path:
    """$FERRY_CACHE_DIR, else $XDG_CACHE_HOME/ferry, else ~/.cache/ferry."""
    env = os.environ.get("FERRY_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ferry"


def ensure_default_model() -> tuple[str, np.ndarray, list[str]]:
    """Builds the default model into the cache (once) and returns (path, sample input, class names)."""
    d = cache_dir() / "default_model"
    d.mkdir(parents=True, exist_ok=True)
    model_path, sample_path, digest_path = d / f"{MODEL_NAME}.onnx", d / "sample_image.npy", d / "sha256"
    if not (model_path.exists() and sample_path.exists() and digest_path.exists()
            and digest_path.read_text().strip() == hashlib.sha256(model_path.read_bytes()).hexdigest()):
        model_bytes, sample, _ = build_model_bytes()
        tmp = model_path.with_suffix(".onnx.tmp")
        tmp.write_bytes(model_bytes)
        np.save(sample_path, sample)
        os.replace(tmp, model_path)
        digest_path.write_text(hashlib.sha256(model_bytes).hexdigest())
    return str(model_path), np.load(sample_path), list(CLASS_NAMES)

"""Op table for ferry.MultiHeadAttention (ir/ferry_schemas_attention.cc): each case runs the fused
op in Ferry and, as the reference, onnxruntime on the unfused subgraph it stands for:

    K' = Concat(past_key, key, axis=2)    V' = Concat(past_value, value, axis=2)    (with a past)
    y  = MatMul([Where(IsNaN(P), 0, P)] P = Softmax(scale * MatMul(query, Transpose(K')) + bias
                                                    [+ causal mask: -inf where j > i + T' - S]), V')
    present_key = K', present_value = V'

MultiHeadAttention cases: plain, explicit and default scale, biases of rank 1-4 broadcasting
either way (a bias may also broadcast the scores up), batch and head broadcasting between query,
key and value (MQA), a value head size of its own, causal with and without a cache, NaN-to-zero
on a fully masked row, double (against the same computation in numpy: onnxruntime's double path
is float-accurate), the "BSHD" layouts (the reference transposes them), a larger case that
spans several threads, and cases whose query rows span several of the float path's 64-row blocks
(causal blocks ending inside the cache, more queries than keys, odd head sizes); each at 1 and 2
threads. ferry.RotaryEmbedding: against ai.onnx RotaryEmbedding-23 in
onnxruntime, and its fusion from a TorchScript export of HF's rotary code.

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ferry_attention_ops.py -q
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper

import ferry

F32, F64 = np.float32, np.float64


@dataclasses.dataclass
class Case:
    name: str
    q: tuple
    k: tuple
    v: tuple
    bias: tuple | None = None
    past: tuple | None = None  # (past_key shape, past_value shape)
    dtype: type = F32
    scale: float = 0.0
    is_causal: int = 0
    nan_to_zero: int = 0
    masked_row: bool = False  # bias row (0, 0, 0, :) all -inf
    outputs: int = 1
    bshd: str = ""  # which of "qkvo" (query, key, value, output) are [B, S, H, D]


CASES = [
    Case("plain", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8)),
    Case("scale", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), scale=0.2),
    Case("bias4d_padding", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), bias=(2, 1, 1, 6)),
    Case("bias4d_full", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), bias=(2, 3, 4, 6)),
    Case("bias_position", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), bias=(1, 3, 4, 6), scale=1.0),
    Case("bias2d", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), bias=(4, 6)),
    Case("bias1d", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), bias=(6,)),
    Case("bias_key_broadcast", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), bias=(2, 3, 4, 1)),
    Case("bias_broadcasts_scores_up", (1, 3, 1, 8), (1, 3, 6, 8), (1, 3, 6, 8), bias=(2, 3, 4, 6)),
    Case("mqa_broadcast", (2, 4, 5, 8), (2, 1, 7, 8), (2, 1, 7, 8), bias=(2, 1, 5, 7)),
    Case("query_batch_broadcast", (1, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8)),
    Case("value_head_size", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 10), bias=(2, 1, 1, 6)),
    Case("causal_square", (2, 3, 5, 8), (2, 3, 5, 8), (2, 3, 5, 8), is_causal=1),
    Case("causal_fewer_queries", (2, 3, 2, 8), (2, 3, 5, 8), (2, 3, 5, 8), is_causal=1, bias=(2, 1, 1, 5)),
    Case("past", (2, 3, 4, 8), (2, 3, 2, 8), (2, 3, 2, 8), past=((2, 3, 5, 8), (2, 3, 5, 8)), outputs=3),
    Case("past_causal", (2, 3, 3, 8), (2, 3, 3, 8), (2, 3, 3, 6), past=((2, 3, 4, 8), (2, 3, 4, 6)),
         is_causal=1, outputs=3, bias=(2, 1, 1, 7)),
    Case("past_one_token", (2, 3, 1, 8), (2, 3, 1, 8), (2, 3, 1, 8), past=((2, 3, 6, 8), (2, 3, 6, 8)),
         is_causal=1, outputs=3),
    Case("nan_to_zero", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), bias=(2, 1, 4, 6), nan_to_zero=1,
         masked_row=True),
    Case("f64", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), bias=(2, 1, 4, 6), dtype=F64, is_causal=1),
    Case("bshd_all", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), bias=(2, 1, 1, 6), bshd="qkvo"),
    Case("bshd_key_only", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 10), bshd="k"),
    Case("bshd_query_output_mqa", (2, 4, 5, 8), (2, 1, 7, 8), (2, 1, 7, 8), bshd="qo"),
    Case("bshd_past_causal", (2, 3, 3, 8), (2, 3, 3, 8), (2, 3, 3, 8), past=((2, 3, 4, 8), (2, 3, 4, 8)),
         is_causal=1, outputs=3, bshd="qkvo"),
    Case("large", (3, 8, 37, 16), (3, 8, 29, 16), (3, 8, 29, 16), past=((3, 8, 8, 16), (3, 8, 8, 16)),
         bias=(3, 1, 1, 37), is_causal=1, outputs=3),
    # Float path: query rows in several blocks of 64 (the last one partial), odd head sizes,
    # causal blocks that stop inside the cache or the new keys, and more queries than keys.
    Case("blocks_bshd_bias", (2, 3, 150, 13), (2, 3, 150, 13), (2, 3, 150, 7), bias=(2, 1, 1, 150), bshd="qkvo"),
    Case("blocks_causal_past_bshd", (2, 2, 130, 9), (2, 2, 130, 9), (2, 2, 130, 11),
         past=((2, 2, 70, 9), (2, 2, 70, 11)), is_causal=1, outputs=3, bshd="qkvo"),
    Case("blocks_causal_full_bias", (1, 2, 140, 5), (1, 2, 140, 5), (1, 2, 140, 5), bias=(1, 2, 140, 140),
         is_causal=1),
    Case("causal_more_queries_than_keys", (2, 2, 70, 8), (2, 2, 5, 8), (2, 2, 5, 8), is_causal=1, nan_to_zero=1),
    Case("blocks_mqa_key_broadcast_bias", (2, 4, 100, 16), (1, 1, 90, 16), (2, 1, 90, 16), bias=(2, 4, 100, 1)),
    # Rows spread evenly over the blocks (ViT's 197 tokens in 3 heads: 50, 50, 50, 47; 131 causal rows
    # in 2 heads: 44, 44, 43 at 1 thread, 27, 27, 27, 27, 23 at 2).
    Case("even_blocks_vit", (1, 3, 197, 24), (1, 3, 197, 24), (1, 3, 197, 24), bshd="qkvo"),
    Case("even_blocks_causal", (1, 2, 131, 8), (1, 2, 131, 8), (1, 2, 131, 8), is_causal=1),
    # The AVX-512 tiles (fused/attention_tiles.h): blocks of up to 32 query rows (16-row vectors,
    # partial ones padded), key tiles of 24/12, 4 and 1, output tiles of 6 rows x 64 columns (a
    # masked last vector; value heads wider than 64 in several), and P·V in chunks of 256 keys
    # (a chunk may straddle the cache and the new keys). Queries under 9 rows (seq1, seq7) take
    # oneDNN's gemm instead.
    Case("tiles_seq1", (1, 2, 1, 64), (1, 2, 1, 64), (1, 2, 1, 64)),
    Case("tiles_seq7_odd_heads", (2, 3, 7, 13), (2, 3, 7, 13), (2, 3, 7, 7), bshd="qkvo"),
    Case("tiles_seq64", (1, 4, 64, 64), (1, 4, 64, 64), (1, 4, 64, 64), bias=(1, 1, 1, 64), bshd="qkvo"),
    Case("tiles_seq197_vit", (1, 3, 197, 64), (1, 3, 197, 64), (1, 3, 197, 64), bshd="qkvo"),
    Case("tiles_seq512_wide_value", (1, 2, 512, 64), (1, 2, 512, 64), (1, 2, 512, 80)),
    Case("tiles_seq300_full_bias", (1, 2, 300, 24), (1, 2, 300, 24), (1, 2, 300, 24), bias=(1, 2, 300, 300)),
    Case("tiles_past_straddles_chunk", (2, 2, 17, 33), (2, 2, 20, 33), (2, 2, 20, 130),
         past=((2, 2, 250, 33), (2, 2, 250, 130)), is_causal=1, outputs=3, bias=(2, 1, 1, 270)),
    Case("tiles_nan_to_zero_long", (2, 2, 40, 16), (2, 2, 300, 16), (2, 2, 300, 16), bias=(2, 1, 40, 300),
         nan_to_zero=1, masked_row=True),
    Case("tiles_causal_long", (1, 2, 333, 32), (1, 2, 333, 32), (1, 2, 333, 32), is_causal=1, bshd="qkvo"),
]


def tensor_type(dt) -> int:
    return helper.np_dtype_to_tensor_dtype(np.dtype(dt))


def inputs_of(case: Case) -> dict:
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    arrays = {"query": rng.standard_normal(case.q), "key": rng.standard_normal(case.k),
              "value": rng.standard_normal(case.v)}
    if case.bias:
        arrays["attention_bias"] = rng.standard_normal(case.bias)
        if case.masked_row:
            arrays["attention_bias"][0, 0, 0, :] = -np.inf
    if case.past:
        arrays["past_key"] = rng.standard_normal(case.past[0])
        arrays["past_value"] = rng.standard_normal(case.past[1])
    for name, letter in (("query", "q"), ("key", "k"), ("value", "v")):  # fed as [B, S, H, D]
        if letter in case.bshd:
            arrays[name] = arrays[name].transpose(0, 2, 1, 3)
    return {n: np.ascontiguousarray(a.astype(case.dtype)) for n, a in arrays.items()}


def model_of(nodes, feeds: dict, outputs: list, inits: list, dt, domains) -> bytes:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, tensor_type(a.dtype), list(a.shape)) for n, a in feeds.items()],
        [helper.make_tensor_value_info(n, tensor_type(dt), None) for n in outputs], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in domains])
    model.ir_version = 8
    return model.SerializeToString()


def fused_model(case: Case, feeds: dict) -> bytes:
    names = ["query", "key", "value", "attention_bias", "past_key", "past_value"]
    ins = [n if n in feeds else "" for n in names]
    while ins and not ins[-1]:
        ins.pop()
    outs = ["y", "present_key", "present_value"][:case.outputs]
    layouts = {f"{name}_layout": "BSHD" for name, letter in
               (("query", "q"), ("key", "k"), ("value", "v"), ("output", "o")) if letter in case.bshd}
    node = helper.make_node("MultiHeadAttention", ins, outs, domain="ferry", scale=case.scale,
                            is_causal=case.is_causal, softmax_nan_to_zero=case.nan_to_zero, **layouts)
    return model_of([node], feeds, outs, [], case.dtype, [("", 17), ("ferry", 1)])


def unfused_model(case: Case, feeds: dict) -> bytes:
    dt = case.dtype
    nodes, inits = [], []

    def const(name, value):
        inits.append(onnx.numpy_helper.from_array(np.asarray(value, dtype=dt), name))
        return name

    for name, letter in (("query", "q"), ("key", "k"), ("value", "v")):
        if letter in case.bshd:
            nodes.append(helper.make_node("Transpose", [name], [name + "_bhsd"], perm=[0, 2, 1, 3]))
    q, k, v = (n + "_bhsd" if letter in case.bshd else n for n, letter in (("query", "q"), ("key", "k"), ("value", "v")))
    if case.past:
        nodes += [helper.make_node("Concat", ["past_key", k], ["present_key"], axis=2),
                  helper.make_node("Concat", ["past_value", v], ["present_value"], axis=2)]
        k, v = "present_key", "present_value"
    s, d = case.q[2], case.q[3]
    total = case.k[2] + (case.past[0][2] if case.past else 0)
    scale = case.scale if case.scale else 1.0 / np.sqrt(d)
    nodes += [helper.make_node("Transpose", [k], ["kt"], perm=[0, 1, 3, 2]),
              helper.make_node("MatMul", [q, "kt"], ["qk"]),
              helper.make_node("Mul", ["qk", const("scale", scale)], ["scores"])]
    x = "scores"
    if case.is_causal:
        i, j = np.arange(s)[:, None], np.arange(total)[None, :]
        nodes.append(helper.make_node("Add", [x, const("causal", np.where(j > i + total - s, -np.inf, 0.0))], ["x1"]))
        x = "x1"
    if case.bias:
        nodes.append(helper.make_node("Add", [x, "attention_bias"], ["x2"]))
        x = "x2"
    nodes.append(helper.make_node("Softmax", [x], ["p"], axis=-1))
    p = "p"
    if case.nan_to_zero:
        nodes += [helper.make_node("IsNaN", ["p"], ["nan"]),
                  helper.make_node("Where", ["nan", const("zero", 0.0), "p"], ["pz"])]
        p = "pz"
    if "o" in case.bshd:
        nodes += [helper.make_node("MatMul", [p, v], ["y_bhsd"]),
                  helper.make_node("Transpose", ["y_bhsd"], ["y"], perm=[0, 2, 1, 3])]
    else:
        nodes.append(helper.make_node("MatMul", [p, v], ["y"]))
    return model_of(nodes, feeds, ["y", "present_key", "present_value"][:case.outputs], inits, dt, [("", 17)])


def numpy_reference(case: Case, feeds: dict) -> list:
    """The unfused computation in numpy, for double: onnxruntime's double Softmax/MatMul path is
    only float-accurate (errors near 2e-8 on the f64 case)."""
    assert not case.bshd, "the numpy reference takes [B, H, S, D] tensors"
    k, v = feeds["key"], feeds["value"]
    if case.past:
        k = np.concatenate([feeds["past_key"], k], axis=2)
        v = np.concatenate([feeds["past_value"], v], axis=2)
    s, total = case.q[2], k.shape[2]
    x = feeds["query"] @ np.swapaxes(k, -1, -2) * (case.scale if case.scale else 1.0 / np.sqrt(case.q[3]))
    if case.is_causal:
        i, j = np.arange(s)[:, None], np.arange(total)[None, :]
        x = x + np.where(j > i + total - s, -np.inf, 0.0)
    if case.bias:
        x = x + feeds["attention_bias"]
    p = np.exp(x - x.max(axis=-1, keepdims=True))
    p = p / p.sum(axis=-1, keepdims=True)
    if case.nan_to_zero:
        p = np.where(np.isnan(p), 0.0, p)
    return [(p @ v).astype(case.dtype), k, v][:case.outputs]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_multi_head_attention(case: Case, threads: int) -> None:
    feeds = inputs_of(case)
    if case.dtype == F64:
        expected = numpy_reference(case, feeds)
    else:
        expected = ort.InferenceSession(unfused_model(case, feeds), providers=["CPUExecutionProvider"]).run(None, feeds)
    options = ferry.SessionOptions()
    options.graph_optimization_level = ferry.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = threads
    got = ferry.InferenceSession(fused_model(case, feeds), options, providers=["CPUExecutionProvider"]).run(None, feeds)
    tol = 1e-10 if case.dtype == F64 else 1e-5
    assert len(got) == len(expected) == case.outputs
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g.shape == e.shape and g.dtype == e.dtype, f"output {i}: {g.shape} {g.dtype} != {e.shape} {e.dtype}"
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol, err_msg=f"output {i}")
    if case.nan_to_zero:
        assert np.all(got[0][0, :, 0, :] == 0)


def test_mismatched_head_size_names_the_shapes() -> None:
    case = Case("bad", (2, 3, 4, 8), (2, 3, 6, 7), (2, 3, 6, 8))
    feeds = inputs_of(case)
    with pytest.raises(Exception, match=r"key .*\[2,3,6,7\]|\[2, 3, 6, 7\]"):
        ferry.InferenceSession(fused_model(case, feeds)).run(None, feeds)


# ferry.RotaryEmbedding: ai.onnx RotaryEmbedding-23 for older opsets; the reference is onnxruntime
# running the ai.onnx op at opset 23 on the same inputs.
ROTARY_CASES = [
    ("4d_positions", (2, 3, 5, 8), (16, 4), (2, 5), {}),
    ("4d_interleaved", (2, 3, 5, 8), (16, 4), (2, 5), {"interleaved": 1}),
    ("4d_partial", (2, 3, 5, 10), (16, 3), (2, 5), {"rotary_embedding_dim": 6}),
    ("3d_no_positions", (2, 5, 24), (2, 5, 4), None, {"num_heads": 3}),
]


@pytest.mark.parametrize("name,x,cache,pos,attrs", ROTARY_CASES, ids=[c[0] for c in ROTARY_CASES])
def test_rotary_embedding(name, x, cache, pos, attrs) -> None:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    feeds = {"X": rng.standard_normal(x).astype(F32), "cos_cache": rng.standard_normal(cache).astype(F32),
             "sin_cache": rng.standard_normal(cache).astype(F32)}
    if pos:
        feeds["position_ids"] = rng.integers(0, cache[0], pos).astype(np.int64)

    def model(domain, opsets):
        node = helper.make_node("RotaryEmbedding", list(feeds), ["Y"], domain=domain, **attrs)
        return model_of([node], feeds, ["Y"], [], F32, opsets)

    expected = ort.InferenceSession(model("", [("", 23)]), providers=["CPUExecutionProvider"]).run(None, feeds)
    got = ferry.InferenceSession(model("ferry", [("", 17), ("ferry", 1)])).run(None, feeds)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-5)


def test_rotary_fusion_of_a_torch_export(tmp_path) -> None:
    """HF's apply_rotary_pos_emb exported by TorchScript at opset 17 (cos/sin gathered from cached
    tables by position_ids, rotate_half by Slices): the extended level turns both rotations (q and
    k) into ferry.RotaryEmbedding, and outputs still match torch."""
    torch = pytest.importorskip("torch")

    class Rotary(torch.nn.Module):
        def __init__(self, d: int = 8, max_pos: int = 32) -> None:
            super().__init__()
            inv = 1.0 / (10000 ** (torch.arange(0, d, 2).float() / d))
            emb = torch.outer(torch.arange(max_pos).float(), inv)
            emb = torch.cat([emb, emb], dim=-1)
            self.register_buffer("cos_cached", emb.cos(), persistent=False)
            self.register_buffer("sin_cached", emb.sin(), persistent=False)

        @staticmethod
        def rotate_half(x):
            return torch.cat((-x[..., x.shape[-1] // 2:], x[..., : x.shape[-1] // 2]), dim=-1)

        def forward(self, q, k, position_ids):
            cos = self.cos_cached[position_ids].unsqueeze(1)
            sin = self.sin_cached[position_ids].unsqueeze(1)
            return q * cos + self.rotate_half(q) * sin, k * cos + self.rotate_half(k) * sin

    module = Rotary()
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 3, 5, 8, generator=gen), torch.randn(2, 3, 5, 8, generator=gen)
    pos = torch.tensor([[0, 1, 2, 3, 4], [3, 4, 5, 6, 31]])
    path = tmp_path / "rotary.onnx"
    axes = {0: "batch", 2: "seq"}
    torch.onnx.export(module, (q, k, pos), str(path), opset_version=17, dynamo=False,
                      input_names=["q", "k", "position_ids"], output_names=["qr", "kr"],
                      dynamic_axes={"q": axes, "k": axes, "position_ids": {0: "batch", 1: "seq"}})
    options = ferry.SessionOptions()
    options.graph_optimization_level = ferry.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    session = ferry.InferenceSession(str(path), options)
    ops = [(n.domain, n.op_type) for n in onnx.load(options.optimized_model_filepath).graph.node]
    assert ops == [("ferry", "RotaryEmbedding")] * 2, ops
    got = session.run(None, {"q": q.numpy(), "k": k.numpy(), "position_ids": pos.numpy()})
    with torch.no_grad():
        want = module(q, k, pos)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-6, atol=1e-6)


def packed_qkv_model(perm: list[int], x_shape: tuple, extra_reader: bool) -> onnx.ModelProto:
    """ViT's attention on a packed projection: Transpose(X, perm), Split on axis 0 into Q, K, V
    (Squeeze(0)), MatMul(Q, K^T) * scale, Softmax, MatMul with V; `extra_reader`: V is also an
    output (the chain then keeps its Transpose)."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=perm),
        helper.make_node("Split", ["xt", "sizes"], ["p0", "p1", "p2"], axis=0),
        helper.make_node("Squeeze", ["p0", "axes"], ["q"]),
        helper.make_node("Squeeze", ["p1", "axes"], ["k"]),
        helper.make_node("Squeeze", ["p2", "axes"], ["v"]),
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kt"], ["s0"]),
        helper.make_node("Mul", ["s0", "c"], ["s"]),
        helper.make_node("Softmax", ["s"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["y"]),
    ]
    outputs = [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)]
    if extra_reader:
        outputs.append(helper.make_tensor_value_info("v", onnx.TensorProto.FLOAT, None))
    g = helper.make_graph(
        nodes, "packed_qkv", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(x_shape))], outputs,
        initializer=[onnx.numpy_helper.from_array(np.array([1, 1, 1], np.int64), "sizes"),
                     onnx.numpy_helper.from_array(np.array([0], np.int64), "axes"),
                     onnx.numpy_helper.from_array(np.array(0.125, F32), "c")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


# (perm, X shape, extra reader, Transposes left after optimization): [B, S, 3, H, D] read as BSHD;
# [B, S, 3, H, D] with perm [2, 0, 1, 3, 4] (parts already in the op's order, read as BHSD);
# a part read elsewhere (no rewrite: the Transpose stays).
PACKED_CASES = [
    ("vit", [2, 0, 3, 1, 4], (1, 197, 3, 3, 64), False, 0),
    ("vit_batch2_odd", [2, 0, 3, 1, 4], (2, 37, 3, 2, 24), False, 0),
    ("parts_in_order", [2, 0, 1, 3, 4], (1, 5, 3, 7, 16), False, 0),
    ("part_read_elsewhere", [2, 0, 3, 1, 4], (1, 33, 3, 2, 16), True, 1),
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name,perm,x_shape,extra,transposes", PACKED_CASES, ids=[c[0] for c in PACKED_CASES])
def test_packed_projection_attention(tmp_path, name, perm, x_shape, extra, transposes, threads) -> None:
    m = packed_qkv_model(perm, x_shape, extra).SerializeToString()
    x = np.random.default_rng(zlib.crc32(name.encode())).standard_normal(x_shape).astype(F32)
    expected = ort.InferenceSession(m, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    opts = ferry.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.optimized_model_filepath = str(tmp_path / "opt.onnx")
    got = ferry.InferenceSession(m, opts).run(None, {"x": x})
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
    ops = [n.op_type for n in onnx.load(str(tmp_path / "opt.onnx")).graph.node]
    assert ops.count("MultiHeadAttention") == 1 and ops.count("Transpose") == transposes, ops

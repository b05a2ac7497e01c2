"""Op tests for the attention family: Attention (opsets 23, 24, 25) and RotaryEmbedding (23),
and MatMul in float16/bfloat16, against onnxruntime (onnx's reference evaluator where
onnxruntime has no kernel for the case: half types, opset 25's windows).

Attention: 3-D and 4-D inputs, multi-head / grouped-query / multi-query heads, head sizes of V
different from Q/K, causal, boolean and additive masks of rank 2-4 (short masks padded), past and
present caches, nonpad_kv_seqlen, softcap, explicit scale, softmax_precision and every
qk_matmul_output mode. RotaryEmbedding: 3-D and 4-D inputs, interleaved, partial rotation,
with and without position_ids.

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_attention.py -q
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from onnx import helper

from op_harness import onnx_reference, BOOL, F32, F64, I64, Case, In, Lit, make_test, onnx_type

F16 = np.float16

BF16 = ml_dtypes.bfloat16
CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


def attention(name, q, k, v, mask=None, past=None, nonpad=None, dt=F32, outputs=1, opsets=(23, 24),
              ref=False, rtol=None, **attrs):
    """q, k, v: shapes; mask: (shape, dtype); past: (past_k shape, past_v shape); nonpad: lengths."""
    ins = [In(q, dt), In(k, dt), In(v, dt)]
    ins.append(In(mask[0], mask[1]) if mask else None)
    ins.extend([In(past[0], dt), In(past[1], dt)] if past else [None, None])
    ins.append(Lit(np.array(nonpad, I64)) if nonpad is not None else None)
    while ins[-1] is None:
        ins.pop()
    for opset in opsets:
        add(Case("Attention", ins, attrs, opsets=(opset,), outputs=outputs, name=f"{name}",
                 reference=onnx_reference("Attention", opset, outputs) if ref else None, rtol=rtol,
                 atol=rtol))


# 4-D [B, H, S, D]: plain, GQA, MQA, V head size differing, scale, softcap, causal.
attention("4d", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8))
attention("4d_gqa", (2, 4, 3, 8), (2, 2, 5, 8), (2, 2, 5, 8))
attention("4d_mqa_causal", (1, 4, 5, 8), (1, 1, 5, 8), (1, 1, 5, 8), is_causal=1)
attention("4d_v_head", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 10))
attention("4d_scaled", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), scale=0.2)
attention("4d_softcap", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), softcap=2.0, ref=True)
attention("4d_causal", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), is_causal=1)
attention("4d_causal_square", (2, 3, 5, 8), (2, 3, 5, 8), (2, 3, 5, 8), is_causal=1)
attention("4d_large_gqa_causal_past", (3, 8, 37, 16), (3, 2, 37, 16), (3, 2, 37, 16), outputs=3,
          past=((3, 2, 29, 16), (3, 2, 29, 16)), is_causal=1)
# Masks: additive float of rank 2, 3, 4; boolean; a short mask padded with -inf; with causal.
attention("mask2d", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), mask=((4, 6), F32))
attention("mask3d", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), mask=((3, 4, 6), F32))
attention("mask4d", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), mask=((2, 3, 4, 6), F32))
attention("mask4d_bcast", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), mask=((2, 1, 1, 6), F32), ref=True)
attention("mask_bool", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), mask=((4, 6), BOOL), ref=True)
attention("mask_bool4d_causal", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), mask=((2, 3, 4, 6), BOOL),
          is_causal=1, ref=True)
attention("mask_short", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), mask=((4, 4), F32), ref=True)
attention("mask_causal", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), mask=((4, 6), F32), is_causal=1)
# 3-D [B, S, H*D] with q_num_heads / kv_num_heads.
attention("3d", (2, 4, 24), (2, 6, 24), (2, 6, 24), q_num_heads=3, kv_num_heads=3)
attention("3d_gqa_causal", (2, 4, 32), (2, 4, 16), (2, 4, 16), q_num_heads=4, kv_num_heads=2, is_causal=1)
attention("3d_v_head_mask", (2, 4, 24), (2, 6, 24), (2, 6, 30), mask=((4, 6), F32), q_num_heads=3,
          kv_num_heads=3)
# Caches: present = concat(past, current); causal offset = past length; outputs 1-3.
attention("past", (2, 3, 4, 8), (2, 3, 2, 8), (2, 3, 2, 8), past=((2, 3, 5, 8), (2, 3, 5, 8)), outputs=3)
attention("past_causal_gqa", (2, 4, 3, 8), (2, 2, 3, 8), (2, 2, 3, 6), past=((2, 2, 4, 8), (2, 2, 4, 6)),
          is_causal=1, outputs=3)
attention("3d_past", (2, 4, 24), (2, 2, 24), (2, 2, 24), past=((2, 3, 5, 8), (2, 3, 5, 8)), outputs=3,
          q_num_heads=3, kv_num_heads=3)
# qk_matmul_output in every mode.
for mode in range(4):
    attention(f"qk_mode{mode}", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), mask=((4, 6), F32), outputs=4,
              past=((2, 3, 2, 8), (2, 3, 2, 8)), qk_matmul_output_mode=mode, ref=True)
    attention(f"qk_mode{mode}_softcap", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), mask=((4, 8), F32), outputs=4,
              past=((2, 3, 2, 8), (2, 3, 2, 8)), qk_matmul_output_mode=mode, softcap=3.0, ref=True)
# nonpad_kv_seqlen (24): padding mask per batch, bottom-right causal, a fully masked row gives 0.
attention("nonpad", (2, 3, 4, 8), (2, 3, 7, 8), (2, 3, 7, 8), nonpad=[5, 7], opsets=(24,), ref=True)
attention("nonpad_causal", (2, 3, 2, 8), (2, 3, 7, 8), (2, 3, 7, 8), nonpad=[3, 7], opsets=(24,), is_causal=1,
          ref=True)
attention("nonpad_causal_negative_offset", (2, 2, 4, 8), (2, 2, 6, 8), (2, 2, 6, 8), nonpad=[2, 6],
          opsets=(24,), is_causal=1, outputs=4, qk_matmul_output_mode=3, ref=True)
attention("nonpad_mask_causal", (2, 2, 3, 8), (2, 2, 6, 8), (2, 2, 6, 8), mask=((3, 5), BOOL), nonpad=[4, 5],
          opsets=(24,), is_causal=1, ref=True)
# Sliding windows (25).
attention("window_left_causal", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), opsets=(25,), is_causal=1,
          left_window_size=2, ref=True)
attention("window_both", (2, 3, 6, 8), (2, 3, 6, 8), (2, 3, 6, 8), opsets=(25,), left_window_size=1,
          right_window_size=2, mask=((6, 6), BOOL), ref=True)
# Precision: double; float16 and bfloat16 (through the reference evaluator); softmax_precision.
attention("f64", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), dt=F64, mask=((4, 6), F64), is_causal=1, ref=True)
attention("f16", (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), dt=F16, mask=((4, 6), F16), ref=True, rtol=2e-3)
attention("f16_gqa_causal_past", (2, 4, 3, 8), (2, 2, 3, 8), (2, 2, 3, 8), dt=F16, is_causal=1, outputs=4,
          past=((2, 2, 4, 8), (2, 2, 4, 8)), qk_matmul_output_mode=3, ref=True, rtol=2e-3)
attention("f16_softmax_f32", (1, 2, 3, 8), (1, 2, 5, 8), (1, 2, 5, 8), dt=F16, softmax_precision=1, outputs=4,
          qk_matmul_output_mode=3, ref=True, rtol=2e-3)
attention("bf16_3d_causal", (2, 4, 24), (2, 6, 24), (2, 6, 24), dt=BF16, q_num_heads=3, kv_num_heads=3,
          is_causal=1, ref=True, rtol=2e-2)


def rotary(name, x, cache, pos=None, dt=F32, rtol=None, ref=False, **attrs):
    """x: input shape; cache: cos/sin shape; pos: position_ids shape (values < cache[0])."""
    ins = [In(x, dt), In(cache, dt), In(cache, dt)]
    if pos is not None:
        ins.append(Lit(np.random.default_rng(len(name)).integers(0, cache[0], pos).astype(I64)))
    add(Case("RotaryEmbedding", ins, attrs, opsets=(23,), name=name, rtol=rtol, atol=rtol,
             reference=onnx_reference("RotaryEmbedding", 23, 1) if ref else None))


rotary("4d", (2, 3, 5, 8), (16, 4), pos=(2, 5))
rotary("4d_interleaved", (2, 3, 5, 8), (16, 4), pos=(2, 5), interleaved=1)
rotary("4d_partial", (2, 3, 5, 10), (16, 3), pos=(2, 5), rotary_embedding_dim=6)
rotary("4d_partial_interleaved", (2, 3, 5, 10), (16, 2), pos=(2, 5), rotary_embedding_dim=4, interleaved=1)
rotary("3d", (2, 5, 24), (16, 4), pos=(2, 5), num_heads=3)
rotary("3d_no_pos", (2, 5, 24), (2, 5, 4), num_heads=3)
rotary("4d_no_pos_partial", (2, 3, 5, 8), (2, 5, 2), rotary_embedding_dim=4)
rotary("f16", (2, 3, 5, 8), (16, 4), pos=(2, 5), dt=F16, ref=True, rtol=2e-3)
rotary("bf16_interleaved", (2, 5, 24), (2, 5, 4), dt=BF16, num_heads=3, interleaved=1, ref=True, rtol=2e-2)

# MatMul in the half types: batched, broadcast, vectors.
for dt, tol in ((F16, 2e-3), (BF16, 2e-2)):
    tag = np.dtype(dt).name
    add(Case("MatMul", [In((2, 3, 4, 5), dt), In((5, 6), dt)], opsets=(13,), name=f"{tag}_bcast", rtol=tol,
             atol=tol, reference=onnx_reference("MatMul", 13, 1)),
        Case("MatMul", [In((7,), dt), In((3, 7, 2), dt)], opsets=(13,), name=f"{tag}_vec", rtol=tol, atol=tol,
             reference=onnx_reference("MatMul", 13, 1)),
        Case("MatMul", [In((64, 65), dt), In((65, 33), dt)], opsets=(13,), name=f"{tag}_big", rtol=tol,
             atol=tol, reference=onnx_reference("MatMul", 13, 1)))

test_op = make_test(CASES)


def _session(op, inputs, opset=23, outputs=1, **attrs):
    """A one-node model over the given arrays, run by Ferry."""
    import ferry
    names = [f"in{i}" for i in range(len(inputs))]
    node = helper.make_node(op, names, [f"out{i}" for i in range(outputs)], **attrs)
    vis = [helper.make_tensor_value_info(n, onnx_type(a.dtype), None) for n, a in zip(names, inputs)]
    outs = [helper.make_empty_tensor_value_info(f"out{i}") for i in range(outputs)]
    model = helper.make_model(helper.make_graph([node], "g", vis, outs), opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    sess = ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, dict(zip(names, inputs)))


@pytest.mark.parametrize("inputs,attrs,message", [
    ([np.zeros((1, 2, 3, 8), F32), np.zeros((1, 3, 4, 8), F32), np.zeros((1, 3, 4, 8), F32)], {},
     r"query heads \(2\) must be a multiple of the number of key/value heads \(3\)"),
    ([np.zeros((1, 4, 24), F32), np.zeros((1, 4, 24), F32), np.zeros((1, 4, 24), F32)], {},
     "3-D inputs need the attributes 'q_num_heads' and 'kv_num_heads'"),
    ([np.zeros((1, 2, 3, 8), F32), np.zeros((1, 2, 4, 8), F32), np.zeros((1, 2, 4, 8), F32),
      np.zeros((2, 4), F32)], {}, r"attn_mask float\[2,4\] does not broadcast"),
    ([np.zeros((1, 2, 3, 8), F32), np.zeros((1, 2, 4, 8), F32), np.zeros((1, 2, 4, 8), F32),
      np.zeros((3, 9), F32)], {}, "has more columns than the 4 keys"),
])
def test_attention_errors(inputs, attrs, message):
    import ferry
    with pytest.raises(ferry.FerryError, match=message):
        _session("Attention", inputs, **attrs)


def test_rotary_position_out_of_range():
    import ferry
    x = np.zeros((1, 1, 2, 4), F32)
    cache = np.zeros((3, 2), F32)
    with pytest.raises(ferry.InvalidArgument, match=r"position_ids holds 7, outside the cache's \[0, 3\)"):
        _session("RotaryEmbedding", [x, cache, cache, np.array([[0, 7]], I64)])

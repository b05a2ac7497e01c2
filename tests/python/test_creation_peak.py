"""Peak resident memory while a session is created (runtime/session.cc, ir/page_pool.h,
dnnl_runtime's reorder_to_owned). A weight being packed is resident twice (source and packed
copy) unless its source leaves as it is read: a weight aligned in the model file is packed in
slices whose file pages are dropped once read; nodes with the most releasable constant bytes are
created first, so the transient of a copied weight comes while least is resident; freed pages
are kept for reuse only up to twice the largest packed buffer requested. Each model is loaded
in a fresh process, whose VmHWM is compared with its VmRSS before and after the session's
creation. Several creation threads start a node only while the releasable bytes of the nodes
in creation stay within the largest node's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import ferry

MIB = 1 << 20


def _placed_model(inits_nodes, misalign: dict[str, int], k: int):
    """A MatMul chain (x [n, k]) whose weights' raw_data start at byte offsets with the given
    remainders mod 4 (found by padding the names)."""
    arrays, order = inits_nodes
    for pad in range(64):
        names = {n: n + "_" * ((pad >> (2 * i)) % 4) for i, n in enumerate(order)}
        nodes, x = [], "x"
        for i, n in enumerate(order):
            nodes.append(helper.make_node("MatMul", [x, names[n]], [f"m{i}"]))
            x = f"m{i}"
        n_out = arrays[order[-1]].shape[1]
        graph = helper.make_graph(
            nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", k])],
            [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["n", n_out])],
            [numpy_helper.from_array(arrays[n], names[n]) for n in order])
        data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()
        if all(data.find(arrays[n].tobytes()) % 4 == misalign[n] for n in order):
            return data
    raise AssertionError("could not place the payloads")


_PROBE = textwrap.dedent("""
    import json, sys
    import numpy as np
    import ferry
    def kb(field):
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith(field + ":"))
    before = kb("VmRSS")
    so = ferry.SessionOptions()
    so.intra_op_num_threads = int(sys.argv[2])
    sess = ferry.InferenceSession(sys.argv[1], so)
    peak, created = kb("VmHWM"), kb("VmRSS")
    x = np.load(sys.argv[3])
    np.save(sys.argv[4], sess.run(None, {"x": x})[0])
    print(json.dumps({"before_kb": before, "creation_peak_kb": peak, "created_kb": created}))
""")


def _probe(tmp_path, data: bytes, x: np.ndarray, threads: int):
    path, xin, yout = tmp_path / "m.onnx", tmp_path / "x.npy", tmp_path / "y.npy"
    path.write_bytes(data)
    np.save(xin, x)
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-c", _PROBE, str(path), str(threads), str(xin), str(yout)],
                         env=env, check=True, capture_output=True, text=True).stdout
    got = np.load(yout)
    want = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("threads", [1, 2])
def test_a_large_aligned_weight_is_not_resident_twice(tmp_path, threads):
    # 48 MiB weight aligned in the file: aliased, packed in slices, its file pages dropped.
    rng = np.random.default_rng(3)
    k, n = 512, 24576
    arrays = {"big": (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)}
    data = _placed_model((arrays, ["big"]), {"big": 0}, k)
    r = _probe(tmp_path, data, rng.standard_normal((2, k)).astype(np.float32), threads)
    grown = (r["creation_peak_kb"] - r["before_kb"]) * 1024
    weight = arrays["big"].nbytes
    assert grown < weight * 1.35, f"creation peak grew {grown / MIB:.1f} MiB for a {weight / MIB:.0f} MiB weight"


def _external_model(arrays, order, offsets, k):
    """A MatMul chain (x [n, k]) over weights in an external data file at the given offsets,
    and that file's bytes."""
    blob = bytearray(max(offsets[n] + arrays[n].nbytes for n in order))
    inits, nodes, x = [], [], "x"
    for i, n in enumerate(order):
        blob[offsets[n]:offsets[n] + arrays[n].nbytes] = arrays[n].tobytes()
        t = TensorProto(name=n, data_type=TensorProto.FLOAT, dims=arrays[n].shape)
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", "m.data"), ("offset", str(offsets[n])), ("length", str(arrays[n].nbytes))):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        inits.append(t)
        nodes.append(helper.make_node("MatMul", [x, n], [f"m{i}"]))
        x = f"m{i}"
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", k])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["n", arrays[order[-1]].shape[1]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    return model.SerializeToString(), bytes(blob)


def test_the_largest_copied_weight_is_packed_before_the_mapped_ones(tmp_path):
    # Twelve 4 MiB weights page-aligned in the data file (aliased: not resident until packed)
    # feed the first MatMuls; a 32 MiB weight misaligned in it (copied at load) feeds the last.
    # Packed last, it is resident twice on top of the twelve packed copies: the peak exceeds
    # the settled size (both packed sets, 80 MiB) by the whole copy; packed first, by one 4 MiB
    # weight at most (the later packed copies take over the copy's freed pages).
    rng = np.random.default_rng(4)
    k = 1024
    arrays = {f"w{i}": (rng.standard_normal((k, k)) / 32).astype(np.float32) for i in range(12)}
    arrays["big"] = (rng.standard_normal((k, 8 * k)) / 32).astype(np.float32)
    order = [f"w{i}" for i in range(12)] + ["big"]
    offsets = {f"w{i}": i * 4 * MIB for i in range(12)}
    offsets["big"] = 48 * MIB + 4096 + 1
    data, blob = _external_model(arrays, order, offsets, k)
    (tmp_path / "m.data").write_bytes(blob)
    r = _probe(tmp_path, data, rng.standard_normal((3, k)).astype(np.float32), 1)
    transient = (r["creation_peak_kb"] - r["created_kb"]) * 1024
    big = arrays["big"].nbytes
    assert transient < big // 2, f"the creation peak exceeds the created session's size by {transient / MIB:.1f} MiB"


def test_large_weights_are_packed_one_at_a_time_by_several_creation_threads(tmp_path):
    # Two 32 MiB weights misaligned in the data file (both copied at load) and 16 small MatMuls
    # (enough nodes for two creation threads). Packed at once, both would be resident twice:
    # the peak would exceed the settled size (the two packed copies) by 64 MiB; one at a time,
    # by one weight.
    rng = np.random.default_rng(6)
    k = 1024
    arrays = {"big0": (rng.standard_normal((k, 8 * k)) / 32).astype(np.float32),
              "big1": (rng.standard_normal((8 * k, k)) / 90).astype(np.float32)}
    for i in range(16):
        arrays[f"s{i}"] = (rng.standard_normal((k, k)) / 32).astype(np.float32)[:, :k]
    order = ["big0", "big1"] + [f"s{i}" for i in range(16)]
    offsets, at = {}, 0
    for name in order:
        offsets[name] = at + 1  # misaligned: every weight is copied at load
        at += arrays[name].nbytes + 4096
    data, blob = _external_model(arrays, order, offsets, k)
    (tmp_path / "m.data").write_bytes(blob)
    r = _probe(tmp_path, data, rng.standard_normal((2, k)).astype(np.float32), 2)
    transient = (r["creation_peak_kb"] - r["created_kb"]) * 1024
    big = arrays["big0"].nbytes
    assert transient < big * 3 // 2, f"the creation peak exceeds the created session's size by {transient / MIB:.1f} MiB"


def test_the_first_failing_node_in_graph_order_is_reported(tmp_path):
    # Node order decides which error is reported, not creation order: the second node has the
    # large constant (created first) and fails too.
    rng = np.random.default_rng(5)
    w = numpy_helper.from_array(rng.standard_normal((64, 64)).astype(np.float32), "w")
    nodes = [
        helper.make_node("Unknown1", ["x"], ["a"], name="first_bad", domain="custom.none"),
        helper.make_node("Unknown2", ["a", "w"], ["y"], name="second_bad", domain="custom.none"),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 64])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("custom.none", 1)],
                              ir_version=8)
    path = tmp_path / "bad.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(Exception) as e:
        ferry.InferenceSession(str(path))
    assert "first_bad" in str(e.value)

"""Quantized variants of model-zoo models, for measuring Ferry's int8 kernels against onnxruntime.

    FERRY_ZOO_CACHE=/work/main/build/model-zoo python bench/quantize_models.py \
        --out /tmp/ferry-quant [--models resnet50 bert_base] [--size full]

Writes <out>/<model>/<size>/model.int8.onnx and feeds.npz (the recipe's seeded batch-1 inputs),
never into the repository. Vision models: onnxruntime.quantization.quantize_static in QOperator
format over a few seeded calibration batches, quantizing only Conv and MatMul (QLinearConv,
QLinearMatMul; the com.microsoft QLinear* ops for Add/pooling are left out, so the rest stays
float between QuantizeLinear/DequantizeLinear). Transformer models: quantize_dynamic of MatMul
(DynamicQuantizeLinear + MatMulInteger, int8 weights). Then bench/bench_one.py times them:

    python bench/bench_one.py --engine ferry --model <out>/resnet50/full/model.int8.onnx \
        --feeds <out>/resnet50/full/feeds.npz --threads 1
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

_CALIBRATION_BATCHES = 4


class _Calibration:
    """onnxruntime CalibrationDataReader over seeded recipe inputs (batch 1, one per seed)."""

    def __init__(self, name: str, size: str, count: int) -> None:
        from ferry import model_zoo as z
        seq = z.recipe(name).sizes[size].seq_lens[0] if z.recipe(name).sizes[size].seq_lens else 0
        # make_inputs seeds with (recipe, batch, seq); vary seq's slot only for non-sequence
        # models is not possible, so draw batches of `count` and split them.
        feeds = z.make_inputs(name, size, count, seq)
        self._batches = [{k: v[i:i + 1] for k, v in feeds.items()} for i in range(count)]

    def get_next(self):
        return self._batches.pop() if self._batches else None


def quantize(name: str, size: str, out: pathlib.Path) -> pathlib.Path:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from ferry import model_zoo as z

    src = z.get(name, size, "torchscript", 17)
    r = z.recipe(name)
    dst_dir = out / name / size
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / "model.int8.onnx"
    seq = r.sizes[size].seq_lens[0] if r.sizes[size].seq_lens else 0
    np.savez(dst_dir / "feeds.npz", **z.make_inputs(name, size, 1, seq))
    if r.family == "vision":
        quantize_static(str(src), str(dst), _Calibration(name, size, _CALIBRATION_BATCHES),
                        quant_format=QuantFormat.QOperator, op_types_to_quantize=["Conv", "MatMul"],
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=False)
    else:
        quantize_dynamic(str(src), str(dst), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
    return dst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="cache directory for the quantized models")
    ap.add_argument("--models", nargs="+", default=["resnet50", "bert_base"])
    ap.add_argument("--size", default="full")
    args = ap.parse_args(argv)
    for name in args.models:
        path = quantize(name, args.size, pathlib.Path(args.out))
        import onnx
        ops: dict[str, int] = {}
        for node in onnx.load(str(path), load_external_data=False).graph.node:
            ops[node.op_type] = ops.get(node.op_type, 0) + 1
        print(f"{name}: {path} ops {dict(sorted(ops.items()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

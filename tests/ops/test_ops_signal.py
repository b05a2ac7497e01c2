"""Op tests for the spectral ops: DFT (opsets 17 and 20), STFT and MelWeightMatrix (opset 17).

onnxruntime is the reference for float32. Its float64 DFT of lengths that are not powers of
two is only float-accurate (errors near 2e-8), its float32 DFT of length 1000 is off by 0.03,
its STFT of complex signals disagrees with onnx's reference, and it lacks the inverse one-sided
DFT and the half types: those cases use numpy's FFT in float64.

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_signal.py -q
"""

from __future__ import annotations

import numpy as np

from op_harness import F32, F64, I32, I64, Case, In, Lit, make_test

CASES: list[Case] = []
F16 = np.float16


def add(*cases: Case) -> None:
    CASES.extend(cases)


def as_complex(x: np.ndarray) -> np.ndarray:
    return x[..., 0] + 1j * x[..., 1] if x.shape[-1] == 2 else x[..., 0].astype(np.complex128)


def np_dft(x, dft_length=None, axis_in=None, *, axis=None, inverse=0, onesided=0):
    """numpy DFT in float64 with the op's semantics; axis from the input (opset 20) or attribute."""
    ax = int(axis_in) if axis_in is not None else (axis if axis is not None else -2)
    ax %= x.ndim
    c = as_complex(x.astype(np.float64))
    n = int(dft_length) if dft_length is not None else (2 * (x.shape[ax] - 1) if inverse and onesided else x.shape[ax])
    if inverse and onesided:
        y = np.fft.irfft(c, n=n, axis=ax)[..., None]
    else:
        y = (np.fft.ifft if inverse else np.fft.fft)(c, n=n, axis=ax)
        if onesided and not inverse:
            y = np.take(y, range(n // 2 + 1), axis=ax)
        y = np.stack([y.real, y.imag], axis=-1)
    return [y.astype(x.dtype)]


def np_dft17(x, dft_length=None, **attrs):
    attrs.setdefault("axis", 1)
    return np_dft(x, dft_length, None, **attrs)


# DFT, opset 17 (axis attribute) and 20 (axis input), real and complex signals.
for dt in [F32, F64]:
    sfx = np.dtype(dt).name
    r17, r20 = (None, None) if dt == F32 else (np_dft17, np_dft)
    add(
        Case("DFT", [In((2, 16, 1), dt)], {"axis": 1}, opsets=(17,), reference=r17, name=f"real_pow2_{sfx}"),
        Case("DFT", [In((3, 12, 2), dt)], {"axis": 1}, opsets=(17,), reference=r17, name=f"complex_bluestein_{sfx}"),
        Case("DFT", [In((2, 7, 2), dt)], {"axis": 1, "inverse": 1}, opsets=(17,), reference=r17, name=f"inverse_prime_{sfx}"),
        Case("DFT", [In((4, 10, 1), dt)], {"axis": 1, "onesided": 1}, opsets=(17,), reference=r17, name=f"rfft_{sfx}"),
        Case("DFT", [In((2, 9, 1), dt), Lit(np.array(16, I64))], {"axis": 1}, opsets=(17,), reference=r17, name=f"pad_{sfx}"),
        Case("DFT", [In((2, 9, 2), dt), Lit(np.array(5, I32))], {"axis": 1}, opsets=(17,), reference=r17, name=f"truncate_{sfx}"),
        Case("DFT", [In((5, 4, 3, 2), dt)], {"axis": 0}, opsets=(17,), reference=r17, name=f"axis0_{sfx}"),
        Case("DFT", [In((2, 6, 5, 2), dt)], {"axis": -3}, opsets=(17,), reference=r17, name=f"axis_neg_{sfx}"),
        Case("DFT", [In((3, 10, 2), dt), None, Lit(np.array(1, I64))], opsets=(20,), reference=r20, name=f"axis_input_{sfx}"),
        Case("DFT", [In((3, 5, 8, 1), dt), None, Lit(np.array(-2, I64))], {"onesided": 1}, opsets=(20,), reference=r20,
             name=f"rfft_axis_input_{sfx}"),
        Case("DFT", [In((3, 10, 2), dt)], {"inverse": 1}, opsets=(20,), reference=r20, name=f"default_axis_{sfx}"),
        Case("DFT", [In((2, 11, 3, 2), dt), Lit(np.array(24, I64)), Lit(np.array(1, I64))], {"inverse": 1},
             opsets=(20,), reference=r20, name=f"inverse_pad_{sfx}"),
    )
    # IRFFT (inverse + onesided): onnxruntime computes it differently; numpy is the reference.
    add(
        Case("DFT", [In((2, 6, 2), dt)], {"axis": 1, "inverse": 1, "onesided": 1}, opsets=(17,),
             name=f"irfft_{sfx}", reference=np_dft17),
        Case("DFT", [In((2, 6, 2), dt), Lit(np.array(11, I64)), Lit(np.array(1, I64))],
             {"inverse": 1, "onesided": 1}, opsets=(20,), name=f"irfft_odd_{sfx}", reference=np_dft),
        Case("DFT", [In((1, 4, 3, 2), dt), Lit(np.array(4, I64)), Lit(np.array(-3, I64))],
             {"inverse": 1, "onesided": 1}, opsets=(20,), name=f"irfft_short_{sfx}", reference=np_dft),
    )
add(
    Case("DFT", [In((2, 1000, 2), F64)], {"axis": 1}, opsets=(17,), name="long_bluestein_float64", reference=np_dft17),
    Case("DFT", [In((2, 1000, 2), F32)], {"axis": 1}, opsets=(17,), name="long_bluestein_float32", reference=np_dft17),
    Case("DFT", [In((1, 1024, 1), F64)], {"axis": 1, "inverse": 1}, opsets=(17,), name="long_pow2_float64"),
    Case("DFT", [In((3, 1, 2), F32)], {"axis": 1}, opsets=(17,), name="length1"),
    Case("DFT", [In((2, 8, 1), F16)], {"axis": 1}, opsets=(17,), name="float16", reference=np_dft17),
    Case("DFT", [In((2, 6, 2), F16)], {"inverse": 1}, opsets=(20,), name="inverse_float16", reference=np_dft),
)


def hann(n: int, dt) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(dt)


def np_stft(x, step, window=None, frame_length=None, onesided=1):
    c = as_complex(x.astype(np.float64))
    fl = int(frame_length) if frame_length is not None else (len(window) if window is not None else x.shape[1])
    w = np.ones(fl) if window is None else window.astype(np.float64)
    frames = (x.shape[1] - fl) // int(step) + 1
    y = np.stack([np.fft.fft(c[:, f * int(step): f * int(step) + fl] * w, axis=1) for f in range(frames)], axis=1)
    if onesided:
        y = y[:, :, : fl // 2 + 1]
    return [np.stack([y.real, y.imag], axis=-1).astype(x.dtype)]


# STFT: window and/or frame_length, onesided, real and complex signals.
for dt in [F32, F64]:
    sfx = np.dtype(dt).name
    ref = None if dt == F32 else np_stft
    add(
        Case("STFT", [In((2, 64, 1), dt), Lit(np.array(8, I64)), Lit(hann(16, dt))], opsets=(17,), reference=ref,
             name=f"window_{sfx}"),
        Case("STFT", [In((1, 50, 1), dt), Lit(np.array(7, I64)), Lit(hann(12, dt)), Lit(np.array(12, I64))],
             {"onesided": 0}, opsets=(17,), reference=ref, name=f"window_and_length_twosided_{sfx}"),
        Case("STFT", [In((3, 40, 1), dt), Lit(np.array(5, I32)), None, Lit(np.array(10, I32))], opsets=(17,), reference=ref,
             name=f"frame_length_only_{sfx}"),
        # onnxruntime's STFT of a complex signal disagrees with onnx's reference by ~5; numpy is the reference.
        Case("STFT", [In((2, 33, 2), dt), Lit(np.array(4, I64)), Lit(hann(9, dt))], {"onesided": 0}, opsets=(17,),
             reference=np_stft,
             name=f"complex_{sfx}"),
    )


add(Case("STFT", [In((1, 24, 1), F16), Lit(np.array(4, I64)), Lit(hann(8, F16))], opsets=(17,), name="float16",
         reference=np_stft))


# MelWeightMatrix: scalars in, [dft_length / 2 + 1, num_mel_bins] out, several output types.
def mel_inputs(bins, dft, rate, lo, hi, ft=F32):
    return [Lit(np.array(bins, I64)), Lit(np.array(dft, I64)), Lit(np.array(rate, I64)),
            Lit(np.array(lo, ft)), Lit(np.array(hi, ft))]


add(
    Case("MelWeightMatrix", mel_inputs(8, 64, 16000, 0.0, 8000.0), opsets=(17,), name="basic"),
    Case("MelWeightMatrix", mel_inputs(10, 512, 22050, 100.0, 8000.0, F64), opsets=(17,), name="double_edges"),
    Case("MelWeightMatrix", mel_inputs(20, 1024, 44100, 30.0, 12000.0), {"output_datatype": 11}, opsets=(17,),
         name="double_out"),
    Case("MelWeightMatrix", mel_inputs(5, 31, 8000, 200.0, 3000.0), {"output_datatype": 6}, opsets=(17,),
         name="int32_out"),
    Case("MelWeightMatrix", mel_inputs(6, 128, 16000, 50.0, 7000.0), {"output_datatype": 10}, opsets=(17,),
         name="float16_out"),
)

test_op = make_test(CASES)

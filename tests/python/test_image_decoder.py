"""ImageDecoder: decoding against onnx's frozen Pillow outputs, round trips through encoders
written here (PNM, BMP, PNG, so no Pillow is needed), pixel formats, and bad streams, which
must raise an error naming the format and the problem, never crash or allocate from an
unchecked header.

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/python/test_image_decoder.py -q
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.backend.test.case.node import _image_decoder_data as frozen

import ferry

FROZEN = {
    name: getattr(frozen, f"image_decoder_decode_{name}")
    for name in ["jpeg_rgb", "jpeg_bgr", "jpeg_grayscale", "jpeg2k_rgb", "bmp_rgb", "png_rgb", "tiff_rgb",
                 "webp_rgb", "pnm_rgb"]
}


def decode(data: bytes | np.ndarray, pixel_format: str = "RGB") -> np.ndarray:
    node = helper.make_node("ImageDecoder", ["x"], ["y"], pixel_format=pixel_format)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.UINT8, [None])],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, [None, None, None])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    sess = ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    arr = np.frombuffer(bytes(data), np.uint8) if isinstance(data, (bytes, bytearray)) else data
    return sess.run(None, {"x": arr})[0]


def gray(rgb: np.ndarray) -> np.ndarray:
    """Pillow's convert("L")."""
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16).astype(np.uint8)[..., None]


@pytest.mark.parametrize("name", FROZEN)
def test_frozen_pillow_outputs(name):
    d = FROZEN[name]
    fmt = {"bgr": "BGR", "grayscale": "Grayscale"}.get(name.split("_")[-1], "RGB")
    got = decode(d.data, fmt)
    assert got.dtype == np.uint8 and got.shape == d.output.shape
    np.testing.assert_array_equal(got, d.output)


@pytest.mark.parametrize("name", ["png_rgb", "jpeg_rgb", "webp_rgb", "tiff_rgb"])
def test_pixel_formats_agree(name):
    rgb = decode(FROZEN[name].data, "RGB")
    np.testing.assert_array_equal(decode(FROZEN[name].data, "BGR"), rgb[..., ::-1])
    np.testing.assert_array_equal(decode(FROZEN[name].data, "Grayscale"), gray(rgb))


# ---- encoders written here -------------------------------------------------------------------

RNG = np.random.default_rng(7)
IMG = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)  # odd width: exercises row padding


def ppm(img: np.ndarray, binary=True) -> bytes:
    h, w, _ = img.shape
    if binary:
        return f"P6\n# comment\n{w} {h}\n255\n".encode() + img.tobytes()
    return f"P3\n{w} {h}\n255\n".encode() + " ".join(map(str, img.ravel())).encode() + b"\n"


def bmp24(img: np.ndarray, top_down=False) -> bytes:
    h, w, _ = img.shape
    stride = (w * 3 + 3) // 4 * 4
    rows = img if top_down else img[::-1]
    pixels = b"".join(r[:, ::-1].tobytes().ljust(stride, b"\0") for r in rows)
    info = struct.pack("<IiiHHIIiiII", 40, w, -h if top_down else h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) + info + pixels


def bmp8(indices: np.ndarray, palette: np.ndarray) -> bytes:
    h, w = indices.shape
    stride = (w + 3) // 4 * 4
    pixels = b"".join(r.tobytes().ljust(stride, b"\0") for r in indices[::-1])
    pal = b"".join(bytes([b, g, r, 0]) for r, g, b in palette)
    offset = 54 + len(pal)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8, 0, len(pixels), 0, 0, len(palette), 0)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + pal + pixels


def png(raw: np.ndarray, color_type: int, bit_depth=8, palette: np.ndarray | None = None) -> bytes:
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))
    h, w = raw.shape[:2]
    data = raw.astype(">u2").tobytes() if bit_depth == 16 else raw.tobytes()
    row = len(data) // h
    scan = b"".join(b"\0" + data[y * row:(y + 1) * row] for y in range(h))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0))
    if palette is not None:
        out += chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    return out + chunk(b"IDAT", zlib.compress(scan)) + chunk(b"IEND", b"")


def test_pnm_round_trips():
    np.testing.assert_array_equal(decode(ppm(IMG)), IMG)
    np.testing.assert_array_equal(decode(ppm(IMG, binary=False)), IMG)
    g = IMG[..., 0]
    pgm = f"P5 {g.shape[1]} {g.shape[0]} 255\n".encode() + g.tobytes()
    np.testing.assert_array_equal(decode(pgm, "Grayscale")[..., 0], g)
    np.testing.assert_array_equal(decode(pgm), np.repeat(g[..., None], 3, axis=2))
    bits = np.array([[1, 0, 1], [0, 0, 1]], np.uint8)
    expected = np.where(bits == 1, 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(decode(b"P1\n3 2\n101\n0 0 1\n", "Grayscale")[..., 0], expected)
    p4 = b"P4\n3 2\n" + bytes([0b10100000, 0b00100000])
    np.testing.assert_array_equal(decode(p4, "Grayscale")[..., 0], expected)
    # maxval 15 scales to 0..255; 16-bit samples (maxval > 255) are big-endian
    np.testing.assert_array_equal(decode(b"P2 2 1 15\n0 15\n", "Grayscale")[..., 0], [[0, 255]])
    np.testing.assert_array_equal(decode(b"P5 1 1 65535\n\xff\xff", "Grayscale")[..., 0], [[255]])


def test_bmp_round_trips():
    np.testing.assert_array_equal(decode(bmp24(IMG)), IMG)
    np.testing.assert_array_equal(decode(bmp24(IMG, top_down=True)), IMG)
    palette = RNG.integers(0, 256, (6, 3), dtype=np.uint8)
    idx = RNG.integers(0, 6, (4, 5), dtype=np.uint8)
    np.testing.assert_array_equal(decode(bmp8(idx, palette)), palette[idx])


def test_png_round_trips():
    np.testing.assert_array_equal(decode(png(IMG, 2)), IMG)
    alpha = np.concatenate([IMG, RNG.integers(0, 256, (5, 7, 1), dtype=np.uint8)], axis=2)
    np.testing.assert_array_equal(decode(png(alpha, 6)), IMG)  # alpha dropped, as convert("RGB")
    g = IMG[..., 1]
    np.testing.assert_array_equal(decode(png(g, 0)), np.repeat(g[..., None], 3, axis=2))
    palette = RNG.integers(0, 256, (4, 3), dtype=np.uint8)
    idx = RNG.integers(0, 4, (3, 4), dtype=np.uint8)
    np.testing.assert_array_equal(decode(png(idx, 3, palette=palette)), palette[idx])
    wide = RNG.integers(0, 65536, (3, 2, 3)).astype(np.uint16)
    np.testing.assert_array_equal(decode(png(wide, 2, bit_depth=16)), (wide >> 8).astype(np.uint8))


# ---- bad streams -----------------------------------------------------------------------------

def expect_error(data: bytes, *needles: str) -> None:
    with pytest.raises(Exception) as info:
        decode(data)
    msg = str(info.value)
    assert "ImageDecoder" in msg, msg  # the runtime names the node
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"


@pytest.mark.parametrize("name,fmt", [("jpeg_rgb", "JPEG"), ("png_rgb", "PNG"), ("webp_rgb", "WebP"),
                                      ("tiff_rgb", "TIFF"), ("jpeg2k_rgb", "JPEG 2000"), ("bmp_rgb", "BMP"),
                                      ("pnm_rgb", "PNM")])
def test_truncated(name, fmt):
    data = bytes(FROZEN[name].data)
    expect_error(data[: len(data) // 2], f"{fmt} image:")


def test_corrupt_jpeg_body():
    data = bytearray(FROZEN["jpeg_rgb"].data)
    sos = data.index(b"\xff\xda")
    data[sos + 2: sos + 40] = b"\xff\x01" * 19  # garbage markers inside the scan header
    expect_error(bytes(data), "JPEG image:")


def test_unknown_and_empty():
    expect_error(b"hello world, not an image", "unknown image format")
    expect_error(b"", "unknown image format")


def test_absurd_dimensions():
    expect_error(b"P6\n100000 100000\n255\n" + b"\0" * 16, "PNM image:", "exceed the limit")
    expect_error(b"P6\n1000 1000\n255\n" + b"\0" * 16, "PNM image:", "needs at least")
    big = bytearray(bmp24(IMG))
    struct.pack_into("<ii", big, 18, 60000, 60000)
    expect_error(bytes(big), "BMP image:", "exceed the limit")
    struct.pack_into("<ii", big, 18, 1000, 1000)
    expect_error(bytes(big), "BMP image:", "pixel data needs")
    huge_png = bytearray(png(IMG, 2))
    struct.pack_into(">II", huge_png, 16, 100000, 100000)
    huge_png[29:33] = struct.pack(">I", zlib.crc32(bytes(huge_png[12:29])))
    expect_error(bytes(huge_png), "PNG image:")


def test_bad_pixel_format():
    with pytest.raises(Exception, match="pixel_format"):
        decode(bytes(FROZEN["png_rgb"].data), "CMYK")

"""Copy kernels' work splits against onnxruntime, at 1 and 2 intra-op threads. Concat
(execution_providers/cpu/tensor/concat.cc): small output slices with a block under 16 elements
(a concat along the last axes: blocks of 1, of a few, an empty input) copied a range of slices
per work item, in tiles input after input; otherwise (a channels-last concat, large slices) one
(slice, input) block per work item. Slice (tensor_ext.h map_copy): rows copied whole where
contiguous, gathered element by element otherwise. Sizes large enough to split over threads, and
small ones that stay on the calling thread."""

from __future__ import annotations

import numpy as np
import pytest

from op_harness import Case, In, Lit, run_case

I64, U8 = np.int64, np.uint8


def i64(*v):
    return Lit(np.array(v, I64), const=True)


CASES = [
    # blocks of one element: box coordinates stacked along the last axis
    Case("Concat", [In((1, 6400, 1))] * 4, {"axis": 2}, name="last_block1"),
    Case("Concat", [In((3, 100003, 1)), In((3, 100003, 1))], {"axis": -1}, name="last_block1_split"),
    # blocks of a few elements, an empty one among them, tiles with a partial last tile
    Case("Concat", [In((5, 2731, 3)), In((5, 2731, 0)), In((5, 2731, 1)), In((5, 2731, 7))], {"axis": -1},
         name="last_mixed_blocks"),
    Case("Concat", [In((2, 70001, 2)), In((2, 70001, 5))], {"axis": 2}, name="last_few_split"),
    # one block of 16 or more and one below: still tiled
    Case("Concat", [In((1, 333, 20)), In((1, 333, 3))], {"axis": 2}, name="last_mixed_16"),
    # channels-last concat: blocks of 16 elements and more, (slice, input) blocks
    Case("Concat", [In((1, 37, 41, 20)), In((1, 37, 41, 17))], {"axis": 3}, name="nhwc_odd"),
    Case("Concat", [In((1, 80, 80, 128)), In((1, 80, 80, 64))], {"axis": -1}, name="nhwc_split"),
    # large slices: (slice, input) blocks
    Case("Concat", [In((2, 3, 50001)), In((2, 1, 50001))], {"axis": 1}, name="large_slices"),
    # other element types on the small-slice path
    Case("Concat", [In((7, 999, 1), I64), In((7, 999, 2), I64)], {"axis": 2}, name="last_i64"),
    Case("Concat", [In((7, 999, 3), U8), In((7, 999, 1), U8), In((7, 999, 30), U8)], {"axis": -1},
         name="last_u8"),
    # Slice: contiguous rows (a channel range of an NCHW head output), large and small; a strided
    # last axis (gathered); int64 rows
    Case("Slice", [In((1, 84, 80, 80)), i64(4), i64(84), i64(1)], name="rows_split"),
    Case("Slice", [In((1, 84, 20, 20)), i64(0), i64(4), i64(1)], name="rows_small"),
    Case("Slice", [In((3, 500, 701)), i64(1), i64(700), i64(2), i64(3)], name="strided_split"),
    Case("Slice", [In((5, 40000, 3), I64), i64(10), i64(39990), i64(1)], name="rows_i64"),
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_copy(case: Case, threads: int) -> None:
    run_case(case, 13, threads)

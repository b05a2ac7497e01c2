"""A YOLO-style single-stage detector: CSP-like backbone, a top-down neck (Resize + Concat),
decoded boxes and class scores per anchor point, and NonMaxSuppression on top.

torch has no NonMaxSuppression without torchvision (which does not import beside the CPU torch
build), so `nms` is a torch custom op: eager PyTorch runs the ONNX semantics written below (the
reference), and both exporters write it as an ONNX NonMaxSuppression node."""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

from .._recipe import CustomOp, InputSpec, Recipe, SizeConfig


def _iou(box: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """IoU of one [y1, x1, y2, x2] box (corners in either order, as ONNX allows) with [M, 4]."""
    def span(t, a, b):
        return torch.minimum(t[..., a], t[..., b]), torch.maximum(t[..., a], t[..., b])

    (ay1, ay2), (ax1, ax2) = span(box, 0, 2), span(box, 1, 3)
    (by1, by2), (bx1, bx2) = span(others, 0, 2), span(others, 1, 3)
    inter = ((torch.minimum(ay2, by2) - torch.maximum(ay1, by1)).clamp(min=0) *
             (torch.minimum(ax2, bx2) - torch.maximum(ax1, bx1)).clamp(min=0))
    union = (ay2 - ay1) * (ax2 - ax1) + (by2 - by1) * (bx2 - bx1) - inter
    return torch.where(union > 0, inter / union, torch.zeros_like(inter))


@torch.library.custom_op("ferry_zoo::nms", mutates_args=())
def nms(boxes: torch.Tensor, scores: torch.Tensor, max_per_class: torch.Tensor,
        iou_threshold: torch.Tensor, score_threshold: torch.Tensor) -> torch.Tensor:
    """ONNX NonMaxSuppression (center_point_box=0): per batch and class, boxes by descending
    score above score_threshold, dropping those whose IoU with a kept box exceeds
    iou_threshold, at most max_per_class each; rows of [batch, class, box]."""
    limit, iou_max, score_min = int(max_per_class), float(iou_threshold), float(score_threshold)
    rows = []
    for b in range(scores.shape[0]):
        for c in range(scores.shape[1]):
            s = scores[b, c]
            kept: list[int] = []
            for i in torch.argsort(s, descending=True, stable=True).tolist():
                if len(kept) >= limit or not s[i] > score_min:
                    break
                if kept and bool((_iou(boxes[b, i], boxes[b, kept]) > iou_max).any()):
                    continue
                kept.append(i)
            rows += [[b, c, i] for i in kept]
    return torch.tensor(rows, dtype=torch.int64).reshape(-1, 3)


@nms.register_fake
def _nms_fake(boxes, scores, max_per_class, iou_threshold, score_threshold):
    return boxes.new_empty((torch.library.get_ctx().new_dynamic_size(), 3), dtype=torch.int64)


def _nms_torchscript(g, boxes, scores, max_per_class, iou_threshold, score_threshold):
    return g.op("NonMaxSuppression", boxes, scores, max_per_class, iou_threshold, score_threshold)


def _nms_onnxscript(boxes, scores, max_per_class, iou_threshold, score_threshold):
    from onnxscript import opset18 as op

    return op.NonMaxSuppression(boxes, scores, max_per_class, iou_threshold, score_threshold)


NMS = CustomOp("ferry_zoo::nms", lambda: torch.ops.ferry_zoo.nms.default, _nms_torchscript, _nms_onnxscript)


def _conv(cin, cout, k=3, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.SiLU())


class _CSPBlock(nn.Module):
    def __init__(self, c, n):
        super().__init__()
        half = c // 2
        self.split_a, self.split_b = _conv(c, half, 1), _conv(c, half, 1)
        self.blocks = nn.ModuleList([nn.Sequential(_conv(half, half, 1), _conv(half, half, 3)) for _ in range(n)])
        self.merge = _conv(2 * half, c, 1)

    def forward(self, x):
        a, b = self.split_a(x), self.split_b(x)
        for block in self.blocks:
            a = a + block(a)
        return self.merge(torch.cat([a, b], 1))


class YoloDetector(nn.Module):
    """Three strides (8, 16, 32); per anchor point: box offsets (l, t, r, b distances, decoded
    to corner boxes in pixels) and class probabilities; NMS over all points, its selected
    [batch, class, box] rows sorted."""

    def __init__(self, width=32, depth=1, classes=80, max_per_class=100, iou=0.5, score=0.25):
        super().__init__()
        w = [width, width * 2, width * 4, width * 8]
        self.stem = nn.Sequential(_conv(3, w[0] // 2, 3, 2), _conv(w[0] // 2, w[0], 3, 2))
        self.stages = nn.ModuleList([nn.Sequential(_conv(w[i], w[i + 1], 3, 2), _CSPBlock(w[i + 1], depth))
                                     for i in range(3)])
        self.lateral = nn.ModuleList([_conv(w[3] + w[2], w[2], 1), _conv(w[2] + w[1], w[1], 1)])
        self.heads = nn.ModuleList([nn.Conv2d(c, 4 + classes, 1) for c in (w[1], w[2], w[3])])
        self.strides = (8, 16, 32)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):  # as detectors initialise before training
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
        self.register_buffer("max_per_class", torch.tensor([max_per_class], dtype=torch.int64))
        self.register_buffer("iou_threshold", torch.tensor([iou], dtype=torch.float32))
        self.register_buffer("score_threshold", torch.tensor([score], dtype=torch.float32))

    def _features(self, image):
        x = self.stem(image)
        c3 = self.stages[0](x)
        c4 = self.stages[1](c3)
        c5 = self.stages[2](c4)
        p4 = self.lateral[0](torch.cat([F.interpolate(c5, scale_factor=2.0, mode="nearest"), c4], 1))
        p3 = self.lateral[1](torch.cat([F.interpolate(p4, scale_factor=2.0, mode="nearest"), c3], 1))
        return p3, p4, c5

    @torch.no_grad()
    def calibrate(self):
        """Data-dependent head initialisation (as LSUV does), on a probe image: class logits
        spread with std 1.5 around the focal-loss prior log(0.01/0.99), box distances with std
        0.5. With torch's default head init every score sits near 0.5, where NMS's discrete
        choices hinge on last-bit differences between engines."""
        probe = torch.randn(1, 3, 256, 256, generator=torch.Generator().manual_seed(0))
        for feature, head in zip(self._features(probe), self.heads):
            scale = feature.pow(2).mean().sqrt().item() * head.in_channels ** 0.5
            head.weight[:4].normal_(0.0, 0.5 / scale)
            head.weight[4:].normal_(0.0, 1.5 / scale)
            head.bias[:4].zero_()
            head.bias[4:].fill_(-4.595)

    def forward(self, image):
        p3, p4, c5 = self._features(image)
        boxes, scores = [], []
        for feature, head, stride in zip((p3, p4, c5), self.heads, self.strides):
            out = head(feature)
            h, w = out.shape[2], out.shape[3]
            ys = (torch.arange(h, dtype=torch.float32) + 0.5) * stride
            xs = (torch.arange(w, dtype=torch.float32) + 0.5) * stride
            cy = ys.view(h, 1).expand(h, w).reshape(1, -1)
            cx = xs.view(1, w).expand(h, w).reshape(1, -1)
            dist = F.softplus(out[:, :4].flatten(2)) * stride  # [B, 4, HW]: left, top, right, bottom
            boxes.append(torch.stack([cy - dist[:, 1], cx - dist[:, 0], cy + dist[:, 3], cx + dist[:, 2]], -1))
            scores.append(torch.sigmoid(out[:, 4:].flatten(2)))
        boxes, scores = torch.cat(boxes, 1), torch.cat(scores, 2)
        keep = nms(boxes, scores, self.max_per_class, self.iou_threshold, self.score_threshold)
        # Detections in (batch, class, box) order rather than NMS's score order, so that two
        # scores equal to within rounding cannot swap rows between engines.
        key = (keep[:, 0] * scores.shape[1] + keep[:, 1]) * scores.shape[2] + keep[:, 2]
        return boxes, scores, keep[torch.argsort(key)]


RECIPES = [
    Recipe("yolo_detector", "vision", "YOLO-style detector (CSP backbone, top-down neck, NonMaxSuppression)",
           YoloDetector, (InputSpec("image", ("batch", 3, "side", "side")),), ("boxes", "scores", "selected"),
           {"full": SizeConfig({"score": 0.5}, {"side": 640}),
            "smoke": SizeConfig({"width": 8, "classes": 4, "max_per_class": 50, "score": 0.02}, {"side": 64})},
           custom_ops=(NMS,)),
]

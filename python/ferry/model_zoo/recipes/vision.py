"""Vision architectures written as plain torch modules (PyPI's torchvision does not import
beside the CPU torch build), following the published layer layouts."""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

from .._recipe import InputSpec, Recipe, SizeConfig


def _conv_bn(cin, cout, k, stride=1, groups=1, act=nn.ReLU):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


# --- ResNet-50 (He et al. 2016, v1.5: stride on the 3x3) -----------------------------------

class _Bottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * 4
        self.body = nn.Sequential(_conv_bn(cin, width, 1), _conv_bn(width, width, 3, stride),
                                  _conv_bn(width, cout, 1, act=None))
        self.skip = (_conv_bn(cin, cout, 1, stride, act=None)
                     if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        return F.relu(self.body(x) + self.skip(x))


class ResNet(nn.Module):
    def __init__(self, width=64, blocks=(3, 4, 6, 3), classes=1000):
        super().__init__()
        self.stem = nn.Sequential(_conv_bn(3, width, 7, 2), nn.MaxPool2d(3, 2, 1))
        stages, cin = [], width
        for i, n in enumerate(blocks):
            w = width * 2 ** i
            for j in range(n):
                stages.append(_Bottleneck(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w * 4
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# --- MobileNetV2 (Sandler et al. 2018) -----------------------------------------------------

class _InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [_conv_bn(cin, hidden, 1, act=nn.ReLU6)]
        layers += [_conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
                   _conv_bn(hidden, cout, 1, act=None)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


def _scaled(c, mult):
    return max(8, int(c * mult + 4) // 8 * 8)


class MobileNetV2(nn.Module):
    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, width_mult=1.0, classes=1000):
        super().__init__()
        cin = _scaled(32, width_mult)
        layers = [_conv_bn(3, cin, 3, 2, act=nn.ReLU6)]
        for t, c, n, s in self.SETTINGS:
            cout = _scaled(c, width_mult)
            for i in range(n):
                layers.append(_InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        last = _scaled(1280, max(1.0, width_mult))
        layers.append(_conv_bn(cin, last, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(last, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


# --- EfficientNet-B0 (Tan & Le 2019): MBConv with squeeze-excitation and SiLU ---------------

class _SqueezeExcite(nn.Module):
    def __init__(self, c, squeezed):
        super().__init__()
        self.reduce = nn.Conv2d(c, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, c, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.expand(F.silu(self.reduce(s))))


class _MBConv(nn.Module):
    def __init__(self, cin, cout, k, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [_conv_bn(cin, hidden, 1, act=nn.SiLU)]
        layers += [_conv_bn(hidden, hidden, k, stride, groups=hidden, act=nn.SiLU),
                   _SqueezeExcite(hidden, max(1, cin // 4)), _conv_bn(hidden, cout, 1, act=None)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class EfficientNet(nn.Module):
    # expand, kernel, stride, channels, repeats
    B0 = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
          (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))

    def __init__(self, width_mult=1.0, depth_mult=1.0, classes=1000):
        super().__init__()
        cin = _scaled(32, width_mult)
        layers = [_conv_bn(3, cin, 3, 2, act=nn.SiLU)]
        for t, k, s, c, n in self.B0:
            cout = _scaled(c, width_mult)
            for i in range(max(1, round(n * depth_mult))):
                layers.append(_MBConv(cin, cout, k, s if i == 0 else 1, t))
                cin = cout
        last = _scaled(1280, width_mult)
        layers.append(_conv_bn(cin, last, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(last, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


# --- ConvNeXt-Tiny (Liu et al. 2022) --------------------------------------------------------

class _ChannelsFirstLayerNorm(nn.Module):
    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.norm = nn.LayerNorm(c, eps=eps)

    def forward(self, x):
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class _ConvNeXtBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.pw1 = nn.Linear(c, 4 * c)
        self.pw2 = nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(torch.full((c,), 0.5))

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.gamma * self.pw2(F.gelu(self.pw1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    def __init__(self, dims=(96, 192, 384, 768), depths=(3, 3, 9, 3), classes=1000):
        super().__init__()
        layers = [nn.Conv2d(3, dims[0], 4, 4), _ChannelsFirstLayerNorm(dims[0])]
        for i, (c, n) in enumerate(zip(dims, depths)):
            if i > 0:
                layers += [_ChannelsFirstLayerNorm(dims[i - 1]), nn.Conv2d(dims[i - 1], c, 2, 2)]
            layers += [_ConvNeXtBlock(c) for _ in range(n)]
        self.features = nn.Sequential(*layers)
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        self.head = nn.Linear(dims[-1], classes)

    def forward(self, x):
        return self.head(self.norm(self.features(x).mean((2, 3))))


# --- U-Net (Ronneberger et al. 2015): ConvTranspose and Resize upsampling, skip Concat ------

class _DoubleConv(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(_conv_bn(cin, cout, 3), _conv_bn(cout, cout, 3))


class UNet(nn.Module):
    def __init__(self, base=64, depth=4, in_channels=3, classes=2):
        super().__init__()
        chans = [base * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList([_DoubleConv(in_channels, chans[0])] +
                                  [_DoubleConv(chans[i], chans[i + 1]) for i in range(depth)])
        # Alternate learned (ConvTranspose) and fixed (bilinear Resize) upsampling.
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for i in reversed(range(depth)):
            if i % 2 == 0:
                self.up.append(nn.ConvTranspose2d(chans[i + 1], chans[i], 2, 2))
            else:
                self.up.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"),
                                             nn.Conv2d(chans[i + 1], chans[i], 1)))
            self.merge.append(_DoubleConv(2 * chans[i], chans[i]))
        self.head = nn.Conv2d(chans[0], classes, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips[:-1])):
            x = merge(torch.cat([up(x), skip], 1))
        return self.head(x)


# --- ViT (Dosovitskiy et al. 2021) -----------------------------------------------------------

class _EncoderBlock(nn.Module):
    def __init__(self, dim, heads, mlp):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, mlp)
        self.fc2 = nn.Linear(mlp, dim)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attn = torch.softmax(q @ k.transpose(-2, -1) * (d // self.heads) ** -0.5, dim=-1)
        x = x + self.proj((attn @ v).transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    def __init__(self, image=224, patch=16, dim=768, depth=12, heads=12, mlp=3072, classes=1000):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, patch, patch)
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[_EncoderBlock(dim, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        return self.head(self.norm(self.blocks(x))[:, 0])


IMAGE = (InputSpec("image", ("batch", 3, "side", "side")),)


def _sizes(full: dict, smoke: dict, full_side=224, smoke_side=64):
    return {"full": SizeConfig(full, {"side": full_side}), "smoke": SizeConfig(smoke, {"side": smoke_side})}


RECIPES = [
    Recipe("resnet50", "vision", "ResNet-50 v1.5 classifier (bottleneck blocks 3-4-6-3)", ResNet,
           IMAGE, ("logits",),
           _sizes({}, {"width": 8, "blocks": (1, 1, 1, 1), "classes": 10})),
    Recipe("mobilenetv2", "vision", "MobileNetV2 classifier (inverted residuals, ReLU6, depthwise)",
           MobileNetV2, IMAGE, ("logits",),
           _sizes({}, {"width_mult": 0.25, "classes": 10})),
    Recipe("efficientnet_b0", "vision", "EfficientNet-B0 classifier (MBConv, squeeze-excitation, SiLU)",
           EfficientNet, IMAGE, ("logits",),
           _sizes({}, {"width_mult": 0.25, "depth_mult": 0.34, "classes": 10})),
    Recipe("convnext_tiny", "vision", "ConvNeXt-Tiny classifier (7x7 depthwise, LayerNorm, GELU)",
           ConvNeXt, IMAGE, ("logits",),
           _sizes({}, {"dims": (8, 16, 24, 32), "depths": (1, 1, 2, 1), "classes": 10})),
    Recipe("unet", "vision", "U-Net segmenter (ConvTranspose and bilinear Resize up, skip Concat)",
           UNet, IMAGE, ("mask_logits",),
           _sizes({}, {"base": 4, "depth": 3}, full_side=256)),
    Recipe("vit_base16", "vision", "ViT-B/16 classifier", ViT, IMAGE, ("logits",),
           _sizes({}, {"image": 32, "dim": 32, "depth": 2, "heads": 4, "mlp": 64, "classes": 10},
                  smoke_side=32)),
    Recipe("vit_tiny", "vision", "ViT-Ti/16 classifier", ViT, IMAGE, ("logits",),
           _sizes({"dim": 192, "depth": 12, "heads": 3, "mlp": 768},
                  {"image": 32, "dim": 24, "depth": 2, "heads": 3, "mlp": 48, "classes": 10}, smoke_side=32)),
]

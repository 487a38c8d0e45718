#!/usr/bin/env python3
"""PyTorch reference for mien's training benchmarks (not part of the test suite).

Builds the networks of `benches/training.rs` exactly as mien builds them, each with a 7-class
head: the baseline CNN (`BaselineCnnConfig::new()`: three blocks of conv3x3-BN-ReLU x2,
max-pool 2, dropout 0.25, channels 32/64/128; global average pooling; linear 128->512, ReLU,
dropout; linear 512->7: 356,967 trainable parameters), the wide mini-Xception of the bundled
default model and ResNet-18 with its 48x48 stem, and measures batch-64 48x48x1 inference and
training-step (forward, cross-entropy, backward, AdamW) throughput in images/s. `--layers`
times the single layers of `benches/layers.rs` instead.

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch
    /tmp/torchenv/bin/python tools/pytorch_baseline.py [--model NAME] [--threads 2] [--channels-last]
    /tmp/torchenv/bin/python tools/pytorch_baseline.py --layers

Prints one JSON line with the medians; docs/BENCHMARKS.md records the figures.
"""

import argparse
import json
import statistics
import time

import torch
from torch import nn


def conv_block(c_in: int, c_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
        nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(dropout),
    )


def baseline_cnn(num_classes: int = 7, dropout: float = 0.25) -> nn.Sequential:
    return nn.Sequential(
        conv_block(1, 32, dropout), conv_block(32, 64, dropout), conv_block(64, 128, dropout),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(128, 512), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(512, num_classes),
    )


class SeparableConvBn(nn.Module):
    """Depthwise 3x3 ("same") then pointwise 1x1, both without bias, then batch norm."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.norm = nn.BatchNorm2d(c_out)

    def forward(self, x):
        return self.norm(self.pointwise(self.depthwise(x)))


class XceptionModule(nn.Module):
    """mien's `XceptionModule`: two separable convolutions and a strided max pool, plus a
    strided 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=2, bias=False),
                                      nn.BatchNorm2d(c_out))
        self.separable1 = SeparableConvBn(c_in, c_out)
        self.separable2 = SeparableConvBn(c_out, c_out)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)

    def forward(self, x):
        residual = self.shortcut(x)
        x = torch.relu(self.separable1(x))
        return self.pool(self.separable2(x)) + residual


def mini_xception(num_classes: int = 7, stem: int = 16, modules=(32, 64, 128, 256)) -> nn.Module:
    """mien's `MiniXceptionConfig` (defaults: the wide network of the bundled default model)."""
    layers = [nn.Conv2d(1, stem, 3, bias=False), nn.BatchNorm2d(stem), nn.ReLU(),
              nn.Conv2d(stem, stem, 3, bias=False), nn.BatchNorm2d(stem), nn.ReLU()]
    channels = stem
    for c in modules:
        layers.append(XceptionModule(channels, c))
        channels = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(c_out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = torch.relu(self.norm1(self.conv1(x)))
        return torch.relu(self.norm2(self.conv2(out)) + identity)


def resnet18(num_classes: int = 7) -> nn.Module:
    """mien's `ResNet18Config::new()`: a 3x3 stride-1 stem, no max pool, stages 64-512."""
    layers = [nn.Conv2d(1, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    channels = 64
    for i, c in enumerate((64, 128, 256, 512)):
        stride = 1 if i == 0 else 2
        layers += [BasicBlock(channels, c, stride), BasicBlock(c, c, 1)]
        channels = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


MODELS = {"baseline_cnn": baseline_cnn, "mini_xception_wide": mini_xception, "resnet18": resnet18}


def median_seconds(step, warmup: int, runs: int) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_layers(args) -> None:
    """The layers of benches/layers.rs: milliseconds per call at batch 64, 32 channels, 48x48."""
    x = torch.rand(args.batch, 32, 48, 48)
    x_grad = x.clone().requires_grad_()
    conv = nn.Conv2d(32, 32, 3, padding=1)
    depthwise = nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False)
    norm = nn.BatchNorm2d(32)
    pool = nn.MaxPool2d(2)
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
        x_grad = x.clone().requires_grad_()
        for layer in (conv, depthwise, norm):
            layer.to(memory_format=torch.channels_last)

    def forward(layer):
        def run():
            with torch.no_grad():
                layer(x).sum().item()
        return run

    def forward_backward(layer):
        def run():
            x_grad.grad = None
            layer(x_grad).sum().backward()
            x_grad.grad.sum().item()
        return run

    def inference(layer):
        def run():
            layer.eval()
            forward(layer)()
        return run

    def training(layer):
        def run():
            layer.train()
            forward_backward(layer)()
        return run

    cases = [("conv3x3_32x32_48px/forward", forward(conv)),
             ("conv3x3_32x32_48px/forward_backward", forward_backward(conv)),
             ("depthwise3x3_32_48px/forward", forward(depthwise)),
             ("depthwise3x3_32_48px/forward_backward", forward_backward(depthwise)),
             ("batchnorm_32_48px/inference", inference(norm)),
             ("batchnorm_32_48px/train_forward_backward", training(norm)),
             ("maxpool2x2_32_48px/forward_backward", forward_backward(pool))]
    results = {name: round(1000 * median_seconds(f, warmup=3, runs=args.runs), 2)
               for name, f in cases}
    print(json.dumps({"torch": torch.__version__, "threads": args.threads,
                      "channels_last": args.channels_last, "ms": results}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--model", choices=sorted(MODELS), default="baseline_cnn",
                        help="the network, built as mien builds it (benches/training.rs)")
    parser.add_argument("--layers", action="store_true",
                        help="time single layers instead, like benches/layers.rs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.layers:
        return time_layers(args)

    model = MODELS[args.model]()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    images = torch.rand(args.batch, 1, 48, 48)
    labels = torch.randint(0, 7, (args.batch,))
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)

    model.eval()

    def infer():
        with torch.no_grad():
            model(images).sum().item()

    infer_s = median_seconds(infer, warmup=3, runs=args.runs)

    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()

    def train():
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        loss.item()

    train_s = median_seconds(train, warmup=3, runs=args.runs)
    print(json.dumps({
        "torch": torch.__version__, "model": args.model, "threads": args.threads,
        "channels_last": args.channels_last,
        "trainable_params": trainable, "batch": args.batch,
        "infer_img_per_s": round(args.batch / infer_s, 1),
        "train_img_per_s": round(args.batch / train_s, 1),
    }))


if __name__ == "__main__":
    main()

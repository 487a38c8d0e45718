#!/usr/bin/env python3
"""Writes fixtures/<network>_torchvision.json for ResNet-18, ResNet-50 and EfficientNet-B0:
torchvision's network, adapted to 48x48 grayscale faces exactly as mien's default config
(the stem convolution 3x3 stride 1 with one input channel; for the ResNets no max pool; no
classifier), with deterministic formula weights, applied to a formula input.

mien's tests in `crates/mien-models/tests/torchvision_reference.rs` set the same weights and
compare the features.

Formula (element i of the t-th float tensor in state-dict order, num_batches_tracked skipped):
  s = sin(0.37 i + 1.3 t)
  4-D conv weight [o, c, kh, kw]:  s * sqrt(3 / (c kh kw))
  1-D tensors in runs (the k-th of a run, from 0, takes role k mod 4); batch norm's four are
      weight 1 + 0.1 s, bias 0.1 s, running_mean 0.1 s, running_var 1 + 0.5 |s|,
      and a convolution's bias (a run of one) takes the first: 1 + 0.1 s
Input [1, 1, 48, 48]: x_i = 0.5 + 0.5 sin(0.11 i).

    /tmp/torchenv/bin/pip install torch torchvision
    /tmp/torchenv/bin/python tools/torchvision_reference.py
"""

import json
import math
from pathlib import Path

import torch
import torchvision
from torch import nn


def formula_tensor(shape, t: int, role: int) -> torch.Tensor:
    n = math.prod(shape)
    s = torch.tensor([math.sin(0.37 * i + 1.3 * t) for i in range(n)], dtype=torch.float64)
    if len(shape) == 4:
        values = s * math.sqrt(3.0 / (shape[1] * shape[2] * shape[3]))
    else:
        values = [1 + 0.1 * s, 0.1 * s, 0.1 * s, 1 + 0.5 * s.abs()][role]
    return values.reshape(shape).to(torch.float32)


def adapted(name: str) -> nn.Module:
    """torchvision's `name`, with mien's 48x48 grayscale stem and no classifier."""
    if name == "efficientnet_b0":
        model = torchvision.models.efficientnet_b0(weights=None)
        model.features[0][0] = nn.Conv2d(1, 32, 3, stride=1, padding=1, bias=False)
        model.classifier = nn.Identity()
        return model
    model = getattr(torchvision.models, name)(weights=None)
    model.conv1 = nn.Conv2d(1, 64, 3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    model.fc = nn.Identity()
    return model


def write_fixture(name: str) -> None:
    model = adapted(name)
    state = model.state_dict()
    t, run = 0, 0
    for key, tensor in state.items():
        if not tensor.is_floating_point():
            continue  # num_batches_tracked
        run = run + 1 if tensor.dim() == 1 else 0
        state[key] = formula_tensor(tuple(tensor.shape), t, (run - 1) % 4)
        t += 1
    model.load_state_dict(state)
    model.eval()

    x = torch.tensor([0.5 + 0.5 * math.sin(0.11 * i) for i in range(48 * 48)]).reshape(1, 1, 48, 48)
    with torch.no_grad():
        features = model(x.float())
    out = Path(__file__).resolve().parent.parent / "fixtures" / f"{name}_torchvision.json"
    out.write_text(json.dumps({
        "generator": "tools/torchvision_reference.py",
        "network": name,
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "float_tensors": t,
        "features": [round(v, 7) for v in features[0].tolist()],
    }) + "\n")
    print(f"wrote {out} ({t} float tensors, features[:4] = {features[0, :4].tolist()})")


def main() -> None:
    for name in ["resnet18", "resnet50", "efficientnet_b0"]:
        write_fixture(name)


if __name__ == "__main__":
    main()

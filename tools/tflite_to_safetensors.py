#!/usr/bin/env python3
"""A MediaPipe TFLite network as float32 safetensors, its graph as JSON, and a parity fixture.

Groundwork for issue #21 (face landmarks, full-range BlazeFace). MediaPipe's models ship inside
the PyPI `mediapipe` 0.10.x wheels (Apache-2.0), e.g. for 0.10.14:

    pip download mediapipe==0.10.14 --no-deps -d /tmp/mp
    unzip /tmp/mp/mediapipe-0.10.14-*.whl 'mediapipe/modules/*.tflite' -d /tmp/mp
    python tools/tflite_to_safetensors.py \
        /tmp/mp/mediapipe/modules/face_landmark/face_landmark.tflite --out /tmp/face_landmark \
        --source "PyPI mediapipe 0.10.14, mediapipe/modules/face_landmark/face_landmark.tflite"

writes `<out>.safetensors` (every constant the network reads, dequantised or densified to
float32, named as in the TFLite file, in TFLite's layout: convolution kernels O×H×W×I,
depthwise 1×H×W×C; the metadata record the source, its SHA-256 and the licence),
`<out>.graph.json` (the operators in execution order: kind, input and output tensor names and
shapes) and `<out>.fixture.json` (outputs of the TFLite runtime for a fixed input, for a Rust
parity test that needs no Python). Needs `tensorflow` (or `tensorflow-cpu`), numpy and
safetensors from PyPI.

With `--mien face_mesh`, the face landmark network's weights are instead written under the
parameter names of mien's `FaceMeshNet` (mien-detect's `face_mesh`), in burn's layout
(convolutions O×I×H×W, depthwise C×1×H×W, PReLU slopes [C]): the file mien bundles.
"""

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import tensorflow as tf
from safetensors.numpy import save_file

# Operators that only turn a stored constant into float32 weights.
UNPACKING = {"DEQUANTIZE", "DENSIFY"}


def fixed_input(shape):
    """A deterministic input in [0, 1]: smooth gradients and a checkerboard, per channel."""
    _, height, width, channels = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    planes = [
        (x / width + c * 0.25 + 0.1 * ((x // 8 + y // 8) % 2)) % 1.0 for c in range(channels)
    ]
    return np.stack(planes, axis=-1)[None].astype(np.float32)


def face_mesh_names():
    """mien's `FaceMeshNet` parameter paths → (kind, TFLite layer) for face_landmark.tflite."""
    names = {"stem.conv": ("conv", "conv2d_1"), "stem.activation": ("prelu", "p_re_lu_1")}

    def block(path, depthwise, pointwise, prelu):
        names[f"{path}.depthwise"] = ("depthwise", f"depthwise_conv2d_{depthwise}")
        names[f"{path}.pointwise"] = ("conv", f"conv2d_{pointwise}")
        names[f"{path}.activation"] = ("prelu", f"p_re_lu_{prelu}")

    for i in range(14):  # the trunk: 192 → 6 pixels
        block(f"trunk.{i}", i + 1, i + 2, i + 2)
    for j in range(3):  # the mesh head's blocks: 6 → 3 pixels
        block(f"mesh.blocks.{j}", 15 + j, 16 + j, 16 + j)
    names["mesh.reduce.conv"] = ("conv", "conv2d_19")
    names["mesh.reduce.activation"] = ("prelu", "p_re_lu_19")
    block("mesh.last", 18, 20, 20)
    names["mesh.out"] = ("conv", "conv2d_21")
    block("score.blocks.0", 23, 28, 26)
    names["score.reduce.conv"] = ("conv", "conv2d_29")
    names["score.reduce.activation"] = ("prelu", "p_re_lu_27")
    block("score.last", 24, 30, 28)
    names["score.out"] = ("conv", "conv2d_31")
    return names


def to_mien(weights, names):
    """TFLite constants renamed and re-laid out for burn; every weight is used exactly once."""
    out, used = {}, set()
    for path, (kind, layer) in names.items():
        if kind == "prelu":
            alpha = weights[f"{layer}/Alpha"]
            out[f"{path}.alpha"] = alpha.reshape(-1)
            used.add(f"{layer}/Alpha")
            continue
        kernel, bias = weights[f"{layer}/Kernel"], weights[f"{layer}/Bias"]
        # conv O×H×W×I → O×I×H×W; depthwise 1×H×W×C → C×1×H×W.
        perm = (0, 3, 1, 2) if kind == "conv" else (3, 0, 1, 2)
        out[f"{path}.weight"] = np.ascontiguousarray(kernel.transpose(perm))
        out[f"{path}.bias"] = bias
        used.update({f"{layer}/Kernel", f"{layer}/Bias"})
    # Channel paddings are the network's structure, not weights.
    unused = {k for k in weights if k not in used and not k.endswith("/Paddings")}
    assert not unused, f"weights mien does not use: {sorted(unused)}"
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tflite", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="path prefix of the outputs")
    parser.add_argument("--source", required=True, help="where the file came from")
    parser.add_argument("--license", default="Apache-2.0")
    parser.add_argument("--mien", choices=["face_mesh"], help="write mien's names and layout")
    args = parser.parse_args()

    interpreter = tf.lite.Interpreter(
        model_path=str(args.tflite),
        # Every operator visible (no XNNPACK delegate swallowing them), every tensor readable.
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        experimental_preserve_all_tensors=True,
    )
    interpreter.allocate_tensors()
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    (model_input,) = interpreter.get_input_details()
    image = fixed_input(model_input["shape"])
    interpreter.set_tensor(model_input["index"], image)
    interpreter.invoke()

    operators = interpreter._get_ops_details()  # the only API that lists the graph
    produced_by = {out: op for op in operators for out in op["outputs"]}
    weights, graph = {}, []
    for op in operators:
        if op["op_name"] in UNPACKING:
            continue
        inputs = []
        for index in (i for i in op["inputs"] if i >= 0):
            tensor = tensors[index]
            producer = produced_by.get(index)
            constant = producer is None and index != model_input["index"]
            if producer is not None and producer["op_name"] in UNPACKING:
                constant = True
                tensor = tensors[producer["inputs"][0]]
            if constant:
                weights[tensor["name"]] = np.ascontiguousarray(
                    interpreter.get_tensor(index), dtype=np.float32
                )
            inputs.append({"name": tensor["name"], "shape": tensors[index]["shape"].tolist()})
        outputs = [
            {"name": tensors[i]["name"], "shape": tensors[i]["shape"].tolist()}
            for i in op["outputs"]
        ]
        graph.append({"op": op["op_name"], "inputs": inputs, "outputs": outputs})

    data = args.tflite.read_bytes()
    metadata = {
        "source": args.source,
        "file": args.tflite.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "license": args.license,
        "layout": "TFLite: conv O×H×W×I, depthwise 1×H×W×C, NHWC activations",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.mien == "face_mesh":
        metadata["layout"] = "mien FaceMeshNet (burn): conv O×I×H×W, depthwise C×1×H×W"
        save_file(to_mien(weights, face_mesh_names()), f"{args.out}.safetensors", metadata=metadata)
    else:
        save_file(weights, f"{args.out}.safetensors", metadata=metadata)
    Path(f"{args.out}.graph.json").write_text(
        json.dumps({**metadata, "input": model_input["shape"].tolist(), "ops": graph}, indent=1)
    )
    outputs = {
        d["name"]: interpreter.get_tensor(d["index"]).astype(float).ravel().tolist()
        for d in interpreter.get_output_details()
    }
    fixture = {**metadata, "input": "tools/tflite_to_safetensors.py fixed_input", "outputs": outputs}
    Path(f"{args.out}.fixture.json").write_text(json.dumps(fixture))
    counts = {}
    for op in graph:
        counts[op["op"]] = counts.get(op["op"], 0) + 1
    print(f"{len(weights)} constants, {sum(w.size for w in weights.values())} values; ops {counts}")


if __name__ == "__main__":
    main()

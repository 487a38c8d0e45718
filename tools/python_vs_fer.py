#!/usr/bin/env python3
"""mien's Python package beside the `fer` package (PyPI), on the same FER2013 PublicTest faces.

Both read the same pre-cropped 48×48 faces: mien with `whole_image=True`, its 7-class
FER2013 model (`model="default"`) and no eyes-open classifier, `fer` with the whole crop given as the face rectangle (its
documented way to skip detection). Accuracy is against the FER2013 labels; speed is faces per
second over the same photos, after a warm-up, one photo per call as a user's loop does it (and
mien's `analyze_batch` over all of them). Run it with training and other work paused:

    python3 -m venv /tmp/ferenv
    /tmp/ferenv/bin/pip install fer tensorflow-cpu opencv-contrib-python-headless "setuptools<81" pillow
    /tmp/ferenv/bin/pip install target/wheels-release/mien-*.whl   # maturin build --release
    /tmp/ferenv/bin/python tools/python_vs_fer.py ../shared/fer2013 --count 1000 --out fer.json

Prints a Markdown table (docs/PYTHON.md) and writes the figures as JSON with --out.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def sample(fer2013: Path, count: int):
    """`count` PublicTest faces spread evenly over the split in row order, with labels."""
    photos = sorted(
        (path for label in CLASSES for path in (fer2013 / "PublicTest" / label).glob("*.png")),
        key=lambda p: p.name,
    )
    if not photos:
        raise SystemExit(f"no PublicTest/<class>/*.png under {fer2013}")
    step = len(photos) / count
    chosen = [photos[int(i * step)] for i in range(min(count, len(photos)))]
    return chosen, [path.parent.name for path in chosen]


def timed(predict, images, warmup=10):
    """Predictions for `images` and faces per second, after `warmup` unmeasured calls."""
    for image in images[:warmup]:
        predict(image)
    start = time.perf_counter()
    predictions = [predict(image) for image in images]
    return predictions, len(images) / (time.perf_counter() - start)


def accuracy(predictions, labels):
    return sum(p == t for p, t in zip(predictions, labels)) / len(labels)


def run_mien(grays, labels, single_pass):
    import mien

    # Emotions only, as fer reads them: no eyes-open classifier.
    analyzer = mien.Analyzer(
        model="default", whole_image=True, single_pass=single_pass, eye_state=False
    )

    def predict(gray):
        return analyzer.analyze(gray).faces[0].emotion

    predictions, per_call = timed(predict, grays)
    start = time.perf_counter()
    batch = analyzer.analyze_batch(grays)
    batched = len(grays) / (time.perf_counter() - start)
    assert [a.faces[0].emotion for a in batch] == predictions
    name = "mien " + ("single pass" if single_pass else "with mirror image (default)")
    return {
        "system": name,
        "accuracy": accuracy(predictions, labels),
        "faces_per_s": per_call,
        "faces_per_s_batch": batched,
    }


def run_fer(grays, labels):
    from fer.fer import FER  # fer 25.x no longer re-exports it from the package

    detector = FER()  # the default: OpenCV detector and the quantized TFLite model

    def predict(gray):
        bgr = np.dstack([gray, gray, gray])
        height, width = gray.shape
        found = detector.detect_emotions(bgr, face_rectangles=[(0, 0, width, height)])
        emotions = found[0]["emotions"]
        return max(emotions, key=emotions.get)

    predictions, per_call = timed(predict, grays)
    return {
        "system": "fer (PyPI)",
        "accuracy": accuracy(predictions, labels),
        "faces_per_s": per_call,
        "faces_per_s_batch": None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("fer2013", type=Path)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    paths, labels = sample(args.fer2013, args.count)
    grays = [np.asarray(Image.open(path).convert("L")) for path in paths]
    import fer
    import mien

    rows = [run_mien(grays, labels, single_pass=False), run_mien(grays, labels, True)]
    rows.append(run_fer(grays, labels))
    result = {
        "faces": len(grays),
        "split": "FER2013 PublicTest, every ~3.6th face in row order",
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "mien": mien.__version__,
        "fer": getattr(fer, "__version__", "?"),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "results": rows,
    }
    print(f"| system | accuracy ({len(grays)} PublicTest faces) | faces/s, one call per face | faces/s, one batch |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        batch = f"{row['faces_per_s_batch']:.0f}" if row["faces_per_s_batch"] else "—"
        print(f"| {row['system']} | {100 * row['accuracy']:.1f} % | {row['faces_per_s']:.0f} | {batch} |")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Reference detections of OpenCV's Haar cascades on ../shared/faces_wild, for mien-detect's tests.

Runs cv2.CascadeClassifier.detectMultiScale with the cascades mien bundles, on every photo of
faces_wild, with a few parameter settings, and writes the boxes (no image data) as JSON. Also
times detection on a 640x480 photo with the same parameters, for docs/DETECTION.md.

    python3 -m venv /tmp/cvenv && /tmp/cvenv/bin/pip install "opencv-python-headless<5" numpy
    cargo run --release -p mien-detect --example export_gray -- ../shared/faces_wild /tmp/mien_gray
    /tmp/cvenv/bin/python tools/haar_reference.py --data ../shared/faces_wild \
        --gray-dir /tmp/mien_gray --out fixtures/haar_opencv_faces_wild.json

Each setting is run twice: on the gray image OpenCV decodes itself (libjpeg-turbo + BGR2GRAY:
"opencv_decode") and on the gray image mien's engine sees (image crate decoder + the same
formula, exported by the example above: "mien_decode"). The JPEG decoders differ on about 1 %
of pixels, which moves a few borderline windows; on identical pixels the engines must agree
exactly.
"""
import argparse
import json
import pathlib
import time

import cv2

CASCADES = {
    "frontalface_default": "haarcascade_frontalface_default.xml",
    "eye": "haarcascade_eye.xml",
    "smile": "haarcascade_smile.xml",
}

SETTINGS = [
    {"cascade": "frontalface_default", "scale_factor": 1.1, "min_neighbors": 3, "min_size": 0},
    {"cascade": "frontalface_default", "scale_factor": 1.2, "min_neighbors": 5, "min_size": 30},
    {"cascade": "frontalface_default", "scale_factor": 1.1, "min_neighbors": 0, "min_size": 0},
    {"cascade": "eye", "scale_factor": 1.1, "min_neighbors": 3, "min_size": 0},
    {"cascade": "smile", "scale_factor": 1.3, "min_neighbors": 10, "min_size": 0},
]

# Raw (ungrouped) detections are only kept for these photos, to keep the fixture small.
RAW_FOR = {"2008_001322.jpg", "2009_004587.jpg"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="../shared/faces_wild")
    parser.add_argument("--gray-dir", required=True, help="output of the export_gray example")
    parser.add_argument("--out", default="fixtures/haar_opencv_faces_wild.json")
    args = parser.parse_args()
    root = pathlib.Path(args.data)
    photos = sorted(
        p for p in root.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"}
    )
    cascades = {
        name: cv2.CascadeClassifier(cv2.data.haarcascades + file)
        for name, file in CASCADES.items()
    }
    cv2.setNumThreads(2)
    gray_dir = pathlib.Path(args.gray_dir)
    results = []
    for decoder, setting in [(d, s) for d in ("opencv_decode", "mien_decode") for s in SETTINGS]:
        cascade = cascades[setting["cascade"]]
        images = []
        for photo in photos:
            name = str(photo.relative_to(root))
            if setting["min_neighbors"] == 0 and photo.name not in RAW_FOR:
                continue
            if decoder == "opencv_decode":
                image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
                gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            else:
                exported = (gray_dir / name).with_suffix(".png")
                gray = cv2.imread(str(exported), cv2.IMREAD_GRAYSCALE)
            size = setting["min_size"]
            boxes = cascade.detectMultiScale(
                gray,
                scaleFactor=setting["scale_factor"],
                minNeighbors=setting["min_neighbors"],
                minSize=(size, size),
            )
            boxes = [list(map(int, b)) for b in boxes]
            images.append(
                {"file": name, "width": gray.shape[1], "height": gray.shape[0], "boxes": boxes}
            )
        results.append({**setting, "decoder": decoder, "images": images})

    # Timing: two_people.jpg resized to 640x480, median of 20 runs.
    photo = root / "face_recognition_examples" / "two_people.jpg"
    gray = cv2.cvtColor(cv2.resize(cv2.imread(str(photo)), (640, 480)), cv2.COLOR_BGR2GRAY)
    timing = {}
    for setting in SETTINGS[:2]:
        cascade = cascades[setting["cascade"]]
        size = setting["min_size"]
        runs = []
        for _ in range(20):
            start = time.perf_counter()
            cascade.detectMultiScale(
                gray,
                scaleFactor=setting["scale_factor"],
                minNeighbors=setting["min_neighbors"],
                minSize=(size, size),
            )
            runs.append(time.perf_counter() - start)
        runs.sort()
        key = f"{setting['cascade']} sf={setting['scale_factor']} mn={setting['min_neighbors']} min={size}"
        timing[key] = round(runs[len(runs) // 2] * 1000, 2)

    fixture = {
        "generator": "tools/haar_reference.py",
        "opencv_version": cv2.__version__,
        "threads": cv2.getNumThreads(),
        "settings": results,
        "timing_ms_640x480": timing,
    }
    pathlib.Path(args.out).write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {args.out}: {sum(len(s['images']) for s in results)} image results")
    print("median ms per 640x480 photo:", timing)


if __name__ == "__main__":
    main()

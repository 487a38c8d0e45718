#!/usr/bin/env python3
"""Runs mien's ONNX exports through onnxruntime and compares them with mien's own outputs.

For every `<name>.onnx` beside a `<name>.json` in DIR (written by the `onnx_reference`
example), runs the file on the JSON's faces and checks each output against mien's
interpreter and burn within 1e-4 of the output's largest value. Exits 1 when any differs.

    cargo run --release -p mien-models --features onnx --example onnx_reference -- /tmp/onnx
    python3 tools/onnx_check.py /tmp/onnx [--fixture FILE] [--bench]

--fixture FILE  also writes onnxruntime's outputs for the bundled models, with the SHA-1 of
                the files it ran, for `cargo test` to check without Python.
--bench         also times batch-1 inference with 1 and 2 threads (median of --runs).

Needs `pip install onnxruntime numpy`.
"""

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

TOLERANCE = 1e-4
BUNDLED = ("default", "ferplus-smile")


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def median_ms(run, runs: int) -> float:
    for _ in range(3):
        run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--fixture", type=Path)
    parser.add_argument("--bench", action="store_true")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    names = sorted(p.stem for p in args.dir.glob("*.onnx") if p.with_suffix(".json").exists())
    if not names:
        print(f"no <name>.onnx with <name>.json in {args.dir}", file=sys.stderr)
        return 1
    failures = 0
    fixture = {"onnxruntime": ort.__version__, "models": {}}
    print(f"onnxruntime {ort.__version__}")
    print(f"{'model':<28} {'output':<14} {'|ort - mien| rel.':>17} {'|ort - burn| rel.':>17}")
    for name in names:
        path = args.dir / f"{name}.onnx"
        reference = json.loads(path.with_suffix(".json").read_text())
        image = np.asarray(reference["input"], dtype=np.float32).reshape(reference["shape"])
        sess = session(path, 1)
        outputs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"image": image})))
        for output, values in outputs.items():
            if reference.get(output) is None:
                print(f"{name}: {output} exported but mien has none", file=sys.stderr)
                failures += 1
                continue
            got = values.reshape(-1)
            # Relative to the output's largest value: untrained backbones give features of
            # a few thousandths, where an absolute 1e-4 would hide a wrong layer.
            scale = max(float(np.abs(got).max()), 1e-12)
            mien = np.asarray(reference[output], dtype=np.float32)
            burn = np.asarray(reference[f"burn_{output}"], dtype=np.float32).reshape(-1)
            diff_mien = float(np.abs(got - mien).max()) / scale
            diff_burn = float(np.abs(got - burn).max()) / scale
            bad = diff_mien > TOLERANCE or diff_burn > TOLERANCE
            failures += bad
            flag = "  FAIL" if bad else ""
            print(f"{name:<28} {output:<14} {diff_mien:>17.2e} {diff_burn:>17.2e}{flag}")
        if name in BUNDLED:
            fixture["models"][name] = {
                "sha1": hashlib.sha1(path.read_bytes()).hexdigest(),
                "input": reference["input"],
                **{k: v.reshape(-1).tolist() for k, v in outputs.items()},
            }
    if args.fixture:
        args.fixture.write_text(json.dumps(fixture) + "\n")
        print(f"wrote {args.fixture}")
    if args.bench:
        print(f"\nbatch-1 latency, median of {args.runs} runs (ms)")
        print(f"{'model':<22} {'1 thread':>9} {'2 threads':>10}")
        for name in (n for n in names if not n.endswith(".features")):
            path = args.dir / f"{name}.onnx"
            reference = json.loads(path.with_suffix(".json").read_text())
            shape = [1] + reference["shape"][1:]
            face = np.asarray(reference["input"], dtype=np.float32)[: int(np.prod(shape))]
            face = face.reshape(shape)
            times = []
            for threads in (1, 2):
                sess = session(path, threads)
                times.append(median_ms(lambda: sess.run(None, {"image": face}), args.runs))
            print(f"{name:<22} {times[0]:>9.3f} {times[1]:>10.3f}")
    if failures:
        print(f"{failures} outputs differ by more than {TOLERANCE} of their scale", file=sys.stderr)
        return 1
    print(f"every output within {TOLERANCE} of its largest value")
    return 0


if __name__ == "__main__":
    sys.exit(main())

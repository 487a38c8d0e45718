#!/usr/bin/env python3
"""Trains every architecture with one recipe and one epoch budget, all runs at once.

    tools/compare_architectures.py --train target/release/train --config configs/compare.json \
        --data $MIEN_DATA/fer2013 --out runs/compare --budget-minutes 6

1. Calibration: each architecture trains two short epochs (`--calibration-faces` of each
   split), all concurrently, so the timings include the sharing of the machine. The second
   epoch's seconds per trained and per validated face (the first pays for start-up, kernel
   compilation and autotuning) give each architecture's estimated seconds per full epoch.
2. The epoch budget: the largest number of epochs that the slowest architecture finishes in
   `--budget-minutes` (clamped to `--min-epochs`..`--max-epochs`). Every architecture trains
   that many epochs, so all get the same recipe, schedule and number of gradient steps.
3. The runs, concurrently. A run still going at `--deadline-minutes` is stopped; its
   `history.json` holds every finished epoch and `status.json` says it was cut short.

Writes one run folder per architecture under `--out`, `plan.json` (calibration figures, the
chosen epochs) beside them, and the calibration runs in `<out>-calibration`;
`compare runs/compare/*/` turns the run folders into the results table. `--out` must be new:
`train` refuses to start over a run folder that already has a checkpoint.
Standard library only, so it runs wherever the `train` binary does.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ARCHITECTURES = [
    "baseline_cnn",
    "attention_cnn",
    "multi_scale",
    "hybrid_transformer",
    "region_ensemble",
    "vit_tiny",
    "resnet18",
    "mini_xception",
]


def launch(args, arch, out, epochs, limit=None):
    """Starts one `train` run; its output goes to `out/train.log`."""
    out.mkdir(parents=True, exist_ok=True)
    command = [args.train, "--config", args.config, "--arch", arch, "--name", arch,
               "--epochs", str(epochs), "--data", args.data, "--out", str(out)]
    if limit is not None:
        command += ["--limit", str(limit)]
    with open(out / "train.log", "w") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def wait_all(runs, deadline):
    """Waits for every run until `deadline` (time.monotonic), then stops the rest.

    Returns {arch: exit code, or None when stopped at the deadline}.
    """
    codes = {}
    while len(codes) < len(runs):
        for arch, process in runs.items():
            if arch not in codes and process.poll() is not None:
                codes[arch] = process.returncode
        if time.monotonic() > deadline:
            for arch, process in runs.items():
                if arch not in codes:
                    process.terminate()
                    process.wait()
                    codes[arch] = None
        time.sleep(1)
    return codes


def history(run):
    return json.loads((run / "history.json").read_text())


def calibrate(args):
    """Estimated seconds per full epoch of each architecture that trains, run concurrently.

    An architecture whose calibration fails is left out of the comparison (its log is
    printed); the whole run stops only when none trains.
    """
    root = Path(str(Path(args.out)) + "-calibration")
    runs = {a: launch(args, a, root / a, 2, args.calibration_faces) for a in args.archs}
    codes = wait_all(runs, time.monotonic() + 60 * args.calibration_minutes)
    estimates = {}
    for arch, code in codes.items():
        if code != 0:
            log = (root / arch / "train.log").read_text(errors="replace")[-3000:]
            print(f"calibration of {arch} failed ({code}); left out:\n{log}", flush=True)
            continue
        record = history(root / arch)[-1]
        valid_n = record["valid"]["n"]
        estimates[arch] = {
            "train_seconds": record["train_seconds"],
            "faces": record["faces"],
            "valid_seconds": record["valid_seconds"],
            "valid_faces": valid_n,
            "epoch_seconds": record["train_seconds"] / record["faces"] * args.train_faces
            + record["valid_seconds"] / valid_n * args.valid_faces,
        }
    if not estimates:
        sys.exit("no architecture trained in the calibration")
    return estimates


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", required=True, help="the train binary")
    parser.add_argument("--config", required=True, help="the shared recipe (JSON)")
    parser.add_argument("--data", required=True, help="dataset folder")
    parser.add_argument("--out", required=True, help="folder for the runs and plan.json")
    parser.add_argument("--archs", default=",".join(ARCHITECTURES))
    parser.add_argument("--budget-minutes", type=float, required=True,
                        help="wall time the slowest architecture may train")
    parser.add_argument("--deadline-minutes", type=float,
                        help="stop runs still going after this long [default: 1.3 x budget]")
    parser.add_argument("--min-epochs", type=int, default=2)
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--calibration-faces", type=int, default=1600,
                        help="faces of each split in the calibration epochs")
    parser.add_argument("--calibration-minutes", type=float, default=2.5,
                        help="an architecture not calibrated by then is left out")
    parser.add_argument("--train-faces", type=int, default=28709,
                        help="faces in a full training epoch (FER2013 Training)")
    parser.add_argument("--valid-faces", type=int, default=3309,
                        help="faces validated per epoch (PublicTest less duplicates)")
    args = parser.parse_args()
    args.archs = args.archs.split(",")
    args.deadline_minutes = args.deadline_minutes or 1.3 * args.budget_minutes
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    estimates = calibrate(args)
    calibration_seconds = time.monotonic() - started
    slowest = max(e["epoch_seconds"] for e in estimates.values())
    epochs = int(60 * args.budget_minutes // slowest)
    epochs = max(args.min_epochs, min(args.max_epochs, epochs))
    plan = {"epochs": epochs, "budget_minutes": args.budget_minutes,
            "calibration_seconds": calibration_seconds, "calibration": estimates,
            "config": args.config, "device": os.environ.get("MIEN_DEVICE", "cpu")}
    (out / "plan.json").write_text(json.dumps(plan, indent=2))
    print(f"calibrated in {calibration_seconds:.0f} s; slowest epoch ≈ {slowest:.1f} s; "
          f"training {epochs} epochs", flush=True)

    started = time.monotonic()
    runs = {a: launch(args, a, out / a, epochs) for a in estimates}
    codes = wait_all(runs, started + 60 * args.deadline_minutes)
    for arch, code in codes.items():
        done = len(history(out / arch)) if (out / arch / "history.json").is_file() else 0
        status = {"exit_code": code, "stopped_at_deadline": code is None,
                  "epochs_done": done, "epochs_planned": epochs}
        (out / arch / "status.json").write_text(json.dumps(status, indent=2))
        print(f"{arch}: {done}/{epochs} epochs, exit {code}", flush=True)
    print(f"trained in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()

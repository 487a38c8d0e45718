#!/usr/bin/env python3
"""Trains every architecture with one recipe and one compute budget.

Two ways to set the budget:

- Equal epochs (`--budget-minutes`, for a GPU where every run shares one device):

      tools/compare_architectures.py --train target/release/train --config configs/compare.json \
          --data $MIEN_DATA/fer2013 --out runs/compare --budget-minutes 6

  1. Calibration: each architecture trains two short epochs (`--calibration-faces` of each
     split), all concurrently, so the timings include the sharing of the machine. The second
     epoch's seconds per trained and per validated face (the first pays for start-up, kernel
     compilation and autotuning) give each architecture's estimated seconds per full epoch.
  2. The epoch budget: the largest number of epochs that the slowest architecture finishes in
     `--budget-minutes` (clamped to `--min-epochs`..`--max-epochs`). Every architecture trains
     that many epochs, so all get the same recipe, schedule and number of gradient steps.

- Equal training time (`--throughput FILE --budget-minutes T --epochs E`, for the CPU, where
  a full epoch of the slow architectures takes hours): FILE maps each architecture to its
  training throughput in faces/s as `cargo bench -p mien-benches --bench models` measured it
  on this machine. Each architecture trains the faces it gets through in T minutes at that
  rate, in E epochs of `epoch_faces` faces each (so the cosine schedule spans its own budget
  and its learning curve has E points). The budget is counted in faces, not wall time, so the
  runs give the same result however busy the machine is; validation is not counted.

Then the runs, `--jobs` at a time (default: all at once), slowest first. A run still going at
`--deadline-minutes` is stopped; its `history.json` holds every finished epoch and
`status.json` says it was cut short.

Writes one run folder per architecture under `--out`, `plan.json` (the budget, calibration
figures, epochs and faces per epoch) beside them, and any calibration runs in
`<out>-calibration`; `compare runs/compare/*/` turns the run folders into the results table.
`--out` must be new: `train` refuses to start over a run folder that already has a checkpoint.
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


def launch(args, arch, out, epochs, limit=None, epoch_faces=None):
    """Starts one `train` run; its output goes to `out/train.log`."""
    out.mkdir(parents=True, exist_ok=True)
    command = [args.train, "--config", args.config, "--arch", arch, "--name", arch,
               "--epochs", str(epochs), "--data", args.data, "--out", str(out)]
    if limit is not None:
        command += ["--limit", str(limit)]
    if epoch_faces is not None:
        command += ["--epoch-faces", str(epoch_faces)]
    with open(out / "train.log", "w") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def run_all(starts, jobs, deadline):
    """Runs the `starts` ({arch: function that launches its run}) `jobs` at a time, in order,
    until `deadline` (time.monotonic); then stops the rest.

    Returns {arch: exit code, or None when stopped or never started by the deadline}.
    """
    pending, running, codes = list(starts), {}, {}
    while pending or running:
        while pending and len(running) < jobs and time.monotonic() < deadline:
            arch = pending.pop(0)
            running[arch] = starts[arch]()
        for arch, process in list(running.items()):
            if process.poll() is not None:
                codes[arch] = process.returncode
                del running[arch]
        if time.monotonic() > deadline:
            for arch, process in running.items():
                process.terminate()
                process.wait()
                codes[arch] = None
            codes.update({arch: None for arch in pending})
            break
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
    starts = {a: (lambda a=a: launch(args, a, root / a, 2, args.calibration_faces))
              for a in args.archs}
    codes = run_all(starts, len(starts), time.monotonic() + 60 * args.calibration_minutes)
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


def equal_epochs(args):
    """The plan of the equal-epoch budget: calibration, then one epoch count for all."""
    started = time.monotonic()
    estimates = calibrate(args)
    calibration_seconds = time.monotonic() - started
    slowest = max(e["epoch_seconds"] for e in estimates.values())
    epochs = int(60 * args.budget_minutes // slowest)
    epochs = max(args.min_epochs, min(args.max_epochs, epochs))
    print(f"calibrated in {calibration_seconds:.0f} s; slowest epoch ≈ {slowest:.1f} s; "
          f"training {epochs} epochs", flush=True)
    runs = {a: {"epochs": epochs, "epoch_faces": None,
                "seconds": estimates[a]["epoch_seconds"] * epochs} for a in estimates}
    return {"budget": "equal epochs", "calibration_seconds": calibration_seconds,
            "calibration": estimates, "runs": runs}


def equal_time(args):
    """The plan of the equal-time budget: each architecture's faces from its throughput."""
    throughput = json.loads(Path(args.throughput).read_text())
    # Epochs train whole batches: round each budget to the recipe's batch size.
    batch_size = json.loads(Path(args.config).read_text()).get("batch_size", 64)
    missing = [a for a in args.archs if a not in throughput]
    if missing:
        sys.exit(f"{args.throughput} has no throughput for {', '.join(missing)}")
    runs = {}
    for arch in args.archs:
        faces = 60 * args.budget_minutes * throughput[arch]
        batches = max(1, round(faces / args.epochs / batch_size))
        runs[arch] = {"epochs": args.epochs, "epoch_faces": batches * batch_size,
                      "faces_per_second": throughput[arch], "seconds": faces / throughput[arch]}
        print(f"{arch}: {args.epochs} epochs of {batches * batch_size} faces "
              f"({throughput[arch]} faces/s)", flush=True)
    return {"budget": "equal training time", "throughput_file": args.throughput, "runs": runs}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", required=True, help="the train binary")
    parser.add_argument("--config", required=True, help="the shared recipe (JSON)")
    parser.add_argument("--data", required=True, help="dataset folder")
    parser.add_argument("--out", required=True, help="folder for the runs and plan.json")
    parser.add_argument("--archs", default=",".join(ARCHITECTURES))
    parser.add_argument("--budget-minutes", type=float, required=True,
                        help="equal epochs: wall time the slowest architecture may train; "
                             "equal time: training minutes of each architecture")
    parser.add_argument("--throughput",
                        help="JSON {architecture: training faces/s}: budget in equal time")
    parser.add_argument("--epochs", type=int, default=5,
                        help="equal time: epochs (learning-curve points) of each run")
    parser.add_argument("--jobs", type=int,
                        help="equal time: runs at a time [default: all]")
    parser.add_argument("--deadline-minutes", type=float,
                        help="stop runs still going after this long [default: 1.3 x budget "
                             "for equal epochs, none for equal time]")
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
    if args.jobs and not args.throughput:
        # The equal-epoch budget is calibrated on all runs sharing the machine at once, and
        # its deadline counts from their common start.
        parser.error("--jobs needs --throughput (the equal-time budget)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    plan = equal_time(args) if args.throughput else equal_epochs(args)
    deadline = args.deadline_minutes or (None if args.throughput else 1.3 * args.budget_minutes)
    plan.update({"budget_minutes": args.budget_minutes, "config": args.config,
                 "device": os.environ.get("MIEN_DEVICE", "cpu"), "jobs": args.jobs})
    (out / "plan.json").write_text(json.dumps(plan, indent=2))

    runs = plan["runs"]
    # Longest first; among equal budgets, the slowest network (whose validation takes
    # longest) first.
    slowest_first = sorted(runs, key=lambda a: (-runs[a]["seconds"],
                                                runs[a].get("faces_per_second", 0)))
    starts = {a: (lambda a=a: launch(args, a, out / a, runs[a]["epochs"],
                                     epoch_faces=runs[a]["epoch_faces"]))
              for a in slowest_first}
    started = time.monotonic()
    end = started + 60 * deadline if deadline else float("inf")
    codes = run_all(starts, args.jobs or len(starts), end)
    for arch, code in codes.items():
        done = len(history(out / arch)) if (out / arch / "history.json").is_file() else 0
        epochs = runs[arch]["epochs"]
        started_run = (out / arch / "train.log").is_file()
        status = {"exit_code": code, "started": started_run,
                  "stopped_at_deadline": code is None and started_run,
                  "epochs_done": done, "epochs_planned": epochs}
        (out / arch / "status.json").parent.mkdir(parents=True, exist_ok=True)
        (out / arch / "status.json").write_text(json.dumps(status, indent=2))
        print(f"{arch}: {done}/{epochs} epochs, exit {code}", flush=True)
    print(f"trained in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()

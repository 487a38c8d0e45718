#!/usr/bin/env python3
"""Throughput of mien.ray on a local Ray instance, beside one process, on the same photos.

The collection is a folder of photos copied `--repeat` times. Ray runs with 1 and with
`--cores` actors of one core each, from reading the files to writing Parquet; the reference is
one Python process calling `Analyzer.analyze_batch` on all the paths (every core, what
`mien batch` does without its CSV). Run it with a release wheel installed and with training
and other work paused:

    /tmp/pyenv/bin/python tools/scale_bench.py ../shared/faces_wild --repeat 30 --out scale.json

Prints a Markdown table (docs/SCALE.md).
"""

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import ray

import mien
import mien.ray

EXTENSIONS = {".jpg", ".jpeg", ".png"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    files = sorted(p for p in args.photos.rglob("*") if p.suffix.lower() in EXTENSIONS)
    work = Path(tempfile.mkdtemp(prefix="mien-scale-"))
    collection = work / "photos"
    for copy in range(args.repeat):
        for path in files:
            target = collection / str(copy) / path.relative_to(args.photos)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    photos = len(files) * args.repeat
    rows = []

    paths = sorted(str(p) for p in collection.rglob("*") if p.suffix.lower() in EXTENSIONS)
    analyzer = mien.Analyzer()
    start = time.perf_counter()
    results = analyzer.analyze_batch(paths, on_error="return")
    seconds = time.perf_counter() - start
    faces = sum(len(r.faces) for r in results if isinstance(r, mien.Analysis))
    rows.append(("one process, analyze_batch (all cores)", args.cores, seconds, faces))

    ray.init(num_cpus=args.cores, include_dashboard=False, log_to_driver=False)
    for actors in sorted({1, args.cores}):
        start = time.perf_counter()
        counts = mien.ray.analyze_to_parquet(
            str(collection), str(work / f"ray{actors}"), root=str(collection), concurrency=actors
        )
        seconds = time.perf_counter() - start
        rows.append((f"mien.ray, {actors} actor(s) of 1 core", actors, seconds, counts["faces"]))
    ray.shutdown()
    shutil.rmtree(work)

    print(f"{photos} photos ({len(files)} distinct, {args.repeat} copies each)\n")
    print("| run | cores | seconds | photos/s | photos/s per core | faces |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, cores, seconds, faces in rows:
        rate = photos / seconds
        print(f"| {name} | {cores} | {seconds:.1f} | {rate:.1f} | {rate / cores:.1f} | {faces} |")
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "photos": photos,
                    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "runs": [
                        {"run": n, "cores": c, "seconds": s, "faces": f} for n, c, s, f in rows
                    ],
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()

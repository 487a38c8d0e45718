"""Analysing a large collection on Ray Data: one analyzer per worker, loaded once.

    import mien.ray
    mien.ray.analyze_to_parquet("s3://bucket/photos/", "s3://bucket/mien/", concurrency=64)

writes `results/` (Parquet, one row per face, the columns of `mien batch`'s results.csv) and
`errors/` (Parquet, `file` and `error` for each photo mien could not read). On a laptop the
same call runs on a local Ray instance; on a cluster, call `ray.init(address="auto")` first
(docs/SCALE.md). Needs `pip install "ray[data]" pandas pyarrow`.
"""

from __future__ import annotations

import os
import posixpath
from typing import Any, Optional

from . import CSV_COLUMNS, Analysis, Analyzer, _frame

__all__ = ["AnalyzeBatch", "analyze_to_parquet", "analyze_dataset"]

#: The columns `AnalyzeBatch` returns: those of results.csv and the error, if any.
COLUMNS = [*CSV_COLUMNS, "error"]


class AnalyzeBatch:
    """A callable class for `ray.data.Dataset.map_batches` (pandas batches).

    Each Ray actor builds one `mien.Analyzer` when it starts and reuses it for every batch.
    A batch needs a `path` column and, when the photos were read by
    `ray.data.read_binary_files`, a `bytes` column (else each path is opened). The result
    has one row per face with the columns of results.csv (`file` relative to `root`, when
    given: a URI such as `s3://bucket/photos`, or a path as the `path` column spells it) and an `error` column: `None` on face rows; a photo mien could not read gives one
    row with `face` 0 and the error's message.
    """

    def __init__(self, root: Optional[str] = None, threads: Optional[int] = None, **options: Any):
        # mien's thread pool starts with the first analysis; its size is fixed then.
        if threads is not None:
            os.environ["RAYON_NUM_THREADS"] = str(threads)
        # A URI becomes Ray's form here; `analyze_dataset` resolves a local root on the driver.
        self.root = ray_path(root) if root and "://" in root else root
        self.analyzer = Analyzer(**options)

    def __call__(self, batch):
        import pandas

        paths = [str(p) for p in batch["path"]]
        images = list(batch["bytes"]) if "bytes" in batch else paths
        results = self.analyzer.analyze_batch(images, on_error="return")
        rows = []
        for path, result in zip(paths, results):
            file = relative(path, self.root)
            if isinstance(result, Analysis):
                rows.extend(dict(row, error=None) for row in result.rows(file))
            else:
                empty = dict.fromkeys(CSV_COLUMNS)
                rows.append(dict(empty, file=file, face=0, error=str(result)))
        return _frame(pandas, rows, COLUMNS)


def ray_path(location: str) -> str:
    """`location` as Ray Data names the files under it: a URI without its scheme
    (`s3://bucket/photos/` → `bucket/photos`), a local path made absolute. Call it where the
    path means what the caller meant (the driver), not on a worker whose folder differs."""
    scheme, separator, rest = location.partition("://")
    if separator and scheme.isalnum():
        return rest.rstrip("/")
    return os.path.abspath(location)


def relative(path: str, root: Optional[str]) -> str:
    """`path` relative to `root` (both in Ray's form), or `path` itself when it is not
    under `root`."""
    if not root:
        return path
    prefix = root.rstrip("/") + "/"
    return posixpath.normpath(path[len(prefix):]) if path.startswith(prefix) else path


def analyze_dataset(
    source,
    *,
    root: Optional[str] = None,
    concurrency: int = 2,
    threads: int = 1,
    batch_size: int = 16,
    **options: Any,
):
    """A Ray Dataset of faces (the `AnalyzeBatch` columns) of every .jpg, .jpeg or .png
    under `source` (a folder, a file, or a list of them; any filesystem Ray reads).

    `concurrency` actors, each with one analyzer using `threads` cores; `options` go to
    `mien.Analyzer` (model, detector, whole_image, single_pass, eye_state).
    """
    import ray.data

    # Reading files is I/O: it takes no core from the analyzers (with every core reserved by
    # an actor, reading tasks that asked for one would never start), and a few readers at a
    # time keep the analyzers fed (without a limit, Ray starts a process for every
    # zero-core task at once: 60 processes for 600 local photos, ten times slower).
    photos = ray.data.read_binary_files(
        source,
        include_paths=True,
        file_extensions=["jpg", "jpeg", "png", "JPG", "JPEG", "PNG"],
        num_cpus=0,
        concurrency=max(1, concurrency // 4),
    )
    return photos.map_batches(
        AnalyzeBatch,
        # Resolved here: a relative root means the driver's folder, not each worker's.
        fn_constructor_kwargs=dict(root=ray_path(root) if root else None, threads=threads, **options),
        batch_size=batch_size,
        batch_format="pandas",
        compute=ray.data.ActorPoolStrategy(size=concurrency),
        num_cpus=threads,
    )


def analyze_to_parquet(source, out: str, **kwargs: Any) -> dict:
    """Analyses every photo under `source` (see `analyze_dataset`, which takes the same
    keyword arguments) and writes `out/results/` (faces) and `out/errors/` (unreadable
    photos) as Parquet, replacing what an earlier run left there. Returns the counts:
    `{"faces": …, "errors": …}`."""
    faces = analyze_dataset(source, **kwargs).materialize()

    def found(batch):
        return batch[batch["face"] > 0].drop(columns=["error"])

    def failed(batch):
        return batch[batch["face"] == 0][["file", "error"]]

    results = faces.map_batches(found, batch_format="pandas").materialize()
    errors = faces.map_batches(failed, batch_format="pandas").materialize()
    # Overwrite: a rerun must not append to (or leave behind) an earlier run's rows.
    results.write_parquet(os.path.join(out, "results"), mode="overwrite")
    errors.write_parquet(os.path.join(out, "errors"), mode="overwrite")
    return {"faces": results.count(), "errors": errors.count()}

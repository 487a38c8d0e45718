"""The distributed path: mien.ray on a local Ray instance gives `mien batch`'s rows."""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, need, required

ray = pytest.importorskip("ray") if not required("ray") else __import__("ray")
pandas = pytest.importorskip("pandas")


def mien_cli() -> Path:
    """The `mien` program to compare with (MIEN_CLI, else target/debug or target/release)."""
    candidates = [os.environ.get("MIEN_CLI", ""), "target/debug/mien", "target/release/mien"]
    for candidate in candidates:
        if candidate and (REPO / candidate).is_file():
            return REPO / candidate
    return need(REPO / "target/debug/mien", "the mien program (cargo build -p mien-cli)")


@pytest.fixture(scope="module")
def photos(faces_wild, tmp_path_factory) -> Path:
    """faces_wild's photos plus one file that is not a photo."""
    root = tmp_path_factory.mktemp("collection")
    shutil.copytree(faces_wild, root / "faces_wild", ignore=shutil.ignore_patterns("*.xml", "*.csv", "*.md"))
    (root / "broken.jpg").write_bytes(b"this is not a JPEG")
    return root


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_data_gives_the_rows_of_mien_batch(photos, local_ray, tmp_path):
    import mien.ray

    batch = tmp_path / "batch"
    subprocess.run(
        [str(mien_cli()), "batch", str(photos), "--out", str(batch), "--no-annotate"],
        check=True,
        capture_output=True,
    )
    expected = pandas.read_csv(batch / "results.csv", keep_default_na=False)
    out = tmp_path / "parquet"
    counts = mien.ray.analyze_to_parquet(str(photos), str(out), root=str(photos), concurrency=2)
    assert counts == {"faces": len(expected), "errors": 1}
    got = pandas.read_parquet(out / "results")
    assert list(got.columns) == list(expected.columns) == mien.CSV_COLUMNS
    key = ["file", "face"]
    expected = expected.sort_values(key).reset_index(drop=True)
    got = got.sort_values(key).reset_index(drop=True)
    assert len(got) == len(expected) > 20
    for column in ["file", "face", "emotion", "smile_level"]:
        assert got[column].tolist() == expected[column].tolist(), column
    for column in mien.CSV_COLUMNS:
        if column in ("file", "face", "emotion", "smile_level"):
            continue
        want = pandas.to_numeric(expected[column].replace("", np.nan))
        np.testing.assert_allclose(got[column], want, atol=1.01e-4, err_msg=column)
    errors = pandas.read_parquet(out / "errors")
    assert errors["file"].tolist() == ["broken.jpg"]
    assert "format could not be determined" in errors["error"][0]
    # A second run into the same folder replaces the first one's files.
    (photos / "broken.jpg").unlink()
    again = mien.ray.analyze_to_parquet(str(photos), str(out), root=str(photos), concurrency=2)
    assert again == {"faces": len(expected), "errors": 0}
    assert len(pandas.read_parquet(out / "results")) == len(expected)
    errors_left = list((out / "errors").glob("*.parquet")) if (out / "errors").exists() else []
    assert errors_left == []


def test_files_are_named_relative_to_a_root_given_as_a_uri_or_a_path():
    from mien.ray import relative, ray_path

    assert ray_path("s3://bucket/photos/") == "bucket/photos"
    assert ray_path("gs://b/p") == "b/p"
    assert ray_path("photos") == os.path.abspath("photos")
    assert relative("bucket/photos/a/b.jpg", "bucket/photos") == "a/b.jpg"
    assert relative("bucket/other/c.jpg", "bucket/photos") == "bucket/other/c.jpg"
    assert relative("bucket/photos2/c.jpg", "bucket/photos") == "bucket/photos2/c.jpg"
    assert relative("/x/y.jpg", None) == "/x/y.jpg"


def test_a_batch_as_ray_hands_it_over_from_object_storage():
    import mien.ray
    from conftest import ASTRONAUT

    analyze = mien.ray.AnalyzeBatch(root="s3://bucket/photos/", eye_state=False)
    batch = pandas.DataFrame(
        {
            "path": ["bucket/photos/people/astronaut.jpg", "bucket/photos/broken.png"],
            "bytes": [ASTRONAUT.read_bytes(), b"not a PNG"],
        }
    )
    rows = analyze(batch)
    assert list(rows.columns) == [*mien.CSV_COLUMNS, "error"]
    assert rows["file"].tolist() == ["people/astronaut.jpg", "broken.png"]
    assert rows["face"].tolist() == [1, 0]
    assert rows["emotion"][0] == "happy" and pandas.isna(rows["error"][0])
    assert pandas.isna(rows["smile"][1]) and "could not be determined" in rows["error"][1]

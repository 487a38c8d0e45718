"""mien's Python package: inputs of every accepted kind, results, errors and threads."""

import json
import pathlib
import threading

import numpy as np
import pytest

import mien
from conftest import ASTRONAUT


def pixels(path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def test_the_smiling_astronaut(analyzer):
    analysis = analyzer.analyze(str(ASTRONAUT))
    assert (analysis.width, analysis.height) == (512, 512)
    assert analysis.path == str(ASTRONAUT)
    assert len(analysis) == len(analysis.faces) == 1
    face = analysis.faces[0]
    x, y, w, h = face.box
    # The box `mien analyze` prints for this photo (README).
    assert abs(x - 173) < 2 and abs(y - 74) < 2 and abs(w - 105) < 2 and abs(h - 105) < 2
    assert face.emotion == "happy" and face.emoji == "😄"
    assert face.emotion_probability > 0.9
    assert face.smile >= 8.0 and face.smile_level == "huge"
    assert face.eyes_open > 0.5
    assert list(face.emotions) == analyzer.emotions
    assert sum(face.emotions.values()) == pytest.approx(1.0, abs=1e-4)
    points = face.key_points
    assert set(points) == {"left_eye", "right_eye", "nose", "mouth"}
    assert points["left_eye"][0] < points["right_eye"][0]
    assert points["left_eye"][1] < points["nose"][1] < points["mouth"][1]
    assert face.eyes == (points["left_eye"], points["right_eye"])
    assert 0.8 < analysis.rating <= 1.0


def test_dicts_are_the_json_of_mien_analyze(analyzer):
    analysis = analyzer.analyze(ASTRONAUT)
    as_dict = analysis.to_dict()
    assert as_dict == json.loads(analysis.to_json())
    face = as_dict["faces"][0]
    assert face == analysis.faces[0].to_dict()
    assert face["emotion"] == "happy"
    assert face["smile"] == pytest.approx(analysis.faces[0].smile)
    assert set(face["key_points"]) == {"left_eye", "right_eye", "nose", "mouth"}
    assert as_dict["rating"] == pytest.approx(analysis.rating)


def test_every_input_kind_reads_the_same_photo(analyzer, astronaut_png):
    reference = analyzer.analyze(str(astronaut_png)).to_dict()
    rgb = pixels(astronaut_png)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    data = astronaut_png.read_bytes()
    same = [
        pathlib.Path(astronaut_png),
        data,
        bytearray(data),
        rgb,
        rgba,
        np.asfortranarray(rgb),  # any strides
    ]
    for image in same:
        assert analyzer.analyze(image).to_dict() == reference, type(image)
    assert analyzer.analyze(data).path is None and analyzer.analyze(rgb).path is None


def test_gray_arrays_of_both_shapes(analyzer, astronaut_png):
    gray = pixels(astronaut_png).mean(axis=2).round().astype(np.uint8)
    flat = analyzer.analyze(gray)
    assert flat.to_dict() == analyzer.analyze(gray[:, :, None]).to_dict()
    assert [f.emotion for f in flat.faces] == ["happy"]


def test_a_mirrored_view_finds_the_mirrored_face(analyzer, astronaut_png):
    rgb = pixels(astronaut_png)
    x, _, w, _ = analyzer.analyze(rgb).faces[0].box
    mirrored = analyzer.analyze(rgb[:, ::-1])
    (mx, _, mw, _) = mirrored.faces[0].box
    assert abs((mx + mw / 2) - (rgb.shape[1] - (x + w / 2))) < 3


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((64, 64, 3), np.float64),
        np.zeros((64, 64, 3), np.uint16),
        np.zeros((64, 64), np.int8),
        np.zeros((64, 64, 3), bool),
    ],
)
def test_arrays_of_another_dtype_are_a_type_error(analyzer, array):
    with pytest.raises(TypeError, match="uint8"):
        analyzer.analyze(array)


@pytest.mark.parametrize("shape", [(64,), (64, 64, 2), (64, 64, 5), (2, 64, 64, 3)])
def test_arrays_of_another_shape_are_a_value_error(analyzer, shape):
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        analyzer.analyze(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("value", [None, 42, [1, 2, 3], {"path": "x.jpg"}])
def test_other_objects_are_a_type_error(analyzer, value):
    with pytest.raises(TypeError, match="cannot read a photo from a"):
        analyzer.analyze(value)


def test_blank_and_empty_arrays_have_no_faces(analyzer):
    assert analyzer.analyze(np.zeros((120, 160, 3), np.uint8)).faces == []
    empty = analyzer.analyze(np.zeros((0, 0, 3), np.uint8))
    assert (empty.width, empty.height, empty.faces, empty.rating) == (0, 0, [], None)


def test_bad_files_raise_mien_errors_that_name_them(analyzer, astronaut_png, tmp_path):
    missing = tmp_path / "missing.jpg"
    with pytest.raises(mien.MienError, match="missing.jpg"):
        analyzer.analyze(missing)
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"not an image at all" * 10)
    with pytest.raises(mien.MienError, match="garbage.jpg"):
        analyzer.analyze(str(garbage))
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(astronaut_png.read_bytes()[:2000])
    with pytest.raises(mien.MienError, match="truncated.png"):
        analyzer.analyze(truncated)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(mien.MienError, match="empty.png"):
        analyzer.analyze(empty)
    with pytest.raises(mien.MienError, match="<bytes>"):
        analyzer.analyze(b"\x89PNG\r\n\x1a\n broken")
    assert issubclass(mien.MienError, Exception)


def test_a_batch_keeps_its_order_and_says_which_photo_failed(analyzer, astronaut_png, tmp_path):
    blank = np.zeros((50, 50, 3), np.uint8)
    results = analyzer.analyze_batch([astronaut_png, blank, str(ASTRONAUT)])
    assert [len(r.faces) for r in results] == [1, 0, 1]
    assert results[0].to_dict() == analyzer.analyze(astronaut_png).to_dict()
    missing = tmp_path / "nope.png"
    with pytest.raises(mien.MienError, match=r"image 1 \(.*nope.png\)"):
        analyzer.analyze_batch([blank, missing])
    mixed = analyzer.analyze_batch([missing, blank], on_error="return")
    assert isinstance(mixed[0], mien.MienError) and "nope.png" in str(mixed[0])
    assert isinstance(mixed[1], mien.Analysis)
    assert analyzer.analyze_batch([]) == []
    with pytest.raises(ValueError, match="on_error"):
        analyzer.analyze_batch([blank], on_error="ignore")
    with pytest.raises(TypeError):
        analyzer.analyze_batch([blank, 3.5])


def test_threads_share_one_analyzer(analyzer, astronaut_png):
    photos = [astronaut_png, pixels(astronaut_png), np.zeros((80, 80, 3), np.uint8)]
    expected = [analyzer.analyze(p).to_dict() for p in photos]
    seen, failures = [], []

    def work(offset):
        try:
            for i in range(6):
                k = (i + offset) % len(photos)
                seen.append((k, analyzer.analyze(photos[k]).to_dict()))
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures and not any(t.is_alive() for t in threads)
    assert len(seen) == 36
    assert all(result == expected[k] for k, result in seen)


def test_options_choose_the_parts():
    seven = mien.Analyzer(model="default", single_pass=True, eye_state=False)
    assert len(seven.emotions) == 7 and "contempt" not in seven.emotions
    face = seven.analyze(ASTRONAUT).faces[0]
    assert face.emotion == "happy" and face.eyes_open is None
    whole = mien.Analyzer(whole_image=True)
    assert whole.detector == "whole-image"
    crop = whole.analyze(np.zeros((48, 48), np.uint8)).faces
    assert len(crop) == 1 and crop[0].box == (0.0, 0.0, 48.0, 48.0)
    haar = mien.Analyzer(detector="haar")
    faces = haar.analyze(ASTRONAUT).faces
    assert "happy" in [f.emotion for f in faces]
    assert all(f.key_points is None and f.confidence > 0 for f in faces)


def test_bad_options_say_what_to_pass(tmp_path):
    with pytest.raises(ValueError, match="ferplus-smile"):
        mien.Analyzer(model="best")
    with pytest.raises(ValueError, match="blazeface"):
        mien.Analyzer(detector="mtcnn")
    truncated = tmp_path / "model.safetensors"
    truncated.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
    with pytest.raises(mien.MienError, match="model.safetensors"):
        mien.Analyzer(model=str(truncated))


def test_to_dataframe_has_the_columns_of_mien_batch(analyzer):
    pandas = pytest.importorskip("pandas")
    results = analyzer.analyze_batch([ASTRONAUT, np.zeros((40, 40, 3), np.uint8), ASTRONAUT])
    frame = mien.to_dataframe(results)
    assert list(frame.columns) == mien.CSV_COLUMNS
    assert mien.CSV_COLUMNS[:3] == ["file", "face", "x"]
    assert len(frame) == 2
    assert list(frame["file"]) == [str(ASTRONAUT)] * 2
    assert list(frame["emotion"]) == ["happy", "happy"]
    row = frame.iloc[0]
    face = results[0].faces[0]
    assert row["face"] == 1 and row["smile"] == pytest.approx(face.smile)
    assert row["x"] == pytest.approx(face.box[0]) and row["photo_rating"] == pytest.approx(
        results[0].rating
    )
    named = mien.to_dataframe(results, files=["a.jpg", "blank", "b.jpg"])
    assert list(named["file"]) == ["a.jpg", "b.jpg"]
    with pytest.raises(ValueError, match="2 file names for 3 results"):
        mien.to_dataframe(results, files=["a", "b"])
    empty = mien.to_dataframe([])
    assert list(empty.columns) == mien.CSV_COLUMNS and len(empty) == 0
    assert empty["smile"].dtype == "float64"
    no_eyes = mien.to_dataframe([mien.Analyzer(eye_state=False).analyze(ASTRONAUT)])
    assert pandas.isna(no_eyes["eyes_open"][0])


def test_analysis_releases_the_gil(analyzer, astronaut_png):
    """While one thread is inside analyze_batch, Python code in another keeps running: the
    longest pause this thread sees is a small part of the batch's time, not all of it."""
    import time

    photos = [pixels(astronaut_png)] * 48
    done = threading.Event()
    worker = threading.Thread(target=lambda: (analyzer.analyze_batch(photos), done.set()))
    start = last = time.perf_counter()
    longest = 0.0
    worker.start()
    while not done.is_set():
        now = time.perf_counter()
        longest = max(longest, now - last)
        last = now
    worker.join()
    elapsed = last - start
    assert elapsed > 0.1, elapsed
    assert longest < elapsed / 4, (longest, elapsed)


def test_importing_mien_needs_neither_pandas_nor_ray():
    import subprocess
    import sys

    script = (
        "import sys, mien, mien.ray; "
        "assert 'pandas' not in sys.modules and 'ray' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_long_batches_keep_order_and_indices_across_chunks(analyzer, tmp_path):
    """analyze_batch takes photos out of Python 64 at a time; order and indices hold."""
    sizes = [(20 + i, 30) for i in range(70)]
    images = [np.zeros((h, w, 3), np.uint8) for w, h in sizes]
    missing = tmp_path / "gone.png"
    images[66] = missing
    results = analyzer.analyze_batch(images, on_error="return")
    assert len(results) == 70
    assert isinstance(results[66], mien.MienError) and "image 66" in str(results[66])
    assert [(r.width, r.height) for i, r in enumerate(results) if i != 66] == [
        s for i, s in enumerate(sizes) if i != 66
    ]
    with pytest.raises(mien.MienError, match=r"image 66 \(.*gone.png\)"):
        analyzer.analyze_batch(images)

"""Shared fixtures of the Python package's tests (run against the installed wheel)."""

import os
from pathlib import Path

import pytest

import mien

REPO = Path(__file__).resolve().parents[3]
ASTRONAUT = REPO / "fixtures" / "astronaut.jpg"


def required(what: str) -> bool:
    """Whether CI demands `what` (MIEN_REQUIRE_DATA=1): then a missing input fails the test."""
    return os.environ.get("MIEN_REQUIRE_DATA") == "1"


def need(path: Path, what: str) -> Path:
    """`path`, or a skip (a failure under MIEN_REQUIRE_DATA=1) naming what is missing."""
    if path.exists():
        return path
    message = f"skipped: {what} not found at {path} (set MIEN_DATA)"
    if required(what):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def analyzer() -> mien.Analyzer:
    return mien.Analyzer()


@pytest.fixture(scope="session")
def astronaut_png(tmp_path_factory) -> Path:
    """The fixture photo as a PNG, so that numpy and mien read the very same pixels."""
    from PIL import Image

    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.open(ASTRONAUT).convert("RGB").save(path)
    return path


@pytest.fixture(scope="session")
def faces_wild() -> Path:
    data = Path(os.environ.get("MIEN_DATA", REPO.parent / "shared"))
    return need(data / "faces_wild", "the faces_wild photos")

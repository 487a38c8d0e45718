"""Type stubs of mien's native module (crates/mien-python/src)."""

from os import PathLike
from typing import Any, Literal, Optional, Sequence, Union, overload

import numpy
import numpy.typing

__version__: str
CSV_COLUMNS: list[str]

Image = Union[str, PathLike[str], bytes, bytearray, numpy.typing.NDArray[numpy.uint8]]
"""A photo: its path, the file's bytes, or a uint8 array shaped (H, W), (H, W, 1), (H, W, 3)
(RGB) or (H, W, 4) (RGBA)."""

class MienError(Exception):
    """What mien could not do: a file it cannot read, a model it cannot load, a backend
    failure. The message is mien's, with the file and what to do."""

class Face:
    """One face of a photo."""

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x, y, width, height) in photo pixels."""
    @property
    def confidence(self) -> float:
        """The detector's confidence (1 for a whole-image face)."""
    @property
    def key_points(self) -> Optional[dict[str, tuple[float, float]]]:
        """left_eye, right_eye, nose, mouth in photo pixels (BlazeFace), else None."""
    @property
    def eyes(self) -> Optional[tuple[tuple[float, float], tuple[float, float]]]:
        """Eye centres, the one further left in the photo first."""
    @property
    def eyes_open(self) -> Optional[float]:
        """Probability that the eyes are open."""
    @property
    def emotions(self) -> dict[str, float]:
        """Every emotion of the model's label set with its probability."""
    @property
    def emotion(self) -> str:
        """The most probable emotion."""
    @property
    def emotion_probability(self) -> float: ...
    @property
    def emoji(self) -> str: ...
    @property
    def smile(self) -> float:
        """Smile score, 1-10."""
    @property
    def smile_level(self) -> Literal["none", "mild", "moderate", "huge"]: ...
    def to_dict(self) -> dict[str, Any]:
        """The face as plain values (the JSON of `mien analyze --json`)."""

class Analysis:
    """Everything mien found in one photo."""

    @property
    def path(self) -> Optional[str]:
        """The photo's path when it was given as one."""
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def faces(self) -> list[Face]:
        """The faces, most confident first."""
    @property
    def rating(self) -> Optional[float]:
        """mien's photo rating in [0, 1]; None without faces."""
    @property
    def rating_by_smile_levels(self) -> Optional[float]: ...
    def rows(self, file: Optional[str] = None) -> list[dict[str, Any]]:
        """One dict per face with the columns of `mien batch`'s results.csv."""
    def to_dict(self) -> dict[str, Any]:
        """The analysis as plain values (the JSON of `mien analyze --json`)."""
    def to_json(self) -> str: ...
    def __len__(self) -> int: ...

class Analyzer:
    """Finds faces, reads their expressions and smiles, rates the photo. One analyzer serves
    any number of threads at once; its calls release the GIL."""

    def __init__(
        self,
        model: str = "ferplus-smile",
        detector: Literal["blazeface", "haar"] = "blazeface",
        whole_image: bool = False,
        single_pass: bool = False,
        eye_state: bool = True,
    ) -> None:
        """`model`: "ferplus-smile", "default" or a .safetensors file from mien's train."""
    @property
    def emotions(self) -> list[str]:
        """The emotions the model reads, in its output order."""
    @property
    def detector(self) -> str: ...
    def analyze(self, image: Image) -> Analysis:
        """Analyses one photo. Raises MienError when it cannot be read."""
    @overload
    def analyze_batch(
        self, images: Sequence[Image], *, on_error: Literal["raise"] = "raise"
    ) -> list[Analysis]: ...
    @overload
    def analyze_batch(
        self, images: Sequence[Image], *, on_error: Literal["return"]
    ) -> list[Union[Analysis, MienError]]: ...
    def analyze_batch(self, images: Sequence[Image], *, on_error: str = "raise") -> list[Any]:
        """Analyses many photos in parallel on every core, in order, without the GIL."""

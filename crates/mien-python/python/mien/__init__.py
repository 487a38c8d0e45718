"""mien: read faces in Python.

Finds the faces in a photo, says which expression each shows (7 FER2013 emotions, or 8 with
FER+ contempt), scores each smile from 1 to 10 and rates the photo. The engine is mien's Rust
library: models and detector are bundled, and it runs on the CPU without a GPU.

    >>> import mien
    >>> analyzer = mien.Analyzer()
    >>> analysis = analyzer.analyze("photo.jpg")        # a path, bytes or a numpy array
    >>> [(f.emotion, round(f.smile, 1)) for f in analysis.faces]
    [('happy', 9.8)]
    >>> mien.to_dataframe(analyzer.analyze_batch(["a.jpg", "b.jpg"]))   # needs pandas
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional, Sequence, Union

from ._mien import CSV_COLUMNS, Analysis, Analyzer, Face, MienError, __version__

if TYPE_CHECKING:
    import pandas

__all__ = [
    "Analysis",
    "Analyzer",
    "CSV_COLUMNS",
    "Face",
    "MienError",
    "__version__",
    "to_dataframe",
]


def to_dataframe(
    results: Iterable[Union[Analysis, MienError]], files: Optional[Sequence[str]] = None
) -> "pandas.DataFrame":
    """One row per face of every analysis, with the columns of `mien batch`'s results.csv.

    `files` names each analysis' photo in the `file` column (default: the path it was read
    from, or "" for bytes and arrays). Analyses without faces add no rows; anything that is
    not an `Analysis` (such as a `MienError` from `analyze_batch(..., on_error="return")`) is
    skipped. pandas is imported only here: `pip install pandas`.
    """
    try:
        import pandas
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("mien.to_dataframe needs pandas: pip install pandas") from error
    results = list(results)
    if files is not None and len(files) != len(results):
        raise ValueError(f"{len(files)} file names for {len(results)} results")
    rows = []
    for index, result in enumerate(results):
        if not isinstance(result, Analysis):
            continue
        rows.extend(result.rows(None if files is None else files[index]))
    return _frame(pandas, rows, list(CSV_COLUMNS))


def _frame(pandas, rows, columns):
    """`rows` (dicts) as a DataFrame with `columns`, typed the same whether or not it is
    empty: text as objects, `face` as int64, every other number as float64 (None is NaN)."""
    text = ("file", "emotion", "smile_level", "error")
    types = {c: "object" if c in text else "int64" if c == "face" else "float64" for c in columns}
    return pandas.DataFrame(rows, columns=columns).astype(types)

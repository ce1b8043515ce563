"""The one way tables leave the program as CSV: text cells cannot become spreadsheet formulas.

A spike named ``=HYPERLINK("http://…")`` is harmless inside the twin but runs as a formula when
the exported CSV is opened in a spreadsheet. Following OWASP's "CSV injection" advice, every
text cell (and column name) that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is prefixed with a single quote, which spreadsheets show as text. Numbers are left
alone: a negative number is data, not a formula.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value):
    """``'=1+1`` for ``=1+1``; any other value unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are neutralized."""
    out = frame.copy()
    out.columns = [neutralize(str(c)) if not isinstance(c, str) else neutralize(c) for c in out.columns]
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if isinstance(col.dtype, pd.CategoricalDtype):
            if col.cat.categories.dtype == object or pd.api.types.is_string_dtype(col.cat.categories):
                cats = [neutralize(c) for c in col.cat.categories]
                if cats != list(col.cat.categories):
                    try:
                        out.isetitem(i, col.cat.rename_categories(cats))
                    except ValueError:  # two categories became equal: fall back to plain text
                        out.isetitem(i, col.astype(object).map(neutralize))
        elif col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            out.isetitem(i, col.map(neutralize))
    return out


def frame_to_csv(frame: pd.DataFrame, path: str | Path | None = None) -> str | None:
    """``frame.to_csv(path, index=False)`` with formula-looking text neutralized.

    Returns the CSV text when no path is given (for download buttons).
    """
    return safe_frame(frame).to_csv(path, index=False)

"""A statistical summary built from data: header (label, value) pairs and a table.

``str(summary)`` is a Stata/statsmodels-like text table, ``to_frame()`` the table as a
DataFrame, and ``_repr_html_`` renders both in Jupyter.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass

import numpy as np
import pandas as pd

_WIDTH = 78
_TEXT_COLUMNS = ("coef", "std_err", "z", "p_value", "ci_lower", "ci_upper")


def _format(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "--" if np.isnan(value) else str(value)
        if float(value).is_integer() and abs(value) < 1e9:
            return str(int(value))
        return f"{value:.6g}" if abs(value) >= 1e-3 else f"{value:.3e}"
    return str(value)


@dataclass(frozen=True)
class Summary:
    """title: one line; header: ((label, value), ...); table: one row per parameter
    (a two-level (class, term) index for multinomial fits); notes: lines printed below."""

    title: str
    header: tuple
    table: pd.DataFrame
    notes: tuple = ()
    level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def _header_lines(self) -> list[str]:
        cells = [(label + ":", _format(value)) for label, value in self.header]
        half = (len(cells) + 1) // 2
        columns = [cells[:half], cells[half:]]
        rendered = []
        for column in columns:
            width = max((len(a) + len(b) for a, b in column), default=0) + 2
            rendered.append([f"{a}{b:>{width - len(a)}}" for a, b in column])
        left, right = rendered[0], rendered[1] + [""] * (half - len(rendered[1]))
        left_width = max(len(cell) for cell in left)
        return [f"{a:<{left_width}}   {b}".rstrip() for a, b in zip(left, right, strict=True)]

    def _table_lines(self) -> list[str]:
        lo, hi = (1 - self.level) / 2, (1 + self.level) / 2
        labels = ["coef", "std err", "z", "P>|z|", f"[{lo:.3g}", f"{hi:.3g}]"]
        name_width = max([len(str(t)) for t in self._terms()] + [12])
        head = " " * name_width + "".join(f"{label:>11}" for label in labels)
        lines = [head, "-" * len(head)]
        blocks = self._blocks()
        for block_name, block in blocks:
            if block_name is not None:
                lines.append(f"{block_name}")
            for term, row in block.iterrows():
                cells = []
                for column in _TEXT_COLUMNS:
                    v = row[column]
                    cells.append(f"{'--':>11}" if not np.isfinite(v) else
                                 f"{v:>11.3f}" if column in ("z", "p_value") else f"{v:>11.4f}")
                flag = f"  ({row['note']})" if "note" in row and row["note"] else ""
                lines.append(f"{str(term):<{name_width}}" + "".join(cells) + flag)
        return lines

    def _terms(self):
        return [t[-1] if isinstance(t, tuple) else t for t in self.table.index]

    def _blocks(self):
        if isinstance(self.table.index, pd.MultiIndex):
            name = self.table.index.names[0] or "class"
            return [(f"{name} = {key}", block.droplevel(0))
                    for key, block in self.table.groupby(level=0, sort=False)]
        return [(None, self.table)]

    def __str__(self) -> str:
        header, table = self._header_lines(), self._table_lines()
        width = max([_WIDTH] + [len(line) for line in header + table])
        table[1] = "-" * width
        rule = "=" * width
        lines = [self.title.center(width).rstrip(), rule, *header, rule, *table, rule]
        lines += [textwrap.fill(note, width) for note in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th>{html.escape(label)}</th><td>{html.escape(_format(value))}</td></tr>"
            for label, value in self.header
        )
        notes = "".join(f"<p>{html.escape(note)}</p>" for note in self.notes)
        return (f"<div><h4>{html.escape(self.title)}</h4><table>{rows}</table>"
                f"{self.table.to_html(float_format=lambda v: f'{v:.4g}', na_rep='--')}"
                f"{notes}</div>")

"""A statistical summary built from data: header (key, label, value) items and a table.

``str(summary)`` is a Stata/statsmodels-like text table, ``to_frame()`` the table as a
DataFrame, ``header_values()`` the header by machine key, and ``_repr_html_`` renders
both in Jupyter.

The text never garbles: every column is at least two spaces from the next whatever the
magnitudes, widths grow to fit, and term names longer than ``NAME_WIDTH`` characters are
shortened in the middle with "..." (``to_frame()`` keeps them whole). Coefficients,
standard errors and interval bounds print with 4 decimals and z with 3 when that keeps at
least two significant digits and the value is below 1e6, else as ``1.234e-07``; NaN
prints as ``--``, infinities as ``inf`` and ``-inf``. P>|z| prints with 3 decimals (a
p-value below 0.0005 as 0.000, as Stata does). Header p-values (keys ending in
``pvalue``) print with 4 significant digits, in scientific form below 1e-4.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass

import numpy as np
import pandas as pd

NAME_WIDTH = 32  # longest term name printed whole
VALUE_WIDTH = 40  # longest text value printed whole in the header
_WIDTH = 78
_CELL = 11  # minimal width of a number column (gap included)
_GAP = 2  # least number of spaces before each number column
_LARGE = 1e6  # from here on, numbers print in scientific form
_TEXT_COLUMNS = ("coef", "std_err", "z", "p_value", "ci_lower", "ci_upper")
_DECIMALS = {"coef": 4, "std_err": 4, "z": 3, "chi2": 3, "ci_lower": 4, "ci_upper": 4}


def _number(value, decimals: int) -> str:
    """Fixed ``decimals`` when they show two significant digits and |value| < 1e6, else
    4 significant digits in scientific form; NaN as --, infinities as inf and -inf."""
    v = float(value)
    if np.isnan(v):
        return "--"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0 or 10.0 ** (1 - decimals) <= abs(v) < _LARGE:
        return f"{v:.{decimals}f}"
    return f"{v:.3e}"


def _cell(column: str, value) -> str:
    """A table cell; P>|z| is in [0, 1], so 3 decimals never lose its place."""
    if column == "p_value":
        return "--" if np.isnan(value) else f"{float(value):.3f}"
    return _number(value, _DECIMALS[column])


def _p_value(value) -> str:
    """A p-value: 4 significant digits, scientific below 1e-4 (0.001502, 2.290e-05)."""
    v = float(value)
    return "--" if np.isnan(v) else f"{v:#.4g}"


def _shorten(text: str, width: int, middle: bool = True) -> str:
    """``text`` on one line, at most ``width`` characters: "..." replaces its middle (or
    its end) when longer. Unprintable characters (newlines, tabs) become "?"."""
    text = "".join(c if c.isprintable() else "?" for c in str(text))
    if len(text) <= width:
        return text
    if not middle:
        return text[:width - 3] + "..."
    head = (width - 3) * 2 // 3
    return text[:head] + "..." + text[len(text) - (width - 3 - head):]


def _name_width(terms) -> int:
    """The least width >= NAME_WIDTH at which the shortened names stay distinct."""
    names = {str(t) for t in terms}
    longest = max([len(n) for n in names] + [NAME_WIDTH])
    for width in range(NAME_WIDTH, longest):
        if len({_shorten(n, width) for n in names}) == len(names):
            return width
    return longest


def _format(value) -> str:
    """A header value: integers as such, floats to 6 significant digits."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return _number(value, 0)
        if float(value).is_integer() and abs(value) < 1e9:
            return str(int(value))
        return f"{value:.6g}" if abs(value) >= 1e-3 else f"{value:.3e}"
    return _shorten(value, VALUE_WIDTH, middle=False)


def _note(row) -> str:
    note = row.get("note", "")
    return note if isinstance(note, str) else ""


@dataclass(frozen=True)
class Summary:
    """title: one line; header: ((key, label, value), ...), key a stable snake_case name
    (keys ending in ``pvalue`` hold p-values), label the text's; table: one row per
    parameter (a two-level (class, term) index for multinomial fits), the columns of
    ``_TEXT_COLUMNS`` and an optional ``note`` column (a non-empty note prints as
    ``(note)`` after the row); notes: lines printed below; estimate_label: the heading
    of the ``coef`` column in the text (e.g. "dy/dx" for marginal effects). columns:
    ((column, label), ...) printed instead of the default six (e.g. a Firth fit's chi2
    for z)."""

    title: str
    header: tuple
    table: pd.DataFrame
    notes: tuple = ()
    level: float = 0.95
    estimate_label: str = "coef"
    columns: tuple = ()

    def _columns(self) -> tuple:
        """((column, label), ...) of the text table."""
        if self.columns:
            return self.columns
        lo, hi = (1 - self.level) / 2, (1 + self.level) / 2
        labels = [self.estimate_label, "std err", "z", "P>|z|", f"[{lo:.3g}", f"{hi:.3g}]"]
        return tuple(zip(_TEXT_COLUMNS, labels, strict=True))

    def __post_init__(self):
        for item in self.header:
            if not (isinstance(item, tuple) and len(item) == 3
                    and all(isinstance(s, str) for s in item[:2])):
                raise ValueError("Summary header items are (key, label, value) tuples with "
                                 f"text key and label, got {item!r}")
        keys = [item[0] for item in self.header]
        if len(set(keys)) != len(keys):
            raise ValueError(f"Summary header keys must be unique, got {keys}")

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def header_values(self) -> dict:
        """The header as {key: value}, in display order."""
        return {key: value for key, _, value in self.header}

    def _header_text(self, key: str, value) -> str:
        return _p_value(value) if key.endswith("pvalue") else _format(value)

    def _header_lines(self) -> list[str]:
        cells = [(label + ":", self._header_text(key, value))
                 for key, label, value in self.header]
        half = (len(cells) + 1) // 2
        columns = [cells[:half], cells[half:]]
        rendered = []
        for column in columns:
            width = max((len(a) + len(b) for a, b in column), default=0) + 2
            rendered.append([f"{a}{b:>{width - len(a)}}" for a, b in column])
        left, right = rendered[0], rendered[1] + [""] * (half - len(rendered[1]))
        left_width = max((len(cell) for cell in left), default=0)
        return [f"{a:<{left_width}}   {b}".rstrip() for a, b in zip(left, right, strict=True)]

    def _rows(self):
        """[(block heading or None, [(name, cells, note), ...]), ...] as text."""
        width = _name_width(self._terms())
        return [(heading, [(_shorten(term, width),
                            [_cell(c, row[c]) for c, _ in self._columns()],
                            _note(row)) for term, row in block.iterrows()])
                for heading, block in self._blocks()]

    def _table_lines(self) -> list[str]:
        labels = [label for _, label in self._columns()]
        blocks = self._rows()
        rows = [row for _, block in blocks for row in block]
        name_width = max([len(name) for name, _, _ in rows] + [12])
        widths = [max([_CELL, len(label) + _GAP] + [len(cells[j]) + _GAP for _, cells, _ in rows])
                  for j, label in enumerate(labels)]
        head = " " * name_width + "".join(f"{a:>{w}}" for a, w in zip(labels, widths, strict=True))
        lines = [head, "-" * len(head)]
        for heading, block in blocks:
            if heading is not None:
                lines.append(_shorten(heading, len(head), middle=False))
            for name, cells, note in block:
                line = f"{name:<{name_width}}" + "".join(
                    f"{c:>{w}}" for c, w in zip(cells, widths, strict=True))
                lines.append(line + (f"  ({_shorten(note, NAME_WIDTH)})" if note else ""))
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
        lines = [_shorten(self.title, width, middle=False).center(width).rstrip(), rule,
                 *header, rule, *table, rule]
        notes = list(self.notes)
        name_width = _name_width(self._terms())
        if any(len(str(t)) > name_width for t in self._terms()):
            notes.append(f"Names longer than {name_width} characters are shortened with "
                         "'...'; to_frame() has them in full.")
        lines += [textwrap.fill(note, width) for note in notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th>{html.escape(label)}</th>"
            f"<td>{html.escape(self._header_text(key, value))}</td></tr>"
            for key, label, value in self.header
        )
        formatters = {c: (_p_value if c == "p_value" else
                          lambda v: "--" if np.isnan(v) else f"{v:.4g}")
                      for c in self.table.columns if c != "note"}
        notes = "".join(f"<p>{html.escape(note)}</p>" for note in self.notes)
        return (f"<div><h4>{html.escape(self.title)}</h4><table>{rows}</table>"
                f"{self.table.to_html(formatters=formatters, na_rep='--')}"
                f"{notes}</div>")

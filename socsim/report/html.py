"""Self-contained HTML: one page, inline CSS, figures inline (SVG or base64 PNG), no external references."""

from __future__ import annotations

import html
import math
import numbers
from typing import Iterable

import pandas as pd

from socsim.units import fmt_sig

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .85em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
pre { background: #f8f8f8; padding: .8em; overflow-x: auto; font-size: .8em; }
figure { margin: 1em 0; } figure svg, figure img { max-width: 100%; height: auto; }
figcaption { font-size: .85em; color: #555; }
.cards { display: flex; flex-wrap: wrap; gap: .8em; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; min-width: 12em; }
.card .v { font-size: 1.4em; font-weight: 600; } .card .k { font-size: .8em; color: #555; }
.note { font-size: .85em; color: #444; }
"""

PERCENT_HINTS = ("accuracy", "share", "utilization")


def esc(text: object) -> str:
    return html.escape(str(text))


def fmt_value(column: str, value: object) -> str:
    """A cell as text: fractions named *accuracy/share/utilization* as %, integers and numbers >= 1e4 with
    thousands separators, other floats with 4 significant digits, NaN as an em dash, inf as the infinity sign."""
    if value is None:
        return "\u2014"
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return str(value)
    v = float(value)
    if math.isnan(v):
        return "\u2014"
    if math.isinf(v):
        return "\u221e"
    if any(h in column for h in PERCENT_HINTS) and not column.endswith(("_pj", "_s", "_cycles")):
        return f"{v:.2%}"
    if v.is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    if 1e4 <= abs(v) < 1e15:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def fmt_ratio(value: object) -> str:
    """A ratio as ``1.23x`` (3 significant digits), empty when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Number) or not math.isfinite(float(value)):
        return ""
    return f"{fmt_sig(float(value))}x"


def table(df: pd.DataFrame, index: bool = False) -> str:
    """``df`` as an HTML table formatted by :func:`fmt_value`. With ``index`` the index becomes the first
    column and names the quantity of its row (a transposed table such as compare's), else each column does."""
    frame = df.reset_index() if index else df
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    rows = []
    for rec in frame.itertuples(index=False):
        cells = []
        for i, (col, v) in enumerate(zip(frame.columns, rec)):
            text = str(v) if index and i == 0 else fmt_value(str(rec[0]) if index else str(col), v)
            cells.append(f"<td>{esc(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def figure(markup: str, caption: str) -> str:
    return f"<figure>{markup}<figcaption>{esc(caption)}</figcaption></figure>"


def cards(items: Iterable[tuple[str, str]]) -> str:
    """Headline numbers as small boxes: (label, formatted value)."""
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="v">{esc(v)}</div><div class="k">{esc(k)}</div></div>' for k, v in items
    ) + "</div>"


def pre(text: str) -> str:
    return f"<pre>{esc(text)}</pre>"


def page(title: str, sections: Iterable[str]) -> str:
    """A complete HTML document: ``title`` and the section markup in order."""
    body = "\n".join(sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f"<style>{CSS}</style></head>\n<body>\n<h1>{esc(title)}</h1>\n{body}\n</body></html>\n")

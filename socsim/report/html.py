"""Self-contained HTML: one page, inline CSS, figures inline (SVG or base64 PNG), no external references."""

from __future__ import annotations

import html
import math
import numbers
from typing import Iterable

import pandas as pd

from socsim.base.units import fmt_energy, fmt_sig, fmt_time
from socsim.report.labels import component_label

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.8em; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: .8em 0; font-size: .85em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th { white-space: normal; overflow-wrap: anywhere; vertical-align: bottom; } td { white-space: nowrap; }
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


UNIT_SUFFIXES = {"_pj": fmt_energy, "_s": fmt_time}
"""Column suffix -> formatter of a cell in engineering units (4 significant digits) for :func:`table`'s units."""


def column_label(column: str) -> str:
    """A column name for reading: the unit suffix its cells now carry dropped, underscores as spaces
    (``static_energy_pj`` -> ``static energy``, ``ADC_pj`` -> ``ADC``, ``busy_cycles`` -> ``busy cycles``)."""
    for suffix in UNIT_SUFFIXES:
        if column.endswith(suffix):
            column = column.removesuffix(suffix)
            break
    return column.replace("_", " ")


def unit_cell(column: str, value: object) -> str:
    """A cell with engineering units: energies (``_pj``) and times (``_s``) in the unit that fits (4 significant
    digits, ``5.883 uJ``), component names in words, everything else by :func:`fmt_value`."""
    if column == "component" and isinstance(value, str):
        return component_label(value)
    for suffix, fmt in UNIT_SUFFIXES.items():
        if column.endswith(suffix) and isinstance(value, numbers.Number) and not isinstance(value, bool) \
                and math.isfinite(float(value)):
            return fmt(float(value), 4)
    return fmt_value(column, value)


def table(df: pd.DataFrame, index: bool = False, units: bool = False) -> str:
    """``df`` as an HTML table formatted by :func:`fmt_value`, inside a box that scrolls sideways when the table is
    wider than the page. With ``index`` the index becomes the first column and names the quantity of its row (a
    transposed table such as compare's), else each column does. With ``units`` cells carry engineering units and
    headers read as words (:func:`unit_cell`, :func:`column_label`)."""
    frame = df.reset_index() if index else df
    head = "".join(f"<th>{esc(column_label(str(c)) if units else c)}</th>" for c in frame.columns)
    cell = unit_cell if units else fmt_value
    rows = []
    for rec in frame.itertuples(index=False):
        cells = []
        for i, (col, v) in enumerate(zip(frame.columns, rec)):
            text = str(v) if index and i == 0 else cell(str(rec[0]) if index else str(col), v)
            cells.append(f"<td>{esc(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"


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

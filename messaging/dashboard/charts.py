"""Server-rendered SVG charts for the reporting dashboard: stacked bars per day, horizontal stacked bars.

No JavaScript and no CDN: the page ships the SVG. Every bar carries its numbers as data attributes
(`data-series`, `data-category`, `data-value`) and a `<title>` tooltip, so the browser test can read them
back and an operator can hover them. Text goes through `escape`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#2f6fdd", "#2fb350", "#e6862a", "#8e44ad", "#d64545", "#17a2b8", "#b8a21c", "#5a6b84",
           "#e05d9c", "#6c8f3a")


@dataclass(frozen=True)
class BarSeries:
    key: str
    label: str
    color: str
    values: tuple[int, ...]  # one per category


def color_for(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def nice_ceiling(value: int) -> int:
    """1, 2, 5 × 10^n at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def axis_ticks(largest: int) -> list[int]:
    """Whole-number ticks from 0 to at or above `largest`, at most five, a nice step apart."""
    step = nice_ceiling(math.ceil(max(1, largest) / 4))
    return [step * i for i in range(math.ceil(max(1, largest) / step) + 1)]


def _attrs(**attrs: object) -> str:
    return " ".join(f'{name.replace("_", "-")}="{escape(str(value))}"' for name, value in attrs.items())


def stacked_bars(*, chart_id: str, title: str, categories: list[str], labels: list[str],
                 series: list[BarSeries], width: int = 460, height: int = 170) -> SafeString:
    """One bar per category (day), stacked by series (line). `labels` are the categories as shown."""
    left, right, top, bottom = 36, 8, 18, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    ticks = axis_ticks(max(totals, default=0))
    axis_top = ticks[-1]
    band = plot_w / max(1, len(categories))
    bar_w = max(2.0, min(band * 0.7, 48.0))
    parts = [f'<svg class="tuco-chart" {_attrs(id=chart_id, viewBox=f"0 0 {width} {height}", role="img")} '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    for value in ticks:  # gridlines and the value axis
        y = top + plot_h - plot_h * value / axis_top
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">{value}</text>')
    every = max(1, math.ceil(len(categories) / 16))  # at most ~16 day labels
    for i, category in enumerate(categories):
        x = left + band * i + (band - bar_w) / 2
        y = top + plot_h
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / axis_top
            y -= h
            parts.append(f'<rect class="bar" {_attrs(data_series=s.key, data_category=category, data_value=value)} '
                         f'x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{s.color}">'
                         f"<title>{escape(s.label)} · {escape(labels[i])}: {value}</title></rect>")
        if totals[i] and len(categories) <= 31:
            parts.append(f'<text class="total" {_attrs(data_category=category, data_value=totals[i])} '
                         f'x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{totals[i]}</text>')
        if i % every == 0:
            parts.append(f'<text class="axis" x="{left + band * i + band / 2:.1f}" y="{height - 10}" '
                         f'text-anchor="middle">{escape(labels[i])}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text and attribute above is escaped


def horizontal_bars(*, chart_id: str, title: str, rows: list[tuple[str, str]], segments: list[BarSeries],
                    width: int = 640, row_height: int = 26) -> SafeString:
    """One bar per row (line), stacked by segment (reason). `rows` are (key, label); `segments[j].values[i]`
    is segment j of row i."""
    left, right, top = 180, 40, 6
    plot_w = width - left - right
    totals = [sum(seg.values[i] for seg in segments) for i in range(len(rows))]
    axis_top = axis_ticks(max(totals, default=0))[-1]
    height = top * 2 + row_height * max(1, len(rows))
    parts = [f'<svg class="tuco-chart" {_attrs(id=chart_id, viewBox=f"0 0 {width} {height}", role="img")} '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    for i, (key, label) in enumerate(rows):
        y = top + row_height * i + 4
        parts.append(f'<text class="axis" x="{left - 6}" y="{y + row_height / 2:.1f}" text-anchor="end">'
                     f"{escape(label[:30])}</text>")
        x = float(left)
        for seg in segments:
            value = seg.values[i]
            if value <= 0:
                continue
            w = plot_w * value / axis_top
            parts.append(f'<rect class="bar" {_attrs(data_series=key, data_category=seg.key, data_value=value)} '
                         f'x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{row_height - 8}" fill="{seg.color}">'
                         f"<title>{escape(label)} · {escape(seg.label)}: {value}</title></rect>")
            x += w
        parts.append(f'<text class="total" {_attrs(data_series=key, data_value=totals[i])} x="{x + 4:.1f}" '
                     f'y="{y + row_height / 2:.1f}">{totals[i]}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text and attribute above is escaped

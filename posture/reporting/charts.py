"""Inline SVG line charts: the HTML report stays one self-contained file that opens offline."""

from __future__ import annotations

from html import escape
from typing import Any

COLORS = [
    "#1f6feb",
    "#d1242f",
    "#1a7f37",
    "#9a6700",
    "#8250df",
    "#bc4c00",
    "#0550ae",
    "#57606a",
    "#cf222e",
    "#116329",
]


def line_chart(
    series: list[dict[str, Any]], keys: list[str], width: int = 720, height: int = 220
) -> str:
    """Scores (0-100) per week for each key; a gap where a key has no value that week."""
    if not series:
        return '<p class="muted">No scans recorded yet.</p>'
    pad_l, pad_b, pad_t, pad_r = 36, 28, 10, 120
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    n = len(series)

    def x(i: int) -> float:
        return pad_l + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return pad_t + plot_h * (1 - v / 100)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="100%">'
    ]
    for v in (0, 25, 50, 75, 100):
        parts.append(
            f'<line x1="{pad_l}" x2="{pad_l + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            'stroke="#d0d7de" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{pad_l - 6}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end" fill="#57606a">{v}</text>'
        )
    step = max(1, n // 8)
    for i in range(0, n, step):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 8}" font-size="10" text-anchor="middle" '
            f'fill="#57606a">{escape(series[i]["week"])}</text>'
        )
    for k, key in enumerate(keys):
        color = COLORS[k % len(COLORS)]
        points = [
            (x(i), y(p["scores"][key]))
            for i, p in enumerate(series)
            if p["scores"].get(key) is not None
        ]
        if not points:
            continue
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="{3 if key == "overall" else 1.6}" points="{path}"/>'
        )
        ly = pad_t + 12 + 14 * k
        parts.append(
            f'<rect x="{width - pad_r + 10}" y="{ly - 8}" width="10" height="3" fill="{color}"/>'
        )
        parts.append(
            f'<text x="{width - pad_r + 24}" y="{ly - 4}" font-size="11" fill="#24292f">{escape(key)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

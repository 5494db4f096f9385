"""The huddle digest as one self-contained HTML page: inline CSS and SVG, no external asset.

Readable on a phone (fluid width, the chart scales by its viewBox) and printable (print
styles drop the colours that waste ink). Every text from answers or changes is escaped.
"""

from __future__ import annotations

from html import escape

from api.digest_markdown import change_line, nps_line, number, target_line, title
from api.schemas.digests import DigestOut, HistoryPoint, Quote, ThemeBrief

_W, _H, _PAD_X, _PAD_Y = 640, 240, 44, 20

_CSS = """
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,sans-serif;color:#1d2433;background:#f4f6fa}main{max-width:760px;margin:0 auto;
padding:16px}h1{font-size:1.35rem;margin:.2rem 0 1rem}h2{font-size:1.05rem;margin:1.4rem 0
.5rem}section{background:#fff;border-radius:10px;padding:12px 16px;margin:0 0 12px;
box-shadow:0 1px 2px #0001}.big{font-size:2.2rem;font-weight:700}.muted{color:#5b6475;
font-size:.92rem}blockquote{margin:.4rem 0;padding:.3rem .7rem;border-left:4px solid #c9d1e0;
background:#f7f9fc}blockquote.d{border-color:#d9534f}blockquote.p{border-color:#2e9d5b}
ul{padding-left:1.2rem}svg{width:100%;height:auto;display:block}.bar{display:flex;
align-items:center;gap:8px;margin:4px 0}.bar span{flex:0 0 40%;overflow-wrap:anywhere}
.bar i{display:block;height:14px;border-radius:3px}.below{background:#d9534f}.above{
background:#2e9d5b}@media print{body{background:#fff}section{box-shadow:none;border:1px solid
#ccc;break-inside:avoid}main{max-width:none}}
"""


def _y(value: float, low: float, high: float) -> float:
    return _PAD_Y + (high - value) / (high - low) * (_H - 2 * _PAD_Y)


def _x(i: int, n: int) -> float:
    return _PAD_X + i * (_W - 2 * _PAD_X) / max(n - 1, 1)


def _scale(points: list[HistoryPoint]) -> tuple[float, float]:
    values = [v for p in points if p.ci95 for v in (p.ci95.low, p.ci95.high)]
    if not values:
        return -100.0, 100.0
    low, high = max(-100.0, min(values) - 5), min(100.0, max(values) + 5)
    return (low, high) if high - low >= 10 else (low - 5, high + 5)


def chart(d: DigestOut) -> str:
    """NPS per period with its 95 % interval band, a zero line and change markers."""
    pts, n = d.history, len(d.history)
    low, high = _scale(pts)
    shown = [(i, p) for i, p in enumerate(pts) if p.ci95 is not None and p.nps is not None]
    parts = [f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-label="NPS over {n} periods">']
    for tick in (low, (low + high) / 2, high):
        y = _y(tick, low, high)
        parts.append(
            f'<line x1="{_PAD_X}" x2="{_W - _PAD_X}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7ef"/>'
            f'<text x="4" y="{y + 4:.1f}" font-size="11" fill="#5b6475">{tick:.0f}</text>'
        )
    if shown:
        upper = [f"{_x(i, n):.1f},{_y(p.ci95.high, low, high):.1f}" for i, p in shown]  # type: ignore[union-attr]
        lower = [f"{_x(i, n):.1f},{_y(p.ci95.low, low, high):.1f}" for i, p in reversed(shown)]  # type: ignore[union-attr]
        parts.append(f'<polygon points="{" ".join(upper + lower)}" fill="#4a78c233"/>')
        line = " ".join(f"{_x(i, n):.1f},{_y(p.nps, low, high):.1f}" for i, p in shown)  # type: ignore[arg-type]
        parts.append(f'<polyline points="{line}" fill="none" stroke="#2f5fb3" stroke-width="2.5"/>')
        for i, p in shown:
            parts.append(
                f'<circle cx="{_x(i, n):.1f}" cy="{_y(p.nps, low, high):.1f}" r="3.5" '  # type: ignore[arg-type]
                f'fill="#2f5fb3"><title>{p.from_}: {number(p.nps)} ({p.total})</title></circle>'
            )
    for marker in _markers(d):
        parts.append(marker)
    for i in (0, n - 1):
        parts.append(
            f'<text x="{_x(i, n):.1f}" y="{_H - 4}" font-size="11" text-anchor="middle" '
            f'fill="#5b6475">{pts[i].from_}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _markers(d: DigestOut) -> list[str]:
    pts, n, out = d.history, len(d.history), []
    for c in d.changes:
        for i, p in enumerate(pts):
            if p.from_ <= c.effective_on <= p.to:
                x = _x(i, n)
                out.append(
                    f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_PAD_Y}" y2="{_H - _PAD_Y}" '
                    f'stroke="#b26b00" stroke-dasharray="4 3"><title>{escape(c.title)}'
                    f"</title></line>"
                    f'<text x="{x + 3:.1f}" y="{_PAD_Y + 10}" font-size="11" fill="#b26b00">'
                    f"{escape(c.title[:24])}</text>"
                )
    return out


def _bars(d: DigestOut) -> str:
    if not d.flagged_segments:
        return "<p>Every segment is in line with the rest.</p>"
    widest = max(abs(s.difference or 0) for s in d.flagged_segments) or 1
    rows = []
    for s in d.flagged_segments:
        width = 55 * abs(s.difference or 0) / widest
        rows.append(
            f'<div class="bar"><span>{escape(s.dimension)} = {escape(s.value)}: NPS '
            f'{number(s.nps)} ({s.total})</span><i class="{escape(s.flag)}" '
            f'style="width:{width:.0f}%"></i>{escape(s.flag)} by '
            f"{number(abs(s.difference or 0))}</div>"
        )
    return "".join(rows)


def _quote(q: Quote, kind: str) -> str:
    return (
        f'<blockquote class="{kind}">{escape(q.comment)} <span class="muted">(score {q.score}, '
        f"{q.answered_at:%Y-%m-%d})</span></blockquote>"
    )


def _themes(themes: list[ThemeBrief], kind: str) -> str:
    if not themes:
        return "<p class=muted>No clear theme yet.</p>"
    items = [
        f"<li><b>{escape(t.term)}</b>: {t.comments} comments (z {t.z:.1f})"
        + (_quote(t.quote, kind) if t.quote else "")
        + "</li>"
        for t in themes
    ]
    return f"<ul>{''.join(items)}</ul>"


def html(d: DigestOut) -> str:
    f = d.followups
    target = target_line(d)
    segments = _bars(d) if d.dimensions else "<p class=muted>No dimensions chosen.</p>"
    quotes_d = "".join(_quote(q, "d") for q in d.detractor_comments) or "<p>None.</p>"
    quotes_p = "".join(_quote(q, "p") for q in d.promoter_comments) or "<p>None.</p>"
    changes = "".join(
        f"<li>{c.effective_on} {escape(c.title)}: {escape(c.decision.replace('_', ' '))} "
        f"({number(c.difference, True)} points)</li>"
        for c in d.changes
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>NPS huddle digest: {escape(title(d))}</title><style>{_CSS}</style></head>
<body><main>
<h1>NPS huddle digest: {escape(title(d))}</h1>
<section><div class="big">NPS {number(d.nps.nps)}</div>
<p>{escape(nps_line(d.nps))}</p>
<p class="muted">Previous {d.period}: {escape(nps_line(d.previous))}. {escape(change_line(d))}
{escape(target or "")}</p>
{chart(d)}</section>
<section><h2>Segments that stand out</h2>{segments}</section>
<section><h2>What detractors talk about</h2>{_themes(d.themes.detractors, "d")}
<h2>What promoters talk about</h2>{_themes(d.themes.promoters, "p")}</section>
<section><h2>Newest detractor comments</h2>{quotes_d}</section>
<section><h2>Praise to share with the team</h2>{quotes_p}</section>
<section><h2>Follow-up queue</h2><p>{f.opened} opened, {f.closed} closed, {f.overdue} overdue;
median {number(f.median_hours_to_first_contact)} h to first contact,
{number(f.median_hours_to_close)} h to close. Recovery: {f.recovery.answered_again} of
{f.recovery.customers} answered again, {f.recovery.promoters} as promoters.</p></section>
{f"<section><h2>Changes and their impact</h2><ul>{changes}</ul></section>" if changes else ""}
</main></body></html>
"""

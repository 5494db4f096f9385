"""The huddle digest as Markdown that pastes cleanly into chat tools (no tables, no HTML)."""

from __future__ import annotations

import re

from api.schemas.digests import DigestOut, PeriodFigures, Quote, ThemeBrief

MAX_QUOTE = 280
_SPECIAL = re.compile(r"([\\`*_~\[\]<>#|])")
_LABEL = {"week": "Week", "month": "Month"}


def plain(text: str, limit: int = MAX_QUOTE) -> str:
    """One line, at most `limit` characters, Markdown and chat markup neutralised."""
    one_line = " ".join(text.split())
    if len(one_line) > limit:
        one_line = one_line[: limit - 1].rstrip() + "…"
    return _SPECIAL.sub(r"\\\1", one_line).replace("@", "@\u200b")  # no @channel pings


def number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def title(d: DigestOut) -> str:
    if d.period == "week":
        year, week, _ = d.from_.isocalendar()
        return f"Week {year}-W{week:02d} ({d.from_} to {d.to})"
    return f"Month {d.from_:%Y-%m} ({d.from_} to {d.to})"


def nps_line(f: PeriodFigures) -> str:
    if f.total == 0:
        return "no answers"
    ci = f" (95 % interval {number(f.ci95.low)} to {number(f.ci95.high)})" if f.ci95 else ""
    return f"{number(f.nps)}{ci}, {f.total} answers"


def change_line(d: DigestOut) -> str:
    c = d.change
    if c.significant is None:
        return "Change: not enough answers to compare."
    verdict = "a real change" if c.significant else "within chance"
    p = (
        ""
        if c.p_value is None
        else ", p < 0.001"
        if c.p_value < 0.001
        else f", p = {c.p_value:.3f}"
    )
    return f"Change: {number(c.difference, True)} points, {verdict}{p}."


def target_line(d: DigestOut) -> str | None:
    if d.nps.target is None:
        return None
    met = {"yes": "met", "no": "not met", "uncertain": "not yet clear"}[d.nps.target_met or ""]
    return f"Target {number(d.nps.target)}: {met} (gap {number(d.nps.gap, True)})."


def _quote(q: Quote) -> str:
    return f"> {plain(q.comment)} _(score {q.score}, {q.answered_at:%Y-%m-%d})_"


def _theme(t: ThemeBrief) -> list[str]:
    head = f"- **{plain(t.term, 60)}**: {t.comments} comments (z {t.z:.1f})"
    return [head] + ([f"  {_quote(t.quote)}"] if t.quote else [])


def markdown(d: DigestOut) -> str:
    lines = [f"**NPS huddle digest: {title(d)}**", ""]
    lines.append(f"**NPS {nps_line(d.nps)}**")
    lines.append(f"Previous {d.period}: {nps_line(d.previous)}. {change_line(d)}")
    target = target_line(d)
    if target:
        lines.append(target)
    if d.dimensions:
        lines += ["", "**Segments that stand out** (each against the rest, Holm-adjusted)"]
        for s in d.flagged_segments:
            lines.append(
                f"- {plain(s.dimension, 40)} = {plain(s.value, 100)}: NPS {number(s.nps)} "
                f"({s.total} answers), {s.flag} the rest by "
                f"{number(abs(s.difference or 0))} points"
            )
        if not d.flagged_segments:
            lines.append("- none: every segment is in line with the rest")
    for label, themes in (
        ("What detractors talk about", d.themes.detractors),
        ("What promoters talk about", d.themes.promoters),
    ):
        lines += ["", f"**{label}**"]
        lines += [x for t in themes for x in _theme(t)] or ["- no clear theme yet"]
    lines += ["", "**Newest detractor comments**"]
    lines += [_quote(q) for q in d.detractor_comments] or ["- none"]
    lines += ["", "**Praise to share with the team**"]
    lines += [_quote(q) for q in d.promoter_comments] or ["- none"]
    f = d.followups
    lines += [
        "",
        f"**Follow-up queue**: {f.opened} opened, {f.closed} closed, {f.overdue} overdue; "
        f"median {number(f.median_hours_to_first_contact)} h to first contact, "
        f"{number(f.median_hours_to_close)} h to close; recovery: "
        f"{f.recovery.answered_again} of {f.recovery.customers} answered again, "
        f"{f.recovery.promoters} as promoters.",
    ]
    if d.changes:
        lines += ["", "**Changes and their impact**"]
        for c in d.changes:
            lines.append(
                f"- {c.effective_on} {plain(c.title, 120)}: {c.decision.replace('_', ' ')} "
                f"({number(c.difference, True)} points)"
            )
    return "\n".join(lines) + "\n"

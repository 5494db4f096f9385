"""The benchmark table (Markdown) from results.json, and the README section it fills."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
README = HERE.parents[1] / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _load(x: dict[str, Any]) -> str:
    return f"{x['rps']:,.0f} req/s, p50 {x['p50_ms']:.2f} ms, p99 {x['p99_ms']:.2f} ms"


def _bare(x: dict[str, Any], key: str, label: str = "in a bare Litestar app") -> str:
    """The baseline again without the project's middleware (runs before it have none)."""
    return f"; {label}: " + _load(x[key]) if key in x else ""


def _bare_ratio(x: dict[str, Any], key: str) -> str:
    return f"; bare Litestar app: {x[key]:.2f}x" if key in x else ""


def _n(size: str) -> str:
    n = int(size)
    return f"{n // 1_000_000} M" if n >= 1_000_000 else f"{n // 1000} k"


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    s, b = r["single_ingest"], r["batch_ingest"]
    out = [
        (
            "Single ingest `POST /v1/responses`, 64 connections",
            _load(s["api"]) + f", {s['api']['errors']} errors",
            "no-op POST decoding the same body: " + _load(s["noop"]) + _bare(s, "bare_noop"),
            f"{s['ratio_rps']:.2f}x (p99 {s['ratio_p99']:.2f}x)"
            + (
                f"; bare Litestar app: {s['bare_ratio_rps']:.2f}x (p99 {s['bare_ratio_p99']:.2f}x)"
                if "bare_ratio_rps" in s
                else ""
            ),
            "≥ 0.6x, p99 ≤ 3x",
        ),
        (
            "Batch ingest `POST /v1/responses/batch` (1000 items), counters included",
            f"{b['api_rows_per_s']:,} rows/s",
            f"raw asyncpg COPY: {b['copy_rows_per_s']:,} rows/s",
            f"{b['ratio']:.2f}x",
            "≥ 0.5x",
        ),
    ]
    if "rate_limit" in r:  # runs from before the rate limiter have no such case
        rl = r["rate_limit"]
        out.append(
            (
                "`GET /v1/nps` with rate limits checked (one check per request; checks "
                "arriving together share a Lua call)",
                _load(rl["on"]),
                "the same server code with `NPS_RATE_LIMITS=0`: " + _load(rl["off"]),
                f"{rl['ratio_rps']:.2f}x (p50 {rl['ratio_p50']:.2f}x)",
                "documented",
            )
        )
    if "many_tenants" in r:  # runs from before this case have none
        mt = r["many_tenants"]
        out.append(
            (
                f"Single ingest spread over {mt['tenants']} tenants, 64 connections",
                _load(mt["spread"]) + f", {mt['spread']['errors']} errors",
                "the same load on one tenant: " + _load(mt["one"]),
                f"{mt['ratio_rps']:.2f}x (p99 {mt['ratio_p99']:.2f}x)",
                "≥ 1x",
            )
        )
    sizes = sorted(r["reads"], key=int)
    for size in sizes:
        x = r["reads"][size]
        for case, label in (
            ("nps_30d", "`GET /v1/nps`, 30 days"),
            ("nps_90d_segment", "`GET /v1/nps`, 90 days, one segment"),
        ):
            out.append(
                (
                    f"{label}, {_n(size)} answers",
                    _load(x[case]),
                    "one Redis HGETALL: "
                    + _load(x[case].get("baseline", x["hgetall"]))
                    + _bare(x[case], "bare_baseline"),
                    f"{x[case]['ratio_rps']:.2f}x" + _bare_ratio(x[case], "bare_ratio_rps"),
                    "≥ 0.7x",
                )
            )
        cases = [("breakdown_365d", "")]  # results from before the breakdown cache: one row
        if "breakdown_365d_uncached" in x:
            cases = [
                ("breakdown_365d", ", counters unchanged since the last read"),
                ("breakdown_365d_uncached", ", every read recomputed"),
            ]
        if "breakdown_365d_ingesting" in x:
            rate = x["breakdown_365d_ingesting"]["answers_posted_per_s"]
            cases.append(("breakdown_365d_ingesting", f", {rate:g} answers/s arriving meanwhile"))
        for case, label in cases:
            bd = x[case]
            out.append(
                (
                    f"`GET /v1/nps/breakdown`, 50 teams, 365 days, {_n(size)} answers{label}",
                    _load(bd),
                    f"single read p50 {x['nps_30d']['p50_ms']:.2f} ms",
                    f"p50 {bd['p50_ms'] / x['nps_30d']['p50_ms']:.2f}x",
                    "p50 ≤ 5x",
                )
            )
    small, big = r["reads"][sizes[0]], r["reads"][sizes[-1]]
    growth = big["nps_30d"]["p99_ms"] / small["nps_30d"]["p99_ms"]
    out.append(
        (
            f"`GET /v1/nps` p99 at {_n(sizes[-1])} vs {_n(sizes[0])} answers",
            f"{big['nps_30d']['p99_ms']:.2f} ms",
            f"{small['nps_30d']['p99_ms']:.2f} ms",
            f"{growth:.2f}x",
            "≤ 1.2x",
        )
    )
    rb = r["rebuild"]
    out.append(
        (
            f"`nps counters rebuild`, {_n(str(rb['answers']))} answers",
            f"{rb['rebuild_s']:.2f} s",
            f"plain SQL aggregate: {rb['aggregate_s']:.2f} s",
            f"{rb['ratio']:.2f}x",
            "≤ 1.5x",
        )
    )
    if "row_level_security" in r:  # runs from before row-level security have none
        rls = r["row_level_security"]
        fb, uw = rls["fallback_30d_ms"], rls["unit_of_work_ms"]
        out.append(
            (
                f"`GET /v1/nps` PostgreSQL fallback query, 30 days, {_n(str(rls['answers']))}"
                " answers, row-level security on",
                f"median {fb['on']:.2f} ms",
                f"the same as the owner (no policy): {fb['off']:.2f} ms",
                f"{rls['fallback_ratio']:.2f}x",
                "≤ 1.05x",
            )
        )
        out.append(
            (
                "A tenant's unit of work with one lookup, row-level security on (tenant set"
                " in the BEGIN message)",
                f"median {uw['on']:.3f} ms",
                f"the owner, no tenant: {uw['off']:.3f} ms; set_config as a round trip of"
                f" its own: {uw['two_trips']:.3f} ms",
                f"{rls['unit_of_work_ratio']:.2f}x (+{(uw['on'] - uw['off']) * 1000:.0f} us)",
                "documented",
            )
        )
    if "themes" in r:
        th = r["themes"]
        alone = "same comments tokenised alone in-process"
        if th.get("separate_run"):
            alone += f" (this row measured apart from the full run, {th['separate_run']})"
        out.append(
            (
                f"`GET /v1/insights/themes`, {_n(str(th['comments']))} comments",
                f"{th['api_s']:.2f} s, server CPU {th.get('api_cpu_s', 0):.2f} s (first request "
                f"of the process {th['first_request_s']:.2f} s)",
                f"{alone}: {th['tokenise_s']:.2f} s, CPU {th.get('tokenise_cpu_s', 0):.2f} s",
                f"{th['ratio']:.2f}x (CPU {th.get('ratio_cpu', 0):.2f}x)",
                "< 2 s",
            )
        )
    sk, rm = r["soak"], r["redis_memory"]
    out.append(
        (
            f"API RSS over a {sk['seconds']} s mixed load",
            f"{sk['rss_before_mb']} → {sk['rss_after_mb']} MiB",
            "",
            f"{sk['rss_growth_pct']:+.1f} %",
            "< 10 %",
        )
    )
    out.append(
        (
            "Redis memory per counter key",
            f"{rm['mean_bytes']} bytes",
            f"mean of {rm['sampled_keys']} keys",
            "",
            "documented",
        )
    )
    return out


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    head = (
        f"Measured {m['date']} on {m['cores']} cores ({m['cpu']}), Python {m['python']}, "
        f"PostgreSQL {m['postgres']}, Redis {m['redis']}; one granian worker; wrk on "
        f"loopback; {r['seconds']} s per case ({r['mode']} run).\n\n"
    )
    lines = [
        "| case | measured | baseline (same run, same server) | ratio | target |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows(r)]
    return head + "\n".join(lines)


def update_readme(text: str, table: str) -> str:
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{table}\n{END}{after}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="print or write the benchmark table")
    parser.add_argument("--results", default=str(HERE / "results.json"))
    parser.add_argument("--readme", action="store_true", help="rewrite the README section")
    args = parser.parse_args()
    table = markdown(json.loads(Path(args.results).read_text()))
    if args.readme:
        README.write_text(update_readme(README.read_text(), table))
    print(table)

"""Bench case: comment themes of 50,000 comments, against tokenising the same comments alone."""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import psutil

from infra.comment_terms import StopWordLemmaAnalyzer
from tests.bench.data import TEAMS, copy_answers
from tests.bench.tools import Server

_DETRACTOR = {
    "de": [
        "Die Wartezeiten an der Hotline sind viel zu lang",
        "Niemand hat zurückgerufen, der Support ist nicht erreichbar",
        "Die Rechnung war falsch und die Preise sind zu hoch",
        "Lieferung kam beschädigt an, Paket {n} war kaputt",
    ],
    "en": [
        "Waited on hold for {n} minutes, support never called back",
        "The invoice was wrong and prices keep going up",
        "Delivery arrived damaged, order {n} broken",
        "Nobody answers emails, write to help@example.com does nothing",
    ],
}
_PROMOTER = {
    "de": [
        "Sehr freundliche Mitarbeiter und kompetente Beratung",
        "Schnelle Lieferung, alles bestens verpackt",
        "Die App ist einfach zu bedienen",
    ],
    "en": [
        "Friendly staff and competent advice",
        "Fast delivery, everything well packed",
        "The app is easy to use, see https://example.com/app",
    ],
}
_PASSIVE = [
    "Ganz okay, nichts Besonderes",
    "It was fine, nothing special",
    "Preis ok, Lieferung ok",
]


def comment_for(score: int, rnd: random.Random) -> str:
    lang = rnd.choice(("de", "en"))
    pool = _DETRACTOR[lang] if score <= 6 else _PROMOTER[lang] if score >= 9 else _PASSIVE
    first, second = rnd.choice(pool), rnd.choice(pool)
    return f"{first}. {second}".format(n=rnd.randrange(10, 9999))


def comment_rows(
    tenant_id: uuid.UUID, survey_id: uuid.UUID, n: int, *, today: date
) -> Iterator[tuple[object, ...]]:
    """n commented answers over the 30 days ending today, deterministic."""
    rnd = random.Random(7)
    base = datetime.combine(today, datetime.min.time(), UTC)
    for _ in range(n):
        at = base - timedelta(days=rnd.randrange(29), seconds=rnd.randrange(86400))
        score = rnd.choice((0, 3, 5, 6, 7, 8, 9, 9, 10, 10))
        yield (
            tenant_id,
            uuid.UUID(int=rnd.getrandbits(128), version=4),
            survey_id,
            score,
            comment_for(score, rnd),
            f"cus_{rnd.randrange(10**6)}",
            {"team": rnd.choice(TEAMS)},
            at,
            at,
            at.date(),
        )


def tokenise_alone(comments: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds to tokenise the comments in a fresh analyzer (dictionaries
    loaded first), in this process."""
    analyzer = StopWordLemmaAnalyzer()
    analyzer.terms("Wartezeit warten waiting")
    started, cpu = time.perf_counter(), time.process_time()
    for c in comments:
        analyzer.terms(c)
    return time.perf_counter() - started, time.process_time() - cpu


def worker_cpu_s(server: Server) -> float:
    """CPU seconds (user + system) the server's processes have used so far."""
    procs = [psutil.Process(server.proc.pid)]
    procs += procs[0].children(recursive=True)
    return sum(p.cpu_times().user + p.cpu_times().system for p in procs)


async def themes_case(
    server: Server, pool: asyncpg.Pool, key: str, survey: str, tenant: str, n: int
) -> dict[str, Any]:
    """Wall time of the request (median of three after a first one that loads the lemma
    dictionaries) and the CPU time the server spent on it: on two shared cores the wall
    time mostly measures the other load, the CPU time what the request costs."""
    today = date.today()
    rows = list(comment_rows(uuid.UUID(tenant), uuid.UUID(survey), n, today=today))
    await copy_answers(pool, iter(rows))
    path = f"/v1/insights/themes?from={today - timedelta(days=29)}&to={today}"
    headers = {"Authorization": f"Bearer {key}"}
    timings, cpu = [], []
    async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=60) as client:
        for _ in range(4):  # the first also loads the lemma dictionaries of the process
            started, cpu_before = time.perf_counter(), worker_cpu_s(server)
            r = await client.get(path)
            r.raise_for_status()
            timings.append(time.perf_counter() - started)
            cpu.append(worker_cpu_s(server) - cpu_before)
    body = r.json()
    assert body["comments"]["used"] == n, body["comments"]
    runs = [tokenise_alone([str(row[4]) for row in rows]) for _ in range(3)]
    alone = statistics.median(wall for wall, _ in runs)
    alone_cpu = statistics.median(c for _, c in runs)
    api, api_cpu = statistics.median(timings[1:]), statistics.median(cpu[1:])
    return {
        "comments": n,
        "api_s": round(api, 3),
        "api_cpu_s": round(api_cpu, 3),
        "first_request_s": round(timings[0], 3),
        "tokenise_s": round(alone, 3),
        "tokenise_cpu_s": round(alone_cpu, 3),
        "ratio": round(api / alone, 3) if alone else 0.0,
        "ratio_cpu": round(api_cpu / alone_cpu, 3) if alone_cpu else 0.0,
        "themes": [t["term"] for t in body["a"]["themes"][:5]],
    }

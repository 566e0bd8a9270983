"""search_p95_ms: one ranked search at N referrals (100,000 in the full run).

N referrals are written (two in three closed: the search covers the archive) with descriptions
of twelve words drawn, the common ones more often, from a vocabulary of Italian words as the
room writes them (accents, inflected forms). An operator's session then asks
`GET /api/v1/search?q=...` R times, cycling through what people type: a common word, a rare
word, two words, a word without its accent ("citta"), an inflected form ("dimesso" for
"dimessa"), a one-letter typo ("sfrato"), the last digits of a case number. The time is the
client-observed latency on loopback (the whole call: the typo lexicon, the ranked full-text
query over the GIN index, the scope, the results and their file-opening records), p95.

Baseline: the search one would write without the index: the same words as
`description ILIKE '%word%'` over the same rows in plain asyncpg, newest first, 25 rows (no
ranking, no accents or typos, no scope, no audit), p95. Target: ours under 100 ms.
"""

from __future__ import annotations

import time

import asyncpg
import httpx

from bench import stats
from bench.common import Figure, Run, quiesce
from console.lib import auth

WARMUP = 3
WORDS_PER_TEXT = 12

# Common words first: a text draws word k with probability falling with k.
VOCABULARY = (
    "persona sola anziana difficoltà senza casa famiglia minori ospedale dimessa rete "
    "familiare valutare urgenza donna uomo figli madre padre città stazione notte freddo "
    "sfratto esecutivo alloggio popolare affitto lavoro perso reddito debiti luce gas "
    "riscaldamento cibo farmaci terapia psichiatrica ricovero pronto soccorso carabinieri "
    "polizia municipale vicini segnalano urla violenza domestica maltrattamento marito "
    "compagno ex allontanamento protezione casa rifugio comunità accoglienza straniero "
    "lingua araba inglese rumena documenti permesso soggiorno scaduto richiedente asilo "
    "minore straniero non accompagnato scuola assenze ragazzo ragazza adolescente fuga "
    "genitori separati nonna badante demenza Alzheimer caduta frattura deambulazione "
    "carrozzina disabilità invalidità pensione sociale assegno inclusione servizio sociale "
    "assistente referente medico base infermiere territorio distretto consultorio SerD "
    "dipendenza alcol sostanze gioco azzardo senza dimora dormitorio mensa Caritas "
    "parrocchia volontari vestiti coperte tenda parco giardini ponte fiume argine alluvione "
    "incendio evacuazione calore ondata caldo afa disidratazione solitudine isolamento "
    "lutto recente vedova suicidio rischio autolesionismo crisi agitazione confusa "
    "disorientata trovata vagare strada statale frazione località piazza mercato chiesa "
    "biblioteca supermercato farmacia ambulatorio veterinario cane gatto animali accudire"
).split()
QUERIES = (
    "persona sola",  # common words
    "veterinario",  # a rare word
    "sfratto esecutivo",
    "citta",  # without its accent
    "dimesso",  # an inflected form of "dimessa"
    "sfrato",  # a one-letter typo
    "{number}",  # the last digits of a case number
    "anziana sola",
)


async def _write(conn: asyncpg.Connection, count: int, referrer_id: int, tag: str) -> None:
    """`count` referrals with varied descriptions, two in three closed, in one statement."""
    await conn.execute("SELECT setseed(0.42)")
    await conn.execute(
        "WITH places AS (SELECT istat_code, zone_id, row_number() OVER (ORDER BY istat_code) - 1"
        "   AS n, count(*) OVER () AS total FROM municipalities)"
        " INSERT INTO referrals (case_number, referrer_id, status, trigger, urgency_proposed,"
        " municipality_code, zone_id, people, description, callback, received_at, updated_at)"
        " SELECT 'BENCH-' || $3 || '-' || lpad(i::text, 6, '0'), $2,"
        " (ARRAY['received','not_pertinent','redirected'])[1 + i % 3],"
        " (ARRAY['abandonment','poverty_homelessness','violence'])[1 + i % 3],"
        " (ARRAY['rosso','giallo','verde',NULL])[1 + i % 4], p.istat_code, p.zone_id,"
        ' \'{"count": 1, "age_band": "65_plus"}\'::jsonb,'
        " (SELECT string_agg(($4::text[])[1 + floor(power(random(), 2) * $5)::int], ' ')"
        "    FROM generate_series(1, $6) AS k WHERE k > 0 * i),"
        ' \'{"name": "Referente", "role": "triage", "phone": "+39 055 000000"}\'::jsonb,'
        " now() - make_interval(mins => i * 5), now()"
        " FROM generate_series(1, $1) AS i JOIN places p ON p.n = i % p.total",
        count,
        referrer_id,
        tag,
        list(VOCABULARY),
        len(VOCABULARY),
        WORDS_PER_TEXT,
    )


async def measure(run: Run) -> list[Figure]:
    n, r = run.sizes.search_referrals, run.sizes.search_requests
    tag = f"s{run.tag}"
    conn = await asyncpg.connect(run.dsn)
    try:
        await quiesce(conn)
        began = time.monotonic()
        await _write(conn, n, run.referrer_id, tag)
        await conn.execute("ANALYZE referrals; ANALYZE search_documents; ANALYZE search_words")
        written_s = time.monotonic() - began
        number = await conn.fetchval(
            "SELECT case_number FROM referrals WHERE case_number LIKE $1 ORDER BY id LIMIT 1"
            " OFFSET $2",
            f"BENCH-{tag}-%",
            n // 2,
        )
    finally:
        await conn.close()
    digits = number.rsplit("-", 1)[1].lstrip("0")  # "BENCH-s1a2b-050000" -> "50000"
    queries = [q.format(number=digits) for q in QUERIES]

    console = run.consoles[0]
    operator = run.operators[0]
    ours: list[float] = []
    found: dict[str, int] = {}
    async with httpx.AsyncClient(
        base_url=console.url, cookies={auth.SESSION_COOKIE: operator.cookie}, timeout=30
    ) as client:
        for i in range(WARMUP + r):
            q = queries[i % len(queries)]
            began = time.perf_counter()
            answer = await client.get("/api/v1/search", params={"q": q})
            elapsed = (time.perf_counter() - began) * 1000
            if answer.status_code != 200:
                run.check(False, f"search {q!r}: HTTP {answer.status_code}")
                continue
            found[q] = len(answer.json()["results"])
            if i >= WARMUP:
                ours.append(elapsed)
    for q in queries:
        run.check(found.get(q, 0) > 0, f"search {q!r} found nothing")

    conn = await asyncpg.connect(run.dsn)
    base: list[float] = []
    try:
        for i in range(WARMUP + r):
            words = queries[i % len(queries)].split()
            began = time.perf_counter()
            await conn.fetch(
                "SELECT id, case_number, status, received_at FROM referrals"
                " WHERE description ILIKE ALL($1::text[]) OR case_number LIKE $2"
                " ORDER BY received_at DESC LIMIT 25",
                [f"%{w}%" for w in words],
                f"%-{words[0].zfill(6)}",
            )
            if i >= WARMUP:
                base.append((time.perf_counter() - began) * 1000)
    finally:
        await conn.close()
    p_ours, p_base = stats.percentile(ours, 95), stats.percentile(base, 95)
    return [
        Figure(
            "search_p95_ms",
            p_ours,
            p_base,
            "ms",
            "ours < 100",
            p_ours < 100,
            f"GET /api/v1/search over {n:,} referrals ({written_s:.0f} s to write them and their"
            f" search documents), {r} requests cycling {len(queries)} kinds of query; ours"
            " client-observed on loopback; baseline ILIKE without index",
        )
    ]

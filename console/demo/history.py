"""The demo's past: a year of referrals (dispatch.demo_year), played through the real actions.

Every step of every referral is the action a referrer, the room, a unit's tablet or a
territorial service takes in production, run with an injected clock at the moment the plan
gives it: rows, events (with their historical `at`), the referrers' progress and the SLA clocks
are the actions' own. Between steps, the clocks that came due are fired at their due instant
(`clocks.actions.fire_due`), so warnings, breaches and escalations are on the log when they
would have been; supervisors on shift acknowledge each escalation some minutes later.

Given the database's DSN (`run.py`), the history up to the living room's hours is played by
zone in parallel processes (LANES, below), each on its own connection, committing each action.
The rest, and the living room (console/demo/room.py), are then played on one connection in
time order, so the hours a new user sees first read in order. A timeline on one connection
joins its actions into one transaction (no savepoint) that commits every CHUNK steps, with an
ANALYZE now and then. The history is played only on a database without referrals (the first
`--demo` start); a first start cut short keeps the part it committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import math
import multiprocessing
import os
import random
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg

from console.areas.assessment import actions as assessment
from console.areas.assessment.schemas import DecisionIn
from console.areas.cases import actions as cases
from console.areas.clocks import actions as clocks
from console.areas.handover import actions as handover
from console.areas.intake import actions as intake
from console.areas.intake.schemas import ReferralIn
from console.areas.supervision import actions as supervision
from console.areas.tablet import actions as tablet
from console.areas.tablet.schemas import CheckInIn, StatusIn
from console.areas.units import actions as units
from console.demo import room as demo_room
from console.demo import spots
from console.lib import auth
from console.lib.db import BeforeCommit, Database, Tx, create_pool
from dispatch import access, demo_year
from dispatch import handover as handover_core
from dispatch import units as units_core
from dispatch.demo_year import Step

log = logging.getLogger("seus.demo")

HISTORY_ENV = "SEUS_DEMO_HISTORY"  # days of history a first --demo start seeds (0: none)
DEFAULT_DAYS = 365
# Steps per commit, and commits per ANALYZE. The tables grow from nothing during the seed:
# in one transaction PostgreSQL keeps every version of a row updated many times (the event
# head, by every action) and has no statistics for its plans (the SLA hook's clock lookup
# became a scan of every clock): a year took twice as long.
CHUNK = 500
PROGRESS_EVERY = 5_000  # steps between two progress lines in the log
ANALYZE_EVERY = 4

Role = access.Role
# People of the room who take shifts in the history, besides the demo's own log-in users.
OPERATORS = ["operatrice", "operatore", "op-ferri", "op-innocenti", "op-bertini", "op-giannini"]
SUPERVISORS = ["supervisore", "sup-marchetti", "sup-cecchi"]
STAFF: list[tuple[str, str, Role]] = [
    ("op-ferri", "Giulia Ferri (demo)", Role.OPERATOR),
    ("op-innocenti", "Marco Innocenti (demo)", Role.OPERATOR),
    ("op-bertini", "Sara Bertini (demo)", Role.OPERATOR),
    ("op-giannini", "Luca Giannini (demo)", Role.OPERATOR),
    ("sup-marchetti", "Elena Marchetti (demo)", Role.SUPERVISOR),
    ("sup-cecchi", "Paolo Cecchi (demo)", Role.SUPERVISOR),
]
# Zones whose territorial service has a demo log-in: each has a handover waiting at "now".
PENDING_IN = ("firenze", "pistoiese", "pratese", "pisana", "livornese")

# What the referrer writes: per category a few situations, then who, where and a detail, so
# that descriptions differ the way real ones do (and a search has distinctive words to find).
_WHAT = {
    "family_conflict": (
        "Lite familiare con allontanamento di {who} dall'abitazione",
        "Forte conflitto in famiglia: {who} non può rientrare a casa stanotte",
        "Tensione con i conviventi, {who} chiede di essere allontanat{a} dal nucleo",
    ),
    "violence": (
        "Vittima di violenza domestica, percorso Codice Rosa attivato per {who}",
        "{Who} riferisce maltrattamenti ripetuti dal partner, chiede protezione",
        "Aggressione in casa: {who} con lesioni lievi, teme di tornare",
    ),
    "abandonment": (
        "{Who} trovat{a} sol{a} e disorientat{a}, nessun familiare rintracciabile",
        "{Who} non autosufficiente lasciat{a} senza assistenza dal caregiver",
        "Segnalat{a} dai vicini: {who} vive sol{a} in condizioni igieniche gravi",
    ),
    "loss_of_self_sufficiency": (
        "{Who} dimissibile che non può rientrare a casa da sol{a}",
        "Dopo una caduta {who} non riesce più a muoversi in casa, nessun aiuto",
        "Ricovero concluso ma {who} non ha chi l{a} assista al domicilio",
    ),
    "poverty_homelessness": (
        "{Who} senza dimora e senza mezzi, chiede un posto per la notte",
        "Sfratto eseguito oggi: {who} senza alloggio né rete di sostegno",
        "{Who} dorme in auto da giorni, senza riscaldamento né pasti",
    ),
    "dependency": (
        "{Who} con dipendenza in stato di grave disagio, rifiuta il ricovero",
        "Crisi di astinenza: {who} agitat{a}, senza riferimenti al SerD",
        "{Who} in evidente stato di ebbrezza, sol{a} e senza documenti",
    ),
    "minors_at_risk": (
        "Minore solo in situazione di rischio, nessun adulto di riferimento",
        "Ragazzo non accompagnato fermato in stazione, dice di avere 15 anni",
        "Bambini lasciati soli in casa, genitori non raggiungibili",
    ),
    "calamity": (
        "Famiglia evacuata dall'abitazione dopo un evento calamitoso",
        "Allagamento del piano terra: {who} e i familiari senza alloggio",
        "Casa inagibile dopo un incendio, {who} ospitat{a} provvisoriamente dai vicini",
    ),
}
_WHO = (  # who, and the ending of the words that agree with them
    ("una donna di circa 80 anni", "a"),
    ("un uomo di mezza età", "o"),
    ("una signora anziana vedova", "a"),
    ("un giovane straniero che parla poco italiano", "o"),
    ("una madre con due figli piccoli", "a"),
    ("un uomo anziano con demenza iniziale", "o"),
    ("una ragazza di 19 anni", "a"),
    ("un pensionato", "o"),
)
_WHERE = (
    "stazione ferroviaria",
    "pronto soccorso",
    "giardini pubblici",
    "sagrato della chiesa",
    "domicilio",
    "parcheggio del supermercato",
    "portici del centro",
    "frazione isolata",
)
_DETAIL = (
    "Ha con sé un cane.",
    "Nessun documento di identità.",
    "Assume farmaci per il cuore.",
    "Chiede di non avvisare i figli.",
    "Parla solo rumeno.",
    "Ha freddo e non mangia da ieri.",
    "Il medico di base è informato.",
    "Già nota ai servizi sociali del comune.",
    "Telefono scarico, richiamare il referente.",
    "Piove forte, serve una soluzione per stanotte.",
    "",
)
_STREETS = (
    "via Roma",
    "via Garibaldi",
    "via Mazzini",
    "piazza della Repubblica",
    "via Cavour",
    "viale dei Mille",
    "via Matteotti",
    "corso Italia",
    "via del Mercato",
    "piazza del Duomo",
)


def _description(story: demo_year.Story) -> str:
    """The referrer's words for a story: its category's situation, who, where, a detail."""
    n = story.number
    situations = _WHAT[story.trigger]
    who, a = _WHO[(n * 7) % len(_WHO)]
    text = situations[n % len(situations)].format(who=who, Who=who[0].upper() + who[1:], a=a)
    detail = _DETAIL[(n * 5 + 3) % len(_DETAIL)]
    return f"{text}. Luogo: {_WHERE[(n * 3) % len(_WHERE)]}. {detail}".strip()


_NEEDS = {
    "family_conflict": ["shelter_bed", "psychological_first_aid"],
    "violence": ["protected_housing", "psychological_first_aid"],
    "abandonment": ["shelter_bed", "meals"],
    "loss_of_self_sufficiency": ["transport", "shelter_bed"],
    "poverty_homelessness": ["shelter_bed", "meals", "clothing"],
    "dependency": ["psychological_first_aid"],
    "minors_at_risk": ["protected_housing", "interpreter"],
    "calamity": ["hotel_room", "meals"],
}
_NOT_PERTINENT = "Situazione già seguita dai servizi ordinari: nessun intervento urgente (demo)."
_CLOSED = "Preso in carico dal servizio territoriale."
_REDIRECT_TO = "Servizio sociale professionale del Comune (demo)"
_ACK_NOTES = [
    "Sentito l'operatore di turno: ritardo dovuto a più segnalazioni contemporanee.",
    "Unità trattenuta su un altro intervento; situazione seguita.",
    None,
]


def days_asked(days: int | None = None) -> int:
    """The history's length: the argument, else SEUS_DEMO_HISTORY, else a year."""
    if days is not None:
        return max(0, days)
    raw = os.environ.get(HISTORY_ENV, "").strip()
    if not raw:
        return DEFAULT_DAYS
    if not raw.isdigit():
        raise ValueError(f"{HISTORY_ENV} must be a number of days (0 for none), not {raw!r}")
    return int(raw)


class _Joined:
    """The seed's connection as an action sees it: the action's own transaction joins the
    seed's one (no savepoint: an action that fails stops the seed and rolls back its chunk)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    @contextlib.asynccontextmanager
    async def transaction(self, **_: Any) -> AsyncIterator[None]:
        yield

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)  # fetch, fetchrow, fetchval, execute, executemany


class _OneConnection:
    """What the replay's actions see as the pool: the one connection of the seed's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = _Joined(conn)

    @contextlib.asynccontextmanager
    async def acquire(self, *, timeout: float | None = None) -> AsyncIterator[Any]:  # noqa: ASYNC109
        yield self._conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class Replay(Database):
    """A database whose actions happen at `at` (an injected clock), unless told a moment. It
    follows the clocks' next due instants from the clock events its actions log, so the
    timeline knows when to fire them without asking PostgreSQL before every step."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        before_commit: Sequence[BeforeCommit],
        zones: Sequence[str] | None = None,
    ) -> None:
        super().__init__(cast(asyncpg.Pool, _OneConnection(conn)), before_commit)
        self.conn = conn
        self.at = datetime.now(UTC)
        self.dues: dict[int, datetime] = {}
        self.breaches = 0  # clock.breached events logged so far
        # A lane plays the zones it is given and commits each action (see LANES).
        self.zones = list(zones) if zones is not None else None

    async def follow_clocks(self) -> None:
        """Start from the clocks already running (a database seeded before), of its zones."""
        rows = await self.conn.fetch(
            "SELECT id, due_at FROM clocks WHERE state = 'running' AND due_at IS NOT NULL"
            " AND (zone_id = ANY($1::text[]) OR $1 IS NULL)",
            self.zones,
        )
        self.dues = {r["id"]: r["due_at"] for r in rows}

    def next_due(self) -> datetime | None:
        return min(self.dues.values(), default=None)

    @contextlib.asynccontextmanager
    async def action(self, now: datetime | None = None) -> AsyncIterator[Tx]:
        async with super().action(self.at if now is None else now) as tx:
            yield tx
        if self.zones is not None:  # the other lane waits for the event head: let it go
            await self.conn.execute("COMMIT; BEGIN")
        for event in tx.logged:
            self.breaches += event.type == "clock.breached"
            clock_id = event.payload.get("clock_id")
            if not event.type.startswith("clock.") or not isinstance(clock_id, int):
                continue
            due = event.payload.get("next_due")
            if due and event.payload.get("state") == "running":
                self.dues[clock_id] = datetime.fromisoformat(due)
            else:
                self.dues.pop(clock_id, None)


Story = AsyncGenerator[datetime, None]


@dataclass
class _Cast:
    """Who acts in the history, as principals, and what they act on."""

    operators: list[access.Principal]
    supervisors: list[access.Principal]
    referrers: dict[str, list[access.Principal]]
    services: dict[str, access.Principal]
    unit_ids: Mapping[str, int]
    crews: dict[str, access.Principal] = field(default_factory=dict)
    places: dict[str, asyncpg.Record] = field(default_factory=dict)
    homes: dict[int, str] = field(default_factory=dict)  # referrer id: ISTAT code
    nearest: dict[tuple[str, str], access.Principal] = field(default_factory=dict)

    def on_shift(self, at: datetime) -> access.Principal:
        return self.operators[demo_year.shift_operator(at, len(self.operators))]

    def referrer(self, kind: str, municipality: str) -> access.Principal:
        """The referrer of `kind` nearest to `municipality` (any one, when none is placed)."""
        if (kind, municipality) not in self.nearest:
            options = self.referrers.get(kind) or next(iter(self.referrers.values()))
            place = self.places[municipality]

            def km(p: access.Principal) -> float:
                home = self.places.get(self.homes.get(p.referrer_id or 0, ""))
                if home is None:
                    return float("inf")
                return units_core.distance_km(place["lat"], place["lon"], home["lat"], home["lon"])

            self.nearest[(kind, municipality)] = min(options, key=km)
        return self.nearest[(kind, municipality)]


async def _staff(conn: asyncpg.Connection, zones: Sequence[str]) -> None:
    """The history's people without a password (they never log in): operators, supervisors
    and a territorial service for every active zone that has none."""
    names = dict(await conn.fetch("SELECT id, name FROM zones WHERE id = ANY($1)", list(zones)))
    people = [(u, n, r.value, None) for u, n, r in STAFF]
    people += [(f"sst-{z}", f"Servizio sociale territoriale {names[z]} (demo)",
                Role.TERRITORIAL_SERVICE.value, z) for z in zones]  # fmt: skip
    await conn.executemany(
        "INSERT INTO users (username, display_name, role, zone_id) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (lower(username)) DO NOTHING",
        people,
    )


async def _cast(conn: asyncpg.Connection, referrer_ids: Mapping[str, int],
                unit_ids: Mapping[str, int], homes: Mapping[int, str]) -> _Cast:  # fmt: skip
    pool = cast(asyncpg.Pool, conn)

    async def principal(username: str) -> access.Principal:
        user_id = await conn.fetchval(
            "SELECT id FROM users WHERE lower(username) = lower($1)", username
        )
        return await auth.user_principal(pool, user_id)

    referrers: dict[str, list[access.Principal]] = {}
    home: dict[int, str] = {}
    for row in await conn.fetch(
        "SELECT id, name, kind FROM referrers WHERE id = ANY($1) ORDER BY id",
        sorted(referrer_ids.values()),
    ):
        referrers.setdefault(row["kind"], []).append(
            access.Principal(role=Role.REFERRER, name=row["name"], referrer_id=row["id"])
        )
        home[row["id"]] = homes.get(row["id"], "")
    services = {}
    for row in await conn.fetch("SELECT id, zone_id FROM users WHERE role = $1 AND active"
                                " ORDER BY id", Role.TERRITORIAL_SERVICE.value):  # fmt: skip
        services.setdefault(row["zone_id"], await auth.user_principal(pool, row["id"]))
    crews = {}
    for name, unit_id in unit_ids.items():
        crew = await conn.fetchval("SELECT min(id) FROM users WHERE unit_id = $1", unit_id)
        crews[name] = await auth.user_principal(pool, crew)
    places = {
        r["istat_code"]: r
        for r in await conn.fetch("SELECT istat_code, name, zone_id, lat, lon FROM municipalities")
    }
    return _Cast(
        operators=[await principal(u) for u in OPERATORS],
        supervisors=[await principal(u) for u in SUPERVISORS],
        referrers=referrers,
        services=services,
        unit_ids=unit_ids,
        crews=crews,
        places=places,
        homes=home,
    )


def _referral(story: demo_year.Story, place: asyncpg.Record) -> ReferralIn:
    point = spots.spot(place["istat_code"], place["lat"], place["lon"], story.reference)
    body = {
        "trigger": story.trigger,
        "urgency": story.urgency,
        "place": {
            "municipality": story.place.municipality,
            "address": f"{_STREETS[story.number % len(_STREETS)]} {story.number % 97 + 1}",
            "lat": point[0],
            "lon": point[1],
        },
        "people": {"count": story.people, "minors": story.minors},
        "description": _description(story),
        "callback": {"name": "Referente di turno (demo)", "phone": "+39 000 0000000"},
        "reference": story.reference,
    }
    return ReferralIn.model_validate_json(json.dumps(body))


def _decision(story: demo_year.Story) -> DecisionIn:
    decision = {"activate": "activate", "not_pertinent": "not_pertinent"}.get(
        story.outcome, "redirect"
    )
    body: dict[str, Any] = {
        "decision": decision,
        "assessment": {
            "trigger": story.trigger,
            "urgency": story.urgency,
            "people": {"count": story.people, "minors": story.minors},
            "needs": _NEEDS[story.trigger],
            "risk_factors": ["minors_involved"] if story.minors else [],
        },
    }
    if decision == "not_pertinent":
        body["reason"] = _NOT_PERTINENT
    elif decision == "redirect":
        body["reason"] = "Competenza del servizio sociale ordinario, contattato (demo)."
        body["redirect_to"] = _REDIRECT_TO
    return DecisionIn.model_validate_json(json.dumps(body))


def _status(value: str) -> StatusIn:
    return StatusIn.model_validate_json(json.dumps({"status": value}))


async def _story(
    db: Replay,
    cast_: _Cast,
    story: demo_year.Story,
    *,
    until: datetime | None = None,
    since: datetime | None = None,
) -> Story:
    """One referral of the history, step by step through the real actions: only its steps
    before `until`, or only those from `since` on (the earlier ones played by a lane: what
    they made is found by the referral's reference)."""
    operator = cast_.operators[story.operator % len(cast_.operators)]
    referrer = cast_.referrer(story.referrer_kind, story.place.municipality)
    service = cast_.services.get(story.place.zone)
    key = f"demo-{story.reference}"
    referral_id = case_id = handover_id = 0
    crew = cast_.crews[story.unit] if story.unit is not None else None
    skipped = False
    for at, step in story.steps:
        if until is not None and at >= until:
            return
        if since is not None and at < since:
            skipped = True
            continue
        yield at
        if skipped:
            skipped = False
            made = await db.conn.fetchrow(
                "SELECT r.id, c.id AS case_id, (SELECT max(h.id) FROM handovers h"
                " WHERE h.case_id = c.id) AS handover_id FROM referrals r"
                " LEFT JOIN cases c ON c.referral_id = r.id"
                " WHERE r.referrer_id = $1 AND r.referrer_reference = $2",
                referrer.referrer_id,
                story.reference,
            )
            referral_id, case_id, handover_id = made["id"], made["case_id"], made["handover_id"]
        db.at = at
        if step is Step.SUBMIT:
            body = _referral(story, cast_.places[story.place.municipality])
            referral_id = (await intake.submit(db, referrer, body, key)).response["id"]
        elif step is Step.CLAIM:
            await assessment.claim(db, operator, referral_id)
        elif step is Step.DECIDE:
            decided = await assessment.decide(db, operator, referral_id, _decision(story))
            case_id = decided.case_id or 0
        elif step is Step.DISPATCH:
            assert story.unit is not None
            unit_id = cast_.unit_ids[story.unit]
            await units.dispatch_unit(db, operator, case_id, unit_id, reason="unità della zona")
        elif step is Step.CHECK_IN:
            assert crew is not None
            await tablet.check_in(db, crew, CheckInIn.model_validate_json("{}"),
                                  f"{key}-check-in-{at.timestamp():.0f}")  # fmt: skip
        elif step in (Step.ACKNOWLEDGED, Step.EN_ROUTE, Step.ON_SCENE, Step.RETURNING,
                      Step.AVAILABLE):  # fmt: skip
            assert crew is not None
            await tablet.report_status(db, crew, _status(step.value), f"{key}-{step.value}")
        elif step is Step.HANDOVER_SENT:  # hours later: whoever is on shift then
            handover_id = (await handover.send(db, cast_.on_shift(at), case_id)).id
        elif step in (Step.HANDOVER_ACCEPTED, Step.HANDOVER_REJECTED):
            if service is None:
                return
            rejected = step is Step.HANDOVER_REJECTED
            outcome = handover_core.Status.REJECTED if rejected else handover_core.Status.ACCEPTED
            reason = "Residenza in altra zona: verificare e reinviare (demo)." if rejected else None
            await handover.decide(db, service, handover_id, outcome, reason)
        elif step is Step.CLOSE:
            await cases.close_case(db, cast_.on_shift(at), case_id, _CLOSED)


async def _acknowledge(
    db: Replay, supervisor: access.Principal, escalation_id: int, at: datetime, note: str | None
) -> Story:
    yield at
    db.at = at
    await supervision.acknowledge_escalation(db, supervisor, escalation_id, note)


@dataclass
class Timeline:
    """The steps of every story in time order; before each, the clocks due by then fire at
    their due instant, and each escalation they raise is acknowledged a little later by the
    supervisor on shift (unless that is after `now`)."""

    db: Replay
    now: datetime
    supervisors: list[access.Principal]
    rng: random.Random
    pace: Callable[[datetime], Awaitable[None]] | None = None  # a lane keeps step with the other
    due: list[tuple[datetime, int, Story]] = field(default_factory=list)
    order: int = 0
    last_escalation: int = 0
    actions: int = 0
    fired: int = 0

    async def add(self, story: Story) -> None:
        at = await anext(story, None)
        if at is not None:
            self.order += 1
            heapq.heappush(self.due, (at, self.order, story))

    async def run(self, stories: Sequence[Story]) -> None:
        try:
            for story in stories:
                await self.add(story)
            while True:
                upcoming = self.due[0][0] if self.due else self.now
                clock = self.db.next_due()
                if clock is not None and clock <= min(upcoming, self.now):
                    if self.pace is not None:
                        await self.pace(clock)
                    self.db.at = clock
                    breaches = self.db.breaches
                    self.fired += await clocks.fire_due(self.db, now=clock, zones=self.db.zones)
                    if self.db.breaches > breaches:
                        await self._escalations()
                    if self.db.next_due() == clock:  # not moved: what the log said is stale
                        await self.db.follow_clocks()
                        if self.db.next_due() == clock:
                            raise RuntimeError(f"a clock due at {clock} does not fire")
                    continue
                if not self.due:
                    break
                if self.pace is not None:
                    await self.pace(self.due[0][0])
                _, _, story = heapq.heappop(self.due)
                self.actions += 1
                await self.add(story)
                if self.actions % CHUNK == 0:
                    if self.db.zones is None:
                        await self.db.conn.execute("COMMIT; BEGIN")
                    if self.actions % PROGRESS_EVERY == 0:  # a first start takes minutes
                        reached = self.db.at.date().isoformat()
                        log.info(
                            "demo history under way",
                            extra={"actions": self.actions, "reached": reached},
                        )
                    if self.actions % (CHUNK * ANALYZE_EVERY) == 0:
                        await self.db.conn.execute("ANALYZE")
        finally:
            for _, _, story in self.due:
                await story.aclose()

    async def _escalations(self) -> None:
        for row in await self.db.conn.fetch(
            "SELECT id, raised_at FROM escalations WHERE id > $1 AND acknowledged_at IS NULL"
            " AND (zone_id = ANY($2::text[]) OR $2 IS NULL) ORDER BY id",
            self.last_escalation,
            self.db.zones,
        ):
            self.last_escalation = row["id"]
            at = max(row["raised_at"] + timedelta(minutes=self.rng.uniform(3, 35)), self.db.at)
            if at < self.now:
                who = self.supervisors[demo_year.shift_operator(at, len(self.supervisors))]
                note = self.rng.choice(_ACK_NOTES)
                await self.add(_acknowledge(self.db, who, row["id"], at, note))


@contextlib.asynccontextmanager
async def _chunks(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """A transaction the timeline commits and begins again every CHUNK steps (`COMMIT;
    BEGIN`), committed at the end, rolled back on an error."""
    # Generic plans: the replay runs a few dozen statements tens of thousands of times each,
    # and PostgreSQL would plan the ones with arrays or joins again at every run (a third of
    # their time). The setting is the connection's: reset before it goes back to the pool.
    await conn.execute("SET plan_cache_mode = force_generic_plan; BEGIN")
    try:
        yield
    except BaseException:
        if not conn.is_closed():
            await conn.execute("ROLLBACK; RESET plan_cache_mode")
        raise
    await conn.execute("COMMIT; RESET plan_cache_mode")


# The history is played by zone in LANES processes side by side, one per core up to four (a
# lane is a Python process and a PostgreSQL backend: one alone keeps each waiting for the
# other, and a 2-core machine half idle). Zones that share a unit stay in one lane; each lane
# fires its own zones' clocks and commits every action (the event head is locked until
# commit), and no lane runs more than PACE of history ahead of another, so the log and the
# case numbers follow the weeks.
LANES = max(1, min(4, os.cpu_count() or 1))
PACE = timedelta(days=7)


def lanes_of(
    plan: Sequence[demo_year.Story], units_by_zone: Mapping[str, Sequence[str]], lanes: int
) -> list[tuple[list[str], list[demo_year.Story]]]:
    """The plan's zones in `lanes` groups of about as many referrals each (zones that share a
    unit together), with each group's stories in plan order; empty groups left out."""
    root = {s.place.zone: s.place.zone for s in plan}

    def find(zone: str) -> str:
        while root[zone] != zone:
            zone = root[zone]
        return zone

    owner: dict[str, str] = {}
    for zone in sorted(root):
        for unit in units_by_zone.get(zone, ()):
            if unit in owner:
                root[find(zone)] = find(owner[unit])
            else:
                owner[unit] = zone
    size: dict[str, int] = {}
    for story in plan:
        size[find(story.place.zone)] = size.get(find(story.place.zone), 0) + 1
    groups: list[tuple[set[str], list[int]]] = [(set(), [0]) for _ in range(lanes)]
    for group in sorted(size, key=lambda g: (-size[g], g)):
        zones, count = min(groups, key=lambda g: g[1][0])
        zones.update(z for z in root if find(z) == group)
        count[0] += size[group]
    return [
        (sorted(zones), [s for s in plan if s.place.zone in zones])
        for zones, count in groups
        if count[0]
    ]


def _pacer(reached: Any, lane: int) -> Callable[[datetime], Awaitable[None]]:
    """Keep a lane within PACE of history of the others: each says in `reached` (shared
    memory, a POSIX timestamp per lane) how far it has come, and waits while it is more than
    PACE ahead of the slowest (a lane that is done, or failed, says infinity)."""
    others = [n for n in range(len(reached)) if n != lane]
    ahead = PACE.total_seconds()

    async def pace(at: datetime) -> None:
        moment = at.timestamp()
        reached[lane] = moment
        # (another process moves `reached`: polled, no event can say it)
        while others and moment > min(reached[n] for n in others) + ahead:  # noqa: ASYNC110
            await asyncio.sleep(0.005)

    return pace


def _lane(
    dsn: str,
    zones: list[str],
    stories: list[demo_year.Story],
    before_commit: Sequence[BeforeCommit],
    until: datetime,
    cast_of: tuple[Mapping[str, int], Mapping[str, int], Mapping[int, str]],
    reached: Any,
    lane: int,
) -> None:
    """One lane, in a process of its own: its stories' steps before `until`, through the
    real actions, and the clocks of its zones that fall due before then."""

    async def play() -> None:
        pool = await create_pool(dsn, min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn, _chunks(conn):
                # A commit per action, not a flush per commit: a crash may lose the last
                # actions of the seed, never leave it inconsistent (and the pool is closed
                # after, with the setting).
                await conn.execute("SET synchronous_commit = off")
                replay = Replay(conn, before_commit, zones)
                await replay.follow_clocks()
                cast_ = await _cast(conn, *cast_of)
                rng, pace = random.Random(demo_year.SEED + lane), _pacer(reached, lane)
                timeline = Timeline(replay, until, cast_.supervisors, rng, pace=pace)
                await timeline.run([_story(replay, cast_, s, until=until) for s in stories])
        finally:
            reached[lane] = math.inf  # done or failed: nobody waits for this lane
            await pool.close()

    try:
        import uvloop
    except ImportError:  # pragma: no cover (installed wherever uvicorn's extras are)
        asyncio.run(play())
    else:
        uvloop.run(play())


async def _play_lanes(
    dsn: str,
    plan: Sequence[demo_year.Story],
    before_commit: Sequence[BeforeCommit],
    until: datetime,
    units_by_zone: Mapping[str, Sequence[str]],
    cast_of: tuple[Mapping[str, int], Mapping[str, int], Mapping[int, str]],
) -> None:
    """The plan's steps before `until`, in LANES processes."""
    lanes = lanes_of(plan, units_by_zone, LANES)
    start = min(s.received_at for s in plan).timestamp()
    context = multiprocessing.get_context("spawn")  # no fork of a process holding connections
    reached = context.Array("d", [start] * len(lanes), lock=False)
    processes = [
        context.Process(
            target=_lane,
            args=(dsn, zones, stories, tuple(before_commit), until, cast_of, reached, n),
            name=f"seus-demo-lane-{n}",
            daemon=True,
        )
        for n, (zones, stories) in enumerate(lanes)
    ]
    for process in processes:
        process.start()
    try:  # until all are done, or one failed (the others are stopped: the seed stops)
        while any(p.is_alive() for p in processes):
            if any(p.exitcode not in (None, 0) for p in processes):
                break
            await asyncio.sleep(0.2)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            await asyncio.to_thread(process.join)
    failed = [p.name for p in processes if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"demo history: {', '.join(failed)} failed (see its log above)")


async def seed(
    db: Database,
    referrer_ids: Mapping[str, int],
    unit_ids: Mapping[str, int],
    units_by_zone: Mapping[str, Sequence[str]],
    days: int | None = None,
    now: datetime | None = None,
    homes: Mapping[int, str] | None = None,
    dsn: str | None = None,
) -> int:
    """Play the living room's missing referrals and, on a database without referrals, `days`
    of history before them; returns how many history referrals were added. `homes`: where
    each referrer (by id) works from (ISTAT code), so a referral comes from the nearest one of
    its kind. With `dsn`, the history is played in LANES processes (else on `db`'s
    connection, in time order)."""
    now = now or datetime.now(UTC)
    days = days_asked(days)
    started = time.monotonic()
    cast_of = (referrer_ids, unit_ids, homes or {})
    plan: list[demo_year.Story] = []
    async with db.pool.acquire() as conn:
        async with _chunks(conn):
            fresh = not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM referrals)")
            await _staff(conn, demo_year.ACTIVE_ZONES)
            if fresh and days:
                places = [
                    demo_year.Place(r["istat_code"], r["zone_id"], r["population"] or 0)
                    for r in await conn.fetch(
                        "SELECT istat_code, zone_id, population FROM municipalities"
                        " WHERE zone_id = ANY($1) ORDER BY istat_code",
                        list(demo_year.ACTIVE_ZONES),
                    )
                ]
                plan = demo_year.plan(
                    now, days, places, units_by_zone, len(OPERATORS),
                    rng=random.Random(demo_year.SEED), pending_in=PENDING_IN,
                )  # fmt: skip
                log.info("seeding demo history", extra={"days": days, "referrals": len(plan)})
        # The lanes play the history up to the living room's hours; the rest is played here
        # with the room, in time order, so the hours a new user sees first read in order.
        lanes = bool(plan) and dsn is not None and LANES > 1
        room_from = now - timedelta(minutes=max(int(s["minutes_ago"]) for s in demo_room.specs()))
        if lanes:
            assert dsn is not None
            await _play_lanes(dsn, plan, db.before_commit, room_from, units_by_zone, cast_of)
            lanes_took = round(time.monotonic() - started, 1)
            log.info("demo history played up to the room's hours", extra={"seconds": lanes_took})
        async with _chunks(conn):
            replay = Replay(conn, db.before_commit)
            await replay.follow_clocks()
            stories = await demo_room.stories(replay, referrer_ids, unit_ids, now)
            cast_ = await _cast(conn, *cast_of)
            since = room_from if lanes else None
            history = [_story(replay, cast_, s, since=since) for s in plan]
            timeline = Timeline(replay, now, cast_.supervisors, random.Random(demo_year.SEED))
            if lanes:  # what the lanes left to acknowledge, from the room's first hour
                replay.at = room_from
                await timeline._escalations()
            await timeline.run([*history, *stories])
    log.info(
        "demo history seeded",
        extra={
            "days": days if plan else 0,
            "referrals": len(plan),
            "lanes": LANES if lanes else 1,
            "seconds": round(time.monotonic() - started, 1),
        },
    )
    return len(plan)

"""`--demo`: a living room for a new user, labelled demo everywhere.

Seeds users of every role, referrers of every kind with API keys, a field unit (at least) per
zone from the synthetic bases in console/data, each zone's basket, territorial service users
and a handful of referrals in different states (console/demo/room.py), after a year of
history on a database without referrals (console/demo/history.py). Writes
`DIR/demo-credentials.json` (DESIGN.md section 8).

Idempotent: what exists is kept as it is (an operator may have dispatched a demo unit, an admin
edited a basket); only what is missing is added. Secrets already in the credentials file are
kept, so a restart keeps the same credentials; missing ones are created.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from console.demo import history as demo_history
from console.lib import auth, geo, geography
from console.lib.db import Database, Tx
from console.lib.geography import DATA_DIR
from dispatch import access, events, units
from dispatch.referrals import ReferrerKind

log = logging.getLogger("seus.demo")

Role = access.Role
# (username, display name, role, extra): people who log in with a password.
USERS: list[tuple[str, str, Role, dict[str, Any]]] = [
    ("operatore", "Operatore demo", Role.OPERATOR, {}),
    ("operatrice", "Operatrice demo", Role.OPERATOR, {}),
    ("supervisore", "Supervisore demo", Role.SUPERVISOR, {}),
    ("admin", "Amministratore demo", Role.ADMIN, {}),
    *(
        (f"sst-{zone}", f"Servizio sociale territoriale {name} (demo)", Role.TERRITORIAL_SERVICE,
         {"zone_id": zone})
        for zone, name in [
            ("firenze", "Firenze"),
            ("pistoiese", "Pistoiese"),
            ("pratese", "Pratese"),
            ("pisana", "Pisana"),
            ("livornese", "Livornese"),
        ]
    ),
    ("ps-careggi", "Pronto soccorso Careggi (demo)", Role.REFERRER,
     {"referrer": "Pronto soccorso AOU Careggi (demo)"}),
]  # fmt: skip

# Referrers of every kind (ReferrerKind), each with an API key, and the municipality (ISTAT)
# they work from: the history has each referral sent by the nearest referrer of its kind.
REFERRERS: list[tuple[str, ReferrerKind, str]] = [
    ("Pronto soccorso AOU Careggi (demo)", ReferrerKind.HOSPITAL, "048017"),
    ("Polizia municipale di Pistoia (demo)", ReferrerKind.MUNICIPAL_POLICE, "047014"),
    ("Questura di Firenze (demo)", ReferrerKind.POLICE, "048017"),
    ("Carabinieri, Comando provinciale di Prato (demo)", ReferrerKind.CARABINIERI, "100005"),
    ("Servizio sociale del Comune di Prato (demo)", ReferrerKind.SOCIAL_SERVICE, "100005"),
    ("Prefettura di Lucca (demo)", ReferrerKind.PREFECTURE, "046017"),
    ("Comune di Livorno (demo)", ReferrerKind.MUNICIPALITY, "049009"),
    ("Consultorio familiare della zona Pisana (demo)", ReferrerKind.OTHER, "050026"),
    ("Pronto soccorso Ospedale di Livorno (demo)", ReferrerKind.HOSPITAL, "049009"),
    ("Pronto soccorso Ospedale di Prato (demo)", ReferrerKind.HOSPITAL, "100005"),
    ("Pronto soccorso Ospedale di Pistoia (demo)", ReferrerKind.HOSPITAL, "047014"),
    ("Pronto soccorso Ospedale di Empoli (demo)", ReferrerKind.HOSPITAL, "048014"),
    ("Pronto soccorso AOU Pisana (demo)", ReferrerKind.HOSPITAL, "050026"),
    ("Pronto soccorso Ospedale di Lucca (demo)", ReferrerKind.HOSPITAL, "046017"),
    ("Pronto soccorso Ospedale di Massa (demo)", ReferrerKind.HOSPITAL, "045010"),
    ("Pronto soccorso Ospedale di Arezzo (demo)", ReferrerKind.HOSPITAL, "051002"),
    ("Pronto soccorso AOU Senese (demo)", ReferrerKind.HOSPITAL, "052032"),
    ("Pronto soccorso Ospedale di Grosseto (demo)", ReferrerKind.HOSPITAL, "053011"),
    ("Questura di Pisa (demo)", ReferrerKind.POLICE, "050026"),
    ("Questura di Arezzo (demo)", ReferrerKind.POLICE, "051002"),
    ("Questura di Siena (demo)", ReferrerKind.POLICE, "052032"),
    ("Carabinieri, Comando provinciale di Livorno (demo)", ReferrerKind.CARABINIERI, "049009"),
    ("Carabinieri, Comando provinciale di Grosseto (demo)", ReferrerKind.CARABINIERI, "053011"),
    ("Polizia municipale di Firenze (demo)", ReferrerKind.MUNICIPAL_POLICE, "048017"),
    ("Polizia municipale di Pisa (demo)", ReferrerKind.MUNICIPAL_POLICE, "050026"),
    ("Servizio sociale del Comune di Firenze (demo)", ReferrerKind.SOCIAL_SERVICE, "048017"),
    ("Servizio sociale della zona Aretina (demo)", ReferrerKind.SOCIAL_SERVICE, "051002"),
    ("Servizio sociale della zona Pisana (demo)", ReferrerKind.SOCIAL_SERVICE, "050026"),
    ("Servizio sociale della zona Senese (demo)", ReferrerKind.SOCIAL_SERVICE, "052032"),
    ("Prefettura di Firenze (demo)", ReferrerKind.PREFECTURE, "048017"),
    ("Comune di Arezzo (demo)", ReferrerKind.MUNICIPALITY, "051002"),
]

# Zones with more people get a second unit.
SECOND_UNIT_ZONES = frozenset({"firenze", "pratese", "empolese-valdarno-inferiore", "pisana"})
NEIGHBOUR_KM = 25.0  # a unit also covers the zones whose demo base is this close to its own
HISTORY_WAIT = 1800.0  # seconds a second seeder waits for the first (its history included)
PASSWORD_UNITS = frozenset({"tablet-firenze-1"})  # unit users that also log in with a password
_SKILLS = [
    (units.Skill.CODICE_ROSA, units.Skill.MINORS),
    (units.Skill.CULTURAL_MEDIATION, units.Skill.PSYCHOLOGICAL_FIRST_AID),
    (units.Skill.DISABILITY, units.Skill.MINORS, units.Skill.PSYCHOLOGICAL_FIRST_AID),
    (units.Skill.CULTURAL_MEDIATION, units.Skill.CODICE_ROSA),
]
_LANGUAGES = [("en",), ("en", "fr"), ("ar", "fr"), ("ro", "en"), ("sq",), ("es", "en"), ("uk",)]
_VEHICLES = ["Fiat Doblò", "Ford Transit Custom", "Renault Trafic", "Volkswagen Caddy"]
# Fictional crews: a social worker and a volunteer per unit, each name marked "(demo)".
_FIRST = ["Giulia", "Marco", "Sara", "Luca", "Chiara", "Matteo", "Elena", "Davide", "Francesca",
          "Paolo", "Martina", "Andrea", "Silvia", "Tommaso", "Irene", "Stefano"]  # fmt: skip
_LAST = ["Bianchi", "Rossi", "Neri", "Conti", "Galli", "Fabbri", "Marini", "Ferri", "Testa",
         "Rinaldi", "Serra", "Leone", "Fontana", "Greco", "Vitale", "Caruso"]  # fmt: skip


def demo_crew(i: int) -> tuple[list[dict[str, Any]], str]:
    """Unit number i's crew (names marked demo, no accounts) and a demo mobile number."""
    names = [
        f"{_FIRST[(2 * i + k) % len(_FIRST)]} {_LAST[(3 * i + 5 * k) % len(_LAST)]} (demo)"
        for k in range(2)
    ]
    return [{"name": n, "user_id": None} for n in names], f"+39 333 000 {i + 1:04d}"


@dataclass(frozen=True, slots=True)
class DemoUnit:
    name: str
    username: str
    base_label: str
    municipality: str
    zone: str
    zones: tuple[str, ...]
    lat: float
    lon: float
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    vehicle: str


def _csv(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def demo_units() -> list[DemoUnit]:
    """One unit per synthetic base (two in the largest zones); the operations room is not one."""
    bases = [b for b in _csv("demo_unit_bases_SYNTHETIC.csv") if b["kind"] == "unita_operativa"]
    found: list[DemoUnit] = []
    for base in bases:
        lat, lon = float(base["lat"]), float(base["lon"])
        near = sorted(
            other["zona_id"]
            for other in bases
            if other["zona_id"] != base["zona_id"]
            and units.distance_km(lat, lon, float(other["lat"]), float(other["lon"]))
            <= NEIGHBOUR_KM
        )
        slug = base["base_id"].removeprefix("utes-")
        for n in range(1, 3 if base["zona_id"] in SECOND_UNIT_ZONES else 2):
            i = len(found)
            found.append(
                DemoUnit(
                    name=f"UTES {base['comune']} {n} (demo)",
                    username=f"tablet-{slug}-{n}",
                    base_label=base["label"],
                    municipality=base["istat_code"],
                    zone=base["zona_id"],
                    zones=(base["zona_id"], *near),
                    lat=lat,
                    lon=lon,
                    skills=tuple(s.value for s in _SKILLS[i % len(_SKILLS)]),
                    languages=("it", *_LANGUAGES[i % len(_LANGUAGES)]),
                    vehicle=_VEHICLES[i % len(_VEHICLES)],
                )
            )
    return found


# Protected housing (a women's shelter) gets no point: its address is kept secret.
UNPLACED_TYPES = frozenset({"protected_housing"})


def capitals() -> dict[str, str]:
    """Each zone's most populous municipality (ISTAT code), as shipped."""
    best: dict[str, geography.Municipality] = {}
    for m in geography.municipalities():
        if m.zone_id not in best or (m.population or 0) > (best[m.zone_id].population or 0):
            best[m.zone_id] = m
    return {zone: m.istat_code for zone, m in best.items()}


def resource_point(istat_code: str, index: int) -> tuple[float, float]:
    """A demo resource's point: inside the municipality, a few hundred metres from a point
    surely inside it, each resource (`index`) in its own direction; nearer when that would
    leave the municipality."""
    locator = geo.locator()
    lat, lon = locator.surface_point(istat_code)
    angle = math.radians(index * 137.5)  # the golden angle: no two resources on one line
    for radius in (0.006, 0.003, 0.0015, 0.0007):
        here = (lat + radius * math.sin(angle), lon + radius * 1.4 * math.cos(angle))
        if locator.municipality(*here) == istat_code:
            return round(here[0], 6), round(here[1], 6)
    return round(lat, 6), round(lon, 6)


def basket_rows(zones: list[asyncpg.Record]) -> list[tuple[Any, ...]]:
    """Each zone's basket from the template, capacities scaled by population."""
    cities = {b["zona_id"]: b["comune"] for b in _csv("demo_unit_bases_SYNTHETIC.csv")}
    cities["pistoiese"] = "Pistoia"
    rows = []
    towns = capitals()
    for zone in zones:
        city = cities.get(zone["id"], zone["name"])
        for i, t in enumerate(_csv("demo_basket.csv")):
            scaled = round((zone["population"] or 0) * float(t["per_100k"]) / 100_000)
            capacity = max(int(t["min"]), min(int(t["max"]), scaled))
            provider = t["provider"].format(city=city, zone=zone["name"])
            lat, lon = (None, None)
            if t["type"] not in UNPLACED_TYPES and zone["id"] in towns:
                lat, lon = resource_point(towns[zone["id"]], i)
            rows.append(
                (zone["id"], t["type"], t["name"], provider, capacity, t["conditions"],
                 t["max_duration"], t["contact_hours"], "+39 000 0000000",
                 f"{city} (indirizzo demo, da verificare)", lat, lon)
            )  # fmt: skip
    return rows


def _previous(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text())
        return {
            "users": {u["username"]: u["password"] for u in data["users"]},
            "referrers": {r["name"]: r["api_key"] for r in data["referrers"]},
            "units": {u["name"]: u["token"] for u in data["units"]},
        }
    except (OSError, ValueError, KeyError, TypeError):
        return {"users": {}, "referrers": {}, "units": {}}


def _write(path: Path, credentials: dict[str, list[dict[str, str]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(credentials, indent=2, ensure_ascii=False) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


async def _hashes(
    conn: asyncpg.Connection, passwords: dict[str, str], known: dict[str, str]
) -> dict[str, str | None]:
    """argon2 hashes of the passwords that need one (in threads, at once).

    A user who exists with a password, and whose password came from the credentials file,
    keeps its hash: a restart hashes nothing.
    """
    rows = await conn.fetch(
        "SELECT lower(username) AS name FROM users WHERE lower(username) = ANY($1::text[])"
        " AND password_hash IS NOT NULL",
        [u.lower() for u in passwords],
    )
    stored = {r["name"] for r in rows}
    todo = [u for u, p in passwords.items() if u.lower() not in stored or known.get(u) != p]
    hashed = await asyncio.gather(
        *(asyncio.to_thread(auth.hash_password, passwords[u]) for u in todo)
    )
    fresh = dict(zip(todo, hashed, strict=True))
    return {u: fresh.get(u) for u in passwords}


async def _user(
    conn: asyncpg.Connection,
    username: str,
    name: str,
    role: Role,
    password_hash: str | None,
    **extra: Any,
) -> int:
    user_id: int = await conn.fetchval(
        "INSERT INTO users (username, display_name, password_hash, role, unit_id, referrer_id,"
        " zone_id) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (lower(username)) DO UPDATE SET display_name = $2,"
        " password_hash = coalesce($3, users.password_hash), role = $4, unit_id = $5,"
        " referrer_id = $6, zone_id = $7, active = true RETURNING id",
        username,
        name,
        password_hash,
        role.value,
        extra.get("unit_id"),
        extra.get("referrer_id"),
        extra.get("zone_id"),
    )
    return user_id


_SECRETS = {"api_keys": ("referrer_id", "key_hash"), "device_tokens": ("user_id", "token_hash")}


async def _secret(tx: Tx, table: str, owner_id: int, secret: str) -> None:
    """Store a demo secret's digest; the owner's other demo secrets are revoked."""
    owner, column = _SECRETS[table]
    digest = auth.digest(secret)
    await tx.conn.execute(
        f"INSERT INTO {table} ({owner}, {column}, label) VALUES ($1, $2, 'demo')"
        f" ON CONFLICT ({column}) DO UPDATE SET revoked_at = NULL",
        owner_id,
        digest,
    )
    await tx.conn.execute(
        f"UPDATE {table} SET revoked_at = $3 WHERE {owner} = $1 AND label = 'demo'"
        f" AND {column} <> $2 AND revoked_at IS NULL",
        owner_id,
        digest,
        tx.now,
    )


@contextlib.asynccontextmanager
async def _alone(pool: asyncpg.Pool) -> AsyncIterator[None]:
    """One seeder at a time (instances started together): a transaction of its own, which
    writes nothing, holds the lock while the reference data and each step of the room commit
    as actions of their own."""
    async with pool.acquire() as conn, conn.transaction():
        # The other seeder's argon2 hashing, room and history take seconds to minutes (a year
        # of history: docs/operations.md): wait for it far longer than for a statement.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('seus-demo-seed'))", timeout=HISTORY_WAIT
        )
        yield


async def seed(
    db: Database, data_dir: Path, history_days: int | None = None, dsn: str | None = None
) -> Path:
    """Seed the demo and write `data_dir/demo-credentials.json`; returns its path.

    On a database without referrals, `history_days` of history come first (default: the
    SEUS_DEMO_HISTORY environment variable, else a year; console/demo/history.py), played
    in parallel lanes that connect to `dsn` when it is given."""
    path = data_dir / "demo-credentials.json"
    old = _previous(path)
    out: dict[str, list[dict[str, str]]] = {"users": [], "referrers": [], "units": []}
    plan = demo_units()
    passwords = {u: old["users"].get(u) or auth.new_secret()[:16] for u, *_ in USERS}
    passwords |= {u.username: old["users"].get(u.username) or auth.new_secret()[:16]
                  for u in plan if u.username in PASSWORD_UNITS}  # fmt: skip
    async with _alone(db.pool):
        async with db.action() as tx:
            conn = tx.conn
            hashes = await _hashes(conn, passwords, old["users"])
            before = await _counts(conn)

            referrer_ids: dict[str, int] = {}
            for name, kind, _ in REFERRERS:
                referrer_ids[name] = await conn.fetchval(
                    "INSERT INTO referrers (name, kind) VALUES ($1, $2) ON CONFLICT (name)"
                    " DO UPDATE SET kind = $2 RETURNING id",
                    name,
                    kind.value,
                )
                key = old["referrers"].get(name) or auth.new_secret()
                await _secret(tx, "api_keys", referrer_ids[name], key)
                out["referrers"].append({"name": name, "api_key": key})

            for username, name, role, extra in USERS:
                fields = dict(extra)
                if "referrer" in fields:
                    fields["referrer_id"] = referrer_ids[fields.pop("referrer")]
                await _user(conn, username, name, role, hashes[username], **fields)
                out["users"].append(
                    {"username": username, "password": passwords[username], "role": role.value}
                )

            unit_ids = await _units(tx, plan, hashes, passwords, old["units"], out)
            await _basket(conn)
            added = await _counts(conn) != before
            if added:
                tx.emit(events.demo_seeded(len(out["users"]), len(out["units"])))
        by_zone: dict[str, list[str]] = {}
        for unit in plan:
            by_zone.setdefault(unit.zone, []).append(unit.name)
        homes = {referrer_ids[name]: home for name, _, home in REFERRERS}
        await demo_history.seed(
            db, referrer_ids, unit_ids, by_zone, history_days, homes=homes, dsn=dsn
        )
    await asyncio.to_thread(_write, path, out)
    log.info("demo seeded", extra={"credentials": str(path), "units": len(out["units"])})
    return path


async def _units(
    tx: Tx,
    plan: list[DemoUnit],
    hashes: dict[str, str | None],
    passwords: dict[str, str],
    tokens: dict[str, str],
    out: dict[str, list[dict[str, str]]],
) -> dict[str, int]:
    """Demo units (available, at their synthetic base), each with a tablet user and token."""
    ids: dict[str, int] = {}
    for unit in plan:
        unit_id: int = await tx.conn.fetchval(
            "INSERT INTO units (name, base_label, base_municipality_code, base_lat, base_lon,"
            " zones, skills, languages, vehicle, synthetic, status, status_since)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true, 'available', $10)"
            " ON CONFLICT (name) DO UPDATE SET synthetic = true RETURNING id",
            unit.name,
            unit.base_label,
            unit.municipality,
            unit.lat,
            unit.lon,
            list(unit.zones),
            list(unit.skills),
            list(unit.languages),
            unit.vehicle,
            tx.now,
        )
        ids[unit.name] = unit_id
        crew, phone = demo_crew(len(ids) - 1)
        await tx.conn.execute(  # a crew an admin set is kept
            "UPDATE units SET crew = $2, phone = $3 WHERE id = $1 AND crew = '[]'::jsonb"
            " AND phone = ''",
            unit_id,
            crew,
            phone,
        )
        user_id = await _user(
            tx.conn,
            unit.username,
            unit.name,
            Role.UNIT,
            hashes.get(unit.username),
            unit_id=unit_id,
        )
        if unit.username in passwords:
            out["users"].append(
                {"username": unit.username, "password": passwords[unit.username], "role": "unit"}
            )
        token = tokens.get(unit.name) or auth.new_secret()
        await _secret(tx, "device_tokens", user_id, token)
        out["units"].append({"name": unit.name, "token": token})
    return ids


async def _basket(conn: asyncpg.Connection) -> None:
    """Each zone's basket: rows missing by (zone, name) are added; edits are kept."""
    zones = await conn.fetch("SELECT id, name, population FROM zones ORDER BY id")
    rows = basket_rows(zones)
    await conn.executemany(
        "INSERT INTO resources (zone_id, type, name, provider, capacity, conditions,"
        " max_duration, contact_hours, phone, address, lat, lon)"
        " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12"
        " WHERE NOT EXISTS (SELECT 1 FROM resources WHERE zone_id = $1 AND name = $3)",
        rows,
    )
    # a demo resource seeded before resources had a point gets one (an admin's point is kept)
    await conn.executemany(
        "UPDATE resources SET lat = $3, lon = $4 WHERE zone_id = $1 AND name = $2"
        " AND lat IS NULL AND type <> 'protected_housing'",
        [(r[0], r[2], r[10], r[11]) for r in rows if r[10] is not None],
    )


async def _counts(conn: asyncpg.Connection) -> tuple[int, ...]:
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM referrers) AS r,"
        " (SELECT count(*) FROM units) AS units, (SELECT count(*) FROM resources) AS res"
    )
    return tuple(row)

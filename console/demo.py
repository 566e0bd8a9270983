"""`--demo`: seed users of every role, a referrer with an API key, units with device tokens.

Secrets already in `demo-credentials.json` are kept (their hashes re-stored), so restarting
with `--demo` keeps the same credentials; missing ones are created.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import asyncpg

from console import auth
from console.db import Database
from dispatch import access, events

log = logging.getLogger("seus.demo")

# (username, display name, role, extra): demo people, clearly labelled as demo.
USERS: list[tuple[str, str, access.Role, dict[str, Any]]] = [
    ("operatore", "Operatore demo", access.Role.OPERATOR, {}),
    ("operatrice", "Operatrice demo", access.Role.OPERATOR, {}),
    ("supervisore", "Supervisore demo", access.Role.SUPERVISOR, {}),
    ("admin", "Amministratore demo", access.Role.ADMIN, {}),
    (
        "sst-firenze",
        "Servizio sociale Firenze (demo)",
        access.Role.TERRITORIAL_SERVICE,
        {"zone_id": "firenze"},
    ),
    (
        "ps-careggi",
        "Pronto soccorso Careggi (demo)",
        access.Role.REFERRER,
        {"referrer": "Pronto soccorso AOU Careggi (demo)"},
    ),
]
REFERRERS = [
    ("Pronto soccorso AOU Careggi (demo)", "hospital"),
    ("Polizia municipale di Pistoia (demo)", "municipal_police"),
]
UNITS = ["UTES Firenze (demo)", "UTES Pistoia (demo)"]


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


async def _upsert_user(
    conn: asyncpg.Connection,
    username: str,
    name: str,
    role: access.Role,
    password_hash: str | None,
    **extra: Any,
) -> int:
    user_id: int = await conn.fetchval(
        "INSERT INTO users (username, display_name, password_hash, role, unit_id, referrer_id,"
        " zone_id) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (lower(username)) DO UPDATE SET display_name = $2, password_hash = $3,"
        " role = $4, unit_id = $5, referrer_id = $6, zone_id = $7, active = true RETURNING id",
        username,
        name,
        password_hash,
        role.value,
        extra.get("unit_id"),
        extra.get("referrer_id"),
        extra.get("zone_id"),
    )
    return user_id


def _write(path: Path, credentials: dict[str, list[dict[str, str]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials, indent=2, ensure_ascii=False) + "\n")
    path.chmod(0o600)


async def seed(db: Database, data_dir: Path) -> Path:
    """Seed the demo and write `data_dir/demo-credentials.json`; returns its path."""
    path = data_dir / "demo-credentials.json"
    old = _previous(path)
    out: dict[str, list[dict[str, str]]] = {"users": [], "referrers": [], "units": []}
    async with db.action() as tx:
        conn = tx.conn
        referrer_ids = {}
        for name, kind in REFERRERS:
            referrer_ids[name] = await conn.fetchval(
                "INSERT INTO referrers (name, kind) VALUES ($1, $2) ON CONFLICT (name)"
                " DO UPDATE SET kind = $2 RETURNING id",
                name,
                kind,
            )
            key = old["referrers"].get(name) or auth.new_secret()
            await conn.execute(
                "INSERT INTO api_keys (referrer_id, key_hash, label) VALUES ($1, $2, 'demo')"
                " ON CONFLICT (key_hash) DO NOTHING",
                referrer_ids[name],
                auth.digest(key),
            )
            out["referrers"].append({"name": name, "api_key": key})
        for username, name, role, extra in USERS:
            password = old["users"].get(username) or auth.new_secret()[:16]
            fields = dict(extra)
            if "referrer" in fields:
                fields["referrer_id"] = referrer_ids[fields.pop("referrer")]
            await _upsert_user(conn, username, name, role, auth.hash_password(password), **fields)
            out["users"].append({"username": username, "password": password, "role": role.value})
        for unit in UNITS:
            unit_id = await conn.fetchval(
                "INSERT INTO units (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = $1"
                " RETURNING id",
                unit,
            )
            slug = "tablet-" + unit.split()[1].lower()
            password = old["users"].get(slug) or auth.new_secret()[:16]
            user_id = await _upsert_user(
                conn, slug, unit, access.Role.UNIT, auth.hash_password(password), unit_id=unit_id
            )
            out["users"].append({"username": slug, "password": password, "role": "unit"})
            token = old["units"].get(unit) or auth.new_secret()
            await conn.execute(
                "INSERT INTO device_tokens (user_id, token_hash, label) VALUES ($1, $2, 'demo')"
                " ON CONFLICT (token_hash) DO NOTHING",
                user_id,
                auth.digest(token),
            )
            out["units"].append({"name": unit, "token": token})
        tx.emit(events.demo_seeded(len(out["users"]), len(out["units"])))
    await asyncio.to_thread(_write, path, out)
    log.info("demo seeded", extra={"credentials": str(path)})
    return path

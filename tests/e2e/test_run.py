"""The new user's path: `python run.py --demo` with no DATABASE_URL or REDIS_URL."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx

from tests import support


def _running(pidfile: Path) -> bool:
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    return Path(f"/proc/{pid}").exists()


async def test_the_demo_starts_on_embedded_servers_stops_cleanly_and_keeps_its_data(tmp_path):
    data = tmp_path / "var"
    console = support.Console.start(
        {"DATABASE_URL": "", "REDIS_URL": ""}, data_dir=data, args=["--demo"], timeout=60
    )
    credentials = json.loads((data / "demo-credentials.json").read_text())
    roles = {u["role"] for u in credentials["users"]}
    assert roles == {"operator", "supervisor", "unit", "referrer", "territorial_service", "admin"}
    assert credentials["referrers"] and credentials["units"]
    operator = next(u for u in credentials["users"] if u["role"] == "operator")
    async with console.client() as client:
        response = await client.post(
            "/api/v1/session",
            json={"username": operator["username"], "password": operator["password"]},
        )
        assert response.status_code == 201
        csrf = response.json()["csrf_token"]
        posted = await client.post(
            "/api/v1/room/messages",
            json={"body": "Turno di notte: tutto tranquillo."},
            headers={"X-CSRF-Token": csrf},
        )
        assert posted.status_code == 201
    for unit in credentials["units"]:
        me = httpx.get(
            f"{console.url}/api/v1/me", headers={"Authorization": f"Bearer {unit['token']}"}
        )
        assert me.status_code == 200 and me.json()["role"] == "unit"
    for referrer in credentials["referrers"]:
        me = httpx.get(
            f"{console.url}/api/v1/me", headers={"Authorization": f"Bearer {referrer['api_key']}"}
        )
        assert me.status_code == 200 and me.json()["role"] == "referrer"

    assert _running(data / "postgres" / "postmaster.pid")
    assert _running(data / "redis" / "redis.pid")
    assert console.stop(signal.SIGTERM) == 0
    assert not _running(data / "postgres" / "postmaster.pid"), "embedded PostgreSQL left running"
    assert not _running(data / "redis" / "redis.pid"), "embedded Redis left running"

    again = support.Console.start(
        {"DATABASE_URL": "", "REDIS_URL": ""}, data_dir=data, args=["--demo"], timeout=60
    )
    try:
        assert json.loads((data / "demo-credentials.json").read_text()) == credentials
        async with again.client() as client:
            response = await client.post(
                "/api/v1/session",
                json={"username": operator["username"], "password": operator["password"]},
            )
            assert response.status_code == 201
            page = await client.get("/api/v1/events", params={"after": 0})
            bodies = [e["payload"].get("body") for e in page.json()["events"]]
            assert "Turno di notte: tutto tranquillo." in bodies
    finally:
        assert again.stop(signal.SIGINT) == 0
    assert not _running(data / "postgres" / "postmaster.pid")

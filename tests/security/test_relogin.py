"""Logging in again after a session expired, through the JSON login the pages' dialog uses
(POST /api/v1/session): the same checks as the login page, a new session and CSRF token, the
old ones dead; errors by field; the rate limit; no other site can log a browser in."""

import asyncpg
import httpx

from console.lib import auth
from tests import support


async def expire_sessions(database_url: str, user_id: int) -> None:
    """The user's sessions idle for two hours (the idle timeout is one hour)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE sessions SET last_seen_at = now() - interval '2 hours' WHERE user_id = $1",
            user_id,
        )
    finally:
        await conn.close()


async def post_message(client: httpx.AsyncClient, csrf: str, body: str) -> httpx.Response:
    return await client.post(
        "/api/v1/room/messages", json={"body": body}, headers={"X-CSRF-Token": csrf}
    )


async def test_after_an_idle_expiry_the_same_user_logs_in_again_with_a_new_session_and_token(
    start_console, people, database_url
):
    console = start_console()
    operator = people["operator"]
    page = {"Origin": console.origin}  # what the browser sends from our page
    async with console.client() as client:
        old_csrf = await support.log_in(client, operator)
        old_cookie = client.cookies[auth.SESSION_COOKIE]
        assert (await post_message(client, old_csrf, "prima")).status_code == 201

        await expire_sessions(database_url, operator.user_id)
        refused = await post_message(client, old_csrf, "scaduta")
        assert refused.status_code == 401  # not a CSRF refusal: the page knows to log in again
        assert refused.json()["error"] == "not_authenticated"
        assert (await client.get("/api/v1/me")).status_code == 401

        # The dialog sends the page's stale token along; with no live session it is not asked for.
        again = await client.post(
            "/api/v1/session",
            json={"username": operator.username, "password": operator.password},
            headers={**page, "X-CSRF-Token": old_csrf},
        )
        assert again.status_code == 201, again.text
        answer = again.json()
        assert answer["user"]["user_id"] == operator.user_id
        assert answer["home"] == "/coda"
        new_csrf = answer["csrf_token"]
        assert new_csrf != old_csrf
        assert client.cookies[auth.SESSION_COOKIE] != old_cookie

        stale = await post_message(client, old_csrf, "vecchio token")
        assert stale.status_code == 403
        assert stale.json()["error"] == "csrf_refused"
        assert (await post_message(client, new_csrf, "dopo il nuovo accesso")).status_code == 201
        events = (await client.get("/api/v1/events")).json()["events"]
    posted = [e["payload"]["body"] for e in events if e["type"] == "room.message_posted"]
    assert posted == ["prima", "dopo il nuovo accesso"]

    async with httpx.AsyncClient(base_url=console.url, timeout=10) as copy:
        old = await copy.get(
            "/api/v1/me", headers={"Cookie": f"{auth.SESSION_COOKIE}={old_cookie}"}
        )
    assert old.status_code == 401


async def test_someone_else_logging_in_on_an_expired_page_is_told_their_own_first_screen(
    start_console, people, database_url
):
    console = start_console()
    async with console.client() as client:
        await support.log_in(client, people["operator"])
        await expire_sessions(database_url, people["operator"].user_id)
        other = await client.post(
            "/api/v1/session",
            json={"username": "supervisor", "password": people["supervisor"].password},
            headers={"Origin": console.origin},
        )
        assert other.status_code == 201
        assert other.json()["user"]["user_id"] == people["supervisor"].user_id
        assert other.json()["home"] == "/supervisione"
        assert (await client.get("/api/v1/me")).json()["role"] == "supervisor"


async def test_the_json_login_says_what_is_wrong_by_field_and_keeps_the_rate_limit(
    start_console, people
):
    console = start_console(SEUS_LOGIN_LIMIT_ACCOUNT="2", SEUS_LOGIN_WINDOW_SECONDS="600")
    async with console.client() as client:
        empty = await client.post("/api/v1/session", json={"username": "", "password": ""})
        assert empty.status_code == 422
        assert {p["field"] for p in empty.json()["errors"]} == {"username", "password"}

        # A wrong password and an unknown account: the same answer (no account enumeration).
        wrong = await client.post(
            "/api/v1/session", json={"username": "operator", "password": "sbagliata"}
        )
        unknown = await client.post(
            "/api/v1/session", json={"username": "nessuno", "password": "sbagliata"}
        )
        for response in (wrong, unknown):
            assert response.status_code == 401
            assert response.json()["detail"] == "Credenziali non valide."
            assert auth.SESSION_COOKIE not in response.cookies

        await client.post("/api/v1/session", json={"username": "operator", "password": "ancora"})
        blocked = await client.post(
            "/api/v1/session",
            json={"username": "operator", "password": people["operator"].password},
        )
        assert blocked.status_code == 429  # even the right password, while blocked
        assert blocked.json()["detail"] == "Troppi tentativi: riprova più tardi."
        assert 1 <= int(blocked.headers["retry-after"]) <= 600
        assert auth.SESSION_COOKIE not in blocked.cookies


async def test_another_site_cannot_log_a_browser_in_through_the_json_login(start_console, people):
    console = start_console()
    credentials = {"username": "operator", "password": people["operator"].password}
    async with console.client() as client:
        foreign = await client.post(
            "/api/v1/session", json=credentials, headers={"Origin": "http://evil.example"}
        )
        assert foreign.status_code == 403
        assert foreign.json()["error"] == "csrf_refused"
        # What a form on another site can send without asking first (no CORS preflight).
        form = await client.post("/api/v1/session", data=credentials)
        plain = await client.post(
            "/api/v1/session",
            content=f'{{"username": "operator", "password": "{credentials["password"]}"}}',
            headers={"Content-Type": "text/plain"},
        )
        for response in (form, plain):
            assert response.status_code == 415
        for response in (foreign, form, plain):
            assert auth.SESSION_COOKIE not in response.cookies
        assert (await client.get("/api/v1/me")).status_code == 401

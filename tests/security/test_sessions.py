"""Logging in and out, sessions, CSRF, rate limits and bearer credentials, over real HTTP."""

import asyncio
import contextlib
import hashlib
import re

import asyncpg
import httpx
import websockets

from console.lib import auth
from console.lib.embedded import free_port
from tests import support

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def form_token(page: httpx.Response) -> str:
    found = CSRF_FIELD.search(page.text)
    assert found, page.text
    return found.group(1)


async def login_token(client: httpx.AsyncClient, path: str = "/login") -> str:
    """Open the login page (which sets the login-CSRF cookie) and return its form token."""
    page = await client.get(path)
    assert page.status_code == 200
    return form_token(page)


async def form_login(
    client: httpx.AsyncClient, username: str, password: str, **headers: str
) -> httpx.Response:
    token = await login_token(client)
    return await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        headers=headers,
    )


def set_cookie_header(response: httpx.Response, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


async def me(console: support.Console, cookie: str) -> httpx.Response:
    """GET /api/v1/me carrying only this session cookie (as a copy of it would be used)."""
    async with httpx.AsyncClient(base_url=console.url, timeout=10) as client:
        return await client.get("/api/v1/me", headers={"Cookie": f"{auth.SESSION_COOKIE}={cookie}"})


async def api_attempt(console: support.Console, username: str, password: str, **headers: str):
    async with console.client() as client:
        return await client.post(
            "/api/v1/session", json={"username": username, "password": password}, headers=headers
        )


async def close_code(ws, timeout: float = 5) -> int | None:
    """Read until the server closes the socket; its close code."""
    async with asyncio.timeout(timeout):
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await ws.recv()
    return ws.close_code


# -- the login page -------------------------------------------------------------------------------


async def test_the_login_page_is_in_italian_with_a_csrf_token_bound_to_a_strict_cookie(
    start_console,
):
    console = start_console()
    async with console.client() as client:
        page = await client.get("/login")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="it">' in page.text
    for text in ("Accesso", "Nome utente", "Password", "Accedi", 'action="/login"'):
        assert text in page.text
    token = form_token(page)
    cookie = set_cookie_header(page, auth.LOGIN_CSRF_COOKIE)
    assert cookie.startswith(f"{auth.LOGIN_CSRF_COOKIE}={token};")
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()


async def test_logging_in_through_the_form_sets_an_httponly_lax_cookie_and_stays_on_this_site(
    start_console, people
):
    console = start_console()
    async with console.client() as client:
        response = await form_login(client, "operator", people["operator"].password)
        assert response.status_code == 303
        assert response.headers["location"] == "/coda"  # the operator's first screen
        cookie = set_cookie_header(response, auth.SESSION_COOKIE)
        attributes = [part.strip().lower() for part in cookie.split(";")]
        assert "httponly" in attributes
        assert "samesite=lax" in attributes
        assert "path=/" in attributes

        live = await client.get("/")
    assert live.status_code == 200
    assert "Sala operativa" in live.text
    assert "Operator Test" in live.text
    who = await me(console, response.cookies[auth.SESSION_COOKIE])
    assert who.status_code == 200
    assert who.json()["role"] == "operator"
    assert who.json()["role_label"] == "Operatore di centrale"

    # `next` brings back to a page of this site, never elsewhere (no open redirect): an
    # unsafe target falls back to the role's first screen.
    for target, location in [
        ("/api/v1/me", "/api/v1/me"),
        ("//evil.example/", "/coda"),
        ("https://evil.example/", "/coda"),
        ("/\\evil.example", "/coda"),
    ]:
        async with console.client() as client:
            token = await login_token(client)
            response = await client.post(
                "/login",
                data={
                    "username": "operator",
                    "password": people["operator"].password,
                    "csrf_token": token,
                    "next": target,
                },
            )
        assert response.status_code == 303
        assert response.headers["location"] == location, target


async def test_a_wrong_password_shows_the_page_again_with_an_italian_error_and_401(
    start_console, people
):
    console = start_console()
    async with console.client() as client:
        for username in ("operator", "nessuno"):  # an unknown user looks the same
            response = await form_login(client, username, "password-sbagliata")
            assert response.status_code == 401
            assert "Credenziali non valide." in response.text
            assert f'value="{username}"' in response.text  # the name is kept for a retry
            assert auth.SESSION_COOKIE not in response.cookies
        # The page it showed again carries a fresh token that works.
        response = await client.post(
            "/login",
            data={
                "username": "operator",
                "password": people["operator"].password,
                "csrf_token": form_token(response),
            },
        )
        assert response.status_code == 303
        assert auth.SESSION_COOKIE in response.cookies


async def test_a_login_form_post_without_its_matching_csrf_token_is_refused(start_console, people):
    console = start_console()
    password = people["operator"].password
    async with console.client() as client, console.client() as stranger:
        token = await login_token(client)
        refused = [
            # The cookie but no field, or a wrong field.
            await client.post("/login", data={"username": "operator", "password": password}),
            await client.post(
                "/login",
                data={"username": "operator", "password": password, "csrf_token": "x" * 43},
            ),
            # The field copied from someone else's page, without their cookie.
            await stranger.post(
                "/login",
                data={"username": "operator", "password": password, "csrf_token": token},
            ),
            # Both, but sent from another site.
            await client.post(
                "/login",
                data={"username": "operator", "password": password, "csrf_token": token},
                headers={"Origin": "http://evil.example"},
            ),
        ]
        messages = ["Token CSRF mancante o non valido."] * 3
        messages += ["Origine della richiesta non consentita."]
        for response, message in zip(refused, messages, strict=True):
            assert response.status_code == 403
            assert message in response.text
            assert auth.SESSION_COOKIE not in response.cookies

        # Each refusal showed the form again with a new token (and cookie): that one works.
        accepted = await client.post(
            "/login",
            data={
                "username": "operator",
                "password": password,
                "csrf_token": form_token(refused[-1]),
            },
            headers={"Origin": console.origin},
        )
        assert accepted.status_code == 303


# -- session ids ----------------------------------------------------------------------------------


async def test_login_issues_a_new_session_id_and_revokes_the_one_the_browser_had(
    start_console, people
):
    console = start_console()
    planted = "id-scelto-da-un-attaccante-" + "a" * 20
    async with console.client() as client:
        token = await login_token(client)
        response = await client.post(
            "/login",
            data={
                "username": "operator",
                "password": people["operator"].password,
                "csrf_token": token,
            },
            headers={
                "Cookie": f"{auth.SESSION_COOKIE}={planted}; {auth.LOGIN_CSRF_COOKIE}={token}"
            },
        )
    assert response.status_code == 303
    first = response.cookies[auth.SESSION_COOKIE]
    assert first != planted  # the server never adopts an id it did not make
    assert (await me(console, planted)).status_code == 401

    # Someone else logs in in the same browser, the first cookie still in it.
    async with console.client() as client:
        client.cookies.set(auth.SESSION_COOKIE, first)
        second = await form_login(client, "supervisor", people["supervisor"].password)
    assert second.status_code == 303
    new = second.cookies[auth.SESSION_COOKIE]
    assert new not in (first, planted)
    assert (await me(console, first)).status_code == 401
    who = await me(console, new)
    assert who.status_code == 200
    assert who.json()["role"] == "supervisor"


# -- logging out ----------------------------------------------------------------------------------


async def test_logging_out_by_form_or_api_kills_every_copy_of_the_cookie_on_every_instance(
    start_console, people
):
    first, second = start_console(), start_console()

    # Through the page's form.
    async with first.client() as client:
        response = await form_login(client, "operator", people["operator"].password)
        copy = response.cookies[auth.SESSION_COOKIE]
        assert (await me(first, copy)).status_code == 200
        assert (await me(second, copy)).status_code == 200
        live = await client.get("/")
        assert 'action="/logout"' in live.text and "Esci" in live.text

        for forged in ({}, {"csrf_token": "sbagliato"}):
            refused = await client.post("/logout", data=forged)
            assert refused.status_code == 403
            assert "Token CSRF mancante o non valido." in refused.text
        assert (await me(second, copy)).status_code == 200

        csrf = CSRF_META.search(live.text).group(1)
        out = await client.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert "Max-Age=0" in set_cookie_header(out, auth.SESSION_COOKIE)
    assert (await me(first, copy)).status_code == 401
    assert (await me(second, copy)).status_code == 401

    # Through the API, with a socket open on the other instance.
    async with first.client() as client:
        csrf = await support.log_in(client, people["operator2"])
        copy = client.cookies[auth.SESSION_COOKIE]
        headers = {"Origin": second.origin, "Cookie": f"{auth.SESSION_COOKIE}={copy}"}
        async with websockets.connect(second.ws_url, additional_headers=headers) as ws:
            assert (await support.recv_json(ws))["type"] == "hello"

            refused = await client.delete("/api/v1/session")  # no CSRF token
            assert refused.status_code == 403
            assert refused.json()["error"] == "csrf_refused"
            assert (await me(second, copy)).status_code == 200

            out = await client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
            assert out.status_code == 204
            assert await close_code(ws) == 4001
    assert (await me(first, copy)).status_code == 401
    assert (await me(second, copy)).status_code == 401


# -- CSRF on the API ------------------------------------------------------------------------------


async def test_a_cookie_authenticated_post_needs_the_csrf_token_and_one_of_our_origins(
    start_console, people
):
    console = start_console()
    other_port = free_port()  # the same host on another port: another origin
    async with console.client() as client:
        csrf = await support.log_in(client, people["operator"])

        async def post(body: str, **headers: str) -> httpx.Response:
            return await client.post("/api/v1/room/messages", json={"body": body}, headers=headers)

        refused = [
            await post("senza token"),
            await post("token sbagliato", **{"X-CSRF-Token": "x" * 43}),
            await post("altro sito", **{"X-CSRF-Token": csrf, "Origin": "http://evil.example"}),
            await post(
                "altra porta",
                **{"X-CSRF-Token": csrf, "Origin": f"http://127.0.0.1:{other_port}"},
            ),
            await post("origine nulla", **{"X-CSRF-Token": csrf, "Origin": "null"}),
        ]
        for response in refused:
            assert response.status_code == 403
            assert response.json()["error"] == "csrf_refused"

        ours = await post("dalla pagina", **{"X-CSRF-Token": csrf, "Origin": console.origin})
        assert ours.status_code == 201
        tool = await post("da uno script", **{"X-CSRF-Token": csrf})  # no Origin: not a browser
        assert tool.status_code == 201

        events = (await client.get("/api/v1/events")).json()["events"]
    posted = [e["payload"]["body"] for e in events if e["type"] == "room.message_posted"]
    assert posted == ["dalla pagina", "da uno script"]


# -- timeouts -------------------------------------------------------------------------------------


async def test_a_session_ends_after_its_idle_or_absolute_timeout_and_its_socket_closes(
    start_console, people
):
    idle = start_console(SEUS_SESSION_IDLE_SECONDS="2", SEUS_HEARTBEAT_SECONDS="0.5")
    absolute = start_console(SEUS_SESSION_ABSOLUTE_SECONDS="2", SEUS_HEARTBEAT_SECONDS="0.5")
    cookies, sockets = {}, {}
    async with contextlib.AsyncExitStack() as stack:
        for console in (idle, absolute):
            client = await stack.enter_async_context(console.client())
            response = await client.post(
                "/api/v1/session",
                json={"username": "operator", "password": people["operator"].password},
            )
            assert response.status_code == 201
            cookies[console] = client.cookies[auth.SESSION_COOKIE]
            sockets[console] = await stack.enter_async_context(
                websockets.connect(
                    console.ws_url, additional_headers=support.ws_headers(console, client)
                )
            )
            assert (await me(console, cookies[console])).status_code == 200
        assert "Max-Age=2" in set_cookie_header(response, auth.SESSION_COOKIE)  # absolute

        # Used just now, but activity is recorded at most once a minute: idle after 2 s.
        for console in (idle, absolute):
            assert await close_code(sockets[console], timeout=6) == 4001
    for console in (idle, absolute):
        assert (await me(console, cookies[console])).status_code == 401
        async with console.client() as client:
            page = await client.get(
                "/", headers={"Cookie": f"{auth.SESSION_COOKIE}={cookies[console]}"}
            )
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login")


# -- login rate limits ----------------------------------------------------------------------------


async def test_an_account_is_blocked_after_its_failures_even_for_the_right_password(
    start_console, people
):
    console = start_console(SEUS_LOGIN_LIMIT_ACCOUNT="3", SEUS_LOGIN_WINDOW_SECONDS="600")
    for _ in range(3):
        assert (await api_attempt(console, "operator", "sbagliata")).status_code == 401

    blocked = await api_attempt(console, "operator", "sbagliata")
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "rate_limited"
    assert 1 <= int(blocked.headers["retry-after"]) <= 600

    right = await api_attempt(console, "operator", people["operator"].password)
    assert right.status_code == 429
    async with console.client() as client:
        page = await form_login(client, "Operator", people["operator"].password)
    assert page.status_code == 429
    assert "Troppi tentativi" in page.text
    assert 1 <= int(page.headers["retry-after"]) <= 600
    assert auth.SESSION_COOKIE not in page.cookies

    # Guesses sent all at once get no more tries through than one after the other.
    answers = await asyncio.gather(
        *(api_attempt(console, "supervisor", f"tentativo-{n}") for n in range(12))
    )
    statuses = sorted(response.status_code for response in answers)
    assert statuses == [401] * 3 + [429] * 9  # each 401 is a password actually tried

    # Only those accounts: a colleague at the same desk logs in.
    colleague = await api_attempt(console, "operator2", people["operator2"].password)
    assert colleague.status_code == 201


async def test_an_address_is_blocked_after_its_failures_whatever_name_or_forwarding_it_claims(
    start_console,
):
    console = start_console(SEUS_LOGIN_LIMIT_ADDRESS="3", SEUS_LOGIN_LIMIT_ACCOUNT="50")
    for n, name in enumerate(("anna", "bruno", "carla")):
        # X-Forwarded-For from a client that is not a trusted proxy is not believed.
        forged = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert (await api_attempt(console, name, "sbagliata", **forged)).status_code == 401
    for forged in ({}, {"X-Forwarded-For": "198.51.100.99"}):
        blocked = await api_attempt(console, "dario", "sbagliata", **forged)
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) >= 1


async def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_on_its_own(start_console):
    console = start_console(
        SEUS_LOGIN_LIMIT_ADDRESS="3",
        SEUS_LOGIN_LIMIT_ACCOUNT="50",
        SEUS_TRUSTED_PROXIES="127.0.0.1/32",
    )
    for n in range(3):
        # The proxy appends the client it saw; what the client wrote before it is not believed.
        forwarded = f"192.0.2.{n}, 203.0.113.7"
        response = await api_attempt(
            console, f"utente{n}", "sbagliata", **{"X-Forwarded-For": forwarded}
        )
        assert response.status_code == 401
    blocked = await api_attempt(
        console, "utente9", "sbagliata", **{"X-Forwarded-For": "203.0.113.7"}
    )
    assert blocked.status_code == 429
    elsewhere = await api_attempt(
        console, "utente9", "sbagliata", **{"X-Forwarded-For": "203.0.113.8"}
    )
    assert elsewhere.status_code == 401


# -- bearer credentials and stored secrets --------------------------------------------------------


async def test_a_referrer_key_and_a_unit_device_token_authenticate_as_bearer(start_console, people):
    console = start_console()
    async with console.client() as client:

        async def who(credential: str) -> httpx.Response:
            return await client.get("/api/v1/me", headers={"Authorization": f"Bearer {credential}"})

        referrer = await who(people["referrer"].secret)
        assert referrer.status_code == 200
        assert referrer.json()["role"] == "referrer"
        assert referrer.json()["referrer_id"] is not None
        assert referrer.json()["name"] == "PS test"

        unit = await who(people["unit"].secret)
        assert unit.status_code == 200
        assert unit.json()["role"] == "unit"
        assert unit.json()["unit_id"] is not None
        assert unit.json()["user_id"] == people["unit"].user_id

        for wrong in ("api-key-sbagliata", people["unit"].secret + "x", "a" * 43):
            response = await who(wrong)
            assert response.status_code == 401
            assert response.json()["error"] == "not_authenticated"
        basic = await client.get(
            "/api/v1/me", headers={"Authorization": f"Basic {people['referrer'].secret}"}
        )
        assert basic.status_code == 401


async def test_no_password_key_token_or_session_id_is_stored_in_clear(
    start_console, people, database_url
):
    console = start_console()
    async with console.client() as client:
        operator_cookie = (
            await form_login(client, "operator", people["operator"].password)
        ).cookies[auth.SESSION_COOKIE]
    async with console.client() as client:
        token = await login_token(client, "/tablet/login")
        tablet = await client.post(
            "/tablet/login", data={"token": people["unit"].secret, "csrf_token": token}
        )
        tablet_cookie = tablet.cookies[auth.SESSION_COOKIE]
        assert (
            await client.get(
                "/api/v1/me", headers={"Authorization": f"Bearer {people['referrer'].secret}"}
            )
        ).status_code == 200

    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetch(
            "SELECT quote_ident(table_name) AS name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        dump = "\n".join(
            [
                str(row[0])
                for table in tables
                for row in await conn.fetch(f"SELECT row_to_json(t)::text FROM {table['name']} t")
            ]
        )
    finally:
        await conn.close()

    # The scan reads the real rows: users, and the two sessions by the hash of their cookie.
    assert '"username":"operator"' in dump
    for cookie in (operator_cookie, tablet_cookie):
        assert hashlib.sha256(cookie.encode()).hexdigest() in dump
    secrets = [p.password for p in people.values()]
    secrets += [p.secret for p in people.values() if p.secret]
    secrets += ["api-key-other-referrer", operator_cookie, tablet_cookie]
    for secret in secrets:
        assert secret not in dump, f"stored in clear: {secret[:12]}…"


async def test_the_tablet_login_page_opens_a_unit_session_with_a_device_token(
    start_console, people
):
    console = start_console()
    async with console.client() as client:
        page = await client.get("/tablet/login")
        assert page.status_code == 200
        assert "Codice del dispositivo" in page.text and "Collega il tablet" in page.text

        wrong = await client.post(
            "/tablet/login", data={"token": "codice-sbagliato", "csrf_token": form_token(page)}
        )
        assert wrong.status_code == 401
        assert "Codice del dispositivo non valido." in wrong.text
        assert auth.SESSION_COOKIE not in wrong.cookies

        no_csrf = await client.post("/tablet/login", data={"token": people["unit"].secret})
        assert no_csrf.status_code == 403
        assert auth.SESSION_COOKIE not in no_csrf.cookies

        opened = await client.post(
            "/tablet/login",
            data={"token": people["unit"].secret, "csrf_token": form_token(no_csrf)},
        )
        assert opened.status_code == 303
        assert opened.headers["location"] == "/tablet"  # straight to the unit's assignment
        cookie = opened.cookies[auth.SESSION_COOKIE]
        assert "HttpOnly" in set_cookie_header(opened, auth.SESSION_COOKIE)

        tablet_page = await client.get("/tablet")
        assert tablet_page.status_code == 200
        live = await client.get("/")
        assert live.status_code == 200
        assert "Tablet unità operativa" in live.text
        assert 'id="room-message-form"' not in live.text  # a unit may not post to the room
    who = await me(console, cookie)
    assert who.status_code == 200
    assert who.json()["role"] == "unit"
    assert who.json()["user_id"] == people["unit"].user_id

"""Fault: one of two app instances dies (kill -9) while referrals stream in.

Referrers resend the same referral with the same `Idempotency-Key` until they get an answer;
live clients of the dead instance resume on the other one after their last seq. Nothing that
was acknowledged may be lost, nothing may be created twice, and every live client ends with
exactly the events of the log it may see: no gap, no duplicate, in order.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from tests import support
from tests.reliability.helpers import Follower, Referrer, head_of, kill, until, visible_seqs

PER_REFERRER = 15
KILL_AFTER = 10  # acknowledged referrals, of 3 x PER_REFERRER


async def test_a_killed_instance_loses_no_acknowledged_referral_duplicates_none_and_its_live_clients_resume_on_the_other(  # noqa: E501
    start_console, people, database_url
):
    doomed = start_console(SEUS_HEARTBEAT_SECONDS="0.5")
    survivor = start_console(SEUS_HEARTBEAT_SECONDS="0.5")
    urls = [doomed.url, survivor.url]
    async with contextlib.AsyncExitStack() as stack:
        followers: dict[str, Follower] = {}
        for name, console in (
            ("operator", doomed),
            ("supervisor", doomed),
            ("operator2", survivor),
        ):
            client, _ = await stack.enter_async_context(support.logged_in(console, people[name]))
            followers[name] = Follower(client, [console, survivor])
            followers[name].start()
            stack.push_async_callback(followers[name].stop)
        for follower in followers.values():
            await follower.connected()

        referrers = [
            Referrer(people["referrer"].secret, "ps-a", urls),
            Referrer(people["referrer"].secret, "ps-b", urls[::-1]),
            Referrer("api-key-other-referrer", "pm", urls),
        ]
        sending = asyncio.gather(*(r.send(PER_REFERRER) for r in referrers))

        def acknowledged() -> int:
            return sum(len(r.acked) for r in referrers)

        await until(lambda: acknowledged() >= KILL_AFTER, f"{KILL_AFTER} referrals answered")
        kill(doomed)
        acknowledged_before_the_kill = acknowledged()
        await asyncio.wait_for(sending, 60)

        head = await head_of(database_url)
        for follower in followers.values():
            await follower.caught_up(head)

    # The kill came mid-stream: answers before and after it, attempts lost with the instance.
    assert KILL_AFTER <= acknowledged_before_the_kill < 3 * PER_REFERRER
    assert sum(r.failures for r in referrers) > 0

    # Every acknowledged referral exists exactly once; one referral per Idempotency-Key.
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT id, description FROM referrals ORDER BY id")
        keys = await conn.fetch(
            "SELECT key, (response->>'id')::bigint AS id FROM idempotency_keys ORDER BY key"
        )
    finally:
        await conn.close()
    acked = {key: rid for r in referrers for key, rid in r.acked.items()}
    assert len(acked) == 3 * PER_REFERRER
    assert len(rows) == len(acked), "a referral was lost or created twice"
    by_id = {row["id"]: row["description"] for row in rows}
    for key, referral_id in acked.items():
        assert f"prova {key}:" in by_id[referral_id], (key, referral_id)
    assert {k["key"]: k["id"] for k in keys} == acked

    # Each live client got exactly the events it may see, in order, across the kill.
    for name, follower in followers.items():
        assert follower.unexpected == [], name
        assert follower.seqs == await visible_seqs(database_url, people[name]), name
    for name in ("operator", "supervisor"):
        assert followers[name].on[0] == doomed.port
        assert followers[name].closes[0] == 1006, "kill -9: the connection just dropped"
        assert followers[name].on[-1] == survivor.port, name
    assert followers["operator2"].on == [survivor.port]

"""Search and archive against real PostgreSQL: what is found, in what order, by whom."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from console.areas.search.reads import search
from console.areas.search.schemas import SearchQuery, SearchResults
from console.lib import errors
from console.lib.db import Database
from dispatch import access
from tests import support

pytestmark = pytest.mark.integration

PRATO = "100005"
FIRENZE = "048017"


@pytest.fixture
def room(people: dict[str, support.Person]) -> access.Principal:
    return access.Principal(
        access.Role.OPERATOR, "Operator Test", user_id=people["operator"].user_id
    )


@pytest.fixture
async def referrer(db: Database, people: dict[str, support.Person]) -> access.Principal:
    user_id = people["referrer"].user_id
    referrer_id = await db.pool.fetchval("SELECT referrer_id FROM users WHERE id = $1", user_id)
    return access.Principal(
        access.Role.REFERRER, "Referrer Test", user_id=user_id, referrer_id=referrer_id
    )


@pytest.fixture
async def other_referrer(db: Database) -> int:
    found: int = await db.pool.fetchval(
        "INSERT INTO referrers (name, kind) VALUES ('Questura di Prato', 'police') RETURNING id"
    )
    return found


async def find(db: Database, who: access.Principal, **asked: Any) -> SearchResults:
    async with db.pool.acquire() as conn, conn.transaction():
        return await search(conn, who, SearchQuery.model_validate(asked))


def numbers(found: SearchResults) -> list[str]:
    return [r.case_number for r in found.results]


async def referral(db: Database, referrer_id: int, **options: Any) -> tuple[int, str]:
    async with db.pool.acquire() as conn:
        referral_id = await support.make_referral(conn, referrer_id=referrer_id, **options)
        number: str = await conn.fetchval(
            "SELECT case_number FROM referrals WHERE id = $1", referral_id
        )
    return referral_id, number


async def case(db: Database, referrer_id: int, **options: Any) -> tuple[int, int, str]:
    async with db.pool.acquire() as conn:
        referral_id, case_id = await support.make_case(conn, referrer_id=referrer_id, **options)
        number: str = await conn.fetchval("SELECT case_number FROM cases WHERE id = $1", case_id)
    return referral_id, case_id, number


async def test_accents_inflections_and_a_typo_still_find_the_words(
    db: Database, room: access.Principal, referrer: access.Principal
):
    _, wanted = await referral(
        db,
        referrer.referrer_id or 0,
        description="Donna di 80 anni dimessa dall'ospedale, sola in città senza riscaldamento.",
    )
    await referral(db, referrer.referrer_id or 0, description="Uomo senza dimora alla stazione.")

    for words in ("citta", "città", "dimesso", "dimessi ospedale", "ospedle", "riscaldamneto"):
        found = await find(db, room, q=words)
        assert numbers(found) == [wanted], words
    typo = await find(db, room, q="ospedle")
    assert "ospedale" in typo.widened["ospedle"]
    snippet = (await find(db, room, q="dimesso")).results[0].snippet or ""
    assert "«dimessa»" in snippet


async def test_a_case_number_or_the_referrers_reference_comes_first(
    db: Database, room: access.Principal, referrer: access.Principal
):
    rid = referrer.referrer_id or 0
    first_id, first = await referral(db, rid, description="Segnalazione 7 in via Roma")
    _, second = await referral(db, rid, description="Persona in difficoltà")
    await db.pool.execute(
        "UPDATE referrals SET referrer_reference = 'PS-2026-0042' WHERE case_number = $1", second
    )

    assert numbers(await find(db, room, q=first))[0] == first
    assert numbers(await find(db, room, q=first.lower()))[0] == first
    serial = str(first_id)  # the last digits alone, without zeros
    assert numbers(await find(db, room, q=serial))[0] == first
    assert numbers(await find(db, room, q="ps-2026-0042")) == [second]


async def test_address_municipality_and_case_notes_are_searched(
    db: Database, room: access.Principal, referrer: access.Principal
):
    rid = referrer.referrer_id or 0
    in_prato, prato = await referral(
        db, rid, municipality=PRATO, description="Nucleo in difficoltà"
    )
    _, case_id, with_note = await case(db, rid)
    await db.pool.execute(
        "UPDATE referrals SET address = 'Via del Ghirlandaio 12' WHERE id = $1", in_prato
    )
    await db.pool.execute(
        "INSERT INTO notes (case_id, author, author_name, body, at)"
        " VALUES ($1, 'user:1', 'Operatrice', 'Il fratello vive a Livorno, contattato.', now())",
        case_id,
    )

    assert numbers(await find(db, room, q="prato")) == [prato]
    assert numbers(await find(db, room, q="ghirlandaio")) == [prato]
    assert numbers(await find(db, room, q="fratello livorno")) == [with_note]


async def test_a_word_in_the_place_ranks_above_the_same_word_in_the_description(
    db: Database, room: access.Principal, referrer: access.Principal
):
    rid = referrer.referrer_id or 0
    _, in_text = await referral(db, rid, description="Trovato vicino al mercato di Prato.")
    _, in_place = await referral(db, rid, municipality=PRATO, description="Anziano confuso.")
    found = await find(db, room, q="prato")
    assert numbers(found) == [in_place, in_text]
    assert found.results[0].rank > found.results[1].rank


async def test_each_caller_finds_only_its_share(
    db: Database,
    room: access.Principal,
    referrer: access.Principal,
    other_referrer: int,
    people: dict[str, support.Person],
):
    text = "Famiglia sgomberata dall'alloggio popolare"
    _, own = await referral(db, referrer.referrer_id or 0, description=text)
    _, others = await referral(db, other_referrer, description=text)
    _, handed_case, handed = await case(db, other_referrer)
    await db.pool.execute(
        "UPDATE referrals SET description = $2 WHERE case_number = $1", handed, text
    )
    await db.pool.execute(
        "INSERT INTO handovers (case_id, zone_id, status, dossier, sent_at)"
        " VALUES ($1, 'pratese', 'sent', '{}', now())",
        handed_case,
    )
    unit_id = await db.pool.fetchval("INSERT INTO units (name) VALUES ('UTES 1') RETURNING id")
    _, sent_case, sent = await case(db, other_referrer)
    await db.pool.execute(
        "UPDATE referrals SET description = $2 WHERE case_number = $1", sent, text
    )
    await db.pool.execute(
        "INSERT INTO assignments (case_id, unit_id, dispatched_at) VALUES ($1, $2, now())",
        sent_case,
        unit_id,
    )

    assert sorted(numbers(await find(db, room, q="sgomberata"))) == sorted(
        [own, others, handed, sent]
    )

    mine = await find(db, referrer, q="sgomberata alloggio")
    assert numbers(mine) == [own]
    assert mine.results[0].status_label == "Ricevuta"
    assert mine.results[0].address is None and mine.results[0].snippet is None

    pratese = access.Principal(access.Role.TERRITORIAL_SERVICE, "SST", zone_id="pratese")
    assert numbers(await find(db, pratese, q="sgomberata")) == [handed]
    firenze = access.Principal(access.Role.TERRITORIAL_SERVICE, "SST", zone_id="firenze")
    assert numbers(await find(db, firenze, q="sgomberata")) == []

    unit = access.Principal(access.Role.UNIT, "UTES 1", unit_id=unit_id)
    assert numbers(await find(db, unit, q="sgomberata")) == [sent]

    nobody = access.Principal(access.Role.TERRITORIAL_SERVICE, "SST without zone")
    with pytest.raises(errors.Forbidden):
        await find(db, nobody, q="sgomberata")


async def test_outside_the_room_words_of_the_rooms_notes_and_decisions_find_nothing(
    db: Database, room: access.Principal, referrer: access.Principal
):
    referral_id, case_id, number = await case(db, referrer.referrer_id or 0)
    await db.pool.execute(
        "UPDATE referrals SET description = 'Signora sola, chiede aiuto per la spesa.',"
        " decision_reason = 'Sospetto maltrattamento dal nipote' WHERE id = $1",
        referral_id,
    )
    await db.pool.execute(
        "INSERT INTO notes (case_id, author, author_name, body, at)"
        " VALUES ($1, 'user:1', 'Operatrice', 'Riferisce allucinazioni uditive.', now())",
        case_id,
    )
    await db.pool.execute(
        "INSERT INTO referral_addenda (referral_id, body, author_name, added_at)"
        " VALUES ($1, 'Ha un gatto da accudire.', 'Pronto soccorso', now())",
        referral_id,
    )

    for words in ("maltrattamento nipote", "allucinazioni", "gatto"):
        assert numbers(await find(db, room, q=words)) == [number], words
    # The referrer finds its referral by what it sent, the description or its addendum...
    assert numbers(await find(db, referrer, q="spesa")) == [number]
    assert numbers(await find(db, referrer, q="gatto")) == [number]
    # ...and never learns a word the room wrote, not even as a spelling suggestion.
    for words in ("maltrattamento", "allucinazioni", "allucinazzioni"):
        found = await find(db, referrer, q=words)
        assert numbers(found) == [] and found.widened == {}, words
    assert (await find(db, room, q="allucinazzioni")).widened == {
        "allucinazzioni": ["allucinazioni"]
    }


async def test_every_result_shown_is_a_recorded_file_opening(
    db: Database, room: access.Principal, referrer: access.Principal
):
    rid = referrer.referrer_id or 0
    referral_id, _ = await referral(db, rid, description="Minore non accompagnato in stazione")
    _, case_id, _ = await case(db, rid)
    await db.pool.execute(
        "UPDATE referrals SET description = 'Minore solo, accompagnato in questura'"
        " WHERE id = (SELECT referral_id FROM cases WHERE id = $1)",
        case_id,
    )
    await find(db, room, q="minore")
    opened = await db.pool.fetch(
        "SELECT subject, subject_id, actor FROM file_openings ORDER BY subject"
    )
    assert {(r["subject"], r["subject_id"]) for r in opened} == {
        ("case", case_id),
        ("referral", referral_id),
    }
    assert {r["actor"] for r in opened} == {f"user:{room.user_id}"}


async def test_the_archive_filters_by_period_zone_category_and_outcome(
    db: Database, room: access.Principal, referrer: access.Principal
):
    rid = referrer.referrer_id or 0
    _, closed_case, handed_over = await case(db, rid)
    _, _, closed_alone = await case(db, rid, municipality=PRATO)
    _, open_now = await referral(db, rid)
    _, refused = await referral(db, rid, status="not_pertinent", trigger="poverty_homelessness")
    last_month = datetime.now(UTC) - timedelta(days=35)
    await db.pool.execute(
        "UPDATE cases SET status = 'closed', closed_at = now() WHERE case_number = ANY($1)",
        [handed_over, closed_alone],
    )
    await db.pool.execute(
        "INSERT INTO handovers (case_id, zone_id, status, dossier, sent_at)"
        " VALUES ($1, 'firenze', 'accepted', '{}', now())",
        closed_case,
    )
    await db.pool.execute(
        "UPDATE referrals SET received_at = $2 WHERE case_number = $1", closed_alone, last_month
    )

    archive = await find(db, room, state="concluded")
    assert numbers(archive) == [refused, handed_over, closed_alone]  # newest first
    outcomes = {r.case_number: r.outcome_label for r in archive.results}
    assert outcomes[handed_over] == "Chiuso dopo il passaggio al territorio"
    assert outcomes[closed_alone] == "Chiuso senza passaggio"
    assert outcomes[refused] == "Non pertinente"
    assert numbers(await find(db, room, state="open")) == [open_now]
    assert numbers(await find(db, room, outcome="closed")) == [closed_alone]
    assert numbers(await find(db, room, state="concluded", zone="pratese")) == [closed_alone]
    assert numbers(await find(db, room, category="poverty_homelessness")) == [refused]
    first = (last_month - timedelta(days=1)).date().isoformat()
    last = (last_month + timedelta(days=1)).date().isoformat()
    assert numbers(await find(db, room, **{"from": first, "to": last})) == [closed_alone]

    with pytest.raises(errors.ValidationFailed) as refused_period:
        await find(db, room, **{"from": last, "to": first})
    assert [p.field for p in refused_period.value.problems] == ["query.to"]

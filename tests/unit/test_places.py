"""What the room and the API's caller are warned of when a referral's point is elsewhere."""

from __future__ import annotations

import pytest

from dispatch import places
from dispatch.places import OUTSIDE_MUNICIPALITY, OUTSIDE_TUSCANY, PlaceWarning, Town

PISTOIA = Town("047014", "Pistoia")
PRATO = Town("100005", "Prato")


@pytest.mark.parametrize(
    ("stated", "found", "has_point", "expected"),
    [
        (PISTOIA, None, False, []),  # no point: nothing to check
        (PISTOIA, PISTOIA, True, []),
        (None, PRATO, True, []),  # nothing stated: a point in Tuscany is fine
        (PISTOIA, None, True, [("lat", OUTSIDE_TUSCANY)]),
        (None, None, True, [("lat", OUTSIDE_TUSCANY)]),
        (PISTOIA, PRATO, True, [("municipality", OUTSIDE_MUNICIPALITY)]),
    ],
)
def test_a_point_is_checked_against_tuscany_then_against_the_stated_municipality(
    stated, found, has_point, expected
):
    found_warnings = places.warnings(stated, found, has_point=has_point)
    assert [(w.field, w.type) for w in found_warnings] == expected


@pytest.mark.parametrize(
    ("stated", "found", "message", "message_it"),
    [
        (
            PISTOIA,
            None,
            "the point lies outside Tuscany",
            "Il punto è fuori dalla Toscana: controllare le coordinate.",
        ),
        (
            PISTOIA,
            PRATO,
            "the point lies in Prato, not in Pistoia",
            "Il punto cade nel comune di Prato, non in quello indicato (Pistoia).",
        ),
    ],
)
def test_each_warning_says_in_english_and_in_italian_where_the_point_lies(
    stated, found, message, message_it
):
    (warning,) = places.warnings(stated, found, has_point=True)
    assert (warning.message, warning.message_it) == (message, message_it)


def test_a_warning_reads_like_the_apis_field_errors_with_its_italian_sentence():
    warning = PlaceWarning("lat", OUTSIDE_TUSCANY, "the point lies outside Tuscany", "Fuori.")
    assert warning.as_json("place.") == {
        "field": "place.lat",
        "message": "the point lies outside Tuscany",
        "type": "outside_tuscany",
        "message_it": "Fuori.",
    }
    assert warning.as_json()["field"] == "lat"

"""The search's query and its results."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, create_model

from console.lib.schemas import EARLIEST, LATEST, Day, Line
from dispatch import search
from dispatch.referrals import Trigger, Urgency
from dispatch.search import Outcome, State

# `from` is a Python keyword, hence a model made by name.
SearchQuery: type[BaseModel] = create_model(
    "SearchQuery",
    __config__=ConfigDict(extra="forbid"),
    q=(
        Line | None,
        Field(
            default=None,
            max_length=200,
            description="Words to find: a case number (whole, or its last digits), the"
            " referrer's reference, an address, a municipality, words of the description and"
            " of the notes. Accents do not matter, inflected forms meet, a one-letter typo still"
            " finds the word. Without words: the archive, newest first.",
        ),
    ),
    state=(State | None, Field(default=None, description="open or concluded")),
    outcome=(Outcome | None, Field(default=None, description="How the story ended")),
    zone=(Line | None, Field(default=None, max_length=20, description="Zone id of the place")),
    category=(
        Trigger | None,
        Field(default=None, description="Category: the room's, else the referrer's"),
    ),
    **{
        "from": (
            Day,
            Field(
                default=None,
                ge=EARLIEST,
                le=LATEST,
                description="Received on or after this day (YYYY-MM-DD, Europe/Rome)",
            ),
        ),
        "to": (
            Day,
            Field(
                default=None,
                ge=EARLIEST,
                le=LATEST,
                description="Received on or before this day (YYYY-MM-DD, Europe/Rome)",
            ),
        ),
    },
    limit=(
        int,
        Field(default=search.DEFAULT_RESULTS, ge=1, le=search.MAX_RESULTS, strict=False),
    ),
)


class SearchResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    referral_id: int
    case_id: int | None = Field(description="Its case, when the referral was activated")
    case_number: str
    referrer_reference: str | None
    received_at: datetime
    status: str = Field(description="The referral's status, or the progress a referrer sees")
    status_label: str = Field(description="In Italian")
    outcome: Outcome
    outcome_label: str = Field(description="In Italian")
    closed_at: datetime | None = Field(description="When its case was closed")
    href: str = Field(description="The page that opens it for this caller")
    # The room's share only (null for referrers, territorial services and units):
    urgency: Urgency | None = None
    category: Trigger | None = None
    category_label: str | None = None
    zone_id: str | None = None
    zone_name: str | None = None
    municipality: str | None = None
    address: str | None = None
    snippet: str | None = Field(
        default=None,
        description="Where the words were found: plain text, the matches between « and »",
    )
    rank: float = Field(description="Relevance (higher first); 0 for an archive listing")


class SearchResults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    words: list[str] = Field(description="The words searched, folded (lower case, no accents)")
    widened: dict[str, list[str]] = Field(
        description="Words with no exact match and the neighbours searched instead"
    )
    results: list[SearchResult]
    more: bool = Field(description="More results than `limit` matched")

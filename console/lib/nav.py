"""The console's sections, those a role may open, and where each role's work is."""

from __future__ import annotations

from dispatch import access

_P = access.Permission


# The sections of the console: (path, Italian label, what one needs to open it).
NAV: list[tuple[str, str, frozenset[access.Permission]]] = [
    ("/", "Sala", frozenset({_P.VIEW_ROOM})),
    ("/coda", "Coda segnalazioni", frozenset({_P.ASSESS})),
    ("/casi", "Casi aperti", frozenset({_P.MANAGE_CASES})),
    ("/archivio", "Archivio", frozenset({_P.VIEW_REFERRALS})),
    (
        "/segnalazioni/nuova",
        "Nuova segnalazione",
        frozenset({_P.VIEW_REFERRALS, _P.SUBMIT_REFERRAL}),
    ),
    ("/supervisione", "Supervisione", frozenset({_P.SUPERVISE})),
    ("/indicatori", "Indicatori", frozenset({_P.VIEW_INDICATORS})),
    ("/unita", "Unità operative", frozenset({_P.VIEW_UNITS})),
    ("/mappa", "Mappa", frozenset({_P.VIEW_REFERRALS, _P.VIEW_UNITS, _P.ASSESS})),
    ("/risorse", "Paniere risorse", frozenset({_P.VIEW_BASKET})),
    ("/tempi", "Tempi di servizio", frozenset({_P.EDIT_POLICIES})),
    ("/tablet", "Intervento", frozenset({_P.UNIT_TABLET})),
    ("/segnalazioni", "Le mie segnalazioni", frozenset({_P.VIEW_OWN_REFERRALS})),
    ("/passaggi", "Passaggi in carico", frozenset({_P.DECIDE_HANDOVER})),
]


def nav_for(principal: access.Principal | None) -> list[tuple[str, str]]:
    if principal is None:
        return []
    return [
        (href, label)
        for href, label, needed in NAV
        if all(access.can(principal, p) for p in needed)
    ]


# Where each role lands after logging in: where its work is.
HOME = {
    access.Role.OPERATOR: "/coda",
    access.Role.SUPERVISOR: "/supervisione",
    access.Role.TERRITORIAL_SERVICE: "/passaggi",
    access.Role.REFERRER: "/segnalazioni",
    access.Role.UNIT: "/tablet",
    access.Role.ADMIN: "/tempi",
}

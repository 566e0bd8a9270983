"""The units area's shared SQL column lists."""

from __future__ import annotations

UNIT_COLUMNS = (
    "u.id, u.name, u.status, u.status_since, u.current_case_id, u.zones, u.skills, u.languages,"
    " u.vehicle, u.base_label, u.base_municipality_code, u.base_lat, u.base_lon, u.last_lat,"
    " u.last_lon, u.last_position_at, u.share_position, u.synthetic, u.crew, u.phone"
)


ACTIVE = "done_at IS NULL AND cancelled_at IS NULL"


ASSIGNMENT_COLUMNS = (
    "id, case_id, unit_id, dispatched_at, acknowledged_at, en_route_at, on_scene_at,"
    " last_check_in_at, done_at, cancelled_at"
)


CASE_COLUMNS = "id, case_number, status, zone_id, referral_id, urgency, needs, skills, language"

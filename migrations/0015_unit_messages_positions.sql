-- Messages from the room to the field units, acknowledged by the crew; the units' positions
-- (with the crew's consent, the last one kept, a short history pruned); resources' addresses.

-- One row per unit a message went to: "to all units of a case" is one row per unit, sharing
-- `batch`. `case_id`: the case it is about (the unit's case when it was sent), if any.
CREATE TABLE unit_messages (
    id bigserial PRIMARY KEY,
    batch bigint NOT NULL,
    unit_id bigint NOT NULL REFERENCES units (id),
    case_id bigint REFERENCES cases (id),
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 1000),
    author text NOT NULL,                         -- actor: user:<id>
    author_name text NOT NULL,
    sent_at timestamptz NOT NULL,
    acknowledged_at timestamptz,
    acknowledged_by text                          -- actor: unit:<id>
);
CREATE SEQUENCE unit_message_batches;
CREATE INDEX unit_messages_unit_idx ON unit_messages (unit_id, sent_at);
CREATE INDEX unit_messages_case_idx ON unit_messages (case_id, sent_at);

-- Positions are personal data (the crew's whereabouts): sent only when the unit's consent
-- setting is on; `units.last_*` keeps the last one, `unit_positions` a short history that the
-- retention job prunes (SEUS_POSITION_HISTORY_HOURS). Events never carry coordinates.
ALTER TABLE units
    ADD COLUMN share_position boolean NOT NULL DEFAULT false,
    ADD COLUMN last_position_at timestamptz,
    ADD COLUMN last_accuracy_m double precision;
-- A last position with no time cannot be judged fresh: it is forgotten.
UPDATE units SET last_lat = NULL, last_lon = NULL;

CREATE TABLE unit_positions (
    unit_id bigint NOT NULL REFERENCES units (id),
    at timestamptz NOT NULL,
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    accuracy_m double precision
);
CREATE INDEX unit_positions_unit_idx ON unit_positions (unit_id, at);
CREATE INDEX unit_positions_at_idx ON unit_positions (at);

-- Where a resource is: the crew of a case needs the address, the phone and the hours.
ALTER TABLE resources ADD COLUMN address text NOT NULL DEFAULT '';

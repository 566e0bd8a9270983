-- Cases, field units, the resource basket, bookings, handovers, notes.

CREATE TABLE cases (
    id bigserial PRIMARY KEY,
    referral_id bigint NOT NULL UNIQUE REFERENCES referrals (id),
    case_number text NOT NULL UNIQUE,            -- the referral's number
    status text NOT NULL CHECK (status IN ('open', 'unit_dispatched', 'on_scene',
        'resources_in_place', 'handover_sent', 'handover_accepted', 'handover_rejected',
        'closed')),
    zone_id text NOT NULL REFERENCES zones (id),  -- where the person was found
    urgency text NOT NULL CHECK (urgency IN ('rosso', 'giallo', 'verde')),
    owner_id bigint REFERENCES users (id),        -- the operator in charge
    needs text[] NOT NULL DEFAULT '{}',           -- resource types the person needs
    skills text[] NOT NULL DEFAULT '{}',          -- unit skills the situation needs
    language text,                                -- language for a cultural mediator
    flagged boolean NOT NULL DEFAULT false,       -- handover rejected: back to the room
    opened_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    closed_at timestamptz
);
CREATE INDEX cases_open_idx ON cases (status) WHERE status <> 'closed';

ALTER TABLE units
    ADD COLUMN base_label text NOT NULL DEFAULT '',
    ADD COLUMN base_municipality_code text REFERENCES municipalities (istat_code),
    ADD COLUMN base_lat double precision,
    ADD COLUMN base_lon double precision,
    ADD COLUMN zones text[] NOT NULL DEFAULT '{}',
    ADD COLUMN skills text[] NOT NULL DEFAULT '{}',
    ADD COLUMN languages text[] NOT NULL DEFAULT '{}',
    ADD COLUMN vehicle text NOT NULL DEFAULT '',
    ADD COLUMN synthetic boolean NOT NULL DEFAULT false,  -- demo base, not a verified site
    ADD COLUMN status text NOT NULL DEFAULT 'off_duty' CHECK (status IN ('off_duty',
        'available', 'assigned', 'acknowledged', 'en_route', 'on_scene', 'returning')),
    ADD COLUMN status_since timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN last_lat double precision,
    ADD COLUMN last_lon double precision,
    ADD COLUMN current_case_id bigint REFERENCES cases (id);

-- A unit sent to a case. One active assignment per unit at a time.
CREATE TABLE assignments (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    unit_id bigint NOT NULL REFERENCES units (id),
    dispatched_by bigint REFERENCES users (id),
    dispatched_at timestamptz NOT NULL,
    acknowledged_at timestamptz,
    en_route_at timestamptz,
    on_scene_at timestamptz,
    last_check_in_at timestamptz,
    done_at timestamptz,
    cancelled_at timestamptz
);
CREATE UNIQUE INDEX assignments_one_active_per_unit ON assignments (unit_id)
    WHERE done_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX assignments_case_idx ON assignments (case_id);

-- The zone's basket of resources (paniere delle risorse).
CREATE TABLE resources (
    id bigserial PRIMARY KEY,
    zone_id text NOT NULL REFERENCES zones (id),
    type text NOT NULL CHECK (type IN ('shelter_bed', 'protected_housing', 'meals', 'clothing',
        'pharmacy', 'transport', 'interpreter', 'psychological_first_aid', 'hotel_room',
        'other')),
    name text NOT NULL,
    provider text NOT NULL,
    capacity integer NOT NULL CHECK (capacity >= 0),
    conditions text NOT NULL DEFAULT '',          -- conditions of access
    max_duration text NOT NULL DEFAULT '',
    contact_hours text NOT NULL DEFAULT '',
    phone text NOT NULL DEFAULT '',
    active boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resources_zone_idx ON resources (zone_id, type);

CREATE TABLE bookings (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    resource_id bigint NOT NULL REFERENCES resources (id),
    quantity integer NOT NULL CHECK (quantity > 0),
    status text NOT NULL CHECK (status IN ('requested', 'held', 'confirmed', 'in_use',
        'released', 'expired', 'cancelled')),
    requested_by text NOT NULL,                   -- actor: user:<id> or unit:<id>
    held_until timestamptz,
    note text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX bookings_counted_idx ON bookings (resource_id)
    WHERE status IN ('held', 'confirmed', 'in_use');
CREATE INDEX bookings_case_idx ON bookings (case_id);

-- The handover of a case to the territorial service of the competent zone.
CREATE TABLE handovers (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    zone_id text NOT NULL REFERENCES zones (id),
    status text NOT NULL CHECK (status IN ('sent', 'accepted', 'rejected')),
    dossier jsonb NOT NULL,
    sent_at timestamptz NOT NULL,
    sent_by bigint REFERENCES users (id),
    decided_at timestamptz,
    decided_by bigint REFERENCES users (id),
    reason text
);
CREATE UNIQUE INDEX handovers_one_pending_per_case ON handovers (case_id) WHERE status = 'sent';
CREATE INDEX handovers_zone_idx ON handovers (zone_id, status);

CREATE TABLE notes (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    author text NOT NULL,                         -- actor: user:<id> or unit:<id>
    author_name text NOT NULL,
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    at timestamptz NOT NULL
);
CREATE INDEX notes_case_idx ON notes (case_id, at);

-- Reference geography (shipped in console/data, seeded with --demo) and referral intake.

CREATE TABLE zones (
    id text PRIMARY KEY,                 -- zona-distretto slug, e.g. 'pistoiese'
    name text NOT NULL,
    asl text NOT NULL,
    provinces text NOT NULL DEFAULT '',
    population integer,
    active boolean NOT NULL DEFAULT true  -- the service is active in this zone
);

CREATE TABLE municipalities (
    istat_code text PRIMARY KEY CHECK (istat_code ~ '^[0-9]{6}$'),
    name text NOT NULL,
    province_code text NOT NULL,
    zone_id text NOT NULL REFERENCES zones (id),
    population integer,
    lat double precision NOT NULL,
    lon double precision NOT NULL
);
CREATE INDEX municipalities_name_idx ON municipalities (lower(name));

ALTER TABLE referrers ADD CONSTRAINT referrers_kind_check CHECK (kind IN (
    'police', 'carabinieri', 'municipal_police', 'hospital', 'social_service', 'prefecture',
    'municipality', 'other'));

-- A referral (segnalazione). Its case number is given at intake and read on the phone.
CREATE TABLE referrals (
    id bigserial PRIMARY KEY,
    case_number text NOT NULL UNIQUE,
    referrer_id bigint NOT NULL REFERENCES referrers (id),
    referrer_reference text,             -- the referrer's own reference, unique per referrer
    status text NOT NULL CHECK (status IN
        ('received', 'in_assessment', 'activated', 'not_pertinent', 'redirected', 'merged')),
    trigger text NOT NULL,
    urgency_proposed text CHECK (urgency_proposed IN ('rosso', 'giallo', 'verde')),
    urgency text CHECK (urgency IN ('rosso', 'giallo', 'verde')),  -- set by the assessment
    municipality_code text NOT NULL REFERENCES municipalities (istat_code),
    zone_id text NOT NULL REFERENCES zones (id),
    address text NOT NULL DEFAULT '',
    lat double precision,
    lon double precision,
    residence_municipality_code text REFERENCES municipalities (istat_code),
    people jsonb NOT NULL,               -- count, minors, age_band, sex, language, needs_mediator
    description text NOT NULL,           -- what happened (free text, always rendered escaped)
    callback jsonb NOT NULL,             -- who to call back: name, role, phone
    holder_id bigint REFERENCES users (id),  -- the operator assessing it
    claimed_at timestamptz,
    assessment jsonb,
    decision_reason text,
    merged_into bigint REFERENCES referrals (id),
    entered_by bigint REFERENCES users (id),  -- an operator who took it by phone
    received_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (referrer_id, referrer_reference)
);
CREATE INDEX referrals_open_idx ON referrals (status, received_at)
    WHERE status IN ('received', 'in_assessment');
CREATE INDEX referrals_referrer_idx ON referrals (referrer_id, received_at DESC);

-- Idempotency keys of write requests: the same key with the same body replays the first
-- answer; with another body it is a conflict. Scope: 'referrer:<id>', 'unit:<id>', ...
CREATE TABLE idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    status integer NOT NULL,
    response jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

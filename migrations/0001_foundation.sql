-- Foundation: the event log, people and access.

-- The event log: one table, one sequence, written in the same transaction as the change.
-- `seq` is allocated from the single row of event_head, which stays locked until the writing
-- transaction commits: numbers are handed out in commit order and a rolled-back transaction
-- gives its numbers back, so readers see 1..N with no hole (see docs/architecture.md).
CREATE TABLE event_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seq bigint NOT NULL CHECK (seq >= 0)
);
INSERT INTO event_head (singleton, seq) VALUES (true, 0);

CREATE TABLE events (
    seq bigint PRIMARY KEY,
    type text NOT NULL,
    subject text NOT NULL,
    zone text,
    audience text[] NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    actor text,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_subject_idx ON events (subject, seq);

-- Organisations that refer people: police, hospitals, social services... (see issue 3)
CREATE TABLE referrers (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    kind text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Field units (unità operative).
CREATE TABLE units (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id bigserial PRIMARY KEY,
    username text NOT NULL,
    display_name text NOT NULL,
    password_hash text,  -- argon2id; NULL: cannot log in with a password (a unit's device user)
    role text NOT NULL CHECK (role IN
        ('operator', 'supervisor', 'unit', 'referrer', 'territorial_service', 'admin')),
    unit_id bigint REFERENCES units (id),
    referrer_id bigint REFERENCES referrers (id),
    zone_id text,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'unit' OR unit_id IS NOT NULL),
    CHECK (role <> 'referrer' OR referrer_id IS NOT NULL),
    CHECK (role <> 'territorial_service' OR zone_id IS NOT NULL)
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- Server-side sessions: the cookie holds a random id, the table only its SHA-256.
CREATE TABLE sessions (
    id_hash bytea PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    revoked_at timestamptz,
    client_addr text,
    user_agent text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Referrer API keys and unit device tokens: stored only as SHA-256 of a 256-bit random secret.
CREATE TABLE api_keys (
    id bigserial PRIMARY KEY,
    referrer_id bigint NOT NULL REFERENCES referrers (id),
    key_hash bytea NOT NULL UNIQUE,
    label text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE TABLE device_tokens (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    token_hash bytea NOT NULL UNIQUE,
    label text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- Short messages to the operations room (the first thing that happens live).
CREATE TABLE room_messages (
    id bigserial PRIMARY KEY,
    body text NOT NULL,
    author_id bigint NOT NULL REFERENCES users (id),
    posted_at timestamptz NOT NULL
);

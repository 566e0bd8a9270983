-- A field unit's crew and phone; pairing a unit's tablet with a short code (issue 13, items 4
-- and 5).

-- The crew in order: [{"name": "...", "user_id": N or null}], a user's display name as it was
-- when the crew was saved, or a name typed for a volunteer without an account.
ALTER TABLE units
    ADD COLUMN crew jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(crew) = 'array'),
    ADD COLUMN phone text NOT NULL DEFAULT '';

-- A pairing code: valid once, until expires_at. Only its SHA-256 is stored.
CREATE TABLE pairing_codes (
    id bigserial PRIMARY KEY,
    unit_id bigint NOT NULL REFERENCES units (id),
    code_hash bytea NOT NULL UNIQUE,
    issued_by bigint REFERENCES users (id),
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL CHECK (expires_at > issued_at),
    used_at timestamptz,
    device_token_id bigint REFERENCES device_tokens (id)
);
CREATE INDEX pairing_codes_unit_idx ON pairing_codes (unit_id, id);

-- Who revoked a device token; and the device token a session was opened with, so that
-- revoking the token ends its sessions at once.
ALTER TABLE device_tokens ADD COLUMN revoked_by bigint REFERENCES users (id);
ALTER TABLE sessions ADD COLUMN device_token_id bigint REFERENCES device_tokens (id);
CREATE INDEX sessions_device_token_idx ON sessions (device_token_id)
    WHERE device_token_id IS NOT NULL;

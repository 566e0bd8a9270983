-- The audit trail is append-only: the event log (every change, written in the action's own
-- transaction) and the file openings (every read of a person's file, written in the read's
-- own transaction). Neither can be updated, deleted or truncated through any role that lacks
-- DDL rights on them: the triggers below refuse it, for the tables' owner too.

CREATE TABLE file_openings (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    subject text NOT NULL CHECK (subject IN ('referral', 'case', 'handover', 'assignment')),
    subject_id bigint NOT NULL,
    role text NOT NULL,
    actor text NOT NULL,          -- user:N, unit:N or referrer:N, as in events.actor
    actor_name text NOT NULL,     -- the name shown at the time (users may be renamed later)
    zone_id text                  -- a territorial service's zone
);
CREATE INDEX file_openings_subject_idx ON file_openings (subject, subject_id, id);
CREATE INDEX file_openings_actor_idx ON file_openings (actor, id);

CREATE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_is_append_only();
CREATE TRIGGER file_openings_append_only BEFORE UPDATE OR DELETE ON file_openings
    FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
CREATE TRIGGER file_openings_no_truncate BEFORE TRUNCATE ON file_openings
    FOR EACH STATEMENT EXECUTE FUNCTION audit_is_append_only();

-- Where the application runs as its own role (not the tables' owner), it holds no right to
-- change these tables at all; the triggers above hold for the owner as well.
REVOKE UPDATE, DELETE, TRUNCATE ON events, file_openings FROM PUBLIC;

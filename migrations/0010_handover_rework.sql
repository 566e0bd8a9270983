-- The handover rework: the room corrects where a case is competent (the person's residence or
-- the zone itself) with a reason, replies to a territorial service's rejection, and marks the
-- notes that go with the handover.

-- The competent zone as the room corrected it; NULL: the residence's zone, else where found.
ALTER TABLE cases ADD COLUMN competent_zone_id text REFERENCES zones (id);

-- A note the operator marked "per il passaggio": it goes in the handover's dossier.
ALTER TABLE notes ADD COLUMN for_handover boolean NOT NULL DEFAULT false;

-- The room's reply to a rejection: the services of the case's handovers read it.
ALTER TABLE handovers
    ADD COLUMN reply text CHECK (reply IS NULL OR length(reply) BETWEEN 1 AND 2000),
    ADD COLUMN replied_at timestamptz,
    ADD COLUMN replied_by bigint REFERENCES users (id);

-- Every correction of the competence, who made it, when and why (append-only, as the log).
CREATE TABLE competence_corrections (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    field text NOT NULL CHECK (field IN ('residence', 'zone')),
    previous text,                                -- municipality code or zone id before
    value text NOT NULL,                          -- municipality code or zone id after
    zone_before text NOT NULL REFERENCES zones (id),
    zone_after text NOT NULL REFERENCES zones (id),
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    by_user bigint REFERENCES users (id),
    by_name text NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX competence_corrections_case_idx ON competence_corrections (case_id, id);

CREATE TRIGGER competence_corrections_append_only BEFORE UPDATE OR DELETE
    ON competence_corrections FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
CREATE TRIGGER competence_corrections_no_truncate BEFORE TRUNCATE ON competence_corrections
    FOR EACH STATEMENT EXECUTE FUNCTION audit_is_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON competence_corrections FROM PUBLIC;

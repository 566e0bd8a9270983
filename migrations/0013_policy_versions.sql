-- Every change of an SLA policy, kept: who, when, the policy before and after (as the API
-- shows it, `PolicyOut` as JSON). A restore is a change too, naming the version it brought
-- back. The first change of a milestone with no history first records the policy it found
-- (`before` NULL: the values in force until then). Append-only, as the audit trail.
CREATE TABLE sla_policy_versions (
    id bigserial PRIMARY KEY,
    milestone text NOT NULL REFERENCES sla_policies (milestone),
    before jsonb,
    after jsonb NOT NULL,
    changed_at timestamptz NOT NULL,
    changed_by bigint REFERENCES users (id),
    changed_by_name text,          -- the name shown at the time (users may be renamed later)
    restored_from bigint REFERENCES sla_policy_versions (id)
);
CREATE INDEX sla_policy_versions_milestone_idx ON sla_policy_versions (milestone, id);

CREATE TRIGGER sla_policy_versions_append_only BEFORE UPDATE OR DELETE ON sla_policy_versions
    FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
CREATE TRIGGER sla_policy_versions_no_truncate BEFORE TRUNCATE ON sla_policy_versions
    FOR EACH STATEMENT EXECUTE FUNCTION audit_is_append_only();

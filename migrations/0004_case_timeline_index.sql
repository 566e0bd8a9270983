-- The case timeline reads the events that name a case in their payload (docs/cases.md).
CREATE INDEX events_case_idx ON events ((payload ->> 'case_id'));

-- Idempotency keys are purged after a week (console/scheduler.py).
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- SLA clocks: editable policies, the clocks themselves, escalations, shift notes.

-- One policy per milestone: the calendar it counts in, warnings, and the workflow moments
-- (dispatch.sla.Trigger values) that start, pause, resume, stop and cancel its clock.
-- Seeded at start-up from dispatch.clocks.default_policies() without overwriting edits.
CREATE TABLE sla_policies (
    milestone text PRIMARY KEY CHECK (milestone IN ('referral_claimed', 'assessment_decided',
        'unit_on_scene', 'handover_sent', 'handover_accepted', 'unit_check_in')),
    calendar text NOT NULL CHECK (calendar IN ('24x7', 'working_days')),
    opens time NOT NULL DEFAULT '09:00',
    closes time NOT NULL DEFAULT '17:00',
    extra_holidays date[] NOT NULL DEFAULT '{}',
    warnings double precision[] NOT NULL DEFAULT '{0.5,0.8}',
    starts_on text[] NOT NULL,
    pauses_on text[] NOT NULL DEFAULT '{}',
    resumes_on text[] NOT NULL DEFAULT '{}',
    stops_on text[] NOT NULL,
    cancels_on text[] NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL,
    updated_by bigint REFERENCES users (id),
    CHECK (opens < closes)
);

-- The target per milestone and urgency: seconds counted on the calendar, or the end of the
-- n-th next working day.
CREATE TABLE sla_targets (
    milestone text NOT NULL REFERENCES sla_policies (milestone) ON DELETE CASCADE,
    urgency text NOT NULL CHECK (urgency IN ('rosso', 'giallo', 'verde')),
    seconds integer CHECK (seconds > 0),
    working_days integer CHECK (working_days BETWEEN 1 AND 30),
    CHECK ((seconds IS NULL) <> (working_days IS NULL)),
    PRIMARY KEY (milestone, urgency)
);

-- A clock: its state is data; the deadline and the next due instant are computed by
-- dispatch.clocks and stored so the scheduler can find what is due with an index.
CREATE TABLE clocks (
    id bigserial PRIMARY KEY,
    milestone text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('referral', 'case', 'assignment')),
    subject_id bigint NOT NULL,                   -- the referral, case or assignment measured
    referral_id bigint REFERENCES referrals (id),
    case_id bigint REFERENCES cases (id),
    assignment_id bigint REFERENCES assignments (id),
    unit_id bigint REFERENCES units (id),
    case_number text NOT NULL,
    zone_id text NOT NULL REFERENCES zones (id),
    urgency text NOT NULL CHECK (urgency IN ('rosso', 'giallo', 'verde')),
    state text NOT NULL CHECK (state IN ('running', 'paused', 'met', 'breached', 'cancelled')),
    budget interval NOT NULL,
    counted interval NOT NULL,
    running_since timestamptz,
    warnings double precision[] NOT NULL,
    warned integer NOT NULL DEFAULT 0,
    breached_at timestamptz,                      -- the real instant the budget ran out
    calendar jsonb NOT NULL,                      -- the policy's calendar when it started
    started_at timestamptz NOT NULL,
    ended_at timestamptz,
    deadline timestamptz,                         -- NULL unless running
    due_at timestamptz,                           -- next warning or breach; NULL unless running
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX clocks_one_open ON clocks (milestone, subject_id)
    WHERE state IN ('running', 'paused', 'breached');
CREATE INDEX clocks_due_idx ON clocks (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX clocks_referral_idx ON clocks (referral_id);
CREATE INDEX clocks_case_idx ON clocks (case_id);
CREATE INDEX clocks_started_idx ON clocks (started_at);

-- A breach escalates to the supervisors on shift; it stays until one acknowledges it.
-- Only clock_id is a foreign key: the firing transaction holds that clock's row, while a key
-- check on the referral or case would wait for an action holding it FOR UPDATE, and that
-- action may be waiting for the clock: a deadlock. The ids are copied from the clock.
CREATE TABLE escalations (
    id bigserial PRIMARY KEY,
    clock_id bigint NOT NULL UNIQUE REFERENCES clocks (id),  -- a clock breaches once
    milestone text NOT NULL,
    referral_id bigint,
    case_id bigint,
    unit_id bigint,
    case_number text NOT NULL,
    zone_id text NOT NULL,
    urgency text NOT NULL,
    due_at timestamptz NOT NULL,                  -- when the breach came due
    raised_at timestamptz NOT NULL,               -- when it fired (later after a restart)
    acknowledged_at timestamptz,
    acknowledged_by bigint REFERENCES users (id),
    note text
);
CREATE INDEX escalations_open_idx ON escalations (due_at) WHERE acknowledged_at IS NULL;

-- Shift notes (consegne): the outgoing shift to the incoming one.
CREATE TABLE shift_notes (
    id bigserial PRIMARY KEY,
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 8000),
    author_id bigint NOT NULL REFERENCES users (id),
    written_at timestamptz NOT NULL,
    acknowledged_at timestamptz,
    acknowledged_by bigint REFERENCES users (id)
);
CREATE INDEX shift_notes_written_idx ON shift_notes (written_at DESC);

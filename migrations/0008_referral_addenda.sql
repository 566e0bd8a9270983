-- A referrer adds to its referral after sending it, or withdraws it with a reason.

ALTER TABLE referrals DROP CONSTRAINT referrals_status_check;
ALTER TABLE referrals ADD CONSTRAINT referrals_status_check CHECK (status IN
    ('received', 'in_assessment', 'activated', 'not_pertinent', 'redirected', 'merged',
     'withdrawn'));
ALTER TABLE referrals ADD COLUMN withdrawn_at timestamptz;
ALTER TABLE referrals ADD COLUMN withdrawal_reason text;

-- What the referrer added later, as sent (free text, always rendered escaped).
CREATE TABLE referral_addenda (
    id bigserial PRIMARY KEY,
    referral_id bigint NOT NULL REFERENCES referrals (id),
    body text NOT NULL,
    author_id bigint REFERENCES users (id),  -- the referrer's web user; NULL through the API key
    author_name text NOT NULL,
    added_at timestamptz NOT NULL
);
CREATE INDEX referral_addenda_referral_idx ON referral_addenda (referral_id, id);

-- A withdrawal cancels the referral's clocks (dispatch.clocks.DEFAULT_RULES): policies seeded
-- before this migration learn the new moment; edited policies keep everything else.
UPDATE sla_policies SET cancels_on = array_append(cancels_on, 'referral_withdrawn')
    WHERE milestone IN ('referral_claimed', 'assessment_decided')
    AND NOT ('referral_withdrawn' = ANY (cancels_on));

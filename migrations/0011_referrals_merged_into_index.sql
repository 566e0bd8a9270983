-- The referrers' progress hook (intake `tell_referrers`, run by every action that touches a
-- referral) looks for the referrals merged into the ones it tells about: without this index
-- a scan of every referral, slower every day (a year of demo history: 8 s of its 100 s of
-- database time).
CREATE INDEX referrals_merged_into_idx ON referrals (merged_into) WHERE merged_into IS NOT NULL;

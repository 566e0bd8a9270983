-- A referral's point checked against the municipalities' boundaries at intake
-- (console/lib/geo.py, dispatch/places.py): where the point falls, and the warnings the room
-- and the referrer were given (a point outside Tuscany or outside the stated municipality is
-- kept, with a warning, never refused).

-- The municipality the point lies in; NULL when the referral has no point or the point lies
-- outside Tuscany.
ALTER TABLE referrals ADD COLUMN point_municipality_code text
    REFERENCES municipalities (istat_code);

-- [{field, type, message, message_it}], as the API answered them (types: outside_tuscany,
-- outside_municipality); empty when the point agrees with the place, or there is no point.
ALTER TABLE referrals ADD COLUMN place_warnings jsonb NOT NULL DEFAULT '[]'
    CHECK (jsonb_typeof(place_warnings) = 'array');

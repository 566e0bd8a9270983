-- What a referrer added later (referral_addenda) is searched with the description. Callers
-- outside the room (a referrer, a territorial service, a unit) search a second document of
-- each referral that holds only what was sent in: the number, the referrer's reference, the
-- place, the description and the addenda; never the room's decision or its notes, so that no
-- word of those can be probed by whether a search finds something.

ALTER TABLE search_documents ADD COLUMN shared tsvector NOT NULL DEFAULT ''::tsvector;
CREATE INDEX search_documents_shared_idx ON search_documents USING gin (shared);
-- The referral's reception time (it never changes), so that the room's unfiltered search ranks
-- and orders thousands of matches without reading each one's referral.
ALTER TABLE search_documents ADD COLUMN received_at timestamptz;

CREATE OR REPLACE FUNCTION seus_search_refresh(target bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    doc record;
    head text;
    place text;
    sent text;
    body text;
BEGIN
    SELECT r.case_number, r.referrer_reference, r.address, r.description, r.decision_reason,
           r.received_at, m.name AS municipality,
           (SELECT string_agg(a.body, ' ' ORDER BY a.id)
              FROM referral_addenda a WHERE a.referral_id = r.id) AS addenda,
           (SELECT string_agg(n.body, ' ' ORDER BY n.id)
              FROM notes n JOIN cases c ON c.id = n.case_id
             WHERE c.referral_id = r.id) AS notes
      INTO doc
      FROM referrals r JOIN municipalities m ON m.istat_code = r.municipality_code
     WHERE r.id = target;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    head := concat_ws(' ', doc.case_number, doc.referrer_reference);
    place := concat_ws(' ', doc.address, doc.municipality);
    sent := concat_ws(' ', doc.description, doc.addenda);
    body := concat_ws(' ', sent, doc.decision_reason, doc.notes);
    INSERT INTO search_documents (referral_id, received_at, document, shared)
    VALUES (target, doc.received_at,
            setweight(to_tsvector('seus_it', head), 'A')
            || setweight(to_tsvector('seus_it', place), 'B')
            || setweight(to_tsvector('seus_it', body), 'C'),
            setweight(to_tsvector('seus_it', head), 'A')
            || setweight(to_tsvector('seus_it', place), 'B')
            || setweight(to_tsvector('seus_it', sent), 'C'))
    ON CONFLICT (referral_id) DO UPDATE
        SET document = excluded.document, shared = excluded.shared;
    -- In word order, so that two writers adding the same new words never wait on each other
    -- in opposite orders.
    INSERT INTO search_words (word)
    SELECT DISTINCT word
      FROM regexp_split_to_table(lower(seus_unaccent(concat_ws(' ', place, body))),
                                 '[^[:alnum:]]+') AS word
     WHERE length(word) BETWEEN 3 AND 40 AND word !~ '^[0-9]+$'
     ORDER BY word
    ON CONFLICT (word) DO NOTHING;
END;
$$;

CREATE FUNCTION seus_search_addendum_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM seus_search_refresh(NEW.referral_id);
    RETURN NULL;
END;
$$;

CREATE TRIGGER referral_addenda_search
    AFTER INSERT ON referral_addenda FOR EACH ROW EXECUTE FUNCTION seus_search_addendum_added();

SELECT seus_search_refresh(id) FROM referrals;
ALTER TABLE search_documents ALTER COLUMN received_at SET NOT NULL;

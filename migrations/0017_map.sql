-- The live map (/mappa, docs/map.md): where a resource of the basket is, and each account's
-- preferences (the map's layers, remembered server side).

-- A resource's point, both or neither. Protected housing (a women's shelter, "indirizzo
-- riservato") is never drawn nor answered by the map, whatever its point.
ALTER TABLE resources
    ADD COLUMN lat double precision CHECK (lat BETWEEN -90 AND 90),
    ADD COLUMN lon double precision CHECK (lon BETWEEN -180 AND 180),
    ADD CONSTRAINT resources_point_whole CHECK ((lat IS NULL) = (lon IS NULL));

-- One value per account and preference name (e.g. 'map-layers': the layers shown).
CREATE TABLE account_preferences (
    account_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9-]{0,39}$'),
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, name)
);

-- 0012_areas: an agency's precincts in a tree of named areas.
--
-- Forces of the region organise precincts under districts and regions
-- (Costa Rica: Direcciones Regionales above the delegaciones cantonales;
-- Honduras: departmental units above distritos policiales). An area has a
-- level label of the agency's own and at most one parent of the same
-- agency; a precinct is listed in at most one area (precincts.area_id),
-- and an area holds the precincts listed in it and in its descendants.
-- Area codes are unique across agencies, as precinct codes are.

CREATE TABLE areas (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    agency_id   integer NOT NULL REFERENCES agencies (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    level       text NOT NULL CHECK (length(level) BETWEEN 1 AND 64),
    parent_id   integer,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agency_id, id),
    -- The parent is an area of the same agency.
    FOREIGN KEY (agency_id, parent_id) REFERENCES areas (agency_id, id)
);

-- A precinct is listed in an area of its own agency, or in none.
ALTER TABLE precincts ADD CONSTRAINT precincts_agency_id_id_key UNIQUE (agency_id, id);
ALTER TABLE precincts ADD COLUMN area_id integer;
ALTER TABLE precincts ADD CONSTRAINT precincts_area_fkey
    FOREIGN KEY (agency_id, area_id) REFERENCES areas (agency_id, id);
CREATE INDEX precincts_area_idx ON precincts (area_id);

-- No area is its own ancestor, whoever writes (compstatd checks first, for
-- a message naming the field; this holds for writes by hand too).
CREATE FUNCTION areas_no_cycle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NOT NULL AND EXISTS (
        WITH RECURSIVE up (id) AS (
            SELECT NEW.parent_id
            UNION
            SELECT a.parent_id FROM areas a JOIN up ON a.id = up.id
            WHERE a.parent_id IS NOT NULL)
        SELECT 1 FROM up WHERE id = NEW.id) THEN
        RAISE EXCEPTION 'area % would be its own ancestor', NEW.code
            USING ERRCODE = 'check_violation', CONSTRAINT = 'areas_no_cycle';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER areas_no_cycle BEFORE INSERT OR UPDATE OF parent_id ON areas
    FOR EACH ROW EXECUTE FUNCTION areas_no_cycle();

-- A token may be limited to areas: it sees the precincts below them as the
-- areas are at each request (with precincts too: either's).
ALTER TABLE api_tokens ADD COLUMN areas text[];

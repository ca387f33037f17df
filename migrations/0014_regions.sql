-- 0014_regions: regions of agencies, what each agency shares with a region,
-- region readers, and programs of precincts across agencies.
--
-- A region (the forces of Central America sharing through one database) is
-- created by the installation's operator (compstat-admin region create). An
-- agency's admin decides what the agency shares with it: a sharing
-- agreement, at most one per (region, agency), deleted to revoke. A region
-- reader is a token of a region, not of an agency (role analyst): it reads
-- what the agreements share, and nothing else.
--
-- A program (the model-precinct program) is a region's named set of
-- precincts from several agencies; each agency's admin enrols its own
-- precincts in it.

CREATE TABLE regions (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sharing_agreements (
    region_id             integer NOT NULL REFERENCES regions (id),
    agency_id             integer NOT NULL REFERENCES agencies (id),
    level                 text NOT NULL CHECK (level IN ('counts', 'incidents')),
    -- The offenses shared: ICCS code prefixes, or the agency's category
    -- names, or (both NULL) every offense.
    iccs                  text[],
    categories            text[],
    location_precision_m  integer NOT NULL CHECK (location_precision_m BETWEEN 1 AND 100000),
    address               boolean NOT NULL DEFAULT false,
    updated_at            timestamptz NOT NULL DEFAULT now(),
    updated_by            integer REFERENCES api_tokens (id),
    PRIMARY KEY (region_id, agency_id),
    CHECK (iccs IS NULL OR categories IS NULL)
);
CREATE INDEX sharing_agreements_agency_idx ON sharing_agreements (agency_id);

-- Tokens: of one agency, or of one region (role analyst, region readers).
ALTER TABLE api_tokens ADD COLUMN region_id integer REFERENCES regions (id);
ALTER TABLE api_tokens ALTER COLUMN agency_id DROP NOT NULL;
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('dispatch', 'commander', 'supervisor', 'admin', 'analyst'));
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_owner_check
    CHECK ((agency_id IS NOT NULL AND region_id IS NULL AND role <> 'analyst')
        OR (agency_id IS NULL AND region_id IS NOT NULL AND role = 'analyst'));

CREATE TABLE programs (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    region_id   integer NOT NULL REFERENCES regions (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE program_precincts (
    program_id   integer NOT NULL REFERENCES programs (id),
    precinct_id  integer NOT NULL REFERENCES precincts (id),
    PRIMARY KEY (program_id, precinct_id)
);

-- Read records name the agencies whose data they returned (detail ->
-- 'agencies', and detail ->> 'region' for a region reader), so that an
-- agency can list who read its data.
CREATE INDEX audit_log_agencies_idx ON audit_log USING gin ((detail -> 'agencies'));

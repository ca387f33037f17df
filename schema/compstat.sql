-- compstatd schema: the current schema as one readable file.
--
-- This file equals the result of applying every file in migrations/ in
-- order (tests/integration/test_schema.py checks it with pg_dump). Read it
-- to learn the data model; change the schema by adding a migration and
-- updating this file in the same commit.

CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE agencies (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$'),
    name        text NOT NULL,
    time_zone   text NOT NULL DEFAULT 'UTC',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    mfa_required boolean NOT NULL DEFAULT false, -- 0017: every user needs a second factor
    language    text CHECK (language IN ('es', 'en')), -- 0018: its people's default language
    words       jsonb NOT NULL DEFAULT '{}'       -- 0018: its names of its levels
                CHECK (jsonb_typeof(words) = 'object')
);

CREATE TABLE precincts (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    agency_id   integer NOT NULL REFERENCES agencies (id),
    name        text NOT NULL,
    population  bigint CHECK (population >= 0),
    boundary    geometry(MultiPolygon, 4326) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    area_id     integer, -- 0012: the area that lists it (constraints below, with areas)
    UNIQUE (agency_id, id)
);
CREATE INDEX precincts_agency_idx ON precincts (agency_id);
CREATE INDEX precincts_boundary_gist ON precincts USING gist (boundary);

-- 0010: the ICCS code list (tools/iccs-sql's output, from data/iccs/iccs.csv).
CREATE TABLE iccs_codes (
    code     text PRIMARY KEY CHECK (code ~ '^[0-9]{2}([0-9]{2}([0-9]{1,2})?)?$'),
    level    smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    parent   text REFERENCES iccs_codes (code),
    name_en  text NOT NULL,
    name_es  text, -- NULL: no published Spanish name found (data/iccs/PROVENANCE.md)
    CHECK (length(code) = (ARRAY[2, 4, 5, 6])[level]),
    CHECK ((level = 1) = (parent IS NULL)),
    CHECK (parent IS NULL OR left(code, length(parent)) = parent)
);

INSERT INTO iccs_codes (code, level, parent, name_en, name_es) VALUES
    ('01', 1, NULL, 'Acts leading to death or intending to cause death', 'Actos que causan la muerte o que tienen la intención de causar la muerte'),
    ('0101', 2, '01', 'Intentional homicide', 'Homicidio intencional'),
    ('0102', 2, '01', 'Attempted intentional homicide', 'Tentativa de homicidio intencional'),
    ('0103', 2, '01', 'Non-intentional homicide', 'Homicidio no intencional'),
    ('01031', 3, '0103', 'Non-negligent manslaughter', NULL),
    ('01032', 3, '0103', 'Negligent manslaughter', NULL),
    ('010321', 4, '01032', 'Vehicular homicide', NULL),
    ('010322', 4, '01032', 'Non-vehicular homicide', NULL),
    ('0104', 2, '01', 'Assisting or instigating suicide', 'Suicidio asistido o incitación al suicidio'),
    ('01041', 3, '0104', 'Assisting suicide', NULL),
    ('01049', 3, '0104', 'Other acts of assisting or instigating suicide', NULL),
    ('0105', 2, '01', 'Euthanasia', 'Eutanasia'),
    ('0106', 2, '01', 'Illegal feticide', 'Feticidio ilegal'),
    ('0107', 2, '01', 'Unlawful killing associated with armed conflict', 'Homicidio ilícito relacionado con conflictos armados'),
    ('0109', 2, '01', 'Other acts leading to death or intending to cause death', 'Otros actos que causan la muerte o que tienen la intención de causar la muerte'),
    ('02', 1, NULL, 'Acts causing harm or intending to cause harm to the person', 'Actos que causan daños o que tienen la intención de causar daños a las personas'),
    ('0201', 2, '02', 'Assaults and threats', NULL),
    ('02011', 3, '0201', 'Assault', NULL),
    ('020111', 4, '02011', 'Serious assault', NULL),
    ('0202', 2, '02', 'Acts against liberty', NULL),
    ('02022', 3, '0202', 'Deprivation of liberty', NULL),
    ('020221', 4, '02022', 'Kidnapping', NULL),
    ('0204', 2, '02', 'Trafficking in persons', NULL),
    ('02041', 3, '0204', 'Trafficking in persons for sexual exploitation', NULL),
    ('02042', 3, '0204', 'Trafficking in persons for forced labour or services', NULL),
    ('03', 1, NULL, 'Injurious acts of a sexual nature', 'Actos lesivos de naturaleza sexual'),
    ('0301', 2, '03', 'Sexual violence', NULL),
    ('03011', 3, '0301', 'Rape', NULL),
    ('03012', 3, '0301', 'Sexual assault', NULL),
    ('03019', 3, '0301', 'Other acts of sexual violence', NULL),
    ('0302', 2, '03', 'Sexual exploitation', NULL),
    ('03022', 3, '0302', 'Sexual exploitation of children', NULL),
    ('030221', 4, '03022', 'Child pornography', NULL),
    ('04', 1, NULL, 'Acts against property involving violence or threat against a person', 'Actos contra la propiedad que entrañan violencia o amenaza de violencia contra las personas'),
    ('0401', 2, '04', 'Robbery', NULL),
    ('05', 1, NULL, 'Acts against property only', 'Actos contra la propiedad solamente'),
    ('0501', 2, '05', 'Burglary', NULL),
    ('05012', 3, '0501', 'Burglary of private residential premises', NULL),
    ('0502', 2, '05', 'Theft', NULL),
    ('05021', 3, '0502', 'Theft of a motorized vehicle or parts thereof', NULL),
    ('050211', 4, '05021', 'Theft of a motorized land vehicle', NULL),
    ('06', 1, NULL, 'Acts involving controlled psychoactive substances or other drugs', 'Actos que conllevan el uso de sustancias psicoactivas u otras drogas'),
    ('0601', 2, '06', 'Unlawful acts involving controlled drugs or precursors', NULL),
    ('07', 1, NULL, 'Acts involving fraud, deception or corruption', 'Actos que conllevan fraude, engaño o corrupción'),
    ('0701', 2, '07', 'Fraud', NULL),
    ('0703', 2, '07', 'Corruption', NULL),
    ('07031', 3, '0703', 'Bribery', NULL),
    ('08', 1, NULL, 'Acts against public order, authority and provisions of the State', 'Actos contra el orden público, la autoridad y las disposiciones del Estado'),
    ('09', 1, NULL, 'Acts against public safety and state security', 'Actos contra la seguridad pública y la seguridad del Estado'),
    ('0903', 2, '09', 'Acts against computer systems', NULL),
    ('10', 1, NULL, 'Acts against the natural environment', 'Actos contra el entorno natural'),
    ('1001', 2, '10', 'Acts that cause environmental pollution or degradation', NULL),
    ('1002', 2, '10', 'Acts involving the movement or dumping of waste', NULL),
    ('1003', 2, '10', 'Trade or possession of protected or prohibited species of fauna and flora', NULL),
    ('1004', 2, '10', 'Acts that result in the depletion or degradation of natural resources', NULL),
    ('11', 1, NULL, 'Other criminal acts not elsewhere classified', 'Otros actos delictivos no clasificados en otra parte');

-- A precinct's population year by year (0011); precincts.population is the
-- figure for a precinct with no year at all.
CREATE TABLE precinct_populations (
    precinct_id integer NOT NULL REFERENCES precincts (id) ON DELETE CASCADE,
    year        integer NOT NULL CHECK (year BETWEEN 1900 AND 2199),
    population  bigint NOT NULL CHECK (population >= 0),
    PRIMARY KEY (precinct_id, year)
);

CREATE TABLE offenses (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency_id   integer NOT NULL REFERENCES agencies (id),
    code        text NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
    name        text NOT NULL,
    category    text NOT NULL CHECK (category ~ '^[a-z0-9_]{1,64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    crime       boolean NOT NULL DEFAULT true, -- 0009: false for calls that are not crimes
    iccs        text REFERENCES iccs_codes (code), -- 0010: NULL when not classified
    UNIQUE (agency_id, code)
);

CREATE TYPE incident_status AS ENUM
    ('open', 'dispatched', 'en_route', 'on_scene', 'cleared', 'unfounded', 'cancelled');

-- One row per incident; (agency, source, external_id) is its identity (0005). version
-- counts committed changes (1 on insert), which PATCH uses for optimistic
-- concurrency. counted_at is the cube's counting time.
CREATE TABLE incidents (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        text NOT NULL CHECK (length(source) BETWEEN 1 AND 128),
    external_id   text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 128),
    agency_id     integer NOT NULL REFERENCES agencies (id),
    precinct_id   integer REFERENCES precincts (id),
    offense_id    integer NOT NULL REFERENCES offenses (id),
    priority      smallint CHECK (priority BETWEEN 0 AND 9),
    status        incident_status NOT NULL DEFAULT 'open',
    geom          geometry(Point, 4326),
    address       text CHECK (length(address) <= 500),
    occurred_at   timestamptz,
    received_at   timestamptz,
    dispatched_at timestamptz,
    en_route_at   timestamptz,
    on_scene_at   timestamptz,
    cleared_at    timestamptz,
    units         text[] NOT NULL DEFAULT '{}',
    counted_at    timestamptz GENERATED ALWAYS AS (COALESCE(occurred_at, received_at)) STORED,
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    self_initiated boolean NOT NULL DEFAULT false, -- 0009: an officer started the call
    -- 0013: true exactly when the incident has neither a point nor a
    -- precinct (its place is not known: "precinct": null, no location).
    unplaced      boolean NOT NULL DEFAULT false,
    CONSTRAINT incidents_identity UNIQUE (agency_id, source, external_id),
    CONSTRAINT incidents_time_required CHECK (occurred_at IS NOT NULL OR received_at IS NOT NULL),
    CONSTRAINT incidents_place_required CHECK (unplaced = (geom IS NULL AND precinct_id IS NULL)),
    -- Lifecycle times never go backwards (GREATEST ignores NULLs, and a
    -- CHECK that yields NULL passes, so absent times are skipped).
    CONSTRAINT incidents_dispatched_at_order CHECK (dispatched_at >= received_at),
    CONSTRAINT incidents_en_route_at_order
        CHECK (en_route_at >= GREATEST(received_at, dispatched_at)),
    CONSTRAINT incidents_on_scene_at_order
        CHECK (on_scene_at >= GREATEST(received_at, dispatched_at, en_route_at)),
    CONSTRAINT incidents_cleared_at_order
        CHECK (cleared_at >= GREATEST(received_at, dispatched_at, en_route_at, on_scene_at))
);
CREATE INDEX incidents_agency_counted_idx ON incidents (agency_id, counted_at DESC, id DESC);
CREATE INDEX incidents_precinct_counted_idx ON incidents (precinct_id, counted_at);
CREATE INDEX incidents_received_idx ON incidents (agency_id, received_at);
CREATE INDEX incidents_geom_gist ON incidents USING gist (geom);

-- Human resources (issue: response times and human resources builds on these).
CREATE TABLE units (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency_id   integer NOT NULL REFERENCES agencies (id),
    callsign    text NOT NULL CHECK (length(callsign) BETWEEN 1 AND 32),
    precinct_id integer REFERENCES precincts (id),
    type        text,
    status      text,       -- NULL: derived from the incidents on the unit board
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agency_id, callsign),
    CONSTRAINT units_status_set CHECK (status IS NULL OR status = 'out_of_service'),
    CONSTRAINT units_type_length CHECK (length(type) <= 64)
);

CREATE TABLE officers (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency_id   integer NOT NULL REFERENCES agencies (id),
    badge       text NOT NULL,
    name        text NOT NULL,
    rank        text,
    precinct_id integer REFERENCES precincts (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agency_id, badge),
    CONSTRAINT officers_badge_length CHECK (length(badge) BETWEEN 1 AND 32),
    CONSTRAINT officers_name_length CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT officers_rank_length CHECK (length(rank) <= 64)
);

-- A tour of duty in local time, e.g. 00:00-08:00.
CREATE TABLE shifts (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency_id   integer NOT NULL REFERENCES agencies (id),
    code        text NOT NULL,
    starts      time NOT NULL,
    ends        time NOT NULL,  -- = starts: 24 hours; < starts: crosses midnight
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agency_id, code),
    CONSTRAINT shifts_code_format CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$'),
    -- Quarter hours of local time: the response-time cube counts in quarter hours.
    CONSTRAINT shifts_quarter_hours CHECK (
        date_part('second', starts) = 0 AND date_part('minute', starts)::int % 15 = 0 AND
        date_part('second', ends) = 0 AND date_part('minute', ends)::int % 15 = 0)
);

-- Who is on which unit in which tour on which day.
CREATE TABLE shift_assignments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shift_id    integer NOT NULL REFERENCES shifts (id),
    day         date NOT NULL,
    officer_id  integer NOT NULL REFERENCES officers (id),
    unit_id     integer REFERENCES units (id),
    UNIQUE (shift_id, day, officer_id)
);
CREATE INDEX shift_assignments_day_idx ON shift_assignments (day, shift_id);

-- 0014: regions of agencies (the forces sharing through one database),
-- created by the operator (compstat-admin region create).
CREATE TABLE regions (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- API tokens: only the SHA-256 of the token is stored. A token is of one
-- agency, or (0014) of one region: a region reader, role analyst.
CREATE TABLE api_tokens (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    role        text NOT NULL,
    agency_id   integer REFERENCES agencies (id),
    precincts   text[],          -- NULL (and areas NULL): every precinct of the agency
    label       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    areas       text[],          -- 0012: and the precincts below these areas
    region_id   integer REFERENCES regions (id),
    CONSTRAINT api_tokens_role_check
        CHECK (role IN ('dispatch', 'commander', 'supervisor', 'admin', 'analyst')),
    CONSTRAINT api_tokens_owner_check
        CHECK ((agency_id IS NOT NULL AND region_id IS NULL AND role <> 'analyst')
            OR (agency_id IS NULL AND region_id IS NOT NULL AND role = 'analyst'))
);

-- Append-only audit log of reads and writes of incident data.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    token_id    integer REFERENCES api_tokens (id),
    request_id  text,
    action      text NOT NULL,
    target      text,
    detail      jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- What a cube snapshot is checked against (server/snapshot.h): statements
-- that changed incidents outside compstatd (whose writer session sets
-- compstat.writer = on) take a number from one of two sequences (never a
-- wait between concurrent writers); `instance` tells this database from a
-- copy restored elsewhere.
CREATE TABLE cube_state (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    instance uuid    NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO cube_state DEFAULT VALUES;

CREATE SEQUENCE cube_outside_inserts;
CREATE SEQUENCE cube_outside_changes;

-- SECURITY DEFINER: a role that may write incidents need not be granted the
-- sequences too.
CREATE FUNCTION cube_state_outside() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF coalesce(current_setting('compstat.writer', true), '') <> 'on' THEN
        IF TG_OP = 'INSERT' THEN
            PERFORM nextval('cube_outside_inserts');
        ELSE
            PERFORM nextval('cube_outside_changes');
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER incidents_inserted_outside AFTER INSERT ON incidents
    FOR EACH STATEMENT EXECUTE FUNCTION cube_state_outside();
CREATE TRIGGER incidents_changed_outside AFTER UPDATE OR DELETE OR TRUNCATE ON incidents
    FOR EACH STATEMENT EXECUTE FUNCTION cube_state_outside();

-- What keeps a snapshot exact while compstatd runs, so a restart after a
-- crash restores it too: the generation of the newest snapshot, and the
-- first old row of each incident updated in each generation
-- (migrations/0004_cube_dirty.sql explains).
CREATE SEQUENCE cube_generation;

CREATE TABLE cube_dirty (
    generation    bigint NOT NULL,
    id            bigint NOT NULL,
    agency_id     integer NOT NULL,
    precinct_id   integer,
    offense_id    integer NOT NULL,
    priority      smallint,
    status        incident_status NOT NULL,
    geom          geometry(Point, 4326),
    counted_at    timestamptz,
    received_at   timestamptz,
    dispatched_at timestamptz,
    en_route_at   timestamptz,
    on_scene_at   timestamptz,
    cleared_at    timestamptz,
    units         text[] NOT NULL,
    updated_at    timestamptz NOT NULL,
    self_initiated boolean NOT NULL DEFAULT false, -- 0009
    PRIMARY KEY (generation, id)
);

-- A statement-level trigger with a transition table: one INSERT per
-- statement (the daemon's group commit is one statement), nothing at all
-- for statements that update no row. SECURITY DEFINER: a role that may
-- update incidents need not be granted cube_dirty too.
CREATE FUNCTION cube_dirty_record() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF coalesce(current_setting('compstat.dirty', true), '') <> 'on' THEN
        RETURN NULL;
    END IF;
    INSERT INTO cube_dirty (generation, id, agency_id, precinct_id, offense_id, priority,
                            status, geom, counted_at, received_at, dispatched_at, en_route_at,
                            on_scene_at, cleared_at, units, updated_at, self_initiated)
    SELECT g.n, o.id, o.agency_id, o.precinct_id, o.offense_id, o.priority, o.status, o.geom,
           o.counted_at, o.received_at, o.dispatched_at, o.en_route_at, o.on_scene_at,
           o.cleared_at, o.units, o.updated_at, o.self_initiated
    FROM old_rows o,
         (SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM cube_generation) g
    ON CONFLICT (generation, id) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER incidents_dirty AFTER UPDATE ON incidents
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cube_dirty_record();

-- 0012: an agency's precincts in a tree of named areas (see the migration).
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

-- 0014: what an agency shares with a region (PUT /v1/sharing/{region}), at
-- most one agreement per (region, agency), deleted to revoke.
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

-- 0014: a region's programs (the model-precinct program): named sets of
-- precincts of several agencies.
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

-- 0017: accounts for people (their principal is an api_tokens row whose
-- secret nobody holds), set-password links, sessions, the second factor.
CREATE TABLE users (
    id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login          text NOT NULL UNIQUE CHECK (login ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$'),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    token_id       integer NOT NULL UNIQUE REFERENCES api_tokens (id),
    password_hash  text,
    password_set_at timestamptz,
    disabled_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    totp_secret    text CHECK (totp_secret ~ '^[A-Z2-7]{32}$'),
    totp_enabled_at timestamptz,
    totp_last_step bigint
);

CREATE TABLE user_links (
    token_hash  text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    user_id     integer NOT NULL REFERENCES users (id),
    purpose     text NOT NULL CHECK (purpose IN ('set_password')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX user_links_user_idx ON user_links (user_id);

CREATE TABLE sessions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    csrf_hash     text NOT NULL CHECK (csrf_hash ~ '^[0-9a-f]{64}$'),
    user_id       integer NOT NULL REFERENCES users (id),
    address       text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    enrol_only    boolean NOT NULL DEFAULT false
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE user_recovery_codes (
    user_id    integer NOT NULL REFERENCES users (id),
    code_hash  text NOT NULL CHECK (code_hash ~ '^[0-9a-f]{64}$'),
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- 0018: an agency's display names of its categories, per language.
CREATE TABLE category_names (
    agency_id   integer NOT NULL REFERENCES agencies (id),
    code        text NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
    names       jsonb NOT NULL CHECK (jsonb_typeof(names) = 'object'),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agency_id, code)
);

-- 0004_cube_dirty: what keeps a cube snapshot exact while compstatd runs,
-- so that a restart after a crash restores it too (server/snapshot.h).
--
-- compstatd writes snapshots while it runs (snapshot_interval). Each one is
-- a generation: before writing it, the daemon's writer takes a number from
-- `cube_generation`, and the snapshot holds every change made before that.
-- From then on, the first update of an incident in each generation records
-- the row as it was (the version the snapshot holds) in `cube_dirty`, in the
-- same statement as the update -- in the daemon's writer session, which sets
-- compstat.dirty = on when it writes snapshots (nothing else needs the rows:
-- changes made outside compstatd make a snapshot stale anyway; a daemon
-- without snapshots deletes them). A start-up after a crash restores the
-- newest snapshot, takes away the recorded old rows (the first of each
-- incident at or after its generation), adds those incidents as they are
-- now, and adds the incidents inserted past its high-water mark. Inserts
-- need no record (their ids are above the mark); deletes and changes made
-- outside compstatd are counted by 0003 and make a snapshot stale. Rows of
-- generations older than the newest snapshot are deleted once it is on
-- disk. Only the columns the cubes are built from are kept.

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
                            on_scene_at, cleared_at, units, updated_at)
    SELECT g.n, o.id, o.agency_id, o.precinct_id, o.offense_id, o.priority, o.status, o.geom,
           o.counted_at, o.received_at, o.dispatched_at, o.en_route_at, o.on_scene_at,
           o.cleared_at, o.units, o.updated_at
    FROM old_rows o,
         (SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM cube_generation) g
    ON CONFLICT (generation, id) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER incidents_dirty AFTER UPDATE ON incidents
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cube_dirty_record();

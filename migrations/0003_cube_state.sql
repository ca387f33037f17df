-- 0003_cube_state: what a cube snapshot is checked against (server/snapshot.h).
--
-- compstatd keeps its cubes in step with `incidents` by applying its own
-- writes. A snapshot written at shutdown is exact for the database as it was
-- then; at start-up it is used only if nothing has changed since, or only
-- new incidents were added (those are replayed). Two sequences count the
-- statements that changed `incidents` outside compstatd: the daemon's writer
-- session sets compstat.writer = on; every other session's statements take
-- a number from `cube_outside_inserts` (INSERT) or `cube_outside_changes`
-- (UPDATE, DELETE, TRUNCATE, and an upsert's UPDATE half). Sequences, not a
-- counter row: concurrent writers never wait on each other for them, and a
-- number taken is visible at once (even before, or without, a commit --
-- which errs on the side of a rebuild). Statement-level triggers: a bulk
-- load costs one number. `cube_state.instance` tells this database from a
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

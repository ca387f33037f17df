-- 0003_cube_state: what a cube snapshot is checked against (server/snapshot.h).
--
-- compstatd keeps its cubes in step with `incidents` by applying its own
-- writes. A snapshot written at shutdown is exact for the database as it was
-- then; at start-up it is used only if nothing has changed since, or only
-- new incidents were added (those are replayed). `cube_state` counts the
-- statements that changed `incidents` outside compstatd: the daemon's writer
-- session sets compstat.writer = on, every other session's statements bump
-- `inserts` (INSERT) or `changes` (UPDATE, DELETE, TRUNCATE, and an upsert's
-- UPDATE half). Statement-level, so a bulk load costs one row update.
-- `instance` tells this database from a copy restored elsewhere.

CREATE TABLE cube_state (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    instance uuid    NOT NULL DEFAULT gen_random_uuid(),
    changes  bigint  NOT NULL DEFAULT 0,
    inserts  bigint  NOT NULL DEFAULT 0
);
INSERT INTO cube_state DEFAULT VALUES;

CREATE FUNCTION cube_state_outside() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('compstat.writer', true), '') <> 'on' THEN
        IF TG_OP = 'INSERT' THEN
            UPDATE cube_state SET inserts = inserts + 1;
        ELSE
            UPDATE cube_state SET changes = changes + 1;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER incidents_inserted_outside AFTER INSERT ON incidents
    FOR EACH STATEMENT EXECUTE FUNCTION cube_state_outside();
CREATE TRIGGER incidents_changed_outside AFTER UPDATE OR DELETE OR TRUNCATE ON incidents
    FOR EACH STATEMENT EXECUTE FUNCTION cube_state_outside();

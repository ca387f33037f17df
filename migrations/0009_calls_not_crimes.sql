-- 0009_calls_not_crimes: calls that are not crimes, and calls no caller made.
--
-- CAD data holds more than crime: traffic accidents, traffic stops,
-- complaints, alarms. An offense (a call type) may be marked crime = false:
-- its calls stay in response times, workload and the unit board, and leave
-- every crime count (the cube, the COMPSTAT sheet, hotspots, trends, rates).
--
-- An officer-initiated call (a traffic stop, an officer flagged down) has no
-- waiting caller: self_initiated = true leaves it out of the queue, travel
-- and response intervals; it keeps on scene, committed time and workload.

ALTER TABLE offenses ADD COLUMN crime boolean NOT NULL DEFAULT true;
ALTER TABLE incidents ADD COLUMN self_initiated boolean NOT NULL DEFAULT false;

-- The old rows a crash restart replays (0004) carry the flag too: the
-- response-time cube is built from it.
ALTER TABLE cube_dirty ADD COLUMN self_initiated boolean NOT NULL DEFAULT false;

CREATE OR REPLACE FUNCTION cube_dirty_record() RETURNS trigger LANGUAGE plpgsql
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

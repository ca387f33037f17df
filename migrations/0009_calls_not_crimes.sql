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

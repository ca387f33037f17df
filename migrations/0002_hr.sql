-- 0002_hr: response times and human resources.
-- The tables of 0001 gain the rules the API enforces, so nothing written
-- around the daemon can break them either.

-- A unit's status column holds only what a person set: NULL means the unit
-- board derives it from the incidents the unit is attached to.
ALTER TABLE units ADD CONSTRAINT units_status_set CHECK (status IS NULL OR status = 'out_of_service');
ALTER TABLE units ADD CONSTRAINT units_type_length CHECK (length(type) <= 64);

ALTER TABLE officers ADD CONSTRAINT officers_badge_length CHECK (length(badge) BETWEEN 1 AND 32);
ALTER TABLE officers ADD CONSTRAINT officers_name_length CHECK (length(name) BETWEEN 1 AND 200);
ALTER TABLE officers ADD CONSTRAINT officers_rank_length CHECK (length(rank) <= 64);

-- Tours start and end on a quarter hour of local time: the response-time
-- cube counts in quarter hours. ends = starts is a 24-hour tour; ends
-- before starts crosses midnight.
ALTER TABLE shifts ADD CONSTRAINT shifts_code_format CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$');
ALTER TABLE shifts ADD CONSTRAINT shifts_quarter_hours CHECK (
    date_part('second', starts) = 0 AND date_part('minute', starts)::int % 15 = 0 AND
    date_part('second', ends) = 0 AND date_part('minute', ends)::int % 15 = 0);
ALTER TABLE shifts ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE shifts ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Rosters are read by day range.
CREATE INDEX shift_assignments_day_idx ON shift_assignments (day, shift_id);

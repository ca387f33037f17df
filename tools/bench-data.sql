-- tools/bench-data.sql -- synthetic incidents for the benchmarks: psql -v off=N
-- -v cnt=M adds incidents N+1 .. N+M (external ids) to agency BENCH of
-- tools/bench-setup.sql: uniformly random over the last ten years, precincts
-- and offenses; 10 % without priority; 5 % unfounded; each inside its
-- precinct's square; lifecycle times (dispatched 3 min after the call, then
-- random gaps: up to 15 min to dispatch, 1 h on the way, 2 h on scene).
-- Repeatable: the same offset gives the same incidents (times relative to today).
SELECT setseed(0.5 - (:off)::float8 / 1e10) AS seeded \gset
SET synchronous_commit = off;
WITH a AS (SELECT id FROM agencies WHERE code = 'BENCH'),
     p AS (SELECT min(id) AS p0 FROM precincts),
     o AS (SELECT min(id) AS o0 FROM offenses),
     r AS (SELECT g, floor(random() * 141)::int AS pi, floor(random() * 50)::int AS oi,
                  now() - random() * interval '3652 days' AS t, random() AS u, random() AS x,
                  random() AS y
           FROM generate_series((:off)::bigint + 1, (:off)::bigint + (:cnt)::bigint) g)
INSERT INTO incidents (source, external_id, agency_id, precinct_id, offense_id, priority, status,
                       geom, occurred_at, received_at, dispatched_at, on_scene_at, cleared_at)
SELECT 'bench', r.g::text, a.id, p.p0 + r.pi, o.o0 + r.oi,
       CASE WHEN r.u < 0.1 THEN NULL ELSE (r.u * 10)::int % 10 END,
       (CASE WHEN r.u > 0.95 THEN 'unfounded' ELSE 'cleared' END)::incident_status,
       ST_SetSRID(ST_MakePoint(-87.9 + (r.pi % 12 + r.x) * 0.025,
                               41.7 + (r.pi / 12 + r.y) * 0.018), 4326),
       date_trunc('minute', r.t), date_trunc('minute', r.t) + interval '3 minutes',
       date_trunc('minute', r.t) + interval '3 minutes' + make_interval(secs => floor(r.x * 900)),
       date_trunc('minute', r.t) + interval '3 minutes'
         + make_interval(secs => floor(r.x * 900) + floor(r.y * r.y * 3600)),
       date_trunc('minute', r.t) + interval '3 minutes'
         + make_interval(secs => floor(r.x * 900) + floor(r.y * r.y * 3600) + floor(r.u * 7200))
FROM r, a, p, o;

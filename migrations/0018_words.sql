-- 0018_words: an agency's language and its own words, and its categories'
-- names in Spanish and English (issue 19).
--
-- language: the dashboard's and the packet's default for the agency's
-- people (a person may pick the other); NULL: none, the browser's decides. words: what the agency calls its
-- levels, per language -- {"precinct": {"es": "Delegación", "en":
-- "Precinct"}, "area_levels": {"provincia": {"es": "Provincia", "en":
-- "Province"}}} (checked by compstatd: server/words.c). A category keeps its
-- code (the API's, stable); category_names gives it display names.
ALTER TABLE agencies ADD COLUMN language text CHECK (language IN ('es', 'en'));
ALTER TABLE agencies ADD COLUMN words jsonb NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(words) = 'object');

CREATE TABLE category_names (
    agency_id   integer NOT NULL REFERENCES agencies (id),
    code        text NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
    names       jsonb NOT NULL CHECK (jsonb_typeof(names) = 'object'),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agency_id, code)
);

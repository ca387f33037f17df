-- 0005_identity_per_agency: an incident's identity is (agency, source,
-- external_id), no longer (source, external_id) across the installation.
--
-- With one identity for the whole installation, an agency that posted
-- ("cad", "24-001") first made every other agency's incident of that
-- identity a 409 -- unstored -- and the 409 told the second agency which
-- identities the first one holds. Each agency's dispatch system numbers its
-- own calls; two agencies may well use the same source name and numbers.
-- The index keeps agency first: every look-up by identity (the upsert's
-- probe, PATCH) is within one agency.

ALTER TABLE incidents DROP CONSTRAINT incidents_identity;
ALTER TABLE incidents ADD CONSTRAINT incidents_identity UNIQUE (agency_id, source, external_id);

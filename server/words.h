/*
 * words.h -- an agency's language, its own words for its levels, its
 * categories' display names (docs/API.md, "Languages and the agency's
 * words"), and its mfa_required, held in memory beside the reference data.
 *
 * Loaded from the agencies and category_names tables when the writer
 * connection opens (words_reload), changed after the database committed a
 * change (words_set_agency, words_set_category). Checking what a client
 * sends is here too, so every route says the same of the same mistake.
 */
#ifndef COMPSTAT_WORDS_H
#define COMPSTAT_WORDS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "db.h"

/* The languages an agency and its people may use. */
#define WORDS_LANGUAGES {"es", "en"}
#define WORDS_NAME_MAX 64 /* bytes of one name */
#define WORDS_LEVELS_MAX 16

/* Load (again) every agency's words and category names through db. */
void words_reload(db_conn *db);

/* The agency's language ("es" or "en"), or NULL: it chose none. */
const char *words_language(int agency_id);

/*
 * Add "language", "words" and "mfa_required" of the agency to o (its JSON:
 * GET /v1/agencies/{code}, /v1/whoami).
 */
void words_agency_json(int agency_id, cJSON *o);

/* The names of the agency's category code as JSON text, or NULL: none given. */
const char *words_category_names(int agency_id, const char *code);

/* After a committed change: the stored values (JSON text; NULL or "" language:
   none; NULL names: removed). */
void words_set_agency(int agency_id, const char *language, const char *words_json,
                      int mfa_required);
void words_set_category(int agency_id, const char *code, const char *names_json);

/*
 * Check a client's value. 0 when it is good; else -1 with the field's
 * path ("words.area_levels.provincia.es") in field and a sentence in why.
 *   words_check_language: "es" or "en".
 *   words_check_names: {"es": "...", "en": "..."}, at least one, 1..64 bytes each.
 *   words_check_words: {"precinct": names?, "area_levels": {level: names}?}.
 * base is the field's name in the request ("names", "words").
 */
int words_check_language(const cJSON *v, const char *base, char *field, size_t fn, char *why,
                         size_t wn);
int words_check_names(const cJSON *v, const char *base, char *field, size_t fn, char *why,
                      size_t wn);
int words_check_words(const cJSON *v, const char *base, char *field, size_t fn, char *why,
                      size_t wn);

/* At exit. */
void words_free(void);

#endif

/*
 * words.c -- an agency's language, words and category names (words.h).
 *
 * A small table by agency id; a category's names are a short list per
 * agency (an agency has tens of categories), kept as the JSON text the
 * routes copy into their answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "log.h"
#include "qs.h"
#include "words.h"

struct catname {
    char *code, *names;
};

struct agency_words {
    char language[3];
    char *words; /* JSON text of an object */
    int mfa_required;
    struct catname *cats;
    int ncats;
};

static struct agency_words *tab;
static int ntab;

static struct agency_words *slot(int agency_id, int create)
{
    if (agency_id <= 0)
        return NULL;
    if (agency_id >= ntab) {
        if (!create)
            return NULL;
        int n = agency_id + 16;
        struct agency_words *t = realloc(tab, (size_t)n * sizeof *t);
        if (t == NULL)
            return NULL;
        memset(t + ntab, 0, (size_t)(n - ntab) * sizeof *t);
        tab = t;
        ntab = n;
    }
    return &tab[agency_id];
}

const char *words_language(int agency_id)
{
    struct agency_words *w = slot(agency_id, 0);
    return w && w->language[0] ? w->language : NULL;
}

void words_agency_json(int agency_id, cJSON *o)
{
    struct agency_words *w = slot(agency_id, 0);
    const char *lang = words_language(agency_id);
    if (lang)
        cJSON_AddStringToObject(o, "language", lang);
    else
        cJSON_AddNullToObject(o, "language");
    cJSON *words = w && w->words ? cJSON_Parse(w->words) : NULL;
    cJSON_AddItemToObject(o, "words", words ? words : cJSON_CreateObject());
    cJSON_AddBoolToObject(o, "mfa_required", w && w->mfa_required);
}

const char *words_category_names(int agency_id, const char *code)
{
    struct agency_words *w = slot(agency_id, 0);
    for (int i = 0; w && i < w->ncats; i++)
        if (strcmp(w->cats[i].code, code) == 0)
            return w->cats[i].names;
    return NULL;
}

void words_set_agency(int agency_id, const char *language, const char *words_json,
                      int mfa_required)
{
    struct agency_words *w = slot(agency_id, 1);
    char *copy = words_json ? strdup(words_json) : NULL;
    if (w == NULL || (words_json && copy == NULL)) {
        free(copy);
        log_error("words", "out of memory keeping agency %d's words", agency_id);
        return;
    }
    snprintf(w->language, sizeof w->language, "%s", language && strlen(language) == 2 ? language
                                                                                       : "");
    free(w->words);
    w->words = copy;
    w->mfa_required = mfa_required;
}

void words_set_category(int agency_id, const char *code, const char *names_json)
{
    struct agency_words *w = slot(agency_id, 1);
    if (w == NULL)
        return;
    int i = 0;
    while (i < w->ncats && strcmp(w->cats[i].code, code) != 0)
        i++;
    if (names_json == NULL) { /* removed */
        if (i < w->ncats) {
            free(w->cats[i].code);
            free(w->cats[i].names);
            w->cats[i] = w->cats[--w->ncats];
        }
        return;
    }
    char *names = strdup(names_json);
    if (names == NULL)
        return;
    if (i < w->ncats) {
        free(w->cats[i].names);
        w->cats[i].names = names;
        return;
    }
    struct catname *c = realloc(w->cats, ((size_t)w->ncats + 1) * sizeof *c);
    char *cc = strdup(code);
    if (c == NULL || cc == NULL) {
        if (c)
            w->cats = c;
        free(cc);
        free(names);
        return;
    }
    w->cats = c;
    w->cats[w->ncats++] = (struct catname){cc, names};
}

static void on_agencies(void *arg, PGresult *res, const char *error)
{
    if (error) {
        log_error("words", "loading the agencies' languages failed: %s", error);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++)
        words_set_agency(atoi(PQgetvalue(res, i, 0)), PQgetvalue(res, i, 1),
                         PQgetvalue(res, i, 2), PQgetvalue(res, i, 3)[0] == 't');
}

static void on_categories(void *arg, PGresult *res, const char *error)
{
    if (error) {
        log_error("words", "loading the categories' names failed: %s", error);
        return;
    }
    for (int id = 1; id < ntab; id++) { /* what is in the table now, only */
        for (int i = 0; i < tab[id].ncats; i++) {
            free(tab[id].cats[i].code);
            free(tab[id].cats[i].names);
        }
        tab[id].ncats = 0;
    }
    for (int i = 0; i < PQntuples(res); i++)
        words_set_category(atoi(PQgetvalue(res, i, 0)), PQgetvalue(res, i, 1),
                           PQgetvalue(res, i, 2));
    log_info("words", "loaded %d category names", PQntuples(res));
}

void words_reload(db_conn *db)
{
    db_query(db, "SELECT id, language, words::text, mfa_required FROM agencies", 0, NULL,
             on_agencies, NULL);
    db_query(db, "SELECT agency_id, code, names::text FROM category_names", 0, NULL,
             on_categories, NULL);
}

void words_free(void)
{
    for (int id = 0; id < ntab; id++) {
        free(tab[id].words);
        for (int i = 0; i < tab[id].ncats; i++) {
            free(tab[id].cats[i].code);
            free(tab[id].cats[i].names);
        }
        free(tab[id].cats);
    }
    free(tab);
    tab = NULL;
    ntab = 0;
}

/* ------------------------------------------------------------ checks */

static int refuse(char *field, size_t fn, char *why, size_t wn, const char *path,
                  const char *sentence)
{
    snprintf(field, fn, "%s", path);
    snprintf(why, wn, "%s: %s", path, sentence);
    return -1;
}

int words_check_language(const cJSON *v, const char *base, char *field, size_t fn, char *why,
                         size_t wn)
{
    static const char *const langs[] = WORDS_LANGUAGES;
    for (size_t i = 0; cJSON_IsString(v) && i < sizeof langs / sizeof *langs; i++)
        if (strcmp(v->valuestring, langs[i]) == 0)
            return 0;
    return refuse(field, fn, why, wn, base, "must be \"es\", \"en\" or null (none: the browser's)");
}

/* 1..WORDS_NAME_MAX bytes of UTF-8 without control characters. */
static int name_ok(const cJSON *v)
{
    if (!cJSON_IsString(v))
        return 0;
    size_t n = strlen(v->valuestring);
    if (n < 1 || n > WORDS_NAME_MAX || !qs_utf8_valid(v->valuestring, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v->valuestring[i] < 0x20 || v->valuestring[i] == 0x7f)
            return 0;
    return 1;
}

int words_check_names(const cJSON *v, const char *base, char *field, size_t fn, char *why,
                      size_t wn)
{
    char path[160];
    if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) == 0)
        return refuse(field, fn, why, wn, base,
                      "must be an object of names by language, e.g. {\"es\": \"Robo\", "
                      "\"en\": \"Robbery\"}");
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        snprintf(path, sizeof path, "%s.%s", base, e->string);
        if (strcmp(e->string, "es") != 0 && strcmp(e->string, "en") != 0)
            return refuse(field, fn, why, wn, path, "the languages are es and en");
        if (!name_ok(e))
            return refuse(field, fn, why, wn, path,
                          "must be a name of 1 to 64 bytes without control characters");
        /* cJSON keeps a key given twice twice: the second would win unseen. */
        for (const cJSON *f = e->next; f; f = f->next)
            if (strcmp(f->string, e->string) == 0)
                return refuse(field, fn, why, wn, path, "given twice");
    }
    return 0;
}

int words_check_words(const cJSON *v, const char *base, char *field, size_t fn, char *why,
                      size_t wn)
{
    char path[160];
    if (!cJSON_IsObject(v))
        return refuse(field, fn, why, wn, base,
                      "must be an object: {\"precinct\": {\"es\", \"en\"}, \"area_levels\": "
                      "{\"LEVEL\": {\"es\", \"en\"}}}");
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        snprintf(path, sizeof path, "%s.%s", base, e->string);
        for (const cJSON *f = e->next; f; f = f->next)
            if (strcmp(f->string, e->string) == 0)
                return refuse(field, fn, why, wn, path, "given twice");
        if (strcmp(e->string, "precinct") == 0) {
            if (words_check_names(e, path, field, fn, why, wn) != 0)
                return -1;
        } else if (strcmp(e->string, "area_levels") == 0) {
            if (!cJSON_IsObject(e) || cJSON_GetArraySize(e) > WORDS_LEVELS_MAX)
                return refuse(field, fn, why, wn, path,
                              "must be an object of at most 16 levels, each {\"es\", \"en\"}");
            const cJSON *l;
            cJSON_ArrayForEach(l, e)
            {
                char lp[200];
                snprintf(lp, sizeof lp, "%s.%s", path, l->string);
                size_t n = strlen(l->string);
                if (n < 1 || n > 64 || !qs_utf8_valid(l->string, n))
                    return refuse(field, fn, why, wn, path, "a level is 1 to 64 bytes");
                if (words_check_names(l, lp, field, fn, why, wn) != 0)
                    return -1;
                for (const cJSON *f = l->next; f; f = f->next)
                    if (strcmp(f->string, l->string) == 0)
                        return refuse(field, fn, why, wn, lp, "given twice");
            }
        } else {
            return refuse(field, fn, why, wn, path,
                          "unknown: the words are precinct and area_levels");
        }
    }
    return 0;
}

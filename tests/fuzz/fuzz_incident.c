/*
 * fuzz_incident.c -- libFuzzer target: JSON bytes -> one value, as the
 * server reads a body (lib/jsonin) -> incident decoder and validator
 * (lib/incident), both modes, then back to JSON and round again.
 * Invariants: no crash, no leak; what json_in_parse takes, cJSON takes to
 * the same tree; and a record that parsed in full mode re-parses from its
 * own JSON to an equal record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "incident.h"
#include "jsonin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_in_error je;
    cJSON *doc = json_in_parse((const char *)data, size, &je);
    if (doc == NULL)
        return 0;
    cJSON *plain = cJSON_ParseWithLength((const char *)data, size);
    if (plain == NULL)
        abort(); /* one exact value is also what cJSON reads first */
    /* The same tree (compared printed: cJSON_Compare fails inf == inf). */
    char *pa = cJSON_PrintUnformatted(doc), *pb = cJSON_PrintUnformatted(plain);
    if (pa && pb && strcmp(pa, pb) != 0)
        abort();
    cJSON_free(pa);
    cJSON_free(pb);
    cJSON_Delete(plain);
    /* The pre-parse count of an array's elements is exact on valid JSON. */
    if (json_in_array_length((const char *)data, size) !=
        (cJSON_IsArray(doc) ? (size_t)cJSON_GetArraySize(doc) : 0))
        abort();
    inc_incident a, b, merged;
    inc_error err;
    if (inc_parse(doc, INC_PARSE_FULL, &a, &err) == 0) {
        cJSON *out = cJSON_CreateObject();
        char *text = out && inc_to_json(&a, out) == 0 ? cJSON_PrintUnformatted(out) : NULL;
        cJSON *again = text ? cJSON_Parse(text) : NULL;
        if (again) {
            inc_incident back;
            if (inc_parse(again, INC_PARSE_FULL, &back, &err) != 0 || !inc_equal(&a, &back))
                abort(); /* our own output must read back the same */
            inc_clear(&back);
        }
        cJSON_Delete(again);
        cJSON_free(text);
        cJSON_Delete(out);
    }
    if (inc_parse(doc, INC_PARSE_PATCH, &b, &err) == 0 && a.source != NULL &&
        inc_copy(&merged, &a) == 0) {
        if (inc_merge(&merged, &b) == 0)
            (void)inc_check(&merged, &err);
        inc_clear(&merged);
    }
    inc_clear(&a);
    inc_clear(&b);
    cJSON_Delete(doc);
    return 0;
}

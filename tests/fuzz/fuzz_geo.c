/*
 * fuzz_geo.c -- libFuzzer target: GeoJSON boundaries (lib/geo). Invariants:
 * no crash; a parsed boundary covers the corners of nothing outside its
 * bounding box.
 */
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "geo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
    if (doc == NULL)
        return 0;
    geo_multipolygon *mp = NULL;
    char err[128];
    if (geo_parse(doc, &mp, err, sizeof err) == 0) {
        double b[4];
        geo_bbox(mp, b);
        double cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
        (void)geo_covers(mp, cx, cy);
        (void)geo_covers(mp, b[0], b[1]);
        if (geo_covers(mp, b[2] + 1, cy) || geo_covers(mp, cx, b[1] - 1))
            abort(); /* outside the bounding box */
        geo_free(mp);
    }
    cJSON_Delete(doc);
    return 0;
}

/*
 * iccs.c -- see iccs.h.
 */
#include "iccs.h"

#include <stdio.h>
#include <string.h>

int iccs_level_len(int level)
{
    static const int len[5] = {0, 2, 4, 5, 6};
    return level >= 1 && level <= 4 ? len[level] : 0;
}

int iccs_level(const char *code)
{
    if (code == NULL)
        return 0;
    size_t n = 0;
    while (code[n] >= '0' && code[n] <= '9' && n < ICCS_CODE_MAX)
        n++;
    if (code[n] != '\0')
        return 0;
    for (int level = 1; level <= 4; level++)
        if ((size_t)iccs_level_len(level) == n)
            return level;
    return 0;
}

long iccs_group(const char *code, int level)
{
    int have = iccs_level(code), len = iccs_level_len(level);
    if (have == 0 || len == 0 || have < level)
        return -1;
    long g = 0;
    for (int i = 0; i < len; i++)
        g = g * 10 + (code[i] - '0');
    return g;
}

char *iccs_group_code(long group, int level, char out[ICCS_CODE_MAX])
{
    int len = iccs_level_len(level);
    long limit = 1;
    for (int i = 0; i < len; i++)
        limit *= 10;
    if (len == 0 || group < 0 || group >= limit)
        out[0] = '\0';
    else
        snprintf(out, ICCS_CODE_MAX, "%0*ld", len, group);
    return out;
}

int iccs_has_prefix(const char *code, const char *prefix)
{
    return code != NULL && strncmp(code, prefix, strlen(prefix)) == 0;
}

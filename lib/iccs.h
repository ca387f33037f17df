/*
 * iccs.h -- the shape of UNODC ICCS codes (International Classification of
 * Crime for Statistical Purposes, version 1.0): levels, ancestors, prefixes.
 *
 * A code is digits only: level 1 (a section) two ("01".."11"), level 2
 * four, level 3 five, level 4 six, and every code starts with its parent's,
 * so a code's ancestor at a level is its prefix of that level's length.
 * Which codes exist is data (data/iccs/iccs.csv, lib/refdata.h); this is
 * only their shape.
 *
 * Pure: no I/O, no global state, thread-safe.
 */
#ifndef COMPSTAT_ICCS_H
#define COMPSTAT_ICCS_H

/* Longest code plus its NUL. */
#define ICCS_CODE_MAX 7

/* The length of a level's codes (1..4: 2, 4, 5, 6), or 0 for another level. */
int iccs_level_len(int level);

/* The level of a well-formed code (digits only, 2, 4, 5 or 6 of them), or 0. */
int iccs_level(const char *code);

/*
 * The group of a code at a level, as a number: its ancestor at that level
 * read as a decimal integer (unique among the codes of one level, which all
 * have one length, and ordered as the codes are). -1 when code is NULL or
 * not a code, or is above that level (a section has no group at level 2).
 */
long iccs_group(const char *code, int level);

/*
 * A group of iccs_group back as its code, zero-padded to the level's
 * length, into out. out, or "" when group or level is out of range.
 */
char *iccs_group_code(long group, int level, char out[ICCS_CODE_MAX]);

/* 1 when code (NULL: none) starts with prefix, else 0. */
int iccs_has_prefix(const char *code, const char *prefix);

#endif

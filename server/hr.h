/*
 * hr.h -- human resources in memory: units, officers, shifts (tours of
 * duty) and rosters (who is on which unit in which tour on which day).
 *
 * The tables live in PostGIS (migrations/); the daemon loads them when the
 * reader connection (re)opens and changes its copy only after a write
 * committed, so reports and the unit board answer from memory (and keep
 * answering while the database is down). Records are never freed before
 * exit: pointers handed out stay valid.
 */
#ifndef COMPSTAT_HR_H
#define COMPSTAT_HR_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "rtcube.h"

#define HR_MAX_SHIFTS 32 /* tours per agency */

typedef struct hr_unit {
    int id, agency_id, precinct_id; /* precinct_id 0: none */
    char *callsign, *type;          /* type NULL: none */
    int out_of_service;             /* set explicitly; else the board derives the status */
} hr_unit;

typedef struct hr_officer {
    int id, agency_id, precinct_id;
    char *badge, *name, *rank;
} hr_officer;

typedef struct hr_shift {
    int id, agency_id;
    char *code;
    int starts, ends; /* minutes after local midnight, multiples of 15; ends == starts: 24 h */
} hr_shift;

typedef struct hr_assignment {
    int shift_id, officer_id, unit_id; /* unit_id 0: none */
    int64_t day;                       /* local date of the tour's start, days since 1970-01-01 */
} hr_assignment;

/* Queue loading the four tables on db (the reader); hr_ready() once in. */
void hr_reload(db_conn *db);
int hr_ready(void);

/* Insert or replace by id (after a committed write). 0, or -1 out of memory. */
int hr_put_unit(int id, int agency, const char *callsign, int precinct, const char *type,
                int out_of_service);
int hr_put_officer(int id, int agency, const char *badge, const char *name, const char *rank,
                   int precinct);
int hr_put_shift(int id, int agency, const char *code, int starts, int ends);
/* Replace the roster of (shift, day) with a[0..n). 0, or -1 out of memory. */
int hr_set_roster(int shift_id, int64_t day, const hr_assignment *a, size_t n);

const hr_unit *hr_unit_get(int agency, const char *callsign);
const hr_unit *hr_unit_by_id(int id);
const hr_officer *hr_officer_get(int agency, const char *badge);
const hr_officer *hr_officer_by_id(int id);
const hr_shift *hr_shift_get(int agency, const char *code);
const hr_shift *hr_shift_by_id(int id);

/* Walk every record, in id order (callers filter by agency). */
size_t hr_unit_max(void);                 /* ids are < this */
size_t hr_officer_max(void);
const hr_shift *const *hr_shifts(size_t *n); /* all shifts, id order */
const hr_assignment *hr_assignments(size_t *n);

/*
 * The agency's tours ordered by start time (then id) into order[], and the
 * tour of every local quarter hour of the day into quarter[] as an index
 * into order (-1 when the agency has no tours). A quarter belongs to the
 * tour that started last at or before it (the latest start of the day
 * before, when none started yet today), so overlapping tours hand over at
 * the next tour's start. Returns the number of tours.
 */
int hr_shift_table(int agency, const hr_shift *order[HR_MAX_SHIFTS], int8_t quarter[RT_QUARTERS]);

/* "HH:MM" for minutes after midnight. */
void hr_format_minutes(int minutes, char buf[8]);

void hr_free(void);

#endif

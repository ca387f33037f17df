/*
 * analytics.c -- see analytics.h. The module's shared state, category ids,
 * what answers, and free; the other concerns are in analytics_*.c
 * (analytics_int.h lists them).
 */
#include "analytics.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_int.h"
#include "app.h"
#include "log.h"
#include "strmap.h"

struct an_cubes an_live;
struct an_load an_load;
struct an_marks an_marks;

/* Category names <-> dense ids. */
static strmap *category_ids; /* name -> id + 1 */
static char **category_names;
static int ncategories, category_cap;

int analytics_category_id(const char *name)
{
    if (category_ids == NULL && (category_ids = strmap_new()) == NULL)
        return -1;
    intptr_t v = (intptr_t)strmap_get(category_ids, name);
    if (v)
        return (int)v - 1;
    if (ncategories == category_cap) {
        int ncap = category_cap ? category_cap * 2 : 16;
        char **nn = realloc(category_names, (size_t)ncap * sizeof *nn);
        if (nn == NULL)
            return -1;
        category_names = nn;
        category_cap = ncap;
    }
    char *copy = strdup(name);
    if (copy == NULL || strmap_put(category_ids, name, (void *)(intptr_t)(ncategories + 1)) != 0) {
        free(copy);
        return -1;
    }
    category_names[ncategories] = copy;
    return ncategories++;
}

const char *analytics_category_name(int id)
{
    return id >= 0 && id < ncategories ? category_names[id] : NULL;
}


/* Declare every known offense's category to c. */
void an_declare_categories(cube *c)
{
    for (int id = 1; id < ref_offense_max(app.ref); id++) {
        const ref_offense *o = ref_offense_by_id(app.ref, id);
        if (o && cube_set_category(c, o->agency_id, o->id, analytics_category_id(o->category)) != 0)
            log_error("cube", "out of memory declaring categories");
    }
}

void analytics_offense_changed(int agency_id, int offense_id, const char *category)
{
    int cat = analytics_category_id(category);
    an_marks.due = 1; /* the reference data a snapshot on disk was checked against moved */
    /* A cube being loaded already declared its categories: tell it too, or
       the change would be lost when it replaces the live one. */
    if (an_load.cube && an_load.categories_declared &&
        cube_set_category(an_load.cube, agency_id, offense_id, cat))
        log_error("cube", "out of memory moving offense %d while loading", offense_id);
    if (an_live.cube && cube_set_category(an_live.cube, agency_id, offense_id, cat) != 0) {
        log_error("cube", "out of memory moving offense %d to category %s; reloading", offense_id,
                  category);
        an_invalidate("a category did not fit the cube");
        if (!an_load_in_progress() && db_is_up(app.writer))
            an_reload(app.writer, "the cube must count a category anew");
    }
}

int an_category_count(void)
{
    return ncategories;
}

int analytics_ready(void)
{
    return load_all_answer(an_load.state);
}

int analytics_counts_ready(void)
{
    return load_counts_answer(an_load.state) && an_live.cube != NULL;
}

const cube *analytics_cube(void)
{
    return an_live.cube;
}

const rt_cube *analytics_rt(void)
{
    return an_live.rt;
}

void analytics_free(void)
{
    an_snapshots_stop();
    an_grid_free(); /* first: the callbacks its connection's end runs find it stopped */
    an_load_free();
    cube_free(an_live.cube);
    sp_free(an_live.sp);
    rt_free(an_live.rt);
    unitboard_free(an_live.board);
    memset(&an_live, 0, sizeof an_live);
    for (int i = 0; i < ncategories; i++)
        free(category_names[i]);
    free(category_names);
    category_names = NULL;
    ncategories = category_cap = 0;
    strmap_free(category_ids);
    category_ids = NULL;
}

/*
 * test_ndjson.c -- unit tests for lib/ndjson: the lines of an NDJSON body.
 */
#include "ndjson.h"
#include "unit.h"

#define MAXL 16

struct got {
    size_t n;
    char text[MAXL][32];
    size_t number[MAXL], offset[MAXL];
    int blank[MAXL];
};

static void lines_of(const char *body, size_t len, struct got *g)
{
    ndjson_iter it;
    ndjson_line line;
    memset(g, 0, sizeof *g);
    ndjson_begin(&it, body, len);
    while (g->n < MAXL && ndjson_next(&it, &line)) {
        snprintf(g->text[g->n], sizeof g->text[0], "%.*s", (int)line.len, line.text);
        g->number[g->n] = line.number;
        g->offset[g->n] = line.offset;
        g->blank[g->n] = line.blank;
        g->n++;
    }
}

static void test_lf(void)
{
    struct got g;
    const char *b = "{\"a\":1}\n{\"b\":2}\n";
    lines_of(b, strlen(b), &g);
    CHECK_INT(g.n, 2); /* no empty line after the last LF */
    CHECK_STR(g.text[0], "{\"a\":1}");
    CHECK_STR(g.text[1], "{\"b\":2}");
    CHECK_INT(g.number[1], 2);
    CHECK_INT(g.offset[0], 0);
    CHECK_INT(g.offset[1], 8);
    CHECK_INT(g.blank[0], 0);
    CHECK_INT(ndjson_count(b, strlen(b)), 2);
}

static void test_last_line_without_lf(void)
{
    struct got g;
    lines_of("a\nb", 3, &g);
    CHECK_INT(g.n, 2);
    CHECK_STR(g.text[1], "b");
    CHECK_INT(g.offset[1], 2);
}

static void test_crlf_and_cr(void)
{
    struct got g;
    /* CRLF: the CR stays in the line (JSON whitespace) */
    lines_of("a\r\nb\r\n", 6, &g);
    CHECK_INT(g.n, 2);
    CHECK_STR(g.text[0], "a\r");
    CHECK_STR(g.text[1], "b\r");
    CHECK_INT(g.offset[1], 3);
    /* a CR alone ends nothing: one line */
    lines_of("a\rb\r", 4, &g);
    CHECK_INT(g.n, 1);
    CHECK_STR(g.text[0], "a\rb\r");
    CHECK_INT(g.blank[0], 0);
}

static void test_blank_lines(void)
{
    struct got g;
    const char *b = "\n \t\r\nx\n\n  \ny";
    lines_of(b, strlen(b), &g);
    CHECK_INT(g.n, 6);
    CHECK_INT(g.blank[0], 1); /* empty */
    CHECK_INT(g.blank[1], 1); /* space, tab, CR */
    CHECK_INT(g.blank[2], 0);
    CHECK_INT(g.number[2], 3); /* blank lines count */
    CHECK_INT(g.blank[3], 1);
    CHECK_INT(g.blank[4], 1);
    CHECK_INT(g.blank[5], 0);
    CHECK_INT(g.number[5], 6);
    CHECK_INT(ndjson_count(b, strlen(b)), 2);
    /* a form feed or a NUL is not whitespace: the line is the parser's */
    lines_of("\f\n\0", 3, &g);
    CHECK_INT(g.n, 2);
    CHECK_INT(g.blank[0], 0);
    CHECK_INT(g.blank[1], 0);
    CHECK_INT(ndjson_count("\f\n\0", 3), 2);
}

static void test_empty(void)
{
    struct got g;
    lines_of("", 0, &g);
    CHECK_INT(g.n, 0);
    CHECK_INT(ndjson_count("", 0), 0);
    lines_of("\n", 1, &g);
    CHECK_INT(g.n, 1);
    CHECK_INT(g.blank[0], 1);
    CHECK_INT(ndjson_count("\n\n\n", 3), 0);
}

static void test_reads_only_len(void)
{
    /* The bytes after len are not the body's. */
    struct got g;
    lines_of("ab\ncd", 4, &g);
    CHECK_INT(g.n, 2);
    CHECK_STR(g.text[1], "c");
}

UNIT_MAIN(UNIT(test_lf), UNIT(test_last_line_without_lf), UNIT(test_crlf_and_cr),
          UNIT(test_blank_lines), UNIT(test_empty), UNIT(test_reads_only_len))

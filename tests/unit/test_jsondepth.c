/* tests/unit/test_jsondepth.c -- lib/jsondepth.h */
#include "jsondepth.h"
#include "unit.h"

static int d(const char *s)
{
    return json_depth(s, strlen(s));
}

static void test_depths(void)
{
    CHECK_INT(d("42"), 0);
    CHECK_INT(d("{}"), 1);
    CHECK_INT(d("{\"a\":[1,{\"b\":[]}]}"), 4);
    CHECK_INT(d("[[[]],[]]"), 3);
    CHECK_INT(d("{\"s\":\"[[[[\"}"), 1);         /* brackets inside strings do not count */
    CHECK_INT(d("{\"s\":\"\\\"[[[\"}"), 1);     /* nor after an escaped quote */
    CHECK_INT(d("{\"s\":\"\\\\\",\"t\":[[]]}"), 3); /* an escaped backslash ends the escape */
    CHECK_INT(d("]]]][["), 2);                   /* malformed: still a number, never negative */
}

static void test_long_nesting(void)
{
    char buf[4001];
    for (int i = 0; i < 2000; i++) {
        buf[i] = '[';
        buf[2000 + i] = ']';
    }
    buf[4000] = '\0';
    CHECK_INT(json_depth(buf, 4000), 2000);
}

UNIT_MAIN(UNIT(test_depths), UNIT(test_long_nesting))

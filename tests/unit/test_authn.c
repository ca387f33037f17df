/* tests/unit/test_authn.c -- lib/authn.h */
#include <stdint.h>
#include <string.h>

#include "authn.h"
#include "unit.h"

static void test_cookie(void)
{
    char v[64];
    CHECK_INT(authn_cookie("a=1; compstat_session=xyz; b=2", "compstat_session", v, sizeof v), 0);
    CHECK_STR(v, "xyz");
    CHECK_INT(authn_cookie("compstat_session=abc", "compstat_session", v, sizeof v), 0);
    CHECK_STR(v, "abc");
    CHECK_INT(authn_cookie("xcompstat_session=abc", "compstat_session", v, sizeof v), -1);
    CHECK_INT(authn_cookie("compstat_session=", "compstat_session", v, sizeof v), -1);
    CHECK_INT(authn_cookie("a=1;b=2", "compstat_session", v, sizeof v), -1);
    CHECK_INT(authn_cookie("s=0123456789", "s", v, 5), -1); /* too long for out */
    CHECK_INT(authn_cookie("s=first; s=second", "s", v, sizeof v), 0);
    CHECK_STR(v, "first");
    CHECK_INT(authn_cookie("", "s", v, sizeof v), -1);
}

static void test_password_rule(void)
{
    char why[128];
    CHECK_INT(authn_password_ok("correct horse battery", "ana", "Ana Mora", why, sizeof why), 0);
    CHECK_INT(authn_password_ok("short", "ana", "Ana", why, sizeof why), -1);
    CHECK(strstr(why, "12") != NULL);
    CHECK_INT(authn_password_ok("elevenchars", "x", "y", why, sizeof why), -1);
    CHECK_INT(authn_password_ok("twelve chars", "x", "y", why, sizeof why), 0);
    /* 12 code points of Spanish: 14 bytes, but 12 characters */
    CHECK_INT(authn_password_ok("contraseñaña", "x", "y", why, sizeof why), 0);
    CHECK_INT(authn_password_ok("ANA.MORA.2026", "ana.mora.2026", "n", why, sizeof why), -1);
    CHECK_INT(authn_password_ok("Ana Mora Solís", "am", "ana mora solís", why, sizeof why), -1);
    /* only ASCII case is folded */
    CHECK_INT(authn_password_ok("ANA MORA SOLÍS", "am", "ana mora solís", why, sizeof why), 0);
    CHECK_INT(authn_password_ok("Ana Mora Solis", "am", "ana mora solis", why, sizeof why), -1);
    CHECK_INT(authn_password_ok("tab\there is bad", "x", "y", why, sizeof why), -1);
    CHECK_INT(authn_password_ok("\xff\xfe invalid utf8 text", "x", "y", why, sizeof why), -1);
    char longpw[300];
    memset(longpw, 'a', 257);
    longpw[257] = '\0';
    CHECK_INT(authn_password_ok(longpw, "x", "y", why, sizeof why), -1);
}

/* RFC 6238, appendix B (SHA-1): the low six digits of its eight. */
static void test_totp_rfc6238(void)
{
    const uint8_t *key = (const uint8_t *)"12345678901234567890";
    CHECK_INT(authn_totp(key, 20, 59), 287082);
    CHECK_INT(authn_totp(key, 20, 1111111109), 81804);
    CHECK_INT(authn_totp(key, 20, 1111111111), 50471);
    CHECK_INT(authn_totp(key, 20, 1234567890), 5924);
    CHECK_INT(authn_totp(key, 20, 2000000000), 279037);
    CHECK_INT(authn_totp(key, 20, 20000000000LL), 353130);
    CHECK_INT(authn_totp_check(key, 20, "005924", 1234567890), 1234567890 / 30);
    CHECK_INT(authn_totp_check(key, 20, "005924", 1234567890 + 30), 1234567890 / 30);
    CHECK_INT(authn_totp_check(key, 20, "005924", 1234567890 + 90), -1);
    CHECK_INT(authn_totp_check(key, 20, "5924", 1234567890), -1);
    CHECK_INT(authn_totp_check(key, 20, "00592a", 1234567890), -1);
}

static void test_base32(void)
{
    /* RFC 4648 test vectors */
    char out[64];
    authn_base32((const uint8_t *)"fooba", 5, out);
    CHECK_STR(out, "MZXW6YTB");
    uint8_t key[20], back[20];
    for (int i = 0; i < 20; i++)
        key[i] = (uint8_t)(i * 37 + 11);
    authn_base32(key, 20, out);
    CHECK_INT(strlen(out), AUTHN_TOTP_B32);
    CHECK_INT(authn_base32_decode(out, back, sizeof back), 20);
    CHECK(memcmp(key, back, 20) == 0);
    CHECK_INT(authn_base32_decode("MZXW6YT1", back, sizeof back), -1);
    CHECK_INT(authn_base32_decode("MZXW6", back, sizeof back), -1);
}

UNIT_MAIN(UNIT(test_cookie), UNIT(test_password_rule), UNIT(test_totp_rfc6238),
          UNIT(test_base32))

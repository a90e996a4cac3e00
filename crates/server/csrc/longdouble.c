/* Long double helpers for INCRBYFLOAT: parse, add, format the way Redis's replies show them. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <limits.h>

#define LD_MAX_CHARS (5 * 1024)

/* Parses a whole buffer as a long double; 0 on failure (empty, too long, leading space,
 * trailing garbage, overflow, NaN). */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[LD_MAX_CHARS];
    char *end;
    long double v;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || *end != '\0' || (size_t)(end - buf) != len ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Returns 0 on success with the formatted sum in out/outlen, 1 if `cur` is not a float,
 * 2 if `incr` is not a float, 3 if the result is NaN or infinite, 4 if it does not fit. */
int roost_incrbyfloat(const char *cur, size_t curlen, const char *incr, size_t incrlen,
                      char *out, size_t outcap, size_t *outlen) {
    long double a = 0, b, sum;
    int l;
    if (cur != NULL && !parse_ld(cur, curlen, &a)) return 1;
    if (!parse_ld(incr, incrlen, &b)) return 2;
    sum = a + b;
    if (isnan(sum) || isinf(sum)) return 3;
    l = snprintf(out, outcap, "%.17Lf", sum);
    if (l < 0 || (size_t)l + 1 > outcap) return 4;
    if (strchr(out, '.') != NULL) {
        char *p = out + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; l = 1; }
    *outlen = (size_t)l;
    return 0;
}

/* A blocking command's timeout in seconds, converted to whole milliseconds the way Redis does:
 * multiplied in long double, truncated. Values that don't fit come out as LLONG_MIN (what the
 * x86 conversion gives), so callers report them as negative, as Redis does. Returns 1 if the
 * text is not a number. */
int roost_timeout_ms(const char *s, size_t len, long long *out) {
    long double v, ms;
    if (!parse_ld(s, len, &v)) return 1;
    ms = v * 1000.0L;
    if (isinf(ms) || ms >= 9223372036854775808.0L || ms < -9223372036854775808.0L)
        *out = LLONG_MIN;
    else
        *out = (long long)ms;
    return 0;
}

/* Parsing and describing a cell's object sizes; the per-call draw is in workload.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sizes.h"

static const char want[] =
    "want a size in bytes from 1 to 1073741824 (64), a range A-B with 1 <= A < B <= 1048576 drawn "
    "uniformly (8-1000), or A-B:log drawn log-uniformly (8-1000:log)";

/* digits only, no sign, no spaces; *v within [1, max] */
static bool whole(const char *s, size_t len, uint64_t max, uint64_t *v)
{
    if (len == 0 || len > 10 || strspn(s, "0123456789") < len)
        return false;
    char buf[16];
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    unsigned long long x = strtoull(buf, NULL, 10);
    *v = x;
    return !errno && x >= 1 && x <= max;
}

int tb_sizes_parse(const char *tok, tb_sizes *out, char *err, size_t errlen)
{
    const char *dash = strchr(tok, '-');
    uint64_t lo = 0, hi = 0;
    if (!dash) {
        if (!whole(tok, strlen(tok), TB_SIZE_FIXED_MAX, &lo)) {
            snprintf(err, errlen, "'%s' is not valid: %s", tok, want);
            return -1;
        }
        *out = (tb_sizes){TB_SIZE_FIXED, (uint32_t)lo, (uint32_t)lo};
        return 0;
    }
    const char *b = dash + 1, *colon = strchr(b, ':');
    size_t blen = colon ? (size_t)(colon - b) : strlen(b);
    tb_size_dist dist = TB_SIZE_UNIFORM;
    if (colon) {
        if (strcmp(colon + 1, "log") != 0) {
            snprintf(err, errlen, "'%s' is not valid: a range's only suffix is :log; %s", tok, want);
            return -1;
        }
        dist = TB_SIZE_LOG;
    }
    bool lo_ok = whole(tok, (size_t)(dash - tok), UINT32_MAX, &lo);
    bool hi_ok = whole(b, blen, UINT32_MAX, &hi);
    const char *why = !lo_ok || !hi_ok ? "both bounds must be whole numbers from 1 (no empty or zero bound)"
                      : hi > TB_SIZE_RANGE_MAX ? "its upper bound is above 1048576"
                      : lo > hi ? "it is reversed (A must be less than B)"
                      : lo == hi ? "it holds one size (give it as a fixed size)"
                                 : NULL;
    if (why) {
        snprintf(err, errlen, "'%s' is not valid: %s; %s", tok, why, want);
        return -1;
    }
    *out = (tb_sizes){dist, (uint32_t)lo, (uint32_t)hi};
    return 0;
}

void tb_sizes_format(const tb_sizes *s, char *buf, size_t len)
{
    if (s->dist == TB_SIZE_FIXED)
        snprintf(buf, len, "%u", s->lo);
    else
        snprintf(buf, len, "%u-%u%s", s->lo, s->hi, s->dist == TB_SIZE_LOG ? ":log" : "");
}

bool tb_sizes_equal(const tb_sizes *a, const tb_sizes *b)
{
    return a->dist == b->dist && a->lo == b->lo && a->hi == b->hi;
}

void tb_sizes_log_table(const tb_sizes *s, uint32_t table[TB_SIZE_LOG_STEPS])
{
    double span = log(((double)s->hi + 1) / s->lo);
    for (unsigned i = 0; i < TB_SIZE_LOG_STEPS; i++) {
        double v = floor(s->lo * exp(span * (i + 0.5) / TB_SIZE_LOG_STEPS));
        table[i] = v < s->lo ? s->lo : v > s->hi ? s->hi : (uint32_t)v;
    }
}

double tb_sizes_mean(const tb_sizes *s)
{
    if (s->dist == TB_SIZE_FIXED)
        return s->lo;
    if (s->dist == TB_SIZE_UNIFORM)
        return ((double)s->lo + s->hi) / 2;
    uint32_t t[TB_SIZE_LOG_STEPS];
    tb_sizes_log_table(s, t);
    double sum = 0;
    for (unsigned i = 0; i < TB_SIZE_LOG_STEPS; i++)
        sum += t[i];
    return sum / TB_SIZE_LOG_STEPS;
}

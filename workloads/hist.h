/* A log-linear histogram in the manner of HdrHistogram: exact below 128, then 64 sub-buckets per
 * power of two (at least 2 significant digits). Fixed size, no allocation when recording. */
#ifndef TB_HIST_H
#define TB_HIST_H

#include <stdint.h>

#define TB_HIST_SUB 64
#define TB_HIST_BUCKETS (128 + 57 * TB_HIST_SUB)

typedef struct tb_hist {
    uint64_t n;
    uint32_t count[TB_HIST_BUCKETS];
} tb_hist;

static inline unsigned tb_hist_bucket(uint64_t v)
{
    if (v < 128)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* 7.. */
    unsigned shift = e - 6;                          /* leaves 7 bits: 64..127 */
    unsigned sub = (unsigned)(v >> shift) - 64;
    return 128 + (e - 7) * TB_HIST_SUB + sub;
}

static inline void tb_hist_add(tb_hist *h, uint64_t v)
{
    h->count[tb_hist_bucket(v)]++;
    h->n++;
}

void tb_hist_merge(tb_hist *into, const tb_hist *from);
/* The value at quantile q (0..1): the midpoint of the bucket holding it; 0 for an empty one. */
double tb_hist_quantile(const tb_hist *h, double q);
uint64_t tb_hist_bucket_low(unsigned b);
uint64_t tb_hist_bucket_high(unsigned b); /* exclusive */

#endif

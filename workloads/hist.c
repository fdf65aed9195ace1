/* Histogram merging and quantiles. */
#include "hist.h"

uint64_t tb_hist_bucket_low(unsigned b)
{
    if (b < 128)
        return b;
    unsigned e = (b - 128) / TB_HIST_SUB + 7, sub = (b - 128) % TB_HIST_SUB;
    return (uint64_t)(64 + sub) << (e - 6);
}

uint64_t tb_hist_bucket_high(unsigned b)
{
    if (b < 128)
        return (uint64_t)b + 1;
    unsigned e = (b - 128) / TB_HIST_SUB + 7, sub = (b - 128) % TB_HIST_SUB;
    return (uint64_t)(64 + sub + 1) << (e - 6);
}

void tb_hist_merge(tb_hist *into, const tb_hist *from)
{
    for (unsigned i = 0; i < TB_HIST_BUCKETS; i++)
        into->count[i] += from->count[i];
    into->n += from->n;
}

double tb_hist_quantile(const tb_hist *h, double q)
{
    if (h->n == 0)
        return 0;
    /* The smallest value v such that at least q of the samples are <= v. */
    uint64_t rank = (uint64_t)(q * (double)h->n + 0.999999999);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < TB_HIST_BUCKETS; b++) {
        seen += h->count[b];
        if (seen >= rank) {
            if (b < 128)
                return (double)b;
            return ((double)tb_hist_bucket_low(b) + (double)(tb_hist_bucket_high(b) - 1)) / 2.0;
        }
    }
    return (double)tb_hist_bucket_low(TB_HIST_BUCKETS - 1);
}

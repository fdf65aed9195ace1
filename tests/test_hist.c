/* The latency histogram against known inputs: exact below 128, within its bucket width above. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "hist.h"

static tb_hist h;

int main(void)
{
    /* 1..100: p50 is 50, p99 is 99, exactly (small values have their own bucket). */
    for (uint64_t v = 1; v <= 100; v++)
        tb_hist_add(&h, v);
    CHECK_EQ((long long)tb_hist_quantile(&h, 0.50), 50);
    CHECK_EQ((long long)tb_hist_quantile(&h, 0.99), 99);
    CHECK_EQ((long long)tb_hist_quantile(&h, 1.0), 100);
    /* 1000 samples of 10000 and 10 of 1e6: p99 is 10000 within 1.6%, p99.9 is 1e6 within 1.6%. */
    memset(&h, 0, sizeof h);
    for (int i = 0; i < 990; i++)
        tb_hist_add(&h, 10000);
    for (int i = 0; i < 10; i++)
        tb_hist_add(&h, 1000000);
    CHECK(fabs(tb_hist_quantile(&h, 0.99) - 10000) / 10000 < 0.016);
    CHECK(fabs(tb_hist_quantile(&h, 0.999) - 1000000) / 1000000 < 0.016);
    /* Every value lies inside its own bucket. */
    for (uint64_t v = 1; v < (1ull << 40); v = v * 3 + 1) {
        unsigned b = tb_hist_bucket(v);
        CHECK(tb_hist_bucket_low(b) <= v && v < tb_hist_bucket_high(b));
    }
    tb_hist empty;
    memset(&empty, 0, sizeof empty);
    CHECK(tb_hist_quantile(&empty, 0.5) == 0);
    fprintf(stderr, "test_hist: all passed\n");
    return 0;
}

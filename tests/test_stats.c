/* compare's statistics against values worked out by hand or published: Mann-Whitney U and its
 * exact p-values, the Hodges-Lehmann interval, and the interval's coverage on synthetic data. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "stats.h"

#define CHECK_NEAR(a, b) CHECK(fabs((double)(a) - (double)(b)) < 1e-9)

static void test_mann_whitney(void)
{
    double p;
    bool exact;
    /* complete separation, 3 vs 3: U = 9 of 9 pairs, exact two-sided p = 2 / C(6,3) = 0.1 */
    double a[] = {1, 2, 3}, b[] = {4, 5, 6};
    CHECK_NEAR(tb_mann_whitney(a, 3, b, 3, &p, &exact), 9.0);
    CHECK(exact && fabs(p - 0.1) < 1e-12);
    /* the example in SciPy's mannwhitneyu documentation: U(x > y) = 17, so U(x < y) = 3, exact
     * two-sided p = 14/126 = 0.1111 */
    double males[] = {19, 22, 16, 29, 24}, females[] = {20, 11, 17, 12};
    CHECK_NEAR(tb_mann_whitney(males, 5, females, 4, &p, &exact), 3.0);
    CHECK(exact && fabs(p - 14.0 / 126.0) < 1e-12);
    /* symmetric: swapping the samples keeps p */
    double p2;
    CHECK_NEAR(tb_mann_whitney(females, 4, males, 5, &p2, &exact), 17.0);
    CHECK(fabs(p - p2) < 1e-12);
    /* 5 vs 5 separated: 2 / 252, the smallest p for that size */
    double c[] = {1, 2, 3, 4, 5}, d[] = {6, 7, 8, 9, 10};
    tb_mann_whitney(c, 5, d, 5, &p, &exact);
    CHECK(fabs(p - 2.0 / 252.0) < 1e-12);
    CHECK(fabs(tb_mw_min_p(5, 5) - 2.0 / 252.0) < 1e-12);
    /* identical samples: U = nm/2 with ties, not significant */
    double e[] = {1, 1, 2}, f[] = {1, 1, 2};
    CHECK_NEAR(tb_mann_whitney(e, 3, f, 3, &p, &exact), 4.5);
    CHECK(!exact && p > 0.9);
    /* repetitions needed: alpha 0.01 wants 5 a side (2/252 < 0.01 < 2/70), 0.05 wants 4 */
    CHECK_EQ(tb_mw_reps_needed(0.01), 5u);
    CHECK_EQ(tb_mw_reps_needed(0.05), 4u);
    CHECK_EQ(tb_mw_reps_needed(0.1), 3u);
}

static void test_hodges_lehmann(void)
{
    /* y = x + 10, x = 1..5: pairwise differences 10 + (j - i); for n = m = 5 at 95% the
     * interval is the 3rd smallest to the 3rd largest of the 25 (U critical value 2): 7 .. 13 */
    double x[] = {1, 2, 3, 4, 5}, y[] = {11, 12, 13, 14, 15};
    double lo, hi, est;
    bool reached;
    tb_hl_interval(x, 5, y, 5, 0.05, &lo, &hi, &est, &reached);
    CHECK(reached);
    CHECK_NEAR(lo, 7.0);
    CHECK_NEAR(hi, 13.0);
    CHECK_NEAR(est, 10.0);
    /* 3 vs 3 cannot reach 95% (smallest two-sided tail is 0.1): the full range, flagged */
    double a[] = {1, 2, 3}, b[] = {4, 5, 6};
    tb_hl_interval(a, 3, b, 3, 0.05, &lo, &hi, &est, &reached);
    CHECK(!reached);
    CHECK_NEAR(lo, 1.0);
    CHECK_NEAR(hi, 5.0);
    CHECK_NEAR(tb_median(b, 3), 5.0);
}

static uint64_t rng = 88172645463325252ull;
static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}
static double normal(void) { return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform()); }

/* Synthetic runs: 9 repetitions a side, 3% log-normal noise, a true 10% shift. The exact
 * interval is conservative, so it must cover the true shift in at least 95% of trials (and not
 * be so wide that it always does). */
static void test_coverage(void)
{
    int covered = 0, trials = 2000;
    for (int t = 0; t < trials; t++) {
        double x[9], y[9];
        for (int i = 0; i < 9; i++) {
            x[i] = 0.03 * normal();
            y[i] = log(1.10) + 0.03 * normal();
        }
        double lo, hi, est;
        bool reached;
        tb_hl_interval(x, 9, y, 9, 0.05, &lo, &hi, &est, &reached);
        CHECK(reached);
        covered += lo <= log(1.10) && log(1.10) <= hi;
    }
    double rate = (double)covered / trials;
    printf("coverage of the 95%% interval: %.3f\n", rate);
    CHECK(rate >= 0.94 && rate <= 0.99);
}

/* Signed-rank values worked out by hand: with ranks 1..5, W+ = 14 for one negative of rank 1;
 * P(W+ >= 14) = P(W+ <= 1) = 2/32, so the two-sided p is 4/32. */
static void test_signed_rank(void)
{
    double p;
    bool exact;
    size_t used;
    double d1[] = {-1, 2, 3, 4, 5};
    CHECK_NEAR(tb_signed_rank(d1, 5, &p, &exact, &used), 14.0);
    CHECK(exact && used == 5 && fabs(p - 4.0 / 32.0) < 1e-12);
    /* all of one sign: the smallest p, 2 / 2^n */
    double d2[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
    tb_signed_rank(d2, 9, &p, &exact, &used);
    CHECK(exact && fabs(p - 2.0 / 512.0) < 1e-12);
    CHECK(fabs(tb_sr_min_p(9) - 2.0 / 512.0) < 1e-12);
    /* zeros are dropped; mirror images have one p */
    double d3[] = {0, -0.1, -0.2, -0.3, -0.4, -0.5}, p3;
    tb_signed_rank(d3, 6, &p3, &exact, &used);
    CHECK(used == 5 && fabs(p3 - 2.0 / 32.0) < 1e-12);
    /* ties: normal approximation, not significant for a symmetric sample */
    double d4[] = {1, -1, 2, -2, 1, -1};
    tb_signed_rank(d4, 6, &p, &exact, &used);
    CHECK(!exact && p > 0.9);
    /* Walsh averages of {1, 2, 3}: 1, 1.5, 2, 2, 2.5, 3: estimate 2; 3 pairs reach no 95% interval */
    double d5[] = {1, 2, 3}, lo, hi, est;
    bool reached;
    tb_hl_paired(d5, 3, 0.05, &lo, &hi, &est, &reached);
    CHECK(!reached && fabs(est - 2.0) < 1e-12 && lo == 1.0 && hi == 3.0);
    /* 9 pairs: P(W+ <= 5) = 0.0195 <= 0.025 < P(W+ <= 6) = 0.0273, so c = 6: the 6th lowest and
     * 6th highest of the 45 Walsh averages */
    double d6[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    tb_hl_paired(d6, 9, 0.05, &lo, &hi, &est, &reached);
    CHECK(reached && fabs(est - 5.0) < 1e-12);
    CHECK(fabs(lo - 2.5) < 1e-12 && fabs(hi - 7.5) < 1e-12); /* 1,1.5,2,2,2.5,2.5: the 6th is 2.5 */
}

/* Pairs that share a round's slowdown: the paired interval covers the true 2% shift in at least
 * 95% of trials, and is narrower than the unpaired one on the same data. */
static void test_paired_coverage(void)
{
    int covered = 0, trials = 2000, narrower = 0;
    for (int t = 0; t < trials; t++) {
        double x[9], y[9], dd[9];
        for (int i = 0; i < 9; i++) {
            double round = 0.3 * normal(); /* the machine's mood in round i, on both sides */
            x[i] = round + 0.01 * normal();
            y[i] = round + log(1.02) + 0.01 * normal();
            dd[i] = y[i] - x[i];
        }
        double lo, hi, est, ulo, uhi;
        bool reached;
        tb_hl_paired(dd, 9, 0.05, &lo, &hi, &est, &reached);
        CHECK(reached);
        covered += lo <= log(1.02) && log(1.02) <= hi;
        tb_hl_interval(x, 9, y, 9, 0.05, &ulo, &uhi, &est, &reached);
        narrower += hi - lo < uhi - ulo;
    }
    double rate = (double)covered / trials;
    printf("coverage of the paired 95%% interval: %.3f; narrower than unpaired in %d of %d\n", rate, narrower, trials);
    CHECK(rate >= 0.94 && rate <= 0.995);
    CHECK(narrower > trials * 9 / 10);
}

int main(void)
{
    test_mann_whitney();
    test_hodges_lehmann();
    test_coverage();
    test_signed_rank();
    test_paired_coverage();
    printf("test_stats: ok\n");
    return 0;
}

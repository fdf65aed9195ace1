/* Small-sample statistics for comparing two sets of repetitions: medians, the Mann–Whitney U
 * test (exact for small samples) and the Hodges–Lehmann confidence interval for a shift, which
 * compare applies to log values so that the shift is a ratio. Pure functions, no allocation
 * beyond scratch, so the tests can check them against textbook values. */
#ifndef TB_STATS_H
#define TB_STATS_H

#include <stdbool.h>
#include <stddef.h>

/* Median of n values (n > 0); v is left unchanged. */
double tb_median(const double *v, size_t n);

/* Mann–Whitney U of x (n) against y (m): U counts pairs with x < y, ties as one half.
 * *p is the two-sided p-value: exact (enumerated null distribution) when there are no ties and
 * n, m <= TB_MW_EXACT_MAX, else the normal approximation with tie correction and continuity
 * correction. *exact says which. */
#define TB_MW_EXACT_MAX 60
double tb_mann_whitney(const double *x, size_t n, const double *y, size_t m, double *p, bool *exact);

/* The smallest two-sided p-value the exact test can give for sample sizes n and m:
 * 2 / C(n+m, n). Below alpha, no data can be significant. */
double tb_mw_min_p(size_t n, size_t m);

/* The least equal repetition count per side whose exact test can reach alpha. */
size_t tb_mw_reps_needed(double alpha);

/* Hodges–Lehmann interval for the shift y - x at confidence 1 - alpha: order statistics of the
 * n*m pairwise differences, cut where the U distribution puts alpha/2 in each tail. When the
 * sample sizes cannot reach that confidence, the interval is the whole range of differences and
 * *reached is false. *estimate is the median of the differences. */
void tb_hl_interval(const double *x, size_t n, const double *y, size_t m, double alpha,
                    double *lo, double *hi, double *estimate, bool *reached);

/* ---- paired samples: the same rounds on both sides ---- */

/* Wilcoxon signed-rank test of d (n differences; zeros are dropped, Wilcoxon's rule): *p is the
 * two-sided p-value, exact (enumerated null distribution of W+) when no two |d| tie and at most
 * TB_SR_EXACT_MAX remain, else the normal approximation with tie and continuity corrections.
 * Returns W+, the sum of the ranks of the positive differences; *used, how many were ranked. */
#define TB_SR_EXACT_MAX 50
double tb_signed_rank(const double *d, size_t n, double *p, bool *exact, size_t *used);

/* The smallest two-sided p-value the exact signed-rank test can give for n pairs: 2 / 2^n. */
double tb_sr_min_p(size_t n);
/* compare's default significance level; --reps auto closes a paired cell only once that many
 * pairs could reach it. */
#define TB_ALPHA_DEFAULT 0.01

/* Hodges-Lehmann interval for the centre of d at confidence 1 - alpha: order statistics of the
 * n(n+1)/2 Walsh averages (d_i + d_j) / 2, i <= j, cut where the signed-rank distribution puts
 * alpha/2 in each tail. Too few pairs for that confidence: the whole range, *reached false.
 * *estimate is the median of the Walsh averages. */
void tb_hl_paired(const double *d, size_t n, double alpha, double *lo, double *hi, double *estimate,
                  bool *reached);

#endif

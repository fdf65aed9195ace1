/* Rank statistics for compare. The exact null distribution of U comes from counting the
 * m-subsets of ranks 1..n+m by their sum (Mann and Whitney, 1947); the interval for a shift is
 * the Hodges–Lehmann construction (Hodges and Lehmann, 1963; Lehmann, "Nonparametrics", ch. 2).
 * For pairs, the signed-rank test (Wilcoxon, 1945) counts the subsets of ranks 1..n by their
 * sum, and its interval takes order statistics of the Walsh averages (Tukey; Lehmann, ch. 4). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double tb_median(const double *v, size_t n)
{
    if (n == 0)
        return NAN;
    double *s = malloc(n * sizeof *s);
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

/* P(U <= u) for u = 0..n*m under the null hypothesis, into a cached table. The rank sum of the
 * smaller sample is a sum over a k-subset of 1..N; U is that sum minus k(k+1)/2. */
static const double *null_cdf(size_t n, size_t m)
{
    static size_t cn, cm;
    static double *cdf;
    if (n > m) {
        size_t t = n;
        n = m;
        m = t;
    }
    if (cdf && cn == n && cm == m)
        return cdf;
    size_t N = n + m, maxsum = n * N;
    /* ways[k][s]: k-subsets of the ranks seen so far that sum to s (counts fit a double's
     * mantissa exactly up to C(120,60) / sums, far past what compare needs to be exact). */
    double *ways = calloc((n + 1) * (maxsum + 1), sizeof *ways);
    ways[0] = 1;
    for (size_t r = 1; r <= N; r++)
        for (size_t k = r < n ? r : n; k >= 1; k--)
            for (size_t s = maxsum; s >= r; s--)
                ways[k * (maxsum + 1) + s] += ways[(k - 1) * (maxsum + 1) + s - r];
    size_t umax = n * m, base = n * (n + 1) / 2;
    free(cdf);
    cdf = malloc((umax + 1) * sizeof *cdf);
    double total = 0;
    for (size_t u = 0; u <= umax; u++)
        total += ways[n * (maxsum + 1) + base + u];
    double acc = 0;
    for (size_t u = 0; u <= umax; u++) {
        acc += ways[n * (maxsum + 1) + base + u];
        cdf[u] = acc / total;
    }
    free(ways);
    cn = n;
    cm = m;
    return cdf;
}

double tb_mw_min_p(size_t n, size_t m)
{
    /* 2 / C(n+m, n), computed in logs to stay finite */
    double lc = lgamma((double)(n + m + 1)) - lgamma((double)(n + 1)) - lgamma((double)(m + 1));
    double p = 2 * exp(-lc);
    return p > 1 ? 1 : p;
}

size_t tb_mw_reps_needed(double alpha)
{
    for (size_t k = 1; k < 1000; k++)
        if (tb_mw_min_p(k, k) <= alpha)
            return k;
    return 1000;
}

double tb_mann_whitney(const double *x, size_t n, const double *y, size_t m, double *p, bool *exact)
{
    double u = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            u += x[i] < y[j] ? 1 : x[i] == y[j] ? 0.5 : 0;

    /* ties: sizes of groups of equal values in the pooled sample */
    size_t N = n + m;
    double *all = malloc(N * sizeof *all);
    memcpy(all, x, n * sizeof *all);
    memcpy(all + n, y, m * sizeof *all);
    qsort(all, N, sizeof *all, cmp_double);
    double tie_sum = 0;
    bool ties = false;
    for (size_t i = 0; i < N;) {
        size_t j = i;
        while (j < N && all[j] == all[i])
            j++;
        double t = (double)(j - i);
        tie_sum += t * t * t - t;
        ties |= j - i > 1;
        i = j;
    }
    free(all);

    if (!ties && n <= TB_MW_EXACT_MAX && m <= TB_MW_EXACT_MAX) {
        const double *cdf = null_cdf(n, m);
        size_t ui = (size_t)u;
        double lower = cdf[ui];                          /* P(U <= u) */
        double upper = ui == 0 ? 1.0 : 1.0 - cdf[ui - 1]; /* P(U >= u) */
        double pv = 2 * (lower < upper ? lower : upper);
        *p = pv > 1 ? 1 : pv;
        *exact = true;
        return u;
    }
    double nm = (double)n * (double)m, dN = (double)N;
    double var = nm / 12.0 * ((dN + 1) - tie_sum / (dN * (dN - 1)));
    double d = fabs(u - nm / 2) - 0.5;
    if (d < 0)
        d = 0;
    *p = var > 0 ? erfc(d / sqrt(var) / sqrt(2.0)) : 1.0;
    *exact = false;
    return u;
}

/* Standard normal quantile by bisection on erfc: only called once per compare, so simple wins. */
static double z_quantile(double q)
{
    double lo = -10, hi = 10;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (0.5 * erfc(-mid / sqrt(2.0)) < q)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

void tb_hl_interval(const double *x, size_t n, const double *y, size_t m, double alpha,
                    double *lo, double *hi, double *estimate, bool *reached)
{
    size_t nm = n * m;
    double *d = malloc(nm * sizeof *d);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            d[i * m + j] = y[j] - x[i];
    qsort(d, nm, sizeof *d, cmp_double);
    *estimate = nm % 2 ? d[nm / 2] : (d[nm / 2 - 1] + d[nm / 2]) / 2;

    /* c = how many of the lowest values of U together carry at most alpha/2 */
    size_t c = 0;
    if (n <= TB_MW_EXACT_MAX && m <= TB_MW_EXACT_MAX) {
        const double *cdf = null_cdf(n, m);
        while (c <= nm && cdf[c] <= alpha / 2 + 1e-12)
            c++;
    } else {
        double z = z_quantile(1 - alpha / 2);
        double k = (double)nm / 2 - z * sqrt((double)nm * (double)(n + m + 1) / 12.0);
        c = k > 0 ? (size_t)floor(k) : 0;
    }
    if (c == 0 || c > nm / 2) {
        *lo = d[0];
        *hi = d[nm - 1];
        *reached = c != 0;
    } else {
        *lo = d[c - 1];
        *hi = d[nm - c];
        *reached = true;
    }
    free(d);
}

/* P(W+ <= w) for w = 0..n(n+1)/2 under the null: subsets of 1..n by their sum, over 2^n. */
static double *sr_cdf(size_t n)
{
    size_t max = n * (n + 1) / 2;
    double *ways = calloc(max + 1, sizeof *ways);
    if (!ways)
        return NULL;
    ways[0] = 1;
    for (size_t r = 1; r <= n; r++)
        for (size_t s = max; s >= r; s--)
            ways[s] += ways[s - r];
    double total = ldexp(1.0, (int)n), acc = 0;
    for (size_t w = 0; w <= max; w++) {
        acc += ways[w];
        ways[w] = acc / total;
    }
    return ways;
}

double tb_sr_min_p(size_t n)
{
    double p = 2 * ldexp(1.0, -(int)(n > 1000 ? 1000 : n));
    return p > 1 ? 1 : p;
}

typedef struct { double a; size_t i; } absd;
static int cmp_absd(const void *x, const void *y)
{
    double a = ((const absd *)x)->a, b = ((const absd *)y)->a;
    return a < b ? -1 : a > b;
}

double tb_signed_rank(const double *d, size_t n, double *p, bool *exact, size_t *used)
{
    absd *v = malloc((n ? n : 1) * sizeof *v);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] != 0 && !isnan(d[i]))
            v[m++] = (absd){fabs(d[i]), i};
    *used = m;
    *exact = false;
    if (m == 0) {
        free(v);
        *p = 1;
        return 0;
    }
    qsort(v, m, sizeof *v, cmp_absd);
    /* ranks, ties sharing their mean rank */
    double wplus = 0, tie_sum = 0;
    bool ties = false;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && v[j].a == v[i].a)
            j++;
        double rank = (double)(i + 1 + j) / 2, t = (double)(j - i);
        for (size_t k = i; k < j; k++)
            if (d[v[k].i] > 0)
                wplus += rank;
        tie_sum += t * t * t - t;
        ties |= j - i > 1;
        i = j;
    }
    free(v);
    double dm = (double)m, mean = dm * (dm + 1) / 4;
    if (!ties && m <= TB_SR_EXACT_MAX) {
        double *cdf = sr_cdf(m);
        if (cdf) {
            size_t w = (size_t)wplus, max = m * (m + 1) / 2;
            double lower = cdf[w], upper = w == 0 ? 1.0 : 1.0 - cdf[w - 1];
            (void)max;
            double pv = 2 * (lower < upper ? lower : upper);
            *p = pv > 1 ? 1 : pv;
            *exact = true;
            free(cdf);
            return wplus;
        }
    }
    double var = dm * (dm + 1) * (2 * dm + 1) / 24 - tie_sum / 48;
    double z = fabs(wplus - mean) - 0.5;
    if (z < 0)
        z = 0;
    *p = var > 0 ? erfc(z / sqrt(var) / sqrt(2.0)) : 1.0;
    return wplus;
}

void tb_hl_paired(const double *d, size_t n, double alpha, double *lo, double *hi, double *estimate,
                  bool *reached)
{
    size_t M = n * (n + 1) / 2;
    double *w = malloc((M ? M : 1) * sizeof *w);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++)
            w[k++] = (d[i] + d[j]) / 2;
    qsort(w, M, sizeof *w, cmp_double);
    *estimate = M % 2 ? w[M / 2] : (w[M / 2 - 1] + w[M / 2]) / 2;
    /* c = how many of the lowest values of W+ together carry at most alpha/2 */
    size_t c = 0;
    if (n <= TB_SR_EXACT_MAX) {
        double *cdf = sr_cdf(n);
        while (cdf && c <= M && cdf[c] <= alpha / 2 + 1e-12)
            c++;
        free(cdf);
    } else {
        double z = z_quantile(1 - alpha / 2), dn = (double)n;
        double kk = (double)M / 2 - z * sqrt(dn * (dn + 1) * (2 * dn + 1) / 24);
        c = kk > 0 ? (size_t)floor(kk) : 0;
    }
    if (c == 0 || c > M / 2) {
        *lo = w[0];
        *hi = w[M - 1];
        *reached = false;
    } else {
        *lo = w[c - 1];
        *hi = w[M - c];
        *reached = true;
    }
    free(w);
}

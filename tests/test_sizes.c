/* --sizes items and the per-call draw: what parses and what is refused (with a message), the
 * canonical token, and that draws stay in bounds with the law's mean and use every size. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "workload.h"

static void parses(const char *tok, tb_size_dist dist, unsigned lo, unsigned hi, const char *canon)
{
    tb_sizes s;
    char err[512] = "", buf[64];
    CHECK(tb_sizes_parse(tok, &s, err, sizeof err) == 0);
    CHECK(s.dist == dist && s.lo == lo && s.hi == hi);
    tb_sizes_format(&s, buf, sizeof buf);
    CHECK(strcmp(buf, canon) == 0);
}

static void refused(const char *tok, const char *why)
{
    tb_sizes s = {TB_SIZE_UNIFORM, 11, 22};
    char err[512] = "";
    CHECK(tb_sizes_parse(tok, &s, err, sizeof err) == -1);
    if (!strstr(err, why) || !strstr(err, "want")) {
        fprintf(stderr, "'%s': message '%s' lacks '%s' or what would be right\n", tok, err, why);
        CHECK(0);
    }
    CHECK(s.lo == 11 && s.hi == 22); /* untouched */
}

/* n draws of r's law: all within [lo, hi], the mean within 1% of the law's, every size seen
 * when the range is small enough to expect it */
static void draws(tb_run *r, uint64_t n)
{
    tb_thread_out me = {.size_rng = 12345};
    static unsigned char seen[1 << 20];
    memset(seen, 0, (size_t)r->sizes.hi + 1);
    double sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        size_t s = tb_size_draw(r, &me);
        CHECK(s >= r->sizes.lo && s <= r->sizes.hi);
        seen[s] = 1;
        sum += (double)s;
    }
    double mean = tb_sizes_mean(&r->sizes);
    CHECK(fabs(sum / (double)n - mean) / mean < 0.01);
    if (r->sizes.dist == TB_SIZE_UNIFORM && r->sizes.hi - r->sizes.lo < 2000)
        for (unsigned v = r->sizes.lo; v <= r->sizes.hi; v++)
            CHECK(seen[v]);
    CHECK(seen[r->sizes.lo] && seen[r->sizes.hi]);
}

int main(void)
{
    parses("64", TB_SIZE_FIXED, 64, 64, "64");
    parses("8-1000", TB_SIZE_UNIFORM, 8, 1000, "8-1000");
    parses("16-4096:log", TB_SIZE_LOG, 16, 4096, "16-4096:log");
    parses("1-1048576", TB_SIZE_UNIFORM, 1, 1048576, "1-1048576");
    parses("1073741824", TB_SIZE_FIXED, 1u << 30, 1u << 30, "1073741824");
    refused("1000-8", "reversed");
    refused("8-", "no empty or zero bound");
    refused("-8", "no empty or zero bound");
    refused("0-100", "no empty or zero bound");
    refused("0", "not valid");
    refused("64-64", "one size");
    refused("8-2000000", "above 1048576");
    refused("8-1000:exp", "suffix");
    refused("8-1000:", "suffix");
    refused("1073741825", "not valid");
    refused("+8-100", "whole numbers");
    refused("8 -100", "whole numbers");
    refused("", "not valid");

    /* uniform: exact law, every size drawn */
    static tb_run r;
    r.sizes = (tb_sizes){TB_SIZE_UNIFORM, 8, 1000};
    r.size_span = 993;
    draws(&r, 2000000);
    CHECK(fabs(tb_sizes_mean(&r.sizes) - 504) < 1e-9);
    /* log-uniform: the table is monotone, spans both bounds, and its mean is the law's within
     * 1% (the continuous law's mean on [lo, hi + 1) is (hi + 1 - lo) / ln((hi + 1) / lo)) */
    static uint32_t table[TB_SIZE_LOG_STEPS];
    r.sizes = (tb_sizes){TB_SIZE_LOG, 8, 1000};
    tb_sizes_log_table(&r.sizes, table);
    for (unsigned i = 1; i < TB_SIZE_LOG_STEPS; i++)
        CHECK(table[i] >= table[i - 1]);
    CHECK(table[0] == 8 && table[TB_SIZE_LOG_STEPS - 1] == 1000);
    double law = (1001.0 - 8) / log(1001.0 / 8);
    CHECK(fabs(tb_sizes_mean(&r.sizes) - law) / law < 0.01);
    r.size_table = table;
    draws(&r, 2000000);
    return 0;
}

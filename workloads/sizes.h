/* Object sizes of a cell: one fixed size, or a distribution drawn per call. A cell names its
 * sizes with the token --sizes took ("64", "8-1000", "8-1000:log"), which is also the CSV's
 * `sizes` column; object_size is then the largest size the cell can draw. */
#ifndef TB_SIZES_H
#define TB_SIZES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TB_SIZE_FIXED_MAX 1073741824u /* a fixed size: up to 1 GiB, as before sizes existed */
#define TB_SIZE_RANGE_MAX 1048576u    /* a range's upper bound: every drawn size fits 32 bits,
                                       * and beyond it each call measures mmap, not a heap */
#define TB_SIZE_LOG_STEPS 4096u       /* quantiles in a log-uniform draw's table */

typedef enum tb_size_dist { TB_SIZE_FIXED, TB_SIZE_UNIFORM, TB_SIZE_LOG } tb_size_dist;

typedef struct tb_sizes {
    tb_size_dist dist;
    uint32_t lo, hi; /* fixed: lo == hi */
} tb_sizes;

/* One --sizes item. 0, or -1 with a message saying what is wrong and what would be right. */
int tb_sizes_parse(const char *tok, tb_sizes *out, char *err, size_t errlen);
/* The canonical token: "64", "8-1000", "8-1000:log". */
void tb_sizes_format(const tb_sizes *s, char *buf, size_t len);
bool tb_sizes_equal(const tb_sizes *a, const tb_sizes *b);
/* The mean of the sizes a draw yields (exact for uniform, over the table for log). */
double tb_sizes_mean(const tb_sizes *s);
/* A log-uniform draw's table: the size at quantile (i + 0.5) / TB_SIZE_LOG_STEPS of the
 * continuous log-uniform law on [lo, hi + 1), rounded down. */
void tb_sizes_log_table(const tb_sizes *s, uint32_t table[TB_SIZE_LOG_STEPS]);

#endif

/* tmbench run --reps auto: repetitions until the answer is clear. After the first rounds, the
 * cells whose 95% interval is still wider than +-target get another round, as long as the
 * run's budget lasts (Abedi and Brecht, ICPE 2017, repeat interleaved trials for the same
 * reason: a fixed count is too many for a quiet cell and too few for a noisy one). */
#ifndef TB_ADAPT_H
#define TB_ADAPT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "matrix.h"

/* The first rounds of an auto run: 6 is the least count whose paired 95% interval exists
 * (the signed-rank distribution puts 1/64 in a tail). */
#define TB_AUTO_FIRST_REPS 6
/* A cell never gets more rounds than this, converged or not. */
#define TB_AUTO_MAX_REPS 200

typedef struct tb_adapt {
    double target_pct; /* the 95% interval's half-width wanted, percent of the estimate */
    double budget_s;   /* seconds for the whole run, the first rounds included */
} tb_adapt;

/* The next round: the matrix's cells (m->cells, one round's worth at rep 0 and on) that are still
 * open after the rows in csv_path, each at its next free repetition number, shuffled from *rng
 * with twins side by side, into out (room for m->n). A cell with a twin (X and X@tag) is judged
 * on the pair's per-round ratio, and both run again together; any other on its own throughput.
 * Returns the count; 0 when every cell is closed (converged, failed, or at TB_AUTO_MAX_REPS). */
size_t tb_adapt_round(const tb_adapt *ad, const tb_matrix *m, const char *csv_path, uint64_t *rng, tb_cell *out);

/* Each distinct cell's state as meta.json records it: reps, half-width, converged. */
cJSON *tb_adapt_summary(const tb_adapt *ad, const tb_matrix *m, const char *csv_path, unsigned rounds);

#endif

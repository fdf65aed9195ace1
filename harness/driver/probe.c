/* The machine's yardstick (probe.h): two fixed loops timed in tmbench's own process, so that two
 * runs' figures can be read against the speed of the machine each one had. */
#include "probe.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "stats.h"
#include "workload.h"

/* about 30 ms a probe on the 2-core VM: a run pays two */
enum { REPS = 5, CPU_STEPS = 1 << 19, MEM_SLOTS = 1 << 19, MEM_STEPS = 1 << 15 };

/* timing loops: a sanitizer's checks would be what they timed */
#define UNCHECKED __attribute__((no_sanitize_address, no_sanitize_thread, noinline))

/* ns a step of a dependent multiply-add chain: one core's speed, no memory */
static UNCHECKED double cpu_step_ns(void)
{
    volatile uint64_t seed = 1;
    uint64_t x = seed;
    uint64_t t0 = tb_now_ns();
    for (unsigned i = 0; i < CPU_STEPS; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    double t = (double)(tb_now_ns() - t0);
    seed = x; /* keeps the chain */
    return t / CPU_STEPS;
}

/* ns a step of a chase through one random cycle of 4 MiB of indices: past the L2 of the
 * machines this runs on, so what other tenants do to the shared cache and memory shows */
static UNCHECKED double mem_step_ns(const uint64_t *next)
{
    uint64_t at = 0;
    uint64_t t0 = tb_now_ns();
    for (unsigned i = 0; i < MEM_STEPS; i++)
        at = next[at];
    double t = (double)(tb_now_ns() - t0);
    volatile uint64_t sink = at;
    (void)sink;
    return t / MEM_STEPS;
}

void tb_speed_probe(tb_probe *out)
{
    out->cpu_ns = out->mem_ns = NAN;
    uint64_t *next = malloc(MEM_SLOTS * sizeof *next);
    if (!next)
        return;
    /* Sattolo's shuffle: a single cycle through every slot, the same on every machine */
    for (uint64_t i = 0; i < MEM_SLOTS; i++)
        next[i] = i;
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (uint64_t i = MEM_SLOTS - 1; i > 0; i--) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint64_t j = s % i, t = next[i];
        next[i] = next[j];
        next[j] = t;
    }
    double c[REPS], m[REPS];
    for (int r = 0; r < REPS; r++) {
        c[r] = cpu_step_ns();
        m[r] = mem_step_ns(next);
    }
    free(next);
    out->cpu_ns = tb_median(c, REPS);
    out->mem_ns = tb_median(m, REPS);
}

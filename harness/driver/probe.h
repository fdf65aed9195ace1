/* A yardstick of the machine's speed, taken by tmbench run before its first cell and after its
 * last and kept in meta.json ("speed_probe"), so that runs made on other days, or on a VM that
 * moved to a busier host, can be read against the machine each had: tmbench compare says when
 * two runs' yardsticks differ, and the report prints its run's. Two figures, the medians of five
 * tries, about 30 ms in all: ns a step of a dependent multiply chain (the core) and of a pointer
 * chase through 4 MiB (the shared cache and memory, which other tenants load without the guest
 * seeing it as stolen time). It reads the machine, not the allocators. */
#ifndef TB_PROBE_H
#define TB_PROBE_H

typedef struct tb_probe {
    double cpu_ns, mem_ns; /* NaN when not taken */
} tb_probe;

void tb_speed_probe(tb_probe *out);

#endif

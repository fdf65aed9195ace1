/* The workload registry: one line per workload; each lives in its own file. */
#include "workload.h"

extern const tb_workload tb_wl_churn, tb_wl_batch, tb_wl_prodcons, tb_wl_xmalloc, tb_wl_larson,
    tb_wl_falseshare, tb_wl_footprint, tb_wl_replay;

const tb_workload *const tb_workloads[] = {
    &tb_wl_churn, &tb_wl_batch, &tb_wl_prodcons, &tb_wl_xmalloc,
    &tb_wl_larson, &tb_wl_falseshare, &tb_wl_footprint, &tb_wl_replay, NULL,
};

/* The machine's NUMA layout through hwloc, loaded once per process. TMEMPOOL_TOPOLOGY may name
 * an hwloc synthetic description ("node:2 core:1 pu:1") or an XML file, so that the multi-node
 * paths run on any machine; the CPU a thread runs on maps to the PU of the same OS index (modulo
 * the PU count when the topology has fewer). Memory is bound only on the real machine. */
#include "internal.h"

#include <hwloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static hwloc_topology_t topo;
static int n_nodes = 1;
static int n_pus = 1;
static bool loaded, bindable;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* hwloc builds every object of a synthetic description: "node:100000" took longer than any
 * test's patience. The product of the levels' counts, or 0 when it passes MAX_SYNTHETIC. */
#define MAX_SYNTHETIC 65536
static unsigned long synthetic_size(const char *spec)
{
    unsigned long total = 1;
    for (const char *s = strchr(spec, ':'); s; s = strchr(s + 1, ':')) {
        unsigned long n = strtoul(s + 1, NULL, 10);
        if (n == 0 || n > MAX_SYNTHETIC || total > MAX_SYNTHETIC / n)
            return 0;
        total *= n;
    }
    return total;
}

static void load(void)
{
    if (hwloc_topology_init(&topo) != 0)
        return;
    const char *spec = getenv("TMEMPOOL_TOPOLOGY");
    if (spec && *spec && access(spec, R_OK) != 0 && synthetic_size(spec) == 0) {
        fprintf(stderr, "tmempool: TMEMPOOL_TOPOLOGY='%s' describes more than %d objects (or none); using "
                        "the real machine\n", spec, MAX_SYNTHETIC);
        spec = NULL;
    }
    if (spec && *spec) {
        int err = access(spec, R_OK) == 0 ? hwloc_topology_set_xml(topo, spec)
                                           : hwloc_topology_set_synthetic(topo, spec);
        if (err != 0)
            fprintf(stderr,
                    "tmempool: TMEMPOOL_TOPOLOGY='%s' is neither a readable XML file nor a valid "
                    "hwloc synthetic description (e.g. \"node:2 core:1 pu:1\"); using the real "
                    "machine\n",
                    spec);
    }
    if (hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return;
    }
    loaded = true;
    int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    n_nodes = n > 0 ? n : 1;
    n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    n_pus = n > 0 ? n : 1;
    bindable = hwloc_topology_is_thissystem(topo) && n_nodes > 1;
}

int tmp__topo_nodes(void)
{
    pthread_once(&once, load);
    return n_nodes;
}

int tmp__topo_current_node(void)
{
    pthread_once(&once, load);
    if (!loaded || n_nodes == 1)
        return 0;
    int cpu = sched_getcpu();
    if (cpu < 0)
        return 0;
    hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(topo, (unsigned)cpu);
    if (!pu)
        pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, (unsigned)cpu % (unsigned)n_pus);
    if (!pu)
        return 0;
    for (int i = 0; i < n_nodes; i++) {
        hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
        if (node && hwloc_bitmap_isset(node->cpuset, pu->os_index))
            return i;
    }
    return 0;
}

int tmp__topo_bind(void *addr, size_t len, unsigned node)
{
    pthread_once(&once, load);
    if (!bindable)
        return -1; /* one node, or a synthetic topology: plain mmap, objects still kept per node */
    hwloc_obj_t obj = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, node);
    if (!obj)
        return -1;
    return hwloc_set_area_membind(topo, addr, len, obj->nodeset, HWLOC_MEMBIND_BIND,
                                  HWLOC_MEMBIND_BYNODESET);
}

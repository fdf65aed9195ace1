/* Programs for the tool tests. "clean": create/use/destroy cycles of every strategy, with
 * objects still out at destroy, for valgrind's leak and error checks. "uaf STRATEGY": a write to
 * a freed pool object, which memcheck and ASan must report. */
#include <string.h>

#include "check.h"

static void clean(void)
{
    FOR_EACH_STRATEGY(s)
    {
        for (int round = 0; round < 3; round++) {
            tmp_pool *p = make_pool(s, 72, 0, 0, 0);
            void *v[300];
            for (int i = 0; i < 300; i++) {
                CHECK((v[i] = tmp_alloc(p)) != NULL);
                memset(v[i], i, 72);
            }
            for (int i = 0; i < 300; i += 2)
                tmp_free(p, v[i]);
            tmp_pool_trim(p);
            tmp_pool_destroy(p); /* half the objects still out */
        }
    }
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "clean") == 0) {
        clean();
        return 0;
    }
    tmp_strategy s;
    if (argc == 3 && strcmp(argv[1], "uaf") == 0 && tmp_strategy_parse(argv[2], &s) == 0) {
        tmp_pool *p = make_pool(s, 64, 0, 0, 0);
        volatile char *o = tmp_alloc(p);
        tmp_free(p, (void *)o);
        o[10] = 1; /* the bug the tools must see */
        tmp_pool_destroy(p);
        return 0;
    }
    fprintf(stderr, "usage: tool_probe clean | uaf global|striped|tcache|numa\n");
    return 2;
}

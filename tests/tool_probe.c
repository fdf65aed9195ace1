/* Programs for the tool tests. "clean": create/use/destroy cycles of every strategy, with
 * objects still out at destroy, for valgrind's leak and error checks. "uaf STRATEGY": a write to
 * a freed pool object, which memcheck and ASan must report; "uaf-set STRATEGY" the same through
 * a size-class set. */
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
        tmp_set_config sc;
        tmp_set_config_init(&sc, s);
        tmp_set *set = NULL;
        CHECK_EQ(tmp_set_create(&sc, &set), 0);
        void *w[300];
        for (int i = 0; i < 300; i++) {
            size_t n = (size_t)(i * 97) % (i % 30 ? 4000 : 90000);
            CHECK((w[i] = tmp_set_alloc(set, n)) != NULL);
            memset(w[i], i, n);
        }
        for (int i = 0; i < 300; i += 2)
            tmp_set_free(set, w[i]);
        tmp_set_destroy(set); /* half the objects, small and large, still out */
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
    if (argc == 3 && strcmp(argv[1], "uaf-set") == 0 && tmp_strategy_parse(argv[2], &s) == 0) {
        tmp_set_config sc;
        tmp_set_config_init(&sc, s);
        tmp_set *set = NULL;
        CHECK_EQ(tmp_set_create(&sc, &set), 0);
        volatile char *o = tmp_set_alloc(set, 40);
        tmp_set_free(set, (void *)o);
        o[10] = 1; /* through a set, the tools must see it as well */
        tmp_set_destroy(set);
        return 0;
    }
    fprintf(stderr, "usage: tool_probe clean | uaf|uaf-set global|striped|tcache|numa\n");
    return 2;
}

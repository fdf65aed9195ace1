/* Locks: a counting mutex, and in checked builds (TMP__CHECKS) the lock-order and "held"
 * assertions that internal.h's lock order block promises. The check keeps each thread's held
 * locks as a stack threaded through the locks themselves, so it allocates nothing. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

void tmp__lock_init(tmp__lock *l, unsigned rank)
{
    pthread_mutex_init(&l->m, NULL);
    l->waits = 0;
#ifdef TMP__CHECKS
    l->rank = rank;
    atomic_init(&l->owner, NULL);
    l->below = NULL;
#else
    (void)rank;
#endif
}

void tmp__lock_fini(tmp__lock *l)
{
    TMP__ASSERT(atomic_load_explicit(&l->owner, memory_order_relaxed) == NULL);
    pthread_mutex_destroy(&l->m);
}

#ifdef TMP__CHECKS
static __thread tmp__lock *held_top; /* the lock this thread took last and still holds */
static __thread char self_tag;      /* its address names the thread */

void tmp__assert_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "tmempool: internal check failed: %s (%s:%d)\n", what, file, line);
    fflush(stderr);
    abort();
}

void tmp__lock_order_check(const tmp__lock *l)
{
    TMP__ASSERT(atomic_load_explicit(&l->owner, memory_order_relaxed) != &self_tag); /* not recursive */
    TMP__ASSERT(held_top == NULL || held_top->rank < l->rank);                       /* lock order */
}

void tmp__lock_taken(tmp__lock *l)
{
    atomic_store_explicit(&l->owner, &self_tag, memory_order_relaxed);
    l->below = held_top;
    held_top = l;
}

void tmp__lock_leaving(tmp__lock *l)
{
    TMP__ASSERT(held_top == l); /* held by this thread, and the last one it took */
    held_top = l->below;
    l->below = NULL;
    atomic_store_explicit(&l->owner, NULL, memory_order_relaxed);
}

bool tmp__lock_held(const tmp__lock *l)
{
    return atomic_load_explicit(&l->owner, memory_order_relaxed) == &self_tag;
}
#endif

#include "ring.h"

#include <stdlib.h>

int ring_init(ring *r, uint32_t elem, uint32_t cap, sim_err *err)
{
    r->buf = NULL;
    r->elem = elem;
    r->cap = cap;
    r->head = 0;
    r->count = 0;
    if (elem == 0 || cap == 0)
        return sim_err_set(err, "ring: element size and capacity must be at least 1");
    r->buf = calloc(cap, elem);
    if (!r->buf)
        return sim_err_set(err, "ring: out of memory for %u elements of %u bytes", cap, elem);
    return 0;
}

void ring_fini(ring *r)
{
    free(r->buf);
    r->buf = NULL;
    r->count = 0;
}

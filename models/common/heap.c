/* heap: see heap.h. The sift loops move a hole, not the element: the element waits in the
 * scratch slot and is stored once, where it ends. */
#include "heap.h"

#include <stdlib.h>
#include <string.h>

void heap_init(heap *h, uint32_t elem, heap_before_fn before, heap_moved_fn moved, void *ctx)
{
    *h = (heap){NULL, elem, 0, 0, before, moved, ctx};
}

int heap_reserve(heap *h, uint32_t cap)
{
    if (cap <= h->cap && h->v)
        return 0;
    uint8_t *v = realloc(h->v, ((size_t)cap + 1) * h->elem);
    if (!v)
        return -1;
    h->v = v;
    h->cap = cap;
    return 0;
}

void heap_free(heap *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

static void store(heap *h, uint32_t pos, const void *e)
{
    memcpy(heap_at(h, pos), e, h->elem);
    if (h->moved)
        h->moved(heap_at(h, pos), pos, h->ctx);
}

/* e (the scratch slot) fills the hole at i, which moves toward the root past every parent e
 * must leave before. */
static void sift_up(heap *h, uint32_t i, const void *e)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!h->before(e, heap_at(h, parent), h->ctx))
            break;
        store(h, i, heap_at(h, parent));
        i = parent;
    }
    store(h, i, e);
}

/* e (the scratch slot) fills the hole at i, which moves toward the leaves past every child
 * that must leave before e. */
static void sift_down(heap *h, uint32_t i, const void *e)
{
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->before(heap_at(h, c + 1), heap_at(h, c), h->ctx))
            c++;
        if (!h->before(heap_at(h, c), e, h->ctx))
            break;
        store(h, i, heap_at(h, c));
        i = c;
    }
    store(h, i, e);
}

bool heap_push(heap *h, const void *e)
{
    if (h->n == h->cap && heap_reserve(h, h->cap ? 2 * h->cap : 64))
        return false;
    void *scratch = heap_at(h, h->cap);
    memcpy(scratch, e, h->elem);
    sift_up(h, h->n++, scratch);
    return true;
}

/* The scratch slot's element fills the hole at pos, moving up or down to where it belongs. */
static void settle(heap *h, uint32_t pos)
{
    const void *scratch = heap_at(h, h->cap);
    if (pos > 0 && h->before(scratch, heap_at(h, (pos - 1) / 2), h->ctx))
        sift_up(h, pos, scratch);
    else
        sift_down(h, pos, scratch);
}

void heap_fix(heap *h, uint32_t pos)
{
    memcpy(heap_at(h, h->cap), heap_at(h, pos), h->elem);
    settle(h, pos);
}

void heap_remove(heap *h, uint32_t pos, void *out)
{
    if (out)
        memcpy(out, heap_at(h, pos), h->elem);
    if (pos == --h->n)
        return;
    memcpy(heap_at(h, h->cap), heap_at(h, h->n), h->elem); /* the last element fills the hole */
    settle(h, pos);
}

void heap_pop(heap *h, void *out) { heap_remove(h, 0, out); }

/* heap: a binary min-heap of fixed-size elements, ordered by the caller's comparison. The
 * remote's frame and timer queues and the host application's command queue use it.
 *
 * Order: heap_pop returns an element e for which no other element f has before(f, e). With a
 * strict total order (ties broken by a unique field, as every user here does) the sequence of
 * pops is therefore fixed by the elements alone, not by the order of pushes.
 *
 * Positions: an element's index in the array changes as the heap reorders. A user that needs
 * to find an element again (to take it out before its turn, heap_remove) passes a moved
 * callback, called with the element and its new index every time one is stored.
 *
 * Storage grows by doubling on push (heap_reserve sizes it up front); one spare element at the
 * end serves as the scratch slot of the sift loops. */
#ifndef SPPSIM_HEAP_H
#define SPPSIM_HEAP_H

#include "sim_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* true when a must leave the heap before b; ctx is heap.ctx. */
typedef bool (*heap_before_fn)(const void *a, const void *b, void *ctx);
/* e (the stored copy) now sits at index pos. */
typedef void (*heap_moved_fn)(const void *e, uint32_t pos, void *ctx);

typedef struct heap {
    uint8_t *v;    /* cap + 1 elements: the heap, then the scratch slot */
    uint32_t elem; /* bytes per element */
    uint32_t n;    /* elements held */
    uint32_t cap;  /* elements v has room for (besides the scratch slot) */
    heap_before_fn before;
    heap_moved_fn moved; /* or NULL */
    void *ctx;
} heap;

/* An empty heap (no storage yet). elem >= 1; before required; moved may be NULL. */
void heap_init(heap *h, uint32_t elem, heap_before_fn before, heap_moved_fn moved, void *ctx);
/* Room for cap elements. Returns 0, or -1 when out of memory (the heap is unchanged). */
int heap_reserve(heap *h, uint32_t cap);
void heap_free(heap *h); /* frees the storage; the heap is empty and may be used again */

static inline uint32_t heap_count(const heap *h) { return h->n; }
/* The element at index pos (0: the first to leave). pre: pos < count. */
static inline void *heap_at(const heap *h, uint32_t pos) { return h->v + (size_t)pos * h->elem; }

/* Adds a copy of e. Returns false when out of memory (the heap is unchanged). */
bool heap_push(heap *h, const void *e);
/* Takes the first element out into out (elem bytes; NULL: dropped). pre: count > 0. */
void heap_pop(heap *h, void *out);
/* Takes the element at index pos out into out (NULL: dropped). pre: pos < count. */
void heap_remove(heap *h, uint32_t pos, void *out);
/* The element at index pos changed what before() says of it (the caller changed its key, in
 * place or in what ctx holds): moves it to where it belongs. pre: pos < count. */
void heap_fix(heap *h, uint32_t pos);

#ifdef __cplusplus
}
#endif
#endif

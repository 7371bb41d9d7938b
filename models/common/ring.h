/* ring: a bounded FIFO of fixed-size elements, the queue every unit uses for its inputs and
 * out-queues. Storage is allocated once at init; push and pop never allocate. */
#ifndef SPPSIM_RING_H
#define SPPSIM_RING_H

#include "sim_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ring {
    uint8_t *buf;
    uint32_t elem; /* bytes per element */
    uint32_t cap;  /* elements */
    uint32_t head; /* index of the oldest element */
    uint32_t count;
} ring;

/* cap >= 1, elem >= 1. Returns 0, or -1 with err filled (allocation failure, zero sizes). */
int ring_init(ring *r, uint32_t elem, uint32_t cap, sim_err *err);
void ring_fini(ring *r);

static inline bool ring_empty(const ring *r) { return r->count == 0; }
static inline bool ring_full(const ring *r) { return r->count == r->cap; }
static inline uint32_t ring_count(const ring *r) { return r->count; }
static inline uint32_t ring_space(const ring *r) { return r->cap - r->count; }

/* The i-th oldest element (0 = front). pre: i < count. */
static inline void *ring_at(const ring *r, uint32_t i)
{
    uint32_t k = r->head + i;
    if (k >= r->cap)
        k -= r->cap;
    return r->buf + (size_t)k * r->elem;
}
static inline void *ring_front(const ring *r) { return ring_at(r, 0); }

/* Appends an uninitialised slot and returns it for the caller to fill. pre: !ring_full. */
static inline void *ring_push_slot(ring *r)
{
    uint32_t k = r->head + r->count;
    if (k >= r->cap)
        k -= r->cap;
    r->count++;
    return r->buf + (size_t)k * r->elem;
}

/* Removes the front element. pre: !ring_empty. */
static inline void ring_pop(ring *r)
{
    r->head = r->head + 1 == r->cap ? 0 : r->head + 1;
    r->count--;
}

#ifdef __cplusplus
}
#endif
#endif

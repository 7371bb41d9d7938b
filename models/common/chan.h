/* chan: the timed channel of SPEC §2 as a plain C queue: bounded capacity, a fixed latency, and
 * back-pressure. An element pushed at time t becomes visible to the consumer at t + latency.
 * Time is in whatever unit the caller uses (the SystemC glue uses picoseconds); the SystemC
 * wrapper only turns chan_next_ready() into a timed notification. */
#ifndef SPPSIM_CHAN_H
#define SPPSIM_CHAN_H

#include "ring.h"
#include "sim_types.h"

#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CHAN_HDR 8u /* the ready time in front of each element */

typedef struct chan_stats {
    uint64_t pushes;
    uint64_t pops;
    uint64_t stall_full; /* pushes refused because the channel was full (chan_refuse) */
    uint64_t max_depth;
    uint64_t depth_time; /* integral of depth over time, for the mean depth */
} chan_stats;

typedef struct chan {
    ring q; /* each slot: uint64_t ready time, then the element */
    uint32_t elem;
    uint64_t latency;
    uint64_t last_t; /* time of the last depth change, for depth_time */
    chan_stats st;
} chan;

/* elem >= 1, cap >= 1. Returns 0, or -1 with err filled. */
int chan_init(chan *c, uint32_t elem, uint32_t cap, uint64_t latency, sim_err *err);
void chan_fini(chan *c);

static inline bool chan_can_push(const chan *c) { return !ring_full(&c->q); }
static inline uint32_t chan_depth(const chan *c) { return ring_count(&c->q); }
static inline uint32_t chan_capacity(const chan *c) { return c->q.cap; }

/* Appends an element, ready at now + latency, and returns its storage for the caller to fill.
 * pre: chan_can_push; now is not earlier than any earlier push or pop. */
void *chan_push(chan *c, uint64_t now);
/* Counts a push the producer could not make because the channel was full. */
static inline void chan_refuse(chan *c) { c->st.stall_full++; }

/* Time at which the front element is (or was) ready; CYCLE_NEVER when empty. (Inline: every
 * unit polls its channels several times per activation.) */
static inline uint64_t chan_next_ready(const chan *c)
{
    if (ring_empty(&c->q))
        return CYCLE_NEVER;
    uint64_t ready;
    memcpy(&ready, ring_front(&c->q), sizeof ready);
    return ready;
}
/* The front element if it is ready at now, else NULL. */
static inline void *chan_peek(const chan *c, uint64_t now)
{
    if (chan_next_ready(c) > now)
        return NULL;
    return (uint8_t *)ring_front(&c->q) + CHAN_HDR;
}
/* Removes the front element. pre: chan_peek(c, now) != NULL. */
void chan_pop(chan *c, uint64_t now);
/* Brings depth_time up to now (call before reading the stats). */
void chan_settle(chan *c, uint64_t now);
/* The end of the warm-up: zeroes the counters from now on; max_depth restarts at the depth. */
void chan_reset_stats(chan *c, uint64_t now);

#ifdef __cplusplus
}
#endif
#endif

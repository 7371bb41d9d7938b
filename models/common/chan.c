#include "chan.h"

#include <string.h>

static uint32_t slot_size(uint32_t elem) { return CHAN_HDR + ((elem + 7u) & ~7u); }

int chan_init(chan *c, uint32_t elem, uint32_t cap, uint64_t latency, sim_err *err)
{
    memset(c, 0, sizeof *c);
    c->elem = elem;
    c->latency = latency;
    if (elem == 0)
        return sim_err_set(err, "chan: element size must be at least 1");
    return ring_init(&c->q, slot_size(elem), cap, err);
}

void chan_fini(chan *c) { ring_fini(&c->q); }

void chan_settle(chan *c, uint64_t now)
{
    if (now > c->last_t) {
        c->st.depth_time += (uint64_t)ring_count(&c->q) * (now - c->last_t);
        c->last_t = now;
    }
}

void chan_reset_stats(chan *c, uint64_t now)
{
    memset(&c->st, 0, sizeof c->st);
    c->st.max_depth = ring_count(&c->q);
    if (now > c->last_t)
        c->last_t = now;
}

void *chan_push(chan *c, uint64_t now)
{
    chan_settle(c, now);
    uint8_t *slot = ring_push_slot(&c->q);
    uint64_t ready = now + c->latency;
    memcpy(slot, &ready, sizeof ready);
    c->st.pushes++;
    if (ring_count(&c->q) > c->st.max_depth)
        c->st.max_depth = ring_count(&c->q);
    return slot + CHAN_HDR;
}

void chan_pop(chan *c, uint64_t now)
{
    chan_settle(c, now);
    ring_pop(&c->q);
    c->st.pops++;
}

#include "xmem.h"

#include <string.h>

void xmem_init(xmem *m, uint32_t latency, uint32_t bytes_per_cycle, uint32_t outstanding)
{
    memset(m, 0, sizeof *m);
    m->latency = latency;
    m->bytes_per_cycle = bytes_per_cycle ? bytes_per_cycle : 1;
    m->outstanding = outstanding < 1                      ? 1
                     : outstanding > XMEM_MAX_OUTSTANDING ? XMEM_MAX_OUTSTANDING
                                                          : outstanding;
}

cycle_t xmem_access(xmem *m, cycle_t at, uint32_t bytes, bool write)
{
    /* The request takes the slot that frees first. Every access ends at or after the bus's
     * previous end (done >= bus_free below), so the slots' free cycles are handed out in
     * non-decreasing order and the slot given out longest ago is always one that frees first:
     * the slots are taken in turn, with no scan. */
    unsigned best = m->oldest;
    m->oldest = best + 1 == m->outstanding ? 0 : best + 1;
    cycle_t start = at;
    if (m->slot_free[best] > start) {
        m->st.stall_cycles += m->slot_free[best] - start;
        start = m->slot_free[best];
    }
    cycle_t beat = start + m->latency;
    if (m->bus_free > beat)
        beat = m->bus_free;
    cycle_t xfer = (bytes + m->bytes_per_cycle - 1) / m->bytes_per_cycle;
    cycle_t done = beat + xfer;
    m->bus_free = done;
    m->slot_free[best] = done;
    m->st.bus_cycles += xfer;
    if (write) {
        m->st.writes++;
        m->st.bytes_written += bytes;
    } else {
        m->st.reads++;
        m->st.bytes_read += bytes;
    }
    return done;
}

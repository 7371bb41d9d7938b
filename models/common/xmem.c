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
    unsigned best = 0;
    for (unsigned i = 1; i < m->outstanding; i++)
        if (m->slot_free[i] < m->slot_free[best])
            best = i;
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

/* xmem: a modelled external memory channel (SPEC §5): a fixed access latency, a data bus of
 * bounded bandwidth shared by all requests in arrival order, and a bounded number of requests in
 * flight. Used by the lookup controller (flow state) and the socket memory controller (socket
 * buffers), each with its own instance. Times are cycles of the owning unit's clock. */
#ifndef SPPSIM_XMEM_H
#define SPPSIM_XMEM_H

#include "sim_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XMEM_MAX_OUTSTANDING 256

typedef struct xmem_stats {
    uint64_t reads;
    uint64_t writes;
    uint64_t bytes_read;
    uint64_t bytes_written;
    uint64_t bus_cycles;   /* cycles the data bus was transferring */
    uint64_t stall_cycles; /* cycles requests waited for a free outstanding slot */
} xmem_stats;

typedef struct xmem {
    uint32_t latency;         /* cycles from issue to the first data beat */
    uint32_t bytes_per_cycle; /* data bus width; >= 1 */
    uint32_t outstanding;     /* requests in flight at once; 1..XMEM_MAX_OUTSTANDING */
    cycle_t bus_free;         /* the data bus is busy until this cycle */
    cycle_t slot_free[XMEM_MAX_OUTSTANDING]; /* when each request slot frees */
    uint32_t oldest; /* the slot given out longest ago: the one that frees first (see xmem.c) */
    xmem_stats st;
} xmem;

/* pre: bytes_per_cycle >= 1, 1 <= outstanding <= XMEM_MAX_OUTSTANDING (the owners' parameter
 * tables bound them). */
void xmem_init(xmem *m, uint32_t latency, uint32_t bytes_per_cycle, uint32_t outstanding);

/* One access of bytes issued at cycle at; returns the cycle its last byte has moved:
 *     start = max(at, the earliest free request slot)
 *     done  = max(start + latency, bus_free) + ceil(bytes / bytes_per_cycle)
 * so an unloaded access takes exactly latency + ceil(bytes / bytes_per_cycle) cycles. The bus
 * then stays busy until done and the slot until done. Calls need not come in cycle order (cores
 * issue commands from different points of their handlers); each is served in call order. */
cycle_t xmem_access(xmem *m, cycle_t at, uint32_t bytes, bool write);

#ifdef __cplusplus
}
#endif
#endif

/* happ: the host application model — the reader on the host side of each flow's receive buffer
 * (SPEC §1: goodput is counted at the host). It is outside the chip: it decides when the bytes
 * the socket memory controller has put in order (smc_deliver) are read (smc_consume), which frees
 * their pages and reopens the flow's advertised window.
 *
 * With consume_mbps = 0 (the default) the application reads everything at once, so a buffer never
 * holds read-ready data and the window stays the buffer size. Otherwise each flow has a reader
 * that takes at most read_bytes per read and then needs read_bytes * 8 / consume_mbps to process
 * them before its next read: a backlog builds up when data arrives faster, and the window shrinks
 * by it (issue 4: "configurable consumption rate, which shrinks the window").
 *
 * Timing: a read of r bytes at cycle t consumes them at t; the flow's next read may start at
 * t + ceil(r * 8 * clock_mhz / consume_mbps) cycles (r bits at consume_mbps Mb/s, in this unit's
 * cycles). Reads of different flows are independent (one reader per flow). Reads due at the same
 * cycle come out in flow order, so runs are deterministic.
 *
 * Lifecycle (STYLE.md): happ_ready tells it bytes became readable; happ_next_cycle says when the
 * next read is due; happ_pop_read hands out the reads due, which the caller carries out on the
 * SMC. happ_close forgets a flow's backlog (the caller decides what becomes of it). */
#ifndef SPPSIM_HAPP_H
#define SPPSIM_HAPP_H

#include "params.h"
#include "sim_types.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct happ_cfg {
    uint32_t clock_mhz;
    uint32_t consume_mbps; /* per flow; 0: every byte is read at once */
    uint32_t read_bytes;   /* the most one read takes */
} happ_cfg;

typedef struct happ_stats {
    uint64_t reads;          /* reads done */
    uint64_t bytes_read;     /* bytes they took */
    uint64_t backlog_peak;   /* most read-ready bytes waiting in one flow's buffer */
    uint64_t bytes_at_close; /* read-ready bytes still waiting when their flow closed */
} happ_stats;

typedef struct happ happ; /* opaque */

extern const param_table happ_params;
extern const stat_def happ_stat_defs[];
extern const size_t happ_stat_count;

void happ_cfg_default(happ_cfg *c);
/* For flow proxies 0 .. flows-1. Returns it, or NULL with err filled. */
happ *happ_new(const happ_cfg *cfg, uint32_t flows, sim_err *err);
void happ_free(happ *h);

/* True when every byte is read at once (consume_mbps = 0): the caller consumes as it delivers
 * and need not call the rest. */
bool happ_immediate(const happ *h);
/* bytes more of flow's stream became readable at cycle at. Ignored for flow >= flows. */
void happ_ready(happ *h, uint32_t flow, uint32_t bytes, cycle_t at);
/* The cycle of the next read due, or CYCLE_NEVER. */
cycle_t happ_next_cycle(const happ *h);
/* Takes the next read due at or before now: its flow, bytes and cycle (the cycle it was due,
 * which the caller uses as the time of the read). Returns false when none is due. */
bool happ_pop_read(happ *h, cycle_t now, uint32_t *flow, uint32_t *bytes, cycle_t *at);
/* Read-ready bytes of flow waiting (its backlog). */
uint64_t happ_backlog(const happ *h, uint32_t flow);
/* Forgets flow's backlog (counted in bytes_at_close) and any read scheduled for it; returns the
 * bytes forgotten. The flow starts afresh at its next happ_ready. */
uint64_t happ_close(happ *h, uint32_t flow);
/* Flows with a read scheduled. */
uint32_t happ_pending(const happ *h);

const happ_stats *happ_get_stats(const happ *h);
void happ_reset_stats(happ *h);

#ifdef __cplusplus
}
#endif
#endif

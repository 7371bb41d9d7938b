/* tx: the transmit side of the network port. Builds the chip's TCP segments from a per-flow
 * header template and the fields a core's tx_emit command gives, with correct IPv4 header and
 * TCP checksums, and sends them through a transmit queue at the port's line rate.
 *
 * Template (tx_template command): the headers of a frame the flow received, reversed: Ethernet
 * MAC addresses swapped and 802.1Q/802.1ad tags kept; IPv4 or IPv6 addresses swapped (IPv4:
 * no options, TTL 64, DF set, an identification that counts per flow from 0; IPv6: hop limit
 * 64, flow label 0, no extension headers); TCP ports swapped. Frames that arrived without an
 * Ethernet header (Linux SLL/SLL2, raw IP, BSD null) get one with the addresses
 * 02:00:00:00:00:01 (chip) and 02:00:00:00:00:02 (peer), so the transmitted trace is always
 * Ethernet (DLT_EN10MB).
 *
 * Segment: seq, ack, window (as it goes on the wire, already scaled), flags; options in this
 * order, each only when asked for: MSS (kind 2), NOP + window scale (kind 3), NOP NOP +
 * SACK-permitted (kind 4), NOP NOP + SACK blocks (kind 5, up to 4); each group is a multiple of
 * 4 bytes, so no end-of-list padding is needed. SACK blocks that would take the options past
 * TCP's 40 bytes are left out, last first. No payload (the send side adds it).
 *
 * Timing: a segment emitted at cycle at is built in build_cycles, waits for the port, and takes
 * serialisation time ceil((frame bytes + 4 FCS + 20 preamble and gap) * 8 * clock_mhz /
 * link_mbps) cycles; it leaves (tx_out.depart) when its last bit is sent. The port sends frames
 * one at a time in emit-call order (not in order of at), starting each at max(at +
 * build_cycles, the end of the previous frame). The queue holds cfg.depth frames, each from its
 * emit until the caller pops it (being built, waiting, or departed and not yet popped: a caller
 * that never pops makes emits refuse); when full, emits are refused and counted
 * (drops_queue_full): the chip's ACKs are not retried. */
#ifndef SPPSIM_TX_H
#define SPPSIM_TX_H

#include "event.h"
#include "params.h"
#include "sim_types.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TX_MAX_FRAME 256 /* headers only: 14 + 2*4 + 40 + 60 < 256 */

typedef struct tx_cfg {
    uint32_t clock_mhz;
    uint32_t build_cycles;
    uint32_t link_mbps;
    uint32_t depth;
} tx_cfg;

typedef struct tx_seg {
    uint32_t seq;
    uint32_t ack;
    uint16_t win;
    uint8_t flags;   /* TCPF_* */
    uint8_t wscale;  /* WSCALE_NONE: no window-scale option */
    uint16_t mss;    /* 0: no MSS option */
    uint8_t sack_ok; /* SACK-permitted option */
    uint8_t nsack;   /* SACK blocks, 0..EV_MAX_SACK */
    uint32_t sack[EV_MAX_SACK][2];
} tx_seg;

typedef struct tx_out {
    uint32_t flow;
    uint32_t len;
    cycle_t depart;
    uint8_t frame[TX_MAX_FRAME];
} tx_out;

typedef struct tx_stats {
    uint64_t templates;
    uint64_t frames;
    uint64_t bytes;
    uint64_t drops_queue_full;
    uint64_t drops_no_template;
    uint64_t busy_cycles; /* port serialising */
} tx_stats;

typedef struct tx tx; /* opaque */

extern const param_table tx_params;
extern const stat_def tx_stat_defs[];
extern const size_t tx_stat_count;

void tx_cfg_default(tx_cfg *c);
tx *tx_new(const tx_cfg *cfg, uint32_t flows, sim_err *err);
void tx_free(tx *t);

/* Builds flow's template from the received frame (len bytes as stored in the scratchpad, its
 * link type and the IPU's l3/l4 offsets) and restarts the flow's IPv4 identification at 0.
 * Returns 0, or -1 when the frame is not TCP over IPv4 or IPv6, is too short for its headers,
 * its offsets do not fit its link type, or flow is out of range (the template is then
 * unchanged). */
int tx_set_template(tx *t, uint32_t flow, const uint8_t *frame, uint32_t len, unsigned link,
                    uint32_t l3_off, uint32_t l4_off);
void tx_clear_template(tx *t, uint32_t flow);
/* Queues a segment of flow at cycle at. Returns 1 when queued; 0 when refused (no template for
 * the flow, or the queue is full), counted. */
int tx_emit(tx *t, uint32_t flow, const tx_seg *s, cycle_t at);

/* The departure cycle of the oldest frame not yet moved to the out-queue, or CYCLE_NEVER. */
cycle_t tx_next_cycle(const tx *t);
/* Moves every frame whose departure cycle is at or before now to the out-queue; returns how
 * many. */
unsigned tx_advance(tx *t, cycle_t now);
/* Departed frames, in departure order. *o points into the queue and stays valid until
 * tx_pop_out; false when no frame has departed. */
bool tx_peek_out(const tx *t, const tx_out **o);
/* pre: tx_peek_out would return true. */
void tx_pop_out(tx *t);
/* True when the queue holds nothing (none building, waiting or departed and not popped). */
bool tx_idle(const tx *t);
const tx_stats *tx_get_stats(const tx *t);
/* The end of the warm-up (STYLE.md): zeroes the counters. */
void tx_reset_stats(tx *t);
/* Frames occupying the queue (of cfg.depth), departed ones not yet popped included. */
uint32_t tx_queued(const tx *t);

#ifdef __cplusplus
}
#endif
#endif

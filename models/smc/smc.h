/* smc: the socket memory controller (claims 16, 17, 27, 28). Per flow, a receive buffer in
 * external memory made of fixed-size pages from one global pool; payload is copied into it from
 * the scratchpad at its stream offset, and in-order data is delivered to the host.
 *
 * The cores drive it through commands that answer at once (core.h's command callback):
 *   smc_open    sock_open:    size the flow's receive buffer (rule below); no page yet.
 *   smc_space   sock_space:   bytes the flow may still be sent (its advertised window).
 *   smc_append  sock_append:  place len bytes at a stream offset, all or nothing.
 *   smc_deliver sock_deliver: every byte below this stream offset is in order: hand it over.
 *   smc_close   flow_close:   free the flow's pages.
 * and the host application (models/host) reads what was handed over with smc_consume.
 *
 * Buffer size (claim 16, documented in docs/config.md): with the peer's MSS m (536 when 0) and
 * the receive window shift s in use (0 when window scaling was not negotiated),
 *     size = clamp(m * cfg.buf_segments, cfg.buf_min, min(cfg.buf_max, 65535 << s))
 * rounded down to whole pages (at least one page). When cfg.buf_min exceeds the upper bound
 * (65535 with s = 0, say), the upper bound wins.
 *
 * Stream offsets: the microcode passes 32-bit offsets (sequence number minus the initial one,
 * modulo 2^32); the SMC keeps 64-bit offsets per flow and unwraps a 32-bit offset to the one
 * nearest the flow's consumed offset (consumed + (int32_t)(off - (uint32_t)consumed), so an
 * offset up to 2^31 bytes below delivered unwraps below it), so flows may carry more than 4 GiB.
 * (The unwrapping is relative to delivered, the microcode's rcv_nxt, rather than consumed.)
 *
 * Buffer: the bytes [consumed, consumed + size) of the stream, where consumed is how far the host
 * application has read, and delivered (>= consumed) how far the data is in order and handed to
 * it: [consumed, delivered) is the unread backlog, which the advertised window leaves out. Page
 * slot k of the buffer holds stream bytes [k*P, (k+1)*P) for the k in that window (P = page_size).
 * When consumed lies inside a page, the window touches size/P + 1 pages (the partly consumed first
 * one and a partly usable last one), so a flow may hold up to size/P + 1 pages. An append allocates
 * the page of each slot it touches that has none, one page per allocation operation (claim 17:
 * page_allocs counts operations, and each takes one page), and copies the bytes in (a write of len
 * bytes on the memory channel, issued at the given cycle). An append is refused, changing nothing,
 * when any byte lies outside the window (refused_window; a byte below delivered or at/after
 * consumed + size) or the pool has fewer free pages than the append needs (refused_pool: the data
 * is dropped and the microcode leaves rcv_nxt, so the sender retransmits; so is an append whose new
 * page the host cannot allocate). Both count bytes_refused. An append of 0 bytes to an open flow at
 * an offset in [consumed, consumed + size] is placed (counted in appends) without a memory access.
 * bytes_dup counts, exactly, the bytes of an accepted append at offsets below the end of the
 * highest range appended to the flow before it: retransmissions, and fills of holes left by
 * out-of-order data, both count (the SMC does not track which bytes below that end were placed).
 * Such bytes overwrite what the buffer held.
 *
 * Delivery: smc_deliver(upto) marks [delivered, upto) in order: handed to the host application,
 * which reads it later (or at once) with smc_consume(n): the next n unread bytes go to the host
 * through the deliver callback, in page-sized pieces or less, in order, stamped with the cycle
 * the host has them: a read of those bytes on the memory channel issued at max(at, the completion
 * of the last copy into the flow's buffer). Every page whose bytes are all below consumed then
 * returns to the pool. upto (unwrapped like an append offset) beyond the highest byte ever
 * appended, or below delivered, is clamped (counted as deliver_clamped: a microcode bug a test
 * should see). Bytes below that highest byte that were never appended (a hole: also a microcode
 * bug) are read as zeros. The callback must not call back into the smc.
 *
 * Send buffer (issue 5). smc_open also opens the flow's send buffer, sized by the same rule
 * (claim 16: the peer's MSS and the window shift in use; the peer's receive window does not
 * bound what the host may queue, so the one rule serves both directions); smc_open_roce opens
 * none (a RoCE queue pair sends nothing through it). The send buffer holds the stream bytes
 * [acked, end): end (written_end) is how far the host has written, acked how far the peer has
 * acknowledged. Stream offset 0 is the first byte after our SYN, as on the receive side.
 *   smc_snd_write   the host writes at end as many bytes as space (size - (end - acked)) and
 *                   the pool allow; a write on the memory channel issued at the given cycle.
 *   smc_snd_read    tx_data: the transmit unit reads payload in [acked, end); a read on the
 *                   memory channel issued at max(at, the completion of the flow's last write).
 *   smc_snd_ack     snd_ack: every byte below the offset is acknowledged: freed.
 *   smc_snd_pending snd_space: bytes written beyond an offset.
 * Pages come from the same pool as the receive buffers': page slot k holds stream bytes
 * [k*P, (k+1)*P). A write takes a page for each slot it reaches that has none, one page per
 * allocation operation (claim 17; page_allocs and page_frees count both buffers' pages). An ack
 * returns every page whose bytes are all below acked; so, as on the receive side, the page of
 * acked stays held while acked is inside it, and a flow's send buffer holds at most size/P + 1
 * pages, consecutive slots. The pool may cut a write short: the host keeps the rest and writes
 * again when acks free pages (snd_refused_pool counts such writes). 32-bit offsets unwrap to the
 * 64-bit offset nearest acked (acked + (int32_t)(off - (uint32_t)acked)), so flows may send
 * more than 4 GiB. An ack offset beyond end is taken as end; it counts as snd_ack_clamped
 * unless it is end + 1 (the microcode may pass the ack of our FIN, which takes one sequence
 * number after the data). Each ack that frees bytes calls the snd_acked callback (flow, bytes
 * freed, cycle) so that the host application may write more; it must not call back into the smc.
 * smc_close frees both buffers; bytes written and never acknowledged count snd_bytes_discarded.
 *
 * Invariant (SPEC §7): pages_in_use = sum over open flows of their pages held (smc_pages_held:
 * both buffers). */
#ifndef SPPSIM_SMC_H
#define SPPSIM_SMC_H

#include "params.h"
#include "sim_types.h"
#include "stats.h"
#include "xmem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct smc_cfg {
    uint32_t clock_mhz;
    uint32_t page_size;    /* bytes per page */
    uint32_t pages;        /* pages in the global pool */
    uint32_t buf_min;      /* bytes */
    uint32_t buf_max;      /* bytes */
    uint32_t buf_segments; /* buffer size in peer MSS-sized segments, before clamping */
    uint32_t mem_latency;
    uint32_t mem_bytes_per_cycle;
    uint32_t mem_outstanding;
} smc_cfg;

typedef struct smc_stats {
    uint64_t opens;
    uint64_t closes;
    uint64_t appends;        /* placed; refusals are counted apart */
    uint64_t bytes_appended; /* accepted, duplicates included */
    uint64_t bytes_dup;
    uint64_t refused_window;
    uint64_t refused_pool;
    uint64_t bytes_refused;
    uint64_t page_allocs; /* allocation operations: one page each (claim 17) */
    uint64_t page_frees;
    uint64_t pages_peak;
    uint64_t bytes_delivered; /* put in order for the host (smc_deliver) */
    uint64_t bytes_consumed;  /* read by the host (smc_consume) */
    uint64_t bytes_discarded; /* held in a buffer when its flow closed, never read */
    uint64_t deliver_clamped;
    /* the send buffers */
    uint64_t snd_writes; /* host writes that took bytes */
    uint64_t snd_bytes_written;
    uint64_t snd_refused_pool;   /* writes cut short by the pool (host memory included) */
    uint64_t snd_refused_closed; /* writes of len > 0 to a flow without a send buffer */
    uint64_t snd_reads;
    uint64_t snd_bytes_read;
    uint64_t snd_bad_read;
    uint64_t snd_acks; /* acks that freed bytes */
    uint64_t snd_bytes_acked;
    uint64_t snd_ack_clamped;
    uint64_t snd_bytes_discarded; /* written, never acked, when the flow closed */
} smc_stats;

/* The host receives len bytes of flow's stream at stream offset off (64-bit), at cycle at. data
 * is valid for the call only. */
typedef void (*smc_deliver_fn)(void *ctx, uint32_t flow, uint64_t off, const uint8_t *data,
                               uint32_t len, cycle_t at);

/* bytes of flow's send buffer were acknowledged and freed at cycle at (smc_snd_ack): the host
 * may write that much more. */
typedef void (*smc_snd_acked_fn)(void *ctx, uint32_t flow, uint32_t bytes, cycle_t at);

typedef struct smc smc; /* opaque */

extern const param_table smc_params;
extern const stat_def smc_stat_defs[];
extern const size_t smc_stat_count;

void smc_cfg_default(smc_cfg *c);
/* For flows proxies 0 .. flows-1. Page memory is allocated as pages are taken, so a large pool
 * costs host memory only when used. Returns it, or NULL with err filled. */
smc *smc_new(const smc_cfg *cfg, uint32_t flows, sim_err *err);
void smc_free(smc *s);
void smc_set_deliver(smc *s, smc_deliver_fn fn, void *ctx);

/* Opens (or re-opens: smc_close then open) flow's receive and send buffers at stream offset 0,
 * both of the size it returns (bytes), or 0 (nothing opened) for flow >= flows. It allocates
 * nothing: a flow's page indexes grow as it holds pages. */
uint32_t smc_open(smc *s, uint32_t flow, uint32_t peer_mss, uint32_t shift);
/* The same for a RoCE queue pair (sock_open of a RoCE flow: r1 = the QP's buffer hint), but
 * without a send buffer (its smc_snd_* calls act as for a flow not open):
 *     size = clamp(buffer, cfg.buf_min, cfg.buf_max)
 * rounded down to whole pages (at least one page). */
uint32_t smc_open_roce(smc *s, uint32_t flow, uint32_t buffer);
/* An RDMA WRITE's payload (len bytes) moved into a registered host memory region (the host
 * model keeps the bytes; host_write): a write of len bytes on the memory channel, issued at at.
 * Returns the cycle it completes. */
cycle_t smc_dma_write(smc *s, uint32_t len, cycle_t at);
/* Bytes free for the flow's window: size - (delivered - consumed), the buffer less the unread
 * backlog; 0 for a flow not open. It does not shrink with out-of-order data held above
 * delivered: as in TCP, the window is measured from rcv_nxt (here delivered). */
uint32_t smc_space(const smc *s, uint32_t flow);
/* Returns 1 when placed, 0 when refused (see above; a flow not open refuses as window). */
uint32_t smc_append(smc *s, uint32_t flow, uint32_t off, const uint8_t *data, uint32_t len,
                    cycle_t at);
/* Writes bytes [from, from + n) of an append's data to dst (a page: n never crosses one). */
typedef void (*smc_fill_fn)(void *ctx, uint32_t from, uint8_t *dst, uint32_t n);
/* smc_append of data the caller does not hold in one piece (a frame in scattered scratchpad
 * cells): fill writes each page's part straight into the page, once the append is accepted, in
 * increasing order of from. Counts, timing and result as smc_append's. */
uint32_t smc_append_with(smc *s, uint32_t flow, uint32_t off, uint32_t len, smc_fill_fn fill,
                         void *ctx, cycle_t at);
/* Returns the bytes put in order by this call. at is unused (nothing moves until a read). */
uint32_t smc_deliver(smc *s, uint32_t flow, uint32_t upto, cycle_t at);
/* The host application reads up to bytes of flow's unread data at cycle at (see Delivery);
 * returns the bytes read. */
uint32_t smc_consume(smc *s, uint32_t flow, uint32_t bytes, cycle_t at);
/* Bytes of flow delivered but not yet read (0 for a flow not open). */
uint32_t smc_unread(const smc *s, uint32_t flow);
/* ---- the send buffer (see Send buffer above); any flow number, as the rest ---------------- */
void smc_set_snd_acked(smc *s, smc_snd_acked_fn fn, void *ctx);
/* Bytes the host may still write: size - (end - acked); 0 without a send buffer. The pool may
 * still cut a write short. */
uint32_t smc_snd_space(const smc *s, uint32_t flow);
/* The host writes min(len, space, what the pool can hold) bytes of data at end, issued on the
 * memory channel at cycle at; returns the bytes taken (0 for len 0, a full buffer, a dry pool,
 * or a flow without a send buffer: snd_refused_closed). *done (when not NULL): the cycle the
 * write completes (at when nothing was written). */
uint32_t smc_snd_write(smc *s, uint32_t flow, const uint8_t *data, uint32_t len, cycle_t at,
                       cycle_t *done);
/* The transmit unit reads len bytes at stream offset off (32-bit, unwrapped) into out (may be
 * NULL: timing only). Returns 0, with *done (when not NULL) = the cycle the last byte is read,
 * or -1 (nothing read or counted but snd_bad_read, *done = at) when a byte lies outside
 * [acked, end) or the flow has no send buffer. len 0 inside [acked, end] reads nothing. */
int smc_snd_read(smc *s, uint32_t flow, uint32_t off, uint8_t *out, uint32_t len, cycle_t at,
                 cycle_t *done);
/* Every byte below off (32-bit, unwrapped; clamped to end) is acknowledged: frees them and the
 * pages wholly below; returns the bytes newly acknowledged (0 for an offset at or below acked:
 * a duplicate), calling the snd_acked callback when > 0. No memory access. */
uint32_t smc_snd_ack(smc *s, uint32_t flow, uint32_t off, cycle_t at);
/* Bytes the host has written beyond off (32-bit, unwrapped): end - off, or 0 when off >= end
 * (snd_space's answer). */
uint32_t smc_snd_pending(const smc *s, uint32_t flow, uint32_t off);
uint64_t smc_snd_end(const smc *s, uint32_t flow);     /* written_end, 64-bit */
uint64_t smc_snd_acked(const smc *s, uint32_t flow);   /* acked, 64-bit */
uint32_t smc_snd_unacked(const smc *s, uint32_t flow); /* end - acked */
uint32_t smc_snd_size(const smc *s, uint32_t flow);    /* 0: no send buffer */

/* Frees every page of flow (both buffers) and forgets it; bytes appended but never delivered
 * count as bytes_discarded, bytes written to its send buffer but never acknowledged as
 * snd_bytes_discarded. Idempotent (closing a flow not open does nothing, not even count). Every
 * function takes any flow number: one >= flows is a flow not open. */
void smc_close(smc *s, uint32_t flow);

const smc_stats *smc_get_stats(const smc *s);
/* The end of the warm-up (STYLE.md: warm-up, measure, drain): zeroes the counters (its memory
 * channel's too); the peaks restart from the current level. */
void smc_reset_stats(smc *s);
const xmem_stats *smc_mem_stats(const smc *s);
uint32_t smc_pages_in_use(const smc *s);
/* A hint, for the host's speed only: flow's buffer bookkeeping is about to be used (its event was
 * just dispatched), so its cache lines are fetched now. Changes nothing; a flow out of range is
 * ignored. */
void smc_prefetch(const smc *s, uint32_t flow);
uint32_t smc_pages_held(const smc *s, uint32_t flow);
uint32_t smc_flows_open(const smc *s);
/* Sum of smc_pages_held over open flows (the invariant's right-hand side). */
uint64_t smc_pages_held_total(const smc *s);
/* Bytes of host memory the model holds for its own bookkeeping: the smc itself, its per-flow
 * state for all flows, the page of zeros that stands for a hole, and the page indexes of flows
 * holding more pages than fit in their inline entries. The page buffers (page_size bytes each,
 * as many as pages_peak) are not counted. A flow's bookkeeping follows the pages it holds, not
 * its buffer size: a flow holding few pages costs only its fixed per-flow state. */
size_t smc_host_bytes(const smc *s);
/* Bytes of host memory in page buffers: every buffer malloc'd so far, in use or free (they are
 * kept for reuse). A receive page gives its buffer back once the host has read all the flow's
 * data, so this follows the unread and out-of-order data, not the pages held. */
size_t smc_buffer_bytes(const smc *s);

#ifdef __cplusplus
}
#endif
#endif

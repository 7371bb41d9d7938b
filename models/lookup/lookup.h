/* lookup: the lookup controller (LUC, claims 7, 8, 11-14, 22-25). It keeps every flow's state
 * record in modelled external memory (an xmem channel), optionally behind an on-chip flow-state
 * cache, moves the workspace portions an event needs into the local memory of the core that
 * will run it, writes them back when the core is done, and runs the flow timers.
 *
 * Records: cfg.flows records of ws_size bytes (the microcode image's layout), indexed by the
 * dispatcher's proxy. Portions: uc_portion offsets and sizes from the image.
 *
 * Fetch (luc_push, one request per dispatched event), served in arrival order by one engine
 * that starts a request at max(now, engine free) and is then free again after issue_cycles:
 *   bytes = sum of the sizes of the requested portions;
 *   fresh (the dispatcher just allocated the proxy): the record is zeroed, no memory read;
 *       ready = start + issue_cycles;
 *   cached (cfg.cache_flows > 0 and the record is in the cache): ready = start + cache_cycles;
 *   otherwise: the whole record is read from external memory,
 *       ready = xmem_access(start + issue_cycles, ws_size) and, with a cache, it is inserted
 *       (the least recently used record is evicted; a dirty one is written back to external
 *       memory, which costs bus time but does not delay this request);
 *   then the portions move into a local-memory slot: done = ready + ceil(bytes /
 * move_bytes_per_cycle). A request also needs a free workspace slot (cfg.slots, all cores
 * together): the engine waits for one (stall_no_slot). At done the job enters the out-queue (full:
 * it waits, stall_out_full). The slot holds a copy of the whole record in which only the requested
 * portions are current; the core reads and writes it in place (cluster_job.ws).
 *
 * Write-back (luc_writeback, when the core has finished): the requested portions are copied back
 * into the record (the other bytes of the slot are ignored) and the slot is freed at once. With
 * a cache the record becomes dirty in the cache; without one, an external-memory write of the
 * portions' bytes is issued at now (posted: nothing waits for it).
 *
 * Timers (claims 22-25): LUC_TIMERS timers per flow, each armed with an expiry cycle in a timer
 * wheel of cfg.timer_slots slots of cfg.timer_tick_cycles each; an expiry is rounded up to the
 * next tick. Re-arming replaces the earlier expiry; cancelling an unarmed timer does nothing.
 * When the tick of an armed timer is reached (luc_advance), the timer is disarmed and a timer
 * event is queued in the timer out-queue: type = timer_type[id] (luc_set_timer_types; TCP:
 * EV_TCP_RTO + id), class EVC_TIMER, channel CH_TIMER, flow = the proxy, arg = the id,
 * t_arrival = 0 (the caller stamps it), no frame. luc_flow_close disarms all of a flow's timers.
 * luc_next_cycle accounts for the earliest armed timer, so an idle chip wakes only when one is
 * due. */
#ifndef SPPSIM_LOOKUP_H
#define SPPSIM_LOOKUP_H

#include "event.h"
#include "image.h"
#include "params.h"
#include "sim_types.h"
#include "stats.h"
#include "xmem.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LUC_TIMERS 4

typedef struct luc_cfg {
    uint32_t clock_mhz;
    uint32_t issue_cycles;         /* engine time per request */
    uint32_t mem_latency;          /* external memory: cycles to the first data */
    uint32_t mem_bytes_per_cycle;  /* external memory bandwidth */
    uint32_t mem_outstanding;      /* external memory requests in flight */
    uint32_t cache_flows;          /* on-chip flow-state cache, in records; 0: none */
    uint32_t cache_cycles;         /* a cache hit */
    uint32_t move_bytes_per_cycle; /* into a core's local memory */
    uint32_t slots;                /* workspace slots in the cores' local memories */
    uint32_t in_depth;
    uint32_t out_depth;
    uint32_t timer_slots;       /* timer wheel slots */
    uint32_t timer_tick_cycles; /* timer wheel resolution */
} luc_cfg;

/* A dispatched event as the LUC receives it (from disp_out). */
typedef struct luc_req {
    event ev;
    uint8_t cluster;
    uint8_t portions;
    uint16_t core;
    uint8_t fresh; /* disp_out.opened */
} luc_req;

/* A job ready for a core: the request plus its workspace. ws points at slot's buffer of ws_len
 * (= the image's ws_size) bytes, valid until luc_writeback(slot). */
typedef struct luc_job {
    event ev;
    uint8_t cluster;
    uint8_t portions;
    uint16_t core;
    uint32_t slot;
    uint8_t *ws;
    uint32_t ws_len;
} luc_job;

typedef struct luc_stats {
    uint64_t requests;
    uint64_t fresh;
    uint64_t cache_hits;
    uint64_t cache_misses;
    uint64_t evictions;
    uint64_t writebacks;
    uint64_t bytes_moved; /* portions moved into and out of local memory */
    uint64_t timers_set;
    uint64_t timers_cancelled;
    uint64_t timers_fired;
    uint64_t timers_peak; /* most timers armed at once */
    uint64_t stall_in_full;
    uint64_t stall_out_full;
    uint64_t stall_no_slot;
    uint64_t busy_cycles;
} luc_stats;

typedef struct luc luc; /* opaque */

extern const param_table luc_params;
extern const stat_def luc_stat_defs[];
extern const size_t luc_stat_count;

void luc_cfg_default(luc_cfg *c);
/* flows records laid out as img describes (img must outlive the LUC). Returns it, or NULL with
 * err filled. */
luc *luc_new(const luc_cfg *cfg, uint32_t flows, const uc_image *img, sim_err *err);
/* The same with one image per protocol (by_proto[p] NULL, or by_proto NULL: img): a record is
 * as large as the largest image's ws_size, and a request moves the portions of the image of its
 * event's protocol (ev.proto). */
luc *luc_new_protos(const luc_cfg *cfg, uint32_t flows, const uc_image *img,
                    const uc_image *const by_proto[PROTO_COUNT], sim_err *err);
void luc_free(luc *l);
/* Event type raised by timer id of a TCP flow (default: EV_TCP_RTO + id). A timer expires with
 * the protocol of its flow's last request (ev.proto); a RoCE flow's timers expire as
 * EV_ROCE_ACK_TIMER (arg = the id) by default. */
void luc_set_timer_types(luc *l, const uint8_t types[LUC_TIMERS]);
void luc_set_timer_types_proto(luc *l, unsigned proto, const uint8_t types[LUC_TIMERS]);

bool luc_can_accept(const luc *l);
void luc_push(luc *l, const luc_req *r, cycle_t now); /* pre: luc_can_accept */
void luc_refuse(luc *l);
/* The core has finished the job that holds slot (see above). */
void luc_writeback(luc *l, uint32_t slot, cycle_t now);

/* Timers of flow; id < LUC_TIMERS, flow < flows. expiry is an absolute cycle. */
void luc_timer_set(luc *l, uint32_t flow, unsigned id, cycle_t expiry, cycle_t now);
void luc_timer_cancel(luc *l, uint32_t flow, unsigned id);
/* The flow is finished: cancels its timers and zeroes its state record (an event parked behind
 * the close then finds a new flow's record). */
void luc_flow_close(luc *l, uint32_t flow);
uint32_t luc_timers_armed(const luc *l);

cycle_t luc_next_cycle(const luc *l);
/* The part of luc_next_cycle that timers make: the tick of the earliest armed timer (a lower
 * bound: its timers may have been cancelled since), or CYCLE_NEVER. A caller that schedules
 * timer wake-ups apart from engine work keeps far-off wake-ups from being cancelled and
 * re-made at every burst of work. */
cycle_t luc_next_timer(const luc *l);
/* Both at once: returns luc_next_cycle and stores luc_next_timer in *timer. Right after
 * luc_advance(l, now), luc_next_cycle(l) <= now means a further luc_advance(l, now) would do
 * something (start or finish a job, fire a timer, or count a stall), possibly because room
 * appeared in an out-queue; otherwise it would return 0 and change nothing. */
cycle_t luc_next_cycles(const luc *l, cycle_t *timer);
unsigned luc_advance(luc *l, cycle_t now);
bool luc_peek_out(const luc *l, luc_job *j);
/* luc_peek_out and luc_peek_timer in place (no copy), or NULL when empty; valid until the next
 * pop or luc_advance. */
const luc_job *luc_front_out(const luc *l);
const event *luc_front_timer(const luc *l);
void luc_pop_out(luc *l);
bool luc_peek_timer(const luc *l, event *e);
void luc_pop_timer(luc *l);
/* No request queued or in progress and both out-queues empty (armed timers do not count). */
bool luc_idle(const luc *l);

const luc_stats *luc_get_stats(const luc *l);
/* The end of the warm-up (STYLE.md: warm-up, measure, drain): zeroes the counters (its memory
 * channel's too); the peaks restart from the current level. */
void luc_reset_stats(luc *l);
const xmem_stats *luc_mem_stats(const luc *l);
uint32_t luc_slots_in_use(const luc *l);
/* A hint, for the host's speed only: flow's record, bookkeeping and timers are about to be used
 * (its event was just dispatched), so their cache lines are fetched now. Changes nothing of the
 * model; flow out of range is ignored. */
void luc_prefetch(const luc *l, uint32_t flow);
/* The current record of flow (for tests and the per-flow report); ws_size bytes. */
const uint8_t *luc_record(const luc *l, uint32_t flow);
void luc_describe(const luc *l, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif

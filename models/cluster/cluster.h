/* cluster: a cluster of N microcoded protocol cores (claims 5, 6, 29) that all load the same
 * image. Each core has its own bounded input queue of jobs (an event and the flow's workspace);
 * the cluster has one bounded out-queue of results that the caller drains.
 *
 * Timing: a core runs one event at a time, to completion. A queued job starts at
 *     max(the cycle it was pushed, the cycle its core becomes free)
 * and finishes at the end cycle core_run computes (the handler runs, in one core_run call, when
 * the job starts; its result is held until the end cycle). At the end cycle the result enters
 * the out-queue and the core is free. Results leave in end-cycle order, ties by core index.
 * When the out-queue is full the result waits in its core (counted once as stall_out_full) and
 * the core stays blocked; the result enters the out-queue, and the core is free, at the now of
 * the first cluster_advance that finds room (call it after each cluster_pop_out). */
#ifndef SPPSIM_CLUSTER_H
#define SPPSIM_CLUSTER_H

#include "core.h"
#include "event.h"
#include "image.h"
#include "params.h"
#include "ring.h"
#include "scratchpad.h"
#include "sim_types.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cluster_cfg {
    uint32_t cores;
    uint32_t in_depth;  /* jobs waiting per core (the running one not included) */
    uint32_t out_depth; /* results in the out-queue */
} cluster_cfg;

/* One event to run. ws is the flow's workspace (ws_len bytes), owned by the caller, read and
 * written in place by the core when the job starts; it must stay valid until the job's result
 * has been popped. tag is the caller's own (the cluster only hands it back in the result). */
typedef struct cluster_job {
    event ev;
    uint8_t *ws;
    uint32_t ws_len;
    uint64_t tag;
} cluster_job;

/* A finished job: its event, the core that ran it, the job's tag, and the core's result
 * (res.start, res.end, the fault, the commands to carry out). */
typedef struct cluster_done {
    event ev;
    unsigned core;
    uint64_t tag;
    core_result res;
} cluster_done;

/* Per-core counters. The first six are the core engine's own (core_stats), the rest the
 * cluster's queues. */
typedef struct cluster_core_stats {
    uint64_t events;
    uint64_t busy_cycles; /* cycles running handlers (not the cycles blocked on the out-queue) */
    uint64_t insns;
    uint64_t stall_ws;
    uint64_t stall_sp;
    uint64_t faults;
    uint64_t stall_in_full;  /* pushes refused because the core's input queue was full */
    uint64_t stall_out_full; /* results that had to wait for out-queue room */
    uint64_t max_queue;      /* most jobs ever waiting in the core's input queue */
} cluster_core_stats;

/* An instruction-trace record as the cluster delivers it: the core's record, which core ran it
 * and the flow of the event. The core_trace_rec pointer a cluster trace callback receives
 * always points at the rec member of one of these; cluster_trace_of recovers it. */
typedef struct cluster_trace_rec {
    core_trace_rec rec; /* first member: see cluster_trace_of */
    unsigned core;
    uint32_t flow;
} cluster_trace_rec;

static inline const cluster_trace_rec *cluster_trace_of(const core_trace_rec *r)
{
    return (const cluster_trace_rec *)(const void *)r;
}

typedef struct cluster_qjob { /* a job waiting in a core's input queue */
    cluster_job j;
    cycle_t at; /* the cycle it was pushed */
} cluster_qjob;

typedef struct cluster_slot { /* one core and its queue */
    core core;
    ring in;                /* cluster_qjob */
    bool busy;              /* a job has run; its result waits for its end cycle (done->res.end) */
    bool blocked;           /* ... and, past it, for out-queue room */
    cycle_t free;           /* when the core can start its next job */
    cluster_done *done;     /* while busy: the result of the job in the core (a pool record) */
    core_trace_fn trace_fn; /* cluster_trace_core; NULL: none */
    void *trace_ctx;
    cluster_core_stats st; /* the first six: filled from core.st - base by cluster_stats */
    core_stats base;       /* core.st at the last cluster_reset_stats */
} cluster_slot;

typedef struct cluster {
    cluster_cfg cfg;
    const scratchpad *sp; /* not owned; may be NULL */
    cluster_slot *slots;  /* cfg.cores */
    /* Results are never copied: a job's result is written, when it starts, into a record of
     * the pool (cores + out_depth records: one per busy core, one per out-queue entry), which
     * its core holds and then the out-queue, until cluster_pop_out gives it back. */
    cluster_done *pool;
    uint32_t *free_recs; /* pool indices of the records not in use (the last freed on top) */
    uint32_t nfree;
    ring out;              /* cluster_done *, into the pool */
    cycle_t now;           /* latest cycle seen by push or advance */
    cycle_t due;           /* no start or completion is due before this cycle (a lower bound;
                            * exact while no core is blocked): lets cluster_advance skip the
                            * scan of every core when nothing is due */
    uint32_t nblocked;     /* cores whose result waits for out-queue room */
    uint64_t *active;      /* bit i of word i / 64: core i is busy or has jobs queued (the only
                            * cores cluster_advance needs to look at) */
    core_trace_fn flow_fn; /* cluster_trace_flow; NULL: none */
    void *flow_ctx;
    uint32_t flow;
} cluster;

extern const param_table cluster_params;
extern const stat_def cluster_stat_defs[]; /* the fields of cluster_core_stats */
extern const size_t cluster_stat_count;

void cluster_cfg_default(cluster_cfg *c);
/* One core per index, each running img with the costs of ccfg. img must outlive the cluster;
 * sp (the frames' scratchpad) may be NULL when no event has a frame. Returns 0, or -1 with err
 * filled (cfg out of range, ccfg or img rejected by core_init, no memory); cluster_fini is safe
 * after a failed init. */
int cluster_init(cluster *c, const cluster_cfg *cfg, const core_cfg *ccfg, const uc_image *img,
                 const scratchpad *sp, sim_err *err);
/* Every core also runs img for the events of protocol proto (core_add_image). Returns 0, or -1
 * with err filled (img rejected). */
int cluster_add_image(cluster *c, unsigned proto, const uc_image *img, sim_err *err);
void cluster_fini(cluster *c);

/* pre for every function taking core: core < cfg.cores. */
static inline bool cluster_can_accept(const cluster *c, unsigned core)
{
    return !ring_full(&c->slots[core].in);
}
/* Queues j (copied; j->ws is borrowed, see cluster_job) on core at cycle now.
 * pre: cluster_can_accept. */
void cluster_push(cluster *c, unsigned core, const cluster_job *j, cycle_t now);
/* cluster_push without the copy: queues a job on core at cycle now and returns its storage,
 * which the caller fills before the next call into the cluster. pre: cluster_can_accept. */
cluster_job *cluster_push_slot(cluster *c, unsigned core, cycle_t now);
/* Counts a push the caller could not make because the core's queue was full (stall_in_full). */
void cluster_refuse(cluster *c, unsigned core);

/* The earliest pending job start or completion, or CYCLE_NEVER when idle or only waiting for
 * out-queue room (once there is room, the latest cycle seen, so that the blocked result goes). */
cycle_t cluster_next_cycle(const cluster *c);
/* Does every start and completion due at or before now, in cycle order; returns how many.
 * (Inline: most calls find nothing due; cluster_advance_due does the work.) */
unsigned cluster_advance_due(cluster *c, cycle_t now);
static inline unsigned cluster_advance(cluster *c, cycle_t now)
{
    if (now > c->now)
        c->now = now;
    return now < c->due ? 0 : cluster_advance_due(c, now);
}
/* The oldest result, without removing it; false when the out-queue is empty. */
bool cluster_peek_out(const cluster *c, cluster_done *d);
/* The oldest result in place (a result is large: this saves peek's copy), or NULL when the
 * out-queue is empty; valid until cluster_pop_out removes it. */
static inline const cluster_done *cluster_front(const cluster *c)
{
    return ring_empty(&c->out) ? NULL : *(cluster_done *const *)ring_front(&c->out);
}
/* Removes the oldest result. pre: cluster_peek_out would return true. */
void cluster_pop_out(cluster *c);
/* True when no job is queued or in a core and the out-queue is empty. */
bool cluster_idle(const cluster *c);

/* The core's counters (valid until the next call for the same core). */
const cluster_core_stats *cluster_stats(const cluster *c, unsigned core);
/* cluster_stats(c, core)->busy_cycles alone, without filling the rest (for the sampler). */
static inline uint64_t cluster_busy_cycles(const cluster *c, unsigned core)
{
    return c->slots[core].core.st.busy_cycles - c->slots[core].base.busy_cycles;
}
/* The end of the warm-up (STYLE.md: warm-up, measure, drain): zeroes the counters of every core;
 * the peaks restart from the current level. */
void cluster_reset_stats(cluster *c);
/* insns / busy_cycles of core (0 before it has run). */
double cluster_ipc(const cluster *c, unsigned core);
/* busy_cycles / elapsed of core (0 when elapsed is 0). */
double cluster_busy_share(const cluster *c, unsigned core, cycle_t elapsed);

/* One line, NUL-terminated and cut to size, naming where d's event ended:
 *   "core 3: fault budget at pc 17 (tcp.uc:42: ja loop), flow 12, event tcp_data"
 * A trap adds its code ("fault trap 7 at pc ..."); a fin reads "ok at pc ..."; no handler reads
 * "fault no_entry" with no pc; the parenthesis is left out when the image has no source map;
 * FLOW_NONE reads "flow none". */
void cluster_fault_report(const cluster *c, const cluster_done *d, char *buf, size_t size);

/* Installs fn (NULL: none) on every core to answer commands as they issue (core_set_cmd). */
void cluster_set_cmd(cluster *c, core_cmd_fn fn, void *ctx);

/* Instruction traces (models never print). fn is called with ctx once per instruction retired
 * by core (cluster_trace_core) or by any core running an event of flow (cluster_trace_flow; one
 * flow at a time), from inside cluster_advance; the record is a cluster_trace_rec (see
 * cluster_trace_of) valid for the call only. fn NULL removes the trace. The callback is
 * installed on a core only while it runs an event that is traced. */
void cluster_trace_core(cluster *c, unsigned core, core_trace_fn fn, void *ctx);
void cluster_trace_flow(cluster *c, uint32_t flow, core_trace_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif

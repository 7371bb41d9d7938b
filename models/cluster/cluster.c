/* cluster: N microcoded cores behind per-core input queues and one out-queue (claims 5, 6,
 * 29). See cluster.h for the timing contract. A job's handler runs (core_run) when the job
 * starts, so its end cycle is known at once; the result is held in the core until then. */
#include "cluster.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const param_def defs[] = {
    {"cores", PARAM_U32, offsetof(cluster_cfg, cores), 8, 1, 256, "cores",
     "protocol cores in the cluster, all running the same image", NULL},
    {"in_depth", PARAM_U32, offsetof(cluster_cfg, in_depth), 4, 1, 4096, "events",
     "jobs each core's input queue holds besides the one it runs", NULL},
    {"out_depth", PARAM_U32, offsetof(cluster_cfg, out_depth), 64, 1, 65536, "events",
     "results the out-queue holds before a finished core must wait", NULL},
};
const param_table cluster_params = {"cluster", defs, sizeof defs / sizeof defs[0]};

#define S(name, desc)                                                                              \
    {                                                                                              \
#name, desc, offsetof(cluster_core_stats, name)                                            \
    }
const stat_def cluster_stat_defs[] = {
    S(events, "events the core ran (faulted ones included)"),
    S(busy_cycles, "cycles spent running handlers"),
    S(insns, "instructions retired"),
    S(stall_ws, "cycles spent on workspace accesses beyond the first of each"),
    S(stall_sp, "cycles spent on scratchpad frame loads beyond the first of each"),
    S(faults, "events that ended in a fault"),
    S(stall_in_full, "pushes refused because the core's input queue was full"),
    S(stall_out_full, "results that had to wait for out-queue room"),
    S(max_queue, "most jobs waiting in the core's input queue at once"),
};
#undef S
const size_t cluster_stat_count = sizeof cluster_stat_defs / sizeof cluster_stat_defs[0];

void cluster_cfg_default(cluster_cfg *c) { param_defaults(&cluster_params, c); }

int cluster_init(cluster *c, const cluster_cfg *cfg, const core_cfg *ccfg, const uc_image *img,
                 const scratchpad *sp, sim_err *err)
{
    memset(c, 0, sizeof *c);
    c->flow = FLOW_NONE;
    c->due = CYCLE_NEVER;
    if (param_validate(&cluster_params, cfg, err))
        return -1;
    if (!ccfg || !img)
        return sim_err_set(err, "cluster: no core configuration or no image");
    uint32_t nrecs = cfg->cores + cfg->out_depth; /* cluster.h: at most this many results live */
    c->slots = calloc(cfg->cores, sizeof *c->slots);
    c->active = calloc((cfg->cores + 63u) / 64u, sizeof *c->active);
    c->pool = calloc(nrecs, sizeof *c->pool);
    c->free_recs = calloc(nrecs, sizeof *c->free_recs);
    if (!c->slots || !c->active || !c->pool || !c->free_recs) {
        free(c->slots);
        free(c->active);
        free(c->pool);
        free(c->free_recs);
        c->slots = NULL;
        c->active = NULL;
        c->pool = NULL;
        c->free_recs = NULL;
        return sim_err_set(err, "cluster: out of memory for %u cores", cfg->cores);
    }
    for (uint32_t i = 0; i < nrecs; i++) /* the first record on top */
        c->free_recs[i] = nrecs - 1 - i;
    c->nfree = nrecs;
    c->cfg = *cfg;
    c->sp = sp;
    /* the first core checks and pre-decodes the image; the others share its code */
    if (core_init(&c->slots[0].core, ccfg, img, err)) {
        cluster_fini(c);
        return -1;
    }
    for (uint32_t i = 0; i < cfg->cores; i++) {
        cluster_slot *s = &c->slots[i];
        if (i)
            core_share(&s->core, &c->slots[0].core);
        if (ring_init(&s->in, sizeof(cluster_qjob), cfg->in_depth, err)) {
            cluster_fini(c);
            return -1;
        }
    }
    if (ring_init(&c->out, sizeof(cluster_done *), cfg->out_depth, err)) {
        cluster_fini(c);
        return -1;
    }
    return 0;
}

int cluster_add_image(cluster *c, unsigned proto, const uc_image *img, sim_err *err)
{
    if (!img)
        return sim_err_set(err, "cluster: no image");
    if (!c->cfg.cores)
        return 0;
    if (core_add_image(&c->slots[0].core, proto, img, err))
        return -1;
    for (uint32_t i = 1; i < c->cfg.cores; i++) /* the same pre-decoded code, shared */
        core_share(&c->slots[i].core, &c->slots[0].core);
    return 0;
}

void cluster_fini(cluster *c)
{
    if (c->slots)
        for (uint32_t i = 0; i < c->cfg.cores; i++) {
            core_fini(&c->slots[i].core);
            ring_fini(&c->slots[i].in);
        }
    free(c->slots);
    c->slots = NULL;
    free(c->active);
    c->active = NULL;
    free(c->pool);
    c->pool = NULL;
    free(c->free_recs);
    c->free_recs = NULL;
    c->nfree = 0;
    ring_fini(&c->out);
}

/* When the front job of an idle core with a non-empty queue starts. */
static cycle_t start_cycle(const cluster_slot *s)
{
    const cluster_qjob *q = ring_front(&s->in);
    return q->at > s->free ? q->at : s->free;
}

void cluster_push(cluster *c, unsigned core, const cluster_job *j, cycle_t now)
{
    *cluster_push_slot(c, core, now) = *j;
}

cluster_job *cluster_push_slot(cluster *c, unsigned core, cycle_t now)
{
    cluster_slot *s = &c->slots[core];
    cluster_qjob *q = ring_push_slot(&s->in);
    q->at = now;
    c->active[core / 64u] |= (uint64_t)1 << (core % 64u);
    if (ring_count(&s->in) > s->st.max_queue)
        s->st.max_queue = ring_count(&s->in);
    if (now > c->now)
        c->now = now;
    /* the job is its core's next start only when the core is free and had nothing queued */
    if (!s->busy && ring_count(&s->in) == 1) {
        cycle_t t = start_cycle(s);
        if (t < c->due)
            c->due = t;
    }
    return &q->j;
}

void cluster_refuse(cluster *c, unsigned core) { c->slots[core].st.stall_in_full++; }

cycle_t cluster_next_cycle(const cluster *c)
{
    if (!c->nblocked)
        return c->due; /* exact while no core is blocked */
    cycle_t next = CYCLE_NEVER;
    for (uint32_t i = 0; i < c->cfg.cores; i++) {
        const cluster_slot *s = &c->slots[i];
        cycle_t t = CYCLE_NEVER;
        if (s->busy) {
            if (!s->blocked)
                t = s->done->res.end;
            else if (!ring_full(&c->out))
                t = c->now;
        } else if (!ring_empty(&s->in)) {
            t = start_cycle(s);
        }
        if (t < next)
            next = t;
    }
    return next;
}

/* What the instruction trace's trampoline needs while one event runs. */
typedef struct trace_hop {
    const cluster *c;
    const cluster_slot *s;
    unsigned core;
    uint32_t flow;
} trace_hop;

static void trace_hop_fn(void *ctx, const core_trace_rec *r)
{
    const trace_hop *h = ctx;
    cluster_trace_rec tr = {*r, h->core, h->flow};
    if (h->s->trace_fn)
        h->s->trace_fn(h->s->trace_ctx, &tr.rec);
    if (h->c->flow_fn && h->flow == h->c->flow)
        h->c->flow_fn(h->c->flow_ctx, &tr.rec);
}

/* core_run for s's job, with the instruction trace installed for it (trace_hop_fn). */
static __attribute__((noinline)) void run_traced(cluster *c, cluster_slot *s, unsigned i,
                                                 const cluster_qjob *q, cluster_done *d, cycle_t t)
{
    trace_hop hop = {c, s, i, d->ev.flow};
    core_set_trace(&s->core, trace_hop_fn, &hop);
    core_run(&s->core, &d->ev, q->j.ws, q->j.ws_len, c->sp, t, &d->res);
    core_set_trace(&s->core, NULL, NULL);
}

/* Starts core i's front job: runs its handler now, holds the result until its end cycle. The
 * engine's counters (events, busy cycles, ...) are the core's own (core.st), which only this
 * core_run changes: cluster_stats reads them there. */
static void start(cluster *c, unsigned i)
{
    cluster_slot *s = &c->slots[i];
    const cluster_qjob *q = ring_front(&s->in);
    cycle_t t = start_cycle(s);
    cluster_done *d =
        &c->pool[c->free_recs[--c->nfree]]; /* a core not busy: cluster.h says one is free */
    s->done = d;
    d->ev = q->j.ev;
    d->core = i;
    d->tag = q->j.tag;
    if (s->trace_fn || (c->flow_fn && d->ev.flow == c->flow))
        run_traced(c, s, i, q, d, t);
    else
        core_run(&s->core, &d->ev, q->j.ws, q->j.ws_len, c->sp, t, &d->res);
    ring_pop(&s->in);
    s->busy = true;
}

/* Moves core i's result to the out-queue (at now when it had been blocked). Returns false, and
 * blocks the core, when the out-queue is full. */
static bool finish(cluster *c, unsigned i, cycle_t now)
{
    cluster_slot *s = &c->slots[i];
    if (ring_full(&c->out)) {
        if (!s->blocked) {
            s->blocked = true;
            c->nblocked++;
            s->st.stall_out_full++;
        }
        return false;
    }
    *(cluster_done **)ring_push_slot(&c->out) = s->done; /* the record itself: no copy */
    if (s->blocked)
        c->nblocked--;
    s->free = s->blocked ? now : s->done->res.end;
    s->done = NULL;
    s->busy = false;
    s->blocked = false;
    if (ring_empty(&s->in))
        c->active[i / 64u] &= ~((uint64_t)1 << (i % 64u));
    return true;
}

/* Core i's next start or completion after a start or a successful finish (so not blocked), or
 * CYCLE_NEVER. */
static cycle_t next_action(const cluster *c, unsigned i)
{
    const cluster_slot *s = &c->slots[i];
    if (s->busy)
        return s->done->res.end;
    return ring_empty(&s->in) ? CYCLE_NEVER : start_cycle(s);
}

unsigned cluster_advance_due(cluster *c, cycle_t now)
{
    unsigned work = 0;
    if (now > c->now)
        c->now = now;
    for (;;) {
        /* The earliest action due; at one cycle, starts before completions (so that a result
         * finishing at its start cycle still meets the others of that cycle), and completions
         * by core index. A blocked result is keyed by its end cycle, so it leaves first. */
        unsigned best = UINT32_MAX;
        bool best_start = false;
        cycle_t best_t = CYCLE_NEVER;
        cycle_t later = CYCLE_NEVER; /* the earliest action after now */
        unsigned ndue = 0;           /* actions due at or before now */
        bool room = !ring_full(&c->out);
        /* the active cores in index order (ties go to the lowest index) */
        for (uint32_t w = 0; w * 64u < c->cfg.cores; w++)
            for (uint64_t bits = c->active[w]; bits; bits &= bits - 1) {
                uint32_t i = w * 64u + (uint32_t)__builtin_ctzll(bits);
                const cluster_slot *s = &c->slots[i];
                cycle_t t;
                bool is_start;
                if (s->busy) {
                    if (s->blocked && !room)
                        continue;
                    t = s->done->res.end;
                    is_start = false;
                } else {
                    t = start_cycle(s);
                    is_start = true;
                }
                if (t > now) {
                    if (t < later)
                        later = t;
                    continue;
                }
                ndue++;
                if (best == UINT32_MAX || t < best_t || (t == best_t && is_start && !best_start)) {
                    best = i;
                    best_t = t;
                    best_start = is_start;
                }
            }
        if (best == UINT32_MAX) {
            c->due = later;
            break;
        }
        if (best_start)
            start(c, best);
        else if (!finish(c, best, now))
            continue; /* now blocked: no longer a candidate while the out-queue is full */
        work++;
        if (ndue == 1) {
            /* It was the only action due: the other cores' next actions are those this scan
             * saw (a finish only takes out-queue room, which no blocked core was due to use),
             * so only this core's next one is new; when it is after now, nothing is left. */
            cycle_t t = next_action(c, best);
            if (t > now) {
                c->due = t < later ? t : later;
                break;
            }
        }
    }
    return work;
}

bool cluster_peek_out(const cluster *c, cluster_done *d)
{
    if (ring_empty(&c->out))
        return false;
    *d = **(cluster_done *const *)ring_front(&c->out);
    return true;
}

void cluster_pop_out(cluster *c)
{
    c->free_recs[c->nfree++] = (uint32_t)(*(cluster_done **)ring_front(&c->out) - c->pool);
    ring_pop(&c->out);
    if (c->nblocked)
        c->due = 0; /* room: the blocked results are due at once */
}

bool cluster_idle(const cluster *c)
{
    if (!ring_empty(&c->out))
        return false;
    for (uint32_t i = 0; i < c->cfg.cores; i++)
        if (c->slots[i].busy || !ring_empty(&c->slots[i].in))
            return false;
    return true;
}

const cluster_core_stats *cluster_stats(const cluster *c, unsigned core)
{
    cluster_slot *s = &c->slots[core]; /* the engine's counters since the last reset: */
    const core_stats *k = &s->core.st, *b = &s->base;
    s->st.events = k->events - b->events;
    s->st.busy_cycles = k->busy_cycles - b->busy_cycles;
    s->st.insns = k->insns - b->insns;
    s->st.stall_ws = k->stall_ws - b->stall_ws;
    s->st.stall_sp = k->stall_sp - b->stall_sp;
    s->st.faults = k->faults - b->faults;
    return &s->st;
}

void cluster_reset_stats(cluster *c)
{
    for (uint32_t i = 0; i < c->cfg.cores; i++) {
        memset(&c->slots[i].st, 0, sizeof c->slots[i].st);
        c->slots[i].base = c->slots[i].core.st;
        c->slots[i].st.max_queue = ring_count(&c->slots[i].in);
    }
}

double cluster_ipc(const cluster *c, unsigned core)
{
    const cluster_core_stats *st = cluster_stats(c, core);
    return st->busy_cycles ? (double)st->insns / (double)st->busy_cycles : 0.0;
}

double cluster_busy_share(const cluster *c, unsigned core, cycle_t elapsed)
{
    return elapsed ? (double)cluster_busy_cycles(c, core) / (double)elapsed : 0.0;
}

/* Appends to buf (size bytes, pos used) like snprintf; pos stays within size. */
static size_t put(char *buf, size_t size, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t put(char *buf, size_t size, size_t pos, const char *fmt, ...)
{
    if (pos + 1 >= size)
        return pos;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + pos, size - pos, fmt, ap);
    va_end(ap);
    if (n < 0)
        return pos;
    return pos + (size_t)n < size ? pos + (size_t)n : size - 1;
}

void cluster_fault_report(const cluster *c, const cluster_done *d, char *buf, size_t size)
{
    if (!size)
        return;
    buf[0] = '\0';
    const core_result *r = &d->res;
    const uc_image *img = NULL; /* the image the event ran */
    if (c->cfg.cores) {
        const core *k = &c->slots[0].core;
        img = d->ev.proto < PROTO_COUNT && k->by_proto[d->ev.proto].img
                  ? k->by_proto[d->ev.proto].img
                  : k->base.img;
    }
    const char *fname = core_fault_name((unsigned)r->fault);
    size_t pos = put(buf, size, 0, "core %u: ", d->core);
    if (r->fault == CORE_OK)
        pos = put(buf, size, pos, "ok");
    else if (r->fault == CORE_FAULT_TRAP)
        pos = put(buf, size, pos, "fault trap %u", r->trap_code);
    else
        pos = put(buf, size, pos, "fault %s", fname ? fname : "unknown");
    if (r->fault != CORE_FAULT_NO_ENTRY) {
        pos = put(buf, size, pos, " at pc %u", r->pc);
        char loc[512];
        if (img) {
            uc_image_where(img, r->pc, true, loc, sizeof loc);
            if (strncmp(loc, "pc ", 3) != 0) /* no source map: the pc alone says it */
                pos = put(buf, size, pos, " (%s)", loc);
        }
    }
    if (d->ev.flow == FLOW_NONE)
        pos = put(buf, size, pos, ", flow none");
    else
        pos = put(buf, size, pos, ", flow %u", d->ev.flow);
    const char *ev = ev_type_name(d->ev.type);
    put(buf, size, pos, ", event %s", ev ? ev : "unknown");
}

void cluster_trace_core(cluster *c, unsigned core, core_trace_fn fn, void *ctx)
{
    c->slots[core].trace_fn = fn;
    c->slots[core].trace_ctx = fn ? ctx : NULL;
}

void cluster_trace_flow(cluster *c, uint32_t flow, core_trace_fn fn, void *ctx)
{
    c->flow_fn = fn;
    c->flow_ctx = fn ? ctx : NULL;
    c->flow = fn ? flow : FLOW_NONE;
}

void cluster_set_cmd(cluster *c, core_cmd_fn fn, void *ctx)
{
    for (uint32_t i = 0; i < c->cfg.cores; i++)
        core_set_cmd(&c->slots[i].core, fn, ctx);
}

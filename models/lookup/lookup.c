/* lookup: the lookup controller (claims 7, 8, 11-14, 22-25). See lookup.h for the contract.
 *
 * Layout: the records (flows * ws_size bytes) are the truth; the flow-state cache only decides
 * the timing (which fetches hit, which evictions cost a memory write). Slots are ws_size-byte
 * buffers handed to the cores; a slot is free, busy (its job is being fetched or waits in the
 * out-queue) or held (the job was popped and runs on a core until luc_writeback).
 *
 * Choices the header leaves open, made here:
 *   - memory operations of a request (the read of a miss, the write of an evicted dirty record)
 *     are issued at start + issue_cycles, the read first, so an eviction never delays its
 *     request; an external-memory write of 0 bytes is not issued;
 *   - a written-back record that was evicted while its job ran is not re-inserted into the
 *     cache: its portions are written to external memory, as without a cache;
 *   - a request that finds no free slot holds the engine until a luc_writeback frees one; it
 *     then starts at the writeback's cycle (stall_no_slot counts the cycles waited);
 *   - the timer out-queue holds cfg.out_depth events; when it is full, due timers stay armed
 *     (so they can still be cancelled) and fire once room appears, in the same order;
 *   - a request whose proxy is out of range (a caller bug) gets a zeroed slot, fresh timing.
 *
 * Timers: the model is a wheel of cfg.timer_slots buckets, but its observable behaviour is only
 * "at each tick, the armed entries of that tick fire, lowest index (flow * LUC_TIMERS + id)
 * first, as many as the timer queue has room for", so the host keeps the armed timers in one
 * contiguous 4-ary min-heap on (tick, index), with the heap position of every entry in tpos[]
 * (NIL: unarmed). The heap's root is the next to fire, and its tick is hint (exact at all
 * times), so luc_next_cycle reads it in O(1). The heap holds only armed timers, contiguous (a
 * node's 4 children share a 64-byte line): an arm or a firing moves along one path of it
 * (log4 of the armed count), where the wheel's sorted bucket lists were walked entry by entry
 * (docs/performance.md has the measurements).
 *
 * Jobs: a request's luc_job is built once, at luc_push, in an entry of a pool (in_depth + slots
 * entries: one per queued request and per busy slot); the in-queue, the slot and the out-queue
 * hold its index, so the event is copied in once and out once (by the caller, from
 * luc_front_out). The entry goes back to the pool when the job leaves the out-queue; the slot
 * keeps what the write-back needs (flow, protocol, portions). */
#include "lookup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

static const param_def defs[] = {
    {"clock_mhz", PARAM_U32, offsetof(luc_cfg, clock_mhz), 1000, 1, 100000, "MHz",
     "clock of the lookup controller (its cycle counts are in this clock)", NULL},
    {"issue_cycles", PARAM_U32, offsetof(luc_cfg, issue_cycles), 2, 1, 100000, "cycles",
     "engine time per request (and the delay before its memory access)", NULL},
    {"mem_latency", PARAM_U32, offsetof(luc_cfg, mem_latency), 100, 0, 1000000, "cycles",
     "flow-state external memory: cycles from issue to the first data", NULL},
    {"mem_bytes_per_cycle", PARAM_U32, offsetof(luc_cfg, mem_bytes_per_cycle), 16, 1, 4096,
     "bytes/cycle", "flow-state external memory: data bus bandwidth", NULL},
    {"mem_outstanding", PARAM_U32, offsetof(luc_cfg, mem_outstanding), 16, 1, XMEM_MAX_OUTSTANDING,
     "requests", "flow-state external memory: requests in flight at once", NULL},
    {"cache_flows", PARAM_U32, offsetof(luc_cfg, cache_flows), 1024, 0, 16777216, "flows",
     "on-chip flow-state cache, in records (LRU, write-back); 0: no cache", NULL},
    {"cache_cycles", PARAM_U32, offsetof(luc_cfg, cache_cycles), 4, 1, 100000, "cycles",
     "a flow-state cache hit, from the request's start", NULL},
    {"move_bytes_per_cycle", PARAM_U32, offsetof(luc_cfg, move_bytes_per_cycle), 32, 1, 4096,
     "bytes/cycle", "rate at which portions move into a core's local memory", NULL},
    {"slots", PARAM_U32, offsetof(luc_cfg, slots), 256, 1, 65536, "slots",
     "workspace slots in the cores' local memories, all cores together", NULL},
    {"in_depth", PARAM_U32, offsetof(luc_cfg, in_depth), 64, 1, 65536, "events",
     "requests waiting for the engine", NULL},
    {"out_depth", PARAM_U32, offsetof(luc_cfg, out_depth), 64, 1, 65536, "events",
     "events each out-queue (jobs, timer events) holds before the next must wait", NULL},
    {"timer_slots", PARAM_U32, offsetof(luc_cfg, timer_slots), 4096, 1, 1048576, "slots",
     "buckets of the timer wheel (one revolution = timer_slots ticks)", NULL},
    {"timer_tick_cycles", PARAM_U32, offsetof(luc_cfg, timer_tick_cycles), 1000, 1, 1000000000,
     "cycles", "timer resolution: expiries are rounded up to a multiple of it", NULL},
};
const param_table luc_params = {"lookup", defs, sizeof defs / sizeof defs[0]};

#define S(name, desc)                                                                              \
    {                                                                                              \
#name, desc, offsetof(luc_stats, name)                                                     \
    }
const stat_def luc_stat_defs[] = {
    S(requests, "requests accepted (one per dispatched event)"),
    S(fresh, "requests for a just-opened flow (record zeroed, no memory read)"),
    S(cache_hits, "requests whose record was in the flow-state cache"),
    S(cache_misses, "requests that read the record from external memory"),
    S(evictions, "records evicted from the flow-state cache (clean or dirty)"),
    S(writebacks, "jobs written back by their core (slots freed)"),
    S(bytes_moved, "portion bytes moved into and out of the cores' local memories"),
    S(timers_set, "timer arms (re-arms included)"),
    S(timers_cancelled, "armed timers disarmed by a cancel or a flow close"),
    S(timers_fired, "timer events raised"),
    S(timers_peak, "most timers armed at once"),
    S(stall_in_full, "requests refused because the input queue was full"),
    S(stall_out_full,
      "finished jobs that found the out-queue full, and times due timers found theirs full"),
    S(stall_no_slot, "cycles the engine waited for a free workspace slot"),
    S(busy_cycles, "cycles the engine was occupied issuing requests"),
};
#undef S
const size_t luc_stat_count = sizeof luc_stat_defs / sizeof luc_stat_defs[0];

#define NIL UINT32_MAX
#define TICK_NONE UINT64_MAX

enum { SLOT_FREE, SLOT_BUSY, SLOT_HELD };
enum { C_IN = 1, C_DIRTY = 2 };

typedef struct luc_qreq { /* a request in the input queue; its job is pool[job] */
    cycle_t at;
    uint32_t job;
    uint8_t fresh;
} luc_qreq;

typedef struct luc_slot { /* a workspace slot and the job that holds it */
    cycle_t done;
    uint64_t seq;  /* request order: ties of done */
    uint32_t job;  /* its pool entry while busy */
    uint32_t flow; /* what the write-back needs of the request */
    uint8_t proto;
    uint8_t portions;
    uint8_t state;  /* SLOT_* */
    uint8_t waited; /* already counted in stall_out_full */
} luc_slot;

typedef struct luc_flow {    /* per-flow metadata, together for one cache line per touch */
    uint32_t c_prev, c_next; /* LRU links (cache only) */
    uint8_t c_state;         /* C_* */
    uint8_t proto;           /* the protocol of its events (its timers expire as it) */
} luc_flow;

typedef struct luc_tent { /* an armed timer in the timer heap */
    uint64_t tick;
    uint32_t e; /* its entry: flow * LUC_TIMERS + id */
    uint32_t pad;
} luc_tent;

struct luc {
    luc_cfg cfg;
    uint32_t flows;
    const uc_image *img;                   /* the default image */
    const uc_image *by_proto[PROTO_COUNT]; /* the image of each protocol's events */
    uint32_t ws;                           /* bytes per record and per slot: the largest image's */
    uint8_t types[PROTO_COUNT][LUC_TIMERS];
    luc_flow *fl; /* per flow */
    xmem mem;
    cycle_t now;         /* latest cycle seen */
    cycle_t engine_free; /* when the engine can start the next request */
    uint64_t seq;
    ring in;  /* luc_qreq */
    ring out; /* uint32_t: pool entries of finished jobs */
    /* jobs: each request's luc_job is built once, at luc_push, in a pool entry that stays put
     * until the job leaves the out-queue (in_depth + slots entries: a request holds one while
     * queued and while its slot is busy) */
    luc_job *pool;
    uint32_t *pool_free;
    uint32_t npool;
    ring tq; /* event: fired timers */
    uint8_t *records;
    /* slots */
    uint8_t *slotbuf;
    luc_slot *slots;
    uint32_t *free_slots; /* stack of free slot indices */
    uint32_t nfree;
    cycle_t slot_ready; /* when the last slot freed after none was free */
    uint32_t *heap;     /* busy slots not yet done, a min-heap on (done, seq) */
    uint32_t nheap;
    /* flow-state cache: an LRU list threaded through fl[].c_prev/c_next (head = most recent) */
    uint32_t c_head, c_tail, c_count;
    uint32_t *tpos;   /* per timer entry (flow * LUC_TIMERS + id): its heap position, or NIL */
    void *tmem;       /* the timer heap's allocation */
    luc_tent *th;     /* the timer heap: th[0] is the root; children of i: 4i+1 .. 4i+4 */
    uint32_t armed;   /* timers in the heap */
    uint64_t hint;    /* the earliest armed tick (th[0].tick); TICK_NONE: none */
    cycle_t hint_cyc; /* cycle_of(hint) (CYCLE_NEVER for none) */
    bool tq_blocked;  /* due timers wait for timer-queue room (counted once) */
    /* next_work's result, kept until a call that changes the state it reads (nw_ok false) */
    cycle_t nw;
    bool nw_ok;
    luc_stats st;
};

void luc_cfg_default(luc_cfg *c) { param_defaults(&luc_params, c); }

static const uc_image *image_of(const luc *l, unsigned proto)
{
    return proto < PROTO_COUNT ? l->by_proto[proto] : l->img;
}

/* The portion bits that name a portion of img. */
static unsigned portion_mask(const uc_image *img)
{
    uint32_t n = img->nportions < UC_MAX_PORTIONS ? img->nportions : UC_MAX_PORTIONS;
    return (1u << n) - 1;
}

static uint32_t portion_bytes(const luc *l, unsigned proto, uint8_t mask)
{
    const uc_image *img = image_of(l, proto);
    uint32_t bytes = 0;
    for (unsigned m = mask & portion_mask(img); m; m &= m - 1)
        bytes += img->portions[__builtin_ctz(m)].size;
    return bytes;
}

static int check_image(const uc_image *img, sim_err *err)
{
    if (img->nportions > UC_MAX_PORTIONS)
        return sim_err_set(err, "lookup: image has %u portions (at most %u)", img->nportions,
                           UC_MAX_PORTIONS);
    for (uint32_t i = 0; i < img->nportions; i++)
        if ((uint64_t)img->portions[i].off + img->portions[i].size > img->ws_size)
            return sim_err_set(err, "lookup: image portion %u lies outside the %u-byte record", i,
                               img->ws_size);
    return 0;
}

static void *alloc_zero(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }

luc *luc_new(const luc_cfg *cfg, uint32_t flows, const uc_image *img, sim_err *err)
{
    return luc_new_protos(cfg, flows, img, NULL, err);
}

luc *luc_new_protos(const luc_cfg *cfg, uint32_t flows, const uc_image *img,
                    const uc_image *const by_proto[PROTO_COUNT], sim_err *err)
{
    if (param_validate(&luc_params, cfg, err))
        return NULL;
    if (!img) {
        sim_err_set(err, "lookup: no microcode image");
        return NULL;
    }
    if (flows < 1 || flows > (NIL - 1) / LUC_TIMERS) {
        sim_err_set(err, "lookup: %u flows is out of range [1, %u]", flows, (NIL - 1) / LUC_TIMERS);
        return NULL;
    }
    if (check_image(img, err))
        return NULL;
    uint32_t ws = img->ws_size;
    for (unsigned p = 0; by_proto && p < PROTO_COUNT; p++)
        if (by_proto[p]) {
            if (check_image(by_proto[p], err))
                return NULL;
            if (by_proto[p]->ws_size > ws)
                ws = by_proto[p]->ws_size;
        }
    luc *l = calloc(1, sizeof *l);
    if (!l) {
        sim_err_set(err, "lookup: out of memory");
        return NULL;
    }
    l->cfg = *cfg;
    l->flows = flows;
    l->img = img;
    for (unsigned p = 0; p < PROTO_COUNT; p++)
        l->by_proto[p] = by_proto && by_proto[p] ? by_proto[p] : img;
    l->ws = ws;
    for (unsigned p = 0; p < PROTO_COUNT; p++)
        for (unsigned i = 0; i < LUC_TIMERS; i++)
            l->types[p][i] = (uint8_t)(p == PROTO_ROCE ? EV_ROCE_ACK_TIMER : EV_TCP_RTO + i);
    xmem_init(&l->mem, cfg->mem_latency, cfg->mem_bytes_per_cycle, cfg->mem_outstanding);
    l->hint = TICK_NONE;
    l->hint_cyc = CYCLE_NEVER;
    l->c_head = l->c_tail = NIL;
    size_t nt = (size_t)flows * LUC_TIMERS;
    if (ring_init(&l->in, sizeof(luc_qreq), cfg->in_depth, err) ||
        ring_init(&l->out, sizeof(uint32_t), cfg->out_depth, err) ||
        ring_init(&l->tq, sizeof(event), cfg->out_depth, err)) {
        luc_free(l);
        return NULL;
    }
    l->records = alloc_zero((size_t)flows * l->ws, 1);
    l->fl = alloc_zero(flows, sizeof *l->fl);
    l->npool = cfg->in_depth + cfg->slots;
    l->pool = alloc_zero(l->npool, sizeof *l->pool);
    l->pool_free = alloc_zero(l->npool, sizeof *l->pool_free);
    l->slotbuf = alloc_zero((size_t)cfg->slots * l->ws, 1);
    l->slots = alloc_zero(cfg->slots, sizeof *l->slots);
    l->free_slots = alloc_zero(cfg->slots, sizeof *l->free_slots);
    l->heap = alloc_zero(cfg->slots, sizeof *l->heap);
    l->tpos = malloc(nt * sizeof *l->tpos);
    /* th[-3 .. -1] pad the start so that each node's 4 children (4i+1 .. 4i+4) share a line */
    l->tmem = aligned_alloc(64, ((nt + 3) * sizeof(luc_tent) + 63) / 64 * 64);
    l->th = l->tmem ? (luc_tent *)l->tmem + 3 : NULL;
    bool ok = l->records && l->fl && l->pool && l->pool_free && l->slotbuf && l->slots &&
              l->free_slots && l->heap && l->tpos && l->th;
    if (!ok) {
        sim_err_set(err, "lookup: out of memory for %u flows of %u bytes and %u slots", flows,
                    l->ws, cfg->slots);
        luc_free(l);
        return NULL;
    }
    /* free stack: slot 0 on top, so slots are handed out 0, 1, 2 ... from the start */
    for (uint32_t i = 0; i < cfg->slots; i++)
        l->free_slots[i] = cfg->slots - 1 - i;
    l->nfree = cfg->slots;
    for (uint32_t i = 0; i < l->npool; i++)
        l->pool_free[i] = l->npool - 1 - i;
    for (size_t i = 0; i < nt; i++)
        l->tpos[i] = NIL;
    return l;
}

void luc_free(luc *l)
{
    if (!l)
        return;
    ring_fini(&l->in);
    ring_fini(&l->out);
    ring_fini(&l->tq);
    free(l->records);
    free(l->fl);
    free(l->pool);
    free(l->pool_free);
    free(l->slotbuf);
    free(l->slots);
    free(l->free_slots);
    free(l->heap);
    free(l->tpos);
    free(l->tmem);
    free(l);
}

void luc_set_timer_types(luc *l, const uint8_t types[LUC_TIMERS])
{
    memcpy(l->types[PROTO_TCP], types, LUC_TIMERS);
}

void luc_set_timer_types_proto(luc *l, unsigned proto, const uint8_t types[LUC_TIMERS])
{
    if (proto < PROTO_COUNT)
        memcpy(l->types[proto], types, LUC_TIMERS);
}

static void see(luc *l, cycle_t now)
{
    if (now > l->now)
        l->now = now;
}

/* --- requests ------------------------------------------------------------------------------ */

bool luc_can_accept(const luc *l) { return !ring_full(&l->in); }

void luc_push(luc *l, const luc_req *r, cycle_t now)
{
    if (ring_full(&l->in)) { /* pre violated: count it as the refusal it should have been */
        l->st.stall_in_full++;
        return;
    }
    l->nw_ok = false;
    uint32_t p = l->pool_free[--l->npool];
    luc_job *j = &l->pool[p];
    j->ev = r->ev;
    j->cluster = r->cluster;
    j->portions = r->portions;
    j->core = r->core;
    luc_qreq *q = ring_push_slot(&l->in);
    q->at = now;
    q->job = p;
    q->fresh = r->fresh;
    if (r->ev.flow < l->flows && r->ev.proto < PROTO_COUNT)
        l->fl[r->ev.flow].proto = r->ev.proto;
    l->st.requests++;
    see(l, now);
}

void luc_refuse(luc *l) { l->st.stall_in_full++; }

/* Flow-state cache (LRU, write-back). */
static void c_unlink(luc *l, uint32_t f)
{
    luc_flow *x = &l->fl[f];
    if (x->c_prev != NIL)
        l->fl[x->c_prev].c_next = x->c_next;
    else
        l->c_head = x->c_next;
    if (x->c_next != NIL)
        l->fl[x->c_next].c_prev = x->c_prev;
    else
        l->c_tail = x->c_prev;
}

static void c_link_head(luc *l, uint32_t f)
{
    l->fl[f].c_prev = NIL;
    l->fl[f].c_next = l->c_head;
    if (l->c_head != NIL)
        l->fl[l->c_head].c_prev = f;
    else
        l->c_tail = f;
    l->c_head = f;
}

static bool c_has(const luc *l, uint32_t f)
{
    return l->cfg.cache_flows && (l->fl[f].c_state & C_IN);
}

/* Makes f the most recent record (already the head: nothing moves). */
static void c_touch(luc *l, uint32_t f)
{
    if (l->c_head == f)
        return;
    c_unlink(l, f);
    c_link_head(l, f);
}

/* Inserts f (not cached) as the most recent record, evicting the least recent one when the
 * cache is full; a dirty victim is written back with a posted write issued at at. */
static void c_insert(luc *l, uint32_t f, bool dirty, cycle_t at)
{
    if (l->c_count >= l->cfg.cache_flows) {
        uint32_t v = l->c_tail;
        c_unlink(l, v);
        l->c_count--;
        l->st.evictions++;
        uint32_t vws = image_of(l, l->fl[v].proto)->ws_size; /* the flow's image's record */
        if ((l->fl[v].c_state & C_DIRTY) && vws)
            xmem_access(&l->mem, at, vws, true);
        l->fl[v].c_state = 0;
    }
    c_link_head(l, f);
    l->fl[f].c_state = (uint8_t)(C_IN | (dirty ? C_DIRTY : 0));
    l->c_count++;
}

/* The in-flight heap of slots, ordered by (done, seq). */
static bool job_before(const luc *l, uint32_t a, uint32_t b)
{
    const luc_slot *x = &l->slots[a], *y = &l->slots[b];
    return x->done < y->done || (x->done == y->done && x->seq < y->seq);
}

static void heap_push(luc *l, uint32_t s)
{
    uint32_t i = l->nheap++;
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!job_before(l, s, l->heap[p]))
            break;
        l->heap[i] = l->heap[p];
        i = p;
    }
    l->heap[i] = s;
}

static void heap_pop(luc *l)
{
    uint32_t s = l->heap[--l->nheap];
    uint32_t i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= l->nheap)
            break;
        if (c + 1 < l->nheap && job_before(l, l->heap[c + 1], l->heap[c]))
            c++;
        if (!job_before(l, l->heap[c], s))
            break;
        l->heap[i] = l->heap[c];
        i = c;
    }
    if (l->nheap)
        l->heap[i] = s;
}

static uint8_t *slot_buf(const luc *l, uint32_t s) { return l->slotbuf + (size_t)s * l->ws; }
static uint8_t *record(const luc *l, uint32_t f) { return l->records + (size_t)f * l->ws; }

/* The cycle the front request starts, if a slot is free. */
static cycle_t engine_start(const luc *l, cycle_t *base)
{
    const luc_qreq *q = ring_front(&l->in);
    cycle_t b = q->at > l->engine_free ? q->at : l->engine_free;
    *base = b;
    return l->slot_ready > b ? l->slot_ready : b;
}

/* Starts the front request at t: takes a slot, fetches the record, schedules the job. */
static void start(luc *l, cycle_t t)
{
    const luc_qreq *q = ring_front(&l->in);
    luc_job *j = &l->pool[q->job];
    uint32_t s = l->free_slots[--l->nfree];
    luc_slot *sl = &l->slots[s];
    uint32_t f = j->ev.flow;
    unsigned proto = j->ev.proto;
    const uc_image *img = image_of(l, proto);
    uint32_t bytes = portion_bytes(l, proto, j->portions);
    cycle_t issue = t + l->cfg.issue_cycles;
    cycle_t ready;
    l->engine_free = issue;
    l->st.busy_cycles += l->cfg.issue_cycles;
    if (f >= l->flows) { /* a caller bug: nothing to fetch */
        memset(slot_buf(l, s), 0, l->ws);
        ready = issue;
    } else {
        uint8_t *rec = record(l, f);
        if (q->fresh) {
            memset(rec, 0, l->ws);
            l->st.fresh++;
            ready = issue;
            if (c_has(l, f)) {
                c_touch(l, f);
                l->fl[f].c_state |= C_DIRTY;
            } else if (l->cfg.cache_flows) {
                c_insert(l, f, true, issue);
            }
        } else if (c_has(l, f)) {
            l->st.cache_hits++;
            c_touch(l, f);
            ready = t + l->cfg.cache_cycles;
        } else {
            l->st.cache_misses++;
            ready = xmem_access(&l->mem, issue, img->ws_size, false);
            if (l->cfg.cache_flows)
                c_insert(l, f, false, issue);
        }
        memcpy(slot_buf(l, s), rec, l->ws);
    }
    l->st.bytes_moved += bytes;
    j->slot = s;
    j->ws = slot_buf(l, s);
    j->ws_len = img->ws_size;
    sl->job = q->job;
    sl->flow = f;
    sl->proto = (uint8_t)proto;
    sl->portions = j->portions;
    sl->done = ready + (bytes + l->cfg.move_bytes_per_cycle - 1) / l->cfg.move_bytes_per_cycle;
    sl->seq = l->seq++;
    sl->state = SLOT_BUSY;
    sl->waited = 0;
    heap_push(l, s);
    ring_pop(&l->in);
}

void luc_writeback(luc *l, uint32_t slot, cycle_t now)
{
    if (slot >= l->cfg.slots || l->slots[slot].state != SLOT_HELD)
        return; /* pre violated: the slot is not at a core */
    see(l, now);
    l->nw_ok = false;
    luc_slot *sl = &l->slots[slot];
    uint32_t f = sl->flow;
    uint32_t bytes = 0;
    if (f < l->flows) {
        uint8_t *rec = record(l, f);
        const uint8_t *buf = slot_buf(l, slot);
        const uc_image *img = image_of(l, sl->proto);
        for (unsigned m = sl->portions & portion_mask(img); m; m &= m - 1) {
            const uc_portion *p = &img->portions[__builtin_ctz(m)];
            memcpy(rec + p->off, buf + p->off, p->size);
            bytes += p->size;
        }
        if (c_has(l, f)) {
            c_touch(l, f);
            l->fl[f].c_state |= C_DIRTY;
        } else if (bytes) { /* no cache, or evicted while the job ran: write around it */
            xmem_access(&l->mem, now, bytes, true);
        }
    }
    l->st.writebacks++;
    l->st.bytes_moved += bytes;
    sl->state = SLOT_FREE;
    if (l->nfree == 0)
        l->slot_ready = now;
    l->free_slots[l->nfree++] = slot;
}

/* --- timers ---------------------------------------------------------------------------------- */

static uint64_t tick_of(const luc *l, cycle_t expiry)
{
    uint64_t tc = l->cfg.timer_tick_cycles;
    return expiry / tc + (expiry % tc != 0);
}

static cycle_t cycle_of(const luc *l, uint64_t tick)
{
    uint64_t tc = l->cfg.timer_tick_cycles;
    return tick > CYCLE_NEVER / tc ? CYCLE_NEVER : tick * tc;
}

static void set_hint(luc *l, uint64_t tick)
{
    l->nw_ok = false;
    l->hint = tick;
    l->hint_cyc = tick == TICK_NONE ? CYCLE_NEVER : cycle_of(l, tick);
}

/* The timer heap's order: tick, then entry index (unique, so the order is total). */
static bool tent_before(const luc_tent *a, const luc_tent *b)
{
    return a->tick < b->tick || (a->tick == b->tick && a->e < b->e);
}

/* Stores x at position i. */
static void th_put(luc *l, uint32_t i, luc_tent x)
{
    l->th[i] = x;
    l->tpos[x.e] = i;
}

/* Moves x, meant for position i, up towards the root to where it belongs. */
static void th_up(luc *l, uint32_t i, luc_tent x)
{
    while (i > 0) {
        uint32_t p = (i - 1) / 4;
        if (!tent_before(&x, &l->th[p]))
            break;
        th_put(l, i, l->th[p]);
        i = p;
    }
    th_put(l, i, x);
}

/* Moves x, meant for position i, down towards the leaves to where it belongs. */
static void th_down(luc *l, uint32_t i, luc_tent x)
{
    uint32_t n = l->armed;
    for (;;) {
        uint32_t c = 4 * i + 1;
        if (c >= n)
            break;
        uint32_t end = c + 4 < n ? c + 4 : n, m = c;
        for (uint32_t k = c + 1; k < end; k++)
            if (tent_before(&l->th[k], &l->th[m]))
                m = k;
        if (!tent_before(&l->th[m], &x))
            break;
        th_put(l, i, l->th[m]);
        i = m;
    }
    th_put(l, i, x);
}

/* Takes armed entry e out of the heap. */
static void th_remove(luc *l, uint32_t e)
{
    uint32_t i = l->tpos[e];
    l->tpos[e] = NIL;
    uint32_t last = --l->armed;
    if (i == last)
        return;
    luc_tent x = l->th[last];
    if (i > 0 && tent_before(&x, &l->th[(i - 1) / 4]))
        th_up(l, i, x);
    else
        th_down(l, i, x);
}

/* Makes hint the root's tick again (set_hint only when it changed). */
static void sync_hint(luc *l)
{
    uint64_t h = l->armed ? l->th[0].tick : TICK_NONE;
    if (h != l->hint)
        set_hint(l, h);
}

void luc_timer_set(luc *l, uint32_t flow, unsigned id, cycle_t expiry, cycle_t now)
{
    if (flow >= l->flows || id >= LUC_TIMERS)
        return;
    see(l, now);
    uint32_t e = flow * LUC_TIMERS + id;
    luc_tent x = {tick_of(l, expiry), e, 0};
    l->st.timers_set++;
    uint32_t i = l->tpos[e];
    if (i != NIL) { /* re-arm: replaces the earlier expiry */
        uint64_t old = l->th[i].tick;
        if (x.tick == old)
            return; /* where it is already */
        if (x.tick < old)
            th_up(l, i, x);
        else
            th_down(l, i, x);
    } else {
        th_up(l, l->armed++, x);
        if (l->armed > l->st.timers_peak)
            l->st.timers_peak = l->armed;
    }
    sync_hint(l);
}

void luc_timer_cancel(luc *l, uint32_t flow, unsigned id)
{
    if (flow >= l->flows || id >= LUC_TIMERS)
        return;
    uint32_t e = flow * LUC_TIMERS + id;
    if (l->tpos[e] == NIL)
        return;
    th_remove(l, e);
    sync_hint(l);
    l->st.timers_cancelled++;
}

void luc_flow_close(luc *l, uint32_t flow)
{
    for (unsigned id = 0; id < LUC_TIMERS; id++)
        luc_timer_cancel(l, flow, id);
    /* The state record goes with the flow: an event that was parked behind the close (a SYN of
     * the next connection on the same 5-tuple, dispatched before the close took the proxy back)
     * finds it as a new flow's, all zeros. */
    if (flow < l->flows)
        memset(record(l, flow), 0, l->ws);
}

uint32_t luc_timers_armed(const luc *l) { return l->armed; }

/* Fires every armed timer whose tick boundary is at or before now, while the timer queue has
 * room: tick by tick, each tick's entries in index order (the heap's order), so that when the
 * queue fills, the entries of a tick left armed are its highest. Returns how many fired. */
static unsigned tm_fire(luc *l, cycle_t now)
{
    unsigned fired = 0;
    uint64_t limit = now / l->cfg.timer_tick_cycles;
    while (l->armed && l->th[0].tick <= limit) {
        if (ring_full(&l->tq)) {
            if (!l->tq_blocked) {
                l->tq_blocked = true;
                l->st.stall_out_full++;
            }
            break;
        }
        uint64_t t = l->th[0].tick;
        do {
            uint32_t e = l->th[0].e, f = e / LUC_TIMERS;
            __builtin_prefetch(&l->fl[f]);
            th_remove(l, e);
            event *ev = ring_push_slot(&l->tq);
            event_clear(ev);
            unsigned proto = l->fl[f].proto;
            ev->type = l->types[proto][e % LUC_TIMERS];
            ev->cls = EVC_TIMER;
            ev->chan = CH_TIMER;
            ev->proto = (uint8_t)proto;
            ev->flow = f;
            ev->arg = e % LUC_TIMERS;
            l->st.timers_fired++;
            fired++;
        } while (l->armed && l->th[0].tick == t && !ring_full(&l->tq));
        l->tq_blocked = false;
    }
    sync_hint(l);
    return fired;
}

/* --- the lifecycle ----------------------------------------------------------------------- */

/* The earliest cycle at which luc_advance has something to do (see luc_next_cycle). */
static cycle_t compute_next_work(const luc *l)
{
    cycle_t next = CYCLE_NEVER;
    if (!ring_empty(&l->in) && l->nfree) {
        cycle_t base;
        next = engine_start(l, &base);
    }
    /* A finished job or due timer facing a full queue is still reported once, so that the
     * advance at its cycle finds the queue full and counts the stall; then it waits. */
    if (l->nheap) {
        const luc_slot *top = &l->slots[l->heap[0]];
        if ((!top->waited || !ring_full(&l->out)) && top->done < next)
            next = top->done;
    }
    if (l->hint_cyc < next && (!l->tq_blocked || !ring_full(&l->tq)))
        next = l->hint_cyc;
    return next;
}

/* compute_next_work, once per change of the state it reads: every call that changes that state
 * clears nw_ok (luc_push, luc_writeback, luc_pop_out, luc_pop_timer, set_hint for the timers,
 * advance). The cache is not part of the model's state, so the const readers may fill it. */
static cycle_t next_work(const luc *l)
{
    if (!l->nw_ok) {
        luc *w = (luc *)l;
        w->nw = compute_next_work(l);
        w->nw_ok = true;
    }
    return l->nw;
}

cycle_t luc_next_cycle(const luc *l)
{
    cycle_t next = next_work(l);
    if (next != CYCLE_NEVER && next < l->now)
        next = l->now; /* due already: never earlier than the latest cycle seen */
    return next;
}

cycle_t luc_next_timer(const luc *l)
{
    if (l->hint == TICK_NONE || (l->tq_blocked && ring_full(&l->tq)))
        return CYCLE_NEVER;
    cycle_t t = l->hint_cyc;
    return t < l->now ? l->now : t;
}

cycle_t luc_next_cycles(const luc *l, cycle_t *timer)
{
    *timer = luc_next_timer(l);
    return luc_next_cycle(l);
}

/* Out of line: luc_advance's common case (nothing due) then costs no register saves. */
__attribute__((noinline)) static unsigned advance(luc *l, cycle_t now)
{
    unsigned work = 0;
    /* Starts, in request order. They do not depend on completions (a slot frees only at
     * luc_writeback), so every start due goes first; the heap then orders the completions. */
    while (!ring_empty(&l->in) && l->nfree) {
        cycle_t base;
        cycle_t t = engine_start(l, &base);
        if (t > now)
            break;
        l->st.stall_no_slot += t - base;
        start(l, t);
        work++;
    }
    /* Completions in (done, request) order; a full out-queue holds the rest back. The job was
     * built at luc_push: only its pool index moves. */
    while (l->nheap) {
        uint32_t s = l->heap[0];
        luc_slot *sl = &l->slots[s];
        if (sl->done > now)
            break;
        if (ring_full(&l->out)) {
            if (!sl->waited) {
                sl->waited = 1;
                l->st.stall_out_full++;
            }
            break;
        }
        *(uint32_t *)ring_push_slot(&l->out) = sl->job;
        heap_pop(l);
        work++;
    }
    if (l->hint_cyc <= now)
        work += tm_fire(l, now);
    return work;
}

unsigned luc_advance(luc *l, cycle_t now)
{
    see(l, now);
    /* Most calls find nothing due: one comparison of the cached earliest cycles. */
    if (next_work(l) > now)
        return 0;
    l->nw_ok = false;
    return advance(l, now);
}

bool luc_peek_out(const luc *l, luc_job *j)
{
    const luc_job *f = luc_front_out(l);
    if (!f)
        return false;
    *j = *f;
    return true;
}

const luc_job *luc_front_out(const luc *l)
{
    return ring_empty(&l->out) ? NULL : &l->pool[*(const uint32_t *)ring_front(&l->out)];
}

const event *luc_front_timer(const luc *l)
{
    return ring_empty(&l->tq) ? NULL : (const event *)ring_front(&l->tq);
}

void luc_pop_out(luc *l)
{
    uint32_t p = *(const uint32_t *)ring_front(&l->out);
    l->nw_ok = false;
    l->slots[l->pool[p].slot].state = SLOT_HELD;
    l->pool_free[l->npool++] = p;
    ring_pop(&l->out);
}

bool luc_peek_timer(const luc *l, event *e)
{
    if (ring_empty(&l->tq))
        return false;
    *e = *(const event *)ring_front(&l->tq);
    return true;
}

void luc_pop_timer(luc *l)
{
    l->nw_ok = false;
    ring_pop(&l->tq);
}

bool luc_idle(const luc *l)
{
    return ring_empty(&l->in) && l->nheap == 0 && ring_empty(&l->out) && ring_empty(&l->tq);
}

const luc_stats *luc_get_stats(const luc *l) { return &l->st; }

void luc_reset_stats(luc *l)
{
    memset(&l->st, 0, sizeof l->st);
    memset(&l->mem.st, 0, sizeof l->mem.st);
    l->st.timers_peak = luc_timers_armed(l);
}
const xmem_stats *luc_mem_stats(const luc *l) { return &l->mem.st; }
uint32_t luc_slots_in_use(const luc *l) { return l->cfg.slots - l->nfree; }
const uint8_t *luc_record(const luc *l, uint32_t flow) { return record(l, flow); }

void luc_describe(const luc *l, char *buf, size_t size)
{
    if (!size)
        return;
    snprintf(buf, size,
             "lookup: in %u/%u, fetching %u, out %u/%u, timer events %u/%u, slots %u/%u in use, "
             "timers %u armed",
             ring_count(&l->in), l->in.cap, l->nheap, ring_count(&l->out), l->out.cap,
             ring_count(&l->tq), l->tq.cap, luc_slots_in_use(l), l->cfg.slots, l->armed);
}

void luc_prefetch(const luc *l, uint32_t flow)
{
    if (flow >= l->flows)
        return;
    const uint8_t *rec = record(l, flow);
    for (uint32_t o = 0; o < l->ws; o += 64)
        __builtin_prefetch(rec + o);
    __builtin_prefetch(&l->fl[flow]);
    __builtin_prefetch(&l->tpos[(size_t)flow * LUC_TIMERS]);
}

/* dispatcher: flow lookup, per-(flow, portion) ordering and core selection (claims 1, 5, 6, 9,
 * 10, 21, 30). See dispatcher.h for the contract.
 *
 * Like the cluster's cores, the engine decides an item when it takes it (the lookup, the portion
 * check, the core choice all happen at the start cycle) and holds the result until start +
 * lookup_cycles, when it enters the out-queue (or, for a parked event, simply ends).
 *
 * Choices the header leaves open, made here:
 *   - host-channel events carry the proxy in ev.flow like timer and internal ones, and their
 *     connection's key in ev.key: one whose key is not the proxy's (the connection closed and
 *     the proxy went to another) is dropped as DROP_NO_FLOW, counted in events_dropped_closed;
 *   - events of a non-network channel whose type has no route leave as DROP_NO_ROUTE records
 *     (no counter: they are not packets and their flow is not closed);
 *   - a later event of a packet whose first event went to a flow that has been closed (or its
 *     proxy recycled) since is dropped as DROP_NO_FLOW and counted in events_dropped_closed;
 *     one whose own type has no route is dropped as DROP_NO_ROUTE; the packet stays counted as
 *     dispatched either way;
 *   - freed proxies join the tail of the free list (FIFO): a recycled proxy is the one free for
 *     the longest time, so late events of an old flow are least likely to meet a new one;
 *   - disp_pending_count and "parked" in disp_describe count the pool slots in use: parked
 *     events plus released ones waiting for the engine;
 *   - each DISP_GO gets one disp_complete (also when its portion mask is 0): it counts in its
 *     flow's in-flight events from its dispatch (or release) until then;
 *   - while the pool is full no channel input is taken, even an event that would not park;
 *     stall_pending_full counts each episode once (an input was due and the engine stood idle);
 *   - first_of_packet goes to whichever record of the packet leaves first: when the first event
 *     parks and a later one of the same packet passes it, the later one carries the mark. */
#include "dispatcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const policy_names[] = {"round_robin", "least_loaded", "affinity", NULL};

static const param_def defs[] = {
    {"clock_mhz", PARAM_U32, offsetof(disp_cfg, clock_mhz), 1000, 1, 100000, "MHz",
     "clock of the dispatcher (its cycle counts are in this clock)", NULL},
    {"flows", PARAM_U32, offsetof(disp_cfg, flows), 16384, 1, 16777216, "flows",
     "flow-table capacity: local flow-ID proxies 0 .. flows-1", NULL},
    {"lookup_cycles", PARAM_U32, offsetof(disp_cfg, lookup_cycles), 4, 1, 100000, "cycles",
     "engine time per event (lookup, portion check, core selection)", NULL},
    {"in_depth", PARAM_U32, offsetof(disp_cfg, in_depth), 64, 1, 65536, "events",
     "events each input channel holds waiting for the engine", NULL},
    {"out_depth", PARAM_U32, offsetof(disp_cfg, out_depth), 64, 1, 65536, "events",
     "results the out-queue holds before the engine must wait", NULL},
    {"pending", PARAM_U32, offsetof(disp_cfg, pending), 4096, 1, 1048576, "events",
     "parked events of all flows together (pool full: the engine stops taking input)", NULL},
    {"policy", PARAM_ENUM, offsetof(disp_cfg, policy), DISP_LEAST_LOADED, 0, 2, "",
     "how a core is chosen among the routed clusters' cores", policy_names},
    {"pickup", PARAM_BOOL, offsetof(disp_cfg, pickup), 1, 0, 1, "",
     "a tcp_data event of an unknown flow opens it (mid-stream pickup)", NULL},
    {"seed", PARAM_U64, offsetof(disp_cfg, seed), 1, 0, UINT64_MAX, "",
     "seed of the flow table's hash", NULL},
};
const param_table disp_params = {"dispatcher", defs, sizeof defs / sizeof defs[0]};

#define S(name, desc)                                                                              \
    {                                                                                              \
#name, desc, offsetof(disp_stats, name)                                                    \
    }
const stat_def disp_stat_defs[] = {
    S(events_in, "events pushed, all channels"),
    S(events_dispatched, "events sent to a core (released parked events included)"),
    S(events_parked, "events that had to wait for a portion of their flow"),
    S(events_dropped_closed, "events for a flow that was closed or free"),
    S(packets_in, "distinct network packets looked up"),
    S(packets_dispatched, "network packets whose events went to a flow"),
    S(flows_opened, "proxies allocated"),
    S(flows_closed, "flows closed by the microcode"),
    S(flows_picked_up, "flows opened by an event other than tcp_syn (mid-stream pickup)"),
    S(flows_peak, "most proxies in use at once"),
    S(stall_in_full, "pushes refused because an input channel was full"),
    S(stall_out_full, "results that had to wait for out-queue room"),
    S(stall_pending_full, "times the engine stopped taking input because the pool was full"),
    S(busy_cycles, "cycles the engine was occupied"),
};
#undef S
const size_t disp_stat_count = sizeof disp_stat_defs / sizeof disp_stat_defs[0];

#define NIL UINT32_MAX
#define SRC_RELEASED CH_COUNT /* engine item source: the released queue */

enum { FS_FREE, FS_OPEN, FS_CLOSING };

/* One cache line per flow (the array is line-aligned): a lookup's key compare brings in what
 * admit and announce read next. */
typedef struct disp_flow {
    flow_key key;       /* remote -> local */
    uint32_t inflight;  /* events locked (released, in the engine, out-queue or cores) */
    uint32_t park_head; /* pool indices, arrival order */
    uint32_t park_tail;
    uint8_t locked; /* portions held by in-flight events */
    uint8_t state;  /* FS_* */
    uint8_t fresh;  /* opened from outside: its first event goes as opened (state zeroed) */
    uint8_t pad[5];
} disp_flow;
_Static_assert(sizeof(disp_flow) == 64, "a flow is one cache line");

/* The flow table is open addressing with linear probing over slots of (tag, proxy): a probe
 * reads one small array and touches a flow's record only when the tag (the hash's low 32 bits,
 * whose low bits are also the home slot) matches. The hash is symmetric, the same for a key
 * and its flow_key_reverse, so one probe sequence answers both "is k open" and "is the
 * reverse of k open" (a packet the local side sent). At most half the slots are used. */
typedef struct disp_slot {
    uint32_t tag;
    uint32_t flow; /* NIL: empty */
} disp_slot;

typedef struct disp_pend { /* a pool slot: a parked or released event */
    event ev;
    cycle_t at;    /* released: the cycle of the release */
    uint32_t next; /* next parked event of the flow, or next free slot */
    uint8_t portions;
    uint8_t unannounced; /* no event of its packet has left yet */
} disp_pend;

typedef struct disp_qin { /* an event waiting in an input channel */
    event ev;
    cycle_t at;
} disp_qin;

struct disp {
    disp_cfg cfg;
    unsigned ncluster;
    unsigned cores[DISP_MAX_CLUSTERS];
    uint8_t class_portions[PROTO_COUNT][EVC_COUNT]; /* per protocol (its image) */
    uint8_t type_needs[PROTO_COUNT][EV_TYPE_COUNT]; /* 1: the type's own portions override */
    uint8_t type_portions[PROTO_COUNT][EV_TYPE_COUNT];
    uint32_t route[EV_TYPE_COUNT];
    flow_key *local_keys; /* keys of packets the local side of an opened flow sends */
    uint32_t nlocal, local_cap;
    bool opens[EV_TYPE_COUNT];

    ring in[CH_COUNT]; /* disp_qin */
    uint32_t in_mask;  /* bit c: channel c holds an item (next_item visits only those) */
    ring out;          /* disp_out */
    ring released;     /* uint32_t pool index */
    ring free_flows;   /* uint32_t proxy, FIFO */

    disp_slot *slots; /* slot_mask + 1 */
    uint32_t slot_mask;
    disp_flow *flows; /* cfg.flows, line-aligned */
    uint32_t in_use;

    disp_pend *pool;
    uint32_t pool_free; /* head of the free slots */
    uint32_t pool_used;

    /* the engine */
    cycle_t end;        /* when the item's result is due */
    cycle_t free;       /* when the engine can take the next item */
    cycle_t now;        /* latest cycle seen */
    disp_out *res;      /* the item's record: the out-queue's next slot, or spill when full */
    disp_out spill;     /* the record of an item taken while the out-queue was full */
    cycle_t settled_at; /* settled: disp_advance(settled_at) found nothing more to do, and */
    bool settled;       /* nothing that could change it has happened since */
    bool busy;          /* an item has been decided; its result waits for end */
    bool blocked;       /* ... and, past end, for out-queue room */
    bool has_out;       /* the item leaves a record (false: it parked) */
    bool unannounced;   /* the record is the first of its packet to leave */
    bool pool_stalled;  /* stall_pending_full counted for the current episode */

    /* the fate of the last network packet (claim 1: its events share it) */
    bool fate_valid;
    bool fate_announced;
    uint8_t fate_reason; /* DROP_REASON_COUNT: went to fate_flow */
    uint32_t fate_flow;
    uint64_t fate_pkt;

    uint32_t rr[1u << DISP_MAX_CLUSTERS]; /* round_robin: next index per cluster set */
    uint32_t load[DISP_MAX_CLUSTERS][DISP_MAX_CORES];
    /* per cluster: the least load of its cores, and the set of cores (bit k = core k) at it, so
     * that least_loaded within one cluster picks without scanning */
    uint32_t min_load[DISP_MAX_CLUSTERS];
    uint64_t min_set[DISP_MAX_CLUSTERS];
    disp_stats st;
};

void disp_cfg_default(disp_cfg *c) { param_defaults(&disp_params, c); }

disp *disp_new(const disp_cfg *cfg, unsigned ncluster, const unsigned *cores,
               const uint8_t *class_portions, sim_err *err)
{
    if (param_validate(&disp_params, cfg, err))
        return NULL;
    if (ncluster < 1 || ncluster > DISP_MAX_CLUSTERS) {
        sim_err_set(err, "dispatcher: %u clusters is out of range [1, %d]", ncluster,
                    DISP_MAX_CLUSTERS);
        return NULL;
    }
    if (!cores || !class_portions) {
        sim_err_set(err, "dispatcher: no core counts or no class portions");
        return NULL;
    }
    for (unsigned i = 0; i < ncluster; i++)
        if (cores[i] < 1 || cores[i] > DISP_MAX_CORES) {
            sim_err_set(err, "dispatcher: cluster %u has %u cores, out of range [1, %d]", i,
                        cores[i], DISP_MAX_CORES);
            return NULL;
        }
    disp *d = calloc(1, sizeof *d);
    if (!d) {
        sim_err_set(err, "dispatcher: out of memory");
        return NULL;
    }
    d->cfg = *cfg;
    d->ncluster = ncluster;
    for (unsigned i = 0; i < ncluster; i++) {
        d->cores[i] = cores[i];
        d->min_set[i] = cores[i] == 64 ? UINT64_MAX : (UINT64_C(1) << cores[i]) - 1;
    }
    for (unsigned p = 0; p < PROTO_COUNT; p++)
        memcpy(d->class_portions[p], class_portions, EVC_COUNT);
    d->opens[EV_TCP_SYN] = true;
    d->opens[EV_TCP_DATA] = cfg->pickup != 0;

    uint64_t nb = 1;
    while (nb < 2ull * cfg->flows)
        nb <<= 1;
    d->slot_mask = (uint32_t)(nb - 1);
    d->slots = malloc(nb * sizeof *d->slots);
    d->flows = aligned_alloc(64, (size_t)cfg->flows * sizeof *d->flows);
    d->pool = calloc(cfg->pending, sizeof *d->pool);
    if (!d->slots || !d->flows || !d->pool) {
        sim_err_set(err, "dispatcher: out of memory for %u flows and %u pending events", cfg->flows,
                    cfg->pending);
        disp_free(d);
        return NULL;
    }
    for (unsigned c = 0; c < CH_COUNT; c++)
        if (ring_init(&d->in[c], sizeof(disp_qin), cfg->in_depth, err)) {
            disp_free(d);
            return NULL;
        }
    if (ring_init(&d->out, sizeof(disp_out), cfg->out_depth, err) ||
        ring_init(&d->released, sizeof(uint32_t), cfg->pending, err) ||
        ring_init(&d->free_flows, sizeof(uint32_t), cfg->flows, err)) {
        disp_free(d);
        return NULL;
    }
    for (uint64_t b = 0; b < nb; b++)
        d->slots[b] = (disp_slot){0, NIL};
    memset(d->flows, 0, (size_t)cfg->flows * sizeof *d->flows);
    for (uint32_t f = 0; f < cfg->flows; f++) {
        disp_flow *fl = &d->flows[f];
        fl->park_head = fl->park_tail = NIL;
        *(uint32_t *)ring_push_slot(&d->free_flows) = f;
    }
    for (uint32_t i = 0; i < cfg->pending; i++)
        d->pool[i].next = i + 1 < cfg->pending ? i + 1 : NIL;
    d->pool_free = 0;
    return d;
}

void disp_free(disp *d)
{
    if (!d)
        return;
    for (unsigned c = 0; c < CH_COUNT; c++)
        ring_fini(&d->in[c]);
    ring_fini(&d->out);
    ring_fini(&d->released);
    ring_fini(&d->free_flows);
    free(d->slots);
    free(d->flows);
    free(d->pool);
    free(d->local_keys);
    free(d);
}

void disp_set_route(disp *d, unsigned type, uint32_t cluster_mask)
{
    if (type < EV_TYPE_COUNT)
        d->route[type] = cluster_mask & ((1u << d->ncluster) - 1u);
}

void disp_set_opens(disp *d, unsigned type, bool opens)
{
    if (type < EV_TYPE_COUNT)
        d->opens[type] = opens;
}

bool disp_can_accept(const disp *d, unsigned chan) { return !ring_full(&d->in[chan]); }

static void see(disp *d, cycle_t now)
{
    if (now > d->now)
        d->now = now;
}

static inline uint64_t key_hash(const disp *d, const flow_key *k);
static uint32_t tag_of(uint64_t h);

void disp_push(disp *d, const event *e, cycle_t now)
{
    disp_qin *q = ring_push_slot(&d->in[e->chan]);
    d->in_mask |= 1u << e->chan;
    d->settled = false;
    q->ev = *e;
    q->at = now;
    if (e->chan == CH_NETWORK) /* host speed only: the slot its lookup reads, into the cache */
        __builtin_prefetch(&d->slots[tag_of(key_hash(d, &e->key)) & d->slot_mask]);
    d->st.events_in++;
    see(d, now);
}

void disp_refuse(disp *d, unsigned chan)
{
    (void)chan;
    d->st.stall_in_full++;
}

/* --- flow table --- */

static inline uint64_t fold_mul(uint64_t a, uint64_t b)
{
    __extension__ typedef unsigned __int128 u128;
    u128 p = (u128)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
}

static inline uint64_t addr_hash(const uint8_t *a)
{
    uint64_t w[2];
    memcpy(w, a, sizeof w);
    return fold_mul(w[0] ^ 0xa0761d6478bd642fULL, w[1] ^ 0xe7037ed1a0b428dbULL);
}

/* The table's hash of k: symmetric, so k and flow_key_reverse(k) hash alike (the addresses
 * add, the ports enter as (lower, higher): a reversal swaps both or, for a RoCE key, only the
 * addresses). */
static inline uint64_t key_hash(const disp *d, const flow_key *k)
{
    uint64_t a = addr_hash(k->src) + addr_hash(k->dst);
    uint16_t lo = k->sport < k->dport ? k->sport : k->dport;
    uint16_t hi = k->sport < k->dport ? k->dport : k->sport;
    uint64_t rest =
        (uint64_t)lo | (uint64_t)hi << 16 | (uint64_t)k->af << 32 | (uint64_t)k->proto << 40;
    return fold_mul(a ^ d->cfg.seed ^ 0x8ebc6af09c88c6e3ULL,
                    rest ^ ((uint64_t)k->qp << 48 | k->qp >> 16) ^ 0x589965cc75374cc3ULL);
}

uint64_t disp_key_hash(const disp *d, const flow_key *k) { return key_hash(d, k); }

static uint32_t tag_of(uint64_t h) { return (uint32_t)h; }

/* Looks k (hashed to h) up: its proxy, or NIL. When rev is not NULL, *rev tells (on a miss)
 * whether the reverse of k is open: it lies on the same probe sequence. */
static inline uint32_t table_probe(const disp *d, const flow_key *k, uint64_t h, bool *rev)
{
    uint32_t tag = tag_of(h);
    for (uint32_t i = tag & d->slot_mask;; i = (i + 1) & d->slot_mask) {
        disp_slot s = d->slots[i];
        if (s.flow == NIL)
            return NIL;
        if (s.tag != tag)
            continue;
        const flow_key *fk = &d->flows[s.flow].key;
        if (flow_key_eq(fk, k))
            return s.flow;
        if (rev && !*rev) {
            flow_key r;
            flow_key_reverse(&r, k);
            *rev = flow_key_eq(fk, &r);
        }
    }
}

static uint32_t table_find(const disp *d, const flow_key *k)
{
    return table_probe(d, k, key_hash(d, k), NULL);
}

/* Takes f's slot out, moving later slots of the run back (no tombstones). */
static void table_remove(disp *d, uint32_t f)
{
    uint32_t m = d->slot_mask;
    uint32_t i = tag_of(key_hash(d, &d->flows[f].key)) & m;
    while (d->slots[i].flow != f) {
        if (d->slots[i].flow == NIL)
            return; /* not in the table */
        i = (i + 1) & m;
    }
    for (uint32_t j = i;;) {
        j = (j + 1) & m;
        if (d->slots[j].flow == NIL)
            break;
        uint32_t home = d->slots[j].tag & m;
        /* j's entry may fill the hole at i unless its home lies cyclically in (i, j] */
        if (((j - home) & m) >= ((j - i) & m)) {
            d->slots[i] = d->slots[j];
            i = j;
        }
    }
    d->slots[i] = (disp_slot){0, NIL};
}

/* Enters proxy f under k (hashed to h). pre: k is not in the table. */
static void table_insert(disp *d, uint32_t f, uint64_t h)
{
    uint32_t i = tag_of(h) & d->slot_mask;
    while (d->slots[i].flow != NIL)
        i = (i + 1) & d->slot_mask;
    d->slots[i] = (disp_slot){tag_of(h), f};
}

/* Allocates a proxy for k (remote -> local) and enters it in the table; NIL when none is free. */
static uint32_t flow_open(disp *d, const flow_key *k, uint64_t h)
{
    if (ring_empty(&d->free_flows))
        return NIL;
    uint32_t f = *(const uint32_t *)ring_front(&d->free_flows);
    ring_pop(&d->free_flows);
    disp_flow *fl = &d->flows[f];
    fl->key = *k;
    fl->state = FS_OPEN;
    table_insert(d, f, h);
    d->in_use++;
    if (d->in_use > d->st.flows_peak)
        d->st.flows_peak = d->in_use;
    d->st.flows_opened++;
    return f;
}

/* A key the local side of a flow opened with disp_open_flow sends under (linear: few). */
static bool sent_by_local(const disp *d, const flow_key *k)
{
    for (uint32_t i = 0; i < d->nlocal; i++)
        if (flow_key_eq(&d->local_keys[i], k))
            return true;
    return false;
}

/* Returns a closing proxy to the free list once nothing of it is parked or in flight. */
static void flow_maybe_free(disp *d, uint32_t f)
{
    disp_flow *fl = &d->flows[f];
    if (fl->state != FS_CLOSING || fl->inflight || fl->park_head != NIL)
        return;
    memset(fl, 0, sizeof *fl);
    fl->park_head = fl->park_tail = NIL;
    fl->state = FS_FREE;
    *(uint32_t *)ring_push_slot(&d->free_flows) = f;
    d->in_use--;
}

/* --- core selection (claims 5, 6, 30) --- */

/* Core k of cluster c takes an event: its load grows, and min_load/min_set follow. */
static void load_inc(disp *d, unsigned c, unsigned k)
{
    uint32_t old = d->load[c][k]++;
    if (old != d->min_load[c])
        return;
    d->min_set[c] &= ~(UINT64_C(1) << k);
    if (d->min_set[c])
        return;
    uint32_t m = old + 1; /* every core is at old + 1 or more now */
    uint64_t set = 0;
    for (unsigned x = 0; x < d->cores[c]; x++)
        if (d->load[c][x] == m)
            set |= UINT64_C(1) << x;
    d->min_load[c] = m;
    d->min_set[c] = set;
}

/* Core k of cluster c finished an event. pre: its load is not 0. */
static void load_dec(disp *d, unsigned c, unsigned k)
{
    uint32_t now = --d->load[c][k];
    if (now < d->min_load[c]) {
        d->min_load[c] = now;
        d->min_set[c] = UINT64_C(1) << k;
    } else if (now == d->min_load[c]) {
        d->min_set[c] |= UINT64_C(1) << k;
    }
}

__attribute__((always_inline)) static inline void
select_core(disp *d, uint32_t mask, uint32_t proxy, unsigned *cl, unsigned *co)
{
    if (d->cfg.policy == DISP_LEAST_LOADED && mask && (mask & (mask - 1)) == 0) {
        /* within one cluster: the first core at the least load from the one after the last
         * chosen, wrapping (the scans below would find the same) */
        unsigned c = (unsigned)__builtin_ctz(mask);
        unsigned n = d->cores[c];
        unsigned start = d->rr[mask]; /* < n: the cursor of a one-cluster route stays below */
        uint64_t set = d->min_set[c];
        uint64_t from = set & ~((UINT64_C(1) << start) - 1);
        unsigned pick = (unsigned)__builtin_ctzll(from ? from : set);
        d->rr[mask] = pick + 1 == n ? 0 : pick + 1;
        *cl = c;
        *co = pick;
        return;
    }
    unsigned n = 0;
    for (unsigned c = 0; c < d->ncluster; c++)
        if (mask & (1u << c))
            n += d->cores[c];
    *cl = *co = 0;
    if (n == 0) /* not reached: events without a route are dropped before selection */
        return;
    unsigned pick = 0; /* index among the routed cores, clusters in order */
    if (d->cfg.policy == DISP_ROUND_ROBIN) {
        pick = d->rr[mask] % n;
        d->rr[mask] = pick + 1 == n ? 0 : pick + 1;
    } else if (d->cfg.policy == DISP_AFFINITY) {
        uint32_t h = (uint32_t)((uint64_t)proxy * 2654435761u) >> 16;
        pick = h % n;
    } else { /* least loaded; ties go round robin, from the core after the last one chosen */
        uint32_t load[DISP_MAX_CLUSTERS * DISP_MAX_CORES];
        unsigned i = 0;
        for (unsigned c = 0; c < d->ncluster; c++) {
            if (!(mask & (1u << c)))
                continue;
            for (unsigned k = 0; k < d->cores[c]; k++)
                load[i++] = d->load[c][k];
        }
        unsigned start = d->rr[mask] % n;
        uint32_t best = UINT32_MAX;
        for (unsigned j = 0; j < n; j++) {
            unsigned x = start + j < n ? start + j : start + j - n;
            if (load[x] < best) {
                best = load[x];
                pick = x;
            }
        }
        d->rr[mask] = pick + 1 == n ? 0 : pick + 1;
    }
    for (unsigned c = 0; c < d->ncluster; c++) {
        if (!(mask & (1u << c)))
            continue;
        if (pick < d->cores[c]) {
            *cl = c;
            *co = pick;
            return;
        }
        pick -= d->cores[c];
    }
}

/* --- the engine's decisions --- */

/* The clusters that run events of e's type (0: none; also for a type out of range). */
static uint32_t route_of(const disp *d, const event *e)
{
    return e->type < EV_TYPE_COUNT ? d->route[e->type] : 0;
}

static uint8_t portions_of(const disp *d, const event *e)
{
    if (e->proto >= PROTO_COUNT)
        return 0;
    if (e->type < EV_TYPE_COUNT && d->type_needs[e->proto][e->type])
        return d->type_portions[e->proto][e->type];
    return e->cls < EVC_COUNT ? d->class_portions[e->proto][e->cls] : 0;
}

/* The engine's record: e, and every other field zero. */
static disp_out *res_set(disp *d, const event *e)
{
    disp_out *r = d->res;
    r->ev = *e;
    r->kind = 0;
    r->reason = 0;
    r->cluster = 0;
    r->portions = 0;
    r->core = 0;
    r->opened = 0;
    r->first_of_packet = 0;
    return r;
}

static void decide_drop(disp *d, const event *e, unsigned reason)
{
    disp_out *r = res_set(d, e);
    r->kind = DISP_DROP;
    r->reason = (uint8_t)reason;
    d->has_out = true;
}

static void decide_go(disp *d, const event *e, uint32_t f, uint8_t portions, bool opened)
{
    unsigned cl, co;
    select_core(d, route_of(d, e), f, &cl, &co);
    load_inc(d, cl, co);
    disp_out *r = res_set(d, e);
    r->ev.flow = f;
    r->kind = DISP_GO;
    r->cluster = (uint8_t)cl;
    r->core = (uint16_t)co;
    r->portions = portions;
    r->opened = opened;
    d->has_out = true;
    d->st.events_dispatched++;
}

/* The event goes to flow f: dispatched when its portions are free and no earlier parked event
 * of the flow shares one (claims 1, 11, 23), parked otherwise. pre: a pool slot is free. */
static void admit(disp *d, const event *e, uint32_t f, bool opened)
{
    disp_flow *fl = &d->flows[f];
    uint8_t mask = portions_of(d, e);
    uint8_t parked = 0;
    for (uint32_t p = fl->park_head; p != NIL; p = d->pool[p].next)
        parked |= d->pool[p].portions;
    if (!(mask & (fl->locked | parked))) {
        fl->locked |= mask;
        fl->inflight++;
        decide_go(d, e, f, mask, opened || fl->fresh);
        fl->fresh = 0;
        return;
    }
    uint32_t p = d->pool_free;
    disp_pend *pe = &d->pool[p];
    d->pool_free = pe->next;
    d->pool_used++;
    pe->ev = *e;
    pe->ev.flow = f;
    pe->at = 0;
    pe->next = NIL;
    pe->portions = mask;
    pe->unannounced = d->unannounced;
    if (fl->park_tail == NIL)
        fl->park_head = p;
    else
        d->pool[fl->park_tail].next = p;
    fl->park_tail = p;
    d->st.events_parked++;
    d->has_out = false;
}

/* The first event of a new network packet: route, lookup, open (claim 7). */
static void decide_new_packet(disp *d, const event *e)
{
    d->fate_valid = true;
    d->fate_announced = false;
    d->fate_pkt = e->pkt;
    d->fate_flow = NIL;
    d->st.packets_in++;
    unsigned reason = DROP_REASON_COUNT;
    uint32_t f = NIL;
    bool opened = false;
    if (!route_of(d, e)) {
        reason = DROP_NO_ROUTE;
    } else {
        uint64_t h = key_hash(d, &e->key);
        bool rev = false;
        if ((f = table_probe(d, &e->key, h, &rev)) != NIL) {
            /* the flow's own event */
        } else if (rev || sent_by_local(d, &e->key)) {
            reason = DROP_SENT_BY_LOCAL_SIDE;
        } else if (!d->opens[e->type]) {
            reason = DROP_NO_FLOW;
        } else if ((f = flow_open(d, &e->key, h)) == NIL) {
            reason = DROP_FLOW_TABLE_FULL;
        } else {
            opened = true;
            if (e->type != EV_TCP_SYN)
                d->st.flows_picked_up++;
        }
    }
    d->fate_reason = (uint8_t)reason;
    if (reason != DROP_REASON_COUNT) {
        d->st.packets_dropped[reason]++;
        decide_drop(d, e, reason);
        return;
    }
    d->fate_flow = f;
    d->st.packets_dispatched++;
    admit(d, e, f, opened);
}

/* A later event of the last packet: shares its fate. */
static void decide_same_packet(disp *d, const event *e)
{
    if (d->fate_reason != DROP_REASON_COUNT) {
        decide_drop(d, e, d->fate_reason);
        return;
    }
    uint32_t f = d->fate_flow;
    const disp_flow *fl = &d->flows[f];
    if (fl->state != FS_OPEN || !flow_key_eq(&fl->key, &e->key)) {
        d->st.events_dropped_closed++;
        decide_drop(d, e, DROP_NO_FLOW);
    } else if (!route_of(d, e)) {
        decide_drop(d, e, DROP_NO_ROUTE);
    } else {
        admit(d, e, f, false);
    }
}

/* A timer, host or internal event: it names its proxy. A host event names its connection's key
 * too: the host raised it for one connection, and if that connection closed while the event
 * waited, its proxy may already serve another (a new SYN), which must not get it. */
static void decide_proxy_event(disp *d, const event *e)
{
    if (!route_of(d, e)) {
        decide_drop(d, e, DROP_NO_ROUTE);
    } else if (e->flow >= d->cfg.flows || d->flows[e->flow].state != FS_OPEN ||
               (e->chan == CH_HOST && !flow_key_eq(&d->flows[e->flow].key, &e->key))) {
        d->st.events_dropped_closed++;
        decide_drop(d, e, DROP_NO_FLOW);
    } else {
        admit(d, e, e->flow, false);
    }
}

/* The engine takes the item of source src at cycle t and decides it. */
__attribute__((noinline)) static void take(disp *d, unsigned src, cycle_t t)
{
    d->busy = true;
    d->blocked = false;
    /* Decided in place into the out-queue's next slot (nothing else enters the out-queue while
     * the engine holds the item, so the slot is still the next one at finish), or into spill. */
    d->res = ring_full(&d->out) ? &d->spill : ring_at(&d->out, ring_count(&d->out));
    d->end = t + d->cfg.lookup_cycles;
    d->st.busy_cycles += d->cfg.lookup_cycles;
    if (src == SRC_RELEASED) {
        uint32_t p = *(const uint32_t *)ring_front(&d->released);
        ring_pop(&d->released);
        disp_pend *pe = &d->pool[p];
        d->unannounced = pe->unannounced;
        decide_go(d, &pe->ev, pe->ev.flow, pe->portions, false);
        pe->next = d->pool_free;
        d->pool_free = p;
        d->pool_used--;
        return;
    }
    const disp_qin *q = ring_front(&d->in[src]); /* decided in place, popped after */
    d->pool_stalled = false;
    if (src != CH_NETWORK) {
        d->unannounced = false;
        decide_proxy_event(d, &q->ev);
    } else if (d->fate_valid && d->fate_pkt == q->ev.pkt) {
        d->unannounced = !d->fate_announced;
        decide_same_packet(d, &q->ev);
    } else {
        d->unannounced = true;
        decide_new_packet(d, &q->ev);
    }
    ring_pop(&d->in[src]);
    if (ring_empty(&d->in[src]))
        d->in_mask &= ~(1u << src);
}

/* A record of packet pkt (of flow f, or NIL) has left: its other events are no longer first. */
static void announce(disp *d, uint64_t pkt, uint32_t f)
{
    if (d->fate_valid && d->fate_pkt == pkt)
        d->fate_announced = true;
    if (f != NIL && f < d->cfg.flows)
        for (uint32_t p = d->flows[f].park_head; p != NIL; p = d->pool[p].next)
            if (d->pool[p].ev.pkt == pkt)
                d->pool[p].unannounced = 0;
    for (uint32_t i = 0; i < ring_count(&d->released); i++) {
        disp_pend *pe = &d->pool[*(const uint32_t *)ring_at(&d->released, i)];
        if (pe->ev.chan == CH_NETWORK && pe->ev.pkt == pkt)
            pe->unannounced = 0;
    }
}

/* The engine's item ends (at end, or at now when it had been blocked). Returns false, and
 * blocks the engine, when its record finds the out-queue full. */
__attribute__((noinline)) static bool finish(disp *d, cycle_t now)
{
    if (d->has_out) {
        if (ring_full(&d->out)) {
            if (!d->blocked) {
                d->blocked = true;
                d->st.stall_out_full++;
            }
            return false;
        }
        disp_out *slot = ring_push_slot(&d->out);
        if (slot != d->res)
            *slot = *d->res;
        slot->first_of_packet = d->unannounced;
        if (d->unannounced) {
            uint32_t f = slot->kind == DISP_GO ? slot->ev.flow : d->fate_flow;
            announce(d, slot->ev.pkt, f);
        }
    }
    d->free = d->blocked ? now : d->end;
    d->busy = false;
    d->blocked = false;
    d->has_out = false;
    d->unannounced = false;
    return true;
}

static cycle_t max_cycle(cycle_t a, cycle_t b) { return a > b ? a : b; }

/* The next item the engine would take, by earliest start and then priority (released, internal,
 * timer, host, network); channels count only while the pool has a free slot. Sets *src and
 * returns its start, or CYCLE_NEVER. *waiting (may be NULL) tells whether a channel item was
 * left out for the pool, with the start it would have had. */
static inline cycle_t next_item(const disp *d, unsigned *src, cycle_t *waiting)
{
    cycle_t best = CYCLE_NEVER;
    if (waiting)
        *waiting = CYCLE_NEVER;
    if (!d->in_mask && ring_empty(&d->released))
        return best;
    if (!ring_empty(&d->released)) {
        const disp_pend *pe = &d->pool[*(const uint32_t *)ring_front(&d->released)];
        best = max_cycle(pe->at, d->free);
        *src = SRC_RELEASED;
    }
    /* the channels in priority order internal, timer, host, network: highest number first */
    _Static_assert(CH_INTERNAL > CH_TIMER && CH_TIMER > CH_HOST && CH_HOST > CH_NETWORK,
                   "priority follows the channel numbers");
    bool room = d->pool_used < d->cfg.pending;
    for (uint32_t m = d->in_mask; m;) {
        unsigned c = 31u - (unsigned)__builtin_clz(m);
        m &= ~(1u << c);
        cycle_t t = max_cycle(((const disp_qin *)ring_front(&d->in[c]))->at, d->free);
        if (!room) {
            if (waiting && t < *waiting)
                *waiting = t;
            continue;
        }
        if (t < best) {
            best = t;
            *src = c;
        }
    }
    return best;
}

cycle_t disp_next_cycle(const disp *d)
{
    if (d->busy) {
        if (!d->blocked)
            return d->end;
        return ring_full(&d->out) ? CYCLE_NEVER : d->now;
    }
    unsigned src = 0;
    return next_item(d, &src, NULL);
}

__attribute__((noinline)) static unsigned advance(disp *d, cycle_t now)
{
    unsigned work = 0;
    see(d, now);
    for (;;) {
        if (d->busy) {
            if (!d->blocked && d->end > now)
                break;
            if (!finish(d, now))
                break;
            work++;
            continue;
        }
        unsigned src = 0;
        cycle_t waiting;
        cycle_t t = next_item(d, &src, &waiting);
        if (waiting <= now && !d->pool_stalled && (t == CYCLE_NEVER || t > waiting)) {
            d->pool_stalled = true;
            d->st.stall_pending_full++;
        }
        if (t > now)
            break;
        take(d, src, t);
        work++;
    }
    d->settled = true;
    d->settled_at = now;
    return work;
}

bool disp_settled(const disp *d, cycle_t now) { return d->settled && d->settled_at == now; }

unsigned disp_advance(disp *d, cycle_t now)
{
    if (d->settled && d->settled_at == now)
        return 0; /* the same call as the last one, with nothing changed since */
    /* advance's first step ending the loop at once, without its call: an item still in the
     * engine, or nothing to take (no channel item, so none left out for the pool either) */
    if (d->busy ? !d->blocked && d->end > now : !d->in_mask && ring_empty(&d->released)) {
        see(d, now);
        d->settled = true;
        d->settled_at = now;
        return 0;
    }
    return advance(d, now);
}

bool disp_peek_out(const disp *d, disp_out *o)
{
    if (ring_empty(&d->out))
        return false;
    *o = *(const disp_out *)ring_front(&d->out);
    return true;
}

const disp_out *disp_front(const disp *d)
{
    return ring_empty(&d->out) ? NULL : (const disp_out *)ring_front(&d->out);
}

void disp_pop_out(disp *d)
{
    ring_pop(&d->out);
    if (d->blocked)
        d->settled = false; /* the blocked record has room now */
}

void disp_complete(disp *d, uint32_t flow, uint8_t portions, unsigned cluster, unsigned core,
                   cycle_t now)
{
    see(d, now);
    d->settled = false;
    if (cluster < DISP_MAX_CLUSTERS && core < DISP_MAX_CORES && d->load[cluster][core])
        load_dec(d, cluster, core);
    if (flow >= d->cfg.flows)
        return;
    disp_flow *fl = &d->flows[flow];
    fl->locked &= (uint8_t)~portions;
    if (fl->inflight)
        fl->inflight--;
    /* Release, in arrival order, each parked event whose portions are free and which no
     * earlier still-parked event shares a portion with; it is locked at once. */
    uint8_t ahead = 0;
    uint32_t *link = &fl->park_head;
    uint32_t prev = NIL;
    while (*link != NIL) {
        uint32_t p = *link;
        disp_pend *pe = &d->pool[p];
        if (pe->portions & (fl->locked | ahead)) {
            ahead |= pe->portions;
            prev = p;
            link = &pe->next;
            continue;
        }
        *link = pe->next;
        fl->locked |= pe->portions;
        fl->inflight++;
        pe->next = NIL;
        pe->at = now;
        *(uint32_t *)ring_push_slot(&d->released) = p;
    }
    fl->park_tail = prev;
    flow_maybe_free(d, flow);
}

void disp_flow_close(disp *d, uint32_t flow, cycle_t now)
{
    see(d, now);
    d->settled = false;
    if (flow >= d->cfg.flows || d->flows[flow].state != FS_OPEN)
        return;
    table_remove(d, flow);
    d->flows[flow].state = FS_CLOSING;
    d->st.flows_closed++;
    flow_maybe_free(d, flow);
}

bool disp_idle(const disp *d)
{
    for (unsigned c = 0; c < CH_COUNT; c++)
        if (!ring_empty(&d->in[c]))
            return false;
    return !d->busy && d->pool_used == 0 && ring_empty(&d->out);
}

const disp_stats *disp_get_stats(const disp *d) { return &d->st; }

void disp_reset_stats(disp *d)
{
    memset(&d->st, 0, sizeof d->st);
    d->st.flows_peak = d->in_use;
}

uint32_t disp_flows_in_use(const disp *d) { return d->in_use; }

cycle_t disp_next_cycle_levels(const disp *d, uint32_t *flows, uint32_t *parked)
{
    *flows = d->in_use;
    *parked = d->pool_used;
    return disp_next_cycle(d);
}

uint32_t disp_pending_count(const disp *d) { return d->pool_used; }

uint32_t disp_load(const disp *d, unsigned cluster, unsigned core)
{
    if (cluster >= DISP_MAX_CLUSTERS || core >= DISP_MAX_CORES)
        return 0;
    return d->load[cluster][core];
}

const flow_key *disp_flow_key(const disp *d, uint32_t flow)
{
    if (flow >= d->cfg.flows || d->flows[flow].state == FS_FREE)
        return NULL;
    return &d->flows[flow].key;
}

uint32_t disp_find_flow(const disp *d, const flow_key *key)
{
    uint32_t f = table_find(d, key);
    return f == NIL ? UINT32_MAX : f;
}

/* The input channels in ev_chan order: network, host, timer, internal. */
void disp_describe(const disp *d, char *buf, size_t size)
{
    if (!size)
        return;
    snprintf(buf, size, "in %u/%u/%u/%u parked %u/%u out %u/%u", ring_count(&d->in[CH_NETWORK]),
             ring_count(&d->in[CH_HOST]), ring_count(&d->in[CH_TIMER]),
             ring_count(&d->in[CH_INTERNAL]), d->pool_used, d->cfg.pending, ring_count(&d->out),
             d->cfg.out_depth);
}

void disp_set_portions(disp *d, unsigned proto, const uint8_t *class_portions)
{
    if (proto < PROTO_COUNT && class_portions)
        memcpy(d->class_portions[proto], class_portions, EVC_COUNT);
}

void disp_set_type_portions(disp *d, unsigned proto, const uint8_t *type_needs,
                            const uint8_t *type_portions)
{
    if (proto >= PROTO_COUNT || !type_needs || !type_portions)
        return;
    memcpy(d->type_needs[proto], type_needs, EV_TYPE_COUNT);
    memcpy(d->type_portions[proto], type_portions, EV_TYPE_COUNT);
}

uint32_t disp_open_flow(disp *d, const flow_key *key, const flow_key *local_sends)
{
    if (table_find(d, key) != NIL)
        return UINT32_MAX;
    if (local_sends) {
        if (d->nlocal == d->local_cap) {
            uint32_t cap = d->local_cap ? 2 * d->local_cap : 8;
            flow_key *k = realloc(d->local_keys, cap * sizeof *k);
            if (!k)
                return UINT32_MAX;
            d->local_keys = k;
            d->local_cap = cap;
        }
    }
    uint32_t f = flow_open(d, key, key_hash(d, key));
    if (f == NIL)
        return UINT32_MAX;
    if (local_sends)
        d->local_keys[d->nlocal++] = *local_sends;
    d->flows[f].fresh = 1;
    return f;
}

/* happ: the host application model. See happ.h for the contract.
 *
 * The flows with a read scheduled sit in a binary min-heap ordered by (cycle, flow), and each
 * flow knows its place in it, so a close takes its entry out directly. */
#include "happ.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const param_def defs[] = {
    {"clock_mhz", PARAM_U32, offsetof(happ_cfg, clock_mhz), 1000, 1, 100000, "MHz",
     "clock the host application's reads are timed in", NULL},
    {"consume_mbps", PARAM_U32, offsetof(happ_cfg, consume_mbps), 0, 0, 4000000000u, "Mb/s",
     "rate at which each flow's application reads delivered data; 0: it reads all at once", NULL},
    {"read_bytes", PARAM_U32, offsetof(happ_cfg, read_bytes), 65536, 1, 1073741824, "bytes",
     "the most one read takes (with consume_mbps > 0)", NULL},
};
const param_table happ_params = {"host_app", defs, sizeof defs / sizeof defs[0]};

#define S(name, desc)                                                                              \
    {                                                                                              \
#name, desc, offsetof(happ_stats, name)                                                    \
    }
const stat_def happ_stat_defs[] = {
    S(reads, "reads by the host application (with consume_mbps > 0)"),
    S(bytes_read, "bytes those reads took"),
    S(backlog_peak, "most delivered bytes waiting unread in one flow's buffer"),
    S(bytes_at_close, "delivered bytes still unread when their flow closed"),
};
#undef S
const size_t happ_stat_count = sizeof happ_stat_defs / sizeof happ_stat_defs[0];

#define NOT_QUEUED UINT32_MAX

typedef struct happ_flow {
    uint64_t backlog;  /* readable bytes not read yet */
    cycle_t next_free; /* the reader may start its next read from this cycle */
    cycle_t due;       /* while queued: the cycle of its next read */
    uint32_t pos;      /* its place in the heap, or NOT_QUEUED */
} happ_flow;

struct happ {
    happ_cfg cfg;
    uint32_t nflows;
    happ_flow *flows; /* NULL when reads are immediate */
    uint32_t *heap;   /* flow numbers */
    uint32_t nheap;
    happ_stats st;
};

void happ_cfg_default(happ_cfg *c) { param_defaults(&happ_params, c); }

happ *happ_new(const happ_cfg *cfg, uint32_t flows, sim_err *err)
{
    if (param_validate(&happ_params, cfg, err))
        return NULL;
    happ *h = calloc(1, sizeof *h);
    if (!h) {
        sim_err_set(err, "host_app: out of memory");
        return NULL;
    }
    h->cfg = *cfg;
    h->nflows = flows;
    if (cfg->consume_mbps) {
        h->flows = calloc(flows ? flows : 1, sizeof *h->flows);
        h->heap = calloc(flows ? flows : 1, sizeof *h->heap);
        if (!h->flows || !h->heap) {
            happ_free(h);
            sim_err_set(err, "host_app: out of memory for %" PRIu32 " flows", flows);
            return NULL;
        }
        for (uint32_t i = 0; i < flows; i++)
            h->flows[i].pos = NOT_QUEUED;
    }
    return h;
}

void happ_free(happ *h)
{
    if (!h)
        return;
    free(h->flows);
    free(h->heap);
    free(h);
}

bool happ_immediate(const happ *h) { return h->cfg.consume_mbps == 0; }

static bool before(const happ *h, uint32_t a, uint32_t b)
{
    cycle_t da = h->flows[a].due, db = h->flows[b].due;
    return da < db || (da == db && a < b);
}

static void place(happ *h, uint32_t i, uint32_t f)
{
    h->heap[i] = f;
    h->flows[f].pos = i;
}

static void sift_up(happ *h, uint32_t i)
{
    uint32_t f = h->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!before(h, f, h->heap[parent]))
            break;
        place(h, i, h->heap[parent]);
        i = parent;
    }
    place(h, i, f);
}

static void sift_down(happ *h, uint32_t i)
{
    uint32_t f = h->heap[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= h->nheap)
            break;
        if (c + 1 < h->nheap && before(h, h->heap[c + 1], h->heap[c]))
            c++;
        if (!before(h, h->heap[c], f))
            break;
        place(h, i, h->heap[c]);
        i = c;
    }
    place(h, i, f);
}

/* Takes flow f's entry out of the heap. */
static void unqueue(happ *h, uint32_t f)
{
    uint32_t i = h->flows[f].pos;
    h->flows[f].pos = NOT_QUEUED;
    uint32_t last = h->heap[--h->nheap];
    if (i == h->nheap)
        return;
    place(h, i, last);
    sift_up(h, i);
    sift_down(h, h->flows[last].pos);
}

void happ_ready(happ *h, uint32_t flow, uint32_t bytes, cycle_t at)
{
    if (!h->flows || flow >= h->nflows || !bytes)
        return;
    happ_flow *f = &h->flows[flow];
    f->backlog += bytes;
    if (f->backlog > h->st.backlog_peak)
        h->st.backlog_peak = f->backlog;
    if (f->pos != NOT_QUEUED)
        return;
    f->due = at > f->next_free ? at : f->next_free;
    h->heap[h->nheap] = flow;
    h->flows[flow].pos = h->nheap++;
    sift_up(h, h->nheap - 1);
}

cycle_t happ_next_cycle(const happ *h) { return h->nheap ? h->flows[h->heap[0]].due : CYCLE_NEVER; }

bool happ_pop_read(happ *h, cycle_t now, uint32_t *flow, uint32_t *bytes, cycle_t *at)
{
    if (!h->nheap || h->flows[h->heap[0]].due > now)
        return false;
    uint32_t id = h->heap[0];
    happ_flow *f = &h->flows[id];
    uint64_t r = f->backlog < h->cfg.read_bytes ? f->backlog : h->cfg.read_bytes;
    cycle_t t = f->due;
    f->backlog -= r;
    /* r bits at consume_mbps Mb/s, in cycles of clock_mhz: r * 8 * clock_mhz / consume_mbps. */
    uint64_t num = r * 8 * h->cfg.clock_mhz;
    f->next_free = t + (num + h->cfg.consume_mbps - 1) / h->cfg.consume_mbps;
    if (f->backlog) {
        f->due = f->next_free;
        sift_down(h, 0);
    } else {
        unqueue(h, id);
    }
    h->st.reads++;
    h->st.bytes_read += r;
    *flow = id;
    *bytes = (uint32_t)r;
    *at = t;
    return true;
}

uint64_t happ_backlog(const happ *h, uint32_t flow)
{
    return h->flows && flow < h->nflows ? h->flows[flow].backlog : 0;
}

uint64_t happ_close(happ *h, uint32_t flow)
{
    if (!h->flows || flow >= h->nflows)
        return 0;
    happ_flow *f = &h->flows[flow];
    uint64_t left = f->backlog;
    if (f->pos != NOT_QUEUED)
        unqueue(h, flow);
    h->st.bytes_at_close += left;
    memset(f, 0, sizeof *f);
    f->pos = NOT_QUEUED;
    return left;
}

uint32_t happ_pending(const happ *h) { return h->nheap; }

const happ_stats *happ_get_stats(const happ *h) { return &h->st; }

void happ_reset_stats(happ *h) { memset(&h->st, 0, sizeof h->st); }

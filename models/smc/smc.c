/* smc: the socket memory controller (claims 16, 17, 27, 28). See smc.h for the contract.
 *
 * Per flow, a slot table of size/P + 1 page pointers (P = page_size), indexed by
 * (stream offset / P) % nslots: the window [consumed, consumed + size) touches at most
 * size/P + 1 consecutive pages, so they never share a slot. Page buffers come from a free list
 * (linked through their first bytes); one is malloc'd only when the free list is empty, so host
 * memory follows the most pages ever in use, not cfg.pages. A page taken by an append has the
 * bytes the append does not write zeroed, so holes read as zeros. */
#include "smc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const param_def defs[] = {
    {"clock_mhz", PARAM_U32, offsetof(smc_cfg, clock_mhz), 1000, 1, 100000, "MHz",
     "clock of the socket memory controller and its memory channel", NULL},
    {"page_size", PARAM_U32, offsetof(smc_cfg, page_size), 2048, 64, 1048576, "bytes",
     "bytes per socket buffer page", NULL},
    {"pages", PARAM_U32, offsetof(smc_cfg, pages), 65536, 1, 16777216, "pages",
     "pages in the global pool shared by all receive buffers", NULL},
    {"buf_min", PARAM_U32, offsetof(smc_cfg, buf_min), 16384, 64, 1073741824, "bytes",
     "smallest receive buffer (before rounding down to pages)", NULL},
    {"buf_max", PARAM_U32, offsetof(smc_cfg, buf_max), 4194304, 64, 1073741824, "bytes",
     "largest receive buffer (also capped by 65535 << window shift)", NULL},
    {"buf_segments", PARAM_U32, offsetof(smc_cfg, buf_segments), 1024, 1, 65536, "segments",
     "receive buffer size in peer MSS-sized segments, before clamping", NULL},
    {"mem_latency", PARAM_U32, offsetof(smc_cfg, mem_latency), 100, 0, 1000000, "cycles",
     "external memory: cycles from issue to the first data", NULL},
    {"mem_bytes_per_cycle", PARAM_U32, offsetof(smc_cfg, mem_bytes_per_cycle), 16, 1, 4096,
     "bytes/cycle", "external memory data bus width", NULL},
    {"mem_outstanding", PARAM_U32, offsetof(smc_cfg, mem_outstanding), 16, 1, XMEM_MAX_OUTSTANDING,
     "requests", "external memory requests in flight at once", NULL},
};
const param_table smc_params = {"smc", defs, sizeof defs / sizeof defs[0]};

#define S(name, desc)                                                                              \
    {                                                                                              \
#name, desc, offsetof(smc_stats, name)                                                     \
    }
const stat_def smc_stat_defs[] = {
    S(opens, "receive buffers opened (re-opens included)"),
    S(closes, "receive buffers closed (re-opens included)"),
    S(appends, "appends placed"),
    S(bytes_appended, "bytes placed by appends, duplicates included"),
    S(bytes_dup, "bytes placed below the highest byte appended before (retransmits, hole fills)"),
    S(refused_window, "appends refused: a byte outside the window, or the flow not open"),
    S(refused_pool, "appends refused: too few free pages in the pool"),
    S(bytes_refused, "bytes of refused appends"),
    S(page_allocs, "page allocation operations, one page each (claim 17)"),
    S(page_frees, "pages returned to the pool"),
    S(pages_peak, "most pages in use at once"),
    S(bytes_delivered, "bytes handed to the host"),
    S(bytes_discarded, "bytes appended but never delivered when their flow closed"),
    S(deliver_clamped, "deliveries whose end was beyond the appended data or below delivered"),
};
#undef S
const size_t smc_stat_count = sizeof smc_stat_defs / sizeof smc_stat_defs[0];

typedef struct smc_flow {
    bool open;
    uint32_t size;     /* bytes, whole pages */
    uint32_t nslots;   /* size / P + 1 */
    uint32_t held;     /* pages held */
    uint64_t consumed; /* = delivered */
    uint64_t hi;       /* end of the highest range appended */
    cycle_t last_copy; /* completion of the last copy into the buffer */
    uint8_t **slot;    /* nslots entries, each NULL or a page */
} smc_flow;

struct smc {
    smc_cfg cfg;
    uint32_t nflows;
    uint32_t nopen;
    smc_flow *flows;
    uint8_t *free_list; /* page buffers not in use, linked through their first bytes */
    uint32_t free_count;
    uint32_t in_use; /* pool pages taken by flows */
    uint8_t *zero;   /* one page of zeros: a hole with no page */
    smc_deliver_fn fn;
    void *ctx;
    xmem mem;
    smc_stats st;
};

void smc_cfg_default(smc_cfg *c) { param_defaults(&smc_params, c); }

smc *smc_new(const smc_cfg *cfg, uint32_t flows, sim_err *err)
{
    if (param_validate(&smc_params, cfg, err))
        return NULL;
    if (cfg->buf_min > cfg->buf_max) {
        sim_err_set(err, "smc.buf_min: %" PRIu32 " is larger than smc.buf_max (%" PRIu32 ")",
                    cfg->buf_min, cfg->buf_max);
        return NULL;
    }
    smc *s = calloc(1, sizeof *s);
    if (!s) {
        sim_err_set(err, "smc: out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->nflows = flows;
    s->flows = calloc(flows ? flows : 1, sizeof *s->flows);
    s->zero = calloc(1, cfg->page_size);
    if (!s->flows || !s->zero) {
        smc_free(s);
        sim_err_set(err, "smc: out of memory for %" PRIu32 " flows", flows);
        return NULL;
    }
    xmem_init(&s->mem, cfg->mem_latency, cfg->mem_bytes_per_cycle, cfg->mem_outstanding);
    return s;
}

static void page_put(smc *s, uint8_t *p)
{
    memcpy(p, &s->free_list, sizeof s->free_list);
    s->free_list = p;
    s->free_count++;
}

static uint8_t *page_get(smc *s)
{
    uint8_t *p = s->free_list;
    memcpy(&s->free_list, p, sizeof s->free_list);
    s->free_count--;
    return p;
}

/* Returns a flow's page to the pool. */
static void page_free(smc *s, smc_flow *f, uint32_t slot)
{
    page_put(s, f->slot[slot]);
    f->slot[slot] = NULL;
    f->held--;
    s->in_use--;
    s->st.page_frees++;
}

/* Makes sure the free list holds n pages; 0, or -1 when the host is out of memory (the pages
 * malloc'd so far stay on the free list). */
static int reserve(smc *s, uint32_t n)
{
    while (s->free_count < n) {
        uint8_t *p = malloc(s->cfg.page_size);
        if (!p)
            return -1;
        page_put(s, p);
    }
    return 0;
}

void smc_close(smc *s, uint32_t flow)
{
    if (flow >= s->nflows || !s->flows[flow].open)
        return;
    smc_flow *f = &s->flows[flow];
    for (uint32_t i = 0; i < f->nslots; i++)
        if (f->slot[i])
            page_free(s, f, i);
    if (f->hi > f->consumed)
        s->st.bytes_discarded += f->hi - f->consumed;
    free(f->slot);
    memset(f, 0, sizeof *f);
    s->nopen--;
    s->st.closes++;
}

void smc_free(smc *s)
{
    if (!s)
        return;
    if (s->flows)
        for (uint32_t i = 0; i < s->nflows; i++)
            smc_close(s, i);
    while (s->free_list)
        free(page_get(s));
    free(s->flows);
    free(s->zero);
    free(s);
}

void smc_set_deliver(smc *s, smc_deliver_fn fn, void *ctx)
{
    s->fn = fn;
    s->ctx = ctx;
}

/* claim 16: the buffer size rule (smc.h). */
static uint32_t buf_size(const smc_cfg *c, uint32_t peer_mss, uint32_t shift)
{
    uint64_t m = peer_mss ? peer_mss : 536;
    uint64_t size = m * c->buf_segments;
    uint64_t top = shift >= 32 ? UINT64_MAX : (uint64_t)65535 << shift;
    if (top > c->buf_max)
        top = c->buf_max;
    if (size < c->buf_min)
        size = c->buf_min;
    if (size > top)
        size = top;
    size -= size % c->page_size;
    return size ? (uint32_t)size : c->page_size;
}

uint32_t smc_open(smc *s, uint32_t flow, uint32_t peer_mss, uint32_t shift)
{
    if (flow >= s->nflows)
        return 0;
    smc_close(s, flow);
    smc_flow *f = &s->flows[flow];
    uint32_t size = buf_size(&s->cfg, peer_mss, shift);
    uint32_t nslots = size / s->cfg.page_size + 1;
    f->slot = calloc(nslots, sizeof *f->slot);
    if (!f->slot)
        return 0;
    f->open = true;
    f->size = size;
    f->nslots = nslots;
    s->nopen++;
    s->st.opens++;
    return size;
}

uint32_t smc_space(const smc *s, uint32_t flow)
{
    if (flow >= s->nflows || !s->flows[flow].open)
        return 0;
    /* delivered == consumed: the host takes data at once. */
    return s->flows[flow].size;
}

/* The 64-bit stream offset of a 32-bit one: the one nearest consumed. Negative results (below
 * offset 0) come back as INT64 values below consumed, so callers compare signed. */
static int64_t unwrap(const smc_flow *f, uint32_t off)
{
    return (int64_t)f->consumed + (int32_t)(off - (uint32_t)f->consumed);
}

static uint32_t refuse(smc *s, uint64_t *counter, uint32_t len)
{
    (*counter)++;
    s->st.bytes_refused += len;
    return 0;
}

uint32_t smc_append(smc *s, uint32_t flow, uint32_t off, const uint8_t *data, uint32_t len,
                    cycle_t at)
{
    if (flow >= s->nflows || !s->flows[flow].open)
        return refuse(s, &s->st.refused_window, len);
    smc_flow *f = &s->flows[flow];
    int64_t o = unwrap(f, off);
    if (o < (int64_t)f->consumed || (uint64_t)o + len > f->consumed + f->size)
        return refuse(s, &s->st.refused_window, len);
    uint64_t beg = (uint64_t)o, end = beg + len;
    if (len == 0) {
        s->st.appends++;
        return 1;
    }
    const uint64_t P = s->cfg.page_size;
    uint32_t needed = 0;
    for (uint64_t k = beg / P; k <= (end - 1) / P; k++)
        if (!f->slot[k % f->nslots])
            needed++;
    if (needed > s->cfg.pages - s->in_use || reserve(s, needed))
        return refuse(s, &s->st.refused_pool, len);

    for (uint64_t k = beg / P; k <= (end - 1) / P; k++) {
        uint64_t pbeg = k * P, pend = pbeg + P;
        uint64_t a = beg > pbeg ? beg : pbeg, b = end < pend ? end : pend;
        uint8_t **slot = &f->slot[k % f->nslots];
        if (!*slot) { /* claim 17: one allocation operation, one page */
            uint8_t *p = page_get(s);
            memset(p, 0, a - pbeg);
            memset(p + (b - pbeg), 0, pend - b);
            *slot = p;
            f->held++;
            s->in_use++;
            s->st.page_allocs++;
            if (s->in_use > s->st.pages_peak)
                s->st.pages_peak = s->in_use;
        }
        memcpy(*slot + (a - pbeg), data + (a - beg), b - a);
    }
    if (beg < f->hi)
        s->st.bytes_dup += (end < f->hi ? end : f->hi) - beg;
    if (end > f->hi)
        f->hi = end;
    s->st.appends++;
    s->st.bytes_appended += len;
    cycle_t done = xmem_access(&s->mem, at, len, true);
    if (done > f->last_copy)
        f->last_copy = done;
    return 1;
}

uint32_t smc_deliver(smc *s, uint32_t flow, uint32_t upto, cycle_t at)
{
    if (flow >= s->nflows || !s->flows[flow].open)
        return 0;
    smc_flow *f = &s->flows[flow];
    int64_t u = unwrap(f, upto);
    uint64_t end;
    if (u < (int64_t)f->consumed) {
        end = f->consumed;
        s->st.deliver_clamped++;
    } else if ((uint64_t)u > f->hi) {
        end = f->hi;
        s->st.deliver_clamped++;
    } else {
        end = (uint64_t)u;
    }
    if (end == f->consumed)
        return 0;
    const uint64_t P = s->cfg.page_size;
    uint64_t beg = f->consumed;
    uint32_t n = (uint32_t)(end - beg); /* <= size: end <= hi <= consumed + size */
    cycle_t issue = at > f->last_copy ? at : f->last_copy;
    cycle_t done = xmem_access(&s->mem, issue, n, false);
    if (s->fn)
        for (uint64_t o = beg; o < end;) {
            uint64_t k = o / P, in = o % P;
            uint64_t piece = end - o < P - in ? end - o : P - in;
            const uint8_t *p = f->slot[k % f->nslots];
            s->fn(s->ctx, flow, o, p ? p + in : s->zero, (uint32_t)piece, done);
            o += piece;
        }
    for (uint64_t k = beg / P; k < end / P; k++)
        if (f->slot[k % f->nslots])
            page_free(s, f, (uint32_t)(k % f->nslots));
    f->consumed = end;
    s->st.bytes_delivered += n;
    return n;
}

const smc_stats *smc_get_stats(const smc *s) { return &s->st; }

const xmem_stats *smc_mem_stats(const smc *s) { return &s->mem.st; }

uint32_t smc_pages_in_use(const smc *s) { return s->in_use; }

uint32_t smc_pages_held(const smc *s, uint32_t flow)
{
    return flow < s->nflows ? s->flows[flow].held : 0;
}

uint32_t smc_flows_open(const smc *s) { return s->nopen; }

uint64_t smc_pages_held_total(const smc *s)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < s->nflows; i++)
        n += s->flows[i].held; /* 0 for a flow not open */
    return n;
}

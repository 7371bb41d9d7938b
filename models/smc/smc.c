/* smc: the socket memory controller (claims 16, 17, 27, 28). See smc.h for the contract.
 *
 * Per flow, an index of the pages it holds: (page number k = stream offset / P, page) pairs,
 * sorted by k (P = page_size). The window [consumed, consumed + size) touches at most size/P + 1
 * consecutive page numbers, and every page held lies in it (a page is freed once all its bytes
 * are below consumed), but with the host consuming in-order data at once a flow holds 0-2 pages
 * almost always: only out-of-order data holds more. So the index lives inline in the flow
 * (SMC_INLINE entries, scanned linearly) and spills to a heap array, grown by doubling and
 * binary-searched, only while the flow holds more; it shrinks by halving, and returns inline,
 * as the pages go. Host bookkeeping thus follows the pages held, not the buffer size.
 *
 * Page buffers come from a free list (linked through their first bytes); one is malloc'd only
 * when the free list is empty, so host memory follows the most buffers ever in use, not
 * cfg.pages. A page taken by an append has the bytes the append does not write zeroed, so holes
 * read as zeros. A receive page keeps its buffer only while it holds bytes not yet read: once
 * the host has read everything written (consumed == hi), the page the next byte goes to stays
 * the flow's (the model's pool still counts it) but its buffer returns to the free list, and
 * the next append into it takes one again (zeroed as a new page; the bytes below consumed are
 * never read again). With the host reading at once, a flow mid-upload thus holds a page of the
 * model's pool but no host memory for it. */
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
    S(bytes_delivered, "bytes put in order and handed to the host application to read"),
    S(bytes_consumed, "bytes the host application read (their pages return to the pool)"),
    S(bytes_discarded, "bytes appended but never read when their flow closed"),
    S(deliver_clamped, "deliveries whose end was beyond the appended data or below delivered"),
    S(snd_writes, "host writes into send buffers that took bytes"),
    S(snd_bytes_written, "bytes the host wrote into send buffers"),
    S(snd_refused_pool, "host writes cut short (or refused) because the page pool ran dry"),
    S(snd_refused_closed, "host writes to a flow without an open send buffer (nothing taken)"),
    S(snd_reads, "payload reads from send buffers (the transmit unit's tx_data)"),
    S(snd_bytes_read, "bytes of those reads (retransmissions read again)"),
    S(snd_bad_read, "payload reads refused: bytes outside [acked, written end), or no buffer"),
    S(snd_acks, "send-buffer acknowledgements that freed bytes"),
    S(snd_bytes_acked, "send-buffer bytes acknowledged by the peer and freed"),
    S(snd_ack_clamped, "acknowledgements beyond the written end (+1 for a FIN): a microcode bug"),
    S(snd_bytes_discarded,
      "send-buffer bytes written but never acknowledged when their flow closed"),
};
#undef S
const size_t smc_stat_count = sizeof smc_stat_defs / sizeof smc_stat_defs[0];

/* One page held by a flow: stream bytes [k*P, (k+1)*P). */
typedef struct smc_page_ref {
    uint64_t k;
    uint8_t *p;
} smc_page_ref;

/* Entries kept in the flow itself; more spill to the heap. */
#define SMC_INLINE 4
/* The smallest spilled array (entries); a spilled index returns inline at SMC_INLINE / 2. */
#define SMC_SPILL_MIN 8

/* A buffer's page index: the pages it holds, by page number. */
typedef struct smc_idx {
    uint32_t held; /* pages held: entries of the index */
    uint32_t cap;  /* entries of the spilled array, or 0 while the index is inline; only
                    * while held > SMC_INLINE / 2 is it spilled (index_shrink) */
    union {
        smc_page_ref in[SMC_INLINE]; /* cap == 0 */
        smc_page_ref *heap;          /* cap > 0 */
    } pg;                            /* held entries, sorted by k, k distinct */
} smc_idx;

/* The send buffer: stream bytes [acked, end), size 0 while not open. Its pages are those of
 * the page numbers acked / P .. (end - 1) / P (none when acked == end): a contiguous run. */
typedef struct smc_snd {
    uint64_t acked;     /* the peer acknowledged every byte below: the window's start */
    uint64_t end;       /* written_end: the host wrote every byte below */
    cycle_t last_write; /* completion of the last host write into the buffer */
    uint32_t size;      /* bytes, whole pages; 0: not open */
    smc_idx ix;
} smc_snd;

typedef struct smc_flow {
    uint64_t consumed;  /* read by the host application: the window's start */
    uint64_t delivered; /* in order and handed to the host (>= consumed): rcv_nxt */
    uint64_t hi;        /* end of the highest range appended */
    cycle_t last_copy;  /* completion of the last copy into the buffer */
    uint32_t size;      /* bytes, whole pages */
    bool open;
    smc_idx ix;  /* the receive buffer's pages */
    smc_snd snd; /* the send buffer */
} smc_flow;
/* The per-flow budget: at most 512 bytes of host bookkeeping per open flow (smc_host_bytes). */
_Static_assert(sizeof(smc_flow) <= 256, "smc_flow outgrew its share of the per-flow budget");

struct smc {
    smc_cfg cfg;
    uint32_t nflows;
    uint32_t nopen;
    smc_flow *flows;
    uint8_t *free_list; /* page buffers not in use, linked through their first bytes */
    uint32_t free_count;
    uint32_t buffers;   /* page buffers malloc'd (in use or on the free list) */
    uint32_t in_use;    /* pool pages taken by flows */
    uint8_t *zero;      /* one page of zeros: a hole with no page */
    size_t spill_bytes; /* allocated for spilled indexes */
    smc_deliver_fn fn;
    void *ctx;
    smc_snd_acked_fn snd_fn;
    void *snd_ctx;
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

/* Makes sure the free list holds n pages; 0, or -1 when the host is out of memory (the pages
 * malloc'd so far stay on the free list). */
static int reserve(smc *s, uint32_t n)
{
    while (s->free_count < n) {
        uint8_t *p = malloc(s->cfg.page_size);
        if (!p)
            return -1;
        s->buffers++;
        page_put(s, p);
    }
    return 0;
}

static smc_page_ref *index_of(smc_idx *f) { return f->cap ? f->pg.heap : f->pg.in; }

/* The first entry of v[0..n) whose k is >= k (n when none): a scan while inline, a binary
 * search when spilled. */
static uint32_t lower_bound(const smc_page_ref *v, uint32_t n, uint64_t k)
{
    if (n <= SMC_INLINE) {
        uint32_t i = 0;
        while (i < n && v[i].k < k)
            i++;
        return i;
    }
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v[mid].k < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Makes room for n entries in f's index, keeping its entries: 0, or -1 when the host is out of
 * memory (nothing changed). */
static int index_reserve(smc *s, smc_idx *f, uint32_t n)
{
    uint32_t cap = f->cap ? f->cap : SMC_INLINE;
    if (n <= cap)
        return 0;
    uint32_t want = f->cap ? f->cap : SMC_SPILL_MIN;
    while (want < n)
        want *= 2;
    smc_page_ref *v = realloc(f->cap ? f->pg.heap : NULL, (size_t)want * sizeof *v);
    if (!v)
        return -1;
    if (!f->cap)
        memcpy(v, f->pg.in, (size_t)f->held * sizeof *v);
    s->spill_bytes += (size_t)(want - f->cap) * sizeof *v;
    f->pg.heap = v;
    f->cap = want;
    return 0;
}

/* After entries left f's spilled index: halves the array while it is at most a quarter full,
 * and moves it back inline once it holds SMC_INLINE / 2 entries or fewer (the slack keeps a flow
 * hovering around SMC_INLINE pages from spilling and returning at every packet). */
static void index_shrink(smc *s, smc_idx *f)
{
    if (!f->cap)
        return;
    if (f->held <= SMC_INLINE / 2) {
        smc_page_ref *v = f->pg.heap;
        s->spill_bytes -= (size_t)f->cap * sizeof *v;
        memcpy(f->pg.in, v, (size_t)f->held * sizeof *v);
        free(v);
        f->cap = 0;
        return;
    }
    uint32_t cap = f->cap;
    while (cap > SMC_SPILL_MIN && f->held <= cap / 4)
        cap /= 2;
    if (cap == f->cap)
        return;
    smc_page_ref *v = realloc(f->pg.heap, (size_t)cap * sizeof *v);
    if (!v)
        return; /* keeping the larger array is harmless */
    s->spill_bytes -= (size_t)(f->cap - cap) * sizeof *v;
    f->pg.heap = v;
    f->cap = cap;
}

/* Returns the first n pages of f's index to the pool (the pages wholly consumed). */
static void free_first(smc *s, smc_idx *f, uint32_t n)
{
    if (!n)
        return;
    smc_page_ref *v = index_of(f);
    for (uint32_t i = 0; i < n; i++)
        if (v[i].p) /* a page whose bytes were all read may have given its buffer back */
            page_put(s, v[i].p);
    memmove(v, v + n, (size_t)(f->held - n) * sizeof *v);
    f->held -= n;
    s->in_use -= n;
    s->st.page_frees += n;
    index_shrink(s, f);
}

void smc_close(smc *s, uint32_t flow)
{
    if (flow >= s->nflows || !s->flows[flow].open)
        return;
    smc_flow *f = &s->flows[flow];
    free_first(s, &f->ix, f->ix.held);
    free_first(s, &f->snd.ix, f->snd.ix.held);
    if (f->hi > f->consumed)
        s->st.bytes_discarded += f->hi - f->consumed;
    s->st.snd_bytes_discarded += f->snd.end - f->snd.acked;
    memset(f, 0, sizeof *f); /* the indexes are inline and empty: free_first shrank them */
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

/* A RoCE queue pair's buffer: the host's hint, clamped to [buf_min, buf_max], whole pages. */
static uint32_t buf_size_roce(const smc_cfg *c, uint32_t hint)
{
    uint64_t size = hint;
    if (size < c->buf_min)
        size = c->buf_min;
    if (size > c->buf_max)
        size = c->buf_max;
    size -= size % c->page_size;
    return size ? (uint32_t)size : c->page_size;
}

static uint32_t open_sized(smc *s, uint32_t flow, uint32_t size, uint32_t snd_size);

uint32_t smc_open(smc *s, uint32_t flow, uint32_t peer_mss, uint32_t shift)
{
    if (flow >= s->nflows)
        return 0;
    uint32_t size = buf_size(&s->cfg, peer_mss, shift);
    return open_sized(s, flow, size, size); /* claim 16: the send buffer by the same rule */
}

uint32_t smc_open_roce(smc *s, uint32_t flow, uint32_t buffer)
{
    if (flow >= s->nflows)
        return 0;
    return open_sized(s, flow, buf_size_roce(&s->cfg, buffer), 0);
}

static uint32_t open_sized(smc *s, uint32_t flow, uint32_t size, uint32_t snd_size)
{
    smc_close(s, flow);
    smc_flow *f = &s->flows[flow];
    f->open = true; /* no page yet: the index starts inline and empty */
    f->size = size;
    f->snd.size = snd_size; /* 0 for a RoCE queue pair: no send buffer */
    s->nopen++;
    s->st.opens++;
    return size;
}

uint32_t smc_space(const smc *s, uint32_t flow)
{
    if (flow >= s->nflows || !s->flows[flow].open)
        return 0;
    const smc_flow *f = &s->flows[flow];
    return f->size - (uint32_t)(f->delivered - f->consumed);
}

/* The 64-bit stream offset of a 32-bit one: the one nearest delivered. Negative results (below
 * offset 0) come back as INT64 values below delivered, so callers compare signed. */
static int64_t unwrap(const smc_flow *f, uint32_t off)
{
    return (int64_t)f->delivered + (int32_t)(off - (uint32_t)f->delivered);
}

static uint32_t refuse(smc *s, uint64_t *counter, uint32_t len)
{
    (*counter)++;
    s->st.bytes_refused += len;
    return 0;
}

/* smc_append's fill: the bytes of one flat buffer. */
static void fill_flat(void *ctx, uint32_t from, uint8_t *dst, uint32_t n)
{
    memcpy(dst, (const uint8_t *)ctx + from, n);
}

/* smc_append and smc_append_with: fill writes the bytes into the pages. */
static uint32_t append(smc *s, uint32_t flow, uint32_t off, uint32_t len, smc_fill_fn fill,
                       void *ctx, cycle_t at)
{
    if (flow >= s->nflows || !s->flows[flow].open)
        return refuse(s, &s->st.refused_window, len);
    smc_flow *f = &s->flows[flow];
    int64_t o = unwrap(f, off);
    if (o < (int64_t)f->delivered || (uint64_t)o + len > f->consumed + f->size)
        return refuse(s, &s->st.refused_window, len);
    uint64_t beg = (uint64_t)o, end = beg + len;
    if (len == 0) {
        s->st.appends++;
        return 1;
    }
    const uint64_t P = s->cfg.page_size;
    const uint64_t k0 = beg / P, k1 = (end - 1) / P;
    const uint32_t span = (uint32_t)(k1 - k0 + 1); /* pages touched: <= size/P + 1 */
    smc_page_ref *v = index_of(&f->ix);
    /* The entries for k0..k1 are v[lo..hi): the pages touched that the flow has. */
    uint32_t lo = lower_bound(v, f->ix.held, k0);
    uint32_t hi = lo;
    while (hi < f->ix.held && v[hi].k <= k1)
        hi++;
    uint32_t needed = span - (hi - lo), bare = 0;
    for (uint32_t i = lo; i < hi; i++)
        bare += v[i].p == NULL; /* pages held without a buffer: they take one again */
    if (needed > s->cfg.pages - s->in_use || reserve(s, needed + bare) ||
        (needed && index_reserve(s, &f->ix, f->ix.held + needed)))
        return refuse(s, &s->st.refused_pool, len);
    if (needed) {
        v = index_of(&f->ix);
        /* Open a gap so that k0..k1 take v[lo..lo+span), then fill it from its top down, moving
         * the pages the flow has (an entry never moves down: it is at most at its k's place)
         * and taking a page for each k without one (claim 17: one allocation operation, one
         * page; the bytes the append does not write are zeroed). */
        memmove(v + lo + span, v + hi, (size_t)(f->ix.held - hi) * sizeof *v);
        uint32_t j = hi;
        for (uint32_t i = span; i-- > 0;) {
            uint64_t k = k0 + i;
            if (j > lo && v[j - 1].k == k) {
                v[lo + i] = v[--j];
                continue;
            }
            uint64_t pbeg = k * P, pend = pbeg + P;
            uint64_t a = beg > pbeg ? beg : pbeg, b = end < pend ? end : pend;
            uint8_t *p = page_get(s);
            memset(p, 0, a - pbeg);
            memset(p + (b - pbeg), 0, pend - b);
            v[lo + i] = (smc_page_ref){k, p};
        }
        f->ix.held += needed;
        s->in_use += needed;
        s->st.page_allocs += needed;
        if (s->in_use > s->st.pages_peak)
            s->st.pages_peak = s->in_use;
    }
    for (uint32_t i = 0; i < span; i++) {
        uint64_t pbeg = (k0 + i) * P, pend = pbeg + P;
        uint64_t a = beg > pbeg ? beg : pbeg, b = end < pend ? end : pend;
        if (!v[lo + i].p) { /* held without a buffer: one again, zeroed as a new page */
            uint8_t *p = page_get(s);
            memset(p, 0, a - pbeg);
            memset(p + (b - pbeg), 0, pend - b);
            v[lo + i].p = p;
        }
        fill(ctx, (uint32_t)(a - beg), v[lo + i].p + (a - pbeg), (uint32_t)(b - a));
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

uint32_t smc_append(smc *s, uint32_t flow, uint32_t off, const uint8_t *data, uint32_t len,
                    cycle_t at)
{
    return append(s, flow, off, len, fill_flat, (void *)data, at); /* fill_flat only reads it */
}

uint32_t smc_append_with(smc *s, uint32_t flow, uint32_t off, uint32_t len, smc_fill_fn fill,
                         void *ctx, cycle_t at)
{
    return append(s, flow, off, len, fill, ctx, at);
}

uint32_t smc_deliver(smc *s, uint32_t flow, uint32_t upto, cycle_t at)
{
    (void)at; /* nothing moves until the host reads (smc_consume) */
    if (flow >= s->nflows || !s->flows[flow].open)
        return 0;
    smc_flow *f = &s->flows[flow];
    int64_t u = unwrap(f, upto);
    uint64_t end;
    if (u < (int64_t)f->delivered) {
        end = f->delivered;
        s->st.deliver_clamped++;
    } else if ((uint64_t)u > f->hi) {
        end = f->hi;
        s->st.deliver_clamped++;
    } else {
        end = (uint64_t)u;
    }
    uint32_t n = (uint32_t)(end - f->delivered); /* <= size: end <= hi <= consumed + size */
    f->delivered = end;
    s->st.bytes_delivered += n;
    return n;
}

uint32_t smc_consume(smc *s, uint32_t flow, uint32_t bytes, cycle_t at)
{
    if (flow >= s->nflows || !s->flows[flow].open)
        return 0;
    smc_flow *f = &s->flows[flow];
    uint64_t ready = f->delivered - f->consumed;
    uint32_t n = bytes < ready ? bytes : (uint32_t)ready;
    if (!n)
        return 0;
    const uint64_t P = s->cfg.page_size;
    uint64_t beg = f->consumed, end = beg + n;
    cycle_t issue = at > f->last_copy ? at : f->last_copy;
    cycle_t done = xmem_access(&s->mem, issue, n, false);
    /* Every page held is at or above consumed's page (those wholly below it were freed), so the
     * index is walked from its start, in step with the pieces. */
    const smc_page_ref *v = index_of(&f->ix);
    uint32_t j = 0;
    if (s->fn)
        for (uint64_t o = beg; o < end;) {
            uint64_t k = o / P, in = o % P;
            uint64_t piece = end - o < P - in ? end - o : P - in;
            while (j < f->ix.held && v[j].k < k)
                j++;
            const uint8_t *p = j < f->ix.held && v[j].k == k && v[j].p ? v[j].p + in : s->zero;
            s->fn(s->ctx, flow, o, p, (uint32_t)piece, done);
            o += piece;
        }
    /* The pages whose bytes are now all below end: the index's first entries. */
    free_first(s, &f->ix, lower_bound(v, f->ix.held, end / P));
    f->consumed = end;
    s->st.bytes_consumed += n;
    if (f->consumed == f->hi) { /* everything written is read: the buffers go, the pages stay */
        smc_page_ref *w = index_of(&f->ix);
        for (uint32_t i = 0; i < f->ix.held; i++)
            if (w[i].p) {
                page_put(s, w[i].p);
                w[i].p = NULL;
            }
    }
    return n;
}

uint32_t smc_unread(const smc *s, uint32_t flow)
{
    if (flow >= s->nflows || !s->flows[flow].open)
        return 0;
    return (uint32_t)(s->flows[flow].delivered - s->flows[flow].consumed);
}

cycle_t smc_dma_write(smc *s, uint32_t len, cycle_t at)
{
    return len ? xmem_access(&s->mem, at, len, true) : at;
}

/* ---- the send buffer ---------------------------------------------------------------------- */

void smc_set_snd_acked(smc *s, smc_snd_acked_fn fn, void *ctx)
{
    s->snd_fn = fn;
    s->snd_ctx = ctx;
}

/* flow's send buffer, or NULL when the flow is not open or has none (a RoCE queue pair). */
static smc_snd *snd_of(const smc *s, uint32_t flow)
{
    if (flow >= s->nflows || !s->flows[flow].open || !s->flows[flow].snd.size)
        return NULL;
    return &s->flows[flow].snd;
}

/* The 64-bit stream offset of a 32-bit one: the one nearest acked (signed, as unwrap). */
static int64_t snd_unwrap(const smc_snd *b, uint32_t off)
{
    return (int64_t)b->acked + (int32_t)(off - (uint32_t)b->acked);
}

uint32_t smc_snd_space(const smc *s, uint32_t flow)
{
    const smc_snd *b = snd_of(s, flow);
    return b ? b->size - (uint32_t)(b->end - b->acked) : 0;
}

uint32_t smc_snd_write(smc *s, uint32_t flow, const uint8_t *data, uint32_t len, cycle_t at,
                       cycle_t *done)
{
    if (done)
        *done = at;
    smc_snd *b = snd_of(s, flow);
    if (!b) {
        if (len)
            s->st.snd_refused_closed++;
        return 0;
    }
    uint32_t want = b->size - (uint32_t)(b->end - b->acked);
    if (len < want)
        want = len;
    if (!want)
        return 0;
    const uint64_t P = s->cfg.page_size;
    const uint64_t beg = b->end;
    smc_page_ref *v = index_of(&b->ix);
    /* The pages held are consecutive page numbers; when beg is inside a page, that page is
     * held (it holds written bytes), so [beg, top) needs no new page. */
    uint64_t top = b->ix.held ? (v[b->ix.held - 1].k + 1) * P : beg;
    uint64_t room = top - beg + (uint64_t)(s->cfg.pages - s->in_use) * P;
    uint32_t n = want < room ? want : (uint32_t)room;
    uint32_t needed = beg + n > top ? (uint32_t)((beg + n - top + P - 1) / P) : 0;
    if (needed && (reserve(s, needed) || index_reserve(s, &b->ix, b->ix.held + needed)))
        n = needed = 0; /* the host is out of memory: as a dry pool */
    if (n < want)
        s->st.snd_refused_pool++;
    if (!n)
        return 0;
    v = index_of(&b->ix);
    uint64_t k = top / P; /* claim 17: one allocation operation per page */
    for (uint32_t i = 0; i < needed; i++)
        v[b->ix.held++] = (smc_page_ref){k + i, page_get(s)};
    s->in_use += needed;
    s->st.page_allocs += needed;
    if (s->in_use > s->st.pages_peak)
        s->st.pages_peak = s->in_use;
    const uint64_t end = beg + n;
    uint32_t j = (uint32_t)(beg / P - v[0].k);
    for (uint64_t o = beg; o < end; j++) {
        uint64_t in = o % P, piece = end - o < P - in ? end - o : P - in;
        memcpy(v[j].p + in, data + (o - beg), piece);
        o += piece;
    }
    b->end = end;
    s->st.snd_writes++;
    s->st.snd_bytes_written += n;
    cycle_t d = xmem_access(&s->mem, at, n, true);
    if (d > b->last_write)
        b->last_write = d;
    if (done)
        *done = d;
    return n;
}

int smc_snd_read(smc *s, uint32_t flow, uint32_t off, uint8_t *out, uint32_t len, cycle_t at,
                 cycle_t *done)
{
    if (done)
        *done = at;
    smc_snd *b = snd_of(s, flow);
    int64_t o = b ? snd_unwrap(b, off) : 0;
    if (!b || o < (int64_t)b->acked || (uint64_t)o + len > b->end) {
        s->st.snd_bad_read++;
        return -1;
    }
    if (!len)
        return 0;
    const uint64_t P = s->cfg.page_size;
    const uint64_t beg = (uint64_t)o, end = beg + len;
    const smc_page_ref *v = index_of(&b->ix);
    if (out) {
        uint32_t j = (uint32_t)(beg / P - v[0].k);
        for (uint64_t x = beg; x < end; j++) {
            uint64_t in = x % P, piece = end - x < P - in ? end - x : P - in;
            memcpy(out + (x - beg), v[j].p + in, piece);
            x += piece;
        }
    }
    cycle_t issue = at > b->last_write ? at : b->last_write;
    cycle_t d = xmem_access(&s->mem, issue, len, false);
    if (done)
        *done = d;
    s->st.snd_reads++;
    s->st.snd_bytes_read += len;
    return 0;
}

uint32_t smc_snd_ack(smc *s, uint32_t flow, uint32_t off, cycle_t at)
{
    smc_snd *b = snd_of(s, flow);
    if (!b)
        return 0;
    int64_t o = snd_unwrap(b, off);
    if (o <= (int64_t)b->acked)
        return 0;
    uint64_t upto = (uint64_t)o;
    if (upto > b->end) {
        if (upto > b->end + 1) /* end + 1: the FIN's sequence number, a correct ack */
            s->st.snd_ack_clamped++;
        upto = b->end;
        if (upto == b->acked)
            return 0;
    }
    uint32_t n = (uint32_t)(upto - b->acked);
    b->acked = upto;
    /* The pages whose bytes are all below acked: the index's first entries. */
    free_first(s, &b->ix, lower_bound(index_of(&b->ix), b->ix.held, upto / s->cfg.page_size));
    s->st.snd_acks++;
    s->st.snd_bytes_acked += n;
    if (s->snd_fn)
        s->snd_fn(s->snd_ctx, flow, n, at);
    return n;
}

uint32_t smc_snd_pending(const smc *s, uint32_t flow, uint32_t off)
{
    const smc_snd *b = snd_of(s, flow);
    if (!b)
        return 0;
    int64_t o = snd_unwrap(b, off);
    return o >= (int64_t)b->end ? 0 : (uint32_t)((int64_t)b->end - o);
}

uint64_t smc_snd_end(const smc *s, uint32_t flow)
{
    const smc_snd *b = snd_of(s, flow);
    return b ? b->end : 0;
}

uint64_t smc_snd_acked(const smc *s, uint32_t flow)
{
    const smc_snd *b = snd_of(s, flow);
    return b ? b->acked : 0;
}

uint32_t smc_snd_unacked(const smc *s, uint32_t flow)
{
    const smc_snd *b = snd_of(s, flow);
    return b ? (uint32_t)(b->end - b->acked) : 0;
}

uint32_t smc_snd_size(const smc *s, uint32_t flow)
{
    const smc_snd *b = snd_of(s, flow);
    return b ? b->size : 0;
}

const smc_stats *smc_get_stats(const smc *s) { return &s->st; }

void smc_reset_stats(smc *s)
{
    memset(&s->st, 0, sizeof s->st);
    memset(&s->mem.st, 0, sizeof s->mem.st);
    s->st.pages_peak = s->in_use;
}

const xmem_stats *smc_mem_stats(const smc *s) { return &s->mem.st; }

uint32_t smc_pages_in_use(const smc *s) { return s->in_use; }

uint32_t smc_pages_held(const smc *s, uint32_t flow)
{
    return flow < s->nflows ? s->flows[flow].ix.held + s->flows[flow].snd.ix.held : 0;
}

uint32_t smc_flows_open(const smc *s) { return s->nopen; }

uint64_t smc_pages_held_total(const smc *s)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < s->nflows; i++)
        n += s->flows[i].ix.held + s->flows[i].snd.ix.held; /* 0 for a flow not open */
    return n;
}

size_t smc_buffer_bytes(const smc *s) { return (size_t)s->buffers * s->cfg.page_size; }

size_t smc_host_bytes(const smc *s)
{
    return sizeof *s + (size_t)(s->nflows ? s->nflows : 1) * sizeof *s->flows +
           s->cfg.page_size /* the zero page */ + s->spill_bytes;
}

void smc_prefetch(const smc *s, uint32_t flow)
{
    if (flow >= s->nflows)
        return;
    const uint8_t *f = (const uint8_t *)&s->flows[flow];
    for (size_t o = 0; o < sizeof *s->flows; o += 64)
        __builtin_prefetch(f + o);
}

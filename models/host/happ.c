/* happ: the host application model. See happ.h for the contract.
 *
 * The flows with a command scheduled sit in a binary min-heap (models/common/heap.h) of flow
 * numbers ordered by (cycle, flow), and each flow knows its place in it (the heap's moved
 * callback), so a close takes its entry out directly. A flow's due cycle is the
 * earlier of its read's (read_at, while a read is possible) and its other command's (cmd_at,
 * while a write, close or abort is possible); each is stamped when it becomes possible, so an
 * input that changes nothing does not move it.
 *
 * Per-flow state exists only when needed: with a consumption rate or an application from the
 * start, otherwise from the first happ_open of a scripted flow. An echo flow keeps the bytes it
 * read and has not written in a buffer of its own, at most its send-buffer space (happ.h),
 * grown by doubling and freed when the flow closes. */
#include "happ.h"

#include "heap.h"

#include "pattern.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const app_names[] = {"none", "sink", "echo", "reqresp", NULL};
static const char *const close_names[] = {"peer", "never", "response", NULL};

static const param_def defs[] = {
    {"clock_mhz", PARAM_U32, offsetof(happ_cfg, clock_mhz), 1000, 1, 100000, "MHz",
     "clock the host application's reads are timed in", NULL},
    {"consume_mbps", PARAM_U32, offsetof(happ_cfg, consume_mbps), 0, 0, 4000000000u, "Mb/s",
     "rate at which each flow's application reads delivered data; 0: it reads all at once", NULL},
    {"read_bytes", PARAM_U32, offsetof(happ_cfg, read_bytes), 65536, 1, 1073741824, "bytes",
     "the most one read takes (with consume_mbps > 0)", NULL},
    {"app", PARAM_ENUM, offsetof(happ_cfg, app), HAPP_NONE, 0, 0, "",
     "application on the host side of each flow: none (reads only; replay), sink, echo, reqresp",
     app_names},
    {"req_bytes", PARAM_U32, offsetof(happ_cfg, req_bytes), 100, 1, 1073741824, "bytes",
     "reqresp: bytes of one request", NULL},
    {"resp_bytes", PARAM_U32, offsetof(happ_cfg, resp_bytes), 1000, 0, 1073741824, "bytes",
     "reqresp: bytes of the response written after each request", NULL},
    {"port", PARAM_U32, offsetof(happ_cfg, port), 0, 0, 65535, "",
     "local port the application serves (other flows get none); 0: every port", NULL},
    {"write_bytes", PARAM_U32, offsetof(happ_cfg, write_bytes), 65536, 1, 1073741824, "bytes",
     "the most one host write into a send buffer takes", NULL},
    {"close", PARAM_ENUM, offsetof(happ_cfg, close), HAPP_CLOSE_PEER, 0, 0, "",
     "when an application closes: peer (after the peer closed and all is written), never, or "
     "response (reqresp: once its first response is written; chip first)",
     close_names},
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
    S(opens, "connections an application or the host script serves"),
    S(writes, "host writes into send buffers"),
    S(bytes_written, "bytes those writes put into send buffers"),
    S(writes_short, "host writes cut short by the page pool"),
    S(requests, "reqresp: requests read in full"),
    S(closes, "connections the host closed (FIN)"),
    S(aborts, "connections the host aborted (RST)"),
    S(echo_peak, "most bytes one echo flow held read and not yet written back"),
    S(sends_refused, "host script sends on a flow that could not take them"),
};
#undef S
const size_t happ_stat_count = sizeof happ_stat_defs / sizeof happ_stat_defs[0];

#define NOT_QUEUED UINT32_MAX

enum {
    F_OPEN = 1u << 0,        /* happ_open called */
    F_SCRIPTED = 1u << 1,    /* the host script drives it */
    F_PEER_CLOSED = 1u << 2, /* the peer's FIN is in order */
    F_CLOSE_REQ = 1u << 3,   /* happ_shutdown */
    F_CLOSED = 1u << 4,      /* CLOSE issued */
    F_ABORT_REQ = 1u << 5,   /* happ_abort */
    F_DEAD = 1u << 6,        /* ABORT issued, or reset by the peer: nothing more */
    F_WRITING = 1u << 7,     /* a WRITE popped, happ_wrote not yet called */
    F_BLOCKED = 1u << 8,     /* a write was cut short: wait for happ_snd_space */
    F_READ_OK = 1u << 9,     /* a read is possible (read_at valid) */
    F_CMD_OK = 1u << 10,     /* a write, close or abort is possible (cmd_at valid) */
    F_ASKED = 1u << 11,      /* reqresp: a whole request was read (close = response) */
};

typedef struct happ_flow {
    uint64_t backlog;  /* readable bytes not read yet */
    cycle_t next_free; /* the reader may start its next read from this cycle */
    cycle_t due;       /* while queued: the cycle of its next command */
    uint32_t pos;      /* its place in the heap, or NOT_QUEUED */
    uint32_t flags;
    cycle_t read_at;   /* while F_READ_OK */
    cycle_t cmd_at;    /* while F_CMD_OK */
    uint64_t pat;      /* pattern key of the stream the chip sends */
    uint64_t sent;     /* bytes written: the next write's stream offset */
    uint64_t owed;     /* bytes to write (echo: all held in eb) */
    uint64_t req_fill; /* reqresp: bytes of the current request read */
    uint32_t space;    /* send-buffer space as last told */
    uint32_t wr_len;   /* while F_WRITING: the WRITE's bytes */
    uint8_t app;       /* happ_app */
    uint8_t *eb;       /* echo: bytes read, not yet written: eb[eb_head .. eb_head + owed) */
    uint32_t eb_head;
    uint32_t eb_cap;
} happ_flow;

struct happ {
    happ_cfg cfg;
    uint32_t nflows;
    happ_flow *flows; /* NULL while no flow needs state */
    heap q;           /* flow numbers, by (due, flow); room for every flow reserved */
    happ_stats st;
};

void happ_cfg_default(happ_cfg *c) { param_defaults(&happ_params, c); }

/* The heap's order, (due, flow), and its record of each flow's place. */
static bool flow_before(const void *pa, const void *pb, void *ctx)
{
    const happ *h = ctx;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    cycle_t da = h->flows[a].due, db = h->flows[b].due;
    return da < db || (da == db && a < b);
}

static void flow_moved(const void *e, uint32_t pos, void *ctx)
{
    happ *h = ctx;
    h->flows[*(const uint32_t *)e].pos = pos;
}

/* Allocates the per-flow state if it is not there; 0, or -1 when out of memory. */
static int ensure_flows(happ *h)
{
    if (h->flows)
        return 0;
    h->flows = calloc(h->nflows ? h->nflows : 1, sizeof *h->flows);
    if (!h->flows || heap_reserve(&h->q, h->nflows ? h->nflows : 1)) {
        free(h->flows);
        heap_free(&h->q);
        h->flows = NULL;
        return -1;
    }
    for (uint32_t i = 0; i < h->nflows; i++)
        h->flows[i].pos = NOT_QUEUED;
    return 0;
}

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
    heap_init(&h->q, sizeof(uint32_t), flow_before, flow_moved, h);
    if ((cfg->consume_mbps || cfg->app != HAPP_NONE) && ensure_flows(h)) {
        happ_free(h);
        sim_err_set(err, "host_app: out of memory for %" PRIu32 " flows", flows);
        return NULL;
    }
    return h;
}

void happ_free(happ *h)
{
    if (!h)
        return;
    if (h->flows)
        for (uint32_t i = 0; i < h->nflows; i++)
            free(h->flows[i].eb);
    free(h->flows);
    heap_free(&h->q);
    free(h);
}

bool happ_immediate(const happ *h) { return h->cfg.consume_mbps == 0 && h->cfg.app == HAPP_NONE; }

/* Takes flow f's entry out of the heap. */
static void unqueue(happ *h, uint32_t f)
{
    heap_remove(&h->q, h->flows[f].pos, NULL);
    h->flows[f].pos = NOT_QUEUED;
}

/* The flow first in the heap (pre: the heap is not empty). */
static uint32_t first_flow(const happ *h) { return *(const uint32_t *)heap_at(&h->q, 0); }

/* The application behaviour of f: an app, or (scripted) none with the script's writes. */
static bool served(const happ_flow *f) { return f->app != HAPP_NONE || (f->flags & F_SCRIPTED); }

/* The bytes a read of f may take now. */
static uint64_t read_allow(const happ *h, const happ_flow *f)
{
    uint64_t n = f->backlog < h->cfg.read_bytes ? f->backlog : h->cfg.read_bytes;
    if (n && f->app == HAPP_ECHO) { /* only what it can write back */
        uint64_t room = f->space > f->owed ? f->space - f->owed : 0;
        if ((f->flags & (F_CLOSED | F_DEAD | F_ABORT_REQ)))
            room = n; /* nothing is written any more: read as a sink */
        n = n < room ? n : room;
    }
    return n;
}

static bool can_write(const happ_flow *f)
{
    return !(f->flags & (F_CLOSED | F_DEAD | F_ABORT_REQ | F_WRITING | F_BLOCKED)) && f->owed &&
           f->space;
}

static bool can_close(const happ *h, const happ_flow *f)
{
    if ((f->flags & (F_CLOSED | F_DEAD | F_ABORT_REQ | F_WRITING)) || f->owed || !served(f))
        return false;
    if (f->flags & F_CLOSE_REQ)
        return true;
    if (h->cfg.close == HAPP_CLOSE_RESPONSE && f->app == HAPP_REQRESP && (f->flags & F_ASKED))
        return true; /* its first response is written (owed is 0): the chip closes first */
    return h->cfg.close != HAPP_CLOSE_NEVER && (f->flags & F_PEER_CLOSED) && !f->backlog;
}

static bool can_abort(const happ_flow *f)
{
    return (f->flags & F_ABORT_REQ) && !(f->flags & (F_DEAD | F_WRITING));
}

/* Recomputes what flow id may do after a change at cycle at, and its place in the heap. */
static void update(happ *h, uint32_t id, cycle_t at)
{
    happ_flow *f = &h->flows[id];
    bool r = !(f->flags & F_WRITING) && read_allow(h, f) > 0;
    if (r && !(f->flags & F_READ_OK)) {
        f->read_at = at > f->next_free ? at : f->next_free;
        f->flags |= F_READ_OK;
    } else if (!r) {
        f->flags &= ~(uint32_t)F_READ_OK;
    }
    bool c = can_abort(f) || can_write(f) || can_close(h, f);
    if (c && !(f->flags & F_CMD_OK)) {
        f->cmd_at = at;
        f->flags |= F_CMD_OK;
    } else if (!c) {
        f->flags &= ~(uint32_t)F_CMD_OK;
    }
    cycle_t due = CYCLE_NEVER;
    if (r)
        due = f->read_at;
    if (c && f->cmd_at < due)
        due = f->cmd_at;
    if (due == CYCLE_NEVER) {
        if (f->pos != NOT_QUEUED)
            unqueue(h, id);
        return;
    }
    f->due = due;
    if (f->pos == NOT_QUEUED)
        heap_push(&h->q, &id); /* cannot fail: room for every flow is reserved */
    else
        heap_fix(&h->q, f->pos);
}

void happ_ready(happ *h, uint32_t flow, uint32_t bytes, cycle_t at)
{
    if (happ_immediate(h) || !h->flows || flow >= h->nflows || !bytes)
        return;
    happ_flow *f = &h->flows[flow];
    f->backlog += bytes;
    if (f->backlog > h->st.backlog_peak)
        h->st.backlog_peak = f->backlog;
    update(h, flow, at);
}

cycle_t happ_next_cycle(const happ *h)
{
    return heap_count(&h->q) ? h->flows[first_flow(h)].due : CYCLE_NEVER;
}

/* Which command flow f issues next, at or before now (given its due <= now). */
static happ_cmd_kind next_kind(const happ *h, const happ_flow *f, cycle_t now)
{
    bool r = (f->flags & F_READ_OK) && f->read_at <= now;
    bool c = (f->flags & F_CMD_OK) && f->cmd_at <= now;
    if (c && (!r || f->cmd_at <= f->read_at)) {
        if (can_abort(f))
            return HAPP_ABORT;
        if (can_write(f))
            return HAPP_WRITE;
        if (can_close(h, f))
            return HAPP_CLOSE;
    }
    return HAPP_READ;
}

bool happ_pop_cmd(happ *h, cycle_t now, happ_cmd *c)
{
    if (!heap_count(&h->q) || h->flows[first_flow(h)].due > now)
        return false;
    uint32_t id = first_flow(h);
    happ_flow *f = &h->flows[id];
    memset(c, 0, sizeof *c);
    c->flow = id;
    c->kind = next_kind(h, f, now);
    switch (c->kind) {
    case HAPP_READ: {
        uint64_t r = read_allow(h, f);
        cycle_t t = f->read_at;
        f->backlog -= r;
        /* r bits at consume_mbps Mb/s, in cycles of clock_mhz: r * 8 * clock_mhz / consume_mbps
         * (no time with consume_mbps 0). */
        uint64_t num = r * 8 * h->cfg.clock_mhz;
        f->next_free =
            h->cfg.consume_mbps ? t + (num + h->cfg.consume_mbps - 1) / h->cfg.consume_mbps : t;
        f->read_at = f->next_free;
        h->st.reads++;
        h->st.bytes_read += r;
        if (f->app == HAPP_REQRESP && !(f->flags & F_SCRIPTED)) {
            f->req_fill += r;
            while (f->req_fill >= h->cfg.req_bytes) {
                f->req_fill -= h->cfg.req_bytes;
                h->st.requests++;
                f->flags |= F_ASKED;
                if (!(f->flags & (F_CLOSED | F_DEAD | F_ABORT_REQ)))
                    f->owed += h->cfg.resp_bytes;
            }
        }
        c->bytes = (uint32_t)r;
        c->at = t;
        update(h, id, t);
        break;
    }
    case HAPP_WRITE: {
        uint64_t n = f->owed < f->space ? f->owed : f->space;
        if (n > h->cfg.write_bytes)
            n = h->cfg.write_bytes;
        c->bytes = (uint32_t)n;
        c->src = f->app == HAPP_ECHO && !(f->flags & F_SCRIPTED) ? HAPP_SRC_ECHO : HAPP_SRC_PATTERN;
        c->off = f->sent;
        c->at = f->cmd_at;
        f->wr_len = (uint32_t)n;
        f->flags |= F_WRITING;
        f->flags &= ~(uint32_t)F_CMD_OK;
        update(h, id, c->at);
        break;
    }
    case HAPP_CLOSE:
        c->at = f->cmd_at;
        f->flags |= F_CLOSED;
        f->flags &= ~(uint32_t)F_CMD_OK;
        f->owed = 0;
        h->st.closes++;
        update(h, id, c->at);
        break;
    case HAPP_ABORT:
        c->at = f->cmd_at;
        f->flags |= F_DEAD;
        f->flags &= ~(uint32_t)F_CMD_OK;
        h->st.aborts++;
        update(h, id, c->at);
        break;
    }
    return true;
}

bool happ_pop_read(happ *h, cycle_t now, uint32_t *flow, uint32_t *bytes, cycle_t *at)
{
    if (!heap_count(&h->q) || h->flows[first_flow(h)].due > now)
        return false;
    if (next_kind(h, &h->flows[first_flow(h)], now) != HAPP_READ)
        return false;
    happ_cmd c;
    happ_pop_cmd(h, now, &c);
    *flow = c.flow;
    *bytes = c.bytes;
    *at = c.at;
    return true;
}

void happ_fill(const happ *h, const happ_cmd *c, uint8_t *out)
{
    const happ_flow *f = &h->flows[c->flow];
    if (c->src == HAPP_SRC_ECHO)
        memcpy(out, f->eb + f->eb_head, c->bytes);
    else
        pat_fill(f->pat, c->off, out, c->bytes);
}

void happ_wrote(happ *h, uint32_t flow, uint32_t taken, uint32_t space, cycle_t at)
{
    if (!h->flows || flow >= h->nflows || !(h->flows[flow].flags & F_WRITING))
        return;
    happ_flow *f = &h->flows[flow];
    if (taken > f->wr_len)
        taken = f->wr_len;
    f->flags &= ~(uint32_t)F_WRITING;
    if (taken < f->wr_len) {
        f->flags |= F_BLOCKED;
        h->st.writes_short++;
    }
    f->sent += taken;
    f->owed -= taken;
    if (f->eb) {
        f->eb_head += taken;
        if (!f->owed)
            f->eb_head = 0;
    }
    f->space = space;
    if (taken) {
        h->st.writes++;
        h->st.bytes_written += taken;
    }
    update(h, flow, at);
}

void happ_data(happ *h, uint32_t flow, const uint8_t *data, uint32_t len, cycle_t at)
{
    if (!h->flows || flow >= h->nflows || !len)
        return;
    happ_flow *f = &h->flows[flow];
    if (f->app != HAPP_ECHO || (f->flags & (F_SCRIPTED | F_CLOSED | F_DEAD | F_ABORT_REQ)))
        return;
    /* Make room at the end: slide the held bytes to the front, or grow. owed <= space bounds
     * it (read_allow), so it never grows past the send buffer's size. */
    uint64_t need = f->owed + len;
    if (f->eb_head + need > f->eb_cap) {
        if (f->eb_head) {
            memmove(f->eb, f->eb + f->eb_head, f->owed);
            f->eb_head = 0;
        }
        if (need > f->eb_cap) {
            uint64_t cap = f->eb_cap ? f->eb_cap : 4096;
            while (cap < need)
                cap *= 2;
            uint8_t *b = realloc(f->eb, cap);
            if (!b)
                return; /* out of host memory: the bytes are not echoed */
            f->eb = b;
            f->eb_cap = (uint32_t)cap;
        }
    }
    memcpy(f->eb + f->eb_head + f->owed, data, len);
    f->owed += len;
    if (f->owed > h->st.echo_peak)
        h->st.echo_peak = f->owed;
    update(h, flow, at);
}

happ_app happ_app_for(const happ *h, const flow_key *k)
{
    if (h->cfg.port && (!k || k->dport != h->cfg.port))
        return HAPP_NONE;
    return (happ_app)h->cfg.app;
}

void happ_open(happ *h, uint32_t flow, const flow_key *k, uint32_t space, bool scripted, cycle_t at)
{
    if (flow >= h->nflows || !k)
        return;
    happ_app app = happ_app_for(h, k);
    if (app == HAPP_NONE && !scripted && !h->flows)
        return; /* nothing to keep */
    if (ensure_flows(h))
        return;
    happ_flow *f = &h->flows[flow];
    uint64_t backlog = f->backlog;
    cycle_t next_free = f->next_free;
    uint32_t pos = f->pos;
    cycle_t read_at = f->read_at, due = f->due;
    uint32_t keep = f->flags & F_READ_OK;
    uint8_t *eb = f->eb;
    uint32_t eb_cap = f->eb_cap;
    memset(f, 0, sizeof *f);
    f->backlog = backlog;
    f->next_free = next_free;
    f->pos = pos;
    f->due = due;
    f->read_at = read_at;
    f->flags = keep | F_OPEN | (scripted ? F_SCRIPTED : 0);
    f->eb = eb;
    f->eb_cap = eb_cap;
    f->app = (uint8_t)app;
    f->space = space;
    flow_key out;
    flow_key_reverse(&out, k); /* as the chip sends: src = the chip */
    f->pat = pat_key(&out);
    if (served(f))
        h->st.opens++;
    update(h, flow, at);
}

uint32_t happ_answers(const happ *h, uint32_t flow)
{
    if (!h->flows || flow >= h->nflows)
        return 0;
    const happ_flow *f = &h->flows[flow];
    return (f->flags & F_OPEN) && served(f) ? 1 : 0;
}

/* flow's state when it was opened, else NULL. */
static happ_flow *opened(happ *h, uint32_t flow)
{
    if (!h->flows || flow >= h->nflows || !(h->flows[flow].flags & F_OPEN))
        return NULL;
    return &h->flows[flow];
}

void happ_peer_closed(happ *h, uint32_t flow, cycle_t at)
{
    happ_flow *f = opened(h, flow);
    if (!f)
        return;
    f->flags |= F_PEER_CLOSED;
    update(h, flow, at);
}

void happ_reset(happ *h, uint32_t flow, cycle_t at)
{
    happ_flow *f = opened(h, flow);
    if (!f)
        return;
    f->flags |= F_DEAD;
    f->owed = 0;
    f->eb_head = 0;
    update(h, flow, at);
}

void happ_snd_space(happ *h, uint32_t flow, uint32_t space, cycle_t at)
{
    happ_flow *f = opened(h, flow);
    if (!f)
        return;
    f->space = space;
    f->flags &= ~(uint32_t)F_BLOCKED;
    update(h, flow, at);
}

int happ_send(happ *h, uint32_t flow, uint64_t bytes, cycle_t at)
{
    happ_flow *f = opened(h, flow);
    if (!f || !(f->flags & F_SCRIPTED) ||
        (f->flags & (F_CLOSE_REQ | F_CLOSED | F_DEAD | F_ABORT_REQ))) {
        h->st.sends_refused++;
        return -1;
    }
    f->owed += bytes;
    update(h, flow, at);
    return 0;
}

void happ_shutdown(happ *h, uint32_t flow, cycle_t at)
{
    happ_flow *f = opened(h, flow);
    if (!f)
        return;
    f->flags |= F_CLOSE_REQ;
    update(h, flow, at);
}

void happ_abort(happ *h, uint32_t flow, cycle_t at)
{
    happ_flow *f = opened(h, flow);
    if (!f || (f->flags & F_DEAD))
        return;
    f->flags |= F_ABORT_REQ;
    f->owed = 0;
    f->eb_head = 0;
    update(h, flow, at);
}

uint64_t happ_owed(const happ *h, uint32_t flow)
{
    return h->flows && flow < h->nflows ? h->flows[flow].owed : 0;
}

uint64_t happ_echo_held(const happ *h, uint32_t flow)
{
    if (!h->flows || flow >= h->nflows || h->flows[flow].app != HAPP_ECHO ||
        (h->flows[flow].flags & F_SCRIPTED))
        return 0;
    return h->flows[flow].owed;
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
    free(f->eb);
    memset(f, 0, sizeof *f);
    f->pos = NOT_QUEUED;
    return left;
}

uint32_t happ_pending(const happ *h) { return heap_count(&h->q); }

const happ_stats *happ_get_stats(const happ *h) { return &h->st; }

void happ_reset_stats(happ *h) { memset(&h->st, 0, sizeof h->st); }

/* ipu: the timed model around ipu_parse (claims 1, 18, 29). One parse engine, an input queue of
 * frames (each slot owns a copy of its bytes, or borrows the caller's for a while) and an
 * out-queue of events. See ipu.h for the
 * timing contract. */
#include "ipu.h"

#include <stdlib.h>
#include <string.h>

static const param_def defs[] = {
    {"clock_mhz", PARAM_U32, offsetof(ipu_cfg, clock_mhz), 1000, 1, 100000, "MHz",
     "clock of the IPU (its cycle counts are in this clock)", NULL},
    {"in_depth", PARAM_U32, offsetof(ipu_cfg, in_depth), 4, 1, 4096, "frames",
     "frames the IPU holds waiting for its parse engine", NULL},
    {"out_depth", PARAM_U32, offsetof(ipu_cfg, out_depth), 16, IPU_MAX_EVENTS, 65536, "events",
     "events the out-queue holds before a finished frame must wait", NULL},
    {"cycles_per_msg", PARAM_U32, offsetof(ipu_cfg, cycles_per_msg), 20, 0, 1000000, "cycles",
     "fixed parse-engine time per frame", NULL},
    {"millicycles_per_byte", PARAM_U32, offsetof(ipu_cfg, millicycles_per_byte), 16, 0, 1000000,
     "1/1000 cycle", "parse-engine time per frame byte (the total is rounded up)", NULL},
    {"verify_checksums", PARAM_BOOL, offsetof(ipu_cfg, verify_checksums), 1, 0, 1, "",
     "drop frames whose IPv4 header, TCP or UDP checksum is wrong", NULL},
    {"verify_icrc", PARAM_BOOL, offsetof(ipu_cfg, verify_icrc), 1, 0, 1, "",
     "drop RoCEv2 frames whose invariant CRC is wrong (bad_icrc); 0: trust it", NULL},
};
const param_table ipu_params = {"ipu", defs, sizeof defs / sizeof defs[0]};

#define S(name, desc)                                                                              \
    {                                                                                              \
#name, desc, offsetof(ipu_stats, name)                                                     \
    }
const stat_def ipu_stat_defs[] = {
    S(frames, "frames accepted from the ingress FIFO"),
    S(processed, "frames that derived events"),
    S(bytes, "wire bytes of accepted frames"),
    S(events, "events emitted to the out-queue"),
    S(busy_cycles, "cycles the parse engine was occupied (dropped frames included)"),
    S(stall_scratchpad_full, "frames that had to wait for scratchpad cells (back-pressure)"),
    S(stall_out_full, "finished frames that had to wait for out-queue room"),
    S(tso_frames,
      "frames captured before segmentation offload (IPv4 length 0; checksums not verified)"),
    S(roce_other, "RoCEv2 frames with an opcode outside RC SEND/WRITE/ACK (READ, atomics, CNP, "
                  "UC, UD...): one other event each"),
};
#undef S
const size_t ipu_stat_count = sizeof ipu_stat_defs / sizeof ipu_stat_defs[0];

/* Smallest slot buffer: a standard Ethernet frame fits without ever growing. */
#define IPU_SLOT_MIN 2048u

void ipu_cfg_default(ipu_cfg *c) { param_defaults(&ipu_params, c); }

int ipu_init(ipu *u, const ipu_cfg *c, scratchpad *sp, sim_err *err)
{
    memset(u, 0, sizeof *u);
    if (param_validate(&ipu_params, c, err))
        return -1;
    if (!sp)
        return sim_err_set(err, "ipu: no scratchpad");
    u->cfg = *c;
    u->sp = sp;
    if (ring_init(&u->in, sizeof(ipu_slot), c->in_depth, err) ||
        ring_init(&u->out, sizeof(event), c->out_depth, err)) {
        ipu_fini(u);
        return -1;
    }
    /* ring_init zeroes the storage: every slot starts with no buffer */
    return 0;
}

void ipu_fini(ipu *u)
{
    if (u->in.buf) /* slot buffers live in every slot, queued or not */
        for (uint32_t i = 0; i < u->in.cap; i++)
            free(((ipu_slot *)(void *)u->in.buf)[i].buf);
    ring_fini(&u->in);
    ring_fini(&u->out);
}

/* Copies a borrowed frame's bytes into the slot's own buffer. */
static void keep(ipu *u, ipu_slot *s)
{
    uint32_t n = s->p.caplen;
    if (n > s->bufcap) { /* grow to a power of two: memory is bounded by the largest frame */
        uint32_t cap = IPU_SLOT_MIN;
        while (cap < n && cap < 0x80000000u)
            cap <<= 1;
        if (cap < n)
            cap = n;
        uint8_t *b = realloc(s->buf, cap);
        if (b) {
            s->buf = b;
            s->bufcap = cap;
        }
    }
    if (n > s->bufcap) {
        /* Out of host memory: keep what fits and mark the record short of its wire length, so
         * that the parser drops it as capture-truncated (counted) instead of crashing. */
        n = s->bufcap;
        s->p.caplen = n;
        if (s->p.len <= n)
            s->p.len = n + 1;
    }
    if (n)
        memcpy(s->buf, s->p.data, n);
    s->p.data = s->buf;
    s->borrowed = false;
    u->borrowed--;
}

/* Queues the frame, borrowed; counts it. */
static ipu_slot *queue(ipu *u, const pkt *p, cycle_t now)
{
    ipu_slot *s = ring_push_slot(&u->in);
    s->p = *p;
    s->borrowed = true;
    u->borrowed++;
    if (now > u->now)
        u->now = now;
    u->st.frames++;
    u->st.bytes += p->len;
    return s;
}

void ipu_push_borrowed(ipu *u, const pkt *p, cycle_t now)
{
    ipu_slot *s = queue(u, p, now);
    /* A frame with others ahead of it, or behind a frame the engine holds past now, cannot
     * start at now (under --saturate, every frame): copy it at once rather than in
     * ipu_keep_frames. */
    if (ring_count(&u->in) > 1 || (u->busy && u->done > now))
        keep(u, s);
}

void ipu_push(ipu *u, const pkt *p, cycle_t now) { keep(u, queue(u, p, now)); }

void ipu_keep_borrowed(ipu *u)
{
    /* the borrowed frames are usually the last pushed: walk back from the newest */
    for (uint32_t i = ring_count(&u->in); u->borrowed && i-- > 0;) {
        ipu_slot *s = ring_at(&u->in, i);
        if (s->borrowed)
            keep(u, s);
    }
}

/* Hands the finished frame's events to the out-queue, or counts its drop. Returns false when
 * the out-queue lacks room for all of its events (the frame stays in the engine). */
static bool finish(ipu *u)
{
    ipu_parse_out *c = &u->cur;
    if (c->drop >= 0) {
        u->st.drops[c->drop]++;
    } else {
        if (ring_space(&u->out) < c->nev) {
            if (!u->blocked_out) {
                u->blocked_out = true;
                u->st.stall_out_full++;
            }
            return false;
        }
        for (unsigned i = 0; i < c->nev; i++) {
            event *e = ring_push_slot(&u->out);
            *e = c->ev;
            e->type = c->types[i];
            e->pkt_nev = (uint8_t)c->nev;
            u->st.ev_types[c->types[i]]++;
        }
        u->st.events += c->nev;
        u->st.processed++;
        u->st.tso_frames += c->tso;
        u->st.roce_other += c->ev.proto == PROTO_ROCE && c->types[0] == EV_OTHER;
    }
    u->st.checks[c->check]++;
    u->blocked_out = false;
    u->busy = false;
    return true;
}

/* Starts the front frame of the input queue at now. Returns false when it must wait for
 * scratchpad cells. While it waits (blocked_sp), u->cur keeps its parse. */
static bool start(ipu *u, cycle_t now)
{
    ipu_slot *s = ring_front(&u->in);
    ipu_parse_out *c = &u->cur;
    if (!u->blocked_sp) {
        ipu_parse_with(&s->p, u->cfg.verify_checksums != 0, u->cfg.verify_icrc != 0, c);
        if (c->drop < 0 && sp_too_big(u->sp, s->p.caplen)) {
            c->drop = DROP_OVERSIZE;
            c->check = IPU_CK_OVERSIZE;
            c->nev = 0;
        }
    }
    if (c->drop < 0) {
        /* one reference per event: each consumer of an event releases the frame once */
        uint32_t h = sp_alloc(u->sp, s->p.data, s->p.caplen, (uint16_t)c->nev);
        if (h == SP_NONE) {
            if (!u->blocked_sp) {
                u->blocked_sp = true;
                u->st.stall_scratchpad_full++;
            }
            return false;
        }
        c->ev.sp_handle = h;
    }
    u->blocked_sp = false;
    uint64_t cost = u->cfg.cycles_per_msg +
                    ((uint64_t)s->p.caplen * u->cfg.millicycles_per_byte + 999u) / 1000u;
    if (s->borrowed) { /* read in place: never copied */
        s->borrowed = false;
        u->borrowed--;
    }
    ring_pop(&u->in);
    u->busy = true;
    u->done = now + cost;
    u->st.busy_cycles += cost;
    return true;
}

unsigned ipu_advance(ipu *u, cycle_t now)
{
    unsigned work = 0;
    if (now > u->now)
        u->now = now;
    for (;;) {
        if (u->busy) {
            if (u->done > now || !finish(u))
                break;
            work++;
        } else if (!ring_empty(&u->in)) {
            if (!start(u, now))
                break;
            work++;
        } else {
            break;
        }
    }
    return work;
}

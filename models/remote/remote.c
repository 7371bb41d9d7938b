/* remote: parameters, lifecycle, the link in both directions, the scheduling of connection
 * opens and timers, frame building and parsing, and the connection table. The TCP endpoint
 * itself is rtcp.c. See remote.h for the contract and docs/generator.md for the model. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "inet_csum.h"
#include "pattern.h"
#include "remote_int.h"

static const char *const role_names[] = {"clients", "server", "both", NULL};
static const char *const closer_names[] = {"client", "server", NULL};
static const char *const expect_names[] = {"pattern", "echo", NULL};

#define P32(name, def, lo, hi, unit, doc)                                                          \
    {                                                                                              \
#name, PARAM_U32, offsetof(rem_cfg, name), def, lo, hi, unit, doc, NULL                    \
    }

static const param_def defs[] = {
    {"seed", PARAM_U64, offsetof(rem_cfg, seed), 1, 0, UINT64_MAX, "",
     "seed of the link's loss and reordering and of the ISNs", NULL},
    {"role", PARAM_ENUM, offsetof(rem_cfg, role), REM_ROLE_CLIENTS, 0, 0, "",
     "clients: open connections to the chip; server: accept the chip's; both", role_names},
    P32(clients, 1, 0, 10000000, "connections", "client connections in all"),
    P32(open_rate, 0, 0, 1000000000, "1/s",
        "client connections opened per second of simulated time; 0: all at start_us"),
    P32(start_us, 0, 0, 4000000000u, "us", "when the first client connection opens"),
    P32(concurrency, 0, 0, 10000000, "connections",
        "most client connections open at once (a later one waits); 0: no limit"),
    P32(requests, 1, 0, 1000000000, "requests", "requests per connection"),
    P32(req_bytes, 100, 0, 1073741824, "bytes",
        "request size; 0: a bulk receiver (reads resp_bytes per request without asking)"),
    P32(resp_bytes, 1000, 0, 1073741824, "bytes",
        "response size; 0: a bulk sender (writes every request at once, waits for no answer)"),
    {"close_first", PARAM_ENUM, offsetof(rem_cfg, close_first), REM_CLOSE_CLIENT, 0, 0, "",
     "who closes when the requests are done: client or server (the other answers the FIN)",
     closer_names},
    {"expect", PARAM_ENUM, offsetof(rem_cfg, expect), REM_EXPECT_PATTERN, 0, 0, "",
     "what a client checks its responses against: pattern (the server's data) or echo (its own "
     "bytes, for the chip's echo application)",
     expect_names},
    P32(delay_us, 10, 0, 10000000, "us", "one-way propagation delay of the link"),
    P32(rate_mbps, 100000, 0, 4000000, "Mb/s", "link rate in each direction; 0: infinite"),
    P32(loss_ppm, 0, 0, 1000000, "ppm", "probability that the link loses a frame, per direction"),
    P32(reorder_ppm, 0, 0, 1000000, "ppm",
        "probability that the link delays a frame by reorder_us, per direction"),
    P32(reorder_us, 0, 0, 10000000, "us", "extra delay of a reordered frame"),
    P32(chip_ip, 0x0a000001, 0, UINT32_MAX, "IPv4",
        "the chip's address as an integer (10.0.0.1 = 0x0a000001)"),
    P32(chip_port, 80, 1, 65535, "", "the chip's listening port the clients connect to"),
    P32(client_ip, 0x0a000101, 1, UINT32_MAX, "IPv4",
        "first client address: client i uses client_ip + i / 50000, port 10000 + i % 50000"),
    P32(listen_port, 8080, 1, 65535, "", "server role: the port that accepts the chip's SYNs"),
    P32(mss, 1460, 64, 65495, "bytes", "MSS announced and the most payload per segment"),
    P32(wscale, 7, 0, 255, "", "window scale announced (0..14); 255: no window-scale option"),
    P32(rcv_buf, 262144, 1, 1073741824, "bytes", "receive buffer: the largest window advertised"),
    P32(read_mbps, 0, 0, 4000000, "Mb/s",
        "rate at which each connection's application reads; 0: at once (window always open)"),
    P32(init_cwnd, 10, 1, 1000, "segments", "initial congestion window"),
    P32(rto_init_us, 1000000, 1, 600000000, "us", "RTO before the first RTT sample (RFC 6298)"),
    P32(rto_min_us, 200000, 1, 600000000, "us", "lower bound of the RTO (RFC 6298: 1 s)"),
    P32(rto_max_us, 60000000, 1, 600000000, "us", "upper bound of the RTO after back-off"),
    P32(max_retries, 8, 1, 100, "",
        "RTOs in a row (or unanswered window probes) after which a connection fails"),
    P32(time_wait_us, 1000000, 0, 600000000, "us", "TIME_WAIT (2 MSL, shortened)"),
    P32(fin_timeout_us, 10000000, 1, 600000000, "us",
        "FIN_WAIT_2 without the peer's FIN: closed after this long"),
    P32(idle_timeout_us, 60000000, 0, 600000000, "us",
        "a connection that receives nothing for this long fails; 0: never"),
};
const param_table rem_params = {"remote", defs, sizeof defs / sizeof defs[0]};

#define S(name, desc)                                                                              \
    {                                                                                              \
#name, desc, offsetof(rem_stats, name)                                                     \
    }
const stat_def rem_stat_defs[] = {
    S(conns_opened, "client connections started (first SYN sent)"),
    S(conns_accepted, "server connections started (a SYN from the chip accepted)"),
    S(conns_established, "handshakes completed"),
    S(conns_completed, "connections closed gracefully with their work done"),
    S(conns_incomplete, "connections the peer closed before their requests were done"),
    S(conns_failed, "connections given up (max_retries, idle_timeout_us)"),
    S(conns_reset, "connections ended by a RST from the chip"),
    S(requests_completed, "client requests completed (response read; bulk: acknowledged)"),
    S(requests_answered, "server: requests received and answered"),
    S(bytes_sent, "payload bytes sent for the first time"),
    S(bytes_received, "payload bytes received in order"),
    S(bytes_verified, "received payload bytes equal to the pattern"),
    S(bytes_corrupt, "received payload bytes different from the pattern"),
    S(bytes_duplicate, "received payload bytes already held"),
    S(segs_sent, "TCP segments sent"),
    S(segs_received, "TCP segments received with valid checksums"),
    S(segs_retrans_fast, "segments retransmitted by fast retransmit and recovery"),
    S(segs_retrans_rto, "segments retransmitted after a retransmission timeout"),
    S(rto_expirations, "retransmission timeouts"),
    S(zero_window_probes, "zero-window probes sent"),
    S(window_updates, "window updates sent when the reader opened the window"),
    S(acks_unseen, "segments from the chip acknowledging data never sent"),
    S(out_of_window, "segments from the chip outside the receive window"),
    S(rst_sent, "RSTs sent"),
    S(rst_received, "RSTs received"),
    S(frames_to_chip, "frames put on the link toward the chip"),
    S(frames_from_chip, "frames the chip put on the link"),
    S(lost_to_chip, "frames lost toward the chip"),
    S(lost_from_chip, "frames lost toward the remote"),
    S(reordered_to_chip, "frames delayed by reorder_us toward the chip"),
    S(reordered_from_chip, "frames delayed by reorder_us toward the remote"),
    S(rx_bad, "frames from the chip with a bad header or checksum"),
    S(rx_ignored, "frames from the chip that are not IPv4 TCP"),
};
#undef S
const size_t rem_stat_count = sizeof rem_stat_defs / sizeof rem_stat_defs[0];

void rem_cfg_default(rem_cfg *c) { param_defaults(&rem_params, c); }

/* ---- random numbers: splitmix64 streams ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint32_t rem_rand32(uint64_t *state) { return (uint32_t)(rng_next(state) >> 32); }

static bool rng_ppm(uint64_t *s, uint32_t ppm) { return rng_next(s) % 1000000u < ppm; }

/* ---- heaps (models/common/heap.h): frames by arrival, timer entries by deadline ---- */

static bool frame_before(const void *pa, const void *pb, void *ctx)
{
    (void)ctx;
    const rem_frame *a = *(rem_frame *const *)pa, *b = *(rem_frame *const *)pb;
    return a->arrive < b->arrive || (a->arrive == b->arrive && a->order < b->order);
}

static bool tent_before(const void *pa, const void *pb, void *ctx)
{
    (void)ctx;
    const rem_tent *a = pa, *b = pb;
    return a->t < b->t || (a->t == b->t && a->conn < b->conn);
}

/* The first frame of h (by arrival), or NULL. */
static rem_frame *frame_first(const heap *h)
{
    return heap_count(h) ? *(rem_frame **)heap_at(h, 0) : NULL;
}

static rem_frame *frame_pop(heap *h)
{
    rem_frame *f;
    heap_pop(h, &f);
    return f;
}

/* When the first element of h is due (REM_NEVER: h is empty): a frame's arrival, a timer
 * entry's deadline. */
static simtime_ps frame_due(const heap *h)
{
    const rem_frame *f = frame_first(h);
    return f ? f->arrive : REM_NEVER;
}

static simtime_ps tent_due(const heap *h)
{
    return heap_count(h) ? ((const rem_tent *)heap_at(h, 0))->t : REM_NEVER;
}

/* ---- lifecycle ---- */

static int check_cfg(const rem_cfg *c, sim_err *err)
{
    if (param_validate(&rem_params, c, err))
        return -1;
    if (c->wscale > 14 && c->wscale != 255)
        return sim_err_set(err, "remote.wscale: %" PRIu32 " is not 0..14 or 255 (no option)",
                           c->wscale);
    if (c->wscale == 255 && c->rcv_buf > 65535)
        return sim_err_set(err,
                           "remote.rcv_buf: %" PRIu32
                           " exceeds 65535, the largest window without remote.wscale",
                           c->rcv_buf);
    if (c->wscale != 255 && c->rcv_buf > (65535u << c->wscale))
        return sim_err_set(err,
                           "remote.rcv_buf: %" PRIu32 " exceeds 65535 << remote.wscale (%" PRIu32
                           "), the largest window it can advertise",
                           c->rcv_buf, 65535u << c->wscale);
    if (c->rto_min_us > c->rto_max_us)
        return sim_err_set(err,
                           "remote.rto_min_us: %" PRIu32 " exceeds remote.rto_max_us (%" PRIu32 ")",
                           c->rto_min_us, c->rto_max_us);
    if (c->role == REM_ROLE_CLIENTS && c->clients == 0)
        return sim_err_set(err, "remote.clients: 0 with remote.role = clients: nothing to do");
    if (c->role != REM_ROLE_SERVER && c->clients > 0 &&
        (c->clients - 1) / 50000 > UINT32_MAX - c->client_ip)
        return sim_err_set(err,
                           "remote.client_ip: %" PRIu32 " clients from 0x%08" PRIx32
                           " run past 255.255.255.255",
                           c->clients, c->client_ip);
    return 0;
}

rem *rem_new(const rem_cfg *cfg, sim_err *err)
{
    if (check_cfg(cfg, err))
        return NULL;
    rem *r = calloc(1, sizeof *r);
    if (!r) {
        sim_err_set(err, "remote: out of memory");
        return NULL;
    }
    r->cfg = *cfg;
    heap_init(&r->out, sizeof(rem_frame *), frame_before, NULL, NULL);
    heap_init(&r->in, sizeof(rem_frame *), frame_before, NULL, NULL);
    heap_init(&r->timers, sizeof(rem_tent), tent_before, NULL, NULL);
    uint64_t s = cfg->seed ^ 0x72656d6f7465ULL; /* "remote" */
    r->to_chip.rng = rng_next(&s);
    r->from_chip.rng = rng_next(&s);
    r->rng_isn = rng_next(&s);
    hist_clear(&r->st.req_latency_ns);
    r->tcap = 1024;
    r->table = calloc(r->tcap, sizeof *r->table);
    if (!r->table) {
        rem_free(r);
        sim_err_set(err, "remote: out of memory");
        return NULL;
    }
    return r;
}

static void frames_free(heap *h)
{
    for (uint32_t i = 0; i < heap_count(h); i++)
        free(*(rem_frame **)heap_at(h, i));
    heap_free(h);
}

void rem_free(rem *r)
{
    if (!r)
        return;
    frames_free(&r->out);
    frames_free(&r->in);
    heap_free(&r->timers);
    for (uint32_t i = 0; i < r->nconns; i++)
        free(r->conns[i].ooo);
    free(r->conns);
    free(r->table);
    free(r);
}

const rem_stats *rem_get_stats(const rem *r) { return &r->st; }

void rem_reset_stats(rem *r)
{
    memset(&r->st, 0, offsetof(rem_stats, req_latency_ns));
    hist_clear(&r->st.req_latency_ns);
}

/* ---- connection table: (local, remote) address and port -> connection ---- */

static uint64_t tuple_hash(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
    uint64_t h = ((uint64_t)lip << 32 | rip) * 0x9e3779b97f4a7c15ULL;
    h ^= ((uint64_t)lport << 16 | rport) + (h >> 29);
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 32);
}

static uint32_t *table_slot(rem *r, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
    uint32_t mask = r->tcap - 1;
    for (uint32_t i = (uint32_t)tuple_hash(lip, lport, rip, rport) & mask;; i = (i + 1) & mask) {
        uint32_t v = r->table[i];
        if (!v)
            return &r->table[i];
        const rem_conn *c = &r->conns[v - 1];
        if (c->lip == lip && c->lport == lport && c->rip == rip && c->rport == rport)
            return &r->table[i];
    }
}

/* Doubles the table and enters every connection again, in the order they started, so that a
 * reused address pair maps to its latest connection. */
static bool table_grow(rem *r)
{
    uint32_t *t = calloc(2 * (size_t)r->tcap, sizeof *t);
    if (!t)
        return false;
    free(r->table);
    r->table = t;
    r->tcap *= 2;
    for (uint32_t i = 0; r->conns && i < r->nconns; i++) {
        const rem_conn *c = &r->conns[i];
        *table_slot(r, c->lip, c->lport, c->rip, c->rport) = i + 1;
    }
    return true;
}

/* The connection with that address pair (the latest one that used it), or NULL. */
static rem_conn *conn_find(rem *r, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
    uint32_t v = *table_slot(r, lip, lport, rip, rport);
    return v ? &r->conns[v - 1] : NULL;
}

rem_conn *rem_conn_add(rem *r, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
    if (2 * (uint64_t)(r->nconns + 1) > r->tcap && !table_grow(r))
        return NULL;
    if (r->nconns == r->cconns) {
        uint32_t cap = r->cconns ? 2 * r->cconns : 64;
        rem_conn *v = realloc(r->conns, cap * sizeof *v);
        if (!v)
            return NULL;
        r->conns = v;
        r->cconns = cap;
    }
    if (!r->conns)
        return NULL;
    rem_conn *c = &r->conns[r->nconns];
    memset(c, 0, sizeof *c);
    c->lip = lip;
    c->lport = lport;
    c->rip = rip;
    c->rport = rport;
    c->ended = REM_NEVER;
    *table_slot(r, lip, lport, rip, rport) = ++r->nconns; /* a reused pair points at the new one */
    r->live++;

    flow_key k;
    flow_key_clear(&k);
    k.af = 4;
    k.proto = 6;
    for (int i = 0; i < 4; i++) {
        k.src[i] = (uint8_t)(lip >> (24 - 8 * i));
        k.dst[i] = (uint8_t)(rip >> (24 - 8 * i));
    }
    k.sport = lport;
    k.dport = rport;
    c->key_tx = pat_key(&k);
    flow_key rk;
    flow_key_reverse(&rk, &k);
    c->key_rx = pat_key(&rk);
    return c;
}

/* ---- timers: one heap entry per connection, at or before its earliest deadline ---- */

void rem_conn_resched(rem *r, rem_conn *c)
{
    simtime_ps d = rtcp_deadline(c);
    if (d == REM_NEVER || (c->sched && c->sched <= d))
        return; /* the entry already there fires first and re-arms */
    rem_tent e = {d, (uint32_t)(c - r->conns)};
    if (!heap_push(&r->timers, &e)) {
        r->oom = true;
        return;
    }
    c->sched = d;
}

void rem_slot_free(rem *r, rem_conn *c)
{
    if (!c->slot)
        return;
    c->slot = false;
    r->slots_used--;
    r->slot_freed = r->now;
}

/* ---- the link ---- */

static rem_frame *frame_new(uint32_t len)
{
    rem_frame *f = calloc(1, sizeof *f + len); /* zeroed: a frame is read only as far as written */
    if (f)
        f->len = len;
    return f;
}

/* Passes f (its len set) through link l from t; false when the link loses it. */
static bool link_pass(rem *r, rem_link *l, rem_frame *f, simtime_ps t, uint64_t *reordered)
{
    const rem_cfg *c = &r->cfg;
    simtime_ps start = t > l->free ? t : l->free;
    simtime_ps ser = c->rate_mbps ? ((uint64_t)f->len + 24) * 8 * REM_PS_PER_US / c->rate_mbps : 0;
    l->free = start + ser;
    bool lost = rng_ppm(&l->rng, c->loss_ppm);
    bool late = rng_ppm(&l->rng, c->reorder_ppm);
    if (lost)
        return false;
    f->arrive = l->free + (uint64_t)c->delay_us * REM_PS_PER_US;
    if (late) {
        f->arrive += (uint64_t)c->reorder_us * REM_PS_PER_US;
        (*reordered)++;
    }
    f->order = r->order++;
    return true;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}
static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t get32(const uint8_t *p) { return get16(p) << 16 | get16(p + 2); }

/* The TCP checksum's sum over the pseudo-header and the segment (checksum field included). */
static uint32_t tcp_sum(const uint8_t *ip, const uint8_t *tcp, uint32_t tcp_len)
{
    uint32_t s = inet_csum_add(0, ip + 12, 8);
    s += 6 + tcp_len;
    return inet_csum_add(s, tcp, tcp_len);
}

static void emit_frame(rem *r, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport,
                       uint16_t ip_id, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
                       uint16_t opt_mss, uint8_t opt_ws, uint64_t key, uint64_t off, uint32_t plen)
{
    uint32_t olen = (opt_mss ? 4 : 0) + (opt_ws != 0xff ? 4 : 0);
    uint32_t tlen = 20 + olen + plen, len = 14 + 20 + tlen;
    rem_frame *f = frame_new(len);
    if (!f) {
        r->oom = true;
        return;
    }
    uint8_t *e = f->data, *ip = e + 14, *t = ip + 20;
    static const uint8_t chip_mac[6] = {2, 0, 0, 0, 0, 1}, rem_mac[6] = {2, 0, 0, 0, 0, 2};
    memcpy(e, chip_mac, 6);
    memcpy(e + 6, rem_mac, 6);
    put16(e + 12, 0x0800);
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, 20 + tlen);
    put16(ip + 4, ip_id);
    put16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = 6;
    put16(ip + 10, 0);
    put32(ip + 12, lip);
    put32(ip + 16, rip);
    put16(ip + 10, (uint16_t)~inet_csum_fold(inet_csum_add(0, ip, 20)));
    put16(t, lport);
    put16(t + 2, rport);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = (uint8_t)((5 + olen / 4) << 4);
    t[13] = flags;
    put16(t + 14, win);
    put16(t + 16, 0);
    put16(t + 18, 0);
    uint8_t *o = t + 20;
    if (opt_mss) {
        o[0] = 2;
        o[1] = 4;
        put16(o + 2, opt_mss);
        o += 4;
    }
    if (opt_ws != 0xff) {
        o[0] = 1;
        o[1] = 3;
        o[2] = 3;
        o[3] = opt_ws;
        o += 4;
    }
    if (plen)
        pat_fill(key, off, o, plen);
    put16(t + 16, (uint16_t)~inet_csum_fold(tcp_sum(ip, t, tlen)));
    r->st.segs_sent++;
    r->st.frames_to_chip++;
    if (!link_pass(r, &r->to_chip, f, r->now, &r->st.reordered_to_chip)) {
        r->st.lost_to_chip++;
        free(f);
        return;
    }
    if (!heap_push(&r->out, &f)) {
        r->oom = true;
        free(f);
    }
}

void rem_emit(rem *r, rem_conn *c, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
              bool opt_mss, bool opt_ws, uint64_t data_off, uint32_t payload_len)
{
    emit_frame(r, c->lip, c->lport, c->rip, c->rport, c->ip_id++, seq, ack, flags, win,
               opt_mss ? (uint16_t)r->cfg.mss : 0,
               opt_ws && r->cfg.wscale != 255 ? (uint8_t)r->cfg.wscale : 0xff, c->key_tx, data_off,
               payload_len);
}

void rem_emit_rst(rem *r, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport, uint32_t seq,
                  uint32_t ack, bool with_ack)
{
    r->st.rst_sent++;
    emit_frame(r, lip, lport, rip, rport, 0, seq, with_ack ? ack : 0,
               (uint8_t)(with_ack ? 0x14 : 0x04), 0, 0, 0xff, 0, 0, 0);
}

bool rem_peek_frame(const rem *r, const uint8_t **data, uint32_t *len, simtime_ps *arrive)
{
    const rem_frame *f = frame_first(&r->out);
    if (!f)
        return false;
    *data = f->data;
    *len = f->len;
    *arrive = f->arrive;
    return true;
}

void rem_pop_frame(rem *r)
{
    if (heap_count(&r->out))
        free(frame_pop(&r->out));
}

void rem_from_chip(rem *r, const uint8_t *frame, uint32_t len, simtime_ps t)
{
    r->st.frames_from_chip++;
    rem_frame *f = frame_new(len);
    if (!f) {
        r->oom = true;
        return;
    }
    memcpy(f->data, frame, len);
    if (!link_pass(r, &r->from_chip, f, t > r->now ? t : r->now, &r->st.reordered_from_chip)) {
        r->st.lost_from_chip++;
        free(f);
        return;
    }
    if (!heap_push(&r->in, &f)) {
        r->oom = true;
        free(f);
    }
}

/* ---- a frame from the chip arrives ---- */

static void handle_frame(rem *r, const uint8_t *p, uint32_t n, simtime_ps now)
{
    uint32_t off = 14;
    if (n < 14) {
        r->st.rx_bad++;
        return;
    }
    uint32_t et = get16(p + 12);
    while ((et == 0x8100 || et == 0x88a8) && n >= off + 4) {
        et = get16(p + off + 2);
        off += 4;
    }
    if (et != 0x0800) {
        r->st.rx_ignored++;
        return;
    }
    const uint8_t *ip = p + off;
    if (n < off + 20 || (ip[0] >> 4) != 4) {
        r->st.rx_bad++;
        return;
    }
    uint32_t ihl = (ip[0] & 15u) * 4, tot = get16(ip + 2);
    if (ihl < 20 || tot < ihl || n < off + tot ||
        inet_csum_fold(inet_csum_add(0, ip, ihl)) != 0xffff) {
        r->st.rx_bad++;
        return;
    }
    if (ip[9] != 6 || (get16(ip + 6) & 0x3fff)) { /* not TCP, or a fragment */
        r->st.rx_ignored++;
        return;
    }
    const uint8_t *t = ip + ihl;
    uint32_t tlen = tot - ihl;
    if (tlen < 20 || (uint32_t)(t[12] >> 4) * 4 < 20 || (uint32_t)(t[12] >> 4) * 4 > tlen) {
        r->st.rx_bad++;
        return;
    }
    /* the pseudo-header's sum, over the addresses in the IPv4 header at its usual place */
    uint32_t s = inet_csum_add(0, ip + 12, 8) + 6 + tlen;
    if (inet_csum_fold(inet_csum_add(s, t, tlen)) != 0xffff) {
        r->st.rx_bad++;
        return;
    }
    r->st.segs_received++;
    rem_seg g = {0};
    g.sip = get32(ip + 12);
    g.dip = get32(ip + 16);
    g.sport = (uint16_t)get16(t);
    g.dport = (uint16_t)get16(t + 2);
    g.seq = get32(t + 4);
    g.ack = get32(t + 8);
    g.flags = t[13];
    g.win = (uint16_t)get16(t + 14);
    g.opt_ws = 0xff;
    uint32_t hl = (uint32_t)(t[12] >> 4) * 4;
    for (uint32_t i = 20; i < hl;) {
        uint8_t kind = t[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= hl || t[i + 1] < 2 || i + t[i + 1] > hl)
            break;
        if (kind == 2 && t[i + 1] == 4)
            g.opt_mss = (uint16_t)get16(t + i + 2);
        else if (kind == 3 && t[i + 1] == 3)
            g.opt_ws = t[i + 2] > 14 ? 14 : t[i + 2];
        i += t[i + 1];
    }
    g.payload = t + hl;
    g.len = tlen - hl;
    if (g.flags & 0x04)
        r->st.rst_received++;

    rem_conn *c = conn_find(r, g.dip, g.dport, g.sip, g.sport);
    if (c && c->state != REM_ST_CLOSED) {
        rtcp_input(r, c, &g, now);
        return;
    }
    bool syn_only = (g.flags & 0x17) == 0x02;
    if (syn_only && r->cfg.role != REM_ROLE_CLIENTS && g.dport == r->cfg.listen_port) {
        rem_conn *nc = rem_conn_add(r, g.dip, g.dport, g.sip, g.sport);
        if (!nc) {
            r->oom = true;
            return;
        }
        rtcp_accept(r, (uint32_t)(nc - r->conns), &g, now);
        return;
    }
    if (g.flags & 0x04)
        return; /* never answer a RST */
    if (g.flags & 0x10)
        rem_emit_rst(r, g.dip, g.dport, g.sip, g.sport, g.ack, 0, false);
    else
        rem_emit_rst(r, g.dip, g.dport, g.sip, g.sport, 0,
                     g.seq + g.len + !!(g.flags & 0x02) + !!(g.flags & 0x01), true);
}

/* ---- scheduling ---- */

/* When client next_client may open, or REM_NEVER. */
static simtime_ps next_open(const rem *r)
{
    const rem_cfg *c = &r->cfg;
    if (c->role == REM_ROLE_SERVER || r->next_client >= c->clients || r->oom)
        return REM_NEVER;
    if (c->concurrency && r->slots_used >= c->concurrency)
        return REM_NEVER;
    uint64_t i = r->next_client;
    simtime_ps t = (uint64_t)c->start_us * REM_PS_PER_US;
    if (c->open_rate) {
        const uint64_t ps = 1000000000000ULL;
        t += i / c->open_rate * ps + i % c->open_rate * ps / c->open_rate;
    }
    return t > r->slot_freed ? t : r->slot_freed;
}

static void open_client(rem *r, simtime_ps now)
{
    const rem_cfg *c = &r->cfg;
    uint32_t i = r->next_client++;
    rem_conn *k = rem_conn_add(r, c->client_ip + i / 50000, (uint16_t)(10000 + i % 50000),
                               c->chip_ip, (uint16_t)c->chip_port);
    if (!k) {
        r->oom = true;
        r->st.conns_failed++;
        return;
    }
    k->slot = true;
    r->slots_used++;
    rtcp_open(r, k, now);
}

simtime_ps rem_next_ps(const rem *r)
{
    simtime_ps t = next_open(r);
    if (frame_due(&r->in) < t)
        t = frame_due(&r->in);
    if (tent_due(&r->timers) < t)
        t = tent_due(&r->timers);
    return t;
}

unsigned rem_advance(rem *r, simtime_ps now)
{
    unsigned work = 0;
    for (;;) {
        simtime_ps tf = frame_due(&r->in);
        simtime_ps tt = tent_due(&r->timers);
        simtime_ps to = next_open(r);
        simtime_ps t = tf < tt ? tf : tt;
        if (to < t)
            t = to;
        if (t == REM_NEVER || t > now)
            break;
        if (t > r->now)
            r->now = t;
        work++;
        if (tf == t) {
            rem_frame *f = frame_pop(&r->in);
            handle_frame(r, f->data, f->len, r->now);
            free(f);
        } else if (tt == t) {
            rem_tent e;
            heap_pop(&r->timers, &e);
            rem_conn *c = &r->conns[e.conn];
            if (c->sched != e.t)
                continue; /* superseded by an earlier entry */
            c->sched = 0;
            rtcp_timers(r, c, r->now);
            rem_conn_resched(r, c);
        } else {
            open_client(r, r->now);
        }
    }
    return work;
}

bool rem_done(const rem *r)
{
    bool clients_left =
        r->cfg.role != REM_ROLE_SERVER && r->next_client < r->cfg.clients && !r->oom;
    return !clients_left && r->live == 0 && heap_count(&r->in) == 0 && heap_count(&r->out) == 0;
}

/* ---- per-connection listing ---- */

uint32_t rem_conn_count(const rem *r) { return r->nconns; }

bool rem_conn_get(const rem *r, uint32_t i, rem_conn_info *info)
{
    static const char *const states[] = {"SYN_SENT",   "SYN_RCVD",   "ESTABLISHED",
                                         "FIN_WAIT_1", "FIN_WAIT_2", "CLOSING",
                                         "TIME_WAIT",  "CLOSE_WAIT", "LAST_ACK"};
    static const char *const ends[] = {"closed", "completed", "incomplete", "failed", "reset"};
    if (i >= r->nconns)
        return false;
    const rem_conn *c = &r->conns[i];
    memset(info, 0, sizeof *info);
    flow_key *k = &info->key;
    k->af = 4;
    k->proto = 6;
    for (int b = 0; b < 4; b++) {
        k->src[b] = (uint8_t)(c->lip >> (24 - 8 * b));
        k->dst[b] = (uint8_t)(c->rip >> (24 - 8 * b));
    }
    k->sport = c->lport;
    k->dport = c->rport;
    info->active = c->active;
    info->state = c->state == REM_ST_CLOSED ? ends[c->end] : states[c->state];
    info->opened = c->opened;
    info->ended = c->ended;
    info->bytes_sent = c->bytes_sent;
    info->bytes_received = c->bytes_rcvd;
    info->retransmits = c->retrans;
    info->requests_done = c->req_done;
    return true;
}

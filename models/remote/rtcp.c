/* rtcp: the remote endpoint's TCP and the application on top of it (clients, server). See
 * remote.h for what it implements and docs/generator.md for the rules it follows. Sequence
 * numbers are 64-bit offsets from the ISNs (remote_int.h) and become 32-bit only on the wire:
 * a wire value is unwrapped against the nearest offset the connection knows (within 2^31). */
#include <stdlib.h>
#include <string.h>

#include "pattern.h"
#include "remote_int.h"

enum { F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10 };

#define CWND_MAX (1u << 30)
#define RTO_GRANULARITY_PS 1000000ULL /* G of RFC 6298: 1 us */

static simtime_ps us(uint32_t v) { return (uint64_t)v * REM_PS_PER_US; }
static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* The 64-bit offset of wire value w, nearest to ref, in the space whose offset 0 is isn. */
static int64_t unwrap(uint64_t ref, uint32_t isn, uint32_t w)
{
    return (int64_t)ref + (int32_t)(w - (uint32_t)(isn + ref));
}

/* ---- receive window: a buffer of rcv_buf bytes emptied by a reader at read_mbps ---- */

static uint64_t unread(const rem *r, const rem_conn *c, simtime_ps now)
{
    uint32_t m = r->cfg.read_mbps;
    if (!m || c->read_free <= now)
        return 0;
    return ((c->read_free - now) * m + 7999999) / 8000000;
}

static uint64_t rcv_space(const rem *r, const rem_conn *c, simtime_ps now)
{
    uint64_t u = unread(r, c, now);
    return u >= r->cfg.rcv_buf ? 0 : r->cfg.rcv_buf - u;
}

/* The receiver's silly-window rule (RFC 1122 4.2.3.3): the right edge moves only by at least
 * min(rcv_buf / 2, mss), or to a wholly free buffer. */
static uint64_t wupd_threshold(const rem *r) { return min64(r->cfg.rcv_buf / 2, r->cfg.mss); }

/* The window field for a segment now; moves rcv_edge (never back: the window never shrinks).
 * Rounded up to the scale's unit: the model stores no data, so the few extra bytes cost
 * nothing, and a right edge once advertised stays. */
static uint16_t adv_window(const rem *r, rem_conn *c, simtime_ps now)
{
    uint64_t space = rcv_space(r, c, now), cand = c->rcv_nxt + space;
    if (cand > c->rcv_edge && (cand - c->rcv_edge >= wupd_threshold(r) || space >= r->cfg.rcv_buf))
        c->rcv_edge = cand;
    uint64_t w = c->rcv_edge > c->rcv_nxt ? c->rcv_edge - c->rcv_nxt : 0;
    uint64_t unit = 1ull << c->rcv_ws;
    uint64_t field = min64((w + unit - 1) >> c->rcv_ws, 65535);
    c->rcv_edge = max64(c->rcv_edge, c->rcv_nxt + (field << c->rcv_ws));
    return (uint16_t)field;
}

static bool can_receive(const rem_conn *c)
{
    return c->state == REM_ST_ESTABLISHED || c->state == REM_ST_FIN_WAIT_1 ||
           c->state == REM_ST_FIN_WAIT_2;
}

/* With a slow reader and a window below the threshold: a window update is due when the reader
 * has made room for the right edge to move by the threshold (or has emptied the buffer). */
static void arm_wupd(const rem *r, rem_conn *c, uint64_t advertised, simtime_ps now)
{
    uint64_t thr = wupd_threshold(r);
    c->wupd_at = 0;
    if (!r->cfg.read_mbps || !can_receive(c) || advertised >= thr || c->read_free <= now)
        return;
    uint64_t want = min64(advertised + thr, r->cfg.rcv_buf); /* space wanted */
    uint64_t allowed = r->cfg.rcv_buf - want;                /* unread bytes that leave it */
    uint64_t back = allowed * 8000000 / r->cfg.read_mbps;
    simtime_ps t = c->read_free > back ? c->read_free - back : 0;
    c->wupd_at = t > now ? t : now + 1;
}

/* Whether a window update is due now (the rule of adv_window would move the edge). */
static bool wupd_due(const rem *r, const rem_conn *c, simtime_ps now)
{
    uint64_t space = rcv_space(r, c, now), cand = c->rcv_nxt + space;
    return cand > c->rcv_edge &&
           (cand - c->rcv_edge >= wupd_threshold(r) || space >= r->cfg.rcv_buf);
}

/* ---- sending ---- */

/* A segment of a synchronised connection: send-stream offset so, len payload bytes. */
static void send_seg(rem *r, rem_conn *c, simtime_ps now, uint64_t so, uint32_t len, uint8_t flags)
{
    uint16_t win = adv_window(r, c, now);
    rem_emit(r, c, c->iss + (uint32_t)so, c->irs + (uint32_t)c->rcv_nxt, (uint8_t)(flags | F_ACK),
             win, false, false, so ? so - 1 : 0, len);
    c->ack_pending = false;
    arm_wupd(r, c, (uint64_t)win << c->rcv_ws, now);
}

static void send_ack(rem *r, rem_conn *c, simtime_ps now) { send_seg(r, c, now, c->snd_nxt, 0, 0); }

static void send_syn(rem *r, rem_conn *c)
{
    uint16_t win = (uint16_t)min64(r->cfg.rcv_buf, 65535);
    if (c->active)
        rem_emit(r, c, c->iss, 0, F_SYN, win, true, true, 0, 0);
    else
        rem_emit(r, c, c->iss, c->irs + 1, F_SYN | F_ACK, win, true, c->ws_ok, 0, 0);
}

static void slot_release(rem *r, rem_conn *c) { rem_slot_free(r, c); }

static bool client_work_done(const rem *r, const rem_conn *c)
{
    const rem_cfg *k = &r->cfg;
    return !c->active || c->req_done >= k->requests || (k->req_bytes == 0 && k->resp_bytes == 0);
}

static void conn_end(rem *r, rem_conn *c, uint8_t end, simtime_ps now)
{
    if (c->state == REM_ST_CLOSED)
        return;
    c->state = REM_ST_CLOSED;
    c->end = end;
    c->ended = now;
    c->rto_at = c->persist_at = c->tw_at = c->idle_at = c->wupd_at = 0;
    free(c->ooo);
    c->ooo = NULL;
    c->nooo = c->cooo = 0;
    r->live--;
    slot_release(r, c);
    switch (end) {
    case REM_END_COMPLETED:
        r->st.conns_completed++;
        break;
    case REM_END_INCOMPLETE:
        r->st.conns_incomplete++;
        break;
    case REM_END_FAILED:
        r->st.conns_failed++;
        break;
    default:
        r->st.conns_reset++;
        break;
    }
}

static void end_graceful(rem *r, rem_conn *c, simtime_ps now)
{
    conn_end(r, c, client_work_done(r, c) ? REM_END_COMPLETED : REM_END_INCOMPLETE, now);
}

/* Gives up on c: a RST tells the chip (when it knows the connection), then it is closed. */
static void conn_fail(rem *r, rem_conn *c, simtime_ps now)
{
    if (c->state != REM_ST_SYN_SENT)
        rem_emit_rst(r, c->lip, c->lport, c->rip, c->rport, c->iss + (uint32_t)c->snd_nxt,
                     c->irs + (uint32_t)c->rcv_nxt, true);
    conn_end(r, c, REM_END_FAILED, now);
}

static void enter_time_wait(rem *r, rem_conn *c, simtime_ps now)
{
    c->state = REM_ST_TIME_WAIT;
    c->tw_at = now + us(r->cfg.time_wait_us);
    if (!c->tw_at)
        c->tw_at = now ? now : 1;
    c->idle_at = c->rto_at = c->persist_at = c->wupd_at = 0;
    slot_release(r, c);
}

/* RFC 6298 2.2, 2.3 and 2.4 (G = 1 us), bounded by rto_min_us and rto_max_us. */
static void rtt_sample(const rem *r, rem_conn *c, simtime_ps m)
{
    if (!c->have_rtt) {
        c->srtt = m;
        c->rttvar = m / 2;
        c->have_rtt = true;
    } else {
        simtime_ps d = c->srtt > m ? c->srtt - m : m - c->srtt;
        c->rttvar = (3 * c->rttvar + d) / 4;
        c->srtt = (7 * c->srtt + m) / 8;
    }
    simtime_ps rto = c->srtt + max64(RTO_GRANULARITY_PS, 4 * c->rttvar);
    c->rto = min64(max64(rto, us(r->cfg.rto_min_us)), us(r->cfg.rto_max_us));
}

/* Sends what the windows allow: new data, or the data after an RTO went back to snd_una.
 * Sender silly-window rule (RFC 1122 4.2.3.4): a segment goes when it is full, or carries the
 * last data written, or at least half the largest window the peer offered, or when force (the
 * persist timer's override) is set and nothing is in flight. */
static void output_ex(rem *r, rem_conn *c, simtime_ps now, bool force)
{
    switch (c->state) {
    case REM_ST_ESTABLISHED:
    case REM_ST_CLOSE_WAIT:
    case REM_ST_FIN_WAIT_1:
    case REM_ST_CLOSING:
    case REM_ST_LAST_ACK:
        break;
    default:
        return;
    }
    uint64_t data_end = 1 + c->app_end, end = data_end + c->fin_queued;
    uint64_t win = min64(c->snd_wnd, c->cwnd);
    while (c->snd_nxt < end) {
        uint64_t flight = c->snd_nxt - c->snd_una;
        uint32_t len = 0;
        bool fin = false;
        if (c->snd_nxt < data_end) {
            uint64_t avail = win > flight ? win - flight : 0;
            uint64_t rest = data_end - c->snd_nxt;
            uint64_t l = min64(min64(c->mss, rest), avail);
            if (l == 0)
                break;
            if (l < c->mss && l < rest && 2 * l < c->max_sndwnd && !(force && flight == 0)) {
                if (flight == 0 && !c->persist_at) /* the override timer */
                    c->persist_at = now + min64(c->rto, us(r->cfg.rto_max_us));
                return;
            }
            len = (uint32_t)l;
            fin = c->fin_queued && c->snd_nxt + len == data_end;
        } else {
            fin = true;
        }
        bool re = c->snd_nxt < c->snd_max;
        uint8_t flags =
            (uint8_t)((c->snd_nxt + len == data_end && len ? F_PSH : 0) | (fin ? F_FIN : 0));
        send_seg(r, c, now, c->snd_nxt, len, flags);
        uint64_t seg_end = c->snd_nxt + len + fin;
        if (re) {
            r->st.segs_retrans_rto++;
            c->retrans++;
        }
        if (seg_end > c->snd_max) {
            uint64_t fresh =
                min64(seg_end, data_end) - min64(max64(c->snd_nxt, c->snd_max), data_end);
            r->st.bytes_sent += fresh;
            c->bytes_sent += fresh;
            if (!re && !c->rtt_on) {
                c->rtt_on = true;
                c->rtt_so = seg_end;
                c->rtt_t = now;
            }
            c->snd_max = seg_end;
        }
        c->snd_nxt = seg_end;
        if (fin) {
            if (c->state == REM_ST_ESTABLISHED)
                c->state = REM_ST_FIN_WAIT_1;
            else if (c->state == REM_ST_CLOSE_WAIT)
                c->state = REM_ST_LAST_ACK;
        }
        if (!c->rto_at)
            c->rto_at = now + c->rto;
    }
    if (c->snd_wnd == 0 && c->snd_nxt == c->snd_una && c->snd_nxt < data_end) {
        if (!c->persist_at)
            c->persist_at = now + min64(c->rto << c->persist_backoff, us(r->cfg.rto_max_us));
    } else {
        c->persist_at = 0;
        c->persist_backoff = 0;
    }
}

static void output(rem *r, rem_conn *c, simtime_ps now) { output_ex(r, c, now, false); }

/* Fast retransmit / NewReno partial ACK: the segment at snd_una, once. */
static void retransmit_una(rem *r, rem_conn *c, simtime_ps now)
{
    uint64_t data_end = 1 + c->app_end, so = c->snd_una;
    uint32_t len = 0;
    bool fin = false;
    if (so < data_end) {
        len = (uint32_t)min64(c->mss, data_end - so);
        fin = c->fin_queued && so + len == data_end && c->snd_max > data_end;
    } else if (c->fin_queued && so == data_end && c->snd_max > data_end) {
        fin = true;
    } else {
        return;
    }
    send_seg(r, c, now, so, len, (uint8_t)((len ? F_PSH : 0) | (fin ? F_FIN : 0)));
    r->st.segs_retrans_fast++;
    c->retrans++;
    c->rtt_on = false; /* Karn */
    c->rto_at = now + c->rto;
}

/* ---- the application ---- */

static void app_close(rem_conn *c) { c->fin_queued = true; }

static void app_client(rem *r, rem_conn *c, simtime_ps now)
{
    const rem_cfg *k = &r->cfg;
    if (c->state != REM_ST_ESTABLISHED && c->state != REM_ST_CLOSE_WAIT)
        return;
    if (!c->app_done) {
        if (k->resp_bytes == 0 && k->req_bytes > 0) { /* bulk sender */
            if (!c->started) {
                c->started = true;
                c->app_end += (uint64_t)k->req_bytes * k->requests;
                c->req_start = now;
            }
            uint64_t acked = c->snd_una > 1 ? min64(c->snd_una - 1, c->app_end) : 0;
            while (c->req_done < k->requests &&
                   acked >= (uint64_t)(c->req_done + 1) * k->req_bytes) {
                hist_add(&r->st.req_latency_ns, (now - c->req_start) / 1000);
                c->req_done++;
                r->st.requests_completed++;
            }
        } else if (k->resp_bytes > 0) { /* requests and responses; req 0: a bulk receiver */
            while (c->req_done < k->requests) {
                if (!c->req_out) {
                    c->app_end += k->req_bytes;
                    c->req_start = now;
                    c->req_out = true;
                }
                if (c->bytes_rcvd < (uint64_t)(c->req_done + 1) * k->resp_bytes)
                    break;
                hist_add(&r->st.req_latency_ns, (now - c->req_start) / 1000);
                c->req_done++;
                r->st.requests_completed++;
                c->req_out = false;
            }
        }
        if (client_work_done(r, c)) {
            c->app_done = true;
            if (k->close_first == REM_CLOSE_CLIENT)
                app_close(c);
        }
    }
    if (c->fin_rcvd && !c->fin_queued)
        app_close(c); /* the chip closed: nothing more will come */
}

static void app_server(rem *r, rem_conn *c, simtime_ps now)
{
    const rem_cfg *k = &r->cfg;
    (void)now;
    if (c->state != REM_ST_ESTABLISHED && c->state != REM_ST_CLOSE_WAIT)
        return;
    if (k->req_bytes == 0) { /* a bulk sender toward the chip */
        if (!c->started) {
            c->started = true;
            c->app_end += (uint64_t)k->resp_bytes * k->requests;
            c->app_done = true;
            if (k->close_first == REM_CLOSE_SERVER)
                app_close(c);
        }
    } else {
        while (c->bytes_rcvd >= (uint64_t)(c->req_done + 1) * k->req_bytes) {
            c->app_end += k->resp_bytes;
            c->req_done++;
            r->st.requests_answered++;
        }
        if (!c->app_done && k->requests && c->req_done >= k->requests) {
            c->app_done = true;
            if (k->close_first == REM_CLOSE_SERVER)
                app_close(c);
        }
    }
    if (c->fin_rcvd && !c->fin_queued)
        app_close(c);
}

static void app(rem *r, rem_conn *c, simtime_ps now)
{
    if (c->active)
        app_client(r, c, now);
    else
        app_server(r, c, now);
}

/* ---- opening ---- */

static void established(rem *r, rem_conn *c)
{
    c->state = REM_ST_ESTABLISHED;
    r->st.conns_established++;
    c->retries = 0;
    c->rto_at = 0;
    c->cwnd = (uint32_t)min64((uint64_t)r->cfg.init_cwnd * c->mss, CWND_MAX);
    c->ssthresh = UINT32_MAX;
}

static void arm_idle(const rem *r, rem_conn *c, simtime_ps now)
{
    c->idle_at = r->cfg.idle_timeout_us ? now + us(r->cfg.idle_timeout_us) : 0;
}

void rtcp_open(rem *r, rem_conn *c, simtime_ps now)
{
    c->active = true;
    if (r->cfg.expect == REM_EXPECT_ECHO) /* the chip's host echoes: our own bytes come back */
        c->key_rx = c->key_tx;
    c->opened = now;
    c->iss = rem_rand32(&r->rng_isn);
    c->state = REM_ST_SYN_SENT;
    c->snd_una = 0;
    c->snd_nxt = c->snd_max = 1;
    c->mss = (uint16_t)r->cfg.mss;
    c->rto = us(r->cfg.rto_init_us);
    send_syn(r, c);
    c->rtt_on = true;
    c->rtt_so = 1;
    c->rtt_t = now;
    c->rto_at = now + c->rto;
    arm_idle(r, c, now);
    r->st.conns_opened++;
    rem_conn_resched(r, c);
}

/* The options of the peer's SYN (or SYN-ACK). */
static void take_syn_options(const rem *r, rem_conn *c, const rem_seg *s)
{
    uint32_t peer_mss = s->opt_mss ? s->opt_mss : 536; /* RFC 9293: the default send MSS */
    c->mss = (uint16_t)(peer_mss < r->cfg.mss ? peer_mss : r->cfg.mss);
    if (c->mss < 1)
        c->mss = 1;
    c->ws_ok = s->opt_ws != 0xff && r->cfg.wscale != 255;
    c->snd_ws = c->ws_ok ? s->opt_ws : 0;
    c->rcv_ws = c->ws_ok ? (uint8_t)r->cfg.wscale : 0;
}

void rtcp_accept(rem *r, uint32_t ci, const rem_seg *s, simtime_ps now)
{
    rem_conn *c = &r->conns[ci];
    c->active = false;
    c->opened = now;
    c->irs = s->seq;
    c->rcv_nxt = 1;
    c->iss = rem_rand32(&r->rng_isn);
    take_syn_options(r, c, s);
    c->snd_wnd = c->max_sndwnd = s->win; /* a SYN's window is never scaled */
    c->wl1 = s->seq;
    c->state = REM_ST_SYN_RCVD;
    c->snd_una = 0;
    c->snd_nxt = c->snd_max = 1;
    c->rto = us(r->cfg.rto_init_us);
    c->rcv_edge = 1 + min64(r->cfg.rcv_buf, 65535);
    send_syn(r, c);
    c->rtt_on = true;
    c->rtt_so = 1;
    c->rtt_t = now;
    c->rto_at = now + c->rto;
    arm_idle(r, c, now);
    r->st.conns_accepted++;
    rem_conn_resched(r, c);
}

/* ---- receiving ---- */

static bool ooo_reserve(rem_conn *c)
{
    if (c->nooo < c->cooo)
        return true;
    uint32_t cap = c->cooo ? 2 * c->cooo : 4;
    rem_ival *v = realloc(c->ooo, cap * sizeof *v);
    if (!v)
        return false;
    c->ooo = v;
    c->cooo = cap;
    return true;
}

static void check_bytes(rem *r, const rem_conn *c, uint64_t x, uint64_t y, const uint8_t *p)
{
    uint32_t bad = pat_check(c->key_rx, x - 1, p, (uint32_t)(y - x));
    r->st.bytes_corrupt += bad;
    r->st.bytes_verified += (y - x) - bad;
}

/* Payload [seq_ro, seq_ro + len) arrived: new bytes within the window are checked once, the
 * interval is recorded, and rcv_nxt moves over what is now contiguous. */
static void rcv_data(rem *r, rem_conn *c, int64_t seq_ro, const uint8_t *data, uint32_t len,
                     simtime_ps now)
{
    int64_t a0 = seq_ro, b0 = seq_ro + len;
    uint64_t lo = c->rcv_nxt, hi = c->rcv_edge;
    if (c->fin_seen && c->fin_ro < hi)
        hi = c->fin_ro;
    if (a0 < (int64_t)lo) {
        int64_t e = b0 < (int64_t)lo ? b0 : (int64_t)lo;
        if (e > a0)
            r->st.bytes_duplicate += (uint64_t)(e - a0);
    }
    uint64_t a = a0 < (int64_t)lo ? lo : (uint64_t)a0;
    uint64_t b = b0 > (int64_t)hi ? hi : (uint64_t)(b0 > 0 ? b0 : 0);
    if (b <= a)
        return;
    uint64_t x = a;
    uint32_t i = 0;
    for (; i < c->nooo && x < b; i++) {
        const rem_ival *v = &c->ooo[i];
        if (v->b <= x)
            continue;
        if (v->a >= b)
            break;
        if (v->a > x)
            check_bytes(r, c, x, v->a, data + (x - (uint64_t)seq_ro));
        r->st.bytes_duplicate += min64(b, v->b) - max64(x, v->a);
        x = v->b;
    }
    if (x < b)
        check_bytes(r, c, x, b, data + (x - (uint64_t)seq_ro));
    /* insert [a, b), merging what it touches */
    uint32_t first = 0;
    while (first < c->nooo && c->ooo[first].b < a)
        first++;
    uint32_t last = first;
    uint64_t na = a, nb = b;
    while (last < c->nooo && c->ooo[last].a <= b) {
        na = min64(na, c->ooo[last].a);
        nb = max64(nb, c->ooo[last].b);
        last++;
    }
    if (last == first) {
        if (!ooo_reserve(c)) {
            r->oom = true;
            return;
        }
        memmove(c->ooo + first + 1, c->ooo + first, (c->nooo - first) * sizeof *c->ooo);
        c->nooo++;
    } else if (last > first + 1) {
        memmove(c->ooo + first + 1, c->ooo + last, (c->nooo - last) * sizeof *c->ooo);
        c->nooo -= last - first - 1;
    }
    c->ooo[first].a = na;
    c->ooo[first].b = nb;
    if (c->ooo[0].a <= c->rcv_nxt) {
        uint64_t got = c->ooo[0].b - c->rcv_nxt;
        c->rcv_nxt = c->ooo[0].b;
        memmove(c->ooo, c->ooo + 1, (c->nooo - 1) * sizeof *c->ooo);
        c->nooo--;
        c->bytes_rcvd += got;
        r->st.bytes_received += got;
        if (r->cfg.read_mbps)
            c->read_free = max64(c->read_free, now) + got * 8000000 / r->cfg.read_mbps;
    }
}

/* The ACK field of a synchronised connection's segment. False: it acknowledges data never sent
 * (answered with an ACK; the segment is dropped). */
static bool ack_in(rem *r, rem_conn *c, const rem_seg *s, simtime_ps now)
{
    int64_t ack_so = unwrap(c->snd_una, c->iss, s->ack);
    if (ack_so > (int64_t)c->snd_max) {
        r->st.acks_unseen++;
        send_ack(r, c, now);
        return false;
    }
    uint32_t nwnd = (uint32_t)s->win << c->snd_ws;
    bool dup = ack_so == (int64_t)c->snd_una && s->len == 0 && !(s->flags & (F_FIN | F_SYN)) &&
               nwnd == c->snd_wnd && c->snd_max > c->snd_una;
    if ((int32_t)(s->seq - c->wl1) > 0 ||
        (s->seq == c->wl1 && ack_so >= 0 && (uint64_t)ack_so >= c->wl2)) {
        c->snd_wnd = nwnd;
        if (nwnd > c->max_sndwnd)
            c->max_sndwnd = nwnd;
        c->wl1 = s->seq;
        c->wl2 = ack_so >= 0 ? (uint64_t)ack_so : 0;
    }
    if (ack_so > (int64_t)c->snd_una) {
        uint64_t acked = (uint64_t)ack_so - c->snd_una;
        c->snd_una = (uint64_t)ack_so;
        if (c->snd_nxt < c->snd_una)
            c->snd_nxt = c->snd_una;
        c->retries = 0;
        if (c->rtt_on && c->snd_una >= c->rtt_so) {
            rtt_sample(r, c, now - c->rtt_t);
            c->rtt_on = false;
        }
        if (c->in_recovery) {
            if (c->snd_una >= c->recover) {
                c->in_recovery = false;
                c->cwnd = c->ssthresh;
                c->dupacks = 0;
            } else { /* NewReno partial ACK: the next hole, and deflate */
                retransmit_una(r, c, now);
                c->cwnd = c->cwnd > acked ? (uint32_t)(c->cwnd - acked + c->mss) : c->mss;
            }
        } else {
            c->dupacks = 0;
            if (c->cwnd < c->ssthresh)
                c->cwnd += (uint32_t)min64(acked, c->mss);
            else
                c->cwnd += (uint32_t)max64(1, (uint64_t)c->mss * c->mss / c->cwnd);
            if (c->cwnd > CWND_MAX)
                c->cwnd = CWND_MAX;
        }
        c->rto_at = c->snd_una < c->snd_max ? now + c->rto : 0;
        uint64_t fin_end = 1 + c->app_end + 1;
        if (c->fin_queued && c->snd_una == fin_end) { /* our FIN is acknowledged */
            if (c->state == REM_ST_FIN_WAIT_1) {
                c->state = REM_ST_FIN_WAIT_2;
                c->tw_at = now + us(r->cfg.fin_timeout_us);
                slot_release(r, c);
            } else if (c->state == REM_ST_CLOSING) {
                enter_time_wait(r, c, now);
            } else if (c->state == REM_ST_LAST_ACK) {
                end_graceful(r, c, now);
            }
        }
    } else if (dup) {
        c->dupacks++;
        if (c->in_recovery) {
            c->cwnd += c->mss; /* each further duplicate: a segment has left the network */
        } else if (c->dupacks == 3 && c->snd_una > c->recover) {
            uint64_t flight = c->snd_max - c->snd_una;
            c->ssthresh = (uint32_t)max64(flight / 2, 2 * (uint64_t)c->mss);
            c->recover = c->snd_max;
            c->in_recovery = true;
            retransmit_una(r, c, now);
            c->cwnd = c->ssthresh + 3 * c->mss;
        }
    }
    return true;
}

void rtcp_input(rem *r, rem_conn *c, const rem_seg *s, simtime_ps now)
{
    arm_idle(r, c, now);
    if (s->flags & F_ACK)
        c->probes = 0;
    if (c->state == REM_ST_SYN_SENT) {
        if ((s->flags & F_ACK) && s->ack != c->iss + 1) {
            if (!(s->flags & F_RST))
                rem_emit_rst(r, c->lip, c->lport, c->rip, c->rport, s->ack, 0, false);
            return;
        }
        if (s->flags & F_RST) {
            if (s->flags & F_ACK)
                conn_end(r, c, REM_END_RESET, now);
            return;
        }
        if ((s->flags & (F_SYN | F_ACK)) != (F_SYN | F_ACK))
            return; /* a simultaneous open is not supported */
        c->irs = s->seq;
        c->rcv_nxt = 1;
        take_syn_options(r, c, s);
        c->snd_una = 1;
        c->snd_wnd = c->max_sndwnd = s->win;
        c->wl1 = s->seq;
        c->wl2 = 1;
        c->rcv_edge = 1 + min64(r->cfg.rcv_buf, 65535);
        if (c->rtt_on) {
            rtt_sample(r, c, now - c->rtt_t);
            c->rtt_on = false;
        }
        established(r, c);
        send_ack(r, c, now);
        app(r, c, now);
        output(r, c, now);
        rem_conn_resched(r, c);
        return;
    }
    if (c->state == REM_ST_SYN_RCVD) {
        if (s->flags & F_RST) {
            conn_end(r, c, REM_END_RESET, now);
            return;
        }
        if ((s->flags & F_SYN) && !(s->flags & F_ACK)) {
            if (s->seq == c->irs) /* the chip repeats its SYN: our SYN-ACK was lost */
                send_syn(r, c);
            return;
        }
        if (!(s->flags & F_ACK))
            return;
        if (s->ack != c->iss + 1) {
            rem_emit_rst(r, c->lip, c->lport, c->rip, c->rport, s->ack, 0, false);
            return;
        }
        c->snd_una = 1;
        c->wl2 = 1;
        if (c->rtt_on) {
            rtt_sample(r, c, now - c->rtt_t);
            c->rtt_on = false;
        }
        established(r, c);
    }

    /* RFC 9293 3.10.7.4: is the segment acceptable? */
    uint64_t seg_len = s->len + !!(s->flags & F_SYN) + !!(s->flags & F_FIN);
    int64_t seq_ro = unwrap(c->rcv_nxt, c->irs, s->seq);
    int64_t nxt = (int64_t)c->rcv_nxt, edge = (int64_t)max64(c->rcv_edge, c->rcv_nxt);
    bool ok;
    if (seg_len == 0)
        ok = edge == nxt ? seq_ro == nxt : seq_ro >= nxt && seq_ro < edge;
    else
        ok = edge > nxt &&
             ((seq_ro >= nxt && seq_ro < edge) ||
              (seq_ro + (int64_t)seg_len - 1 >= nxt && seq_ro + (int64_t)seg_len - 1 < edge));
    if (!ok) {
        if (!(s->flags & F_RST)) {
            r->st.out_of_window++;
            if (s->len && seq_ro + (int64_t)s->len <= nxt)
                r->st.bytes_duplicate += s->len; /* all of it received before */
            if (c->state == REM_ST_TIME_WAIT && (s->flags & F_FIN))
                c->tw_at = now + us(r->cfg.time_wait_us) + 1;
            send_ack(r, c, now);
        }
        rem_conn_resched(r, c);
        return;
    }
    if (s->flags & F_RST) {
        if (seq_ro == nxt && c->state == REM_ST_TIME_WAIT)
            end_graceful(r, c, now); /* its work was done: TIME_WAIT only cut short */
        else if (seq_ro == nxt)
            conn_end(r, c, REM_END_RESET, now);
        else
            send_ack(r, c, now); /* RFC 5961 challenge ACK */
        rem_conn_resched(r, c);
        return;
    }
    if (s->flags & F_SYN) {
        send_ack(r, c, now); /* RFC 5961 challenge ACK */
        rem_conn_resched(r, c);
        return;
    }
    if (!(s->flags & F_ACK))
        return;
    if (!ack_in(r, c, s, now) || c->state == REM_ST_CLOSED) {
        rem_conn_resched(r, c);
        return;
    }
    if (c->state == REM_ST_TIME_WAIT) {
        if (s->flags & F_FIN)
            send_ack(r, c, now);
        rem_conn_resched(r, c);
        return;
    }
    if (s->len) {
        if (can_receive(c))
            rcv_data(r, c, seq_ro, s->payload, s->len, now);
        c->ack_pending = true;
    }
    if ((s->flags & F_FIN) && !c->fin_seen) {
        c->fin_seen = true;
        c->fin_ro = (uint64_t)(seq_ro + s->len);
    }
    if (s->flags & F_FIN)
        c->ack_pending = true;
    if (c->fin_seen && !c->fin_rcvd && c->rcv_nxt == c->fin_ro) {
        c->fin_rcvd = true;
        c->rcv_nxt++;
        if (c->state == REM_ST_ESTABLISHED)
            c->state = REM_ST_CLOSE_WAIT;
        else if (c->state == REM_ST_FIN_WAIT_1)
            c->state = REM_ST_CLOSING;
        else if (c->state == REM_ST_FIN_WAIT_2)
            enter_time_wait(r, c, now);
    }
    app(r, c, now);
    output(r, c, now);
    if (c->ack_pending)
        send_ack(r, c, now);
    rem_conn_resched(r, c);
}

/* ---- timers ---- */

static void on_rto(rem *r, rem_conn *c, simtime_ps now)
{
    r->st.rto_expirations++;
    if (++c->retries > r->cfg.max_retries) {
        conn_fail(r, c, now);
        return;
    }
    uint64_t flight = c->snd_max - c->snd_una;
    c->ssthresh = (uint32_t)max64(flight / 2, 2 * (uint64_t)c->mss);
    c->cwnd = c->mss;
    c->in_recovery = false;
    c->dupacks = 0;
    c->recover = c->snd_max;
    c->rtt_on = false;
    c->rto = min64(2 * c->rto, us(r->cfg.rto_max_us));
    if (c->state == REM_ST_SYN_SENT || c->state == REM_ST_SYN_RCVD) {
        send_syn(r, c);
        r->st.segs_retrans_rto++;
        c->retrans++;
        c->rto_at = now + c->rto;
        return;
    }
    c->snd_nxt = c->snd_una; /* go back: resend from the oldest unacknowledged byte */
    output(r, c, now);
    if (c->snd_nxt == c->snd_una)
        c->rto_at = 0; /* nothing could go (a zero window): the persist timer takes over */
}

static void on_persist(rem *r, rem_conn *c, simtime_ps now)
{
    uint64_t data_end = 1 + c->app_end;
    if (c->snd_wnd > 0 || c->snd_nxt != c->snd_una || c->snd_nxt >= data_end) {
        output_ex(r, c, now, true); /* a small window waited long enough: use it */
        return;
    }
    if (++c->probes > r->cfg.max_retries) {
        conn_fail(r, c, now);
        return;
    }
    /* the probe: a segment just below the window (seq snd_una - 1, no data), which the receiver
       must answer with an ACK carrying its current window */
    r->st.zero_window_probes++;
    send_seg(r, c, now, c->snd_una - 1, 0, 0);
    if (c->persist_backoff < 30)
        c->persist_backoff++;
    c->persist_at = now + min64(c->rto << c->persist_backoff, us(r->cfg.rto_max_us));
}

void rtcp_timers(rem *r, rem_conn *c, simtime_ps now)
{
    if (c->rto_at && c->rto_at <= now) {
        c->rto_at = 0;
        on_rto(r, c, now);
    }
    if (c->state == REM_ST_CLOSED)
        return;
    if (c->persist_at && c->persist_at <= now) {
        c->persist_at = 0;
        on_persist(r, c, now);
    }
    if (c->state == REM_ST_CLOSED)
        return;
    if (c->tw_at && c->tw_at <= now) {
        c->tw_at = 0;
        if (c->state == REM_ST_TIME_WAIT || c->state == REM_ST_FIN_WAIT_2) {
            end_graceful(r, c, now);
            return;
        }
    }
    if (c->idle_at && c->idle_at <= now) {
        c->idle_at = 0;
        conn_fail(r, c, now);
        return;
    }
    if (c->wupd_at && c->wupd_at <= now) {
        c->wupd_at = 0;
        if (can_receive(c)) {
            if (wupd_due(r, c, now)) {
                r->st.window_updates++;
                send_ack(r, c, now);
            } else {
                arm_wupd(r, c, c->rcv_edge - c->rcv_nxt, now);
            }
        }
    }
}

simtime_ps rtcp_deadline(const rem_conn *c)
{
    if (c->state == REM_ST_CLOSED)
        return REM_NEVER;
    simtime_ps d = REM_NEVER;
    const simtime_ps t[] = {c->rto_at, c->persist_at, c->tw_at, c->idle_at, c->wupd_at};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i] && t[i] < d)
            d = t[i];
    return d;
}

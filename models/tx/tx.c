/* tx: the transmit side of the network port. See tx.h for the contract.
 *
 * One ring of cfg.depth entries holds every frame from its emit until the caller pops it: the
 * front `departed` entries are the out-queue, the rest are being built or wait for the port.
 * The port is FIFO in call order, so each frame's departure cycle is known when it is emitted
 * (the build needs no shared resource, only the port is shared) and departures come in ring
 * order; tx_advance only moves the boundary.
 *
 * Decisions the contract left open:
 * - tx_set_template restarts the flow's IPv4 identification at 0 (a flow ID is reused by a new
 *   connection through a new template); a refused emit does not use an identification.
 * - tx_set_template checks the offsets against the link type (Ethernet: 14, 18 or 22, and the
 *   EtherType before l3 must match the IP version; SLL 16, SLL2 20, raw 0, BSD null 4), that the
 *   IPv4 header is 20 bytes or more and l4_off is past it, that an IPv6 header chain from l3 to
 *   l4_off ends in TCP or UDP, and that the 20-byte TCP header (8-byte UDP header) is within
 *   len. A RoCE template needs only the UDP header: the BTH is the IPU's to check.
 * - An emit of the other kind than the flow's template (tx_emit on a RoCE template, tx_emit_roce
 *   on a TCP one) is a firmware mistake the unit cannot build from; it counts as
 *   drops_no_template, the counter of "nothing to build this from", rather than a new one.
 * - Out-of-range flows (FLOW_NONE included) have no template: tx_set_template returns -1,
 *   tx_emit and tx_emit_roce refuse (drops_no_template), tx_clear_template does nothing.
 * - frames, bytes (frame bytes, no FCS, preamble or gap) and busy_cycles count at departure. */
#include "tx.h"

#include "icrc.h"
#include "inet_csum.h"
#include "ring.h"

#include <stdlib.h>
#include <string.h>

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define TX_ROCE_UDP_LEN 28u /* UDP 8 + BTH 12 + AETH 4 + ICRC 4 */
#define TX_L2_MAX 22        /* Ethernet header with two VLAN tags */
#define TX_OPT_MAX 40       /* TCP option space */
#define TX_WIRE_EXTRA 24u   /* FCS 4, preamble + start delimiter 8, inter-frame gap 12 */

static const param_def defs[] = {
    {"clock_mhz", PARAM_U32, offsetof(tx_cfg, clock_mhz), 1000, 1, 100000, "MHz",
     "clock of the transmit unit (its cycle counts are in this clock)", NULL},
    {"build_cycles", PARAM_U32, offsetof(tx_cfg, build_cycles), 20, 0, 100000, "cycles",
     "time to build a segment's headers from the flow's template", NULL},
    {"link_mbps", PARAM_U32, offsetof(tx_cfg, link_mbps), 100000, 1, 10000000, "Mb/s",
     "line rate of the transmit port", NULL},
    {"depth", PARAM_U32, offsetof(tx_cfg, depth), 256, 1, 65536, "frames",
     "frames the transmit queue holds from emit until the caller takes them", NULL},
};
const param_table tx_params = {"tx", defs, sizeof defs / sizeof defs[0]};

#define S(name, desc)                                                                              \
    {                                                                                              \
#name, desc, offsetof(tx_stats, name)                                                      \
    }
const stat_def tx_stat_defs[] = {
    S(templates, "flow templates built from received frames"),
    S(frames, "frames sent"),
    S(bytes, "bytes of the frames sent (no FCS, preamble or gap)"),
    S(drops_queue_full, "frames (TCP segments, RoCE packets) refused: the transmit queue was full"),
    S(drops_no_template, "frames refused: their flow had no template of their kind"),
    S(busy_cycles, "cycles the port spent serialising frames"),
};
#undef S
const size_t tx_stat_count = sizeof tx_stat_defs / sizeof tx_stat_defs[0];

#define D(name, desc)                                                                              \
    {                                                                                              \
#name, desc, offsetof(tx_data_stats, name)                                                 \
    }
const stat_def tx_data_stat_defs[] = {
    D(data_frames, "TCP segments sent with payload (tx_emit_data)"),
    D(payload_bytes, "TCP payload bytes of the segments sent (retransmissions included)"),
    D(drops_too_long, "segments refused: headers and payload beyond the IP length field"),
    D(key_templates, "flow templates built from a flow key (active opens)"),
    D(acks_stamped, "pure ACKs sent with the flow's highest sequence number sent"),
};
#undef D
const size_t tx_data_stat_count = sizeof tx_data_stat_defs / sizeof tx_data_stat_defs[0];

typedef struct tx_tmpl {
    bool valid;
    uint8_t af;     /* 4 or 6 */
    uint8_t proto;  /* IPPROTO_TCP_, or IPPROTO_UDP_ for RoCEv2 */
    uint8_t l2_len; /* 14, 18 or 22 */
    uint8_t l2[TX_L2_MAX];
    uint8_t src[16];  /* the chip's address (IPv4: first 4 bytes) */
    uint8_t dst[16];  /* the peer's */
    uint16_t sport;   /* TCP: the chip's port; RoCE: the requester's source port */
    uint16_t dport;   /* TCP: the peer's port; RoCE: 4791 */
    uint16_t ip_id;   /* the next IPv4 identification */
    bool sent;        /* TCP: a segment went since the template was set ... */
    uint32_t snd_max; /* ... and the highest sequence number it reached (SND.NXT) */
    bool acked;       /* TCP: a segment with ACK went since the template was set ... */
    uint16_t ack_win; /* ... and the last one's window (as sent) */
    uint32_t ack;     /* ... and ACK number */
} tx_tmpl;

/* A queue slot. o.frame points at small, or at big for a frame longer than TX_MAX_FRAME; big
 * is kept with the slot (grown as needed, freed by tx_free), so a slot allocates only when it
 * first carries a frame longer than any before. */
typedef struct tx_ent {
    tx_out o;
    cycle_t ser;      /* serialisation cycles */
    uint32_t payload; /* TCP payload bytes (tx_emit_data) */
    uint32_t big_cap; /* bytes at big */
    uint8_t *big;     /* NULL until needed */
    uint8_t small[TX_MAX_FRAME];
} tx_ent;

struct tx {
    tx_cfg cfg;
    uint32_t flows;
    tx_tmpl *tmpl; /* flows */
    ring q;        /* tx_ent, in emit (= departure) order */
    uint32_t departed;
    cycle_t port_free; /* when the port has sent the last queued frame */
    tx_stats st;
    tx_data_stats dst;
};

static inline uint16_t rd16(const uint8_t *b) { return (uint16_t)(b[0] << 8 | b[1]); }
static inline void wr16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}
static inline void wr32(uint8_t *b, uint32_t v)
{
    wr16(b, (uint16_t)(v >> 16));
    wr16(b + 2, (uint16_t)v);
}

/* The checksum field of a sum (inet_csum.h). */
static uint16_t csum_fin(uint32_t s) { return (uint16_t)~inet_csum_fold(s); }

void tx_cfg_default(tx_cfg *c) { param_defaults(&tx_params, c); }

tx *tx_new(const tx_cfg *cfg, uint32_t flows, sim_err *err)
{
    if (param_validate(&tx_params, cfg, err))
        return NULL;
    tx *t = calloc(1, sizeof *t);
    if (!t) {
        sim_err_set(err, "tx: out of memory");
        return NULL;
    }
    t->cfg = *cfg;
    t->flows = flows;
    t->tmpl = calloc(flows ? flows : 1, sizeof *t->tmpl);
    if (!t->tmpl) {
        sim_err_set(err, "tx: out of memory for %u flow templates", flows);
        tx_free(t);
        return NULL;
    }
    if (ring_init(&t->q, sizeof(tx_ent), cfg->depth, err)) {
        tx_free(t);
        return NULL;
    }
    return t;
}

void tx_free(tx *t)
{
    if (!t)
        return;
    if (t->q.buf) /* every slot, in use or not: each may keep a large-frame buffer */
        for (uint32_t i = 0; i < t->q.cap; i++)
            free(((tx_ent *)(t->q.buf + (size_t)i * t->q.elem))->big);
    ring_fini(&t->q);
    free(t->tmpl);
    free(t);
}

/* The offset where link's network header starts (Ethernet: without tags), or -1. */
static int link_l3(unsigned link)
{
    switch (link) {
    case LINK_ETHERNET:
        return 14;
    case LINK_SLL:
        return 16;
    case LINK_SLL2:
        return 20;
    case LINK_RAW:
        return 0;
    case LINK_NULL:
        return 4;
    default:
        return -1;
    }
}

/* The upper-layer protocol the IPv6 header chain at ip (l3 to l4 bytes of the frame, all
 * present) reaches exactly at l4 through hop-by-hop, routing and destination options headers,
 * or -1. */
static int ipv6_chain_proto(const uint8_t *ip, uint32_t l4)
{
    uint8_t nh = ip[6];
    uint32_t off = 40;
    while (off < l4) {
        if (nh != 0 && nh != 43 && nh != 60)
            return -1;
        if (l4 - off < 8)
            return -1;
        uint32_t hl = (ip[off + 1] + 1u) * 8u;
        nh = ip[off];
        off += hl;
    }
    return off == l4 ? nh : -1;
}

int tx_set_template(tx *t, uint32_t flow, const uint8_t *frame, uint32_t len, unsigned link,
                    uint32_t l3_off, uint32_t l4_off)
{
    if (flow >= t->flows || !frame)
        return -1;
    int base = link_l3(link);
    if (base < 0)
        return -1;
    if (link == LINK_ETHERNET) {
        if (l3_off != 14 && l3_off != 18 && l3_off != 22)
            return -1;
    } else if (l3_off != (uint32_t)base) {
        return -1;
    }
    if (l3_off >= len || l4_off < l3_off || l4_off > len)
        return -1;
    const uint8_t *ip = frame + l3_off;
    uint32_t l4 = l4_off - l3_off; /* from ip */
    unsigned af = ip[0] >> 4;
    int proto;
    if (af == 4) {
        if (l4 < 20 || (ip[0] & 15u) * 4u < 20)
            return -1;
        proto = ip[9];
    } else if (af == 6) {
        if (l4 < 40)
            return -1;
        proto = ipv6_chain_proto(ip, l4);
    } else {
        return -1;
    }
    const uint8_t *th = frame + l4_off;
    if (proto == IPPROTO_TCP_) {
        if (len - l4_off < 20)
            return -1;
    } else if (proto == IPPROTO_UDP_) {
        if (len - l4_off < 8 || rd16(th + 2) != ROCE_UDP_PORT)
            return -1;
    } else {
        return -1;
    }
    uint16_t et = af == 4 ? ETH_P_IPV4 : ETH_P_IPV6;
    if (link == LINK_ETHERNET && rd16(frame + l3_off - 2) != et)
        return -1;

    tx_tmpl *tp = &t->tmpl[flow];
    memset(tp, 0, sizeof *tp);
    if (link == LINK_ETHERNET) { /* addresses swapped, tags and EtherType as they were */
        memcpy(tp->l2, frame + 6, 6);
        memcpy(tp->l2 + 6, frame, 6);
        memcpy(tp->l2 + 12, frame + 12, l3_off - 12);
        tp->l2_len = (uint8_t)l3_off;
    } else {
        static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
        memcpy(tp->l2, macs, sizeof macs);
        wr16(tp->l2 + 12, et);
        tp->l2_len = 14;
    }
    tp->af = (uint8_t)af;
    tp->proto = (uint8_t)proto;
    if (af == 4) {
        memcpy(tp->src, ip + 16, 4);
        memcpy(tp->dst, ip + 12, 4);
    } else {
        memcpy(tp->src, ip + 24, 16);
        memcpy(tp->dst, ip + 8, 16);
    }
    if (proto == IPPROTO_TCP_) {
        tp->sport = rd16(th + 2);
        tp->dport = rd16(th);
    } else { /* RoCEv2: keep the requester's entropy port (tx.h) */
        tp->sport = rd16(th);
        tp->dport = ROCE_UDP_PORT;
    }
    tp->valid = true;
    t->st.templates++;
    return 0;
}

void tx_clear_template(tx *t, uint32_t flow)
{
    if (flow < t->flows)
        t->tmpl[flow].valid = false;
}

/* Writes s's TCP options to o; returns their length (a multiple of 4, at most 40). SACK blocks
 * that would not fit are left out, last first. */
static uint32_t put_options(const tx_seg *s, uint8_t *o)
{
    uint32_t n = 0;
    if (s->mss) {
        o[n++] = 2;
        o[n++] = 4;
        wr16(o + n, s->mss);
        n += 2;
    }
    if (s->wscale != WSCALE_NONE) {
        o[n++] = 1;
        o[n++] = 3;
        o[n++] = 3;
        o[n++] = s->wscale;
    }
    if (s->sack_ok) {
        o[n++] = 1;
        o[n++] = 1;
        o[n++] = 4;
        o[n++] = 2;
    }
    uint32_t nb = s->nsack > EV_MAX_SACK ? EV_MAX_SACK : s->nsack;
    uint32_t fit = TX_OPT_MAX - n >= 12 ? (TX_OPT_MAX - n - 4) / 8 : 0;
    if (nb > fit)
        nb = fit;
    if (nb) {
        o[n++] = 1;
        o[n++] = 1;
        o[n++] = 5;
        o[n++] = (uint8_t)(2 + 8 * nb);
        for (uint32_t k = 0; k < nb; k++) {
            wr32(o + n, s->sack[k][0]);
            wr32(o + n + 4, s->sack[k][1]);
            n += 8;
        }
    }
    return n;
}

/* Writes tp's Ethernet and IP headers to f for l4len bytes of protocol proto after them;
 * returns where the transport header goes. *ps: the transport pseudo-header's sum (addresses,
 * protocol, length), not folded. Uses one IPv4 identification. */
static uint8_t *put_l2_ip(tx_tmpl *tp, uint8_t proto, uint32_t l4len, uint8_t *f, uint32_t *ps)
{
    memcpy(f, tp->l2, tp->l2_len);
    uint8_t *ip = f + tp->l2_len;
    if (tp->af == 4) {
        ip[0] = 0x45;
        ip[1] = 0;
        wr16(ip + 2, (uint16_t)(20 + l4len));
        wr16(ip + 4, tp->ip_id++);
        wr16(ip + 6, 0x4000); /* DF */
        ip[8] = 64;
        ip[9] = proto;
        wr16(ip + 10, 0);
        memcpy(ip + 12, tp->src, 4);
        memcpy(ip + 16, tp->dst, 4);
        wr16(ip + 10, csum_fin(inet_csum_add(0, ip, 20)));
        *ps = inet_csum_add(0, ip + 12, 8) + proto + l4len;
        return ip + 20;
    }
    wr32(ip, 0x60000000u);
    wr16(ip + 4, (uint16_t)l4len);
    ip[6] = proto;
    ip[7] = 64;
    memcpy(ip + 8, tp->src, 16);
    memcpy(ip + 24, tp->dst, 16);
    *ps = inet_csum_add(0, ip + 8, 32) + proto + l4len;
    return ip + 40;
}

/* The length of s's TCP header (20 + options). */
static uint32_t tcp_hdr_len(const tx_seg *s)
{
    uint8_t opt[TX_OPT_MAX];
    return 20 + put_options(s, opt);
}

/* Builds the TCP segment s with len bytes of payload from tp into f; returns its length. */
static uint32_t build(tx_tmpl *tp, const tx_seg *s, const uint8_t *payload, uint32_t len,
                      uint8_t *f)
{
    uint8_t opt[TX_OPT_MAX];
    uint32_t optlen = put_options(s, opt);
    uint32_t tcplen = 20 + optlen;
    uint32_t ps;
    uint8_t *tcp = put_l2_ip(tp, IPPROTO_TCP_, tcplen + len, f, &ps);

    wr16(tcp, tp->sport);
    wr16(tcp + 2, tp->dport);
    wr32(tcp + 4, s->seq);
    wr32(tcp + 8, s->ack);
    tcp[12] = (uint8_t)((tcplen / 4) << 4);
    tcp[13] = s->flags;
    wr16(tcp + 14, s->win);
    wr16(tcp + 16, 0);
    wr16(tcp + 18, 0); /* urgent pointer */
    memcpy(tcp + 20, opt, optlen);
    if (len)
        memcpy(tcp + tcplen, payload, len);
    wr16(tcp + 16, csum_fin(inet_csum_add(ps, tcp, tcplen + len)));
    return (uint32_t)(tcp + tcplen + len - f);
}

/* Builds the RoCEv2 packet r from tp into f; returns its length. The ICRC goes in before the
 * UDP checksum, which covers it (the ICRC reads the checksum field as all ones). */
static uint32_t build_roce(tx_tmpl *tp, const tx_roce *r, uint8_t *f)
{
    uint32_t ps;
    uint8_t *u = put_l2_ip(tp, IPPROTO_UDP_, TX_ROCE_UDP_LEN, f, &ps);
    wr16(u, tp->sport);
    wr16(u + 2, tp->dport);
    wr16(u + 4, (uint16_t)TX_ROCE_UDP_LEN);
    wr16(u + 6, 0);
    uint8_t *b = u + 8; /* BTH */
    b[0] = r->opcode;
    b[1] = 0x40; /* SE 0, M 1, pad 0, TVer 0 */
    wr16(b + 2, 0xffff);
    wr32(b + 4, r->dest_qp & 0xffffffu); /* reserved byte 0 */
    wr32(b + 8, r->psn & 0xffffffu);     /* AckReq 0, reserved 0 */
    uint8_t *a = b + 12;                 /* AETH */
    wr32(a, (uint32_t)r->syndrome << 24 | (r->msn & 0xffffffu));

    uint8_t *ip = f + tp->l2_len;
    uint32_t udp_off = (uint32_t)(u - ip);
    uint32_t end = udp_off + TX_ROCE_UDP_LEN - 4;
    uint32_t c = icrc_compute(ip, tp->af, udp_off, end);
    for (unsigned i = 0; i < 4; i++)
        ip[end + i] = (uint8_t)(c >> (8 * i));
    if (tp->af == 6) { /* RFC 8200 §8.1: mandatory over IPv6; a computed 0 goes as 0xffff */
        uint16_t sum = csum_fin(inet_csum_add(ps, u, TX_ROCE_UDP_LEN));
        wr16(u + 6, sum ? sum : 0xffff);
    }
    return (uint32_t)(u + TX_ROCE_UDP_LEN - f);
}

/* A queue entry for a frame of flow of kind proto, or NULL when refused (counted). */
static tx_ent *claim(tx *t, uint32_t flow, uint8_t proto)
{
    if (flow >= t->flows || !t->tmpl[flow].valid || t->tmpl[flow].proto != proto) {
        t->st.drops_no_template++;
        return NULL;
    }
    if (ring_full(&t->q)) {
        t->st.drops_queue_full++;
        return NULL;
    }
    tx_ent *e = ring_push_slot(&t->q);
    e->o.flow = flow;
    e->o.frame = e->small;
    e->payload = 0;
    return e;
}

/* Times e (its frame built) on the port: build, then serialisation after the previous frame. */
static void schedule(tx *t, tx_ent *e, cycle_t at)
{
    uint64_t bits = (uint64_t)(e->o.len + TX_WIRE_EXTRA) * 8u * t->cfg.clock_mhz;
    e->ser = (bits + t->cfg.link_mbps - 1) / t->cfg.link_mbps;
    cycle_t built = at + t->cfg.build_cycles;
    cycle_t start = built > t->port_free ? built : t->port_free;
    e->o.depart = start + e->ser;
    t->port_free = e->o.depart;
}

/* The flow's SND.NXT as the port sees it (the highest sequence number its segments reached,
 * SYN and FIN counted), and a pure ACK (no payload, no SYN, FIN or RST) that would go with an
 * older sequence number stamped with it instead: the receive-side core that acknowledges does
 * not own the send side's state (claim 11), and a receiver drops a segment whose sequence
 * number is below its RCV.NXT (RFC 9293 3.10.7.4) — ACK field included. pre: the segment is
 * queued. Returns the segment as it goes. Also records the last
 * ACK number and window sent (segments with ACK, RST aside) for tx_ack_sent. */
static tx_seg stamp(tx *t, uint32_t flow, const tx_seg *s, uint32_t len)
{
    tx_seg c = *s;
    tx_tmpl *tp = &t->tmpl[flow];
    if (c.flags & TCPF_RST)
        return c;
    bool pure = len == 0 && !(c.flags & (TCPF_SYN | TCPF_FIN));
    if (pure && tp->sent && (int32_t)(c.seq - tp->snd_max) < 0) {
        c.seq = tp->snd_max;
        t->dst.acks_stamped++;
    }
    uint32_t end = c.seq + len + ((c.flags & TCPF_SYN) != 0) + ((c.flags & TCPF_FIN) != 0);
    if (!tp->sent || (int32_t)(end - tp->snd_max) > 0) {
        tp->snd_max = end;
        tp->sent = true;
    }
    if (c.flags & TCPF_ACK) { /* the peer's view of our ACK and window: the last one queued */
        tp->acked = true;
        tp->ack = c.ack;
        tp->ack_win = c.win;
    }
    return c;
}

bool tx_last_ack(const tx *t, uint32_t flow, uint32_t *ack, uint16_t *win)
{
    if (flow >= t->flows || !t->tmpl[flow].valid || t->tmpl[flow].proto != IPPROTO_TCP_ ||
        !t->tmpl[flow].acked)
        return false;
    *ack = t->tmpl[flow].ack;
    *win = t->tmpl[flow].ack_win;
    return true;
}

bool tx_ack_sent(const tx *t, uint32_t flow, uint32_t ack, uint32_t win)
{
    uint32_t last;
    uint16_t last_win;
    return tx_last_ack(t, flow, &last, &last_win) && (int32_t)(last - ack) >= 0 && last_win == win;
}

int tx_emit(tx *t, uint32_t flow, const tx_seg *s, cycle_t at)
{
    tx_ent *e = claim(t, flow, IPPROTO_TCP_);
    if (!e)
        return 0;
    tx_seg c = stamp(t, flow, s, 0);
    e->o.len = build(&t->tmpl[flow], &c, NULL, 0, e->small);
    schedule(t, e, at);
    return 1;
}

int tx_emit_data(tx *t, uint32_t flow, const tx_seg *s, const uint8_t *payload, uint32_t len,
                 cycle_t at)
{
    if (flow < t->flows && t->tmpl[flow].valid && t->tmpl[flow].proto == IPPROTO_TCP_) {
        const tx_tmpl *tp = &t->tmpl[flow];
        uint64_t ip_len = (uint64_t)tcp_hdr_len(s) + len + (tp->af == 4 ? 20 : 0);
        if (ip_len > 65535) { /* IPv4 total length / IPv6 payload length */
            t->dst.drops_too_long++;
            return 0;
        }
    }
    tx_ent *e = claim(t, flow, IPPROTO_TCP_);
    if (!e)
        return 0;
    uint8_t *f = e->small;
    uint32_t need = TX_L2_MAX + 40 + 20 + TX_OPT_MAX + len;
    if (need > TX_MAX_FRAME) {
        if (e->big_cap < need) {
            uint8_t *b = realloc(e->big, need);
            if (!b) { /* the host is out of memory: as a full queue; the push undone */
                t->q.count--;
                t->st.drops_queue_full++;
                return 0;
            }
            e->big = b;
            e->big_cap = need;
        }
        f = e->big;
    }
    e->o.frame = f;
    tx_seg c = stamp(t, flow, s, len);
    e->o.len = build(&t->tmpl[flow], &c, payload, len, f);
    e->payload = len;
    schedule(t, e, at);
    return 1;
}

int tx_set_template_key(tx *t, uint32_t flow, const flow_key *k, const uint8_t chip_mac[6],
                        const uint8_t peer_mac[6])
{
    static const uint8_t chip_def[6] = {2, 0, 0, 0, 0, 1}, peer_def[6] = {2, 0, 0, 0, 0, 2};
    if (flow >= t->flows || !k || (k->af != 4 && k->af != 6) || k->proto != IPPROTO_TCP_)
        return -1;
    tx_tmpl *tp = &t->tmpl[flow];
    memset(tp, 0, sizeof *tp);
    memcpy(tp->l2, peer_mac ? peer_mac : peer_def, 6);
    memcpy(tp->l2 + 6, chip_mac ? chip_mac : chip_def, 6);
    wr16(tp->l2 + 12, k->af == 4 ? ETH_P_IPV4 : ETH_P_IPV6);
    tp->l2_len = 14;
    tp->af = k->af;
    tp->proto = IPPROTO_TCP_;
    size_t alen = k->af == 4 ? 4 : 16;
    memcpy(tp->src, k->dst, alen); /* the key as received: dst is the chip */
    memcpy(tp->dst, k->src, alen);
    tp->sport = k->dport;
    tp->dport = k->sport;
    tp->valid = true;
    t->dst.key_templates++;
    return 0;
}

int tx_emit_roce(tx *t, uint32_t flow, const tx_roce *r, cycle_t at)
{
    tx_ent *e = claim(t, flow, IPPROTO_UDP_);
    if (!e)
        return 0;
    e->o.len = build_roce(&t->tmpl[flow], r, e->small);
    schedule(t, e, at);
    return 1;
}

cycle_t tx_next_cycle(const tx *t)
{
    if (t->departed == ring_count(&t->q))
        return CYCLE_NEVER;
    return ((const tx_ent *)ring_at(&t->q, t->departed))->o.depart;
}

unsigned tx_advance(tx *t, cycle_t now)
{
    unsigned work = 0;
    while (t->departed < ring_count(&t->q)) {
        const tx_ent *e = ring_at(&t->q, t->departed);
        if (e->o.depart > now)
            break;
        t->departed++;
        t->st.frames++;
        t->st.bytes += e->o.len;
        t->st.busy_cycles += e->ser;
        if (e->payload) {
            t->dst.data_frames++;
            t->dst.payload_bytes += e->payload;
        }
        work++;
    }
    return work;
}

bool tx_peek_out(const tx *t, const tx_out **o)
{
    if (!t->departed)
        return false;
    *o = &((const tx_ent *)ring_front(&t->q))->o;
    return true;
}

void tx_pop_out(tx *t)
{
    ring_pop(&t->q);
    t->departed--;
}

bool tx_idle(const tx *t) { return ring_empty(&t->q); }

const tx_stats *tx_get_stats(const tx *t) { return &t->st; }

const tx_data_stats *tx_get_data_stats(const tx *t) { return &t->dst; }

void tx_reset_stats(tx *t)
{
    memset(&t->st, 0, sizeof t->st);
    memset(&t->dst, 0, sizeof t->dst);
}

uint32_t tx_queued(const tx *t) { return ring_count(&t->q); }

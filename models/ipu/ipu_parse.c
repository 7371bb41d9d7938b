/* ipu_parse: the IPU's header parser and checksum unit (claims 1, 18). A pure function of the
 * frame's bytes: no timing, no allocation, no state. Every read is bounds-checked against
 * caplen before it is made; the only loop over the bytes is the checksum.
 *
 * Decisions the contract left open (see ipu.h):
 * - LINK_NULL with an address family that is neither IPv4 nor IPv6 (in either byte order) is
 *   processed as one EV_OTHER event; its check is IPU_CK_NULL_FAMILY (not IPU_CK_OK), so that
 *   such frames stay countable.
 * - An empty LINK_RAW frame, or a link type outside link_type, is malformed (IPU_CK_L2_SHORT).
 * - VLAN: the outer tag may be 0x8100 or 0x88a8, the inner one only 0x8100. After one tag,
 *   0x88a8 is not taken as a tag but as an unknown EtherType (EV_OTHER). After two tags, either
 *   TPID is a third tag: malformed (IPU_CK_VLAN_DEPTH).
 * - The window-scale shift is clamped to 14 (RFC 7323 §2.3), which also keeps it clear of
 *   WSCALE_NONE.
 * - An IPv6 header chain whose transport header would start past byte 65535 of the frame (only
 *   possible with jumbograms) is malformed (IPU_CK_IPV6_EXT): event offsets are 16 bits.
 * - For EV_OTHER events, l4_off and pay_off point where parsing stopped (the L3 payload for
 *   non-IP frames, the transport header for other IP protocols) and pay_len counts the bytes
 *   from there to the end of the IP payload (non-IP: to the end of the captured frame).
 * - On a drop, ev holds the fields parsed before the check that failed.
 * - RoCEv2: the BTH and the ICRC are checked first (short, version, ICRC), then the opcode's
 *   extension headers and the pad count: a corrupted frame is bad_icrc, not malformed. The
 *   BTH's P_Key, the PSN's and QP's reserved bits and a payload's length against the path MTU
 *   are not checked (the responder's microcode knows its QP's MTU). An AETH syndrome of the
 *   reserved kind is malformed. */
#include "ipu.h"

#include "icrc.h"

#include <stddef.h>
#include <string.h>

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_DSTOPTS_ 60

#define IP6_OPT_JUMBO 0xc2

static const char *const check_names[IPU_CK_COUNT] = {
    [IPU_CK_OK] = "ok",
    [IPU_CK_CAPLEN] = "caplen",
    [IPU_CK_L2_SHORT] = "l2_short",
    [IPU_CK_VLAN_SHORT] = "vlan_short",
    [IPU_CK_VLAN_DEPTH] = "vlan_depth",
    [IPU_CK_NULL_FAMILY] = "null_family",
    [IPU_CK_IPV4_SHORT] = "ipv4_short",
    [IPU_CK_IPV4_VERSION] = "ipv4_version",
    [IPU_CK_IPV4_IHL] = "ipv4_ihl",
    [IPU_CK_IPV4_TOTLEN] = "ipv4_totlen",
    [IPU_CK_IPV4_CSUM] = "ipv4_csum",
    [IPU_CK_IPV4_FRAG] = "ipv4_frag",
    [IPU_CK_IPV6_SHORT] = "ipv6_short",
    [IPU_CK_IPV6_VERSION] = "ipv6_version",
    [IPU_CK_IPV6_PLEN] = "ipv6_plen",
    [IPU_CK_IPV6_EXT] = "ipv6_ext",
    [IPU_CK_IPV6_FRAG] = "ipv6_frag",
    [IPU_CK_TCP_SHORT] = "tcp_short",
    [IPU_CK_TCP_DOFF] = "tcp_doff",
    [IPU_CK_TCP_OPT] = "tcp_opt",
    [IPU_CK_TCP_CSUM] = "tcp_csum",
    [IPU_CK_UDP_SHORT] = "udp_short",
    [IPU_CK_UDP_LEN] = "udp_len",
    [IPU_CK_UDP_CSUM] = "udp_csum",
    [IPU_CK_ROCE_SHORT] = "roce_short",
    [IPU_CK_ROCE_VERSION] = "roce_version",
    [IPU_CK_ROCE_PAD] = "roce_pad",
    [IPU_CK_ROCE_AETH] = "roce_aeth",
    [IPU_CK_ROCE_ICRC] = "roce_icrc",
    [IPU_CK_OVERSIZE] = "oversize",
};

/* A check added to ipu_check without a name here reads as "?" (and fails the name test). */
const char *ipu_check_name(unsigned c)
{
    return c < IPU_CK_COUNT && check_names[c] ? check_names[c] : "?";
}

static inline uint16_t rd16(const uint8_t *b) { return (uint16_t)(b[0] << 8 | b[1]); }
static inline uint32_t rd32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* ---- checksum ------------------------------------------------------------------------------ */

/* One's-complement addition is independent of byte order (RFC 1071 §2(B)): the bytes are summed
 * as native 64-bit words, each carry out of the 64 bits counted apart (the compiler makes it an
 * add and an add-with-carry per word), and the exact sum is folded with end-around carries to 16
 * bits and swapped to network order on a little-endian host. Only the last chunk of a chained sum
 * may have an odd length. */
static inline uint64_t ld64(const uint8_t *b)
{
    uint64_t w;
    memcpy(&w, b, sizeof w);
    return w;
}

/* A 16-bit word of network byte order as this host's sum sees it (csum_from). */
static inline uint32_t net16_native(uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return ((v & 0xffu) << 8) | ((v >> 8) & 0xffu);
#else
    return v & 0xffffu;
#endif
}

/* Inline in the parser, where the IPv4 header's sum has a constant or near-constant length the
 * compiler specialises; ipu_csum_add is the same for other callers. start is a sum already in
 * this host's word order (below 2^63), to which the bytes are added before the one fold. */
static inline __attribute__((always_inline)) uint32_t csum_from(uint32_t sum, uint64_t start,
                                                                const uint8_t *b, size_t n)
{
    uint64_t lo = start, carries = 0, w;
#if defined(__x86_64__) && defined(__GNUC__)
    /* x86-64: one add-with-carry per 8 bytes, the carry kept in the flags across the whole loop
     * (lea and dec leave it alone) and added back at the end (end-around carry: a carry out of
     * 64 bits is worth 1 modulo 2^64 - 1, as below) */
    if (n >= 64) {
        size_t blocks = n / 64;
        __asm__("clc\n\t"
                "1:\n\t"
                "adcq 0(%[p]), %[a]\n\t"
                "adcq 8(%[p]), %[a]\n\t"
                "adcq 16(%[p]), %[a]\n\t"
                "adcq 24(%[p]), %[a]\n\t"
                "adcq 32(%[p]), %[a]\n\t"
                "adcq 40(%[p]), %[a]\n\t"
                "adcq 48(%[p]), %[a]\n\t"
                "adcq 56(%[p]), %[a]\n\t"
                "leaq 64(%[p]), %[p]\n\t"
                "decq %[k]\n\t"
                "jnz 1b\n\t"
                "adcq $0, %[a]"
                : [a] "+r"(lo), [p] "+r"(b), [k] "+r"(blocks)
                :
                : "cc", "memory");
        n &= 63;
    }
#endif
    while (n >= 32) {
        w = ld64(b);
        lo += w;
        carries += lo < w;
        w = ld64(b + 8);
        lo += w;
        carries += lo < w;
        w = ld64(b + 16);
        lo += w;
        carries += lo < w;
        w = ld64(b + 24);
        lo += w;
        carries += lo < w;
        b += 32;
        n -= 32;
    }
    while (n >= 8) {
        w = ld64(b);
        lo += w;
        carries += lo < w;
        b += 8;
        n -= 8;
    }
    uint64_t tail = 0; /* below 2^33 */
    if (n >= 4) {
        uint32_t v;
        memcpy(&v, b, sizeof v);
        tail += v;
        b += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t h;
        memcpy(&h, b, sizeof h);
        tail += h;
        b += 2;
        n -= 2;
    }
    if (n) { /* the odd byte is the high byte of a word padded with zero (network order) */
        const uint8_t t[2] = {b[0], 0};
        uint16_t h;
        memcpy(&h, t, sizeof h);
        tail += h;
    }
    lo += tail;
    carries += lo < tail;
    /* a carry is worth 2^64, which is 1 modulo 2^64 - 1 (and so modulo 0xffff): add it back in;
     * each fold below adds the halves with the carry out of them added back in, which keeps
     * the value modulo 0xffff and zero only for an all-zero sum */
    uint64_t acc = lo + carries;
    acc += acc < carries;
    uint32_t hi32 = (uint32_t)(acc >> 32), s = (uint32_t)acc + hi32;
    s += s < hi32;
    s = (s & 0xffffu) + (s >> 16); /* at most 0x1fffe */
    s = (s & 0xffffu) + (s >> 16);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    s = ((s & 0xffu) << 8) | (s >> 8);
#endif
    uint64_t t = (uint64_t)s + sum;
    t = (t & 0xffffu) + (t >> 16);
    t = (t & 0xffffu) + (t >> 16);
    t = (t & 0xffffu) + (t >> 16);
    return (uint32_t)t;
}

static inline __attribute__((always_inline)) uint32_t csum_add(uint32_t sum, const uint8_t *b,
                                                               size_t n)
{
    return csum_from(sum, 0, b, n);
}

uint32_t ipu_csum_add(uint32_t sum, const uint8_t *b, size_t n) { return csum_add(sum, b, n); }

uint16_t ipu_csum_fold(uint32_t sum)
{
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)sum;
}

/* ---- RoCEv2 ICRC ---------------------------------------------------------------------------- */

uint32_t ipu_icrc(const uint8_t *ip, unsigned af, uint32_t udp_off, uint32_t end)
{
    return icrc_compute(ip, af, udp_off, end);
}

/* ---- parser -------------------------------------------------------------------------------- */

static inline void drop(ipu_parse_out *out, drop_reason r, ipu_check c)
{
    out->drop = (int)r;
    out->check = c;
    out->nev = 0;
    out->tso = false;
}

static inline void add_ev(ipu_parse_out *out, ev_type t) { out->types[out->nev++] = (uint8_t)t; }

/* Sets the offsets of an EV_OTHER event that starts at off and the event itself. */
static void emit_other(ipu_parse_out *out, uint32_t off, uint32_t len)
{
    out->ev.proto = PROTO_OTHER;
    out->ev.l4_off = (uint16_t)off;
    out->ev.pay_off = off;
    out->ev.pay_len = len;
    add_ev(out, EV_OTHER);
}

/* The transport checksum over the pseudo-header (RFC 793 / RFC 8200 §8.1) and the l4len bytes at
 * t, folded: 0xffff when it checks out. ip is the IP header. The pseudo-header's words are added
 * in this host's word order straight into the segment's sum (one fold for both). */
static inline __attribute__((always_inline)) uint16_t
l4_csum(const uint8_t *ip, unsigned af, uint8_t proto, const uint8_t *t, uint32_t l4len)
{
    uint64_t p = net16_native(proto) + net16_native(l4len >> 16) + net16_native(l4len);
    const size_t naddr = af == 4 ? 2 : 8; /* 32-bit words of the two addresses */
    const uint8_t *a = ip + (af == 4 ? 12 : 8);
    for (size_t i = 0; i < naddr; i++) {
        uint32_t v;
        memcpy(&v, a + 4 * i, sizeof v);
        p += v;
    }
    return ipu_csum_fold(csum_from(0, p, t, l4len));
}

/* Walks the TCP options in o[0, n); fills ev. Returns false on a malformed option. */
static bool tcp_options(const uint8_t *o, uint32_t n, event *e)
{
    uint32_t i = 0;
    while (i < n) {
        uint8_t kind = o[i];
        if (kind == 0) /* end of option list */
            break;
        if (kind == 1) { /* NOP */
            i++;
            continue;
        }
        if (n - i < 2)
            return false;
        uint32_t len = o[i + 1];
        if (len < 2 || len > n - i)
            return false;
        const uint8_t *v = o + i + 2;
        switch (kind) {
        case 2: /* MSS */
            if (len != 4)
                return false;
            e->mss = rd16(v);
            break;
        case 3: /* window scale */
            if (len != 3)
                return false;
            e->wscale = v[0] > 14 ? 14 : v[0];
            break;
        case 4: /* SACK permitted */
            if (len != 2)
                return false;
            e->sack_ok = 1;
            break;
        case 5: { /* SACK: 1..4 blocks (the 40-byte option area holds at most 4) */
            if (len < 10 || (len - 2) % 8 != 0)
                return false;
            uint32_t nb = (len - 2) / 8;
            if (nb > EV_MAX_SACK)
                return false;
            for (size_t k = 0; k < nb; k++) {
                e->sack[k][0] = rd32(v + 8 * k);
                e->sack[k][1] = rd32(v + 8 * k + 4);
            }
            e->nsack = (uint8_t)nb;
            break;
        }
        case 8: /* timestamps */
            if (len != 10)
                return false;
            e->has_ts = 1;
            e->ts_val = rd32(v);
            e->ts_ecr = rd32(v + 4);
            break;
        default: /* unknown kind with a valid length: skipped */
            break;
        }
        i += len;
    }
    return true;
}

/* Looks for a Jumbo Payload option in the hop-by-hop header h of hl bytes. Returns 1 with *jl
 * set when found, 0 when absent, -1 on a malformed option (*ck says which check). */
static int ipv6_jumbo(const uint8_t *h, uint32_t hl, uint32_t *jl, ipu_check *ck)
{
    uint32_t i = 2;
    while (i < hl) {
        if (h[i] == 0) { /* Pad1 */
            i++;
            continue;
        }
        if (hl - i < 2 || (uint32_t)h[i + 1] > hl - i - 2) {
            *ck = IPU_CK_IPV6_EXT;
            return -1;
        }
        if (h[i] == IP6_OPT_JUMBO) {
            if (h[i + 1] != 4) {
                *ck = IPU_CK_IPV6_PLEN;
                return -1;
            }
            *jl = rd32(h + i + 2);
            return 1;
        }
        i += 2u + h[i + 1];
    }
    return 0;
}

/* Writes exactly the bytes event_clear() writes (a test holds it to that): all zero, key
 * padding included, with the "none" values. Done as memsets of at most 128 bytes each because
 * compilers turn event_clear's single large memset into `rep stos`, whose start-up cost is a
 * fifth of a whole parse on common x86 cores. */
static inline void ev_clear_fast(event *e)
{
    _Static_assert(offsetof(event, sp_handle) <= 128 &&
                       offsetof(event, qp) - offsetof(event, sp_handle) <= 128 &&
                       sizeof(event) - offsetof(event, qp) <= 128,
                   "each memset stays short");
    memset(e, 0, offsetof(event, sp_handle));
    memset(&e->sp_handle, 0, offsetof(event, qp) - offsetof(event, sp_handle));
    memset(&e->qp, 0, sizeof *e - offsetof(event, qp));
    e->flow = FLOW_NONE;
    e->sp_handle = SP_NONE;
    e->wscale = WSCALE_NONE;
}

/* BTH opcode -> event type, extension headers, "with immediate" (RC only; the rest is OTHER). */
enum { RX_RETH = 1, RX_AETH = 2, RX_IMM = 4 };
static const struct {
    uint8_t type;
    uint8_t ext;
} roce_ops[0x12] = {
    [0x00] = {EV_ROCE_SEND_FIRST, 0},
    [0x01] = {EV_ROCE_SEND_MIDDLE, 0},
    [0x02] = {EV_ROCE_SEND_LAST, 0},
    [0x03] = {EV_ROCE_SEND_LAST, RX_IMM},
    [0x04] = {EV_ROCE_SEND_ONLY, 0},
    [0x05] = {EV_ROCE_SEND_ONLY, RX_IMM},
    [0x06] = {EV_ROCE_WRITE_FIRST, RX_RETH},
    [0x07] = {EV_ROCE_WRITE_MIDDLE, 0},
    [0x08] = {EV_ROCE_WRITE_LAST, 0},
    [0x09] = {EV_ROCE_WRITE_LAST, RX_IMM},
    [0x0a] = {EV_ROCE_WRITE_ONLY, RX_RETH},
    [0x0b] = {EV_ROCE_WRITE_ONLY, RX_RETH | RX_IMM},
    [0x0c] = {EV_OTHER, 0}, /* READ request ... atomic acknowledge: OTHER */
    [0x0d] = {EV_OTHER, 0},
    [0x0e] = {EV_OTHER, 0},
    [0x0f] = {EV_OTHER, 0},
    [0x10] = {EV_OTHER, 0},
    [0x11] = {EV_ROCE_ACK, RX_AETH},
};

/* The RoCEv2 part of a UDP datagram to port 4791: ip is the IP header (at l3 in the frame), the
 * UDP header at udp from ip, ulen its length (>= 8, inside the frame). */
static void roce(ipu_parse_out *out, const uint8_t *ip, uint32_t l3, uint32_t udp, uint32_t ulen,
                 unsigned af, bool verify_icrc)
{
    event *e = &out->ev;
    e->proto = PROTO_ROCE;
    e->key.sport = 0; /* ECMP entropy, not part of a RoCE key */
    const uint8_t *b = ip + udp + 8;
    const uint32_t n = ulen - 8; /* BTH .. ICRC */
    if (n < 12 + 4)
        return drop(out, DROP_MALFORMED, IPU_CK_ROCE_SHORT);
    const uint8_t op = b[0];
    const unsigned pad = (b[1] >> 4) & 3u;
    e->opcode = op;
    e->qp = rd32(b + 4) & 0xffffffu;
    e->key.qp = e->qp;
    e->seq = rd32(b + 8) & 0xffffffu;
    e->bth_flags =
        (uint8_t)((b[8] & 0x80u ? ROCE_F_ACKREQ : 0) | (b[1] & 0x80u ? ROCE_F_SOLICIT : 0) |
                  (b[1] & 0x40u ? ROCE_F_MIGREQ : 0) | pad << ROCE_F_PAD_SHIFT);
    if ((b[1] & 15u) != 0)
        return drop(out, DROP_MALFORMED, IPU_CK_ROCE_VERSION);
    const uint32_t end = udp + ulen - 4; /* the ICRC, from ip */
    if (verify_icrc) {
        const uint8_t *w = ip + end;
        uint32_t got =
            (uint32_t)w[0] | (uint32_t)w[1] << 8 | (uint32_t)w[2] << 16 | (uint32_t)w[3] << 24;
        if (ipu_icrc(ip, af, udp, end) != got)
            return drop(out, DROP_BAD_ICRC, IPU_CK_ROCE_ICRC);
    }
    ev_type t = EV_OTHER;
    unsigned ext = 0;
    if (op < sizeof roce_ops / sizeof roce_ops[0]) {
        t = (ev_type)roce_ops[op].type;
        ext = roce_ops[op].ext;
    }
    uint32_t h = 12; /* header bytes so far */
    const uint32_t hl =
        12 + (ext & RX_RETH ? 16u : 0) + (ext & RX_AETH ? 4u : 0) + (ext & RX_IMM ? 4u : 0);
    if (n - 4 < hl)
        return drop(out, DROP_MALFORMED, IPU_CK_ROCE_SHORT);
    if (ext & RX_RETH) {
        e->va = (uint64_t)rd32(b + h) << 32 | rd32(b + h + 4);
        e->rkey = rd32(b + h + 8);
        e->dma_len = rd32(b + h + 12);
        h += 16;
    }
    if (ext & RX_AETH) {
        e->syndrome = b[h];
        e->ack = rd32(b + h) & 0xffffffu; /* MSN */
        unsigned kind = (b[h] >> 5) & 3u; /* 0 ACK, 1 RNR NAK, 2 reserved, 3 NAK */
        if (kind == 2)
            return drop(out, DROP_MALFORMED, IPU_CK_ROCE_AETH);
        if (kind != 0)
            t = EV_ROCE_NAK;
        h += 4;
    }
    if (ext & RX_IMM) {
        e->arg = rd32(b + h);
        e->bth_flags |= ROCE_F_IMM;
        h += 4;
    }
    if (n - 4 - h < pad)
        return drop(out, DROP_MALFORMED, IPU_CK_ROCE_PAD);
    e->pay_off = l3 + udp + 8 + h;
    e->pay_len = n - 4 - h - pad;
    add_ev(out, t);
}

void ipu_parse(const pkt *p, bool verify, ipu_parse_out *out)
{
    ipu_parse_with(p, verify, verify, out);
}

void ipu_parse_with(const pkt *p, bool verify, bool verify_icrc, ipu_parse_out *out)
{
    event *e = &out->ev;
    ev_clear_fast(e); /* = event_clear(e); zeroes the key, padding included */
    e->chan = CH_NETWORK;
    e->cls = EVC_RECEIVE;
    e->proto = PROTO_OTHER;
    e->pkt = p->index;
    e->t_arrival = p->t_arrival;
    e->link = p->link;
    e->frame_len = p->caplen;
    out->drop = -1;
    out->check = IPU_CK_OK;
    out->nev = 0;
    out->tso = false;
    memset(out->types, 0, sizeof out->types);

    const uint8_t *d = p->data;
    const uint32_t cap = p->caplen;
    if (cap < p->len)
        return drop(out, DROP_CAPTURE_TRUNCATED, IPU_CK_CAPLEN);

    /* ---- link layer: find the network header and its protocol ---- */
    uint32_t l3;
    unsigned af; /* 4, 6, or 0 for anything else */
    switch (p->link) {
    case LINK_ETHERNET: {
        if (cap < 14)
            return drop(out, DROP_MALFORMED, IPU_CK_L2_SHORT);
        uint16_t et = rd16(d + 12);
        l3 = 14;
        if (et == ETH_P_8021Q || et == ETH_P_8021AD) {
            if (cap - l3 < 4)
                return drop(out, DROP_MALFORMED, IPU_CK_VLAN_SHORT);
            et = rd16(d + l3 + 2);
            l3 += 4;
            if (et == ETH_P_8021Q) {
                if (cap - l3 < 4)
                    return drop(out, DROP_MALFORMED, IPU_CK_VLAN_SHORT);
                et = rd16(d + l3 + 2);
                l3 += 4;
                if (et == ETH_P_8021Q || et == ETH_P_8021AD)
                    return drop(out, DROP_MALFORMED, IPU_CK_VLAN_DEPTH);
            }
        }
        af = et == ETH_P_IPV4 ? 4 : et == ETH_P_IPV6 ? 6 : 0;
        break;
    }
    case LINK_SLL: { /* Linux cooked v1: protocol at bytes 14-15 */
        if (cap < 16)
            return drop(out, DROP_MALFORMED, IPU_CK_L2_SHORT);
        uint16_t et = rd16(d + 14);
        l3 = 16;
        af = et == ETH_P_IPV4 ? 4 : et == ETH_P_IPV6 ? 6 : 0;
        break;
    }
    case LINK_SLL2: { /* Linux cooked v2: protocol at bytes 0-1 */
        if (cap < 20)
            return drop(out, DROP_MALFORMED, IPU_CK_L2_SHORT);
        uint16_t et = rd16(d);
        l3 = 20;
        af = et == ETH_P_IPV4 ? 4 : et == ETH_P_IPV6 ? 6 : 0;
        break;
    }
    case LINK_RAW:
        if (cap < 1)
            return drop(out, DROP_MALFORMED, IPU_CK_L2_SHORT);
        l3 = 0;
        af = d[0] >> 4 == 4 ? 4 : d[0] >> 4 == 6 ? 6 : 0;
        break;
    case LINK_NULL: { /* family in the capturing host's byte order: accept either */
        if (cap < 4)
            return drop(out, DROP_MALFORMED, IPU_CK_L2_SHORT);
        uint32_t be = rd32(d);
        uint32_t le =
            (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
        l3 = 4;
        if (be == 2 || le == 2)
            af = 4;
        else if (be == 24 || be == 28 || be == 30 || le == 24 || le == 28 || le == 30)
            af = 6; /* AF_INET6 on NetBSD/OpenBSD, FreeBSD, Darwin */
        else {
            af = 0;
            out->check = IPU_CK_NULL_FAMILY;
        }
        break;
    }
    default:
        return drop(out, DROP_MALFORMED, IPU_CK_L2_SHORT);
    }
    e->l3_off = (uint16_t)l3;
    if (af == 0) {
        emit_other(out, l3, cap - l3);
        return;
    }

    /* ---- network layer: find the transport header, its protocol and length ---- */
    const uint8_t *ip = d + l3;
    const uint32_t avail = cap - l3; /* Ethernet padding past the IP length is ignored */
    uint32_t l4, l4len;
    uint8_t proto;
    if (af == 4) {
        if (avail < 20)
            return drop(out, DROP_MALFORMED, IPU_CK_IPV4_SHORT);
        if (ip[0] >> 4 != 4)
            return drop(out, DROP_MALFORMED, IPU_CK_IPV4_VERSION);
        uint32_t ihl = (ip[0] & 15u) * 4u;
        uint32_t tot = rd16(ip + 2);
        if (tot == 0 && ihl >= 20 && ihl <= avail) {
            /* captured before TCP segmentation offload: the NIC writes the length and both
             * checksums of each segment it cuts, so take the length from the frame and leave
             * the checksums unverified */
            out->tso = true;
            tot = avail;
            verify = false;
            verify_icrc = false;
        }
        if (ihl < 20 || ihl > tot)
            return drop(out, DROP_MALFORMED, IPU_CK_IPV4_IHL);
        if (tot > avail)
            return drop(out, DROP_MALFORMED, IPU_CK_IPV4_TOTLEN);
        if (verify &&
            ipu_csum_fold(ihl == 20 ? csum_add(0, ip, 20) : ipu_csum_add(0, ip, ihl)) != 0xffff)
            return drop(out, DROP_BAD_CHECKSUM, IPU_CK_IPV4_CSUM);
        if (rd16(ip + 6) & 0x3fff) /* MF, or a fragment offset */
            return drop(out, DROP_IP_FRAGMENT, IPU_CK_IPV4_FRAG);
        proto = ip[9];
        memcpy(e->key.src, ip + 12, 4);
        memcpy(e->key.dst, ip + 16, 4);
        l4 = ihl;
        l4len = tot - ihl;
    } else {
        if (avail < 40)
            return drop(out, DROP_MALFORMED, IPU_CK_IPV6_SHORT);
        if (ip[0] >> 4 != 6)
            return drop(out, DROP_MALFORMED, IPU_CK_IPV6_VERSION);
        uint32_t plen = rd16(ip + 4);
        uint8_t nh = ip[6];
        uint32_t end = 40 + plen;                  /* end of the IP payload, from ip */
        if (plen == 0 && nh == IPPROTO_HOPOPTS_) { /* RFC 2675 jumbogram? */
            if (avail < 42 || 40u + (ip[41] + 1u) * 8u > avail)
                return drop(out, DROP_MALFORMED, IPU_CK_IPV6_EXT);
            uint32_t jl = 0;
            ipu_check ck = IPU_CK_OK;
            int r = ipv6_jumbo(ip + 40, (ip[41] + 1u) * 8u, &jl, &ck);
            if (r < 0)
                return drop(out, DROP_MALFORMED, ck);
            if (r > 0) {
                if (jl <= 0xffff || jl > avail - 40)
                    return drop(out, DROP_MALFORMED, IPU_CK_IPV6_PLEN);
                end = 40 + jl;
            }
        } else if (plen > avail - 40) {
            return drop(out, DROP_MALFORMED, IPU_CK_IPV6_PLEN);
        }
        uint32_t off = 40;
        for (;;) {
            if (nh == IPPROTO_FRAGMENT_)
                return drop(out, DROP_IP_FRAGMENT, IPU_CK_IPV6_FRAG);
            if (nh != IPPROTO_HOPOPTS_ && nh != IPPROTO_ROUTING_ && nh != IPPROTO_DSTOPTS_)
                break;
            if (end - off < 2 || (ip[off + 1] + 1u) * 8u > end - off)
                return drop(out, DROP_MALFORMED, IPU_CK_IPV6_EXT);
            nh = ip[off];
            off += (ip[off + 1] + 1u) * 8u;
        }
        if (l3 + off > 0xffff)
            return drop(out, DROP_MALFORMED, IPU_CK_IPV6_EXT);
        proto = nh;
        memcpy(e->key.src, ip + 8, 16);
        memcpy(e->key.dst, ip + 24, 16);
        l4 = off;
        l4len = end - off;
    }
    e->key.af = (uint8_t)af;
    e->key.proto = proto;
    const uint8_t *t = ip + l4; /* the transport header; t + l4len <= d + cap */
    l4 += l3;
    e->l4_off = (uint16_t)l4;

    /* ---- transport layer ---- */
    if (proto == IPPROTO_TCP_) {
        e->proto = PROTO_TCP;
        if (l4len < 20)
            return drop(out, DROP_MALFORMED, IPU_CK_TCP_SHORT);
        uint32_t doff = (t[12] >> 4) * 4u;
        if (doff < 20 || doff > l4len)
            return drop(out, DROP_MALFORMED, IPU_CK_TCP_DOFF);
        e->key.sport = rd16(t);
        e->key.dport = rd16(t + 2);
        if (!tcp_options(t + 20, doff - 20, e))
            return drop(out, DROP_MALFORMED, IPU_CK_TCP_OPT);
        if (verify && l4_csum(ip, af, proto, t, l4len) != 0xffff)
            return drop(out, DROP_BAD_CHECKSUM, IPU_CK_TCP_CSUM);
        e->seq = rd32(t + 4);
        e->ack = rd32(t + 8);
        uint8_t f = t[13];
        e->tcp_flags = f;
        e->win = rd16(t + 14);
        e->pay_off = l4 + doff;
        e->pay_len = l4len - doff;
        if (f & TCPF_RST) {
            add_ev(out, EV_TCP_RST);
            return;
        }
        if (f & TCPF_SYN)
            add_ev(out, f & TCPF_ACK ? EV_TCP_SYNACK : EV_TCP_SYN);
        if (e->pay_len)
            add_ev(out, EV_TCP_DATA);
        if (f & TCPF_FIN)
            add_ev(out, EV_TCP_FIN);
        if (out->nev == 0)
            add_ev(out, f & TCPF_ACK ? EV_TCP_ACK : EV_OTHER);
        return;
    }
    if (proto == IPPROTO_UDP_) {
        e->proto = PROTO_UDP;
        if (l4len < 8)
            return drop(out, DROP_MALFORMED, IPU_CK_UDP_SHORT);
        e->key.sport = rd16(t);
        e->key.dport = rd16(t + 2);
        uint32_t ulen = rd16(t + 4);
        if (ulen < 8 || ulen > l4len)
            return drop(out, DROP_MALFORMED, IPU_CK_UDP_LEN);
        if (verify) {
            if (rd16(t + 6) == 0) { /* "no checksum": allowed over IPv4 only (RFC 8200 §8.1) */
                if (af == 6)
                    return drop(out, DROP_BAD_CHECKSUM, IPU_CK_UDP_CSUM);
            } else if (l4_csum(ip, af, proto, t, ulen) != 0xffff) {
                return drop(out, DROP_BAD_CHECKSUM, IPU_CK_UDP_CSUM);
            }
        }
        if (e->key.dport == ROCE_UDP_PORT)
            return roce(out, ip, l3, l4 - l3, ulen, af, verify_icrc);
        e->pay_off = l4 + 8;
        e->pay_len = ulen - 8;
        add_ev(out, EV_UDP_DATAGRAM);
        return;
    }
    emit_other(out, l4, l4len);
}

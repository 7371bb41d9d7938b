/* ipu: the input processing unit (claims 1, 18, 29). It takes trace records from the ingress
 * FIFO, parses the link, network and transport headers, verifies checksums, extracts the flow
 * identification key, stores the frame in the scratchpad and derives one or more typed events
 * per message. A frame that cannot be processed is dropped with a reason and counted.
 *
 * Timing: one parse engine; a frame occupies it for
 *     cycles_per_msg + ceil(frame_bytes * millicycles_per_byte / 1000)
 * cycles from the cycle it starts. The frame's events enter the out-queue at the end of that
 * time. A frame starts only when the scratchpad has cells for it (otherwise the IPU stalls and
 * back-pressures the ingress FIFO) and finishes only when the out-queue has room for all its
 * events. */
#ifndef SPPSIM_IPU_H
#define SPPSIM_IPU_H

#include "event.h"
#include "params.h"
#include "ring.h"
#include "scratchpad.h"
#include "sim_types.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IPU_MAX_EVENTS 3 /* per frame: e.g. SYN, DATA, FIN */

/* Which check decided a frame's fate: a finer cause than drop_reason, counted per check.
 * IPU_CK_OK for processed frames, except IPU_CK_NULL_FAMILY, which marks a processed frame (one
 * EV_OTHER event) whose BSD null header names an unknown address family. */
typedef enum ipu_check {
    IPU_CK_OK,
    IPU_CK_CAPLEN,       /* caplen < wire length */
    IPU_CK_L2_SHORT,     /* link header (Ethernet, SLL, SLL2, null) truncated */
    IPU_CK_VLAN_SHORT,   /* VLAN tag truncated */
    IPU_CK_VLAN_DEPTH,   /* more than two VLAN tags */
    IPU_CK_NULL_FAMILY,  /* BSD null header with an unknown address family (frame is OTHER) */
    IPU_CK_IPV4_SHORT,   /* fewer than 20 bytes */
    IPU_CK_IPV4_VERSION, /* version field is not 4 */
    IPU_CK_IPV4_IHL,     /* IHL < 5 or header past total length */
    IPU_CK_IPV4_TOTLEN,  /* total length past the frame */
    IPU_CK_IPV4_CSUM,    /* header checksum wrong */
    IPU_CK_IPV4_FRAG,    /* MF set or fragment offset != 0 */
    IPU_CK_IPV6_SHORT,   /* fewer than 40 bytes */
    IPU_CK_IPV6_VERSION,
    IPU_CK_IPV6_PLEN, /* payload length past the frame (or a bad jumbo option) */
    IPU_CK_IPV6_EXT,  /* an extension header overruns the packet */
    IPU_CK_IPV6_FRAG, /* fragment header present */
    IPU_CK_TCP_SHORT, /* fewer than 20 bytes of TCP header */
    IPU_CK_TCP_DOFF,  /* data offset < 5 or past the segment */
    IPU_CK_TCP_OPT,   /* an option overruns the option area or has length < 2 */
    IPU_CK_TCP_CSUM,
    IPU_CK_UDP_SHORT,
    IPU_CK_UDP_LEN, /* UDP length < 8 or past the datagram */
    IPU_CK_UDP_CSUM,
    IPU_CK_ROCE_SHORT, /* RoCEv2: BTH, or the opcode's RETH/AETH/ImmDt, plus the ICRC do not fit */
    IPU_CK_ROCE_VERSION, /* RoCEv2: BTH transport header version is not 0 */
    IPU_CK_ROCE_PAD,     /* RoCEv2: headers + pad count + ICRC longer than the UDP datagram */
    IPU_CK_ROCE_AETH,    /* RoCEv2: AETH syndrome of the reserved kind (bits 6-5 = 10) */
    IPU_CK_ROCE_ICRC,    /* RoCEv2: invariant CRC wrong (DROP_BAD_ICRC) */
    IPU_CK_OVERSIZE,     /* parsed fine, but larger than the whole scratchpad (DROP_OVERSIZE) */
    IPU_CK_COUNT
} ipu_check;

/* The outcome of parsing one frame (pure function of the bytes; no timing). */
typedef struct ipu_parse_out {
    int drop;       /* -1 when processed, else the drop_reason */
    unsigned check; /* ipu_check that decided it */
    unsigned nev;   /* events derived, 0..IPU_MAX_EVENTS (0 when dropped) */
    bool tso;       /* IPv4 total length 0: captured before TCP segmentation offload, so the
                       lengths come from the frame and its checksums (left to the NIC) are not
                       verified (as Wireshark reads such frames) */
    uint8_t types[IPU_MAX_EVENTS];
    event ev; /* fields common to all derived events; type unset, sp_handle SP_NONE */
} ipu_parse_out;

/* Parses p->data (p->caplen bytes; p->len on the wire) framed as p->link. Fills every field of
 * out (on a drop, ev holds what was parsed before the failing check). Never reads outside
 * [data, data + caplen); data may be NULL when caplen is 0. verify_checksums: the IPv4 header,
 * TCP and UDP checksums; verify_icrc: the RoCEv2 invariant CRC.
 *
 * RoCEv2 (UDP destination port 4791, IPv4 or IPv6; input side only): the BTH (12 bytes), then
 * by opcode the RETH (16: WRITE first/only), the AETH (4: ACK) and the ImmDt (4: "with
 * immediate"), the payload, pad count bytes and the 4-byte ICRC. One event per packet:
 *   RC SEND first/middle/last/only -> EV_ROCE_SEND_* (last/only with immediate too),
 *   RC RDMA WRITE first/middle/last/only -> EV_ROCE_WRITE_* (likewise),
 *   RC ACK with syndrome ACK -> EV_ROCE_ACK; with RNR NAK or NAK -> EV_ROCE_NAK,
 *   any other opcode (READ, atomics, SEND with invalidate, UC, UD, CNP...) -> EV_OTHER, proto
 *   still PROTO_ROCE, payload = everything after the BTH (ipu_stats.roce_other counts them).
 * The key is {addresses, proto 17, sport 0, dport 4791, qp}; the event gets qp, opcode,
 * bth_flags, seq = PSN, and as present rkey, va, dma_len, syndrome, ack = MSN, arg = ImmDt.
 * The UDP checksum is verified when non-zero (0 is legal over IPv4). The ICRC covers the IP
 * header (options and IPv6 extension headers included) to the end of the pad, after 8 bytes of
 * 0xff, with these fields read as all ones: IPv4 ToS, TTL, header checksum; IPv6 traffic
 * class, flow label, hop limit; the UDP checksum; the BTH's reserved byte 4. It is the
 * complement of the reflected CRC-32 (polynomial 0x04c11db7, initial value all ones) over
 * those bytes, sent least significant byte first. A TSO capture (IPv4 length 0) leaves it
 * unverified, as it does the checksums. */
void ipu_parse_with(const pkt *p, bool verify_checksums, bool verify_icrc, ipu_parse_out *out);
/* = ipu_parse_with(p, verify, verify, out) */
void ipu_parse(const pkt *p, bool verify, ipu_parse_out *out);
/* The RoCEv2 ICRC: icrc_compute (models/common/icrc.h, shared with the transmit unit). */
uint32_t ipu_icrc(const uint8_t *ip, unsigned af, uint32_t udp_off, uint32_t end);

/* Internet checksum (RFC 1071) of n bytes, folded, not complemented, added to sum. The result
 * is at most 0xffff, so sums chain: ipu_csum_add(ipu_csum_add(0, a, na), b, nb); every chunk but
 * the last must have an even length. A correct checksummed region folds to 0xffff. */
uint32_t ipu_csum_add(uint32_t sum, const uint8_t *b, size_t n);
uint16_t ipu_csum_fold(uint32_t sum);

typedef struct ipu_cfg {
    uint32_t clock_mhz;
    uint32_t in_depth;  /* frames waiting inside the IPU */
    uint32_t out_depth; /* events in the out-queue */
    uint32_t cycles_per_msg;
    uint32_t millicycles_per_byte;
    uint32_t verify_checksums; /* bool */
    uint32_t verify_icrc;      /* bool */
} ipu_cfg;

typedef struct ipu_stats {
    uint64_t frames;                /* frames accepted from the ingress FIFO */
    uint64_t processed;             /* frames that derived events */
    uint64_t bytes;                 /* wire bytes of accepted frames */
    uint64_t events;                /* events emitted */
    uint64_t busy_cycles;           /* cycles the parse engine was occupied */
    uint64_t stall_scratchpad_full; /* times a frame had to wait for scratchpad cells */
    uint64_t stall_out_full;        /* times finished events had to wait for out-queue room */
    uint64_t tso_frames;            /* frames captured before segmentation offload */
    uint64_t roce_other;            /* RoCE frames outside the typed RC subset (EV_OTHER) */
    uint64_t drops[DROP_REASON_COUNT];
    uint64_t checks[IPU_CK_COUNT]; /* frames by deciding check; sums to frames, and
                                      processed = checks[IPU_CK_OK] + checks[IPU_CK_NULL_FAMILY] */
    uint64_t ev_types[EV_TYPE_COUNT];
} ipu_stats;

typedef struct ipu_slot { /* one frame waiting in the input queue */
    pkt p;                /* p.data: buf, or the caller's bytes while borrowed */
    bool borrowed;        /* pushed by ipu_push_borrowed and not yet copied by ipu_keep_frames */
    uint8_t *buf;         /* the slot's own buffer (kept across frames) */
    uint32_t bufcap;
} ipu_slot;

typedef struct ipu {
    ipu_cfg cfg;
    scratchpad *sp;    /* not owned: the memory the IPU writes frames into */
    ring in;           /* ipu_slot */
    uint32_t borrowed; /* slots of in that are borrowed */
    ring out;          /* event */
    bool busy;         /* a frame is in the engine */
    cycle_t done;      /* when the frame in the engine finishes */
    ipu_parse_out cur;
    bool blocked_sp;  /* front frame waits for scratchpad cells */
    bool blocked_out; /* finished frame waits for out-queue room */
    cycle_t now;      /* latest cycle seen by push or advance */
    ipu_stats st;
} ipu;

extern const param_table ipu_params;
extern const stat_def ipu_stat_defs[]; /* the scalar counters of ipu_stats */
extern const size_t ipu_stat_count;
const char *ipu_check_name(unsigned c);

void ipu_cfg_default(ipu_cfg *c);
/* sp must outlive the IPU. Returns 0, or -1 with err filled (out-of-range cfg, no sp, no
 * memory). ipu_fini is safe after a failed init. */
int ipu_init(ipu *u, const ipu_cfg *c, scratchpad *sp, sim_err *err);
void ipu_fini(ipu *u);

static inline bool ipu_can_accept(const ipu *u) { return !ring_full(&u->in); }
/* Copies the frame into the input queue (p->data is only borrowed for the call; each slot
 * owns a buffer that grows to the largest frame it has held, so memory stays bounded by
 * in_depth times the largest frame). Counts frames and wire bytes. pre: ipu_can_accept. */
void ipu_push(ipu *u, const pkt *p, cycle_t now);
/* As ipu_push, but a frame that could start at now (the input queue empty and the engine free
 * by now) is not copied: its bytes stay the caller's until the next ipu_keep_frames, which the
 * caller must call before they change or go away. If it starts meanwhile (ipu_advance: parsed,
 * stored in the scratchpad) it is read from p->data and never copied into the input queue;
 * that is the point, as at a capture's timestamps a frame usually starts at once. A frame that
 * cannot is copied at once, as by ipu_push. Frames and timing are those of ipu_push (a slot
 * buffer that cannot grow, for want of host memory, truncates a frame only when it is copied).
 * pre: ipu_can_accept. */
void ipu_push_borrowed(ipu *u, const pkt *p, cycle_t now);
/* Copies every borrowed frame still in the input queue into its slot's own buffer (inline: most
 * calls find none; ipu_keep_borrowed is the copying part). */
void ipu_keep_borrowed(ipu *u);
static inline void ipu_keep_frames(ipu *u)
{
    if (u->borrowed)
        ipu_keep_borrowed(u);
}
/* The next cycle at which the IPU has work it can do by itself, or CYCLE_NEVER (idle, or
 * waiting for scratchpad cells or out-queue room: the caller calls ipu_advance again when
 * those free up). */
static inline cycle_t ipu_next_cycle(const ipu *u)
{
    if (u->busy)
        return u->blocked_out ? CYCLE_NEVER : u->done;
    if (!ring_empty(&u->in) && !u->blocked_sp)
        return u->now;
    return CYCLE_NEVER;
}
/* Does everything due at or before now; returns the number of frames started plus finished
 * (dropped frames included). A frame starts at the now of the call that starts it, so the
 * caller calls this at next_cycle() and after each push, pop_out and scratchpad release. */
unsigned ipu_advance(ipu *u, cycle_t now);
/* The oldest event of the out-queue in place (no copy), or NULL when it is empty; valid until
 * the next ipu_pop_out or ipu_advance. */
static inline const event *ipu_front_out(const ipu *u)
{
    return ring_empty(&u->out) ? NULL : (const event *)ring_front(&u->out);
}
/* Removes the oldest event. pre: the out-queue is not empty. */
static inline void ipu_pop_out(ipu *u) { ring_pop(&u->out); }
/* True when no frame is queued or in the engine and the out-queue is empty. */
static inline bool ipu_idle(const ipu *u)
{
    return !u->busy && ring_empty(&u->in) && ring_empty(&u->out);
}

#ifdef __cplusplus
}
#endif
#endif

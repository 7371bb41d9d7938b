/* event: the typed event descriptor that units pass along (SPEC §3), the packet record the trace
 * source hands to the IPU, and the reasons a packet can be dropped (SPEC §7). */
#ifndef SPPSIM_EVENT_H
#define SPPSIM_EVENT_H

#include "flow_key.h"
#include "sim_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Event types. Network events come from the IPU (claim 1: one message may derive several);
 * timer, host and internal types are appended by the units that raise them. The order is the
 * order of reports and of the microcode's jump table. */
typedef enum ev_type {
    EV_TCP_SYN,
    EV_TCP_SYNACK,
    EV_TCP_ACK,
    EV_TCP_DATA,
    EV_TCP_FIN,
    EV_TCP_RST,
    /* timer channel: flow timer i of a TCP flow expires as EV_TCP_RTO + i (lookup.h) */
    EV_TCP_RTO,
    EV_TCP_DELACK,
    EV_TCP_TIME_WAIT,
    EV_TCP_KEEPALIVE,
    /* host channel (the host application's commands) */
    EV_TCP_SEND,
    EV_TCP_CLOSE,
    EV_TCP_RECV_CREDIT,
    /* internal channel: raised by a core's ev_emit command (claim 15). tcp_internal is the
     * receive side's word to the send side (an ACK, a window, the peer's FIN: run on a send
     * core); tcp_notify the send side's word to the receive side (SYN or FIN sent, data in
     * flight: run on a receive core). */
    EV_TCP_INTERNAL,
    EV_TCP_NOTIFY,
    /* RoCEv2 reliable connection (UDP port 4791), network channel: one event per packet, by
     * its BTH opcode. "With immediate" SEND/WRITE opcodes map to the *_LAST and *_ONLY types
     * (bth_flags bit 3 says so). */
    EV_ROCE_SEND_FIRST,
    EV_ROCE_SEND_MIDDLE,
    EV_ROCE_SEND_LAST,
    EV_ROCE_SEND_ONLY,
    EV_ROCE_WRITE_FIRST,
    EV_ROCE_WRITE_MIDDLE,
    EV_ROCE_WRITE_LAST,
    EV_ROCE_WRITE_ONLY,
    EV_ROCE_ACK, /* ACK opcode, AETH syndrome "ACK" */
    EV_ROCE_NAK, /* ACK opcode, AETH syndrome "RNR NAK" or "NAK" (the syndrome says which) */
    /* timer channel: the coalesced-ACK timer of a RoCE queue pair */
    EV_ROCE_ACK_TIMER,
    /* internal channel: raised by a core's ev_emit for a RoCE queue pair */
    EV_ROCE_INTERNAL,
    /* host channel: a queue pair is set up (out of band, as a host driver would): qp = the
     * local QP, arg = the remote (requester's) QP, seq = the first PSN expected, dma_len = the
     * receive buffer size hint in bytes; no frame */
    EV_ROCE_CONNECT,
    EV_UDP_DATAGRAM,
    EV_OTHER,
    EV_TYPE_COUNT
} ev_type;

/* Event classes (claim 9: a class groups types that share an event-handling routine). */
typedef enum ev_class {
    EVC_RECEIVE,
    EVC_SEND,
    EVC_TIMER,
    EVC_HOST,
    EVC_INTERNAL,
    EVC_COUNT
} ev_class;

/* Logical channels an event arrives on (claims 9, 10). */
typedef enum ev_chan { CH_NETWORK, CH_HOST, CH_TIMER, CH_INTERNAL, CH_COUNT } ev_chan;

/* PROTO_ROCE: RoCEv2 (UDP destination port 4791), whatever its opcode. */
typedef enum ev_proto { PROTO_TCP, PROTO_ROCE, PROTO_UDP, PROTO_OTHER, PROTO_COUNT } ev_proto;

/* Why a packet left the chip without being processed. Every packet read from the trace ends
 * either processed or counted under exactly one of these (SPEC §7). */
typedef enum drop_reason {
    DROP_INGRESS_OVERFLOW,   /* ingress FIFO full when the packet arrived */
    DROP_CAPTURE_TRUNCATED,  /* the capture holds fewer bytes than were on the wire (snaplen) */
    DROP_MALFORMED,          /* a header is truncated or inconsistent */
    DROP_BAD_CHECKSUM,       /* IPv4 header, TCP or UDP checksum wrong */
    DROP_BAD_ICRC,           /* RoCEv2 invariant CRC wrong (ipu.verify_icrc) */
    DROP_IP_FRAGMENT,        /* IPv4 or IPv6 fragment: the chip does not reassemble */
    DROP_OVERSIZE,           /* frame larger than the whole scratchpad */
    DROP_NO_ROUTE,           /* no cluster is configured for the event's type (e.g. UDP) */
    DROP_NO_FLOW,            /* not an opening event, and its flow is not in the flow table */
    DROP_FLOW_TABLE_FULL,    /* an opening event, and no local flow-ID proxy is free */
    DROP_SENT_BY_LOCAL_SIDE, /* sent by the side the chip terminates: reference, not input */
    DROP_REASON_COUNT
} drop_reason;

#define FLOW_NONE UINT32_MAX
#define SP_NONE UINT32_MAX
#define WSCALE_NONE 0xff
#define EV_MAX_SACK 4

/* TCP flag bits as on the wire (low byte of the flags field). */
enum {
    TCPF_FIN = 0x01,
    TCPF_SYN = 0x02,
    TCPF_RST = 0x04,
    TCPF_PSH = 0x08,
    TCPF_ACK = 0x10,
    TCPF_URG = 0x20,
    TCPF_ECE = 0x40,
    TCPF_CWR = 0x80
};

/* bth_flags bits: from the BTH, plus whether the opcode carries an immediate. */
enum {
    ROCE_F_ACKREQ = 0x01,  /* BTH A: the requester asks for an acknowledgment */
    ROCE_F_SOLICIT = 0x02, /* BTH SE: solicited event */
    ROCE_F_MIGREQ = 0x04,  /* BTH M: migration state */
    ROCE_F_IMM = 0x08,     /* opcode "with immediate" (ImmDt present; its value is in arg) */
    ROCE_F_PAD_SHIFT = 4,  /* bits 4-5: pad count (0..3 bytes before the ICRC) */
    ROCE_F_PAD_MASK = 0x30
};

/* The event descriptor. Plain data: copied by value between units. */
typedef struct event {
    uint8_t type;  /* ev_type */
    uint8_t cls;   /* ev_class */
    uint8_t chan;  /* ev_chan */
    uint8_t proto; /* ev_proto */
    uint32_t flow; /* local flow-ID proxy (claim 7); FLOW_NONE until the dispatcher assigns it */
    uint64_t pkt;  /* index (0-based) of the trace record that caused it */
    simtime_ps t_arrival; /* when that packet's last bit reached the ingress port */
    flow_key key;
    /* the frame in the scratchpad (claim 29): handle, and offsets within the stored frame */
    uint32_t sp_handle;
    uint32_t frame_len;
    uint16_t l3_off;
    uint16_t l4_off;
    uint32_t pay_off;
    uint32_t pay_len;
    /* parsed TCP header fields (host byte order) */
    uint32_t seq;
    uint32_t ack;
    uint16_t win; /* raw, unscaled */
    uint8_t tcp_flags;
    uint8_t wscale; /* WSCALE_NONE when the option is absent */
    uint16_t mss;   /* 0 when absent */
    uint8_t sack_ok;
    uint8_t has_ts;
    uint32_t ts_val;
    uint32_t ts_ecr;
    uint8_t nsack;
    uint8_t link;    /* link_type of the frame (for the transmit side's header template) */
    uint8_t pkt_nev; /* events its packet derived (1..IPU_MAX_EVENTS; 0 for timer/internal) */
    uint8_t opcode;  /* RoCE: BTH opcode */
    uint32_t sack[EV_MAX_SACK][2]; /* left, right edges */
    uint32_t arg; /* timer and internal events: the argument their raiser gave (ev_emit r2) */
    /* parsed RoCEv2 headers (host byte order; 0 where absent). The PSN is in seq and the AETH's
     * MSN in ack; pay_off/pay_len bound the message payload only (after BTH, RETH, AETH and
     * ImmDt, before the pad bytes and the ICRC). */
    uint32_t qp;       /* BTH destination QP (24 bits) */
    uint32_t rkey;     /* RETH (WRITE first/only) */
    uint32_t dma_len;  /* RETH: length of the whole WRITE message */
    uint8_t bth_flags; /* ROCE_F_* */
    uint8_t syndrome;  /* AETH (ACK opcode) */
    uint16_t chain;    /* internal events: how many ev_emits led here from an event that was not
                        * internal (1 for one raised by a network, host or timer event) */
    uint64_t va;       /* RETH: virtual address of the WRITE's first byte */
    /* when the event passed each stage (ps; 0 where it did not), stamped by the glue: for the
     * per-stage latencies, the timeline and the per-packet history */
    simtime_ps t_ipu_out;  /* left the IPU */
    simtime_ps t_disp_in;  /* taken by the dispatcher */
    simtime_ps t_disp_out; /* dispatched to a core */
    simtime_ps t_luc_out;  /* its workspace ready in the core's memory */
} event;

/* Link-layer framing of a trace record. */
typedef enum link_type {
    LINK_ETHERNET,
    LINK_SLL,
    LINK_SLL2,
    LINK_RAW,
    LINK_NULL,
    LINK_COUNT
} link_type;

/* One trace record as the trace source hands it to the IPU. data is borrowed for the call. */
typedef struct pkt {
    const uint8_t *data;
    uint32_t caplen; /* bytes present in data */
    uint32_t len;    /* bytes that were on the wire */
    uint8_t link;    /* link_type */
    uint64_t index;  /* position in the trace, 0-based */
    simtime_ps t_arrival;
} pkt;

/* Stable lower-case names used in reports, JSON and configs ("tcp_syn", "ingress_overflow"). */
const char *ev_type_name(unsigned t);
const char *ev_class_name(unsigned c);
const char *ev_chan_name(unsigned c);
const char *ev_proto_name(unsigned p);
const char *drop_reason_name(unsigned r);
const char *link_type_name(unsigned l);

/* The class of events of type t (claim 9): network types receive, timer types (tcp_rto ..
 * tcp_keepalive, roce_ack_timer) timer, host types (tcp_send .. tcp_recv_credit,
 * roce_connect) host, tcp_internal, tcp_notify and roce_internal internal. */
unsigned ev_class_of(unsigned t);

/* A zeroed event with every "none" field set (flow, handle, wscale). */
void event_clear(event *e);

#ifdef __cplusplus
}
#endif
#endif

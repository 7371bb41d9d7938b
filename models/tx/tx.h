/* tx: the transmit side of the network port. Builds the chip's TCP segments (tx_emit) and
 * RoCEv2 acknowledgements (tx_emit_roce) from a per-flow header template and the fields a
 * core's tx_emit or tx_roce command gives, with correct IPv4 header, TCP and UDP checksums and
 * the RoCE ICRC, and sends them through one transmit queue at the port's line rate.
 *
 * Template (tx_template command): the headers of a frame the flow received, reversed: Ethernet
 * MAC addresses swapped and 802.1Q/802.1ad tags kept; IPv4 or IPv6 addresses swapped (IPv4:
 * no options, TTL 64, DF set, ToS 0, an identification that counts per flow from 0; IPv6: hop
 * limit 64, traffic class 0, flow label 0, no extension headers). Frames that arrived without
 * an Ethernet header (Linux SLL/SLL2, raw IP, BSD null) get one with the addresses
 * 02:00:00:00:00:01 (chip) and 02:00:00:00:00:02 (peer), so the transmitted trace is always
 * Ethernet (DLT_EN10MB). The transport decides the template's kind:
 * - TCP: ports swapped. Used by tx_emit.
 * - RoCEv2 (UDP to destination port 4791): UDP source port = the received frame's UDP source
 *   port (the requester's entropy value: all of a template's ACKs keep one port pair, so one
 *   ECMP path), destination port 4791. Used by tx_emit_roce.
 * A segment or packet whose flow has no template of its kind is refused (drops_no_template).
 *
 * Segment (tx_emit): seq, ack, window (as it goes on the wire, already scaled), flags; options
 * in this order, each only when asked for: MSS (kind 2), NOP + window scale (kind 3), NOP NOP +
 * SACK-permitted (kind 4), NOP NOP + SACK blocks (kind 5, up to 4); each group is a multiple of
 * 4 bytes, so no end-of-list padding is needed. SACK blocks that would take the options past
 * TCP's 40 bytes are left out, last first. No payload.
 *
 * Segment with payload (tx_emit_data, the tx_data command; issue 5): the same headers (the
 * microcode gives no options for data, but any given are built) followed by len payload bytes;
 * the IPv4 total length or IPv6 payload length and the TCP checksum cover them. A segment is
 * refused (drops_too_long, tx_data_stats) when the IP length field cannot hold it: IPv4
 * 20 + TCP header + len > 65535, IPv6 TCP header + len > 65535 (so at most 65495 and 65515
 * payload bytes without options; the microcode keeps len <= the peer's MSS anyway). The caller
 * reads the payload (smc_snd_read) and emits at the cycle it has it.
 *
 * SND.NXT at the port: per flow (since its template was set) the transmit unit keeps the highest
 * sequence number its TCP segments reached (payload, SYN and FIN counted). A pure ACK (no
 * payload, no SYN, FIN or RST) given an older sequence number goes with that one instead
 * (tx_data_stats.acks_stamped): the receive-side core that acknowledges does not own the send
 * side's state (claim 11), and a receiver drops a segment whose sequence number lies below its
 * RCV.NXT, ACK field and all (RFC 9293 3.10.7.4). A chip that never sends data is unaffected.
 *
 * The last ACK at the port (issue 11): per flow (since its template was set) the transmit unit
 * also keeps the ACK number and window (as sent) of the last segment with ACK it queued (RST
 * aside), in emit order, which is the order the peer receives them in: from either core, pure
 * ACK or data. tx_ack_sent tells a core whether an ACK it is about to send would repeat it (the
 * tx_ack_sent command): the receive side's delayed ACK is redundant when the send side's data
 * already carried that ACK number or a later one with the same window. A segment still on its
 * way to the unit (in the channel, or its payload being read) is not counted yet, so the
 * answer errs only towards sending.
 *
 * Template from a flow key (tx_set_template_key, for an active open: the host opened the flow,
 * no frame was received): the key is oriented as the peer's frames would be (src = peer, dst =
 * the chip), and the template is what tx_set_template would build from a received untagged
 * Ethernet TCP frame of that key whose MAC addresses are the ones given (default chip
 * 02:00:00:00:00:01, peer 02:00:00:00:00:02, as for frames without Ethernet): chip address and
 * port as source, no VLAN tag, IPv4 identification from 0.
 *
 * RoCE packet (tx_emit_roce): UDP (length 28; checksum 0 over IPv4, computed over IPv6 as
 * RoCEv2 requires, a computed 0 sent as 0xffff), the 12-byte BTH (the given opcode; SE 0, M 1,
 * pad 0, TVer 0, P_Key 0xffff, reserved 0, destination QP, AckReq 0, PSN), the 4-byte AETH
 * (syndrome, MSN) and the ICRC (icrc.h; least significant byte first). The layout is always
 * BTH + AETH, that of ACKNOWLEDGE (opcode 0x11), whatever the opcode says: the caller gives
 * 0x11. PSN, MSN and QP keep their low 24 bits. Frame: 62 bytes over IPv4, 82 over IPv6, plus
 * 4 per VLAN tag.
 *
 * Timing: a frame emitted at cycle at is built in build_cycles (whatever its payload: the
 * payload streams through), waits for the port, and takes serialisation time
 * ceil((frame bytes, payload included, + 4 FCS + 20 preamble and gap) * 8 * clock_mhz /
 * link_mbps) cycles; it leaves (tx_out.depart) when its last bit is sent. The port sends frames
 * one at a time in emit-call order (not in order of at; TCP and RoCE alike), starting each at
 * max(at + build_cycles, the end of the previous frame). The queue holds cfg.depth frames, each
 * from its emit until the caller pops it (being built, waiting, or departed and not yet popped:
 * a caller that never pops makes emits refuse); when full, emits are refused and counted
 * (drops_queue_full): the chip's ACKs are not retried. */
#ifndef SPPSIM_TX_H
#define SPPSIM_TX_H

#include "event.h"
#include "flow_key.h"
#include "params.h"
#include "sim_types.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TX_MAX_FRAME 256 /* headers only: 14 + 2*4 + 40 + 60 < 256 (RoCE: 22 + 40 + 28) */
/* The longest frame: headers (Ethernet with two tags, IPv6, TCP with options) + 65535. */
#define TX_MAX_DATA_FRAME (22 + 40 + 60 + 65535)

typedef struct tx_cfg {
    uint32_t clock_mhz;
    uint32_t build_cycles;
    uint32_t link_mbps;
    uint32_t depth;
} tx_cfg;

typedef struct tx_seg {
    uint32_t seq;
    uint32_t ack;
    uint16_t win;
    uint8_t flags;   /* TCPF_* */
    uint8_t wscale;  /* WSCALE_NONE: no window-scale option */
    uint16_t mss;    /* 0: no MSS option */
    uint8_t sack_ok; /* SACK-permitted option */
    uint8_t nsack;   /* SACK blocks, 0..EV_MAX_SACK */
    uint32_t sack[EV_MAX_SACK][2];
} tx_seg;

/* A RoCEv2 packet's fields (the tx_roce command's r1..r4). */
typedef struct tx_roce {
    uint8_t opcode;   /* BTH opcode: 0x11 ACKNOWLEDGE */
    uint32_t psn;     /* 24 bits */
    uint8_t syndrome; /* AETH: ACK 0x00 | credits, RNR NAK 0x20 | timer, NAK 0x60 | code */
    uint32_t msn;     /* AETH message sequence number, 24 bits */
    uint32_t dest_qp; /* the requester's QP, 24 bits */
} tx_roce;

/* A departed frame. frame points into storage of the queue slot that carried it: valid until
 * tx_pop_out, and in fact until the slot carries another frame (cfg.depth emits later), so a
 * copy of a tx_out may be read (and its bytes changed, as tests do) after its pop until then. */
typedef struct tx_out {
    uint32_t flow;
    uint32_t len; /* up to TX_MAX_DATA_FRAME */
    cycle_t depart;
    uint8_t *frame;
} tx_out;

typedef struct tx_stats {
    uint64_t templates;
    uint64_t frames;
    uint64_t bytes;
    uint64_t drops_queue_full;
    uint64_t drops_no_template;
    uint64_t busy_cycles; /* port serialising */
} tx_stats;

/* The send side's counters (issue 5), a table of their own: tx_stats's list is pinned. */
typedef struct tx_data_stats {
    uint64_t data_frames;    /* departed with payload */
    uint64_t payload_bytes;  /* their payload */
    uint64_t drops_too_long; /* tx_emit_data refused: IP length overflow */
    uint64_t key_templates;  /* tx_set_template_key (not in tx_stats.templates) */
    uint64_t acks_stamped;   /* pure ACKs sent with the flow's SND.NXT instead of an older seq */
} tx_data_stats;

typedef struct tx tx; /* opaque */

extern const param_table tx_params;
extern const stat_def tx_stat_defs[];
extern const size_t tx_stat_count;
extern const stat_def tx_data_stat_defs[];
extern const size_t tx_data_stat_count;

void tx_cfg_default(tx_cfg *c);
tx *tx_new(const tx_cfg *cfg, uint32_t flows, sim_err *err);
void tx_free(tx *t);

/* Builds flow's template from the received frame (len bytes as stored in the scratchpad, its
 * link type and the IPU's l3/l4 offsets) and restarts the flow's IPv4 identification at 0. The
 * frame's transport sets the template's kind (TCP, or RoCEv2: UDP to port 4791); a new template
 * replaces the flow's old one of either kind. Returns 0, or -1 when the frame is neither TCP nor
 * RoCEv2 over IPv4 or IPv6, is too short for its headers (20 bytes of TCP, 8 of UDP), its
 * offsets do not fit its link type, or flow is out of range (the template is then unchanged). */
int tx_set_template(tx *t, uint32_t flow, const uint8_t *frame, uint32_t len, unsigned link,
                    uint32_t l3_off, uint32_t l4_off);
void tx_clear_template(tx *t, uint32_t flow);
/* Queues a TCP segment of flow at cycle at. Returns 1 when queued; 0 when refused, counted: the
 * flow has no TCP template (drops_no_template; a RoCE template does not count), or the queue is
 * full (drops_queue_full). */
int tx_emit(tx *t, uint32_t flow, const tx_seg *s, cycle_t at);
/* Queues a TCP segment of flow with len payload bytes (copied; payload may be NULL when len is
 * 0) at cycle at. Returns 1 when queued; 0 when refused, counted: no TCP template
 * (drops_no_template), the queue full (drops_queue_full; also when the host cannot allocate
 * the frame's storage), or too long for the IP length field (tx_data_stats.drops_too_long).
 * A slot carrying a frame longer than TX_MAX_FRAME keeps a buffer of the largest such frame it
 * carried, so the host memory is at most cfg.depth x the longest frame, used only as needed. */
int tx_emit_data(tx *t, uint32_t flow, const tx_seg *s, const uint8_t *payload, uint32_t len,
                 cycle_t at);
/* Builds flow's TCP template from its key (see Template from a flow key; k as the peer sends:
 * src = peer), replacing any template of the flow, and restarts its IPv4 identification at 0.
 * chip_mac / peer_mac: 6 bytes each, NULL for the defaults. Returns 0, or -1 (template
 * unchanged) when flow is out of range or k is not TCP over IPv4 or IPv6. */
int tx_set_template_key(tx *t, uint32_t flow, const flow_key *k, const uint8_t chip_mac[6],
                        const uint8_t peer_mac[6]);
/* Queues a RoCEv2 packet of flow (an ACK or NAK: BTH + AETH) at cycle at, in the same queue and
 * with the same timing and counters as tx_emit. Returns 1 when queued; 0 when refused, counted:
 * the flow has no RoCE template (drops_no_template; a TCP template does not count), or the
 * queue is full (drops_queue_full). */
int tx_emit_roce(tx *t, uint32_t flow, const tx_roce *r, cycle_t at);

/* The ACK number and window (as it went on the wire) of flow's last TCP segment with ACK queued
 * since its TCP template was set (see The last ACK at the port). Returns false, *ack and *win
 * unchanged, when there was none, the flow has no TCP template, or flow is out of range. */
bool tx_last_ack(const tx *t, uint32_t flow, uint32_t *ack, uint16_t *win);
/* True when an ACK (ack, window win as sent) on flow would tell the peer nothing new: tx_last_ack
 * has one whose ACK number is ack or later (modulo 2^32, RFC 1982) and whose window is win. */
bool tx_ack_sent(const tx *t, uint32_t flow, uint32_t ack, uint32_t win);

/* The departure cycle of the oldest frame not yet moved to the out-queue, or CYCLE_NEVER. */
cycle_t tx_next_cycle(const tx *t);
/* Moves every frame whose departure cycle is at or before now to the out-queue; returns how
 * many. */
unsigned tx_advance(tx *t, cycle_t now);
/* Departed frames, in departure order. *o points into the queue and stays valid until
 * tx_pop_out; false when no frame has departed. */
bool tx_peek_out(const tx *t, const tx_out **o);
/* pre: tx_peek_out would return true. */
void tx_pop_out(tx *t);
/* True when the queue holds nothing (none building, waiting or departed and not popped). */
bool tx_idle(const tx *t);
const tx_stats *tx_get_stats(const tx *t);
const tx_data_stats *tx_get_data_stats(const tx *t);
/* The end of the warm-up (STYLE.md): zeroes the counters (both tables). */
void tx_reset_stats(tx *t);
/* Frames occupying the queue (of cfg.depth), departed ones not yet popped included. */
uint32_t tx_queued(const tx *t);

#ifdef __cplusplus
}
#endif
#endif

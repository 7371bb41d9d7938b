; tcp.uc: TCP termination. Two halves that share no state and run on different cores at once
; (claims 1, 11, 23): the receive side (portion rx: the connection's states, passive and
; active open, received data, our ACKs) and the send side (portion tx: segmentation, ACK
; processing, congestion control, retransmission, zero-window probes, our FIN, the SYN of an
; active open). They talk through core-generated events (claim 15): tcp_internal, the receive
; side's word to the send side (run on a send-cluster core), and tcp_notify, the send side's
; word to the receive side.
;
; ==== The receive side ==========================================================================
; A flow opens with the peer's SYN (or, with pickup, with a data segment of a connection already
; under way), or with our SYN (active open, below); the chip answers SYN-ACK, places in-order
; payload in the flow's socket buffer (sock_append) and hands it to the host (sock_deliver),
; keeps up to four out-of-order intervals (placed in the buffer too, reported as SACK blocks),
; acknowledges with delayed ACKs (every ACK_EVERY full-sized segments or after DELACK_US), and
; closes on the peer's FIN or on an acceptable RST.
;
; Who drives the send side. When the handshake completes, sock_event 1 tells the host
; application, whose answer says whether it drives this flow's send side (it will raise
; tcp_send / tcp_close). The answer is kept as bit HOST of rx.state:
;  - 0 (application `none`, the replay default): the receive-only behaviour, exactly as before
;    the send side existed: the peer's FIN gets FIN|ACK at once (CLOSE_WAIT is passed through
;    to LAST_ACK), any ACK moves the closing states on (see the replay caveats), no word to the
;    send side, and no other sock_event.
;  - 1 (HOST set, "host-driven"): the peer's FIN gets an ACK and the flow waits in CLOSE_WAIT
;    for the host's close; our FIN comes from the send side, which says so (N_FIN_SENT); the
;    ACK of our FIN is recognised (SEG.ACK beyond its sequence number) and frees every byte
;    before it in the send buffer at once (snd_ack: the flow may close before the send side
;    hears of that ACK, and the bytes would count as discarded); ACKs are forwarded to
;    the send side (K_ACK, below); sock_event 2 (the peer's FIN in order), 3 (reset), 4 (closed)
;    tell the host application.
; An active open is always host-driven (the host opened it).
;
; States (rx.state, low four bits; bit 4 = HOST). A fresh flow's record is all zeros, so 0 is
; both CLOSED and LISTEN.
;   0 CLOSED/LISTEN  1 SYN_RCVD  2 ESTABLISHED  3 FIN_WAIT_1  4 FIN_WAIT_2  5 CLOSE_WAIT
;   6 LAST_ACK       7 TIME_WAIT 8 SYN_SENT     9 CLOSING
; Without HOST, CLOSE_WAIT is never stored (FIN|ACK at once), CLOSING is not used (without ACK
; validation a FIN in FIN_WAIT_1 is taken as FIN_WAIT_2's), SYN_SENT never happens, and
; FIN_WAIT_1/2 are not reachable (only the send side sends our FIN first). Keeping the host-
; driven states apart (HOST | state) leaves every receive-only path as fast as it was: the
; ESTABLISHED fast paths compare with the plain value first.
;
; Active open. The send side sends the SYN and tells us N_SYN_SENT (our ISS, the buffer size):
; CLOSED -> SYN_SENT. The SYN-ACK must acknowledge iss + 1; we record the peer's ISN and options
; (MSS, window scale: we scale only when it sent the option too; SACK-permitted), ACK it, go to
; ESTABLISHED, sock_event 1, and tell the send side (K_EST).
;
; Our ACKs' sequence number (rx.snd_nxt). Without HOST it is iss + 1, + 1 after our FIN, as
; before. On a host-driven flow the send side moves SND.NXT; we cannot read it (its portion is
; on another core), so rx.snd_nxt follows what we learn: the peer's ACK numbers (the peer has
; received everything below them), the send side's N_IN_FLIGHT and N_FIN_SENT words. An ACK of
; ours may therefore carry a sequence number behind data the send side has just sent; it is
; still at or after what the peer acknowledged last, so a receiver that checks ACK-only
; segments against the ACK it last sent (as RFC 9293's RCV.NXT check does when no newer data
; arrived, and as Linux's rcv_wup check does) takes it.
;
; Receiver window updates (tcp_recv_credit, host-driven only; replay never raises it): when the
; host read data, an ACK goes out if the right edge we can offer (rcv_nxt + window) is at least
; min(buffer / 2, the peer's MSS) beyond the one we advertised last (RFC 1122 §4.2.3.3, receiver
; SWS avoidance). "Advertised last" is our last ACK's (rx.adv_ack, rx.adv_wnd); the send side's
; segments advertise windows too, which we do not see: at worst an extra window update. But
; no update goes when the flow's last segment (the send side's data, say) already carried
; rcv_nxt and that very window (the tx_ack_sent command: see send_ack_new).
;
; Delayed ACKs and the send side. The send side's data acknowledges too (irs + 1 + sock_rcv), so
; when the delayed-ACK timer fires after data went that already covered the segment, the ACK
; would only repeat that segment's ACK number and window (a duplicate ACK for the peer). The
; timer's handler therefore asks the transmit unit (tx_ack_sent) whether the flow's last segment
; with ACK carried rcv_nxt or later with the window it would send, and sends nothing if so. The
; send side does not cancel our timer (it cannot see rx.delack, and a segment arriving here
; between its sock_rcv and its tx_data would then never be acknowledged); asking the transmit
; unit at expiry is race-free: it counts only segments it has queued.
;
; ==== The receive side's words to the send side (tcp_internal: arg = kind | flags, seq, ack, dma_len)
;   K_EST  (1) established. arg bits 8..11 the peer's window shift (0 unless both sides sent the
;              option), bits 12..15 our receive shift, bits 16..31 the peer's MSS; seq = our ISS,
;              ack = the peer's ISN, dma_len = the peer's window in bytes (the establishing
;              segment's: the ACK's scaled, a SYN-ACK's as it is).
;   K_ACK  (2) an acknowledgment: seq = SEG.SEQ, ack = SEG.ACK, dma_len = SEG.WND raw
;              (unscaled); arg bit 8 (KF_DATA) when the segment carried data, FIN or SYN (not a
;              duplicate-ACK candidate). Forwarded, on host-driven flows only, for every
;              ACK-bearing segment whose ACK number or window differs from the last forwarded
;              (so the send side never keeps a stale window, even before it sent anything), and,
;              once the send side said N_IN_FLIGHT, for every pure ACK (a possible duplicate:
;              the send side applies RFC 5681's definition).
;   K_PEER_FIN (3) the peer's FIN is in order: the send side's ACK numbers count it.
;   K_CONT (4) the send side to itself: MAX_BURST segments went in one event and more may go.
;
; ==== The send side's words to the receive side (tcp_notify: arg = kind, seq, ack) =============
;   N_SYN_SENT  (1) our SYN went out: seq = our ISS, ack = the buffer size (sock_open's answer).
;                   CLOSED -> SYN_SENT | HOST.
;   N_IN_FLIGHT (2) the send side has sent data: forward pure ACKs from now on; seq = its
;                   snd_max (for rx.snd_nxt).
;   N_FIN_SENT  (3) our FIN went out at seq: ESTABLISHED -> FIN_WAIT_1, CLOSE_WAIT -> LAST_ACK.
;   N_ABORT     (4) the send side sent RST (the host aborted, or retransmissions gave up): the
;                   flow closes (sock_event 4, flow_close).
; Races: these words travel while the peer's segments arrive, and we handle:
;  - a SYN-ACK before N_SYN_SENT: the flow is still CLOSED here: it is dropped; our SYN is
;    retransmitted at the RTO and the peer answers again (or retransmits its SYN-ACK).
;  - the ACK of our FIN before N_FIN_SENT: it was forwarded (its number changed) and recorded in
;    rx.peer_ack; N_FIN_SENT checks it and goes straight to FIN_WAIT_2 (or, from CLOSE_WAIT,
;    closes).
;  - the peer's FIN before N_FIN_SENT (a simultaneous close): ESTABLISHED -> CLOSE_WAIT, then
;    N_FIN_SENT -> LAST_ACK; the flow closes on the ACK of our FIN without a TIME_WAIT.
;  - K_PEER_FIN reaches the send side after the peer's FIN: its segments sent meanwhile carry
;    an ACK number one short (an old ACK for the peer, harmless).
;  - N_ABORT after the flow closed: ignored (state CLOSED).
;
; ==== The send side (portion tx; host, internal, tcp_rto and tcp_keepalive events) ==============
; Sequence numbers: the stream offset of s is s - (iss + 1); tx.written is the stream offset of
; the end of what the host wrote (the largest tcp_send seq), where our FIN goes.
;  - Output (tx_output): from snd_nxt, segments of min(SMSS, written, window) bytes, window =
;    snd_una + min(cwnd, snd_wnd); tx_data with ack = irs + 1 + sock_rcv (+ 1 after the peer's
;    FIN), window = sock_space >> our shift, flags ACK, PSH on the segment that empties what was
;    written, FIN on it too once the host closed (or FIN alone). Sender SWS avoidance: a segment
;    shorter than SMSS goes only when it empties what was written or nothing is in flight. At
;    most MAX_BURST segments per event (CORE_MAX_CMDS = 32 commands), then K_CONT to itself.
;  - ACK processing (K_ACK): SEG.ACK beyond snd_max or before snd_una is ignored; the window is
;    taken when the segment is newer (RFC 9293: SND.WL1 < SEG.SEQ, or == and SND.WL2 <=
;    SEG.ACK); new data acknowledged frees send-buffer pages (snd_ack), then slow start (cwnd +=
;    min(acked, SMSS)) below ssthresh, congestion avoidance by byte counting above (+SMSS per
;    cwnd bytes acknowledged) (RFC 5681 §3.1). Duplicate ACKs (RFC 5681 §2: data outstanding,
;    no data/FIN/SYN, ACK = snd_una, same window): the third starts fast retransmit and NewReno
;    fast recovery (RFC 6582) unless SEG.ACK does not cover recover: recover = snd_max - 1,
;    ssthresh = max(FlightSize / 2, 2 SMSS), the first unacknowledged segment again, cwnd =
;    ssthresh + 3 SMSS, + SMSS per further duplicate; a partial ACK retransmits the next hole,
;    deflates cwnd by the bytes acknowledged (+ SMSS when at least SMSS) and restarts the timer;
;    a full ACK sets cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS). No limited transmit.
;  - Retransmission timer (RFC 6298; timer 0, tcp_rto): RTO 1 s until the first RTT sample,
;    then SRTT + max(RTO_G_US, 4 RTTVAR) within [RTO_MIN_US, RTO_MAX_US]; one segment timed at a
;    time (its end in tx.rtt_seq, `ldev now_us` in tx.rtt_start), never a retransmitted one
;    (Karn), the sample taken when an ACK covers it (on the send core, so it includes the
;    K_ACK's trip from the receive core). The timer runs while data is outstanding:
;    armed when a segment goes and it is not running, restarted by an ACK of new data, stopped
;    when everything is acknowledged. On expiry: RTO doubles (up to RTO_MAX_US; back to the
;    computed value with the next sample), ssthresh = max(FlightSize / 2, 2 SMSS) (on the first
;    expiry of a loss only), cwnd = 1 SMSS, recover = snd_max - 1, snd_nxt = snd_una (go back
;    N), recovery ends. After MAX_BACKOFF expiries without an ACK of new data: abort (RST).
;  - Zero window (timer 3, tcp_keepalive, is the persist timer): when data waits, the peer's
;    window is 0 and nothing is in flight (no retransmission timer), the persist timer starts
;    at RTO; each expiry sends a 1-byte probe at snd_una (beyond the window) and doubles the
;    interval (up to RTO_MAX_US). An ACK that opens the window ends persist; an unacknowledged
;    probe byte is sent again as normal data.
;  - tcp_close: arg 0 close (FIN after the written data), 1 abort (RST, the receive side told).
;  - Active open (tcp_send with arg 1 on a CLOSED send side): ISS, tx_key_template, sock_open
;    (our MSS, OUR_WSCALE: the buffers are sized before the peer's options are known), SYN with
;    MSS, window scale OUR_WSCALE and SACK-permitted (tx_emit), timer 0, N_SYN_SENT. The SYN is
;    retransmitted with back-off; K_EST ends SYN_SENT (initial window 1 SMSS if the SYN was
;    retransmitted, RFC 5681 §3.1).
;  - ISS, one rule for both opens: ((sport << 16 | dport) ^ S) * ISS_MUL, with S the peer's ISN
;    for a passive open and the time in microseconds (ldev now_us) for an active one.
; The send side's states (tx.tstate): 0 closed (nothing known yet, or aborted), 1 SYN_SENT,
; 2 established (K_EST seen). Data and a close that arrive before K_EST are kept (tx.written,
; TF_CLOSE) and go when it comes.
;
; ==== Flow-state record ===========================================================================
; Portion rx (receive, network and timer events except tcp_rto and tcp_keepalive; tcp_notify;
; tcp_recv_credit):
;   rx.state      1  the state above (| HOST)
;   rx.rcv_shift  1  receive window shift in use: OUR_WSCALE when the peer sent window scale,
;                    0 when not, PICKUP_SHIFT for a picked-up flow
;   rx.sack_ok    1  1 when the peer's SYN carried SACK-permitted (we then send SACK blocks)
;   rx.peer_ws    1  the peer's window-scale option, 255 when absent (for SYN-ACK retransmits)
;   rx.peer_mss   2  the peer's MSS option (536 when absent)
;   rx.full_seg   2  payload length of a full-sized segment: peer_mss, less TS_OPT_LEN when
;                    the peer's SYN offered timestamps (the replayed segments then carry the
;                    option, which costs payload: 1448 bytes, not 1460; see the replay caveats)
;   rx.nooo       1  intervals in the out-of-order list (0..OOO_MAX)
;   rx.unacked    1  full-sized in-order segments received since our last ACK
;   rx.delack     1  1 while the delayed-ACK timer is armed
;   rx.picked_up  1  1 when the flow was opened mid-stream by a data segment
;   rx.irs        4  the peer's initial sequence number; stream offset of s = s - irs - 1
;   rx.rcv_nxt    4  next sequence number expected
;   rx.iss        4  our initial sequence number
;   rx.snd_nxt    4  the sequence number of our ACKs (see above)
;   rx.ooo0_l .. rx.ooo3_r  4 each: the out-of-order list, intervals [l, r) of sequence
;                    numbers already placed in the buffer, all after rcv_nxt, sorted by left
;                    edge, disjoint and not adjacent. Consecutive (left, right) word pairs:
;                    tx_emit copies the first nsack of them as the SACK blocks.
;   rx.bytes_in   4  payload bytes that became in order (rcv_nxt's advance by data; includes
;                    out-of-order bytes once a hole fill reaches them). Modulo 2^32 this is
;                    also the stream offset of rcv_nxt (rcv_nxt - irs - 1) for as long as
;                    data can arrive (only the FIN advances rcv_nxt otherwise, and no data is
;                    taken after it): the in-order path uses it as that offset, which saves
;                    recomputing it from irs twice per segment.
;   rx.segs_in    4  data segments received in a receiving state (in order, old or ahead)
;   rx.ooo_segs   4  ... of which ahead of rcv_nxt
;   rx.dup_segs   4  ... of which entirely old (duplicates)
;   rx.acks_sent  4  ACK and FIN|ACK segments sent (not SYN-ACKs)
;   rx.fin_seq    4  host-driven: our FIN's sequence number (N_FIN_SENT)
;   rx.peer_ack   4  host-driven: the last ACK number forwarded to the send side
;   rx.adv_ack    4  the ACK number of our last ACK (or SYN-ACK) ...
;   rx.buf        4  the receive buffer's size (sock_open's answer)
;   rx.peer_wnd   2  host-driven: the last window (raw) forwarded to the send side
;   rx.adv_wnd    2  ... and the window it advertised (as sent), for window updates
;   rx.txon       1  host-driven: 1 once the send side said N_IN_FLIGHT
; Portion tx (host events, tcp_internal, tcp_rto, tcp_keepalive):
;   tx.tstate 1, tx.tflags 1 (TF_* below), tx.snd_shift 1 (the peer's window shift),
;   tx.rcv_shift 1 (ours), tx.mss 2 (SMSS: the peer's MSS; ours while SYN_SENT), tx.dupacks 1,
;   tx.backoff 1 (retransmission-timer expiries since an ACK of new data), tx.iss, tx.irs,
;   tx.snd_una, tx.snd_nxt, tx.snd_max (the highest sequence number sent + 1), tx.snd_wnd
;   (bytes), tx.wl1, tx.wl2, tx.written, tx.cwnd, tx.ssthresh, tx.recover, tx.ca_acc (bytes
;   acknowledged toward the next congestion-avoidance increase), tx.srtt, tx.rttvar, tx.rto,
;   tx.persist (microseconds), tx.rtt_seq, tx.rtt_start, tx.segs_out (segments sent, SYN and
;   retransmissions included), tx.rexmits (retransmitted segments): 4 bytes each.
;
; Replay caveats (flows that are not host-driven). sppsim replays captures open loop: the peer's
; segments are the ones it sent to the original server, whatever the chip answers. Hence:
;  - SEG.ACK refers to the original server's sequence space, not to our ISS, so it is NOT
;    validated against snd_una/snd_nxt: any ACK completes the handshake, moves FIN_WAIT_1 on,
;    or ends LAST_ACK. (Host-driven flows check it against our FIN.)
;  - every byte the original server accepted must be accepted here: data is refused only when
;    the socket buffer refuses it (sock_append answers 0) or, for data ahead of rcv_nxt, when
;    the out-of-order list is full; the peer then retransmits it.
;  - our ACKs and windows do not steer the peer: they are the chip's output, to be measured.
;    A pure ACK in LAST_ACK ends the flow even if, in the capture, it acknowledged the original
;    server's data rather than a FIN (the server half-closed later than we do).
;  - the peer keeps the options it negotiated with the original server: if its SYN offered
;    timestamps, its segments carry them though our SYN-ACK does not (hence rx.full_seg).
;
; Registers in the receive handlers: r1..r5 command arguments, r0 answers (commands change
; nothing else); r6 state, r7 seq, r8 payload length, r9 rcv_nxt, r10 -(irs + 1) on the
; out-of-order path (adding it to a sequence number gives the stream offset), r11..r15 scratch.
; In the send handlers: r6 tx.tflags (stored back at tx_exit), r3 the ACK number and r12 the
; window << 16 of our segments, r9 = iss + 1, r13 the written end's sequence number (tx_prep),
; r7 snd_una, r8 snd_nxt, r10 the right edge of what may be in flight, r15 segments left in the
; burst.

.protocol tcp

; ---- constants ----------------------------------------------------------------------------
.const ST_CLOSED      = 0               ; also LISTEN: a fresh record
.const ST_SYN_RCVD    = 1
.const ST_ESTABLISHED = 2
.const ST_FIN_WAIT_1  = 3
.const ST_FIN_WAIT_2  = 4
.const ST_CLOSE_WAIT  = 5               ; stored only on host-driven flows
.const ST_LAST_ACK    = 6
.const ST_TIME_WAIT   = 7
.const ST_SYN_SENT    = 8               ; host-driven only (an active open)
.const ST_CLOSING     = 9               ; host-driven only
.const HOST           = 0x10            ; rx.state bit: the host application drives the send side

.const T_RTO          = 0               ; flow timer ids (timer i expires as tcp_rto + i)
.const T_DELACK       = 1
.const T_TIME_WAIT    = 2
.const T_KEEPALIVE    = 3
.const T_PERSIST      = T_KEEPALIVE     ; the send side's persist timer (zero window)

.const OUR_MSS        = 1460            ; MSS we advertise
.const OUR_WSCALE     = 7               ; window scale we send (passive open: only if the peer did)
.const PICKUP_SHIFT   = 14              ; a picked-up flow's scaling is unknown: assume the most
.const PICKUP_MSS     = 1460            ; ... and a peer MSS of 1460
.const DEFAULT_MSS    = 536             ; peer MSS when its SYN has none (RFC 9293)
.const WSCALE_NONE    = 255             ; event field wscale when the option is absent
.const MAX_WS         = 14              ; largest window shift (RFC 7323)
.const TS_OPT_LEN     = 12              ; timestamp option bytes, padded (NOP NOP TS 10)
.const ACK_EVERY      = 2               ; ACK at once every this many full-sized segments
.const DELACK_US      = 40000           ; delayed-ACK timeout
.const MSL_US         = 1000000         ; MSL, shortened to 1 s for simulation
.const TIME_WAIT_US   = MSL_US + MSL_US ; 2 * MSL
.const MAX_WIN        = 65535           ; largest 16-bit window field
.const OOO_MAX        = 4               ; out-of-order intervals kept (= SACK blocks sent)
.const ISS_MUL        = 0x9e3779b1      ; ISS hash multiplier (2^32 / golden ratio, odd)

; the send side
.const RTO_INIT_US    = 1000000         ; RFC 6298: 1 s before the first RTT sample
.const RTO_MIN_US     = 200000          ; lower bound (RFC 6298 says 1 s; 200 ms as Linux, so
                                        ; that a simulated loss does not cost a whole second)
.const RTO_MAX_US     = 60000000        ; upper bound of the RTO and of the persist interval
.const RTO_G_US       = 1000            ; clock granularity G in RTO = SRTT + max(G, 4 RTTVAR)
.const MAX_BACKOFF    = 10              ; expiries without progress before the send side aborts
.const MAX_BURST      = 16              ; segments per event (the rest: K_CONT)
.const DUPACK_THRESH  = 3               ; duplicate ACKs that start fast retransmit
.const IW_BYTES       = 4380            ; RFC 5681: IW = min(4 SMSS, max(2 SMSS, 4380 bytes))
.const SSTHRESH_INIT  = 0x3fffffff      ; "arbitrarily high" (RFC 5681)

.const TS_CLOSED      = 0               ; tx.tstate
.const TS_SYN_SENT    = 1
.const TS_ESTAB       = 2

.const TF_CLOSE       = 0x01            ; tx.tflags: the host closed: FIN after the written data
.const TF_FIN_SENT    = 0x02            ;   our FIN has been sent (the receive side was told)
.const TF_PEER_FIN    = 0x04            ;   the peer's FIN is in order: our ACKs count it
.const TF_TIMING      = 0x08            ;   a segment is being timed (rtt_seq, rtt_start)
.const TF_RTO_ON      = 0x10            ;   the retransmission timer is armed
.const TF_PERSIST     = 0x20            ;   the persist timer is armed (zero window)
.const TF_TOLD        = 0x40            ;   N_IN_FLIGHT was sent
.const TF_RECOVERY    = 0x80            ;   in fast recovery
.const TFN_TIMING     = 0xff - TF_TIMING            ; masks that clear one flag
.const TFN_RTO_ON     = 0xff - TF_RTO_ON
.const TFN_PERSIST    = 0xff - TF_PERSIST
.const TFN_RECOVERY   = 0xff - TF_RECOVERY
.const TFN_LOSS       = 0xff - TF_RECOVERY - TF_TIMING

; core-generated events (claim 15): the types and the words' kinds (see the header)
.const EV_TCP_INTERNAL = 13
.const EV_TCP_NOTIFY  = 14
.const K_EST          = 1
.const K_ACK          = 2
.const K_PEER_FIN     = 3
.const K_CONT         = 4
.const KF_DATA        = 0x100
.const N_SYN_SENT     = 1
.const N_IN_FLIGHT    = 2
.const N_FIN_SENT     = 3
.const N_ABORT        = 4

.const SE_ESTABLISHED = 1               ; sock_event: what happened
.const SE_PEER_CLOSED = 2
.const SE_RESET       = 3
.const SE_CLOSED      = 4

.const TCPF_FIN       = 0x01
.const TCPF_SYN       = 0x02
.const TCPF_RST       = 0x04
.const TCPF_PSH       = 0x08
.const TCPF_ACK       = 0x10
.const TCPF_SYNACK    = TCPF_SYN + TCPF_ACK
.const TCPF_FINACK    = TCPF_FIN + TCPF_ACK
.const TCPF_RSTACK    = TCPF_RST + TCPF_ACK

.const OPT_WS_ON      = 0x100000        ; tx_emit option word: bit 20 sends window scale,
.const OPT_WS_SHIFT   = 16              ;   whose value is in bits 16..19
.const OPT_SACK_OK    = 0x200000        ;   bit 21 sends SACK-permitted
.const OPT_NSACK_SHIFT = 24             ;   bits 24..26: SACK blocks to send

; ---- flow-state record ----------------------------------------------------------------------
.portion rx 104
.field state 1                          ; 0
.field rcv_shift 1                      ; 1
.field sack_ok 1                        ; 2
.field peer_ws 1                        ; 3
.field peer_mss 2                       ; 4
.field full_seg 2                       ; 6
.field nooo 1                           ; 8
.field unacked 1                        ; 9
.field delack 1                         ; 10
.field picked_up 1                      ; 11
.field irs 4                            ; 12
.field rcv_nxt 4                        ; 16
.field iss 4                            ; 20
.field snd_nxt 4                        ; 24
.field ooo0_l 4                         ; 28: the out-of-order list / SACK blocks,
.field ooo0_r 4                         ;     OOO_MAX (left, right) pairs, 8 bytes apart
.field ooo1_l 4
.field ooo1_r 4
.field ooo2_l 4
.field ooo2_r 4
.field ooo3_l 4
.field ooo3_r 4                         ; 56
.field bytes_in 4                       ; 60
.field segs_in 4                        ; 64
.field ooo_segs 4                       ; 68
.field dup_segs 4                       ; 72
.field acks_sent 4                      ; 76
.field fin_seq 4                        ; 80
.field peer_ack 4                       ; 84
.field adv_ack 4                        ; 88
.field buf 4                            ; 92
.field peer_wnd 2                       ; 96
.field adv_wnd 2                        ; 98
.field txon 1                           ; 100

.portion tx 100                         ; 104..203
.field tstate 1
.field tflags 1
.field snd_shift 1
.field rcv_shift 1
.field mss 2
.field dupacks 1
.field backoff 1
.field iss 4
.field irs 4
.field snd_una 4
.field snd_nxt 4
.field snd_max 4
.field snd_wnd 4
.field wl1 4
.field wl2 4
.field written 4
.field cwnd 4
.field ssthresh 4
.field recover 4
.field ca_acc 4
.field srtt 4
.field rttvar 4
.field rto 4
.field persist 4
.field rtt_seq 4
.field rtt_start 4
.field segs_out 4
.field rexmits 4

.const OOO_END = rx.ooo3_r + 4 - rx.ooo0_l     ; byte index of the end of a full list
; tx_emit's r5 carries the SACK blocks' address in bits 16..31: SACK_AT_R5 = rx.ooo0_l << 16.
; Expressions only add, so the shift is eight quadruplings (4^8 = 65536).
.const SACK_AT_X4     = rx.ooo0_l + rx.ooo0_l + rx.ooo0_l + rx.ooo0_l
.const SACK_AT_X16    = SACK_AT_X4 + SACK_AT_X4 + SACK_AT_X4 + SACK_AT_X4
.const SACK_AT_X64    = SACK_AT_X16 + SACK_AT_X16 + SACK_AT_X16 + SACK_AT_X16
.const SACK_AT_X256   = SACK_AT_X64 + SACK_AT_X64 + SACK_AT_X64 + SACK_AT_X64
.const SACK_AT_X1K    = SACK_AT_X256 + SACK_AT_X256 + SACK_AT_X256 + SACK_AT_X256
.const SACK_AT_X4K    = SACK_AT_X1K + SACK_AT_X1K + SACK_AT_X1K + SACK_AT_X1K
.const SACK_AT_X16K   = SACK_AT_X4K + SACK_AT_X4K + SACK_AT_X4K + SACK_AT_X4K
.const SACK_AT_R5     = SACK_AT_X16K + SACK_AT_X16K + SACK_AT_X16K + SACK_AT_X16K

; Portions (claim 11): no event type needs both, so a flow's receive and send events run on
; different cores at the same time (claims 1, 23).
.needs receive rx
.needs timer rx                         ; tcp_delack, tcp_time_wait
.needs tcp_rto tx
.needs tcp_keepalive tx                 ; the persist timer
.needs send tx
.needs host tx                          ; tcp_send, tcp_close
.needs tcp_recv_credit rx               ; a window update is the receive side's
.needs internal tx                      ; tcp_internal
.needs tcp_notify rx

; ---- entries ----------------------------------------------------------------------------------
.entry tcp_syn          syn
.entry tcp_synack       synack
.entry tcp_ack          ack
.entry tcp_data         data
.entry tcp_fin          finseg
.entry tcp_rst          rst
.entry tcp_rto          tx_rto
.entry tcp_delack       delack
.entry tcp_time_wait    time_wait
.entry tcp_keepalive    tx_persist
.entry tcp_send         tx_send
.entry tcp_close        tx_close
.entry tcp_recv_credit  credit
.entry tcp_internal     tx_internal
.entry tcp_notify       notify
.entry other            done            ; a segment with neither ACK nor anything else

; ---- macros -----------------------------------------------------------------------------------

; FIELD += 1 (32-bit counter), through scratch register R.
.macro bump FIELD, R
        ldw  \R, [\FIELD]
        add  \R, 1
        stw  [\FIELD], \R
.endm

; r10 = -(irs + 1) = ~irs: adding it to a sequence number gives that number's stream offset.
.macro load_stream_base
        ldw  r10, [rx.irs]
        not  r10
.endm

; Derives and stores our ISS for a passive open, deterministically from the opening segment
; (sequence number in SEQ, ports from the event): ((sport << 16 | dport) ^ seq) * ISS_MUL.
; snd_nxt = iss + 1. Clobbers r11, r12.
.macro set_iss SEQ
        ldev r11, sport
        shl  r11, 16
        ldev r12, dport
        or   r11, r12
        xor  r11, \SEQ
        mul  r11, ISS_MUL
        stw  [rx.iss], r11
        add  r11, 1
        stw  [rx.snd_nxt], r11
.endm

; ---- common exits -----------------------------------------------------------------------------

done:
        fin

; Send an ACK now, then finish.
ack_fin:
        call send_ack_ld
        fin

; ---- subroutines ------------------------------------------------------------------------------

; send_ack_ld / send_ack / send_seg: emit ACK (or FIN|ACK) seq snd_nxt, ack r3, window
; min(sock_space >> rcv_shift, MAX_WIN), and, when the peer is SACK-permitted, the out-of-order
; list as SACK blocks. Every ACK acknowledges everything: unacked = 0, and a pending delayed ACK
; is cancelled. Entries: send_ack_ld loads r3 = rcv_nxt; send_ack takes r3; send_seg takes r3
; and r5 = the flags. Clobbers r0..r5, r14.
send_ack_ld:
        ldw  r3, [rx.rcv_nxt]
send_ack:
        mov  r5, TCPF_ACK
send_seg:
        cmd  sock_space                 ; r0 = bytes free in the receive buffer
        ldb  r14, [rx.rcv_shift]
        shr  r0, r14
        min  r0, MAX_WIN
        mov  r4, r0                     ; r4 = window, as sent
send_seg_w:                             ; r4 = the window, as sent
        ldb  r1, [rx.nooo]
        ldb  r14, [rx.sack_ok]
        neg  r14                        ; sack_ok 1 -> all ones, 0 -> 0
        and  r1, r14                    ; r1 = SACK blocks to send
        shl  r1, OPT_NSACK_SHIFT        ; r1 = option word: no MSS, no window scale
        or   r5, SACK_AT_R5             ; r5 = flags | SACK block address << 16
        ldw  r2, [rx.snd_nxt]
        cmd  tx_emit
        stw  [rx.adv_ack], r3           ; what this ACK advertised (for window updates)
        sth  [rx.adv_wnd], r4
        stb  [rx.unacked], 0
        bump rx.acks_sent, r14
        ldb  r14, [rx.delack]
        jne  r14, 0, send_cancel_delack
        ret
send_cancel_delack:
        stb  [rx.delack], 0
        mov  r1, T_DELACK
        cmd  timer_cancel
        ret

; send_ack_new: send_ack_ld's ACK, unless the flow's last segment with ACK, ours or the send
; side's (whose data carries irs + 1 + sock_rcv and its window: we do not see it otherwise),
; already said the same: tx_ack_sent answers 1 when that segment, in transmit order, carried
; rcv_nxt or a later ACK number and the window we would advertise. Then nothing goes (it would
; be a duplicate ACK for the peer), but the peer has the ACK: unacked = 0 and it counts as
; advertised. With out-of-order data held (SACK blocks to report) it always goes. Race-free: the
; transmit unit counts only segments it queued, so a send side that read sock_rcv before our
; newest segment arrived carries an older ACK number, and ours goes. A pending delayed ACK is
; left to its timer (whose handler asks again). Clobbers r0..r5, r14.
send_ack_new:
        ldw  r3, [rx.rcv_nxt]
        mov  r5, TCPF_ACK
        cmd  sock_space
        ldb  r14, [rx.rcv_shift]
        shr  r0, r14
        min  r0, MAX_WIN
        mov  r4, r0                     ; r4 = window, as sent
        ldb  r14, [rx.nooo]
        jne  r14, 0, send_seg_w
        mov  r1, r3
        mov  r2, r4
        cmd  tx_ack_sent
        jeq  r0, 0, send_seg_w
        stw  [rx.adv_ack], r3
        sth  [rx.adv_wnd], r4
        stb  [rx.unacked], 0
        ret

; send_synack: (re)send our SYN-ACK: seq iss, ack rcv_nxt, window min(sock_space, MAX_WIN)
; unscaled (RFC 7323: a SYN's window is never scaled), options MSS OUR_MSS, window scale
; OUR_WSCALE if the peer sent window scale, SACK-permitted if the peer sent it. Records the
; ACK number and the window (in units of our shift) as the last advertised. Clobbers r0..r5, r11.
send_synack:
        cmd  sock_space
        min  r0, MAX_WIN
        mov  r4, r0
        mov  r1, OUR_MSS
        ldb  r11, [rx.peer_ws]
        jeq  r11, WSCALE_NONE, synack_no_ws
        mov  r11, OUR_WSCALE
        shl  r11, OPT_WS_SHIFT
        or   r11, OPT_WS_ON
        or   r1, r11
synack_no_ws:
        ldb  r11, [rx.sack_ok]
        jeq  r11, 0, synack_no_sack
        or   r1, OPT_SACK_OK
synack_no_sack:
        ldw  r2, [rx.iss]
        ldw  r3, [rx.rcv_nxt]
        mov  r5, TCPF_SYNACK
        cmd  tx_emit
        stw  [rx.adv_ack], r3
        mov  r0, r4
        ldb  r11, [rx.rcv_shift]
        shr  r0, r11
        sth  [rx.adv_wnd], r0
        ret

; ooo_close_gap: moves the out-of-order intervals at byte indexes [r15, r12) of the list down
; to byte index r14 and sets nooo to the new count (r14's final value / 8). Byte index = 8 *
; interval index. In: r14 <= r15 <= r12, multiples of 8. Clobbers r1, r2, r14, r15.
ooo_close_gap:
        jeq  r15, r12, ooo_gap_done
        ldw  r1, [r15 + rx.ooo0_l]
        ldw  r2, [r15 + rx.ooo0_r]
        stw  [r14 + rx.ooo0_l], r1
        stw  [r14 + rx.ooo0_r], r2
        add  r14, 8
        add  r15, 8
        ja   ooo_close_gap
ooo_gap_done:
        shr  r14, 3
        stb  [rx.nooo], r14
        ret


; establish: the handshake of a passive open completed (this event carries the ACK of our
; SYN-ACK): ESTABLISHED. Tells the host application (sock_event 1); when it drives the send side
; (answer 1) the state gets HOST and the send side is told (emit_est, the segment's window
; scaled). Keeps r6..r10. Clobbers r0..r5, r11..r13.
establish:
        mov  r1, SE_ESTABLISHED
        cmd  sock_event
        jne  r0, 0, establish_host
        stb  [rx.state], ST_ESTABLISHED
        ret
establish_host:
        stb  [rx.state], ST_ESTABLISHED + HOST
        ldev r5, win
        mov  r13, 1
; emit_est: records this event's ACK number and window (rx.peer_ack, rx.peer_wnd: the last
; forwarded) and sends K_EST to the send side. In: r5 = SEG.WND raw, r13 = 1 when the peer's
; shift applies to it (0 for a SYN-ACK: RFC 7323). Keeps r6..r10. Clobbers r0..r5, r11, r12.
emit_est:
        ldev r4, ack
        stw  [rx.peer_ack], r4
        sth  [rx.peer_wnd], r5
        ldb  r12, [rx.rcv_shift]
        mov  r11, 0                     ; the peer's shift: only when both sides scale
        jeq  r12, 0, emit_est_shift
        ldb  r11, [rx.peer_ws]
        min  r11, MAX_WS
emit_est_shift:
        jeq  r13, 0, emit_est_word
        shl  r5, r11                    ; the window in bytes
emit_est_word:
        shl  r12, 4
        or   r11, r12                   ; bits 0..3 the peer's shift, 4..7 ours
        ldh  r12, [rx.peer_mss]
        shl  r12, 8
        or   r11, r12                   ; bits 8..23 the peer's MSS
        shl  r11, 8
        or   r11, K_EST
        mov  r2, r11
        ldw  r3, [rx.iss]
        ldw  r4, [rx.irs]
        mov  r1, EV_TCP_INTERNAL
        cmd  ev_emit
        ret

; host_ack: this segment's ACK, on a host-driven flow. rx.snd_nxt (our ACKs' sequence number)
; follows what the peer acknowledged; the ACK of our FIN moves FIN_WAIT_1 to FIN_WAIT_2 and
; CLOSING to TIME_WAIT, and ends LAST_ACK; the send side gets the ACK (K_ACK) when its number or
; the window differs from the last forwarded, or, once data is in flight (rx.txon), when it is
; a pure ACK (a possible duplicate). r0 = 1 when the flow was closed (the caller finishes),
; else 0. Keeps r6..r10. Clobbers r0..r5, r11..r13.
host_ack:
        mov  r0, 0
        ldev r11, flags
        jset r11, TCPF_ACK, host_ack_go
        ret
host_ack_go:
        ldb  r12, [rx.state]
        jeq  r12, ST_SYN_SENT + HOST, host_ack_ret      ; only a SYN-ACK counts there
        ldev r4, ack
        ldw  r13, [rx.snd_nxt]
        seqmax r13, r4
        stw  [rx.snd_nxt], r13
        jeq  r12, ST_FIN_WAIT_1 + HOST, host_ack_fin
        jeq  r12, ST_CLOSING + HOST, host_ack_fin
        jeq  r12, ST_LAST_ACK + HOST, host_ack_fin
host_ack_fwd:
        ldev r5, win
        ldw  r13, [rx.peer_ack]
        jne  r4, r13, host_ack_send
        ldh  r13, [rx.peer_wnd]
        jne  r5, r13, host_ack_send
        ldb  r13, [rx.txon]
        jeq  r13, 0, host_ack_ret
        ldev r13, pay_len
        jne  r13, 0, host_ack_ret       ; data with the same ACK and window: nothing new
        jset r11, TCPF_FIN + TCPF_SYN, host_ack_ret
host_ack_send:
        stw  [rx.peer_ack], r4
        sth  [rx.peer_wnd], r5
        mov  r2, K_ACK
        ldev r13, pay_len
        jne  r13, 0, host_ack_data
        jset r11, TCPF_FIN + TCPF_SYN, host_ack_data
host_ack_emit:
        ldev r3, seq
        mov  r1, EV_TCP_INTERNAL
        cmd  ev_emit
        mov  r0, 0
host_ack_ret:
        ret
host_ack_data:
        or   r2, KF_DATA                ; not a duplicate-ACK candidate
        ja   host_ack_emit
host_ack_fin:                           ; FIN_WAIT_1, CLOSING, LAST_ACK: our FIN acknowledged?
        ldw  r13, [rx.fin_seq]
        jseqle r4, r13, host_ack_fwd
        ; so is every byte before it: freed now (the SMC's acknowledged count), as the flow may
        ; close before the send side hears of this ACK
        ldw  r1, [rx.iss]
        not  r1
        add  r1, r13                    ; r1 = fin_seq - iss - 1: our FIN's stream offset
        cmd  snd_ack
        mov  r0, 0
        jeq  r12, ST_FIN_WAIT_1 + HOST, host_ack_fw2
        jeq  r12, ST_CLOSING + HOST, host_ack_tw
        ja   close_host                 ; LAST_ACK: done (close_host returns r0 = 1)
host_ack_fw2:
        stb  [rx.state], ST_FIN_WAIT_2 + HOST
        ja   host_ack_fwd               ; the send side stops its timer
host_ack_tw:
        stb  [rx.state], ST_TIME_WAIT + HOST
        mov  r1, T_TIME_WAIT
        mov  r2, TIME_WAIT_US
        cmd  timer_set
        ja   host_ack_fwd

; close_host: a host-driven flow is finished: the host application is told (sock_event 4) and
; the flow freed. r0 = 1. Clobbers r1.
close_host:
        mov  r1, SE_CLOSED
        cmd  sock_event
        cmd  flow_close
        stb  [rx.state], ST_CLOSED
        mov  r0, 1
        ret

; peer_closed: the peer's FIN is in order on a host-driven flow: the host application (sock_event
; 2) and the send side (K_PEER_FIN) are told. Clobbers r0..r2.
peer_closed:
        mov  r1, SE_PEER_CLOSED
        cmd  sock_event
        mov  r1, EV_TCP_INTERNAL
        mov  r2, K_PEER_FIN
        cmd  ev_emit
        ret

; fin_take: the FIN at r9 = rcv_nxt is in order: everything before it goes to the host, rcv_nxt
; passes it, and it is acknowledged. Clobbers r0..r5, r9, r14.
fin_take:
        ldw  r1, [rx.bytes_in]          ; the stream offset of the FIN (= rcv_nxt's)
        cmd  sock_deliver
        add  r9, 1
        stw  [rx.rcv_nxt], r9
        mov  r3, r9
        ja   send_ack                   ; returns to our caller

; ---- tcp_syn ----------------------------------------------------------------------------------
; A SYN on a fresh flow opens it; a retransmitted SYN in SYN_RCVD gets the SYN-ACK again; a SYN
; in LAST_ACK or TIME_WAIT starts a new connection in place (below); a SYN in another
; synchronized state gets a challenge ACK (RFC 5961 §4) and changes nothing; a SYN in SYN_SENT
; (a simultaneous open) is ignored.
syn:
        ldb  r6, [rx.state]
        jne  r6, ST_CLOSED, syn_again
        ldev r7, seq
        stw  [rx.irs], r7
        mov  r9, r7
        add  r9, 1
        stw  [rx.rcv_nxt], r9           ; the SYN takes one sequence number
        ldev r1, mss                    ; peer MSS, DEFAULT_MSS when absent
        jne  r1, 0, syn_have_mss
        mov  r1, DEFAULT_MSS
syn_have_mss:
        sth  [rx.peer_mss], r1
        mov  r11, r1                    ; full-sized payload: less the timestamp option when
        ldev r12, has_ts                ; the peer offered it (the capture's segments carry it)
        jeq  r12, 0, syn_full_seg
        sub  r11, TS_OPT_LEN
syn_full_seg:
        sth  [rx.full_seg], r11
        ldev r12, wscale
        stb  [rx.peer_ws], r12
        mov  r2, 0                      ; r2 = our receive shift: scale only if the peer does
        jeq  r12, WSCALE_NONE, syn_no_ws
        mov  r2, OUR_WSCALE
syn_no_ws:
        stb  [rx.rcv_shift], r2
        ldev r12, sack_ok
        stb  [rx.sack_ok], r12
        cmd  sock_open                  ; r1 peer MSS, r2 shift: size the receive buffer
        stw  [rx.buf], r0
        cmd  tx_template                ; this SYN, reversed, is the header of what we send
        set_iss r7
        stb  [rx.state], ST_SYN_RCVD
        call send_synack
        fin
syn_again:
        jeq  r6, ST_LAST_ACK, syn_reopen
        jeq  r6, ST_TIME_WAIT, syn_reopen
        jeq  r6, ST_TIME_WAIT + HOST, syn_reopen_host
        jeq  r6, ST_SYN_SENT + HOST, done       ; a simultaneous open: not supported
        jne  r6, ST_SYN_RCVD, ack_fin   ; synchronized: challenge ACK
        ldev r7, seq
        ldw  r11, [rx.irs]
        jne  r7, r11, done              ; not the SYN we answered: ignore it
        call send_synack                ; retransmitted SYN: our SYN-ACK was lost
        fin

; The peer opens a new connection on the 5-tuple of one that is closing: RFC 9293 (3.10.7.4)
; lets a SYN reopen from TIME_WAIT, and in a replay LAST_ACK may wait for an ACK the capture
; never holds (the peer's last ACK came before its FIN). The old connection's buffer goes
; (sock_open re-opens it), its timers are cancelled, and the new one starts from a clean state.
; (A host-driven flow reopens from TIME_WAIT only: in LAST_ACK it waits for the ACK of our FIN.
; The send side's timers go too; the send side starts afresh with K_EST.)
syn_reopen_host:
        mov  r1, T_RTO
        cmd  timer_cancel
        mov  r1, T_PERSIST
        cmd  timer_cancel
        stb  [rx.txon], 0
syn_reopen:
        mov  r1, T_DELACK
        cmd  timer_cancel
        mov  r1, T_TIME_WAIT
        cmd  timer_cancel
        stw  [rx.nooo], 0               ; nooo, unacked, delack, picked_up: one word
        stw  [rx.bytes_in], 0
        stw  [rx.segs_in], 0
        stw  [rx.ooo_segs], 0
        stw  [rx.dup_segs], 0
        stw  [rx.acks_sent], 0
        stb  [rx.state], ST_CLOSED
        ja   syn

; ---- tcp_ack ----------------------------------------------------------------------------------
; A segment with nothing but an ACK. Not host-driven, SEG.ACK is not checked (see the header):
; any ACK completes the handshake, acknowledges our FIN in FIN_WAIT_1, or ends LAST_ACK.
; Host-driven: host_ack.
ack:
        ldb  r6, [rx.state]
        jeq  r6, ST_ESTABLISHED, done   ; the common case: nothing to do on the receive side
        jeq  r6, ST_SYN_RCVD, ack_handshake
        jeq  r6, ST_LAST_ACK, close_flow
        jge  r6, HOST, ack_host
        jne  r6, ST_FIN_WAIT_1, done
        stb  [rx.state], ST_FIN_WAIT_2
        fin
ack_handshake:
        call establish
        fin
ack_host:
        call host_ack
        fin
; The flow is finished: free its proxy, buffer and timers.
close_flow:
        cmd  flow_close
        stb  [rx.state], ST_CLOSED
        fin

; ---- tcp_data ---------------------------------------------------------------------------------
; The payload of one segment (a segment with FIN too raises tcp_fin after this).
data:
        ldb  r6, [rx.state]
        ldev r7, seq
        jne  r6, ST_ESTABLISHED, data_state
data_rcv:                               ; a receiving state; r7 = seq
        ldev r8, pay_len
        ldw  r9, [rx.rcv_nxt]
        bump rx.segs_in, r11
        jne  r7, r9, data_not_next
        ; In order: place it.
        ldev r1, pay_off
data_append:                            ; r1 frame offset, r7 = r9 = rcv_nxt, r8 length
        mov  r2, r8
        ldw  r3, [rx.bytes_in]          ; = the stream offset of rcv_nxt (see the header)
        cmd  sock_append
        jeq  r0, 0, data_refused
        add  r9, r8                     ; rcv_nxt past this segment
        ldb  r12, [rx.nooo]
        jne  r12, 0, data_fill          ; it filled (part of) a hole
        stw  [rx.rcv_nxt], r9
        mov  r1, r3
        add  r1, r8
        stw  [rx.bytes_in], r1          ; bytes_in and the stream offset of rcv_nxt advance
        cmd  sock_deliver               ; everything below rcv_nxt to the host
        ; ACK policy: ACK every ACK_EVERY full-sized segments (RFC 9293 §3.8.6.3 "at least every
        ; second full-sized segment"), else within DELACK_US. A full-sized segment is full_seg
        ; bytes or more: the peer's MSS less the timestamp option it sends (see syn).
        ldh  r11, [rx.full_seg]
        jlt  r8, r11, data_delay
        ldb  r12, [rx.unacked]
        add  r12, 1
        jge  r12, ACK_EVERY, data_ack_now
        stb  [rx.unacked], r12
data_delay:
        ldb  r12, [rx.delack]
        jne  r12, 0, done               ; the delayed-ACK timer is already running
        mov  r1, T_DELACK
        mov  r2, DELACK_US
        cmd  timer_set
        stb  [rx.delack], 1
        fin
data_ack_now:
        mov  r3, r9
        call send_ack                   ; clears unacked, cancels the delayed ACK
        fin

; The buffer refused it (outside its window, or no pages): rcv_nxt stays, so the peer will
; retransmit; tell it at once where we are.
data_refused:
        mov  r3, r9
        call send_ack
        fin

; In order, and the out-of-order list was not empty: absorb every interval that now starts
; at or before rcv_nxt, deliver, and ACK at once (RFC 5681 §4.2: a segment that fills a hole,
; wholly or partly, is acknowledged immediately).
; r12 = nooo.
data_fill:
        shl  r12, 3                     ; r12 = byte index of the list's end
        mov  r15, 0                     ; r15 = byte index of the first interval left
data_fill_loop:
        ldw  r1, [r15 + rx.ooo0_l]
        jseqgt r1, r9, data_fill_end    ; a hole remains before this one
        ldw  r2, [r15 + rx.ooo0_r]
        seqmax r9, r2
        add  r15, 8
        jne  r15, r12, data_fill_loop
data_fill_end:
        mov  r14, 0
        call ooo_close_gap              ; drop the absorbed intervals from the front
        stw  [rx.rcv_nxt], r9
        mov  r1, r9
        sub  r1, r7                     ; bytes that became in order (r7 = the old rcv_nxt)
        add  r1, r3                     ; r3 = the old bytes_in (commands keep r1..r5)
        stw  [rx.bytes_in], r1
        cmd  sock_deliver
        mov  r3, r9
        call send_ack
        fin

; Not at rcv_nxt: old (wholly or partly) or ahead. r7 seq, r8 length, r9 rcv_nxt.
data_not_next:
        ldev r11, flags
        jset r11, TCPF_SYN, data_syn    ; a SYN's payload starts at seq + 1
data_not_next2:
        mov  r13, r7
        add  r13, r8                    ; r13 = end of the segment
        jseqle r13, r9, data_dup        ; entirely old
        jseqgt r7, r9, data_ooo         ; ahead of rcv_nxt
        ; Partly old: drop the old front, place the rest in order.
        mov  r12, r9
        sub  r12, r7                    ; bytes already received
        sub  r8, r12
        mov  r7, r9
        ldev r1, pay_off
        add  r1, r12
        ja   data_append
data_syn:
        add  r7, 1
        jeq  r7, r9, data_in_order_syn
        ja   data_not_next2
data_in_order_syn:
        ldev r1, pay_off
        ja   data_append

; Entirely old: a retransmission of data we have. ACK at once (RFC 9293 §3.10.7.4: an
; unacceptable segment is answered with an ACK), counted as a duplicate.
data_dup:
        bump rx.dup_segs, r11
        mov  r3, r9
        call send_ack
        fin

; Not ESTABLISHED. r6 state, r7 seq.
data_state:
        jeq  r6, ST_CLOSED, data_pickup
        jeq  r6, ST_SYN_RCVD, data_handshake
        jle  r6, ST_FIN_WAIT_2, data_rcv ; FIN_WAIT_1/2 still receive
        jge  r6, HOST, data_host
        fin                             ; after the peer's FIN: ignore the text (RFC 9293)
data_handshake:                         ; the data segment's ACK completes the handshake
        call establish
        ja   data_rcv
; Host-driven: the segment's ACK first, then the text in a receiving state.
data_host:
        call host_ack
        jne  r0, 0, done
        ldb  r6, [rx.state]
        jeq  r6, ST_ESTABLISHED + HOST, data_rcv
        jeq  r6, ST_FIN_WAIT_1 + HOST, data_rcv
        jeq  r6, ST_FIN_WAIT_2 + HOST, data_rcv
        fin                             ; SYN_SENT, or after the peer's FIN

; A fresh flow opened by a data segment (pickup): adopt the connection at this segment. The
; options of its SYN are unknown: assume PICKUP_MSS, no SACK, and the largest window shift (so
; the buffer is as large as allowed).
data_pickup:
        mov  r11, r7
        sub  r11, 1
        stw  [rx.irs], r11              ; so that this segment starts stream offset 0
        stw  [rx.rcv_nxt], r7
        mov  r1, PICKUP_MSS
        sth  [rx.peer_mss], r1
        mov  r11, r1
        ldev r12, has_ts
        jeq  r12, 0, pickup_full_seg
        sub  r11, TS_OPT_LEN
pickup_full_seg:
        sth  [rx.full_seg], r11
        stb  [rx.peer_ws], WSCALE_NONE
        mov  r2, PICKUP_SHIFT
        stb  [rx.rcv_shift], r2
        cmd  sock_open
        cmd  tx_template
        set_iss r7
        stb  [rx.state], ST_ESTABLISHED
        stb  [rx.picked_up], 1
        ja   data_rcv

; Ahead of rcv_nxt: place it and record [seq, end) in the out-of-order list, then ACK at once
; (RFC 5681 §4.2: an immediate duplicate ACK; its SACK blocks tell the peer what we hold). r7 seq, r8 length,
; r13 end, r10 stream base.
; First find where it goes: r15 = byte index of the first interval that does not end before
; seq (the first it could touch), r12 = byte index of the list's end.
data_ooo:
        bump rx.ooo_segs, r11
        load_stream_base
        ldb  r12, [rx.nooo]
        shl  r12, 3
        mov  r15, 0
ooo_find:
        jeq  r15, r12, ooo_insert       ; after every interval
        ldw  r2, [r15 + rx.ooo0_r]
        jseqge r2, r7, ooo_found        ; interval r15 ends at or after seq
        add  r15, 8
        ja   ooo_find
ooo_found:
        ldw  r1, [r15 + rx.ooo0_l]
        jseqgt r1, r13, ooo_insert      ; it starts after our end: we go before it
        ; Overlaps or touches interval r15 (r1, r2): merge; needs no free slot.
        call ooo_append
        jeq  r0, 0, ack_fin
        seqmin r1, r7
        seqmax r2, r13
        stw  [r15 + rx.ooo0_l], r1
        mov  r14, r15
        add  r14, 8                     ; r14 = the interval after the merged one
        mov  r15, r14
ooo_absorb:                             ; swallow the following intervals we now reach
        jeq  r15, r12, ooo_absorbed
        ldw  r1, [r15 + rx.ooo0_l]
        jseqgt r1, r2, ooo_absorbed
        ldw  r1, [r15 + rx.ooo0_r]
        seqmax r2, r1
        add  r15, 8
        ja   ooo_absorb
ooo_absorbed:
        stw  [r14 + rx.ooo0_r - 8], r2
        call ooo_close_gap              ; close the gap the swallowed ones leave
        ja   ack_fin

; A new interval at byte index r15 (<= r12): needs a free slot, else drop the segment
; unplaced (the peer retransmits it).
ooo_insert:
        jeq  r12, OOO_END, ack_fin      ; the list is full
        call ooo_append
        jeq  r0, 0, ack_fin
        mov  r14, r12
ooo_shift:                              ; move [r15, r12) up one slot, from the end
        jeq  r14, r15, ooo_put
        ldw  r1, [r14 + rx.ooo0_l - 8]
        ldw  r2, [r14 + rx.ooo0_r - 8]
        stw  [r14 + rx.ooo0_l], r1
        stw  [r14 + rx.ooo0_r], r2
        sub  r14, 8
        ja   ooo_shift
ooo_put:
        stw  [r15 + rx.ooo0_l], r7
        stw  [r15 + rx.ooo0_r], r13
        shr  r12, 3
        add  r12, 1
        stb  [rx.nooo], r12
        ja   ack_fin

; ooo_append: places the out-of-order payload (r7 seq, r8 length, r10 stream base); r0 = 1
; placed, 0 refused (the caller then ACKs, the list unchanged). Keeps r1, r2; clobbers r3, r11,
; r14.
ooo_append:
        mov  r11, r1
        ldev r1, pay_off
        mov  r3, r7
        add  r3, r10
        mov  r14, r2
        mov  r2, r8
        cmd  sock_append
        mov  r1, r11
        mov  r2, r14
        ret

; ---- tcp_fin ----------------------------------------------------------------------------------
; The peer's FIN; its sequence number follows the segment's payload (and the SYN, if any). The
; data of the same segment has already been handled by tcp_data.
finseg:
        ldb  r6, [rx.state]
        jeq  r6, ST_CLOSED, done
        jge  r6, HOST, fin_host
        jne  r6, ST_SYN_RCVD, fin_synced
        call establish                  ; its ACK completes the handshake
        ldb  r6, [rx.state]
        jge  r6, HOST, fin_host_acked   ; (establish took this segment's ACK)
fin_synced:
        ldev r7, seq
        ldev r8, pay_len
        add  r7, r8                     ; r7 = the FIN's sequence number
        ldev r11, flags
        jset r11, TCPF_SYN, fin_syn
fin_seq:
        ldw  r9, [rx.rcv_nxt]
        jne  r7, r9, fin_not_next       ; data missing before it (or a retransmitted FIN)
        jeq  r6, ST_ESTABLISHED, fin_passive
        jle  r6, ST_FIN_WAIT_2, fin_active
fin_not_next:
        mov  r3, r9
        call send_ack
        fin
fin_syn:
        add  r7, 1
        ja   fin_seq

; ESTABLISHED (or SYN_RCVD): passive close. Not host-driven, nobody will close: CLOSE_WAIT is
; left at once: FIN|ACK and LAST_ACK.
fin_passive:
        ldw  r1, [rx.bytes_in]          ; the stream offset of the FIN (= rcv_nxt's)
        cmd  sock_deliver               ; all data is in order (nothing new: harmless)
        add  r9, 1                      ; the FIN takes one sequence number
        stw  [rx.rcv_nxt], r9
        mov  r3, r9
        mov  r5, TCPF_FINACK
        call send_seg                   ; our FIN, seq snd_nxt
        ldw  r11, [rx.snd_nxt]
        add  r11, 1
        stw  [rx.snd_nxt], r11
        stb  [rx.state], ST_LAST_ACK
        fin

; FIN_WAIT_1/2 (we closed first): ACK it and wait 2 MSL in TIME_WAIT.
fin_active:
        add  r9, 1
        stw  [rx.rcv_nxt], r9
        mov  r3, r9
        call send_ack
        stb  [rx.state], ST_TIME_WAIT
        mov  r1, T_TIME_WAIT
        mov  r2, TIME_WAIT_US
        cmd  timer_set
        fin

; Host-driven. The ACK first (unless tcp_data took this segment's), then the FIN in order:
; ESTABLISHED -> CLOSE_WAIT (the host closes when it wants), FIN_WAIT_1 -> CLOSING, FIN_WAIT_2
; -> TIME_WAIT. Out of order, or a retransmission: an ACK.
fin_host:
        ldev r11, pay_len
        jne  r11, 0, fin_host_acked
        call host_ack
        jne  r0, 0, done                ; it closed the flow (LAST_ACK)
fin_host_acked:
        ldb  r6, [rx.state]
        ldev r7, seq
        ldev r8, pay_len
        add  r7, r8
        ldev r11, flags
        jset r11, TCPF_SYN, fin_host_syn
fin_host_seq:
        ldw  r9, [rx.rcv_nxt]
        jne  r7, r9, fin_not_next
        jeq  r6, ST_ESTABLISHED + HOST, fin_host_passive
        jeq  r6, ST_FIN_WAIT_1 + HOST, fin_host_closing
        jeq  r6, ST_FIN_WAIT_2 + HOST, fin_host_time_wait
        fin
fin_host_syn:
        add  r7, 1
        ja   fin_host_seq
fin_host_passive:
        mov  r12, ST_CLOSE_WAIT + HOST
        ja   fin_host_take
fin_host_closing:
        mov  r12, ST_CLOSING + HOST
fin_host_take:
        stb  [rx.state], r12
        call fin_take
        call peer_closed
        fin
fin_host_time_wait:
        stb  [rx.state], ST_TIME_WAIT + HOST
        call fin_take
        mov  r1, SE_PEER_CLOSED
        cmd  sock_event
        mov  r1, T_TIME_WAIT
        mov  r2, TIME_WAIT_US
        cmd  timer_set
        fin

; ---- tcp_rst ----------------------------------------------------------------------------------
; RFC 5961 §3: reset only when SEG.SEQ == RCV.NXT; inside the window, a challenge ACK (a blind
; attacker cannot guess rcv_nxt exactly, the real peer answers with the exact RST); outside,
; ignore. In SYN_SENT, a RST that acknowledges our SYN refuses the connection (RFC 9293). A
; host-driven flow tells the host application (sock_event 3).
rst:
        ldb  r6, [rx.state]
        jeq  r6, ST_CLOSED, done
        jeq  r6, ST_SYN_SENT + HOST, rst_syn_sent
        ldev r7, seq
        ldw  r9, [rx.rcv_nxt]
        jeq  r7, r9, rst_exact
        jseqle r7, r9, done
        cmd  sock_space                 ; the receive window, in bytes
        add  r0, r9                     ; its right edge
        jseqge r7, r0, done
        mov  r3, r9
        call send_ack                   ; challenge ACK
        fin
rst_exact:
        jlt  r6, HOST, close_flow
rst_host:
        mov  r1, SE_RESET
        cmd  sock_event
        ja   close_flow
rst_syn_sent:
        ldev r11, flags
        jset r11, TCPF_ACK, rst_syn_sent_ack
        fin
rst_syn_sent_ack:
        ldev r11, ack
        ldw  r12, [rx.iss]
        add  r12, 1
        jeq  r11, r12, rst_host
        fin

; ---- timers -----------------------------------------------------------------------------------
; Delayed ACK: due unless an ACK already went out: ours (which cleared the mark), or the send
; side's data carrying the same ACK and window (send_ack_new asks the transmit unit).
delack:
        ldb  r11, [rx.delack]
        jeq  r11, 0, done
        stb  [rx.delack], 0             ; the timer has fired: nothing to cancel
        call send_ack_new
        fin

; 2 MSL have passed in TIME_WAIT: the flow is finished.
time_wait:
        ldb  r6, [rx.state]
        jeq  r6, ST_TIME_WAIT, close_flow
        jeq  r6, ST_TIME_WAIT + HOST, time_wait_host
        fin
time_wait_host:
        call close_host
        fin

; ---- tcp_synack: the answer to our active open --------------------------------------------------
; In SYN_SENT it must acknowledge our SYN (else it is dropped: the SYN is retransmitted). Then the
; peer's ISN and options, our ACK, ESTABLISHED, sock_event 1 and K_EST (the SYN-ACK's window is
; not scaled). A SYN-ACK again once established (our ACK was lost) gets the ACK again. Anything
; else (every flow that is not an active open) is ignored.
synack:
        ldb  r6, [rx.state]
        jeq  r6, ST_SYN_SENT + HOST, synack_open
        jeq  r6, ST_ESTABLISHED + HOST, synack_again
        fin
synack_again:
        ldev r7, seq
        ldw  r11, [rx.irs]
        jne  r7, r11, done
        ja   ack_fin
synack_open:
        ldev r11, ack
        ldw  r12, [rx.iss]
        add  r12, 1
        jne  r11, r12, done
        ldev r7, seq
        stw  [rx.irs], r7
        mov  r9, r7
        add  r9, 1
        stw  [rx.rcv_nxt], r9           ; the SYN takes one sequence number
        ldev r1, mss
        jne  r1, 0, sa_have_mss
        mov  r1, DEFAULT_MSS
sa_have_mss:
        sth  [rx.peer_mss], r1
        sth  [rx.full_seg], r1          ; no timestamps: our SYN did not offer them
        ldev r12, wscale
        stb  [rx.peer_ws], r12
        mov  r2, 0                      ; we scale only when the peer sent the option too
        jeq  r12, WSCALE_NONE, sa_no_ws
        mov  r2, OUR_WSCALE
sa_no_ws:
        stb  [rx.rcv_shift], r2
        ldev r12, sack_ok
        stb  [rx.sack_ok], r12
        stb  [rx.state], ST_ESTABLISHED + HOST  ; the host opened it: it drives the send side
        mov  r3, r9
        call send_ack
        mov  r1, SE_ESTABLISHED
        cmd  sock_event
        ldev r5, win
        mov  r13, 0
        call emit_est
        fin

; ---- tcp_notify: the send side's words (see the header) -----------------------------------------
notify:
        ldev r2, arg
        ldb  r6, [rx.state]
        jeq  r2, N_IN_FLIGHT, notify_flight
        jeq  r2, N_FIN_SENT, notify_fin
        jeq  r2, N_SYN_SENT, notify_syn
        jeq  r2, N_ABORT, notify_abort
        fin
notify_flight:                          ; forward pure ACKs from now on
        jlt  r6, HOST, done
        stb  [rx.txon], 1
        ldev r3, seq
        ldw  r11, [rx.snd_nxt]
        seqmax r11, r3
        stw  [rx.snd_nxt], r11
        fin
notify_syn:                             ; an active open: a fresh flow goes to SYN_SENT
        jne  r6, ST_CLOSED, done
        ldev r3, seq
        stw  [rx.iss], r3
        add  r3, 1
        stw  [rx.snd_nxt], r3
        ldev r4, ack
        stw  [rx.buf], r4
        stb  [rx.state], ST_SYN_SENT + HOST
        fin
notify_fin:                             ; our FIN went out at seq
        jlt  r6, HOST, done
        ldev r3, seq
        stw  [rx.fin_seq], r3
        mov  r11, r3
        add  r11, 1
        ldw  r12, [rx.snd_nxt]
        seqmax r12, r11
        stw  [rx.snd_nxt], r12
        ldw  r12, [rx.peer_ack]         ; its ACK may have come before this word
        jeq  r6, ST_ESTABLISHED + HOST, notify_fin_est
        jeq  r6, ST_CLOSE_WAIT + HOST, notify_fin_cw
        fin
notify_fin_est:
        jseqgt r12, r3, notify_fin_acked
        stb  [rx.state], ST_FIN_WAIT_1 + HOST
        fin
notify_fin_acked:
        stb  [rx.state], ST_FIN_WAIT_2 + HOST
        fin
notify_fin_cw:
        jseqgt r12, r3, notify_close
        stb  [rx.state], ST_LAST_ACK + HOST
        fin
notify_abort:                           ; the send side sent RST: the flow is finished
        jlt  r6, HOST, done
notify_close:
        call close_host
        fin

; ---- tcp_recv_credit: the host read data ---------------------------------------------------------
; A window update when the right edge we can offer now is at least min(buffer / 2, the peer's
; MSS) beyond the one we advertised last (RFC 1122 §4.2.3.3); only where the peer may still send.
credit:
        ldb  r6, [rx.state]
        jeq  r6, ST_ESTABLISHED + HOST, credit_go
        jeq  r6, ST_FIN_WAIT_1 + HOST, credit_go
        jeq  r6, ST_FIN_WAIT_2 + HOST, credit_go
        fin
credit_go:
        cmd  sock_space
        ldb  r11, [rx.rcv_shift]
        shr  r0, r11
        min  r0, MAX_WIN
        shl  r0, r11                    ; the window we would advertise, in bytes
        ldw  r9, [rx.rcv_nxt]
        add  r0, r9                     ; ... its right edge
        ldh  r12, [rx.adv_wnd]
        shl  r12, r11
        ldw  r13, [rx.adv_ack]
        add  r12, r13                   ; the right edge advertised last
        sub  r0, r12
        jsle r0, 0, done
        ldw  r12, [rx.buf]
        shr  r12, 1
        ldh  r13, [rx.peer_mss]
        min  r12, r13
        jlt  r0, r12, done
        call send_ack_new               ; unless the send side's last segment said it
        fin

; ==== The send side (portion tx) ==================================================================

; Every send handler that loaded r6 = tx.tflags ends here: the flags go back.
tx_exit:
        stb  [tx.tflags], r6
        fin

; ---- tcp_send: the host wrote data (seq = the written end), or connects (arg 1) ---------------
tx_send:
        ldb  r6, [tx.tflags]
        jset r6, TF_CLOSE, tx_send_state ; nothing goes after the FIN
        ldev r1, seq
        ldw  r11, [tx.written]
        seqmax r11, r1
        stw  [tx.written], r11
tx_send_state:
        ldb  r11, [tx.tstate]
        jeq  r11, TS_ESTAB, tx_send_out
        jne  r11, TS_CLOSED, tx_exit    ; SYN_SENT: the data waits for the handshake
        ldev r12, arg
        jeq  r12, 1, tx_open
        ja   tx_exit                    ; a passive open not yet told (K_EST): wait for it
tx_send_out:
        call tx_output
        ja   tx_exit

; Active open: our ISS, the header template from the flow key, the buffers, the SYN and its
; timer, and N_SYN_SENT to the receive side.
tx_open:
        ldev r11, sport
        shl  r11, 16
        ldev r12, dport
        or   r11, r12
        ldev r12, now_us
        xor  r11, r12
        mul  r11, ISS_MUL
        stw  [tx.iss], r11
        stw  [tx.snd_una], r11
        add  r11, 1
        stw  [tx.snd_nxt], r11
        stw  [tx.snd_max], r11
        ldev r1, mss                    ; the MSS we announce (0: ours)
        jne  r1, 0, tx_open_mss
        mov  r1, OUR_MSS
tx_open_mss:
        sth  [tx.mss], r1               ; (also the peer's, until it tells)
        mov  r2, OUR_WSCALE
        cmd  tx_key_template
        cmd  sock_open                  ; r1 our MSS, r2 our shift: r0 = the buffer size
        mov  r14, r0
        stw  [tx.rto], RTO_INIT_US
        stb  [tx.tstate], TS_SYN_SENT
        call tx_send_syn
        mov  r1, EV_TCP_NOTIFY
        mov  r2, N_SYN_SENT
        ldw  r3, [tx.iss]
        mov  r4, r14
        cmd  ev_emit
        ja   tx_exit

; tx_send_syn: (re)sends our SYN: seq iss, window min(sock_space, MAX_WIN) unscaled, options MSS
; tx.mss, window scale OUR_WSCALE, SACK-permitted; arms the retransmission timer. Sets TF_RTO_ON
; in r6. Clobbers r0..r5, r11.
tx_send_syn:
        cmd  sock_space
        min  r0, MAX_WIN
        mov  r4, r0
        ldh  r1, [tx.mss]
        mov  r11, OUR_WSCALE
        shl  r11, OPT_WS_SHIFT
        or   r1, r11
        or   r1, OPT_WS_ON + OPT_SACK_OK
        ldw  r2, [tx.iss]
        mov  r3, 0
        mov  r5, TCPF_SYN
        cmd  tx_emit
        bump tx.segs_out, r11
        or   r6, TF_RTO_ON
        mov  r1, T_RTO
        ldw  r2, [tx.rto]
        cmd  timer_set
        ret

; ---- tcp_close: arg 0 close (FIN after the written data), 1 abort (RST) --------------------------
tx_close:
        ldb  r6, [tx.tflags]
        ldev r11, arg
        jne  r11, 0, tx_close_abort
        or   r6, TF_CLOSE
        call tx_output
        ja   tx_exit
tx_close_abort:
        call tx_abort
        ja   tx_exit

; tx_abort: RST when established (seq snd_nxt), the send side's timers off, the send side closed
; (r6 = 0), and N_ABORT to the receive side (it frees the flow). Clobbers r0..r5, r9, r11..r13.
tx_abort:
        ldb  r11, [tx.tstate]
        jne  r11, TS_ESTAB, tx_abort_quiet
        call tx_prep
        mov  r1, TCPF_RSTACK
        ldw  r2, [tx.snd_nxt]
        mov  r4, r2
        sub  r4, r9
        mov  r5, 0
        cmd  tx_data
        bump tx.segs_out, r11
tx_abort_quiet:
        mov  r1, T_RTO
        cmd  timer_cancel
        mov  r1, T_PERSIST
        cmd  timer_cancel
        stb  [tx.tstate], TS_CLOSED
        mov  r6, 0
        mov  r1, EV_TCP_NOTIFY
        mov  r2, N_ABORT
        cmd  ev_emit
        ret

; ---- tcp_internal: the receive side's words (and K_CONT) ---------------------------------------
tx_internal:
        ldb  r6, [tx.tflags]
        ldev r2, arg
        mov  r11, r2
        and  r11, 0xff
        jeq  r11, K_ACK, tx_ack
        jeq  r11, K_CONT, tx_cont
        jeq  r11, K_EST, tx_est
        jeq  r11, K_PEER_FIN, tx_peer_fin
        ja   tx_exit
tx_cont:
        call tx_output
        ja   tx_exit
tx_peer_fin:
        or   r6, TF_PEER_FIN
        ja   tx_exit

; K_EST: the connection is established: the send side starts (an active open's SYN is
; acknowledged). A send side that is already established belongs to an old connection on this
; record (a SYN reopened it from TIME_WAIT): it starts afresh.
tx_est:
        ldev r3, seq                    ; our ISS
        ldev r4, ack                    ; the peer's ISN
        ldev r5, dma_len                ; the peer's window in bytes
        ldb  r11, [tx.tstate]
        jeq  r11, TS_CLOSED, tx_est_init
        jne  r11, TS_SYN_SENT, tx_est_reuse
        mov  r1, T_RTO                  ; our SYN is acknowledged
        cmd  timer_cancel
        and  r6, TFN_RTO_ON
        ja   tx_est_init
tx_est_reuse:
        mov  r6, 0
        stw  [tx.written], 0
        stw  [tx.srtt], 0
        stw  [tx.rttvar], 0
        stw  [tx.segs_out], 0
        stw  [tx.rexmits], 0
tx_est_init:
        stb  [tx.tstate], TS_ESTAB
        stw  [tx.iss], r3
        stw  [tx.recover], r3           ; RFC 6582: recover starts at the ISS
        stw  [tx.irs], r4
        stw  [tx.wl1], r4
        add  r3, 1
        stw  [tx.snd_una], r3
        stw  [tx.snd_nxt], r3
        stw  [tx.snd_max], r3
        stw  [tx.wl2], r3
        stw  [tx.snd_wnd], r5
        mov  r11, r2
        shr  r11, 8
        and  r11, 15
        stb  [tx.snd_shift], r11
        mov  r11, r2
        shr  r11, 12
        and  r11, 15
        stb  [tx.rcv_shift], r11
        mov  r13, r2
        shr  r13, 16
        jne  r13, 0, tx_est_mss
        mov  r13, DEFAULT_MSS
tx_est_mss:
        sth  [tx.mss], r13
        mov  r11, r13                   ; IW = min(4 SMSS, max(2 SMSS, 4380)) (RFC 5681 §3.1),
        shl  r11, 1                     ; 1 SMSS when our SYN was retransmitted
        max  r11, IW_BYTES
        mov  r12, r13
        shl  r12, 2
        min  r11, r12
        ldb  r12, [tx.backoff]
        jeq  r12, 0, tx_est_iw
        mov  r11, r13
tx_est_iw:
        stw  [tx.cwnd], r11
        stw  [tx.ssthresh], SSTHRESH_INIT
        stw  [tx.ca_acc], 0
        stw  [tx.rto], RTO_INIT_US
        stb  [tx.dupacks], 0
        stb  [tx.backoff], 0
        call tx_output                  ; what the host already wrote
        ja   tx_exit

; ---- K_ACK: an acknowledgment forwarded by the receive side -----------------------------------
; r3 SEG.ACK, r4 SEG.SEQ, r5 SEG.WND (then in bytes), r7 snd_una, r14 snd_max, r13 snd_wnd before.
tx_ack:
        ldb  r11, [tx.tstate]
        jne  r11, TS_ESTAB, tx_exit
        ldev r3, ack
        ldev r4, seq
        ldev r5, dma_len
        ldw  r7, [tx.snd_una]
        ldw  r14, [tx.snd_max]
        jseqgt r3, r14, tx_exit         ; acknowledges what we never sent: ignore
        jseqlt r3, r7, tx_exit          ; older than snd_una: ignore
        ldb  r11, [tx.snd_shift]
        shl  r5, r11
        ldw  r13, [tx.snd_wnd]
        ldw  r11, [tx.wl1]              ; a newer segment sets the window (RFC 9293 §3.10.7.4)
        jseqlt r11, r4, tx_ack_wnd
        jne  r11, r4, tx_ack_acked
        ldw  r11, [tx.wl2]
        jseqgt r11, r3, tx_ack_acked
tx_ack_wnd:
        stw  [tx.snd_wnd], r5
        stw  [tx.wl1], r4
        stw  [tx.wl2], r3
        jeq  r5, 0, tx_ack_acked
        jset r6, TF_PERSIST, tx_ack_unpersist
tx_ack_acked:
        jne  r3, r7, tx_ack_new
        ; SEG.ACK = snd_una: a duplicate ACK (RFC 5681 §2) when data is outstanding, the segment
        ; carried no data, FIN or SYN, and the window did not change; not the answer to a probe
        jset r2, KF_DATA, tx_ack_out
        jeq  r14, r7, tx_ack_out
        jne  r5, r13, tx_ack_out
        jset r6, TF_PERSIST, tx_ack_out
        ldb  r11, [tx.dupacks]
        add  r11, 1
        stb  [tx.dupacks], r11
        jset r6, TF_RECOVERY, tx_ack_inflate
        jne  r11, DUPACK_THRESH, tx_exit
        ldw  r12, [tx.recover]          ; RFC 6582: only when SEG.ACK covers more than recover
        jseqle r3, r12, tx_exit
        ; fast retransmit, then fast recovery
        mov  r11, r14
        sub  r11, 1
        stw  [tx.recover], r11          ; the highest sequence number sent
        mov  r11, r14
        sub  r11, r7
        shr  r11, 1
        ldh  r12, [tx.mss]
        shl  r12, 1
        max  r11, r12
        stw  [tx.ssthresh], r11         ; max(FlightSize / 2, 2 SMSS)
        ldh  r12, [tx.mss]
        mul  r12, DUPACK_THRESH
        add  r11, r12
        stw  [tx.cwnd], r11             ; ssthresh + 3 SMSS
        stw  [tx.ca_acc], 0
        or   r6, TF_RECOVERY
        and  r6, TFN_TIMING             ; Karn: no sample across a retransmission
        call tx_prep
        call tx_xmit_una
        call tx_output_p
        ja   tx_exit
tx_ack_inflate:                         ; in recovery: each duplicate, one more segment may go
        ldw  r11, [tx.cwnd]
        ldh  r12, [tx.mss]
        add  r11, r12
        stw  [tx.cwnd], r11
        ja   tx_ack_out
tx_ack_unpersist:                       ; the window opened: persist ends; an unacknowledged
        and  r6, TFN_PERSIST            ; probe byte goes again as data
        mov  r1, T_PERSIST
        cmd  timer_cancel
        stw  [tx.snd_nxt], r7
        ja   tx_ack_acked

; New data acknowledged: free it, the RTT sample, congestion control, the timer.
tx_ack_new:
        mov  r8, r3
        sub  r8, r7                     ; r8 = sequence numbers newly acknowledged
        stw  [tx.snd_una], r3
        ldw  r1, [tx.iss]
        not  r1
        add  r1, r3                     ; SEG.ACK's stream offset (SEG.ACK - iss - 1)
        ldw  r11, [tx.written]
        min  r1, r11                    ; (the FIN is not in the buffer)
        cmd  snd_ack
        ldw  r11, [tx.snd_nxt]
        seqmax r11, r3
        stw  [tx.snd_nxt], r11
        stb  [tx.backoff], 0
        jset r6, TF_TIMING, tx_ack_timed
tx_ack_cc:
        jset r6, TF_RECOVERY, tx_ack_recovery
        stb  [tx.dupacks], 0
        ldw  r11, [tx.cwnd]
        ldh  r13, [tx.mss]
        ldw  r12, [tx.ssthresh]
        jge  r11, r12, tx_ack_ca
        min  r8, r13                    ; slow start: cwnd += min(acked, SMSS)
        add  r11, r8
        stw  [tx.cwnd], r11
        ja   tx_ack_timer
tx_ack_ca:                              ; congestion avoidance: + SMSS per cwnd bytes acked
        ldw  r12, [tx.ca_acc]
        add  r12, r8
        jlt  r12, r11, tx_ack_ca_keep
        sub  r12, r11
        add  r11, r13
        stw  [tx.cwnd], r11
tx_ack_ca_keep:
        stw  [tx.ca_acc], r12
        ja   tx_ack_timer
tx_ack_timed:
        ldw  r11, [tx.rtt_seq]
        jseqlt r3, r11, tx_ack_cc
        call tx_rtt
        ja   tx_ack_cc
tx_ack_recovery:
        ldw  r12, [tx.recover]
        jseqgt r3, r12, tx_ack_full
        ; a partial ACK (RFC 6582 §3.2 step 5): the next hole again; cwnd less the bytes
        ; acknowledged, plus SMSS when at least SMSS was (and at least SMSS); the timer restarts
        ldw  r11, [tx.cwnd]
        ldh  r13, [tx.mss]
        mov  r12, r11
        sub  r11, r8
        jge  r12, r8, tx_ack_deflated
        mov  r11, 0
tx_ack_deflated:
        jlt  r8, r13, tx_ack_partial
        add  r11, r13
tx_ack_partial:
        max  r11, r13
        stw  [tx.cwnd], r11
        call tx_prep
        call tx_xmit_una
        or   r6, TF_RTO_ON
        mov  r1, T_RTO
        ldw  r2, [tx.rto]
        cmd  timer_set
        call tx_output_p
        ja   tx_exit
tx_ack_full:                            ; a full ACK: recovery ends,
        mov  r11, r14                   ; cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS)
        sub  r11, r3
        ldh  r13, [tx.mss]
        max  r11, r13
        add  r11, r13
        ldw  r12, [tx.ssthresh]
        min  r11, r12
        stw  [tx.cwnd], r11
        stw  [tx.ca_acc], 0
        stb  [tx.dupacks], 0
        and  r6, TFN_RECOVERY
tx_ack_timer:                           ; RFC 6298 §5.2, 5.3
        jne  r3, r14, tx_ack_restart
        jset r6, TF_RTO_ON, tx_ack_stop
        ja   tx_ack_out
tx_ack_stop:                            ; everything acknowledged
        and  r6, TFN_RTO_ON
        mov  r1, T_RTO
        cmd  timer_cancel
        ja   tx_ack_out
tx_ack_restart:
        jset r6, TF_PERSIST, tx_ack_out
        or   r6, TF_RTO_ON
        mov  r1, T_RTO
        ldw  r2, [tx.rto]
        cmd  timer_set
tx_ack_out:
        call tx_output
        ja   tx_exit

; ---- tcp_rto: the retransmission timer ----------------------------------------------------------
tx_rto:
        ldb  r6, [tx.tflags]
        jset r6, TF_RTO_ON, tx_rto_go
        fin                             ; stale: nothing changed
tx_rto_go:
        and  r6, TFN_RTO_ON
        ldb  r12, [tx.backoff]
        add  r12, 1
        stb  [tx.backoff], r12
        jgt  r12, MAX_BACKOFF, tx_rto_give_up
        ldw  r13, [tx.rto]
        shl  r13, 1
        min  r13, RTO_MAX_US
        stw  [tx.rto], r13              ; back off (RFC 6298 §5.5)
        ldb  r11, [tx.tstate]
        jeq  r11, TS_SYN_SENT, tx_rto_syn
        jne  r11, TS_ESTAB, tx_exit
        ldw  r7, [tx.snd_una]
        ldw  r14, [tx.snd_max]
        jeq  r7, r14, tx_exit           ; nothing outstanding
        jne  r12, 1, tx_rto_again
        mov  r11, r14                   ; the first expiry: ssthresh = max(FlightSize / 2,
        sub  r11, r7                    ; 2 SMSS) (RFC 5681 (4))
        shr  r11, 1
        ldh  r13, [tx.mss]
        shl  r13, 1
        max  r11, r13
        stw  [tx.ssthresh], r11
tx_rto_again:
        ldh  r13, [tx.mss]
        stw  [tx.cwnd], r13             ; the loss window: 1 SMSS
        stw  [tx.ca_acc], 0
        stb  [tx.dupacks], 0
        and  r6, TFN_LOSS               ; recovery ends; Karn: no sample
        sub  r14, 1
        stw  [tx.recover], r14          ; RFC 6582 §4: no fast retransmit for what was sent
        stw  [tx.snd_nxt], r7           ; go back to snd_una
        call tx_output                  ; one segment; arms the timer again (backed off)
        ja   tx_exit
tx_rto_syn:
        bump tx.rexmits, r11
        call tx_send_syn
        ja   tx_exit
tx_rto_give_up:
        call tx_abort
        ja   tx_exit

; ---- tcp_keepalive: the persist timer (zero window) ---------------------------------------------
tx_persist:
        ldb  r6, [tx.tflags]
        jset r6, TF_PERSIST, tx_persist_go
        fin                             ; stale
tx_persist_go:
        call tx_prep
        ldw  r11, [tx.snd_wnd]
        jne  r11, 0, tx_persist_open
        ldw  r8, [tx.snd_una]
        mov  r14, r13
        sub  r14, r8
        jsle r14, 0, tx_persist_open    ; nothing waits any more
        mov  r1, TCPF_ACK               ; a probe: one byte beyond the zero window
        or   r1, r12
        mov  r2, r8
        mov  r4, r8
        sub  r4, r9
        mov  r5, 1
        cmd  tx_data
        add  r8, 1
        stw  [tx.snd_nxt], r8
        ldw  r11, [tx.snd_max]
        seqmax r11, r8
        stw  [tx.snd_max], r11
        bump tx.segs_out, r11
        ldw  r2, [tx.persist]
        shl  r2, 1
        min  r2, RTO_MAX_US
        stw  [tx.persist], r2           ; the next probe after twice as long
        mov  r1, T_PERSIST
        cmd  timer_set
        ja   tx_exit
tx_persist_open:
        and  r6, TFN_PERSIST
        call tx_output_p
        ja   tx_exit

; ---- send-side subroutines ---------------------------------------------------------------------

; tx_prep: what every segment of this event carries. r3 = the ACK number (irs + 1 + sock_rcv,
; + 1 once the peer's FIN is in order), r12 = the window to advertise (min(sock_space >> our
; shift, MAX_WIN)) << 16, r9 = the sequence number of stream offset 0 (iss + 1), r13 = the
; sequence number of the written end (where the FIN goes). Clobbers r0, r11.
tx_prep:
        cmd  sock_rcv
        ldw  r3, [tx.irs]
        add  r3, 1
        add  r3, r0
        jset r6, TF_PEER_FIN, tx_prep_fin
tx_prep_win:
        cmd  sock_space
        ldb  r11, [tx.rcv_shift]
        shr  r0, r11
        min  r0, MAX_WIN
        mov  r12, r0
        shl  r12, 16
        ldw  r9, [tx.iss]
        add  r9, 1
        ldw  r13, [tx.written]
        add  r13, r9
        ret
tx_prep_fin:
        add  r3, 1
        ja   tx_prep_win

; tx_output: sends what the windows allow, from snd_nxt (see the header); enters persist on a
; zero window; N_IN_FLIGHT after the first data. tx_output_p: tx_prep's registers are already
; set. In/out r6. Clobbers r0..r5, r7..r15.
tx_output:
        ldb  r11, [tx.tstate]
        jne  r11, TS_ESTAB, tx_out_ret
        call tx_prep
tx_output_p:
        ldw  r7, [tx.snd_una]
        ldw  r8, [tx.snd_nxt]
        ldw  r10, [tx.cwnd]
        ldw  r11, [tx.snd_wnd]
        min  r10, r11
        add  r10, r7                    ; the right edge of what may be in flight
        mov  r15, MAX_BURST
tx_out_loop:
        mov  r14, r13
        sub  r14, r8                    ; written bytes not yet sent
        jsle r14, 0, tx_out_fin
        mov  r5, r10
        sub  r5, r8                     ; the usable window
        jsle r5, 0, tx_out_blocked
        ldh  r11, [tx.mss]
        min  r5, r11
        min  r5, r14                    ; this segment's length
        jeq  r5, r11, tx_out_seg        ; full-sized
        jeq  r5, r14, tx_out_seg        ; the rest of what was written
        ldw  r11, [tx.snd_max]
        jne  r11, r7, tx_out_done       ; short while data is in flight: wait (sender SWS)
tx_out_seg:
        jeq  r15, 0, tx_out_more
        mov  r1, TCPF_ACK
        jne  r5, r14, tx_out_flags
        or   r1, TCPF_PSH               ; it empties what was written
        jset r6, TF_CLOSE, tx_out_finflag
tx_out_flags:
        or   r1, r12
        mov  r2, r8
        mov  r4, r8
        sub  r4, r9                     ; its stream offset
        cmd  tx_data
        call tx_sent
        sub  r15, 1
        ja   tx_out_loop
tx_out_finflag:
        or   r1, TCPF_FIN
        ja   tx_out_flags
tx_out_fin:                             ; everything written is sent: the FIN, once closed
        jset r6, TF_CLOSE, tx_out_fin2
        ja   tx_out_done
tx_out_fin2:
        jne  r8, r13, tx_out_done       ; already sent (snd_nxt is past it)
        jeq  r15, 0, tx_out_more
        mov  r1, TCPF_FINACK
        or   r1, r12
        mov  r2, r8
        mov  r4, r8
        sub  r4, r9
        mov  r5, 0
        cmd  tx_data
        call tx_sent
        ja   tx_out_done
tx_out_blocked:                         ; data waits and the window is full
        ldw  r11, [tx.snd_wnd]
        jne  r11, 0, tx_out_done        ; the congestion window: ACKs will open it
        mov  r11, r6
        and  r11, TF_RTO_ON + TF_PERSIST
        jne  r11, 0, tx_out_done        ; retransmissions probe, or persisting already
        or   r6, TF_PERSIST             ; zero window, nothing in flight: persist
        ldw  r2, [tx.rto]
        stw  [tx.persist], r2
        mov  r1, T_PERSIST
        cmd  timer_set
        ja   tx_out_done
tx_out_more:                            ; MAX_BURST sent, more may go: another event
        mov  r1, EV_TCP_INTERNAL
        mov  r2, K_CONT
        cmd  ev_emit
tx_out_done:
        jset r6, TF_TOLD, tx_out_ret
        ldw  r11, [tx.snd_max]
        jeq  r11, r9, tx_out_ret        ; nothing sent yet
        or   r6, TF_TOLD
        mov  r1, EV_TCP_NOTIFY
        mov  r2, N_IN_FLIGHT
        mov  r3, r11
        cmd  ev_emit
tx_out_ret:
        ret

; tx_sent: after a segment of r5 bytes (flags in r1) went at r8: counts a retransmission (r8
; before snd_max) or times new data (one segment at a time; Karn: never a retransmission),
; moves snd_nxt (r8) and snd_max past it (and its FIN), arms the retransmission timer if it is
; not running, and tells the receive side of our first FIN (N_FIN_SENT). Keeps r3, r7, r9, r10,
; r12, r13, r15. Clobbers r0..r2, r4, r11, r14.
tx_sent:
        ldw  r11, [tx.snd_max]
        jseqlt r8, r11, tx_sent_rexmit
        jset r6, TF_TIMING, tx_sent_adv
        or   r6, TF_TIMING
        mov  r14, r8
        add  r14, r5
        jset r1, TCPF_FIN, tx_sent_tfin
tx_sent_time:
        stw  [tx.rtt_seq], r14          ; the sample comes when an ACK reaches this
        ldev r14, now_us
        stw  [tx.rtt_start], r14
        ja   tx_sent_adv
tx_sent_tfin:
        add  r14, 1
        ja   tx_sent_time
tx_sent_rexmit:
        bump tx.rexmits, r14
tx_sent_adv:
        add  r8, r5
        jset r1, TCPF_FIN, tx_sent_fin
tx_sent_nxt:
        stw  [tx.snd_nxt], r8
        seqmax r11, r8
        stw  [tx.snd_max], r11
        bump tx.segs_out, r14
        jset r6, TF_RTO_ON, tx_sent_ret
        or   r6, TF_RTO_ON
        mov  r1, T_RTO
        ldw  r2, [tx.rto]
        cmd  timer_set
tx_sent_ret:
        ret
tx_sent_fin:
        add  r8, 1                      ; the FIN takes a sequence number
        jset r6, TF_FIN_SENT, tx_sent_nxt
        or   r6, TF_FIN_SENT
        mov  r14, r3
        mov  r1, EV_TCP_NOTIFY
        mov  r2, N_FIN_SENT
        mov  r3, r8
        sub  r3, 1
        cmd  ev_emit
        mov  r3, r14
        ja   tx_sent_nxt

; tx_xmit_una: retransmits the first unacknowledged segment: min(SMSS, written - snd_una)
; bytes at snd_una, with the FIN when it reaches the written end and the FIN was sent; or the
; FIN alone. snd_nxt stays (RFC 5681 §3.2). Needs tx_prep's r3, r9, r12, r13. Clobbers r0..r2,
; r4, r5, r8, r11, r14.
tx_xmit_una:
        ldw  r8, [tx.snd_una]
        mov  r14, r13
        sub  r14, r8                    ; written bytes from snd_una
        jslt r14, 0, tx_xu_ret          ; (everything is acknowledged)
        ldh  r5, [tx.mss]
        min  r5, r14
        mov  r1, TCPF_ACK
        jne  r5, r14, tx_xu_send
        jset r6, TF_FIN_SENT, tx_xu_fin
tx_xu_send:
        or   r1, r12
        mov  r2, r8
        mov  r4, r8
        sub  r4, r9
        cmd  tx_data
        bump tx.rexmits, r11
        bump tx.segs_out, r11
tx_xu_ret:
        ret
tx_xu_fin:
        or   r1, TCPF_FIN
        ja   tx_xu_send

; tx_rtt: an RTT sample R = now - rtt_start (RFC 6298 §2; microseconds): the first sets SRTT = R,
; RTTVAR = R / 2; later ones RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, SRTT = 7/8 SRTT + 1/8 R;
; RTO = SRTT + max(RTO_G_US, 4 RTTVAR) within [RTO_MIN_US, RTO_MAX_US]. Clears TF_TIMING.
; Clobbers r11, r12, r13, r15.
tx_rtt:
        and  r6, TFN_TIMING
        ldev r11, now_us
        ldw  r12, [tx.rtt_start]
        sub  r11, r12
        max  r11, 1                     ; R; SRTT 0 means "no sample yet"
        ldw  r12, [tx.srtt]
        jne  r12, 0, tx_rtt_next
        mov  r12, r11
        mov  r13, r11
        shr  r13, 1
        ja   tx_rtt_rto
tx_rtt_next:
        mov  r13, r12
        sub  r13, r11                   ; SRTT - R
        jsge r13, 0, tx_rtt_abs
        neg  r13
tx_rtt_abs:
        shr  r13, 2
        ldw  r15, [tx.rttvar]
        add  r13, r15
        shr  r15, 2
        sub  r13, r15                   ; RTTVAR - RTTVAR / 4 + |SRTT - R| / 4
        mov  r15, r12
        shr  r15, 3
        sub  r12, r15
        shr  r11, 3
        add  r12, r11                   ; SRTT - SRTT / 8 + R / 8
tx_rtt_rto:
        stw  [tx.srtt], r12
        stw  [tx.rttvar], r13
        shl  r13, 2
        max  r13, RTO_G_US
        add  r12, r13
        max  r12, RTO_MIN_US
        min  r12, RTO_MAX_US
        stw  [tx.rto], r12
        ret

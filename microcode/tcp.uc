; tcp.uc: TCP termination, receive side, passive open (the send side comes later).
;
; What it does. A flow opens with the peer's SYN (or, with pickup, with a data segment of a
; connection already under way); the chip answers SYN-ACK, places in-order payload in the flow's
; socket buffer (sock_append) and hands it to the host (sock_deliver), keeps up to four
; out-of-order intervals (placed in the buffer too, reported as SACK blocks), acknowledges with
; delayed ACKs (every ACK_EVERY full-sized segments or after DELACK_US), and closes on the
; peer's FIN (passive close) or on an acceptable RST.
;
; States (rx.state). A fresh flow's record is all zeros, so 0 is both CLOSED and LISTEN.
;   0 CLOSED/LISTEN  1 SYN_RCVD  2 ESTABLISHED  3 FIN_WAIT_1  4 FIN_WAIT_2
;   5 CLOSE_WAIT     6 LAST_ACK  7 TIME_WAIT
; CLOSE_WAIT is never stored: the default host application closes as soon as the peer does, so
; the FIN handler goes from ESTABLISHED through CLOSE_WAIT straight to LAST_ACK. CLOSING is not
; used: without ACK validation (below) a FIN in FIN_WAIT_1 is taken as FIN_WAIT_2's.
; FIN_WAIT_1/2 are reachable only once the send side issues the close (tcp_close is a no-op for
; now: a host event only brings the tx portion, and the state lives in rx).
;
; Flow-state record: portion rx (every field below; receive and timer events) then portion tx
; (placeholder for the send side; send, host and internal events).
;   rx.state      1  the state above
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
;   rx.snd_nxt    4  next sequence number we send (iss + 1 after the SYN-ACK, +1 per FIN)
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
;   tx.snd_una, tx.snd_wnd, tx.spare: reserved for the send side.
;
; Replay caveats. sppsim replays captures open loop: the peer's segments are the ones it sent
; to the original server, whatever the chip answers. Hence:
;  - SEG.ACK refers to the original server's sequence space, not to our ISS, so it is NOT
;    validated against snd_una/snd_nxt anywhere (the send side will revisit this): any ACK
;    completes the handshake, moves FIN_WAIT_1 on, or ends LAST_ACK.
;  - every byte the original server accepted must be accepted here: data is refused only when
;    the socket buffer refuses it (sock_append answers 0) or, for data ahead of rcv_nxt, when
;    the out-of-order list is full; the peer then retransmits it.
;  - our ACKs and windows do not steer the peer: they are the chip's output, to be measured.
;    A pure ACK in LAST_ACK ends the flow even if, in the capture, it acknowledged the original
;    server's data rather than a FIN (the server half-closed later than we do).
;  - the peer keeps the options it negotiated with the original server: if its SYN offered
;    timestamps, its segments carry them though our SYN-ACK does not (hence rx.full_seg).
;
; Registers in the handlers: r1..r5 command arguments, r0 answers (commands change nothing
; else); r6 state, r7 seq, r8 payload length, r9 rcv_nxt, r10 -(irs + 1) on the out-of-order
; path (adding it to a sequence number gives the stream offset), r11..r15 scratch.

.protocol tcp

; ---- constants ----------------------------------------------------------------------------
.const ST_CLOSED      = 0               ; also LISTEN: a fresh record
.const ST_SYN_RCVD    = 1
.const ST_ESTABLISHED = 2
.const ST_FIN_WAIT_1  = 3
.const ST_FIN_WAIT_2  = 4
.const ST_CLOSE_WAIT  = 5               ; passed through at once (never stored)
.const ST_LAST_ACK    = 6
.const ST_TIME_WAIT   = 7

.const T_RTO          = 0               ; flow timer ids (timer i expires as tcp_rto + i)
.const T_DELACK       = 1
.const T_TIME_WAIT    = 2
.const T_KEEPALIVE    = 3

.const OUR_MSS        = 1460            ; MSS we advertise
.const OUR_WSCALE     = 7               ; window scale we send (only if the peer sent one)
.const PICKUP_SHIFT   = 14              ; a picked-up flow's scaling is unknown: assume the most
.const PICKUP_MSS     = 1460            ; ... and a peer MSS of 1460
.const DEFAULT_MSS    = 536             ; peer MSS when its SYN has none (RFC 9293)
.const WSCALE_NONE    = 255             ; event field wscale when the option is absent
.const TS_OPT_LEN     = 12              ; timestamp option bytes, padded (NOP NOP TS 10)
.const ACK_EVERY      = 2               ; ACK at once every this many full-sized segments
.const DELACK_US      = 40000           ; delayed-ACK timeout
.const MSL_US         = 1000000         ; MSL, shortened to 1 s for simulation
.const TIME_WAIT_US   = MSL_US + MSL_US ; 2 * MSL
.const MAX_WIN        = 65535           ; largest 16-bit window field
.const OOO_MAX        = 4               ; out-of-order intervals kept (= SACK blocks sent)
.const ISS_MUL        = 0x9e3779b1      ; ISS hash multiplier (2^32 / golden ratio, odd)

.const TCPF_FIN       = 0x01
.const TCPF_SYN       = 0x02
.const TCPF_RST       = 0x04
.const TCPF_ACK       = 0x10
.const TCPF_SYNACK    = TCPF_SYN + TCPF_ACK
.const TCPF_FINACK    = TCPF_FIN + TCPF_ACK

.const OPT_WS_ON      = 0x100000        ; tx_emit option word: bit 20 sends window scale,
.const OPT_WS_SHIFT   = 16              ;   whose value is in bits 16..19
.const OPT_SACK_OK    = 0x200000        ;   bit 21 sends SACK-permitted
.const OPT_NSACK_SHIFT = 24             ;   bits 24..26: SACK blocks to send

; ---- flow-state record ----------------------------------------------------------------------
.portion rx 80
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

.portion tx 32                          ; the send side's, later
.field snd_una 4                        ; 80
.field snd_wnd 4                        ; 84
.field spare 24                         ; 88

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

.needs receive rx
.needs timer rx
.needs send tx
.needs host tx
.needs internal tx

; ---- entries ----------------------------------------------------------------------------------
.entry tcp_syn          syn
.entry tcp_synack       done            ; we never sent a SYN
.entry tcp_ack          ack
.entry tcp_data         data
.entry tcp_fin          finseg
.entry tcp_rst          rst
.entry tcp_rto          done            ; send side, later
.entry tcp_delack       delack
.entry tcp_time_wait    time_wait
.entry tcp_keepalive    done            ; send side, later
.entry tcp_send         done            ; send side, later
.entry tcp_close        done            ; see the header: host events have no rx portion
.entry tcp_recv_credit  done            ; the host consumes at once: nothing to reopen
.entry tcp_internal     done
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

; Derives and stores our ISS, deterministically from the opening segment (sequence number in
; SEQ, ports from the event): ((sport << 16 | dport) ^ seq) * ISS_MUL. snd_nxt = iss + 1.
; Clobbers r11, r12.
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
        ldb  r1, [rx.nooo]
        ldb  r14, [rx.sack_ok]
        neg  r14                        ; sack_ok 1 -> all ones, 0 -> 0
        and  r1, r14                    ; r1 = SACK blocks to send
        shl  r1, OPT_NSACK_SHIFT        ; r1 = option word: no MSS, no window scale
        or   r5, SACK_AT_R5             ; r5 = flags | SACK block address << 16
        ldw  r2, [rx.snd_nxt]
        cmd  tx_emit
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

; send_synack: (re)send our SYN-ACK: seq iss, ack rcv_nxt, window min(sock_space, MAX_WIN)
; unscaled (RFC 7323: a SYN's window is never scaled), options MSS OUR_MSS, window scale
; OUR_WSCALE if the peer sent window scale, SACK-permitted if the peer sent it.
; Clobbers r0..r5, r11.
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

; ---- tcp_syn ----------------------------------------------------------------------------------
; A SYN on a fresh flow opens it; a retransmitted SYN in SYN_RCVD gets the SYN-ACK again; a SYN
; in LAST_ACK or TIME_WAIT starts a new connection in place (below); a SYN in another
; synchronized state gets a challenge ACK (RFC 5961 §4) and changes nothing.
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
        cmd  tx_template                ; this SYN, reversed, is the header of what we send
        set_iss r7
        stb  [rx.state], ST_SYN_RCVD
        call send_synack
        fin
syn_again:
        jeq  r6, ST_LAST_ACK, syn_reopen
        jeq  r6, ST_TIME_WAIT, syn_reopen
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
; A segment with nothing but an ACK. SEG.ACK is not checked (see the header): any ACK completes
; the handshake, acknowledges our FIN in FIN_WAIT_1, or ends LAST_ACK.
ack:
        ldb  r6, [rx.state]
        jeq  r6, ST_ESTABLISHED, done   ; the common case: nothing to do on the receive side
        jeq  r6, ST_SYN_RCVD, ack_handshake
        jeq  r6, ST_LAST_ACK, close_flow
        jne  r6, ST_FIN_WAIT_1, done
        stb  [rx.state], ST_FIN_WAIT_2
        fin
ack_handshake:
        stb  [rx.state], ST_ESTABLISHED
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
        fin                             ; after the peer's FIN: ignore the text (RFC 9293)
data_handshake:                         ; the data segment's ACK completes the handshake
        stb  [rx.state], ST_ESTABLISHED
        ja   data_rcv

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
        jne  r6, ST_SYN_RCVD, fin_synced
        mov  r6, ST_ESTABLISHED         ; its ACK completes the handshake
        stb  [rx.state], r6
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

; ESTABLISHED (or SYN_RCVD): passive close. The default host application closes as soon as the
; peer does, so CLOSE_WAIT is left at once: FIN|ACK and LAST_ACK.
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

; ---- tcp_rst ----------------------------------------------------------------------------------
; RFC 5961 §3: reset only when SEG.SEQ == RCV.NXT; inside the window, a challenge ACK (a blind
; attacker cannot guess rcv_nxt exactly, the real peer answers with the exact RST); outside,
; ignore.
rst:
        ldb  r6, [rx.state]
        jeq  r6, ST_CLOSED, done
        ldev r7, seq
        ldw  r9, [rx.rcv_nxt]
        jeq  r7, r9, close_flow
        jseqle r7, r9, done
        cmd  sock_space                 ; the receive window, in bytes
        add  r0, r9                     ; its right edge
        jseqge r7, r0, done
        mov  r3, r9
        call send_ack                   ; challenge ACK
        fin

; ---- timers -----------------------------------------------------------------------------------
; Delayed ACK: due unless an ACK already went out (which cleared the mark).
delack:
        ldb  r11, [rx.delack]
        jeq  r11, 0, done
        stb  [rx.delack], 0             ; the timer has fired: nothing to cancel
        call send_ack_ld
        fin

; 2 MSL have passed in TIME_WAIT: the flow is finished.
time_wait:
        ldb  r6, [rx.state]
        jeq  r6, ST_TIME_WAIT, close_flow
        fin

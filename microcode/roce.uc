; roce.uc: RoCEv2 reliable connection (RC), the responder side.
;
; What it does. The chip is the responder of RC queue pairs (QPs): it receives SEND and RDMA
; WRITE requests, places their payload and answers with ACK and NAK packets (BTH opcode 0x11
; ACKNOWLEDGE with an AETH, sent by tx_roce from the header template of the QP's first request).
; A QP is set up out of band, as a host driver would, by a roce_connect event (host channel):
; it initialises the QP context and opens the QP's receive buffer (sock_open). Then, per request:
;   - in order (PSN = the expected PSN, 24-bit arithmetic): the opcode sequence is checked (a
;     MIDDLE or LAST outside a message of its kind, or a FIRST or ONLY inside one, is NAKed
;     "invalid request"); a SEND's payload goes into the receive buffer at the QP's stream
;     offset (sock_append; refused: RNR NAK) and each completed message (SEND_LAST, SEND_ONLY)
;     is handed to the host (sock_deliver); an RDMA WRITE's payload goes to host memory at the
;     message's current VA (host_write, the region named by the RETH's rkey; refused: NAK
;     "remote access error"). A message completed (SEND or WRITE LAST/ONLY) counts one MSN.
;   - ACKs are coalesced: one goes out when the request asks for it (BTH AckReq), after
;     ACK_EVERY in-order requests, or when the ACK timer (timer T_ACK, ACK_US, armed by the first
;     request left unacknowledged) fires. An ACK carries PSN = epsn - 1 and the current MSN.
;   - a duplicate (PSN up to 2^23 behind epsn) is not placed again and is re-ACKed at once;
;   - a gap (PSN ahead of epsn) gets one NAK "PSN sequence error" with PSN = epsn; the NAK
;     flag then keeps quiet every further request until epsn arrives.
;   - roce_ack / roce_nak (the responder does not request anything): counted, nothing else.
;
; AETH syndromes (IBTA): ACK 0x00 | credits (0x1f: credits not modelled), RNR NAK 0x20 | timer,
; NAK 0x60 | code (0 PSN sequence error, 1 invalid request, 2 remote access error). tx_roce's r3
; is the syndrome | MSN << 8.
;
; Every NAK (sequence error, RNR, invalid request, remote access error) carries PSN = epsn and
; implicitly acknowledges everything before it: like an ACK it clears the unacknowledged count
; and cancels the ACK timer. Every NAK also sets the NAK flag: after a NAK the requester goes
; back to epsn, so the requests still in flight behind the refused one are gaps that need no
; NAK of their own.
;
; QP states (qp.state). A fresh record is all zeros: 0 is "not connected".
;   0 FRESH      no roce_connect yet: requests are counted as stray and ignored
;   1 CONNECTED  set up by roce_connect: requests are served
;
; Flow-state record: portion qp (every field below; receive, timer, host and internal events),
; then portion conn (host events only: roce_connect, which needs both).
;   qp.state      1  the state above
;   qp.tmpl       1  1 once the header template was taken (tx_template, first request)
;   qp.inmsg      1  the multi-packet message in progress: 0 none, 1 SEND, 2 RDMA WRITE
;   qp.unacked    1  in-order requests accepted since our last ACK or NAK (< ACK_EVERY)
;   qp.timer      1  1 while the ACK timer is armed
;   qp.naked      1  1 after a NAK, until a request with PSN = epsn arrives
;   (2 bytes of alignment, always 0)
;   qp.epsn       4  the expected PSN (24 bits)
;   qp.msn        4  messages completed (24 bits), as the ACKs report it
;   qp.rqp        4  the requester's QP number (24 bits): the destination QP of our packets
;   qp.offset     4  SEND payload bytes accepted so far, modulo 2^32: the stream offset at
;                    which the next SEND packet goes (sock_append's r3)
;   qp.va_lo      4  the RDMA WRITE in progress: VA of its next byte, low 32 bits
;   qp.va_hi      4  ... high 32 bits
;   qp.rkey       4  ... and the memory region's key (from the RETH of its FIRST/ONLY)
;   Counters (32 bits, wrapping; over the record's life: a second roce_connect keeps them):
;   qp.pkts_in    4  requests accepted in order (placed; epsn advanced)
;   qp.dups       4  duplicates received (PSN behind epsn)
;   qp.gaps       4  requests received ahead of epsn (NAKed or not)
;   qp.naks       4  NAKs sent: PSN sequence error, invalid request, remote access error
;   qp.rnr_naks   4  RNR NAKs sent (the receive buffer refused a SEND's payload)
;   qp.acks       4  ACKs sent (coalesced, requested, by the timer, re-ACKs of duplicates)
;   qp.acks_in    4  roce_ack and roce_nak packets received
;   qp.wbytes     4  RDMA WRITE payload bytes written to host memory
;   qp.stray      4  requests received before the QP was connected (ignored)
;   conn.buf_size 4  the receive buffer's size, sock_open's answer at the last roce_connect
;   conn.connects 4  roce_connect events received
;
; Caveats (simplifications of the IBTA responder).
;  - sppsim replays captures open loop: the requester's packets are the ones it sent to the
;    original responder, whatever the chip answers. A request the chip refuses (RNR, access
;    error, invalid request) is retransmitted only if the capture holds a retransmission; until
;    then the QP's later requests are gaps.
;  - an invalid request or a remote access error does not move the QP to the error state (IBTA
;    makes both fatal): the QP stays usable, epsn unchanged.
;  - credits are not modelled (the ACKs' credit field is 0x1f, "invalid"); receive WQEs are not
;    modelled: the QP's receive buffer takes SEND payload as a byte stream, one message after
;    the other, and the message boundaries are the sock_deliver offsets.
;  - "with immediate" opcodes are served as their plain forms; the immediate is not delivered.
;  - an RDMA WRITE's total is not checked against the RETH's DMA length; only the host's
;    region check (host_write's answer) can refuse it. A zero-length SEND or WRITE packet
;    places nothing and issues no sock_append or host_write (IBTA: a zero-length RDMA WRITE's
;    rkey is not checked), but counts as a request (and a SEND_ONLY as a message).
;  - READ, atomics and the other opcodes arrive as event type `other` and are not handled here.
;
; Registers in the request path: r1..r5 command arguments, r0 answers; r6 the request's kind
; (K_* bits below), r7 PSN, r8 payload length, r9 epsn, r12 the message kind (M_SEND or
; M_WRITE), r11, r13, r14 scratch.

.protocol roce

; ---- constants ----------------------------------------------------------------------------
.const ST_FRESH       = 0
.const ST_CONNECTED   = 1

.const T_ACK          = 0               ; flow timer 0: expires as roce_ack_timer
.const ACK_EVERY      = 4               ; ACK at once every this many in-order requests
.const ACK_US         = 10              ; ... or this long after the first unacknowledged one

.const OP_ACK         = 0x11            ; BTH opcode ACKNOWLEDGE (RC)
.const SYN_ACK        = 0x1f            ; AETH: ACK, credit count "invalid" (not modelled)
.const RNR_TIMER      = 12              ; IBTA RNR timer code 12: 0.64 ms
.const SYN_RNR        = 0x20 + RNR_TIMER
.const SYN_NAK_PSN    = 0x60            ; NAK: PSN sequence error
.const SYN_NAK_INV    = 0x61            ; NAK: invalid request
.const SYN_NAK_ACC    = 0x62            ; NAK: remote access error
.const PSN_MASK       = 0xffffff        ; PSNs, MSNs and QP numbers are 24 bits
.const PSN_HALF       = 0x800000        ; (psn - epsn) mod 2^24 at or above this: behind
.const F_ACKREQ       = 0x01            ; event field bth_flags: BTH AckReq

; The request kinds (r6): a bit for FIRST, one for LAST (ONLY has both, MIDDLE neither), one
; for RDMA WRITE (SEND has none).
.const K_FIRST        = 1
.const K_LAST         = 2
.const K_WRITE        = 4
.const K_SEND_FIRST   = K_FIRST
.const K_SEND_MIDDLE  = 0
.const K_SEND_LAST    = K_LAST
.const K_SEND_ONLY    = K_FIRST + K_LAST
.const K_WRITE_FIRST  = K_WRITE + K_FIRST
.const K_WRITE_MIDDLE = K_WRITE
.const K_WRITE_LAST   = K_WRITE + K_LAST
.const K_WRITE_ONLY   = K_WRITE + K_FIRST + K_LAST
; The messages in progress (qp.inmsg): M_SEND = 1 + (K_* of a SEND >> 2), M_WRITE likewise.
.const M_NONE         = 0
.const M_SEND         = 1
.const M_WRITE        = 2

; ---- flow-state record ----------------------------------------------------------------------
.portion qp 72
.field state 1                          ; 0
.field tmpl 1                           ; 1
.field inmsg 1                          ; 2
.field unacked 1                        ; 3
.field timer 1                          ; 4
.field naked 1                          ; 5
.field epsn 4                           ; 8
.field msn 4                            ; 12
.field rqp 4                            ; 16
.field offset 4                         ; 20
.field va_lo 4                          ; 24
.field va_hi 4                          ; 28
.field rkey 4                           ; 32
.field pkts_in 4                        ; 36
.field dups 4                           ; 40
.field gaps 4                           ; 44
.field naks 4                           ; 48
.field rnr_naks 4                       ; 52
.field acks 4                           ; 56
.field acks_in 4                        ; 60
.field wbytes 4                         ; 64
.field stray 4                          ; 68

.portion conn 8
.field buf_size 4                       ; 72
.field connects 4                       ; 76

.needs receive qp
.needs timer qp
.needs host qp, conn
.needs internal qp

; ---- entries ----------------------------------------------------------------------------------
.entry roce_send_first    send_first
.entry roce_send_middle   send_middle
.entry roce_send_last     send_last
.entry roce_send_only     send_only
.entry roce_write_first   write_first
.entry roce_write_middle  write_middle
.entry roce_write_last    write_last
.entry roce_write_only    write_only
.entry roce_ack           ack_in
.entry roce_nak           ack_in
.entry roce_ack_timer     ack_timer
.entry roce_internal      done          ; nothing raises it yet
.entry roce_connect       connect

; ---- macros -----------------------------------------------------------------------------------

; FIELD += 1 (32-bit counter), through scratch register R.
.macro bump FIELD, R
        ldw  \R, [\FIELD]
        add  \R, 1
        stw  [\FIELD], \R
.endm

; ---- common exits -----------------------------------------------------------------------------

done:
        fin

; Send an ACK now, then finish.
ack_fin:
        call send_ack
        fin

; ---- subroutines ------------------------------------------------------------------------------

; send_ack: ACK (SYN_ACK) with PSN = epsn - 1 and the current MSN. send_nak: NAK with the
; syndrome in r3 and PSN = epsn; sets the NAK flag. Both: unacked = 0 and the ACK timer, if
; armed, cancelled (a NAK acknowledges everything before its PSN). Clobbers r0..r5, r14.
send_ack:
        ldw  r2, [qp.epsn]
        sub  r2, 1
        and  r2, PSN_MASK
        mov  r3, SYN_ACK
        bump qp.acks, r14
        ja   send_aeth
send_nak:
        ldw  r2, [qp.epsn]
        stb  [qp.naked], 1
send_aeth:
        ldw  r14, [qp.msn]
        shl  r14, 8
        or   r3, r14                    ; r3 = syndrome | MSN << 8
        mov  r1, OP_ACK
        ldw  r4, [qp.rqp]
        cmd  tx_roce
        stb  [qp.unacked], 0
        ldb  r14, [qp.timer]
        jne  r14, 0, send_cancel
        ret
send_cancel:
        stb  [qp.timer], 0
        mov  r1, T_ACK
        cmd  timer_cancel
        ret

; ---- requests ---------------------------------------------------------------------------------
; One entry per request type: r6 = its kind, then the common path.
send_first:     mov  r6, K_SEND_FIRST
                ja   request
send_middle:    mov  r6, K_SEND_MIDDLE
                ja   request
send_last:      mov  r6, K_SEND_LAST
                ja   request
send_only:      mov  r6, K_SEND_ONLY
                ja   request
write_first:    mov  r6, K_WRITE_FIRST
                ja   request
write_middle:   mov  r6, K_WRITE_MIDDLE
                ja   request
write_last:     mov  r6, K_WRITE_LAST
                ja   request
write_only:     mov  r6, K_WRITE_ONLY

request:
        ldb  r11, [qp.state]
        jeq  r11, ST_FRESH, req_stray
        ldb  r11, [qp.tmpl]
        jne  r11, 0, req_psn
        cmd  tx_template                ; the first request: the header of what we send
        stb  [qp.tmpl], 1
req_psn:
        ldev r7, psn
        ldw  r9, [qp.epsn]
        mov  r11, r7
        sub  r11, r9
        and  r11, PSN_MASK              ; r11 = (psn - epsn) mod 2^24
        jeq  r11, 0, req_in_order
        jge  r11, PSN_HALF, req_dup
        ; Ahead of epsn: a request was lost. NAK once (until epsn arrives).
        bump qp.gaps, r12
        ldb  r12, [qp.naked]
        jne  r12, 0, done
        mov  r3, SYN_NAK_PSN
        ja   nak_fin

; Behind epsn: a retransmission of a request already served. Not placed again; acknowledged
; again at once (IBTA: the responder re-ACKs a duplicate).
req_dup:
        bump qp.dups, r12
        ja   ack_fin

req_stray:
        bump qp.stray, r11
        fin

; In order. Check the opcode sequence: r12 = the message kind of this request, r13 = the one
; in progress.
req_in_order:
        stb  [qp.naked], 0              ; epsn has arrived
        mov  r12, r6
        shr  r12, 2
        add  r12, 1                     ; r12 = M_SEND or M_WRITE
        ldb  r13, [qp.inmsg]
        jset r6, K_FIRST, req_first
        jne  r13, r12, req_invalid      ; a MIDDLE or LAST outside a message of its kind
        ja   req_place
req_first:
        jne  r13, M_NONE, req_invalid   ; a FIRST or ONLY inside a message
req_place:
        ldev r1, pay_off
        ldev r8, pay_len
        mov  r2, r8
        jset r6, K_WRITE, req_write
        ; SEND: into the receive buffer at the stream offset.
        ldw  r3, [qp.offset]
        jeq  r8, 0, req_send_placed
        cmd  sock_append
        jeq  r0, 0, req_rnr
        add  r3, r8
        stw  [qp.offset], r3
req_send_placed:
        jset r6, K_LAST, req_send_end
        ja   req_advance
req_send_end:                           ; the message is complete: to the host
        mov  r1, r3
        cmd  sock_deliver
        ja   req_msg_end

; RDMA WRITE: to host memory at the message's VA (the RETH's for a FIRST or ONLY, else the
; context's), in the region rkey. r1 frame offset, r2 = r8 length.
req_write:
        jset r6, K_FIRST, req_write_reth
        ldw  r3, [qp.rkey]
        ldw  r4, [qp.va_lo]
        ldw  r5, [qp.va_hi]
        ja   req_write_go
req_write_reth:
        ldev r3, rkey
        ldev r4, va_lo
        ldev r5, va_hi
req_write_go:
        jeq  r8, 0, req_written
        cmd  host_write
        jeq  r0, 0, req_access
req_written:
        stw  [qp.rkey], r3
        mov  r11, r4
        add  r4, r8                     ; VA += length, 64-bit
        jge  r4, r11, req_va_nocarry
        add  r5, 1
req_va_nocarry:
        stw  [qp.va_lo], r4
        stw  [qp.va_hi], r5
        ldw  r11, [qp.wbytes]
        add  r11, r8
        stw  [qp.wbytes], r11
        jset r6, K_LAST, req_msg_end
        ja   req_advance

req_msg_end:                            ; a message completed: MSN + 1
        ldw  r11, [qp.msn]
        add  r11, 1
        and  r11, PSN_MASK
        stw  [qp.msn], r11
; Accepted: the message in progress (none after a LAST or ONLY), epsn + 1, then the ACK policy.
req_advance:
        mov  r13, M_NONE
        jset r6, K_LAST, req_adv_msg
        mov  r13, r12
req_adv_msg:
        stb  [qp.inmsg], r13
        add  r9, 1
        and  r9, PSN_MASK
        stw  [qp.epsn], r9
        bump qp.pkts_in, r11
        ldev r11, bth_flags
        jset r11, F_ACKREQ, ack_fin     ; the requester asks for an ACK
        ldb  r11, [qp.unacked]
        add  r11, 1
        jge  r11, ACK_EVERY, ack_fin    ; ACK_EVERY unacknowledged: ACK now
        stb  [qp.unacked], r11
        ldb  r11, [qp.timer]
        jne  r11, 0, done               ; the ACK timer is already running
        mov  r1, T_ACK
        mov  r2, ACK_US
        cmd  timer_set
        stb  [qp.timer], 1
        fin

; Refusals: nothing advances (epsn, offsets, VA, MSN, the message in progress stay).
req_rnr:                                ; the receive buffer is full: RNR NAK
        mov  r3, SYN_RNR
        call send_nak
        bump qp.rnr_naks, r11
        fin
req_invalid:                            ; bad opcode sequence
        mov  r3, SYN_NAK_INV
        ja   nak_fin
req_access:                             ; host_write refused: no such region, or outside it
        mov  r3, SYN_NAK_ACC
nak_fin:                                ; NAK with syndrome r3, count it, finish
        call send_nak
        bump qp.naks, r11
        fin

; ---- roce_ack, roce_nak -----------------------------------------------------------------------
; The responder requests nothing: an ACK or NAK received is only counted.
ack_in:
        bump qp.acks_in, r11
        fin

; ---- roce_ack_timer ---------------------------------------------------------------------------
; The coalesced ACK is due, unless an ACK or NAK already went out (which cleared the mark).
ack_timer:
        ldb  r11, [qp.timer]
        jeq  r11, 0, done
        stb  [qp.timer], 0              ; it has fired: nothing to cancel
        ja   ack_fin

; ---- roce_connect -----------------------------------------------------------------------------
; Sets up the QP: qp = ours, arg = the requester's, psn (the descriptor's seq) = the first PSN
; expected, dma_len = the receive buffer size hint. A QP set up again starts afresh (its ACK
; timer cancelled, the template taken again), but keeps its counters.
connect:
        ldb  r11, [qp.timer]
        jeq  r11, 0, connect_init
        mov  r1, T_ACK
        cmd  timer_cancel
connect_init:
        stw  [qp.state], ST_CONNECTED   ; state 1; tmpl, inmsg, unacked 0 (one word)
        stw  [qp.timer], 0              ; timer, naked and the alignment bytes
        ldev r11, psn
        and  r11, PSN_MASK
        stw  [qp.epsn], r11
        stw  [qp.msn], 0
        ldev r11, arg
        and  r11, PSN_MASK
        stw  [qp.rqp], r11
        stw  [qp.offset], 0
        stw  [qp.va_lo], 0
        stw  [qp.va_hi], 0
        stw  [qp.rkey], 0
        ldev r1, dma_len                ; the buffer size hint; r2 = 0: no window scaling
        mov  r2, 0
        cmd  sock_open
        stw  [conn.buf_size], r0
        bump conn.connects, r11
        fin

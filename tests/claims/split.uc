; split.uc: microcode for the claim tests of workspace portions and core-generated events
; (claims 11, 15, 23, 25, 26). A flow's state has two portions: rx, which received segments
; work on, and tx, which core-generated (internal) events work on. Every data segment adds its
; payload to rx and raises a tcp_internal event (claim 15) whose handler adds it to tx. With
; the routes of the tests, received events run on cluster 0 and internal events on cluster 1,
; each with its own portion in its core's local memory (claims 11, 23), at the same time. A SYN
; arms flow timer 0 for 10 us; its expiry (tcp_rto, claims 13, 24) is counted in rx.

.protocol tcp
.const EV_TCP_INTERNAL = 13

.portion rx 16
.field bytes 4          ; payload bytes received
.field segs 4           ; data segments received
.field acks 4           ; pure ACKs received
.field timeouts 4       ; timer expiries
.portion tx 16
.field bytes 4          ; payload bytes announced by internal events
.field events 4         ; internal events handled
.needs receive rx
.needs timer rx
.needs internal tx

.entry tcp_syn      syn
.entry tcp_rto      timeout
.entry tcp_synack   done
.entry tcp_ack      ack
.entry tcp_data     data
.entry tcp_fin      done
.entry tcp_rst      done
.entry tcp_internal internal

data:
        ldev r3, pay_len
        ldw  r2, [rx.bytes]
        add  r2, r3
        stw  [rx.bytes], r2
        ldw  r2, [rx.segs]
        add  r2, 1
        stw  [rx.segs], r2
        mov  r1, EV_TCP_INTERNAL
        mov  r2, r3
        cmd  ev_emit            ; claim 15: an additional event from the flow's current state
        fin
ack:
        ldw  r2, [rx.acks]
        add  r2, 1
        stw  [rx.acks], r2
        fin
internal:
        ldev r1, arg
        ldw  r2, [tx.bytes]
        add  r2, r1
        stw  [tx.bytes], r2
        ldw  r2, [tx.events]
        add  r2, 1
        stw  [tx.events], r2
        fin
syn:
        mov  r1, 0              ; timer 0
        mov  r2, 10             ; in 10 us
        cmd  timer_set
        fin
timeout:
        ldw  r2, [rx.timeouts]
        add  r2, 1
        stw  [rx.timeouts], r2
        fin
done:
        fin

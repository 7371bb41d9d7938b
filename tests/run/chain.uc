; chain.uc: firmware whose internal events never stop, for tests/run/chain.py. The first data
; segment of a flow raises one internal event, and every internal event raises one more: each
; handler is short and ends, the chip is never stuck, yet the run would go on for ever. The
; core's chain limit (core.max_chain) makes the ev_emit that would go one deeper a fault.
.protocol tcp
.portion rx 8
.field n 4
.needs receive rx
.needs internal rx

.entry tcp_syn      done
.entry tcp_synack   done
.entry tcp_ack      done
.entry tcp_data     once
.entry tcp_fin      done
.entry tcp_rst      done
.entry tcp_internal again

once:
        ldw  r6, [rx.n]
        jne  r6, 0, done        ; only the flow's first data segment starts the chain
        stw  [rx.n], 1
again:
        mov  r1, 13             ; tcp_internal
        mov  r2, 0
        cmd  ev_emit
        fin
done:
        fin

; deadlock.uc: firmware made to deadlock the chip, for tests/run/deadlock.py. Every data segment
; raises two internal events for its flow, and every internal event two more: an event storm
; that no bounded chip can absorb. The internal events need the flow's `rx` portion, so they
; queue behind the core that holds it; once the dispatcher's pool of parked events is full it
; takes no more input, the internal-event channel fills, and the core that holds the portion
; waits for room there to finish: every unit waits for another, and nothing moves.
.protocol tcp
.portion rx 8
.field n 4
.needs receive rx
.needs internal rx

.entry tcp_syn      done
.entry tcp_synack   done
.entry tcp_ack      done
.entry tcp_data     storm
.entry tcp_fin      done
.entry tcp_rst      done
.entry tcp_internal storm

storm:
        mov  r1, 13             ; tcp_internal
        mov  r2, 0
        cmd  ev_emit
        cmd  ev_emit
        fin
done:
        fin

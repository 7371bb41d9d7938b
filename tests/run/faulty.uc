; faulty.uc: firmware with deliberate faults, for tests/run/faults.py. A data segment longer
; than 1000 bytes hits a trap; a FIN loops forever (the cycle budget stops it); everything else
; is accepted and ignored.
.protocol tcp
.portion rx 8
.field segs 4
.needs receive rx

.entry tcp_syn      done
.entry tcp_synack   done
.entry tcp_ack      done
.entry tcp_data     data
.entry tcp_fin      spin
.entry tcp_rst      done

data:
        ldev r1, pay_len
        jle  r1, 1000, small
        trap 7                  ; a segment this long is a bug in this firmware
small:
        ldw  r2, [rx.segs]
        add  r2, 1
        stw  [rx.segs], r2
        fin
spin:
        ja   spin               ; never ends: the cycle budget faults it
done:
        fin

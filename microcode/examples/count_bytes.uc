; count_bytes.uc: counts the payload bytes and the data segments each TCP flow receives.
; The worked example of docs/isa.md.

.protocol tcp

; The flow-state record: one portion of two 32-bit counters.
.portion stats 8
.field bytes 4                  ; payload bytes received (stats.bytes, address 0)
.field segs 4                   ; data segments received (stats.segs, address 4)
.needs receive stats            ; received segments bring the stats portion

; One handler per TCP event type.
.entry tcp_syn      done
.entry tcp_synack   done
.entry tcp_ack      done
.entry tcp_data     data
.entry tcp_fin      done
.entry tcp_rst      done

data:
        ldev r1, pay_len        ; r1 = payload bytes of this segment
        ldw  r2, [stats.bytes]
        add  r2, r1
        stw  [stats.bytes], r2  ; bytes += pay_len
        ldw  r3, [stats.segs]
        add  r3, 1
        stw  [stats.segs], r3   ; segs += 1
done:
        fin

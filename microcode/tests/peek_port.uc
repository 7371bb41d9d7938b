; peek_port.uc: reads the TCP destination port from the frame, keeps it in the workspace and
; logs it: a test program for frame loads and commands (microcode/tests/peek_port.uct).
.protocol udp
.portion s 4
.field port 2
.needs receive s
.entry udp_datagram peek

peek:
        ldev r3, l4_off
        ldph r1, [r3 + 2]       ; destination port, network byte order
        sth  [s.port], r1
        mov  r2, r3
        cmd  log                ; r1 = port, r2 = l4_off
        fin

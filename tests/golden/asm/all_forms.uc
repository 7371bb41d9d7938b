; all_forms.uc: every instruction form of the ISA once (tests/test_asm.cc checks its listing).
.protocol udp

.const SEVEN = 7
.const MINUS = -2
.const BIG = 0xfffffff0

.portion rx 16
.field a 4
.field b 2
.field c 1
.field d 4                 ; aligned to 12
.portion tx 8
.field e 8
.needs receive rx
.needs send rx, tx
.needs timer tx

.entry udp_datagram start
.entry other sub1

start:  nop
        neg r1
        not r15
        mov r0, r3
        mov r1, 0
        add r1, r4
        add r2, -1
        sub r2, r5
        sub r3, 0x7fffffff
        mul r3, r6
        mul r4, SEVEN
        and r4, r7
        and r5, BIG
        or r5, r8
        or r6, MINUS + 1
        xor r6, r9
        xor r7, 4294967295
        shl r7, r10
        shl r8, -2147483648
        shr r8, r11
        shr r9, rx.d - 4
        sar r9, r12
        sar r10, 31
        min r10, r13
        min r11, SEVEN - 10 + 3
        max r11, r14
        max r12, 0xffff
        seqmin r12, r15
        seqmin r13, 65536
        seqmax r13, r0
        seqmax r14, 0x80000000
back:
        jeq r0, r5, back
        jeq r2, 0, fwd
        jne r1, r6, back
        jne r3, 1, fwd
        jlt r2, r7, back
        jlt r4, -1, fwd
        jle r3, r8, back
        jle r5, SEVEN, fwd
        jgt r4, r9, back
        jgt r6, BIG, fwd
        jge r5, r10, back
        jge r7, 100, fwd
        jslt r6, r11, back
        jslt r8, 0x10, fwd
        jsle r7, r12, back
        jsle r9, MINUS, fwd
        jsgt r8, r13, back
        jsgt r10, 65535, fwd
        jsge r9, r14, back
        jsge r11, 65536, fwd
        jseqlt r10, r15, back
        jseqlt r12, -65536, fwd
        jseqle r11, r0, back
        jseqle r13, tx.e, fwd
        jseqgt r12, r1, back
        jseqgt r14, 3, fwd
        jseqge r13, r2, back
        jseqge r15, 4, fwd
        jset r14, r3, back
        jset r0, 0x80, fwd
        ja back
        call sub1
fwd:    ldw r1, [r2]
        ldw r1, [r2 + 4]
        ldh r3, [r4 - 2]
        ldb r5, [r6 + 32767]
        ldw r7, [rx.a]
        ldh r8, [rx.b]
        ldb r9, [rx.c]
        ldw r10, [tx.e + 4]       ; no field here: shown as a number
        ldw r11, [r12 - 32768]
        ldb r0, [65535]
        stw [r1], r2
        stw [r1 + 8], r3
        sth [r4 - 6], r5
        stb [r6 + 1], r7
        stw [rx.d], r8
        sth [rx.b], r9
        stb [rx.c], r10
        stw [r1 + 4], SEVEN
        stw [r1], -1
        sth [r2 - 2], 65535
        sth [r2], -32768
        stb [r3 + 3], 255
        stb [r3], -128
        stw [tx.e], BIG
        sth [rx.b], 0x1234
        stb [rx.c], 7
        ldpw r1, [r2 + 14]
        ldph r2, [r3 - 1]
        ldpb r3, [r4]
        ldpw r4, [20]
        ldph r5, [SEVEN + 5]
        ldpb r6, [65535]
        ldev r0, type
        ldev r1, class
        ldev r2, chan
        ldev r3, proto
        ldev r4, flow
        ldev r5, seq
        ldev r6, ack
        ldev r7, win
        ldev r8, flags
        ldev r9, mss
        ldev r10, wscale
        ldev r11, sack_ok
        ldev r12, has_ts
        ldev r13, ts_val
        ldev r14, ts_ecr
        ldev r15, nsack
        ldev r0, sack0_l
        ldev r1, sack0_r
        ldev r2, sack1_l
        ldev r3, sack1_r
        ldev r4, sack2_l
        ldev r5, sack2_r
        ldev r6, sack3_l
        ldev r7, sack3_r
        ldev r8, frame_len
        ldev r9, l3_off
        ldev r10, l4_off
        ldev r11, pay_off
        ldev r12, pay_len
        ldev r13, sport
        ldev r14, dport
        ldev r15, af
        cmd sock_append
        cmd tx_emit
        cmd timer_set
        cmd timer_cancel
        cmd ev_emit
        cmd log
        trap 0
        trap 0xdeadbeef
        trap -1
        fin
sub1:   add r1, 1
        ret

; roce_fields.uc: logs every RoCE field of the event descriptor (ldev by the assembler's names):
; a test of the names, the core's event load and the harness (microcode/tests/roce_fields.uct).
; No .protocol: .protocol roce would require a handler for every RoCE type (the test
; no_handler_for_send relies on there being none for roce_send_only).
.entry roce_write_first fields
.entry roce_nak fields

fields:
        ldev r1, qp
        ldev r2, psn
        ldev r3, va_hi
        ldev r4, va_lo
        ldev r5, rkey
        cmd  log                ; qp, psn, va high, va low, rkey
        ldev r1, dma_len
        ldev r2, opcode
        ldev r3, bth_flags
        ldev r4, syndrome
        ldev r5, msn
        cmd  log                ; dma_len, opcode, bth_flags, syndrome, msn
        fin

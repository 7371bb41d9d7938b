/* core_loop.h: the run loop's body, included twice by core.c (nowhere else), with TRACING 0 or 1
 * and RUN_LOOP the function's name; core.c defines the macros it uses and says what it does.
 * No include guard, on purpose. A compiler does not inline a function that takes the address
 * of its labels, so the two instantiations are two definitions rather than one always-inlined
 * function with a constant argument. */
static int RUN_LOOP(core *c, const event *ev, uint8_t *ws, uint32_t ws_len, const scratchpad *sp,
                    cycle_t start, core_result *res, uint32_t pc)
{
#if CORE_THREADED
#define H_ADDR(n, v) [v] = &&h_##n,
#define H_ADDR_NC(n, v) [v] = &&h_##n##_nc,
    static const void *const checked[UC_OPMASK + 1 + UC_K + UC_ABS] = {HANDLERS(H_ADDR)
                                                                           WS_ABS(H_ADDR)};
    static const void *const unchecked[UC_OPMASK + 1 + UC_K + UC_ABS] = {HANDLERS(H_ADDR)
                                                                             WS_ABS(H_ADDR_NC)};
#undef H_ADDR
#undef H_ADDR_NC
    /* verified once per event: no absolute workspace access can fall outside this workspace */
    const void *const *const dispatch = ws_len >= c->abs_end ? unchecked : checked;
#endif
    const core_insn *const code = c->code;
    const int64_t max = c->cfg.max_cycles;
    int64_t left = max; /* budget left: the cycles used are max - left */
    uint32_t r[UC_NREGS] = {0};
    uint32_t stack[UC_CALL_DEPTH];
    unsigned depth = 0, ncmds = 0;
    uint64_t n = 0, nws = 0, nsp = 0; /* retired; workspace and frame accesses issued */
    int fault = CORE_OK;
    const core_insn *in = &code[pc]; /* the instruction being executed */
    int64_t a;                       /* memory address of a load or store */
    uint32_t v;                      /* value stored, or loaded from the frame */
    uint64_t issue = 0;              /* tracing: cycles used when in issued */
    (void)issue;

#if CORE_THREADED
    DISPATCH();
#else
dispatch:
    if (TRACING)
        issue = (uint64_t)(max - left);
    switch (in->xop) {
#endif
    /* clang-format 14 would indent the handlers that macros make as statements of the one
     * before */
    // clang-format off
    HANDLER(NOP) {
        CHARGE(in->cost);
        NEXT();
    }
    ALU(MOV, ((void)d, s))
    ALU(ADD, d + s)
    ALU(SUB, d - s)
    ALU(MUL, d * s)
    ALU(AND, d & s)
    ALU(OR, d | s)
    ALU(XOR, d ^ s)
    ALU(SHL, d << (s & 31))
    ALU(SHR, d >> (s & 31))
    ALU(SAR, sar32(d, s & 31))
    ALU(MIN, d < s ? d : s)
    ALU(MAX, d > s ? d : s)
    ALU(SEQMIN, seq_lt(d, s) ? d : s)
    ALU(SEQMAX, seq_lt(d, s) ? s : d)
    HANDLER(NEG) {
        CHARGE(in->cost);
        r[in->dst] = 0u - r[in->dst];
        NEXT();
    }
    HANDLER(NOT) {
        CHARGE(in->cost);
        r[in->dst] = ~r[in->dst];
        NEXT();
    }

    HANDLER(JA) {
        CHARGE(in->cost);
        JUMP(in->off);
    }
    BRANCH(JEQ, d == s)
    BRANCH(JNE, d != s)
    BRANCH(JLT, d < s)
    BRANCH(JLE, d <= s)
    BRANCH(JGT, d > s)
    BRANCH(JGE, d >= s)
    BRANCH(JSLT, flip(d) < flip(s))
    BRANCH(JSLE, flip(d) <= flip(s))
    BRANCH(JSGT, flip(d) > flip(s))
    BRANCH(JSGE, flip(d) >= flip(s))
    BRANCH(JSEQLT, seq_lt(d, s))
    BRANCH(JSEQLE, seq_le(d, s))
    BRANCH(JSEQGT, !seq_le(d, s))
    BRANCH(JSEQGE, !seq_lt(d, s))
    BRANCH(JSET, (d & s) != 0)
    HANDLER(CALL) {
        CHARGE(in->cost);
        if (depth == UC_CALL_DEPTH)
            FAULT(CORE_FAULT_STACK);
        stack[depth++] = (uint32_t)(in - code) + 1;
        JUMP(in->off);
    }
    HANDLER(RET) {
        CHARGE(in->cost);
        if (depth == 0)
            FAULT(CORE_FAULT_STACK);
        JUMP(stack[--depth]);
    }

    LOAD(LDW, 4)
    LOAD(LDH, 2)
    LOAD(LDB, 1)
    STORE(STW, 4)
    STORE(STH, 2)
    STORE(STB, 1)
    PLOAD(LDPW, 4)
    PLOAD(LDPH, 2)
    PLOAD(LDPB, 1)

    LDEV(LDEV_B, uint8_t, x)
    LDEV(LDEV_H, uint16_t, x)
    LDEV(LDEV_W, uint32_t, x)
    LDEV(LDEV_QLO, uint64_t, (uint32_t)x)
    LDEV(LDEV_QHI, uint64_t, (uint32_t)(x >> 32))
    HANDLER(LDEV_0) {
        CHARGE(in->cost);
        r[in->dst] = 0;
        NEXT();
    }
    HANDLER(LDEV_NOW) { /* the issue cycle, in microseconds */
        CHARGE(in->cost);
        r[in->dst] = (uint32_t)((start + (uint64_t)(max - left - in->cost)) / c->cfg.clock_mhz);
        NEXT();
    }
    HANDLER(CMD) {
        CHARGE(in->cost);
        if (ncmds == CORE_MAX_CMDS)
            FAULT(CORE_FAULT_CMDS);
        if (in->imm == UC_CMD_EV_EMIT && ev->chain >= c->cfg.max_chain)
            FAULT(CORE_FAULT_CHAIN);
        core_cmd_rec *rec = &res->cmds[ncmds];
        rec->cmd = (uint8_t)in->imm;
        rec->cycle = start + (uint64_t)(max - left - in->cost);
        memcpy(rec->arg, &r[1], sizeof rec->arg);
        if (in->imm == UC_CMD_TX_EMIT) {
            uint32_t ns = (r[1] >> UC_TXO_NSACK_SHIFT) & 7u, sa = r[5] >> 16;
            if (ns > EV_MAX_SACK || (uint64_t)sa + (uint64_t)8u * ns > ws_len)
                FAULT(CORE_FAULT_WS_BOUNDS);
            memcpy(rec->sack, ws + sa, (size_t)8u * ns);
        }
        ncmds++;
        r[0] = c->cmd_fn ? c->cmd_fn(c->cmd_ctx, ev, rec) : 0;
        NEXT();
    }
    HANDLER(FIN) {
        CHARGE(in->cost);
        n++;
        TRACE();
        goto out;
    }
    HANDLER(TRAP) {
        CHARGE(in->cost);
        res->trap_code = in->imm;
        FAULT(CORE_FAULT_TRAP);
    }
    // clang-format on
#if !CORE_THREADED
default: /* the pre-decoder makes no other xop */
    UNREACHABLE();
}
#endif

budget : fault = CORE_FAULT_BUDGET;
out : res->fault = fault;
res->pc = (uint32_t)(in - code);
res->end = start + (uint64_t)(max - left);
res->insns = n;
res->ncmds = ncmds;
memcpy(res->regs, r, sizeof r);
c->st.insns += n;
c->st.busy_cycles += (uint64_t)(max - left);
c->st.stall_ws += nws * (uint64_t)(c->cfg.ws_cycles > 1 ? c->cfg.ws_cycles - 1 : 0);
c->st.stall_sp += nsp * (uint64_t)(c->cfg.sp_cycles > 1 ? c->cfg.sp_cycles - 1 : 0);
return fault;
}

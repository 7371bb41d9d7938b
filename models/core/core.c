/* core: the microcode engine. core_init checks an image once and pre-decodes it; core_run
 * interprets one event's handler to completion, charging every instruction its class's cost.
 *
 * The interpreter (core_loop.h) is written once and instantiated twice, with and without the
 * trace callback, so that an untraced run pays nothing for the trace. What the check
 * guarantees is not tested again per instruction: each instruction comes with its handler (the
 * op byte, ldev by field width), its costs and its operands decoded; the absolute workspace
 * accesses are checked once per event against the image's highest one. With GCC and Clang the
 * handlers jump to each other through a table (computed goto), with other compilers they are a
 * switch. On the 20,000-packet bench slice this took the engine from 28.9 to 19.6 host
 * instructions per microcode instruction (callgrind; docs/performance.md). */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const param_def defs[] = {
    {"clock_mhz", PARAM_U32, offsetof(core_cfg, clock_mhz), 1000, 1, 100000, "MHz", "core clock",
     NULL},
    {"alu_cycles", PARAM_U32, offsetof(core_cfg, alu_cycles), 1, 0, 10000, "cycles",
     "an ALU operation other than mul; also nop and trap", NULL},
    {"mul_cycles", PARAM_U32, offsetof(core_cfg, mul_cycles), 3, 0, 10000, "cycles", "a multiply",
     NULL},
    {"branch_cycles", PARAM_U32, offsetof(core_cfg, branch_cycles), 1, 0, 10000, "cycles",
     "a conditional branch not taken", NULL},
    {"taken_cycles", PARAM_U32, offsetof(core_cfg, taken_cycles), 2, 1, 10000, "cycles",
     "a branch taken, ja, call or ret (at least 1: every loop then uses up the budget)", NULL},
    {"ws_cycles", PARAM_U32, offsetof(core_cfg, ws_cycles), 2, 0, 10000, "cycles",
     "a workspace load or store (core-local memory)", NULL},
    {"sp_cycles", PARAM_U32, offsetof(core_cfg, sp_cycles), 10, 0, 10000, "cycles",
     "a frame load from the scratchpad", NULL},
    {"ev_cycles", PARAM_U32, offsetof(core_cfg, ev_cycles), 1, 0, 10000, "cycles",
     "an event-descriptor field load (ldev)", NULL},
    {"cmd_cycles", PARAM_U32, offsetof(core_cfg, cmd_cycles), 4, 0, 10000, "cycles",
     "issuing a command to another unit", NULL},
    {"fin_cycles", PARAM_U32, offsetof(core_cfg, fin_cycles), 1, 0, 10000, "cycles",
     "finishing an event (fin)", NULL},
    {"max_cycles", PARAM_U32, offsetof(core_cfg, max_cycles), 100000, 1, 1000000000, "cycles",
     "cycle budget per event: an instruction that would exceed it faults", NULL},
    {"max_chain", PARAM_U32, offsetof(core_cfg, max_chain), 1000, 1, 60000, "events",
     "internal events raising internal events: an ev_emit that would make the chain longer "
     "faults (firmware that never stops raising events would otherwise run for ever)",
     NULL},
};
const param_table core_params = {"core", defs, sizeof defs / sizeof defs[0]};

/* clang-format 14 takes a macro body that opens with a brace for a block and breaks it up */
// clang-format off
#define S(name, desc) {#name, desc, offsetof(core_stats, name)}
// clang-format on
const stat_def core_stat_defs[] = {
    S(events, "events run (handled or faulted)"),
    S(insns, "instructions retired"),
    S(busy_cycles, "cycles spent running handlers"),
    S(stall_ws, "cycles spent on workspace accesses beyond the first of each"),
    S(stall_sp, "cycles spent on scratchpad frame loads beyond the first of each"),
    S(faults, "events that ended in a fault"),
};
const size_t core_stat_count = sizeof core_stat_defs / sizeof core_stat_defs[0];

static const char *const fault_names[CORE_FAULT_COUNT] = {
    [CORE_OK] = "ok",
    [CORE_FAULT_NO_ENTRY] = "no_entry",
    [CORE_FAULT_WS_BOUNDS] = "ws_bounds",
    [CORE_FAULT_PKT_BOUNDS] = "pkt_bounds",
    [CORE_FAULT_BUDGET] = "budget",
    [CORE_FAULT_STACK] = "stack",
    [CORE_FAULT_CMDS] = "cmds",
    [CORE_FAULT_TRAP] = "trap",
    [CORE_FAULT_CHAIN] = "chain",
};

const char *core_fault_name(unsigned f) { return f < CORE_FAULT_COUNT ? fault_names[f] : NULL; }

void core_cfg_default(core_cfg *c) { param_defaults(&core_params, c); }

/* ---- load-time check ---- */

/* What each base opcode accepts and does, for the check and the pre-decoder. */
enum {
    F_K = 1,      /* UC_K allowed: the source operand may be imm */
    F_ABS = 2,    /* UC_ABS allowed: memory operand at off */
    F_TARGET = 4, /* off is an instruction index */
    F_NOFALL = 8, /* never continues at pc + 1 */
    F_WDST = 16,  /* writes register dst */
    F_WR0 = 32,   /* writes r0 */
};

static unsigned op_flags(unsigned op)
{
    if (op >= UC_MOV && op <= UC_SEQMAX)
        return F_K | F_WDST;
    if (op == UC_NEG || op == UC_NOT)
        return F_WDST;
    if (op >= UC_JEQ && op <= UC_JSET)
        return F_K | F_TARGET;
    switch (op) {
    case UC_JA:
        return F_TARGET | F_NOFALL;
    case UC_CALL:
        return F_TARGET;
    case UC_RET:
    case UC_FIN:
    case UC_TRAP:
        return F_NOFALL;
    case UC_LDW:
    case UC_LDH:
    case UC_LDB:
    case UC_LDPW:
    case UC_LDPH:
    case UC_LDPB:
        return F_ABS | F_WDST;
    case UC_STW:
    case UC_STH:
    case UC_STB:
        return F_K | F_ABS;
    case UC_LDEV:
        return F_WDST;
    case UC_CMD:
        return F_WR0;
    default: /* nop */
        return 0;
    }
}

/* ---- event fields ---- */

/* Where each uc_evf lives in the event descriptor: one table serves ldev and the harness. A
 * field of 8 bytes (the RETH's va) is read as its low (shift 0) or high (shift 32) half. */
// clang-format off
#define EVF(f, member) [f] = {offsetof(event, member), sizeof(((event *)0)->member), 0}
#define EVF_HI(f, member) [f] = {offsetof(event, member), sizeof(((event *)0)->member), 32}
// clang-format on
static const struct {
    uint16_t off;
    uint8_t size;
    uint8_t shift;
} evf_loc[UC_EVF_COUNT] = {
    EVF(UC_EVF_TYPE, type),
    EVF(UC_EVF_CLASS, cls),
    EVF(UC_EVF_CHAN, chan),
    EVF(UC_EVF_PROTO, proto),
    EVF(UC_EVF_FLOW, flow),
    EVF(UC_EVF_SEQ, seq),
    EVF(UC_EVF_ACK, ack),
    EVF(UC_EVF_WIN, win),
    EVF(UC_EVF_FLAGS, tcp_flags),
    EVF(UC_EVF_MSS, mss),
    EVF(UC_EVF_WSCALE, wscale),
    EVF(UC_EVF_SACK_OK, sack_ok),
    EVF(UC_EVF_HAS_TS, has_ts),
    EVF(UC_EVF_TS_VAL, ts_val),
    EVF(UC_EVF_TS_ECR, ts_ecr),
    EVF(UC_EVF_NSACK, nsack),
    EVF(UC_EVF_SACK0_L, sack[0][0]),
    EVF(UC_EVF_SACK0_R, sack[0][1]),
    EVF(UC_EVF_SACK1_L, sack[1][0]),
    EVF(UC_EVF_SACK1_R, sack[1][1]),
    EVF(UC_EVF_SACK2_L, sack[2][0]),
    EVF(UC_EVF_SACK2_R, sack[2][1]),
    EVF(UC_EVF_SACK3_L, sack[3][0]),
    EVF(UC_EVF_SACK3_R, sack[3][1]),
    EVF(UC_EVF_FRAME_LEN, frame_len),
    EVF(UC_EVF_L3_OFF, l3_off),
    EVF(UC_EVF_L4_OFF, l4_off),
    EVF(UC_EVF_PAY_OFF, pay_off),
    EVF(UC_EVF_PAY_LEN, pay_len),
    EVF(UC_EVF_SPORT, key.sport),
    EVF(UC_EVF_DPORT, key.dport),
    EVF(UC_EVF_AF, key.af),
    EVF(UC_EVF_ARG, arg),
    EVF(UC_EVF_PSN, seq),
    EVF(UC_EVF_MSN, ack),
    EVF(UC_EVF_QP, qp),
    EVF(UC_EVF_OPCODE, opcode),
    EVF(UC_EVF_BTH_FLAGS, bth_flags),
    EVF(UC_EVF_SYNDROME, syndrome),
    EVF(UC_EVF_RKEY, rkey),
    EVF(UC_EVF_DMA_LEN, dma_len),
    EVF(UC_EVF_VA_LO, va),
    EVF_HI(UC_EVF_VA_HI, va),
    [UC_EVF_NOW_US] = {0, 0, 0}, /* the core's clock, not the descriptor: see UC_LDEV */
};
#undef EVF
#undef EVF_HI

/* The source location of pc: "file:line" from the source map, or "pc N" without one. */

/* The run loop's handlers (core_insn.xop): the encoded op byte of every form the check accepts,
 * and, in the op bytes no base opcode uses, one ldev per width of event field, so that ldev
 * finds the field's offset and width in the instruction. HANDLERS(X) and WS_ABS(X) list them
 * as X(name, xop) for the dispatch tables and the enum. */
#define H_K(X, n) X(n, UC_##n) X(n##_K, UC_##n | UC_K)
#define H_A(X, n) X(n, UC_##n) X(n##_A, UC_##n | UC_ABS)
#define H_AKA(X, n) X(n##_A, UC_##n | UC_ABS) X(n##_KA, UC_##n | UC_K | UC_ABS)
// clang-format off
#define HANDLERS(X)                                                                               \
    X(NOP, UC_NOP)                                                                                 \
    H_K(X, MOV) H_K(X, ADD) H_K(X, SUB) H_K(X, MUL) H_K(X, AND) H_K(X, OR) H_K(X, XOR)             \
    H_K(X, SHL) H_K(X, SHR) H_K(X, SAR) H_K(X, MIN) H_K(X, MAX) H_K(X, SEQMIN) H_K(X, SEQMAX)      \
    X(NEG, UC_NEG) X(NOT, UC_NOT) X(JA, UC_JA)                                                     \
    H_K(X, JEQ) H_K(X, JNE) H_K(X, JLT) H_K(X, JLE) H_K(X, JGT) H_K(X, JGE)                        \
    H_K(X, JSLT) H_K(X, JSLE) H_K(X, JSGT) H_K(X, JSGE)                                            \
    H_K(X, JSEQLT) H_K(X, JSEQLE) H_K(X, JSEQGT) H_K(X, JSEQGE) H_K(X, JSET)                       \
    X(CALL, UC_CALL) X(RET, UC_RET)                                                                \
    X(LDW, UC_LDW) X(LDH, UC_LDH) X(LDB, UC_LDB) H_K(X, STW) H_K(X, STH) H_K(X, STB)               \
    H_A(X, LDPW) H_A(X, LDPH) H_A(X, LDPB)                                                         \
    X(LDEV_0, UC_OP_COUNT) X(LDEV_B, UC_OP_COUNT + 1) X(LDEV_H, UC_OP_COUNT + 2)                   \
    X(LDEV_W, UC_OP_COUNT + 3) X(LDEV_QLO, UC_OP_COUNT + 4) X(LDEV_QHI, UC_OP_COUNT + 5)           \
    X(LDEV_NOW, UC_OP_COUNT + 6)                                                                   \
    X(CMD, UC_CMD) X(FIN, UC_FIN) X(TRAP, UC_TRAP)
/* the workspace accesses at an absolute address: the threaded loop has a second, unchecked
 * handler for each (core_image.abs_end) */
#define WS_ABS(X)                                                                                 \
    X(LDW_A, UC_LDW | UC_ABS) X(LDH_A, UC_LDH | UC_ABS) X(LDB_A, UC_LDB | UC_ABS)                  \
    H_AKA(X, STW) H_AKA(X, STH) H_AKA(X, STB)
// clang-format on
#define H_ENUM(n, v) X_##n = (v),
enum { HANDLERS(H_ENUM) WS_ABS(H_ENUM) };
#undef H_ENUM
_Static_assert(X_LDEV_NOW <= UC_OPMASK, "the specialised handlers must fit the op bits");

/* The cycles an instruction of base opcode op costs (a conditional branch: not taken). */
static uint32_t op_cost(const core_cfg *k, unsigned op)
{
    if (op == UC_MUL)
        return k->mul_cycles;
    if (op >= UC_JEQ && op <= UC_JSET)
        return k->branch_cycles;
    switch (op) {
    case UC_JA:
    case UC_CALL:
    case UC_RET:
        return k->taken_cycles;
    case UC_LDW:
    case UC_LDH:
    case UC_LDB:
    case UC_STW:
    case UC_STH:
    case UC_STB:
        return k->ws_cycles;
    case UC_LDPW:
    case UC_LDPH:
    case UC_LDPB:
        return k->sp_cycles;
    case UC_LDEV:
        return k->ev_cycles;
    case UC_CMD:
        return k->cmd_cycles;
    case UC_FIN:
        return k->fin_cycles;
    default: /* the other ALU ops, nop, trap */
        return k->alu_cycles;
    }
}

/* The ldev handler for field f (< UC_EVF_COUNT). */
static unsigned ldev_xop(unsigned f)
{
    if (f == UC_EVF_NOW_US)
        return X_LDEV_NOW;
    switch (evf_loc[f].size) {
    case 1:
        return X_LDEV_B;
    case 2:
        return X_LDEV_H;
    case 4:
        return X_LDEV_W;
    case 8:
        return evf_loc[f].shift ? X_LDEV_QHI : X_LDEV_QLO;
    default:
        return X_LDEV_0;
    }
}

/* Instruction w, which the check accepted (fl: its op_flags), pre-decoded. The costs fit 16
 * bits: core_params bounds them by 10000. */
static core_insn decode(const core_cfg *cfg, uint64_t w, unsigned fl)
{
    unsigned byte = uc_op_of(w), op = byte & UC_OPMASK;
    core_insn in = {
        .xop = (uint8_t)byte,
        .op = (uint8_t)op,
        .dst = (uint8_t)uc_dst_of(w),
        .src = (uint8_t)uc_src_of(w),
        .wreg = (int8_t)((fl & F_WDST)  ? (int)uc_dst_of(w)
                         : (fl & F_WR0) ? 0
                                        : -1),
        .off = uc_off_of(w),
        .cost = (uint16_t)op_cost(cfg, op),
        .tcost = (uint16_t)cfg->taken_cycles,
        .imm = uc_imm_of(w),
    };
    if (op == UC_LDEV) {
        in.xop = (uint8_t)ldev_xop(in.imm);
        in.off = evf_loc[in.imm].off;
    }
    return in;
}

/* The image's name for errors that concern no one instruction. */
static const char *image_name(const uc_image *img)
{
    return img->files && img->nfiles && img->files[0] ? img->files[0] : "image";
}

static int check(const uc_image *img, const core_cfg *cfg, core_insn *out, sim_err *err)
{
    char loc[160];
    if (img->ncode == 0 || !img->code)
        return sim_err_set(err, "%s: no instructions", image_name(img));
    for (uint32_t pc = 0; pc < img->ncode; pc++) {
        uint64_t w = img->code[pc];
        unsigned byte = uc_op_of(w), op = byte & UC_OPMASK;
        if (op >= UC_OP_COUNT) {
            uc_image_where(img, pc, false, loc, sizeof loc);
            return sim_err_set(err, "%s: invalid opcode 0x%02x", loc, op);
        }
        unsigned fl = op_flags(op);
        if ((byte & UC_K) && !(fl & F_K)) {
            uc_image_where(img, pc, false, loc, sizeof loc);
            return sim_err_set(err, "%s: %s takes no immediate source operand", loc,
                               uc_op_name(op));
        }
        if ((byte & UC_ABS) && !(fl & F_ABS)) {
            uc_image_where(img, pc, false, loc, sizeof loc);
            return sim_err_set(err, "%s: %s takes no absolute address", loc, uc_op_name(op));
        }
        if ((fl & F_TARGET) && uc_off_of(w) >= img->ncode) {
            uc_image_where(img, pc, false, loc, sizeof loc);
            return sim_err_set(err, "%s: %s target %u is outside the code (%u instructions)", loc,
                               uc_op_name(op), uc_off_of(w), img->ncode);
        }
        if (op == UC_LDEV && uc_imm_of(w) >= UC_EVF_COUNT) {
            uc_image_where(img, pc, false, loc, sizeof loc);
            return sim_err_set(err, "%s: ldev: no event field %u", loc, uc_imm_of(w));
        }
        if (op == UC_CMD && uc_imm_of(w) >= UC_CMD_COUNT) {
            uc_image_where(img, pc, false, loc, sizeof loc);
            return sim_err_set(err, "%s: cmd: no command %u", loc, uc_imm_of(w));
        }
        if (pc + 1 == img->ncode && !(fl & F_NOFALL)) {
            uc_image_where(img, pc, false, loc, sizeof loc);
            return sim_err_set(err,
                               "%s: %s can run past the end of the code (end with ja, ret, "
                               "fin or trap)",
                               loc, uc_op_name(op));
        }
        out[pc] = decode(cfg, w, fl);
    }
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        if (img->entry[t] != UC_NO_ENTRY && img->entry[t] >= img->ncode)
            return sim_err_set(err,
                               "%s: the entry for %s is pc %u, outside the code (%u "
                               "instructions)",
                               image_name(img), ev_type_name(t), img->entry[t], img->ncode);
    return 0;
}

/* The highest end (offset + width) of the workspace accesses at an absolute address in n
 * pre-decoded instructions: a run with a workspace at least that long cannot fault on one, and
 * runs them unchecked (core_loop.h). */
static uint32_t abs_end_of(const core_insn *code, uint32_t n)
{
    uint32_t end = 0;
    for (uint32_t pc = 0; pc < n; pc++) {
        unsigned op = code[pc].op, w;
        if (!(code[pc].xop & UC_ABS) || op < UC_LDW || op > UC_STB)
            continue;
        w = op == UC_LDW || op == UC_STW ? 4u : op == UC_LDH || op == UC_STH ? 2u : 1u;
        if (code[pc].off + w > end)
            end = code[pc].off + w;
    }
    return end;
}

/* img checked and pre-decoded into *out (its code malloc'd): 0, or -1 with err filled and
 * nothing allocated. */
static int predecode(const uc_image *img, const core_cfg *cfg, core_image *out, sim_err *err)
{
    core_insn *code = img->ncode ? calloc(img->ncode, sizeof *code) : NULL;
    if (img->ncode && !code)
        return sim_err_set(err, "%s: out of memory for %u instructions", image_name(img),
                           img->ncode);
    if (check(img, cfg, code, err)) {
        free(code);
        return -1;
    }
    *out = (core_image){img, code, img->ncode, abs_end_of(code, img->ncode), true};
    return 0;
}

/* Makes ci the image core_run runs. */
static void use_image(core *c, const core_image *ci)
{
    c->img = ci->img;
    c->code = ci->code;
    c->ncode = ci->ncode;
    c->abs_end = ci->abs_end;
}

int core_init(core *c, const core_cfg *cfg, const uc_image *img, sim_err *err)
{
    memset(c, 0, sizeof *c);
    if (param_validate(&core_params, cfg, err))
        return -1;
    if (predecode(img, cfg, &c->base, err))
        return -1;
    c->cfg = *cfg;
    use_image(c, &c->base);
    return 0;
}

int core_add_image(core *c, unsigned proto, const uc_image *img, sim_err *err)
{
    if (proto >= PROTO_COUNT)
        return sim_err_set(err, "core: protocol %u out of range", proto);
    core_image ni;
    if (predecode(img, &c->cfg, &ni, err))
        return -1;
    core_image *ci = &c->by_proto[proto];
    if (ci->code == c->code) /* running it: switch back to the base */
        use_image(c, &c->base);
    if (ci->owned)
        free(ci->code);
    *ci = ni;
    return 0;
}

/* Frees the images c owns and forgets them all. */
static void drop_images(core *c)
{
    if (c->base.owned)
        free(c->base.code);
    for (unsigned p = 0; p < PROTO_COUNT; p++)
        if (c->by_proto[p].owned)
            free(c->by_proto[p].code);
    memset(&c->base, 0, sizeof c->base);
    memset(c->by_proto, 0, sizeof c->by_proto);
}

void core_share(core *c, const core *src)
{
    drop_images(c);
    c->cfg = src->cfg;
    c->base = src->base;
    c->base.owned = false;
    for (unsigned p = 0; p < PROTO_COUNT; p++) {
        c->by_proto[p] = src->by_proto[p];
        c->by_proto[p].owned = false;
    }
    use_image(c, &c->base);
}

void core_fini(core *c)
{
    drop_images(c);
    c->code = NULL;
    c->ncode = 0;
    c->abs_end = 0;
    c->img = NULL;
}

void core_set_cmd(core *c, core_cmd_fn fn, void *ctx)
{
    c->cmd_fn = fn;
    c->cmd_ctx = ctx;
}

void core_set_trace(core *c, core_trace_fn fn, void *ctx)
{
    c->trace = fn;
    c->trace_ctx = ctx;
}

/* ---- the run loop ---- */

static inline uint32_t ev_field(const event *e, uint32_t f)
{
    const uint8_t *p = (const uint8_t *)e + evf_loc[f].off;
    switch (evf_loc[f].size) {
    case 0:
        return 0;
    case 1:
        return *p;
    case 2: {
        uint16_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    case 8: {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        return (uint32_t)(v >> evf_loc[f].shift);
    }
    default: {
        uint32_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    }
}

uint32_t core_event_field(const event *e, unsigned f)
{
    return f < UC_EVF_COUNT ? ev_field(e, f) : 0;
}

void core_event_field_set(event *e, unsigned f, uint32_t v)
{
    if (f >= UC_EVF_COUNT || evf_loc[f].size == 0)
        return;
    uint8_t *p = (uint8_t *)e + evf_loc[f].off;
    if (evf_loc[f].size == 1) {
        *p = (uint8_t)v;
    } else if (evf_loc[f].size == 2) {
        uint16_t w = (uint16_t)v;
        memcpy(p, &w, sizeof w);
    } else if (evf_loc[f].size == 8) { /* one half; the other is kept */
        uint64_t w;
        memcpy(&w, p, sizeof w);
        unsigned sh = evf_loc[f].shift;
        w = (w & ~((uint64_t)0xffffffffu << sh)) | (uint64_t)v << sh;
        memcpy(p, &w, sizeof w);
    } else {
        memcpy(p, &v, sizeof v);
    }
}

/* The signed value of a 16-bit offset, without the implementation-defined conversion. */
static inline int64_t sext16(uint16_t v) { return (int64_t)v - (int64_t)((v & 0x8000u) << 1); }

/* Modulo-2^32 comparisons, exact and without implementation-defined conversions. */
static inline uint32_t flip(uint32_t v) { return v ^ 0x80000000u; } /* signed -> unsigned order */
static inline int seq_lt(uint32_t a, uint32_t b) { return ((a - b) >> 31) != 0; }
static inline int seq_le(uint32_t a, uint32_t b) { return a == b || seq_lt(a, b); }

static inline uint32_t sar32(uint32_t v, uint32_t s)
{
    uint32_t sign = 0u - (v >> 31);
    return ((v ^ sign) >> s) ^ sign;
}

static inline uint32_t ld_le(const uint8_t *p, unsigned n)
{
    switch (n) {
    case 4:
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    case 2:
        return (uint32_t)p[0] | (uint32_t)p[1] << 8;
    default:
        return p[0];
    }
}

static inline void st_le(uint8_t *p, unsigned n, uint32_t v)
{
    p[0] = (uint8_t)v;
    if (n >= 2)
        p[1] = (uint8_t)(v >> 8);
    if (n == 4) {
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
    }
}

/* n bytes of the event's frame at a, big-endian, into *v. Returns 0, or -1 when there is no
 * frame or [a, a+n) is not inside it. */
static int frame_load(const scratchpad *sp, const event *ev, int64_t a, unsigned n, uint32_t *v)
{
    uint8_t b[4];
    if (!sp || ev->sp_handle == SP_NONE || a < 0 || a > (int64_t)UINT32_MAX ||
        sp_read(sp, ev->sp_handle, (uint32_t)a, b, n))
        return -1;
    uint32_t x = 0;
    for (unsigned i = 0; i < n; i++)
        x = x << 8 | b[i];
    *v = x;
    return 0;
}

/* The dispatch: GCC and Clang jump from each handler straight to the next through a table of
 * label addresses (computed goto: one indirect jump per instruction, each predicted on its
 * own); any other C11 compiler runs the same handlers as the cases of a switch. Define
 * CORE_SWITCH_DISPATCH to build the switch with GCC too (tests/test_core runs both). */
#if defined(__GNUC__) && !defined(CORE_SWITCH_DISPATCH)
#define CORE_THREADED 1
#define UNREACHABLE() __builtin_unreachable()
#else
#define CORE_THREADED 0
#define UNREACHABLE() FAULT(CORE_FAULT_TRAP)
#endif

/* The macros of the run loop (core_loop.h), which core.c instantiates twice. */

/* Charges cost, or raises the budget fault: an instruction that cannot issue within the budget
 * is not charged. */
#define CHARGE(cost)                                                                               \
    do {                                                                                           \
        const int64_t cost_ = (cost);                                                              \
        if (left < cost_)                                                                          \
            goto budget;                                                                           \
        left -= cost_;                                                                             \
    } while (0)
#define FAULT(f)                                                                                   \
    do {                                                                                           \
        fault = (f);                                                                               \
        goto out;                                                                                  \
    } while (0)
#define TRACE()                                                                                    \
    do {                                                                                           \
        if (TRACING) {                                                                             \
            core_trace_rec t_ = {start + issue, (uint32_t)(in - code), c->img->code[in - code],    \
                                 in->wreg, in->wreg >= 0 ? r[in->wreg] : 0};                       \
            c->trace(c->trace_ctx, &t_);                                                           \
        }                                                                                          \
    } while (0)
/* retires in, then executes target */
#define GO(target)                                                                                 \
    do {                                                                                           \
        n++;                                                                                       \
        TRACE();                                                                                   \
        in = (target);                                                                             \
        DISPATCH();                                                                                \
    } while (0)
#define NEXT() GO(in + 1)
#define JUMP(t) GO(code + (t))

#if CORE_THREADED
#define HANDLER(name) h_##name:
#define DISPATCH()                                                                                 \
    do {                                                                                           \
        if (TRACING)                                                                               \
            issue = (uint64_t)(max - left);                                                        \
        goto *dispatch[in->xop];                                                                   \
    } while (0)
#else
#define HANDLER(name) case X_##name:
#define DISPATCH() goto dispatch
#endif

/* dst = dst OP src, in the register and the immediate form; d and s name the operands */
#define ALU(OP, expr)                                                                              \
    HANDLER(OP)                                                                                    \
    {                                                                                              \
        CHARGE(in->cost);                                                                          \
        uint32_t d = r[in->dst], s = r[in->src];                                                   \
        r[in->dst] = (expr);                                                                       \
        NEXT();                                                                                    \
    }                                                                                              \
    HANDLER(OP##_K)                                                                                \
    {                                                                                              \
        CHARGE(in->cost);                                                                          \
        uint32_t d = r[in->dst], s = in->imm;                                                      \
        r[in->dst] = (expr);                                                                       \
        NEXT();                                                                                    \
    }
/* to off when dst COND src, in the register and the immediate form */
#define BRANCH_IF(cond)                                                                            \
    do {                                                                                           \
        if (cond) {                                                                                \
            CHARGE(in->tcost);                                                                     \
            JUMP(in->off);                                                                         \
        }                                                                                          \
        CHARGE(in->cost);                                                                          \
        NEXT();                                                                                    \
    } while (0)
#define BRANCH(OP, cond)                                                                           \
    HANDLER(OP)                                                                                    \
    {                                                                                              \
        uint32_t d = r[in->dst], s = r[in->src];                                                   \
        BRANCH_IF(cond);                                                                           \
    }                                                                                              \
    HANDLER(OP##_K)                                                                                \
    {                                                                                              \
        uint32_t d = r[in->dst], s = in->imm;                                                      \
        BRANCH_IF(cond);                                                                           \
    }
/* The address of a load, reg[src] + (int16)off, or of a store, reg[dst] + (int16)off, in 64
 * bits so that neither a negative nor a wrapping one can pass the bounds check. */
#define LD_ADDR ((int64_t)r[in->src] + sext16(in->off))
#define ST_ADDR ((int64_t)r[in->dst] + sext16(in->off))
/* workspace access of size bytes at addr */
#define WS_CHECK(addr, size)                                                                       \
    do {                                                                                           \
        CHARGE(in->cost);                                                                          \
        nws++;                                                                                     \
        a = (addr);                                                                                \
        if (a < 0 || a > (int64_t)ws_len - (size))                                                 \
            FAULT(CORE_FAULT_WS_BOUNDS);                                                           \
    } while (0)
#define WS_LOAD(addr, size)                                                                        \
    do {                                                                                           \
        WS_CHECK(addr, size);                                                                      \
        r[in->dst] = ld_le(ws + a, size);                                                          \
        NEXT();                                                                                    \
    } while (0)
#define WS_STORE(addr, size, val)                                                                  \
    do {                                                                                           \
        WS_CHECK(addr, size);                                                                      \
        st_le(ws + a, size, val);                                                                  \
        NEXT();                                                                                    \
    } while (0)
/* frame load of size bytes at addr, big-endian */
#define FRAME_LOAD(addr, size)                                                                     \
    do {                                                                                           \
        CHARGE(in->cost);                                                                          \
        nsp++;                                                                                     \
        if (frame_load(sp, ev, addr, size, &v))                                                    \
            FAULT(CORE_FAULT_PKT_BOUNDS);                                                          \
        r[in->dst] = v;                                                                            \
        NEXT();                                                                                    \
    } while (0)
/* an absolute workspace access without the bounds check, for runs whose workspace holds every
 * one (ws_len >= abs_end): the threaded loop only */
#if CORE_THREADED
#define WS_ABS_NC(OP, stmt)                                                                        \
    h_##OP##_nc:                                                                                   \
    {                                                                                              \
        CHARGE(in->cost);                                                                          \
        nws++;                                                                                     \
        stmt;                                                                                      \
        NEXT();                                                                                    \
    }
#else
#define WS_ABS_NC(OP, stmt)
#endif
#define LOAD(OP, size)                                                                             \
    HANDLER(OP) WS_LOAD(LD_ADDR, size);                                                            \
    HANDLER(OP##_A) WS_LOAD(in->off, size);                                                        \
    WS_ABS_NC(OP##_A, r[in->dst] = ld_le(ws + in->off, size))
#define STORE(OP, size)                                                                            \
    HANDLER(OP) WS_STORE(ST_ADDR, size, r[in->src]);                                               \
    HANDLER(OP##_A) WS_STORE(in->off, size, r[in->src]);                                           \
    HANDLER(OP##_K) WS_STORE(ST_ADDR, size, in->imm);                                              \
    HANDLER(OP##_KA) WS_STORE(in->off, size, in->imm);                                             \
    WS_ABS_NC(OP##_A, st_le(ws + in->off, size, r[in->src]))                                       \
    WS_ABS_NC(OP##_KA, st_le(ws + in->off, size, in->imm))
#define PLOAD(OP, size)                                                                            \
    HANDLER(OP) FRAME_LOAD(LD_ADDR, size);                                                         \
    HANDLER(OP##_A) FRAME_LOAD(in->off, size);
/* dst = the event field of width size at byte offset off (core_insn.off for ldev) */
#define LDEV(OP, type, expr)                                                                       \
    HANDLER(OP)                                                                                    \
    {                                                                                              \
        CHARGE(in->cost);                                                                          \
        type x;                                                                                    \
        memcpy(&x, (const uint8_t *)ev + in->off, sizeof x);                                       \
        r[in->dst] = (expr);                                                                       \
        NEXT();                                                                                    \
    }

/* Runs from entry pc until fin or a fault. Fills res (all but start and trap_code, which
 * core_run sets, and trap_code on a trap) and adds to c->st all but events and faults; returns
 * the fault. core_loop.h defines it twice, with TRACING 0 (run_plain: no trace code at all)
 * and 1 (run_traced).
 *
 * Each instruction is one handler that charges its cost, does its work or faults, and retires
 * with NEXT or JUMP, which count it, trace it and dispatch the next one. The handler is chosen
 * by the pre-decoded xop (base opcode | UC_K | UC_ABS, or ldev by field width), so that the
 * register, immediate and absolute forms are separate handlers and none tests a flag at run
 * time; the costs come pre-decoded in the instruction too. Nothing the check guarantees at load
 * (opcodes, targets, fields, commands, falling off the end) is tested here. */
#define TRACING 0
#define RUN_LOOP run_plain
#include "core_loop.h"
#undef TRACING
#undef RUN_LOOP
#define TRACING 1
#define RUN_LOOP run_traced
#include "core_loop.h"
#undef TRACING
#undef RUN_LOOP

int core_run(core *c, const event *ev, uint8_t *ws, uint32_t ws_len, const scratchpad *sp,
             cycle_t start, core_result *res)
{
    c->st.events++;
    res->start = start;
    res->trap_code = 0;
    const core_image *ci =
        ev->proto < PROTO_COUNT && c->by_proto[ev->proto].img ? &c->by_proto[ev->proto] : &c->base;
    use_image(c, ci);
    uint32_t pc = ev->type < EV_TYPE_COUNT ? c->img->entry[ev->type] : UC_NO_ENTRY;
    if (pc == UC_NO_ENTRY) {
        res->end = start;
        res->insns = 0;
        res->fault = CORE_FAULT_NO_ENTRY;
        res->pc = UC_NO_ENTRY;
        res->ncmds = 0;
        memset(res->regs, 0, sizeof res->regs);
        c->st.faults++;
        return CORE_FAULT_NO_ENTRY;
    }
    int f = c->trace ? run_traced(c, ev, ws, ws_len, sp, start, res, pc)
                     : run_plain(c, ev, ws, ws_len, sp, start, res, pc);
    if (f)
        c->st.faults++;
    return f;
}

/* core: the microcode engine. core_init checks an image once and pre-decodes it; core_run
 * interprets one event's handler to completion, charging every instruction its class's cost.
 *
 * The interpreter is a plain switch (run_loop), written once and instantiated twice, with and
 * without the trace callback, so that an untraced run pays nothing for the trace. It retires
 * about 800 M instructions/s on a loop of ALU ops (tests/bench_core.c); threaded dispatch
 * (computed goto) measured at most some 10 % faster, within the noise of the shared host: not
 * worth a second, non-standard dispatcher. */
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

/* The source location of pc: "file:line" from the source map, or "pc N" without one. */

/* The image's name for errors that concern no one instruction. */
static const char *image_name(const uc_image *img)
{
    return img->files && img->nfiles && img->files[0] ? img->files[0] : "image";
}

static int check(const uc_image *img, core_insn *out, sim_err *err)
{
    char loc[160];
    if (img->ncode == 0 || !img->code)
        return sim_err_set(err, "%s: no instructions", image_name(img));
    for (uint32_t pc = 0; pc < img->ncode; pc++) {
        uint64_t w = img->code[pc];
        unsigned byte = uc_op_of(w), op = byte & UC_OPMASK;
        const char *name = uc_op_name(op);
        if (op >= UC_OP_COUNT) {
            uc_image_where(img, pc, false, loc, sizeof loc);
            return sim_err_set(err, "%s: invalid opcode 0x%02x", loc, op);
        }
        unsigned fl = op_flags(op);
        if ((byte & UC_K) && !(fl & F_K)) {
            uc_image_where(img, pc, false, loc, sizeof loc);
            return sim_err_set(err, "%s: %s takes no immediate source operand", loc, name);
        }
        if ((byte & UC_ABS) && !(fl & F_ABS)) {
            uc_image_where(img, pc, false, loc, sizeof loc);
            return sim_err_set(err, "%s: %s takes no absolute address", loc, name);
        }
        if ((fl & F_TARGET) && uc_off_of(w) >= img->ncode) {
            uc_image_where(img, pc, false, loc, sizeof loc);
            return sim_err_set(err, "%s: %s target %u is outside the code (%u instructions)", loc,
                               name, uc_off_of(w), img->ncode);
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
                               loc, name);
        }
        out[pc] = (core_insn){
            .op = (uint8_t)op,
            .k = (uint8_t)((byte & UC_K) != 0),
            .abs = (uint8_t)((byte & UC_ABS) != 0),
            .dst = (uint8_t)uc_dst_of(w),
            .src = (uint8_t)uc_src_of(w),
            .wreg = (int8_t)((fl & F_WDST)  ? (int)uc_dst_of(w)
                             : (fl & F_WR0) ? 0
                                            : -1),
            .off = uc_off_of(w),
            .imm = uc_imm_of(w),
            .xop = (uint8_t)byte,
        };
    }
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        if (img->entry[t] != UC_NO_ENTRY && img->entry[t] >= img->ncode)
            return sim_err_set(err,
                               "%s: the entry for %s is pc %u, outside the code (%u "
                               "instructions)",
                               image_name(img), ev_type_name(t), img->entry[t], img->ncode);
    return 0;
}

/* The image checked and pre-decoded into *code (malloc'd; NULL for an empty image): 0, or -1
 * with err filled and nothing allocated. */
static int predecode(const uc_image *img, core_insn **code, sim_err *err)
{
    *code = img->ncode ? malloc(sizeof **code * img->ncode) : NULL;
    if (img->ncode && !*code)
        return sim_err_set(err, "%s: out of memory for %u instructions", image_name(img),
                           img->ncode);
    if (check(img, *code, err)) {
        free(*code);
        *code = NULL;
        return -1;
    }
    return 0;
}

int core_init(core *c, const core_cfg *cfg, const uc_image *img, sim_err *err)
{
    memset(c, 0, sizeof *c);
    if (param_validate(&core_params, cfg, err))
        return -1;
    core_insn *code;
    if (predecode(img, &code, err))
        return -1;
    c->cfg = *cfg;
    c->img = c->base.img = img;
    c->code = c->base.code = code;
    c->ncode = c->base.ncode = img->ncode;
    return 0;
}

int core_add_image(core *c, unsigned proto, const uc_image *img, sim_err *err)
{
    if (proto >= PROTO_COUNT)
        return sim_err_set(err, "core: protocol %u out of range", proto);
    core_insn *code;
    if (predecode(img, &code, err))
        return -1;
    core_image *ci = &c->by_proto[proto];
    if (ci->code == c->code) { /* running it: switch back to the base */
        c->img = c->base.img;
        c->code = c->base.code;
        c->ncode = c->base.ncode;
    }
    free(ci->code);
    ci->img = img;
    ci->code = code;
    ci->ncode = img->ncode;
    return 0;
}

void core_fini(core *c)
{
    free(c->base.code);
    for (unsigned p = 0; p < PROTO_COUNT; p++)
        free(c->by_proto[p].code);
    memset(&c->base, 0, sizeof c->base);
    memset(c->by_proto, 0, sizeof c->by_proto);
    c->code = NULL;
    c->ncode = 0;
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

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define UNREACHABLE() __builtin_unreachable()
#else
#define ALWAYS_INLINE inline
#define UNREACHABLE() FAULT(CORE_FAULT_TRAP)
#endif

/* Runs from entry pc until fin or a fault. Fills res (all but start and trap_code, which
 * core_run sets, and trap_code on a trap) and adds to c->st all but events and faults; returns
 * the fault. core_run instantiates it twice, with tracing constant: the untraced loop has no
 * trace code at all.
 *
 * Each instruction is one switch case that charges its cost, does its work or faults, and
 * retires with NEXT or JUMP, which count it, trace it and dispatch the next one. The switch
 * is on the encoded op byte (base opcode | UC_K | UC_ABS), so that the register, immediate and
 * absolute forms are separate cases and none tests a flag at run time. */
static ALWAYS_INLINE int run_loop(core *c, const event *ev, uint8_t *ws, uint32_t ws_len,
                                  const scratchpad *sp, cycle_t start, core_result *res,
                                  uint32_t pc, const bool tracing)
{
    const core_insn *const code = c->code;
    const int64_t alu = c->cfg.alu_cycles, mul = c->cfg.mul_cycles, br = c->cfg.branch_cycles,
                  tk = c->cfg.taken_cycles, wsc = c->cfg.ws_cycles, spc = c->cfg.sp_cycles,
                  evc = c->cfg.ev_cycles, cmdc = c->cfg.cmd_cycles, finc = c->cfg.fin_cycles;
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

/* Charges cost, or raises the budget fault: an instruction that cannot issue within the budget
 * is not charged. */
#define CHARGE(cost)                                                                               \
    do {                                                                                           \
        if ((left -= (cost)) < 0) {                                                                \
            left += (cost);                                                                        \
            goto budget;                                                                           \
        }                                                                                          \
    } while (0)
#define FAULT(f)                                                                                   \
    do {                                                                                           \
        fault = (f);                                                                               \
        goto out;                                                                                  \
    } while (0)
#define TRACE()                                                                                    \
    do {                                                                                           \
        if (tracing) {                                                                             \
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

#define DISPATCH() goto dispatch

/* dst = dst OP src, in the register and the immediate form; d and s name the operands */
#define ALU(OP, cost, expr)                                                                        \
    case OP: {                                                                                     \
        CHARGE(cost);                                                                              \
        uint32_t d = r[in->dst], s = r[in->src];                                                   \
        r[in->dst] = (expr);                                                                       \
        NEXT();                                                                                    \
    }                                                                                              \
    case (OP) | UC_K: {                                                                            \
        CHARGE(cost);                                                                              \
        uint32_t d = r[in->dst], s = in->imm;                                                      \
        r[in->dst] = (expr);                                                                       \
        NEXT();                                                                                    \
    }
/* to off when dst COND src, in the register and the immediate form */
#define BRANCH_IF(cond)                                                                            \
    do {                                                                                           \
        if (cond) {                                                                                \
            CHARGE(tk);                                                                            \
            JUMP(in->off);                                                                         \
        }                                                                                          \
        CHARGE(br);                                                                                \
        NEXT();                                                                                    \
    } while (0)
#define BRANCH(OP, cond)                                                                           \
    case OP: {                                                                                     \
        uint32_t d = r[in->dst], s = r[in->src];                                                   \
        BRANCH_IF(cond);                                                                           \
    }                                                                                              \
    case (OP) | UC_K: {                                                                            \
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
        CHARGE(wsc);                                                                               \
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
        CHARGE(spc);                                                                               \
        nsp++;                                                                                     \
        if (frame_load(sp, ev, addr, size, &v))                                                    \
            FAULT(CORE_FAULT_PKT_BOUNDS);                                                          \
        r[in->dst] = v;                                                                            \
        NEXT();                                                                                    \
    } while (0)
#define LOAD(OP, size)                                                                             \
    case OP:                                                                                       \
        WS_LOAD(LD_ADDR, size);                                                                    \
    case (OP) | UC_ABS:                                                                            \
        WS_LOAD(in->off, size);
#define STORE(OP, size)                                                                            \
    case OP:                                                                                       \
        WS_STORE(ST_ADDR, size, r[in->src]);                                                       \
    case (OP) | UC_ABS:                                                                            \
        WS_STORE(in->off, size, r[in->src]);                                                       \
    case (OP) | UC_K:                                                                              \
        WS_STORE(ST_ADDR, size, in->imm);                                                          \
    case (OP) | UC_K | UC_ABS:                                                                     \
        WS_STORE(in->off, size, in->imm);
#define PLOAD(OP, size)                                                                            \
    case OP:                                                                                       \
        FRAME_LOAD(LD_ADDR, size);                                                                 \
    case (OP) | UC_ABS:                                                                            \
        FRAME_LOAD(in->off, size);

dispatch:
    if (tracing)
        issue = (uint64_t)(max - left);
    switch (in->xop) {
    /* clang-format 14 would indent the cases that macros make as statements of the case before */
    // clang-format off
    case UC_NOP: {
        CHARGE(alu);
        NEXT();
    }
    ALU(UC_MOV, alu, ((void)d, s))
    ALU(UC_ADD, alu, d + s)
    ALU(UC_SUB, alu, d - s)
    ALU(UC_MUL, mul, d * s)
    ALU(UC_AND, alu, d & s)
    ALU(UC_OR, alu, d | s)
    ALU(UC_XOR, alu, d ^ s)
    ALU(UC_SHL, alu, d << (s & 31))
    ALU(UC_SHR, alu, d >> (s & 31))
    ALU(UC_SAR, alu, sar32(d, s & 31))
    ALU(UC_MIN, alu, d < s ? d : s)
    ALU(UC_MAX, alu, d > s ? d : s)
    ALU(UC_SEQMIN, alu, seq_lt(d, s) ? d : s)
    ALU(UC_SEQMAX, alu, seq_lt(d, s) ? s : d)
    case UC_NEG: {
        CHARGE(alu);
        r[in->dst] = 0u - r[in->dst];
        NEXT();
    }
    case UC_NOT: {
        CHARGE(alu);
        r[in->dst] = ~r[in->dst];
        NEXT();
    }

    case UC_JA: {
        CHARGE(tk);
        JUMP(in->off);
    }
    BRANCH(UC_JEQ, d == s)
    BRANCH(UC_JNE, d != s)
    BRANCH(UC_JLT, d < s)
    BRANCH(UC_JLE, d <= s)
    BRANCH(UC_JGT, d > s)
    BRANCH(UC_JGE, d >= s)
    BRANCH(UC_JSLT, flip(d) < flip(s))
    BRANCH(UC_JSLE, flip(d) <= flip(s))
    BRANCH(UC_JSGT, flip(d) > flip(s))
    BRANCH(UC_JSGE, flip(d) >= flip(s))
    BRANCH(UC_JSEQLT, seq_lt(d, s))
    BRANCH(UC_JSEQLE, seq_le(d, s))
    BRANCH(UC_JSEQGT, !seq_le(d, s))
    BRANCH(UC_JSEQGE, !seq_lt(d, s))
    BRANCH(UC_JSET, (d & s) != 0)
    case UC_CALL: {
        CHARGE(tk);
        if (depth == UC_CALL_DEPTH)
            FAULT(CORE_FAULT_STACK);
        stack[depth++] = (uint32_t)(in - code) + 1;
        JUMP(in->off);
    }
    case UC_RET: {
        CHARGE(tk);
        if (depth == 0)
            FAULT(CORE_FAULT_STACK);
        JUMP(stack[--depth]);
    }

    LOAD(UC_LDW, 4)
    LOAD(UC_LDH, 2)
    LOAD(UC_LDB, 1)
    STORE(UC_STW, 4)
    STORE(UC_STH, 2)
    STORE(UC_STB, 1)
    PLOAD(UC_LDPW, 4)
    PLOAD(UC_LDPH, 2)
    PLOAD(UC_LDPB, 1)

    case UC_LDEV: {
        CHARGE(evc);
        if (in->imm == UC_EVF_NOW_US) /* the issue cycle, in microseconds */
            r[in->dst] = (uint32_t)((start + (uint64_t)(max - left - evc)) / c->cfg.clock_mhz);
        else
            r[in->dst] = ev_field(ev, in->imm);
        NEXT();
    }
    case UC_CMD: {
        CHARGE(cmdc);
        if (ncmds == CORE_MAX_CMDS)
            FAULT(CORE_FAULT_CMDS);
        if (in->imm == UC_CMD_EV_EMIT && ev->chain >= c->cfg.max_chain)
            FAULT(CORE_FAULT_CHAIN);
        core_cmd_rec *rec = &res->cmds[ncmds];
        rec->cmd = (uint8_t)in->imm;
        rec->cycle = start + (uint64_t)(max - left - cmdc);
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
    case UC_FIN: {
        CHARGE(finc);
        n++;
        TRACE();
        goto out;
    }
    case UC_TRAP: {
        CHARGE(alu);
        res->trap_code = in->imm;
        FAULT(CORE_FAULT_TRAP);
    }
    default: /* the pre-decoder rejected every other op byte */
        UNREACHABLE();
    }
    // clang-format on

budget:
    fault = CORE_FAULT_BUDGET;
out:
    res->fault = fault;
    res->pc = (uint32_t)(in - code);
    res->end = start + (uint64_t)(max - left);
    res->insns = n;
    res->ncmds = ncmds;
    memcpy(res->regs, r, sizeof r);
    c->st.insns += n;
    c->st.busy_cycles += (uint64_t)(max - left);
    c->st.stall_ws += nws * (uint64_t)(wsc > 1 ? wsc - 1 : 0);
    c->st.stall_sp += nsp * (uint64_t)(spc > 1 ? spc - 1 : 0);
    return fault;

#undef CHARGE
#undef FAULT
#undef TRACE
#undef GO
#undef NEXT
#undef JUMP
#undef DISPATCH
#undef ALU
#undef BRANCH_IF
#undef BRANCH
#undef LD_ADDR
#undef ST_ADDR
#undef WS_CHECK
#undef WS_LOAD
#undef WS_STORE
#undef FRAME_LOAD
#undef LOAD
#undef STORE
#undef PLOAD
}

int core_run(core *c, const event *ev, uint8_t *ws, uint32_t ws_len, const scratchpad *sp,
             cycle_t start, core_result *res)
{
    c->st.events++;
    res->start = start;
    res->trap_code = 0;
    const core_image *ci =
        ev->proto < PROTO_COUNT && c->by_proto[ev->proto].img ? &c->by_proto[ev->proto] : &c->base;
    c->img = ci->img;
    c->code = ci->code;
    c->ncode = ci->ncode;
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
    int f = c->trace ? run_loop(c, ev, ws, ws_len, sp, start, res, pc, true)
                     : run_loop(c, ev, ws, ws_len, sp, start, res, pc, false);
    if (f)
        c->st.faults++;
    return f;
}

// Tests of the microcode engine (models/core/core.c) on hand-built images: every instruction's
// semantics and exact cycle cost (with non-default costs, so that each parameter shows), every
// fault with its pc and partial state, the budget, commands, event fields, frame loads from a
// real scratchpad, the trace, the load-time check's messages, and the statistics.
#include <algorithm>
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "core.h"

namespace {

// ---- building images by hand ----

uint64_t W(unsigned op, unsigned dst = 0, unsigned src = 0, uint32_t off = 0, uint32_t imm = 0)
{
    return uc_encode(op, dst, src, (uint16_t)off, imm);
}

// A program and its source map ("t.uc", instruction i on line i + 1 unless given), with one
// handler (for EV_TCP_ACK at pc 0 unless changed).
struct Prog {
    std::vector<uint64_t> code;
    std::vector<uint32_t> line;
    std::vector<uint16_t> file;
    std::vector<std::string> texts;
    std::vector<char *> text;
    std::vector<std::string> fnames{"t.uc"};
    std::vector<char *> files;
    uint32_t entry[EV_TYPE_COUNT];
    bool source_map = true;
    uc_image img{};

    Prog()
    {
        for (auto &e : entry)
            e = UC_NO_ENTRY;
        entry[EV_TCP_ACK] = 0;
    }
    // Appends w; returns its pc.
    uint32_t add(uint64_t w, uint32_t ln = 0, uint16_t fi = 0)
    {
        uint32_t pc = (uint32_t)code.size();
        code.push_back(w);
        line.push_back(ln ? ln : pc + 1);
        file.push_back(fi);
        texts.push_back("insn " + std::to_string(pc));
        return pc;
    }
    uint32_t op(unsigned o, unsigned dst = 0, unsigned src = 0, uint32_t off = 0, uint32_t imm = 0)
    {
        return add(W(o, dst, src, off, imm));
    }
    uint32_t movk(unsigned dst, uint32_t v) { return op(UC_MOV | UC_K, dst, 0, 0, v); }
    uint32_t fin() { return op(UC_FIN); }
    uint32_t here() const { return (uint32_t)code.size(); }
    // Sets the target (off) of the branch at pc.
    void patch(uint32_t pc, uint32_t target)
    {
        uint64_t w = code[pc];
        code[pc] =
            uc_encode(uc_op_of(w), uc_dst_of(w), uc_src_of(w), (uint16_t)target, uc_imm_of(w));
    }
    const uc_image *image()
    {
        text.clear();
        for (auto &t : texts)
            text.push_back(&t[0]);
        files.clear();
        for (auto &f : fnames)
            files.push_back(&f[0]);
        img = uc_image{};
        img.code = code.data();
        img.ncode = (uint32_t)code.size();
        if (source_map) {
            img.line = line.data();
            img.file = file.data();
            img.text = text.data();
            img.files = files.data();
            img.nfiles = (uint32_t)files.size();
        }
        std::memcpy(img.entry, entry, sizeof entry);
        return &img;
    }
};

// Costs that differ from each other and from the defaults, so that a total shows which
// parameter each instruction was charged.
struct Costs {
    uint32_t alu = 2, mul = 5, br = 3, tk = 7, ws = 11, sp = 13, ev = 17, cmd = 19, fin = 23;
};

core_cfg odd_cfg()
{
    core_cfg c;
    core_cfg_default(&c);
    Costs k;
    c.alu_cycles = k.alu;
    c.mul_cycles = k.mul;
    c.branch_cycles = k.br;
    c.taken_cycles = k.tk;
    c.ws_cycles = k.ws;
    c.sp_cycles = k.sp;
    c.ev_cycles = k.ev;
    c.cmd_cycles = k.cmd;
    c.fin_cycles = k.fin;
    return c;
}

void collect(void *ctx, const core_trace_rec *r)
{
    static_cast<std::vector<core_trace_rec> *>(ctx)->push_back(*r);
}

// A core, a workspace, an event and the last result.
struct Rig {
    core_cfg cfg = odd_cfg();
    core c{};
    bool loaded = false;
    std::vector<uint8_t> ws = std::vector<uint8_t>(64, 0);
    event ev{};
    const scratchpad *sp = nullptr;
    core_result res{};
    std::vector<core_trace_rec> trace;
    Prog prog;
    Costs k;

    Rig()
    {
        event_clear(&ev);
        ev.type = EV_TCP_ACK;
    }
    ~Rig() { core_fini(&c); }
    Rig(const Rig &) = delete;
    Rig &operator=(const Rig &) = delete;

    void load()
    {
        sim_err err;
        if (loaded)
            core_fini(&c);
        if (core_init(&c, &cfg, prog.image(), &err))
            throw std::runtime_error(err.msg);
        loaded = true;
    }
    void tracing() { core_set_trace(&c, collect, &trace); }
    int run(cycle_t start = 1000)
    {
        if (!loaded)
            load();
        std::memset(&res, 0xa5, sizeof res); // core_run must set every field it promises
        return core_run(&c, &ev, ws.data(), (uint32_t)ws.size(), sp, start, &res);
    }
    uint64_t cycles() const { return res.end - res.start; }
};

// The message core_init gives for p (with the default cfg), or "" when it accepts it.
std::string init_error(Prog &p)
{
    core_cfg cfg;
    core_cfg_default(&cfg);
    core c;
    sim_err err{};
    int rc = core_init(&c, &cfg, p.image(), &err);
    core_fini(&c);
    return rc ? std::string(err.msg) : std::string();
}

// ---- parameters, names ----

TEST(CoreParams, DefaultsAndTable)
{
    core_cfg c;
    core_cfg_default(&c);
    EXPECT_EQ(c.clock_mhz, 1000u);
    EXPECT_EQ(c.alu_cycles, 1u);
    EXPECT_EQ(c.mul_cycles, 3u);
    EXPECT_EQ(c.branch_cycles, 1u);
    EXPECT_EQ(c.taken_cycles, 2u);
    EXPECT_EQ(c.ws_cycles, 2u);
    EXPECT_EQ(c.sp_cycles, 10u);
    EXPECT_EQ(c.ev_cycles, 1u);
    EXPECT_EQ(c.cmd_cycles, 4u);
    EXPECT_EQ(c.fin_cycles, 1u);
    EXPECT_EQ(c.max_cycles, 100000u);
    EXPECT_STREQ(core_params.unit, "core");
    EXPECT_EQ(c.max_chain, 1000u);
    EXPECT_EQ(core_params.n, 12u);
    const param_def *d = param_find(&core_params, "clock_mhz");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->min, 1u);
    EXPECT_EQ(d->max, 100000u);
    EXPECT_STREQ(d->unit, "MHz");
    for (const char *name : {"alu_cycles", "mul_cycles", "branch_cycles", "ws_cycles", "sp_cycles",
                             "ev_cycles", "cmd_cycles", "fin_cycles"}) {
        d = param_find(&core_params, name);
        ASSERT_NE(d, nullptr) << name;
        EXPECT_EQ(d->min, 0u) << name;
        EXPECT_EQ(d->max, 10000u) << name;
        EXPECT_STREQ(d->unit, "cycles") << name;
    }
    d = param_find(&core_params, "taken_cycles");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->min, 1u); // a free taken branch would let a loop run forever
    EXPECT_EQ(d->max, 10000u);
    d = param_find(&core_params, "max_cycles");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->min, 1u);
    EXPECT_EQ(d->max, 1000000000u);
}

TEST(CoreParams, SetAndRangeErrors)
{
    core_cfg c;
    core_cfg_default(&c);
    sim_err err;
    EXPECT_EQ(param_set(&core_params, &c, "ws_cycles", "7", &err), 0);
    EXPECT_EQ(c.ws_cycles, 7u);
    EXPECT_EQ(param_set(&core_params, &c, "taken_cycles", "0", &err), -1);
    EXPECT_STREQ(err.msg, "core.taken_cycles: 0 is out of range [1, 10000]");
    EXPECT_EQ(param_set(&core_params, &c, "max_cycles", "1000000001", &err), -1);
    EXPECT_STREQ(err.msg, "core.max_cycles: 1000000001 is out of range [1, 1000000000]");
    EXPECT_EQ(param_set(&core_params, &c, "alu", "1", &err), -1);
    EXPECT_STREQ(err.msg, "core: unknown parameter 'alu'");
}

TEST(CoreParams, InitRejectsBadCfg)
{
    Prog p;
    p.fin();
    core_cfg cfg;
    core_cfg_default(&cfg);
    cfg.max_cycles = 0;
    core c;
    sim_err err;
    EXPECT_EQ(core_init(&c, &cfg, p.image(), &err), -1);
    EXPECT_STREQ(err.msg, "core.max_cycles: 0 is out of range [1, 1000000000]");
    EXPECT_EQ(c.code, nullptr);
    core_fini(&c);
}

TEST(CoreNames, FaultsAndStats)
{
    const char *want[] = {"ok",    "no_entry", "ws_bounds", "pkt_bounds", "budget",
                          "stack", "cmds",     "trap",      "chain"};
    ASSERT_EQ(sizeof want / sizeof want[0], (size_t)CORE_FAULT_COUNT);
    for (unsigned f = 0; f < CORE_FAULT_COUNT; f++)
        EXPECT_STREQ(core_fault_name(f), want[f]);
    EXPECT_EQ(core_fault_name(CORE_FAULT_COUNT), nullptr);
    std::vector<std::string> names;
    for (size_t i = 0; i < core_stat_count; i++)
        names.push_back(core_stat_defs[i].name);
    EXPECT_EQ(names, (std::vector<std::string>{"events", "insns", "busy_cycles", "stall_ws",
                                               "stall_sp", "faults"}));
}

// ---- ALU ----

struct AluCase {
    unsigned op;
    uint32_t d, s, want;
};

// dst = d, src = s, then op: returns r1, checks the register and the immediate forms agree and
// that op was charged cost.
void check_alu(const AluCase &t, uint32_t cost)
{
    for (bool imm : {false, true}) {
        Rig g;
        g.prog.movk(1, t.d);
        g.prog.movk(2, t.s);
        if (imm)
            g.prog.op(t.op | UC_K, 1, 0, 0, t.s);
        else
            g.prog.op(t.op, 1, 2);
        g.prog.fin();
        ASSERT_EQ(g.run(), CORE_OK) << uc_op_name(t.op);
        EXPECT_EQ(g.res.regs[1], t.want)
            << uc_op_name(t.op) << (imm ? " imm " : " reg ") << std::hex << t.d << ", " << t.s;
        EXPECT_EQ(g.res.regs[2], t.s);
        EXPECT_EQ(g.cycles(), 2u * g.k.alu + cost + g.k.fin) << uc_op_name(t.op);
        EXPECT_EQ(g.res.insns, 4u);
    }
}

TEST(CoreAlu, EveryOpBothForms)
{
    const AluCase cases[] = {
        {UC_MOV, 5, 0xdeadbeef, 0xdeadbeef},
        {UC_ADD, 3, 4, 7},
        {UC_ADD, 0xffffffff, 2, 1}, // wraps
        {UC_SUB, 10, 3, 7},
        {UC_SUB, 1, 2, 0xffffffff},
        {UC_AND, 0xff00ff00, 0x0ff00ff0, 0x0f000f00},
        {UC_OR, 0xff00ff00, 0x0ff00ff0, 0xfff0fff0},
        {UC_XOR, 0xff00ff00, 0x0ff00ff0, 0xf0f0f0f0},
        {UC_SHL, 1, 31, 0x80000000},
        {UC_SHL, 1, 32, 1}, // count & 31
        {UC_SHL, 3, 33, 6},
        {UC_SHL, 0x80000001, 1, 2},
        {UC_SHR, 0x80000000, 31, 1},
        {UC_SHR, 0x80000000, 32, 0x80000000},
        {UC_SHR, 0xf0, 36, 0xf},
        {UC_SAR, 0x80000000, 31, 0xffffffff},
        {UC_SAR, 0x80000000, 4, 0xf8000000},
        {UC_SAR, 0x40000000, 30, 1},
        {UC_SAR, 0x80000000, 32, 0x80000000},
        {UC_SAR, 0xfffffff0, 0x24, 0xffffffff},
        {UC_MIN, 0xffffffff, 1, 1}, // unsigned
        {UC_MIN, 2, 0x80000000, 2},
        {UC_MAX, 0xffffffff, 1, 0xffffffff},
        {UC_MAX, 2, 0x80000000, 0x80000000},
        {UC_SEQMIN, 5, 7, 5},
        {UC_SEQMIN, 0xfffffff0, 0x10, 0xfffffff0}, // across the wrap: 0xfffffff0 is earlier
        {UC_SEQMIN, 0x10, 0xfffffff0, 0xfffffff0},
        {UC_SEQMAX, 5, 7, 7},
        {UC_SEQMAX, 0xfffffff0, 0x10, 0x10},
        {UC_SEQMAX, 0x10, 0xfffffff0, 0x10},
        {UC_SEQMAX, 9, 9, 9},
    };
    Costs k;
    for (const auto &t : cases)
        check_alu(t, k.alu);
}

TEST(CoreAlu, MulWrapsAndCostsMulCycles)
{
    Costs k;
    check_alu({UC_MUL, 6, 7, 42}, k.mul);
    check_alu({UC_MUL, 0x10000, 0x10001, 0x10000}, k.mul);
    check_alu({UC_MUL, 0xffffffff, 0xffffffff, 1}, k.mul);
    check_alu({UC_MUL, 0x80000000, 2, 0}, k.mul);
}

TEST(CoreAlu, NegAndNotIgnoreSrc)
{
    struct {
        unsigned op;
        uint32_t d, want;
    } cases[] = {{UC_NEG, 5, 0xfffffffb},
                 {UC_NEG, 0, 0},
                 {UC_NEG, 0x80000000, 0x80000000},
                 {UC_NOT, 0, 0xffffffff},
                 {UC_NOT, 0x0f0f0f0f, 0xf0f0f0f0}};
    for (const auto &t : cases) {
        Rig g;
        g.prog.movk(1, t.d);
        g.prog.movk(2, 12345);
        g.prog.op(t.op, 1, 2);
        g.prog.fin();
        ASSERT_EQ(g.run(), CORE_OK);
        EXPECT_EQ(g.res.regs[1], t.want) << uc_op_name(t.op) << " " << t.d;
        EXPECT_EQ(g.cycles(), 3u * g.k.alu + g.k.fin);
    }
}

TEST(CoreAlu, NopCostsAluCycles)
{
    Rig g;
    g.prog.op(UC_NOP);
    g.prog.op(UC_NOP);
    g.prog.fin();
    ASSERT_EQ(g.run(0), CORE_OK);
    EXPECT_EQ(g.res.end, 2u * g.k.alu + g.k.fin);
    EXPECT_EQ(g.res.insns, 3u);
    EXPECT_EQ(g.res.pc, 2u);
}

TEST(CoreAlu, RegistersStartAtZeroEveryEvent)
{
    Rig g;
    for (unsigned r = 0; r < UC_NREGS; r++)
        g.prog.op(UC_ADD | UC_K, r, 0, 0, r + 1);
    g.prog.fin();
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(g.run(), CORE_OK);
        for (unsigned r = 0; r < UC_NREGS; r++)
            EXPECT_EQ(g.res.regs[r], r + 1);
    }
}

// ---- branches ----

struct BrCase {
    unsigned op;
    uint32_t d, s;
    bool taken;
};

TEST(CoreBranch, EveryConditionBothFormsTakenAndNot)
{
    const BrCase cases[] = {
        {UC_JEQ, 5, 5, true},
        {UC_JEQ, 5, 6, false},
        {UC_JNE, 5, 6, true},
        {UC_JNE, 5, 5, false},
        {UC_JLT, 1, 0xffffffff, true}, // unsigned
        {UC_JLT, 0xffffffff, 1, false},
        {UC_JLT, 2, 2, false},
        {UC_JLE, 2, 2, true},
        {UC_JLE, 3, 2, false},
        {UC_JGT, 0xffffffff, 1, true},
        {UC_JGT, 2, 2, false},
        {UC_JGE, 2, 2, true},
        {UC_JGE, 1, 2, false},
        {UC_JSLT, 0xffffffff, 1, true}, // signed: -1 < 1
        {UC_JSLT, 1, 0xffffffff, false},
        {UC_JSLT, 0x80000000, 0x7fffffff, true},
        {UC_JSLE, 5, 5, true},
        {UC_JSLE, 0x7fffffff, 0x80000000, false},
        {UC_JSGT, 0x7fffffff, 0x80000000, true},
        {UC_JSGT, 0xffffffff, 0, false},
        {UC_JSGE, 0x80000000, 0x80000000, true},
        {UC_JSGE, 0x80000000, 0, false},
        {UC_JSEQLT, 0xfffffff0, 0x10, true}, // across the 2^32 wrap
        {UC_JSEQLT, 0x10, 0xfffffff0, false},
        {UC_JSEQLT, 5, 5, false},
        {UC_JSEQLT, 5, 6, true},
        {UC_JSEQLE, 5, 5, true},
        {UC_JSEQLE, 0xfffffff0, 0x10, true},
        {UC_JSEQLE, 0x10, 0xfffffff0, false},
        {UC_JSEQGT, 0x10, 0xfffffff0, true},
        {UC_JSEQGT, 5, 5, false},
        {UC_JSEQGT, 0xfffffff0, 0x10, false},
        {UC_JSEQGE, 5, 5, true},
        {UC_JSEQGE, 0x10, 0xfffffff0, true},
        {UC_JSEQGE, 0xfffffff0, 0x10, false},
        {UC_JSET, 6, 2, true},
        {UC_JSET, 5, 2, false},
        {UC_JSET, 0x80000000, 0x80000000, true},
    };
    for (const auto &t : cases)
        for (bool imm : {false, true}) {
            // r1 = d, r2 = s; branch; not taken: r3 = 1; taken: r3 = 2
            Rig g;
            g.prog.movk(1, t.d);
            g.prog.movk(2, t.s);
            uint32_t b = imm ? g.prog.op(t.op | UC_K, 1, 0, 0, t.s) : g.prog.op(t.op, 1, 2);
            g.prog.movk(3, 1);
            g.prog.fin();
            g.prog.patch(b, g.prog.here());
            g.prog.movk(3, 2);
            g.prog.fin();
            ASSERT_EQ(g.run(), CORE_OK);
            std::string what = std::string(uc_op_name(t.op)) + (imm ? " imm " : " reg ") +
                               std::to_string(t.d) + ", " + std::to_string(t.s);
            EXPECT_EQ(g.res.regs[3], t.taken ? 2u : 1u) << what;
            EXPECT_EQ(g.cycles(), 3u * g.k.alu + (t.taken ? g.k.tk : g.k.br) + g.k.fin) << what;
            EXPECT_EQ(g.res.pc, t.taken ? 6u : 4u) << what;
            EXPECT_EQ(g.res.insns, 5u);
        }
}

TEST(CoreBranch, JaIsAlwaysTaken)
{
    Rig g;
    g.prog.op(UC_JA, 0, 0, 2);
    g.prog.movk(1, 1); // skipped
    g.prog.fin();
    ASSERT_EQ(g.run(), CORE_OK);
    EXPECT_EQ(g.res.regs[1], 0u);
    EXPECT_EQ(g.cycles(), g.k.tk + g.k.fin);
    EXPECT_EQ(g.res.insns, 2u);
}

// r1 = depth; a routine that calls itself until r1 counts down to 0, counting returns in r2.
void build_recursion(Prog &p, uint32_t depth)
{
    p.movk(1, depth);                // 0
    p.op(UC_CALL, 0, 0, 3);          // 1
    p.fin();                         // 2
    p.op(UC_SUB | UC_K, 1, 0, 0, 1); // 3: f
    p.op(UC_JEQ | UC_K, 1, 0, 6, 0); // 4
    p.op(UC_CALL, 0, 0, 3);          // 5
    p.op(UC_ADD | UC_K, 2, 0, 0, 1); // 6
    p.op(UC_RET);                    // 7
}

TEST(CoreBranch, CallRetNestToDepthEight)
{
    Rig g;
    build_recursion(g.prog, UC_CALL_DEPTH);
    ASSERT_EQ(g.run(), CORE_OK);
    EXPECT_EQ(g.res.regs[1], 0u);
    EXPECT_EQ(g.res.regs[2], 8u);
    EXPECT_EQ(g.res.pc, 2u);
    // mov; 8 calls; 8 subs; 7 jeq not taken, 1 taken; 8 adds; 8 rets; fin
    EXPECT_EQ(g.cycles(), g.k.alu * (1 + 8 + 8) + g.k.tk * (8 + 1 + 8) + g.k.br * 7 + g.k.fin);
    EXPECT_EQ(g.res.insns, 1u + 8 + 8 + 8 + 8 + 8 + 1);
}

TEST(CoreBranch, NinthCallFaults)
{
    Rig g;
    build_recursion(g.prog, UC_CALL_DEPTH + 1);
    EXPECT_EQ(g.run(), CORE_FAULT_STACK);
    EXPECT_EQ(g.res.fault, CORE_FAULT_STACK);
    EXPECT_EQ(g.res.pc, 5u);
    EXPECT_EQ(g.res.regs[1], 1u);
    EXPECT_EQ(g.res.regs[2], 0u);
    // mov; 8 calls; 8 subs; 8 jeq not taken; the 9th call, charged but not retired
    EXPECT_EQ(g.cycles(), g.k.alu * (1 + 8) + g.k.tk * (8 + 1) + g.k.br * 8);
    EXPECT_EQ(g.res.insns, 1u + 8 + 8 + 8);
}

TEST(CoreBranch, RetWithEmptyStackFaults)
{
    Rig g;
    g.prog.movk(1, 9);
    g.prog.op(UC_RET);
    EXPECT_EQ(g.run(), CORE_FAULT_STACK);
    EXPECT_EQ(g.res.pc, 1u);
    EXPECT_EQ(g.res.regs[1], 9u);
    EXPECT_EQ(g.cycles(), g.k.alu + g.k.tk);
    EXPECT_EQ(g.res.insns, 1u);
}

// ---- workspace ----

TEST(CoreWorkspace, LoadsAreLittleEndianAndZeroExtended)
{
    Rig g;
    for (unsigned i = 0; i < g.ws.size(); i++)
        g.ws[i] = (uint8_t)(0x80 + i);
    g.prog.op(UC_LDW | UC_ABS, 1, 0, 4);  // bytes 84 85 86 87
    g.prog.op(UC_LDH | UC_ABS, 2, 0, 62); // 0xbe 0xbf, the last two bytes
    g.prog.op(UC_LDB | UC_ABS, 3, 0, 63); // the last byte
    g.prog.movk(9, 10);
    g.prog.op(UC_LDW, 4, 9, 0xfffa); // r9 - 6 = 4
    g.prog.op(UC_LDH, 5, 9, 1);      // 11
    g.prog.op(UC_LDB, 6, 9, 0xfff6); // 0
    g.prog.op(UC_LDW, 7, 9, 50);     // 60: the last four bytes
    g.prog.fin();
    ASSERT_EQ(g.run(), CORE_OK);
    EXPECT_EQ(g.res.regs[1], 0x87868584u);
    EXPECT_EQ(g.res.regs[2], 0xbfbeu);
    EXPECT_EQ(g.res.regs[3], 0xbfu);
    EXPECT_EQ(g.res.regs[4], 0x87868584u);
    EXPECT_EQ(g.res.regs[5], 0x8c8bu);
    EXPECT_EQ(g.res.regs[6], 0x80u);
    EXPECT_EQ(g.res.regs[7], 0xbfbebdbcu);
    EXPECT_EQ(g.cycles(), 7u * g.k.ws + g.k.alu + g.k.fin);
    EXPECT_EQ(g.c.st.stall_ws, 7u * (g.k.ws - 1));
}

TEST(CoreWorkspace, StoresWriteTheLowBitsLittleEndian)
{
    Rig g;
    g.prog.movk(1, 0x11223344);
    g.prog.movk(9, 20);
    g.prog.op(UC_STW | UC_ABS, 0, 1, 0);                    // [0..4)
    g.prog.op(UC_STH | UC_ABS, 0, 1, 4);                    // [4..6)
    g.prog.op(UC_STB | UC_ABS, 0, 1, 6);                    // [6]
    g.prog.op(UC_STW, 9, 1, 0xfffc);                        // r9 - 4 = 16
    g.prog.op(UC_STH | UC_K, 9, 0, 2, 0xaabbccdd);          // 22
    g.prog.op(UC_STB | UC_K | UC_ABS, 0, 0, 63, 0x1ff);     // the last byte
    g.prog.op(UC_STW | UC_K | UC_ABS, 0, 0, 8, 0xcafef00d); // [8..12)
    g.prog.fin();
    std::fill(g.ws.begin(), g.ws.end(), 0xee);
    ASSERT_EQ(g.run(), CORE_OK);
    std::vector<uint8_t> want(64, 0xee);
    const uint8_t w0[] = {0x44, 0x33, 0x22, 0x11, 0x44, 0x33, 0x44};
    std::memcpy(&want[0], w0, sizeof w0);
    const uint8_t w8[] = {0x0d, 0xf0, 0xfe, 0xca};
    std::memcpy(&want[8], w8, sizeof w8);
    const uint8_t w16[] = {0x44, 0x33, 0x22, 0x11, 0xee, 0xee, 0xdd, 0xcc};
    std::memcpy(&want[16], w16, sizeof w16);
    want[63] = 0xff;
    EXPECT_EQ(g.ws, want);
    EXPECT_EQ(g.cycles(), 2u * g.k.alu + 7u * g.k.ws + g.k.fin);
    EXPECT_EQ(g.res.insns, 10u);
}

TEST(CoreWorkspace, OutOfBoundsFaultsAndChangesNothing)
{
    struct {
        uint64_t insn;
        uint32_t base; // r9
    } cases[] = {
        {W(UC_LDW | UC_ABS, 1, 0, 61), 0},           // [61, 65)
        {W(UC_LDH | UC_ABS, 1, 0, 63), 0},           // [63, 65)
        {W(UC_LDB | UC_ABS, 1, 0, 64), 0},           // [64, 65)
        {W(UC_LDB | UC_ABS, 1, 0, 0xffff), 0},       // off is unsigned with UC_ABS
        {W(UC_LDW, 1, 9, 0xffff), 0},                // -1
        {W(UC_LDB, 1, 9, 0), 0xffffffff},            // 2^32 - 1
        {W(UC_LDB, 1, 9, 1), 0xffffffff},            // 2^32: no wrap to 0
        {W(UC_LDW, 1, 9, 0x8000), 0x8000 + 62},      // base - 32768 is fine, base too far
        {W(UC_STW, 9, 1, 0), 61},                    // [61, 65)
        {W(UC_STH | UC_K, 9, 0, 0xfffe, 7), 1},      // -1
        {W(UC_STB | UC_ABS, 0, 1, 64), 0},           //
        {W(UC_STB | UC_K | UC_ABS, 0, 0, 100, 1), 0} //
    };
    for (const auto &t : cases) {
        Rig g;
        g.prog.movk(1, 0x5555);
        g.prog.movk(9, t.base);
        g.prog.add(t.insn);
        g.prog.fin();
        std::fill(g.ws.begin(), g.ws.end(), 0x77);
        EXPECT_EQ(g.run(), CORE_FAULT_WS_BOUNDS) << std::hex << t.insn;
        EXPECT_EQ(g.res.pc, 2u);
        EXPECT_EQ(g.res.regs[1], 0x5555u) << std::hex << t.insn;
        EXPECT_EQ(g.res.insns, 2u);
        EXPECT_EQ(g.cycles(), 2u * g.k.alu + g.k.ws); // the faulting access is charged
        EXPECT_EQ(g.ws, std::vector<uint8_t>(64, 0x77));
    }
}

// The absolute accesses are checked once per event against the image's highest one
// (core_image.abs_end): a workspace that holds them all runs them unchecked, a shorter one
// checks each; either way only an access that runs can fault, at its own pc.
TEST(CoreWorkspace, AbsoluteAccessesCheckedOncePerEventOrEachTime)
{
    auto build = [](Prog &p) {
        p.op(UC_LDB | UC_ABS, 1, 0, 0);                 // 0: r1 = ws[0]
        uint32_t j = p.op(UC_JEQ | UC_K, 1, 0, 0, 0);   // 1: ws[0] == 0: skip the far store
        p.op(UC_STW | UC_K | UC_ABS, 0, 0, 40, 0xabcd); // 2: [40, 44)
        p.patch(j, p.fin());                            // 3
    };
    for (uint32_t len : {64u, 44u, 43u, 8u}) {
        for (uint8_t first : {0, 1}) {
            Rig g;
            build(g.prog);
            g.ws.assign(len, 0);
            g.ws[0] = first;
            g.load();
            EXPECT_EQ(g.c.abs_end, 44u);
            int f = g.run();
            if (first && len < 44) {
                EXPECT_EQ(f, CORE_FAULT_WS_BOUNDS) << len;
                EXPECT_EQ(g.res.pc, 2u);
                EXPECT_EQ(g.cycles(), 2u * g.k.ws + g.k.br);
                for (uint32_t i = 1; i < len; i++)
                    EXPECT_EQ(g.ws[i], 0) << len << " " << i;
            } else {
                EXPECT_EQ(f, CORE_OK) << len << " " << int(first);
                EXPECT_EQ(g.res.pc, 3u);
                if (len >= 44) { // little-endian 0xabcd, or untouched
                    EXPECT_EQ(g.ws[40], first ? 0xcd : 0);
                    EXPECT_EQ(g.ws[41], first ? 0xab : 0);
                    EXPECT_EQ(g.ws[42], 0);
                }
            }
        }
    }
}

TEST(CoreWorkspace, EmptyWorkspaceFaultsAtAnyAddress)
{
    Rig g;
    g.ws.clear();
    g.prog.op(UC_LDB | UC_ABS, 1, 0, 0);
    g.prog.fin();
    EXPECT_EQ(g.run(), CORE_FAULT_WS_BOUNDS);
    EXPECT_EQ(g.res.pc, 0u);
}

TEST(CoreWorkspace, WsCyclesSevenAddsExactlySeven)
{
    Rig g;
    g.cfg.ws_cycles = 7;
    g.prog.op(UC_NOP);
    g.prog.op(UC_LDW | UC_ABS, 1, 0, 0);
    g.prog.fin();
    ASSERT_EQ(g.run(500), CORE_OK);
    EXPECT_EQ(g.res.start, 500u);
    EXPECT_EQ(g.res.end, 500u + g.k.alu + 7 + g.k.fin);
    EXPECT_EQ(g.c.st.stall_ws, 6u);
}

// ---- frame loads ----

struct SpRig : Rig {
    scratchpad pad;
    std::vector<uint8_t> frame;
    SpRig()
    {
        sp_cfg sc;
        sp_cfg_default(&sc);
        sc.capacity = 4096;
        sc.cell = 16; // frames cross cells
        sim_err err;
        if (sp_init(&pad, &sc, &err))
            throw std::runtime_error(err.msg);
        for (unsigned i = 0; i < 40; i++)
            frame.push_back((uint8_t)(0x10 + i));
        ev.sp_handle = sp_alloc(&pad, frame.data(), (uint32_t)frame.size(), 1);
        ev.frame_len = (uint32_t)frame.size();
        sp = &pad;
    }
    ~SpRig() { sp_fini(&pad); }
};

TEST(CoreFrame, LoadsAreBigEndianAcrossCells)
{
    SpRig g;
    g.prog.op(UC_LDPW | UC_ABS, 1, 0, 0);
    g.prog.op(UC_LDPW | UC_ABS, 2, 0, 14); // crosses the first cell boundary
    g.prog.op(UC_LDPW | UC_ABS, 3, 0, 36); // the last four bytes
    g.prog.op(UC_LDPH | UC_ABS, 4, 0, 38);
    g.prog.op(UC_LDPB | UC_ABS, 5, 0, 39);
    g.prog.movk(9, 20);
    g.prog.op(UC_LDPH, 6, 9, 0xfff1); // r9 - 15 = 5
    g.prog.op(UC_LDPB, 7, 9, 11);     // 31
    g.prog.fin();
    ASSERT_EQ(g.run(), CORE_OK);
    EXPECT_EQ(g.res.regs[1], 0x10111213u);
    EXPECT_EQ(g.res.regs[2], 0x1e1f2021u);
    EXPECT_EQ(g.res.regs[3], 0x34353637u);
    EXPECT_EQ(g.res.regs[4], 0x3637u);
    EXPECT_EQ(g.res.regs[5], 0x37u);
    EXPECT_EQ(g.res.regs[6], 0x1516u);
    EXPECT_EQ(g.res.regs[7], 0x2fu);
    EXPECT_EQ(g.cycles(), 7u * g.k.sp + g.k.alu + g.k.fin);
    EXPECT_EQ(g.c.st.stall_sp, 7u * (g.k.sp - 1));
    EXPECT_EQ(g.c.st.stall_ws, 0u);
}

TEST(CoreFrame, OutsideTheFrameFaults)
{
    struct {
        uint64_t insn;
        uint32_t base;
    } cases[] = {
        {W(UC_LDPW | UC_ABS, 1, 0, 37), 0}, // [37, 41)
        {W(UC_LDPH | UC_ABS, 1, 0, 39), 0}, {W(UC_LDPB | UC_ABS, 1, 0, 40), 0},
        {W(UC_LDPB, 1, 9, 0xffff), 0},     // -1
        {W(UC_LDPB, 1, 9, 1), 0xffffffff}, // 2^32
        {W(UC_LDPW, 1, 9, 0), 0xfffffffe},
    };
    for (const auto &t : cases) {
        SpRig g;
        g.prog.movk(1, 0x5555);
        g.prog.movk(9, t.base);
        g.prog.add(t.insn);
        g.prog.fin();
        EXPECT_EQ(g.run(), CORE_FAULT_PKT_BOUNDS) << std::hex << t.insn;
        EXPECT_EQ(g.res.pc, 2u);
        EXPECT_EQ(g.res.regs[1], 0x5555u);
        EXPECT_EQ(g.cycles(), 2u * g.k.alu + g.k.sp);
        EXPECT_EQ(g.res.insns, 2u);
    }
}

TEST(CoreFrame, NoFrameFaults)
{
    {
        SpRig g; // a scratchpad, but the event has no frame
        g.ev.sp_handle = SP_NONE;
        g.prog.op(UC_LDPB | UC_ABS, 1, 0, 0);
        g.prog.fin();
        EXPECT_EQ(g.run(), CORE_FAULT_PKT_BOUNDS);
        EXPECT_EQ(g.res.pc, 0u);
    }
    {
        Rig g; // no scratchpad at all
        g.ev.sp_handle = 0;
        g.prog.op(UC_LDPB | UC_ABS, 1, 0, 0);
        g.prog.fin();
        EXPECT_EQ(g.run(), CORE_FAULT_PKT_BOUNDS);
        EXPECT_EQ(g.cycles(), g.k.sp);
    }
}

// ---- event fields ----

TEST(CoreEvent, LdevReadsEveryField)
{
    Rig g;
    event &e = g.ev;
    e.type = EV_TCP_ACK;
    e.cls = EVC_SEND;
    e.chan = CH_HOST;
    e.proto = PROTO_UDP;
    e.flow = 0xf10f;
    e.seq = 0x80000001;
    e.ack = 0xfffffffe;
    e.win = 0xfedc;
    e.tcp_flags = 0x92;
    e.mss = 1460;
    e.wscale = 14;
    e.sack_ok = 1;
    e.has_ts = 1;
    e.ts_val = 0x11111111;
    e.ts_ecr = 0x22222222;
    e.nsack = 3;
    for (unsigned i = 0; i < EV_MAX_SACK; i++) {
        e.sack[i][0] = 0xa0000000 + i;
        e.sack[i][1] = 0xb0000000 + i;
    }
    e.frame_len = 1514;
    e.l3_off = 14;
    e.l4_off = 34;
    e.pay_off = 66;
    e.pay_len = 1448;
    e.key.sport = 40000;
    e.key.dport = 443;
    e.key.af = 6;
    e.arg = 0xc0ffee;
    e.qp = 0xabcdef;
    e.opcode = 0x0b;
    e.bth_flags = ROCE_F_ACKREQ | ROCE_F_IMM | 2 << ROCE_F_PAD_SHIFT;
    e.syndrome = 0x7f;
    e.rkey = 0xdeadbeef;
    e.dma_len = 0x10001;
    e.va = 0x0123456789abcdefull;
    uint32_t want[UC_EVF_COUNT] = {};
    want[UC_EVF_TYPE] = EV_TCP_ACK;
    want[UC_EVF_CLASS] = EVC_SEND;
    want[UC_EVF_CHAN] = CH_HOST;
    want[UC_EVF_PROTO] = PROTO_UDP;
    want[UC_EVF_FLOW] = 0xf10f;
    want[UC_EVF_SEQ] = 0x80000001;
    want[UC_EVF_ACK] = 0xfffffffe;
    want[UC_EVF_WIN] = 0xfedc;
    want[UC_EVF_FLAGS] = 0x92;
    want[UC_EVF_MSS] = 1460;
    want[UC_EVF_WSCALE] = 14;
    want[UC_EVF_SACK_OK] = 1;
    want[UC_EVF_HAS_TS] = 1;
    want[UC_EVF_TS_VAL] = 0x11111111;
    want[UC_EVF_TS_ECR] = 0x22222222;
    want[UC_EVF_NSACK] = 3;
    want[UC_EVF_SACK0_L] = 0xa0000000;
    want[UC_EVF_SACK0_R] = 0xb0000000;
    want[UC_EVF_SACK1_L] = 0xa0000001;
    want[UC_EVF_SACK1_R] = 0xb0000001;
    want[UC_EVF_SACK2_L] = 0xa0000002;
    want[UC_EVF_SACK2_R] = 0xb0000002;
    want[UC_EVF_SACK3_L] = 0xa0000003;
    want[UC_EVF_SACK3_R] = 0xb0000003;
    want[UC_EVF_FRAME_LEN] = 1514;
    want[UC_EVF_L3_OFF] = 14;
    want[UC_EVF_L4_OFF] = 34;
    want[UC_EVF_PAY_OFF] = 66;
    want[UC_EVF_PAY_LEN] = 1448;
    want[UC_EVF_SPORT] = 40000;
    want[UC_EVF_DPORT] = 443;
    want[UC_EVF_AF] = 6;
    want[UC_EVF_ARG] = 0xc0ffee;
    want[UC_EVF_PSN] = 0x80000001; // the PSN and MSN are seq and ack under RoCE names
    want[UC_EVF_MSN] = 0xfffffffe;
    want[UC_EVF_QP] = 0xabcdef;
    want[UC_EVF_OPCODE] = 0x0b;
    want[UC_EVF_BTH_FLAGS] = 0x29;
    want[UC_EVF_SYNDROME] = 0x7f;
    want[UC_EVF_RKEY] = 0xdeadbeef;
    want[UC_EVF_DMA_LEN] = 0x10001;
    want[UC_EVF_VA_LO] = 0x89abcdef;
    want[UC_EVF_VA_HI] = 0x01234567;
    want[UC_EVF_NOW_US] = 1; // the clock, not the descriptor: cycle 1000 + a few at 1000 MHz
    static_assert(UC_EVF_COUNT == 44, "three handlers of up to 16 ldev cover every field");
    // 16 registers: the fields in handlers of 16, r0..r15 each
    for (unsigned part = 0; part * 16 < UC_EVF_COUNT; part++) {
        Rig h;
        h.ev = e;
        unsigned n = std::min(16u, UC_EVF_COUNT - part * 16);
        for (unsigned r = 0; r < n; r++)
            h.prog.op(UC_LDEV, r, 0, 0, part * 16 + r);
        h.prog.fin();
        ASSERT_EQ(h.run(), CORE_OK);
        for (unsigned r = 0; r < n; r++)
            EXPECT_EQ(h.res.regs[r], want[part * 16 + r]) << uc_evf_name(part * 16 + r);
        EXPECT_EQ(h.cycles(), n * h.k.ev + h.k.fin);
    }
}

// now_us is the cycle the ldev issues at, over the clock in MHz: six 2-cycle ALU ops into an
// event that started at cycle 2,499,995 of a 500 MHz core it is cycle 2,500,007: 5000 us
// (5000.014); one cycle earlier it would still be 4999.
TEST(CoreEvent, NowUsIsTheIssueCycleInMicroseconds)
{
    Rig g;
    g.cfg.clock_mhz = 500;
    g.prog.movk(1, 1);
    g.prog.movk(2, 2);
    g.prog.movk(3, 3);
    g.prog.movk(4, 4);
    g.prog.movk(5, 5);
    g.prog.movk(6, 6);
    g.prog.op(UC_LDEV, 7, 0, 0, UC_EVF_NOW_US); // issues after 6 ALU ops
    g.prog.op(UC_LDEV, 8, 0, 0, UC_EVF_NOW_US);
    g.prog.fin();
    const cycle_t start = 2499995;
    ASSERT_EQ(g.run(start), CORE_OK);
    EXPECT_EQ(g.res.regs[7], 5000u);
    EXPECT_EQ(g.res.regs[8], 5000u); // 17 cycles later
    Rig e;
    e.cfg.clock_mhz = 500;
    e.prog.op(UC_LDEV, 7, 0, 0, UC_EVF_NOW_US);
    e.prog.fin();
    ASSERT_EQ(e.run(2499999), CORE_OK);
    EXPECT_EQ(e.res.regs[7], 4999u);
}

TEST(CoreEvent, NoWindowScaleReadsAs255)
{
    Rig g; // event_clear sets WSCALE_NONE
    g.prog.op(UC_LDEV, 1, 0, 0, UC_EVF_WSCALE);
    g.prog.op(UC_LDEV, 2, 0, 0, UC_EVF_FLOW);
    g.prog.fin();
    ASSERT_EQ(g.run(), CORE_OK);
    EXPECT_EQ(g.res.regs[1], 0xffu);
    EXPECT_EQ(g.res.regs[2], FLOW_NONE);
}

// ---- commands ----

// r0 = 99; then n times: r1++, r2 = r1 * 2 ... r5, cmd log; then fin
void build_cmds(Prog &p, uint32_t n)
{
    p.movk(0, 99);                       // 0
    p.op(UC_ADD | UC_K, 1, 0, 0, 1);     // 1: loop
    p.op(UC_MOV | UC_K, 2, 0, 0, 0x200); // 2
    p.op(UC_ADD, 2, 1, 0, 0);            // 3
    p.op(UC_CMD, 0, 0, 0, UC_CMD_LOG);   // 4
    p.op(UC_JNE | UC_K, 1, 0, 1, n);     // 5
    p.fin();                             // 6
}

TEST(CoreCmd, RecordsCommandArgsAndIssueCycles)
{
    Rig g;
    g.prog.movk(1, 11);
    g.prog.movk(2, 22);
    g.prog.movk(3, 33);
    g.prog.movk(4, 44);
    g.prog.movk(5, 55);
    g.prog.movk(6, 66);
    g.prog.movk(0, 7);
    g.prog.op(UC_CMD, 0, 0, 0, UC_CMD_TX_EMIT);
    g.prog.op(UC_ADD | UC_K, 0, 0, 0, 5); // r0 was 0
    g.prog.op(UC_CMD, 0, 0, 0, UC_CMD_TIMER_SET);
    g.prog.fin();
    ASSERT_EQ(g.run(100), CORE_OK);
    ASSERT_EQ(g.res.ncmds, 2u);
    EXPECT_EQ(g.res.cmds[0].cmd, UC_CMD_TX_EMIT);
    EXPECT_EQ(g.res.cmds[0].cycle, 100u + 7 * g.k.alu);
    const uint32_t args[5] = {11, 22, 33, 44, 55};
    EXPECT_EQ(std::memcmp(g.res.cmds[0].arg, args, sizeof args), 0);
    EXPECT_EQ(g.res.cmds[1].cmd, UC_CMD_TIMER_SET);
    EXPECT_EQ(g.res.cmds[1].cycle, 100u + 8 * g.k.alu + g.k.cmd);
    EXPECT_EQ(g.res.regs[0], 0u);
    EXPECT_EQ(g.res.regs[6], 66u);
    EXPECT_EQ(g.cycles(), 8u * g.k.alu + 2 * g.k.cmd + g.k.fin);
}

TEST(CoreCmd, ThirtyTwoAreFine)
{
    Rig g;
    build_cmds(g.prog, CORE_MAX_CMDS);
    ASSERT_EQ(g.run(1000), CORE_OK);
    ASSERT_EQ(g.res.ncmds, (uint32_t)CORE_MAX_CMDS);
    const uint64_t iter = 3 * g.k.alu + g.k.cmd + g.k.tk; // add, mov, add, cmd, jne taken
    for (uint32_t i = 0; i < CORE_MAX_CMDS; i++) {
        EXPECT_EQ(g.res.cmds[i].cmd, UC_CMD_LOG);
        EXPECT_EQ(g.res.cmds[i].cycle, 1000u + g.k.alu + i * iter + 3 * g.k.alu) << i;
        EXPECT_EQ(g.res.cmds[i].arg[0], i + 1);
        EXPECT_EQ(g.res.cmds[i].arg[1], 0x200 + i + 1);
        EXPECT_EQ(g.res.cmds[i].arg[2], 0u);
    }
    EXPECT_EQ(g.res.regs[0], 0u);
    // the last jne falls through
    EXPECT_EQ(g.cycles(), g.k.alu + 32 * iter - g.k.tk + g.k.br + g.k.fin);
}

TEST(CoreCmd, TheThirtyThirdFaults)
{
    Rig g;
    build_cmds(g.prog, CORE_MAX_CMDS + 1);
    EXPECT_EQ(g.run(1000), CORE_FAULT_CMDS);
    EXPECT_EQ(g.res.pc, 4u);
    EXPECT_EQ(g.res.ncmds, (uint32_t)CORE_MAX_CMDS);
    EXPECT_EQ(g.res.regs[1], 33u);
    EXPECT_EQ(g.res.regs[0], 0u); // from the 32nd
    const uint64_t iter = 3 * g.k.alu + g.k.cmd + g.k.tk;
    EXPECT_EQ(g.cycles(), g.k.alu + 32 * iter + 3 * g.k.alu + g.k.cmd);
    EXPECT_EQ(g.res.insns, 1u + 32 * 5 + 3);
}

// An ev_emit by an event whose chain is max_chain long faults (before it is recorded); one less
// is fine, and other commands are never limited by the chain.
TEST(CoreCmd, EvEmitBeyondTheChainLimitFaults)
{
    Rig g;
    g.cfg.max_chain = 5;
    g.prog.op(UC_CMD, 0, 0, 0, UC_CMD_LOG);     // 0
    g.prog.op(UC_CMD, 0, 0, 0, UC_CMD_EV_EMIT); // 1
    g.prog.fin();                               // 2
    g.ev.chain = 4;
    ASSERT_EQ(g.run(), CORE_OK);
    EXPECT_EQ(g.res.ncmds, 2u);
    g.ev.chain = 5;
    ASSERT_EQ(g.run(), CORE_FAULT_CHAIN);
    EXPECT_EQ(g.res.pc, 1u);
    EXPECT_EQ(g.res.ncmds, 1u);
    EXPECT_EQ(g.cycles(), 2u * g.k.cmd);
}

// The units' side of answering commands: records what it saw, answers 1000 + the command.
struct Answerer {
    std::vector<std::pair<unsigned, cycle_t>> seen;
    static uint32_t fn(void *ctx, const event *ev, core_cmd_rec *rec)
    {
        auto *a = static_cast<Answerer *>(ctx);
        a->seen.emplace_back(rec->cmd + 100 * ev->flow, rec->cycle);
        return 1000 + rec->cmd;
    }
};

TEST(CoreCmd, TheCallbackAnswersInR0AtIssue)
{
    Rig g;
    g.ev.flow = 3;
    g.prog.op(UC_CMD, 0, 0, 0, UC_CMD_SOCK_SPACE);
    g.prog.op(UC_MOV, 7, 0, 0, 0); // r7 = r0
    g.prog.op(UC_CMD, 0, 0, 0, UC_CMD_SOCK_APPEND);
    g.prog.fin();
    g.load();
    Answerer a;
    core_set_cmd(&g.c, Answerer::fn, &a);
    ASSERT_EQ(g.run(50), CORE_OK);
    EXPECT_EQ(g.res.regs[7], 1000u + UC_CMD_SOCK_SPACE);
    EXPECT_EQ(g.res.regs[0], 1000u + UC_CMD_SOCK_APPEND);
    ASSERT_EQ(a.seen.size(), 2u);
    EXPECT_EQ(a.seen[0], std::make_pair(300u + UC_CMD_SOCK_SPACE, cycle_t{50}));
    EXPECT_EQ(a.seen[1],
              std::make_pair(300u + UC_CMD_SOCK_APPEND, cycle_t{50 + g.k.cmd + g.k.alu}));
    core_set_cmd(&g.c, nullptr, nullptr); // without a callback every command answers 0
    ASSERT_EQ(g.run(50), CORE_OK);
    EXPECT_EQ(g.res.regs[7], 0u);
    EXPECT_EQ(a.seen.size(), 2u);
}

// tx_emit with r1 asking for n SACK blocks at the workspace address in r5 >> 16
void build_tx_sack(Prog &p, uint32_t nsack, uint32_t addr)
{
    p.movk(1, 1460 | nsack << UC_TXO_NSACK_SHIFT);
    p.movk(5, TCPF_ACK | addr << 16);
    p.op(UC_CMD, 0, 0, 0, UC_CMD_TX_EMIT);
    p.fin();
}

// The RoCE commands (docs/isa.md): numbered after flow_close, named as the assembler spells
// them; host_write answers at issue (r0), tx_roce is recorded with its four arguments.
TEST(CoreCmd, RoceCommandsRecordTheirArgumentsAndHostWriteAnswers)
{
    EXPECT_EQ(unsigned(UC_CMD_HOST_WRITE), 11u);
    EXPECT_EQ(unsigned(UC_CMD_TX_ROCE), 12u);
    EXPECT_EQ(unsigned(UC_CMD_TX_DATA), 13u); // the send side's commands follow
    EXPECT_EQ(unsigned(UC_CMD_COUNT), 20u);
    EXPECT_STREQ(uc_cmd_name(UC_CMD_HOST_WRITE), "host_write");
    EXPECT_STREQ(uc_cmd_name(UC_CMD_TX_ROCE), "tx_roce");
    EXPECT_EQ(uc_cmd_name(UC_CMD_COUNT), nullptr);
    Rig g;
    g.ev.flow = 2;
    g.prog.movk(1, 70);          // frame offset
    g.prog.movk(2, 1024);        // length
    g.prog.movk(3, 0xabc);       // rkey
    g.prog.movk(4, 0xfffffc00u); // VA low
    g.prog.movk(5, 7);           // VA high
    g.prog.op(UC_CMD, 0, 0, 0, UC_CMD_HOST_WRITE);
    g.prog.op(UC_MOV, 6, 0, 0, 0); // r6 = r0
    g.prog.movk(1, 0x11);
    g.prog.movk(2, 0xffffff);
    g.prog.movk(3, 0x62 | 0x123456u << 8);
    g.prog.movk(4, 0x77);
    g.prog.op(UC_CMD, 0, 0, 0, UC_CMD_TX_ROCE);
    g.prog.fin();
    g.load();
    Answerer a;
    core_set_cmd(&g.c, Answerer::fn, &a);
    ASSERT_EQ(g.run(10), CORE_OK);
    ASSERT_EQ(g.res.ncmds, 2u);
    EXPECT_EQ(g.res.cmds[0].cmd, UC_CMD_HOST_WRITE);
    const uint32_t w[5] = {70, 1024, 0xabc, 0xfffffc00u, 7};
    EXPECT_EQ(std::memcmp(g.res.cmds[0].arg, w, sizeof w), 0);
    EXPECT_EQ(g.res.cmds[0].cycle, 10u + 5 * g.k.alu);
    EXPECT_EQ(g.res.regs[6], 1000u + UC_CMD_HOST_WRITE);
    EXPECT_EQ(g.res.cmds[1].cmd, UC_CMD_TX_ROCE);
    const uint32_t t[5] = {0x11, 0xffffff, 0x12345662u, 0x77, 7};
    EXPECT_EQ(std::memcmp(g.res.cmds[1].arg, t, sizeof t), 0);
    EXPECT_EQ(g.res.cmds[1].cycle, 10u + 10 * g.k.alu + g.k.cmd);
    ASSERT_EQ(a.seen.size(), 2u); // the callback sees every command as it issues
    EXPECT_EQ(a.seen[0].first, 200u + UC_CMD_HOST_WRITE);
    EXPECT_EQ(a.seen[1].first, 200u + UC_CMD_TX_ROCE);
}

TEST(CoreCmd, TxEmitCopiesTheSackBlocksFromTheWorkspace)
{
    Rig g;
    build_tx_sack(g.prog, 2, 40);
    for (uint32_t i = 0; i < 4; i++) {
        uint32_t v = 0x1000 * (i + 1);
        std::memcpy(&g.ws[40 + 4 * i], &v, 4);
    }
    ASSERT_EQ(g.run(), CORE_OK);
    ASSERT_EQ(g.res.ncmds, 1u);
    EXPECT_EQ(g.res.cmds[0].sack[0][0], 0x1000u);
    EXPECT_EQ(g.res.cmds[0].sack[0][1], 0x2000u);
    EXPECT_EQ(g.res.cmds[0].sack[1][0], 0x3000u);
    EXPECT_EQ(g.res.cmds[0].sack[1][1], 0x4000u);
}

TEST(CoreCmd, TxEmitSackOutsideTheWorkspaceOrTooManyFaults)
{
    for (auto [n, addr] : {std::pair<uint32_t, uint32_t>{2, 56}, {5, 0}, {1, 0xfff8}}) {
        Rig g; // 64-byte workspace: 2 blocks at 56 end at 72
        build_tx_sack(g.prog, n, addr);
        EXPECT_EQ(g.run(), CORE_FAULT_WS_BOUNDS) << n << " at " << addr;
        EXPECT_EQ(g.res.pc, 2u);
        EXPECT_EQ(g.res.ncmds, 0u);
    }
    Rig g; // exactly fits: 1 block at 56
    build_tx_sack(g.prog, 1, 56);
    EXPECT_EQ(g.run(), CORE_OK);
}

// ---- fin, trap, entry ----

TEST(CoreEnd, FinReportsItsPc)
{
    Rig g;
    g.prog.op(UC_JA, 0, 0, 2);
    g.prog.fin();
    g.prog.fin();
    EXPECT_EQ(g.run(0), CORE_OK);
    EXPECT_EQ(g.res.fault, CORE_OK);
    EXPECT_EQ(g.res.pc, 2u);
    EXPECT_EQ(g.res.end, g.k.tk + g.k.fin);
    EXPECT_EQ(g.res.trap_code, 0u);
}

TEST(CoreEnd, TrapFaultsWithItsCode)
{
    Rig g;
    g.prog.movk(3, 3);
    g.prog.op(UC_TRAP, 0, 0, 0, 0xbad);
    EXPECT_EQ(g.run(), CORE_FAULT_TRAP);
    EXPECT_EQ(g.res.pc, 1u);
    EXPECT_EQ(g.res.trap_code, 0xbadu);
    EXPECT_EQ(g.res.regs[3], 3u);
    EXPECT_EQ(g.cycles(), 2u * g.k.alu); // a trap costs an ALU op
    EXPECT_EQ(g.res.insns, 1u);
}

TEST(CoreEnd, EntryPerEventType)
{
    Rig g;
    g.prog.movk(1, 1);
    g.prog.fin();
    g.prog.movk(1, 2);
    g.prog.fin();
    g.prog.entry[EV_TCP_ACK] = 0;
    g.prog.entry[EV_TCP_DATA] = 2;
    ASSERT_EQ(g.run(), CORE_OK);
    EXPECT_EQ(g.res.regs[1], 1u);
    g.ev.type = EV_TCP_DATA;
    ASSERT_EQ(g.run(), CORE_OK);
    EXPECT_EQ(g.res.regs[1], 2u);
    EXPECT_EQ(g.res.pc, 3u);
}

TEST(CoreEnd, NoEntryRunsNothing)
{
    Rig g;
    g.prog.movk(1, 1);
    g.prog.fin();
    for (uint8_t type : {(uint8_t)EV_TCP_SYN, (uint8_t)EV_TYPE_COUNT, (uint8_t)200}) {
        g.ev.type = type;
        EXPECT_EQ(g.run(77), CORE_FAULT_NO_ENTRY) << (int)type;
        EXPECT_EQ(g.res.fault, CORE_FAULT_NO_ENTRY);
        EXPECT_EQ(g.res.pc, UC_NO_ENTRY);
        EXPECT_EQ(g.res.start, 77u);
        EXPECT_EQ(g.res.end, 77u);
        EXPECT_EQ(g.res.insns, 0u);
        EXPECT_EQ(g.res.ncmds, 0u);
        EXPECT_EQ(g.res.regs[1], 0u);
    }
    EXPECT_EQ(g.c.st.events, 3u);
    EXPECT_EQ(g.c.st.faults, 3u);
    EXPECT_EQ(g.c.st.insns, 0u);
    EXPECT_EQ(g.c.st.busy_cycles, 0u);
}

// ---- the budget ----

TEST(CoreBudget, InfiniteLoopFaultsAtTheCrossingInstruction)
{
    for (uint32_t tk : {2u, 3u}) {
        Rig g;
        g.cfg.max_cycles = 1000;
        g.cfg.taken_cycles = tk;
        g.prog.op(UC_JA, 0, 0, 0); // loop: ja loop
        EXPECT_EQ(g.run(5000), CORE_FAULT_BUDGET);
        EXPECT_EQ(g.res.pc, 0u);
        EXPECT_EQ(g.res.insns, 1000u / tk); // 500 fit exactly; 333 leave 1 cycle unused
        EXPECT_EQ(g.res.end, 5000u + 1000 / tk * tk);
    }
}

TEST(CoreBudget, StopsBeforeTheInstructionThatWouldCross)
{
    Rig g;
    g.cfg.max_cycles = 5; // alu = 2: two movs fit, the third would take 6
    g.prog.movk(1, 1);
    g.prog.movk(2, 2);
    g.prog.movk(3, 3);
    g.prog.fin();
    EXPECT_EQ(g.run(0), CORE_FAULT_BUDGET);
    EXPECT_EQ(g.res.pc, 2u);
    EXPECT_EQ(g.res.regs[2], 2u);
    EXPECT_EQ(g.res.regs[3], 0u); // not executed
    EXPECT_EQ(g.res.end, 4u);
    EXPECT_EQ(g.res.insns, 2u);
}

TEST(CoreBudget, ExactlyTheBudgetIsFine)
{
    Rig g;
    g.prog.movk(1, 1);
    g.prog.fin();
    g.cfg.max_cycles = g.k.alu + g.k.fin;
    EXPECT_EQ(g.run(0), CORE_OK);
    g.cfg.max_cycles = g.k.alu + g.k.fin - 1;
    g.load();
    EXPECT_EQ(g.run(0), CORE_FAULT_BUDGET);
    EXPECT_EQ(g.res.pc, 1u);
    EXPECT_EQ(g.res.end, g.k.alu);
}

TEST(CoreBudget, BudgetFaultOnAStoreWritesNothing)
{
    Rig g;
    g.cfg.max_cycles = g.k.alu + g.k.ws - 1;
    g.prog.movk(1, 0xffffffff);
    g.prog.op(UC_STW | UC_ABS, 0, 1, 0);
    g.prog.fin();
    EXPECT_EQ(g.run(0), CORE_FAULT_BUDGET);
    EXPECT_EQ(g.res.pc, 1u);
    EXPECT_EQ(g.ws, std::vector<uint8_t>(64, 0));
    EXPECT_EQ(g.c.st.stall_ws, 0u);
}

TEST(CoreBudget, DefaultBudgetEndsACountingLoop)
{
    Rig g;
    g.cfg = core_cfg{};
    core_cfg_default(&g.cfg);
    g.prog.op(UC_ADD | UC_K, 1, 0, 0, 1); // loop: add r1, 1
    g.prog.op(UC_JA, 0, 0, 0);            // ja loop
    EXPECT_EQ(g.run(0), CORE_FAULT_BUDGET);
    // 3 cycles per iteration: 33333 iterations take 99999, the next add fits, its ja not
    EXPECT_EQ(g.res.regs[1], 33334u);
    EXPECT_EQ(g.res.pc, 1u);
    EXPECT_EQ(g.res.end, 100000u);
}

// ---- the trace ----

TEST(CoreTrace, OneRecordPerRetiredInstruction)
{
    Rig g;
    g.prog.movk(1, 4);                      // 0
    g.prog.op(UC_STW | UC_ABS, 0, 1, 8);    // 1
    g.prog.op(UC_JEQ | UC_K, 1, 0, 5, 4);   // 2: taken
    g.prog.op(UC_TRAP);                     // 3
    g.prog.op(UC_TRAP);                     // 4
    g.prog.op(UC_LDW | UC_ABS, 2, 0, 8);    // 5
    g.prog.op(UC_CMD, 0, 0, 0, UC_CMD_LOG); // 6
    g.prog.op(UC_JNE | UC_K, 2, 0, 3, 4);   // 7: not taken
    g.prog.fin();                           // 8
    g.load();
    g.tracing();
    ASSERT_EQ(g.run(100), CORE_OK);
    const Costs k;
    struct {
        cycle_t cycle;
        uint32_t pc;
        int wreg;
        uint32_t wval;
    } want[] = {
        {100, 0, 1, 4},
        {100 + k.alu, 1, -1, 0},
        {100 + k.alu + k.ws, 2, -1, 0},
        {100 + k.alu + k.ws + k.tk, 5, 2, 4},
        {100 + k.alu + 2 * k.ws + k.tk, 6, 0, 0},
        {100 + k.alu + 2 * k.ws + k.tk + k.cmd, 7, -1, 0},
        {100 + k.alu + 2 * k.ws + k.tk + k.cmd + k.br, 8, -1, 0},
    };
    ASSERT_EQ(g.trace.size(), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < g.trace.size(); i++) {
        EXPECT_EQ(g.trace[i].cycle, want[i].cycle) << i;
        EXPECT_EQ(g.trace[i].pc, want[i].pc) << i;
        EXPECT_EQ(g.trace[i].word, g.prog.code[want[i].pc]) << i;
        EXPECT_EQ(g.trace[i].wreg, want[i].wreg) << i;
        EXPECT_EQ(g.trace[i].wval, want[i].wval) << i;
    }
    EXPECT_EQ(g.res.end, 100u + k.alu + 2 * k.ws + k.tk + k.cmd + k.br + k.fin);
    EXPECT_EQ(g.res.insns, g.trace.size());
    EXPECT_EQ(g.res.cmds[0].cycle, want[4].cycle);
}

TEST(CoreTrace, TheFaultingInstructionIsNotTraced)
{
    Rig g;
    g.prog.movk(1, 1);
    g.prog.op(UC_TRAP, 0, 0, 0, 9);
    g.load();
    g.tracing();
    EXPECT_EQ(g.run(0), CORE_FAULT_TRAP);
    ASSERT_EQ(g.trace.size(), 1u);
    EXPECT_EQ(g.trace[0].pc, 0u);
}

TEST(CoreTrace, SwitchingOffStopsTheRecords)
{
    Rig g;
    g.prog.movk(1, 1);
    g.prog.fin();
    g.load();
    g.tracing();
    ASSERT_EQ(g.run(0), CORE_OK);
    EXPECT_EQ(g.trace.size(), 2u);
    core_set_trace(&g.c, nullptr, nullptr);
    ASSERT_EQ(g.run(0), CORE_OK);
    EXPECT_EQ(g.trace.size(), 2u);
}

TEST(CoreTrace, TracedAndUntracedRunsAgree)
{
    Rig a, b;
    for (Rig *g : {&a, &b}) {
        build_recursion(g->prog, 6);
        g->prog.code.pop_back(); // keep the ret last
        g->prog.op(UC_STW | UC_ABS, 0, 2, 0);
        g->prog.op(UC_RET);
        g->load();
    }
    b.tracing();
    ASSERT_EQ(a.run(3), CORE_OK);
    ASSERT_EQ(b.run(3), CORE_OK);
    EXPECT_EQ(a.res.end, b.res.end);
    EXPECT_EQ(a.res.insns, b.res.insns);
    EXPECT_EQ(std::memcmp(a.res.regs, b.res.regs, sizeof a.res.regs), 0);
    EXPECT_EQ(a.ws, b.ws);
    EXPECT_EQ(b.trace.size(), b.res.insns);
    EXPECT_EQ(std::memcmp(&a.c.st, &b.c.st, sizeof a.c.st), 0);
}

// ---- statistics ----

TEST(CoreStats, AccumulateAcrossEvents)
{
    Rig g;
    g.prog.op(UC_LDW | UC_ABS, 1, 0, 0);  // 0: ACK handler
    g.prog.op(UC_STW | UC_ABS, 0, 1, 4);  // 1
    g.prog.fin();                         // 2
    g.prog.op(UC_LDB | UC_ABS, 1, 0, 99); // 3: DATA handler, faults
    g.prog.fin();                         // 4
    g.prog.entry[EV_TCP_DATA] = 3;
    ASSERT_EQ(g.run(), CORE_OK);
    ASSERT_EQ(g.run(), CORE_OK);
    g.ev.type = EV_TCP_DATA;
    EXPECT_EQ(g.run(), CORE_FAULT_WS_BOUNDS);
    g.ev.type = EV_TCP_FIN;
    EXPECT_EQ(g.run(), CORE_FAULT_NO_ENTRY);
    const core_stats &s = g.c.st;
    EXPECT_EQ(s.events, 4u);
    EXPECT_EQ(s.insns, 6u);
    EXPECT_EQ(s.busy_cycles, 2 * (2 * g.k.ws + g.k.fin) + g.k.ws);
    EXPECT_EQ(s.stall_ws, 5 * (g.k.ws - 1));
    EXPECT_EQ(s.stall_sp, 0u);
    EXPECT_EQ(s.faults, 2u);
    EXPECT_EQ(stat_read(&core_stat_defs[1], &s), 6u);
}

TEST(CoreStats, FreeMemoryStallsNothing)
{
    Rig g;
    g.cfg.ws_cycles = 0;
    g.prog.op(UC_LDW | UC_ABS, 1, 0, 0);
    g.prog.fin();
    ASSERT_EQ(g.run(0), CORE_OK);
    EXPECT_EQ(g.res.end, g.k.fin);
    EXPECT_EQ(g.c.st.stall_ws, 0u);
}

// ---- the load-time check ----

TEST(CoreCheck, AcceptsAWellFormedImage)
{
    Prog p;
    p.op(UC_LDW | UC_ABS, 1, 0, 0);
    p.op(UC_STW | UC_K | UC_ABS, 0, 0, 4, 1);
    p.op(UC_JSEQLT | UC_K, 1, 0, 0, 5);
    p.op(UC_LDEV, 2, 0, 0, UC_EVF_AF);
    p.op(UC_CMD, 0, 0, 0, UC_CMD_LOG);
    p.op(UC_RET);
    EXPECT_EQ(init_error(p), "");
}

TEST(CoreCheck, PreDecodes)
{
    Rig g;
    g.prog.op(UC_STH | UC_K | UC_ABS, 3, 4, 0x1234, 0xdeadbeef);
    g.prog.op(UC_LDEV, 7, 0, 0, UC_EVF_SEQ);
    g.prog.op(UC_CMD, 0, 0, 0, UC_CMD_LOG);
    g.prog.op(UC_JSEQLT | UC_K, 1, 0, 0, 9);
    g.prog.op(UC_MUL, 1, 2);
    g.prog.fin();
    g.load();
    ASSERT_EQ(g.c.ncode, 6u);
    const core_insn &i = g.c.code[0];
    EXPECT_EQ(i.xop, UC_STH | UC_K | UC_ABS); // the encoded byte: one handler per form
    EXPECT_EQ(i.op, UC_STH);
    EXPECT_EQ(i.dst, 3);
    EXPECT_EQ(i.src, 4);
    EXPECT_EQ(i.off, 0x1234);
    EXPECT_EQ(i.imm, 0xdeadbeefu);
    EXPECT_EQ(i.wreg, -1);
    EXPECT_EQ(i.cost, g.k.ws); // each instruction carries its class's cost from the cfg
    // ldev: the handler reads the field at off with the width its xop says
    EXPECT_EQ(g.c.code[1].op, UC_LDEV);
    EXPECT_NE(g.c.code[1].xop, UC_LDEV);
    EXPECT_EQ(g.c.code[1].off, offsetof(event, seq));
    EXPECT_EQ(g.c.code[1].imm, (uint32_t)UC_EVF_SEQ);
    EXPECT_EQ(g.c.code[1].wreg, 7);
    EXPECT_EQ(g.c.code[1].cost, g.k.ev);
    EXPECT_EQ(g.c.code[2].wreg, 0);
    EXPECT_EQ(g.c.code[2].cost, g.k.cmd);
    EXPECT_EQ(g.c.code[3].cost, g.k.br);
    EXPECT_EQ(g.c.code[3].tcost, g.k.tk);
    EXPECT_EQ(g.c.code[4].cost, g.k.mul);
    EXPECT_EQ(g.c.code[5].wreg, -1);
    EXPECT_EQ(g.c.code[5].cost, g.k.fin);
}

// Every field ldev reads, through its pre-decoded handler (one per field width), traced and
// untraced, against the descriptor's own accessor.
TEST(CoreCheck, LdevOfEveryFieldReadsTheDescriptor)
{
    for (unsigned f = 0; f < UC_EVF_COUNT; f++) {
        if (f == UC_EVF_NOW_US)
            continue;
        Rig g;
        g.prog.op(UC_LDEV, 1, 0, 0, f);
        g.prog.fin();
        // distinct bytes everywhere, so that a field read at a wrong offset or width shows
        uint8_t *b = reinterpret_cast<uint8_t *>(&g.ev);
        for (size_t i = 0; i < sizeof g.ev; i++)
            b[i] = (uint8_t)(i * 7 + 3);
        g.ev.type = EV_TCP_ACK;
        g.ev.proto = 0;
        g.ev.va = 0x1122334455667788ull;
        uint32_t want = core_event_field(&g.ev, f);
        ASSERT_EQ(g.run(), CORE_OK) << uc_evf_name(f);
        EXPECT_EQ(g.res.regs[1], want) << uc_evf_name(f);
        g.tracing();
        ASSERT_EQ(g.run(), CORE_OK) << uc_evf_name(f);
        ASSERT_EQ(g.trace.size(), 2u);
        EXPECT_EQ(g.trace[0].wval, want) << uc_evf_name(f);
        EXPECT_EQ(g.res.regs[1], want) << uc_evf_name(f);
    }
    event e;
    event_clear(&e);
    e.va = 0x1122334455667788ull;
    EXPECT_EQ(core_event_field(&e, UC_EVF_VA_LO), 0x55667788u);
    EXPECT_EQ(core_event_field(&e, UC_EVF_VA_HI), 0x11223344u);
}

struct BadCase {
    const char *what;
    std::vector<uint64_t> code;
    std::string msg;
};

TEST(CoreCheck, RejectsEachKindOfBadImageWithItsLocation)
{
    const uint64_t fin = W(UC_FIN);
    const std::vector<BadCase> cases = {
        {"opcode", {W(UC_NOP), W(0x3f), fin}, "t.uc:2: invalid opcode 0x3f"},
        {"opcode count", {W(UC_OP_COUNT), fin}, "t.uc:1: invalid opcode 0x30"},
        {"opcode with flags", {W(0xff), fin}, "t.uc:1: invalid opcode 0x3f"},
        {"K on neg",
         {W(UC_NEG | UC_K, 1, 0, 0, 1), fin},
         "t.uc:1: neg takes no immediate source operand"},
        {"K on ja",
         {W(UC_JA | UC_K, 0, 0, 1), fin},
         "t.uc:1: ja takes no immediate source operand"},
        {"K on load",
         {W(UC_LDW | UC_K, 1, 2), fin},
         "t.uc:1: ldw takes no immediate source operand"},
        {"K on frame load",
         {W(UC_LDPB | UC_K, 1, 2), fin},
         "t.uc:1: ldpb takes no immediate source operand"},
        {"K on ldev",
         {W(UC_LDEV | UC_K, 1, 0, 0, 1), fin},
         "t.uc:1: ldev takes no immediate source operand"},
        {"K on cmd", {W(UC_CMD | UC_K), fin}, "t.uc:1: cmd takes no immediate source operand"},
        {"K on fin", {W(UC_FIN | UC_K)}, "t.uc:1: fin takes no immediate source operand"},
        {"ABS on add", {W(UC_ADD | UC_ABS, 1, 2), fin}, "t.uc:1: add takes no absolute address"},
        {"ABS on branch",
         {W(UC_JEQ | UC_ABS, 1, 2, 1), fin},
         "t.uc:1: jeq takes no absolute address"},
        {"ABS on ldev", {W(UC_LDEV | UC_ABS), fin}, "t.uc:1: ldev takes no absolute address"},
        {"branch target",
         {W(UC_NOP), W(UC_JEQ, 1, 2, 3), fin},
         "t.uc:2: jeq target 3 is outside the code (3 instructions)"},
        {"ja target",
         {W(UC_JA, 0, 0, 0xffff)},
         "t.uc:1: ja target 65535 is outside the code (1 instructions)"},
        {"call target",
         {W(UC_CALL, 0, 0, 2), fin},
         "t.uc:1: call target 2 is outside the code (2 instructions)"},
        {"ldev field", {W(UC_LDEV, 1, 0, 0, UC_EVF_COUNT), fin}, "t.uc:1: ldev: no event field 44"},
        {"cmd", {W(UC_CMD, 0, 0, 0, UC_CMD_COUNT), fin}, "t.uc:1: cmd: no command 20"},
        {"falls off",
         {W(UC_NOP), W(UC_ADD, 1, 2)},
         "t.uc:2: add can run past the end of the code (end with ja, ret, fin or trap)"},
        {"branch last",
         {W(UC_JEQ, 1, 2, 0)},
         "t.uc:1: jeq can run past the end of the code (end with ja, ret, fin or trap)"},
        {"call last",
         {W(UC_CALL, 0, 0, 0)},
         "t.uc:1: call can run past the end of the code (end with ja, ret, fin or trap)"},
        {"empty", {}, "t.uc: no instructions"},
    };
    for (const auto &t : cases) {
        Prog p;
        for (uint64_t w : t.code)
            p.add(w);
        EXPECT_EQ(init_error(p), t.msg) << t.what;
    }
    for (uint64_t last : {W(UC_JA, 0, 0, 0), W(UC_RET), W(UC_FIN), W(UC_TRAP)}) {
        Prog p;
        p.add(last);
        EXPECT_EQ(init_error(p), "") << std::hex << last;
    }
}

TEST(CoreCheck, UsesTheSourceMap)
{
    Prog p;
    p.fnames.push_back("tcp/inc.uc");
    p.add(W(UC_NOP), 10, 0);
    p.add(W(UC_LDEV, 1, 0, 0, 99), 42, 1);
    p.add(W(UC_FIN), 11, 0);
    EXPECT_EQ(init_error(p), "tcp/inc.uc:42: ldev: no event field 99");
    p.source_map = false;
    EXPECT_EQ(init_error(p), "pc 1: ldev: no event field 99");
    p.source_map = true;
    p.file[1] = 7; // no such file: the map cannot name it
    EXPECT_EQ(init_error(p), "pc 1: ldev: no event field 99");
}

TEST(CoreCheck, RejectsAnEntryOutsideTheCode)
{
    Prog p;
    p.fin();
    p.entry[EV_TCP_SYN] = 0;
    p.entry[EV_TCP_FIN] = 1;
    EXPECT_EQ(init_error(p),
              "t.uc: the entry for tcp_fin is pc 1, outside the code (1 instructions)");
    p.source_map = false;
    EXPECT_EQ(init_error(p),
              "image: the entry for tcp_fin is pc 1, outside the code (1 instructions)");
}

TEST(CoreCheck, EmptyImageWithoutAMap)
{
    Prog p;
    p.source_map = false;
    EXPECT_EQ(init_error(p), "image: no instructions");
}

TEST(CoreCheck, FailedInitLeavesAnEmptyCore)
{
    Prog p;
    p.add(W(0x3f));
    p.fin();
    core_cfg cfg;
    core_cfg_default(&cfg);
    core c;
    sim_err err;
    ASSERT_EQ(core_init(&c, &cfg, p.image(), &err), -1);
    EXPECT_EQ(c.code, nullptr);
    EXPECT_EQ(c.ncode, 0u);
    core_fini(&c);
    core_fini(&c);
}

// core_share: a second core runs the first one's pre-decoded images (the same code, not a
// copy), with the same costs and results, keeps its own counters and callbacks, frees none of
// the shared code, and follows an image added to the first when shared again.
TEST(CoreShare, RunsTheSourcesImagesWithoutOwningThem)
{
    Prog tcp; // r1 = 5; r2 = r1 + 7; fin
    tcp.movk(1, 5);
    tcp.op(UC_MOV, 2, 1);
    tcp.op(UC_ADD | UC_K, 2, 0, 0, 7);
    tcp.fin();
    Prog roce; // r3 = 9; fin
    roce.movk(3, 9);
    roce.fin();
    core_cfg cfg = odd_cfg();
    core src, dst{};
    sim_err err;
    ASSERT_EQ(core_init(&src, &cfg, tcp.image(), &err), 0) << err.msg;
    core_share(&dst, &src);
    EXPECT_EQ(dst.code, src.code); // shared, not decoded again
    EXPECT_FALSE(dst.base.owned);
    EXPECT_TRUE(src.base.owned);
    EXPECT_EQ(dst.cfg.fin_cycles, cfg.fin_cycles);

    event ev;
    event_clear(&ev);
    ev.type = EV_TCP_ACK;
    uint8_t ws[8] = {};
    core_result a{}, b{};
    ASSERT_EQ(core_run(&src, &ev, ws, sizeof ws, nullptr, 100, &a), CORE_OK);
    ASSERT_EQ(core_run(&dst, &ev, ws, sizeof ws, nullptr, 100, &b), CORE_OK);
    Costs k;
    EXPECT_EQ(b.end, 100u + 3 * k.alu + k.fin);
    EXPECT_EQ(b.end, a.end);
    EXPECT_EQ(b.regs[2], 12u);
    EXPECT_EQ(b.insns, 4u);
    EXPECT_EQ(dst.st.events, 1u); // each core counts its own
    EXPECT_EQ(src.st.events, 1u);

    // a RoCE image added to the source reaches the sharer when it shares again
    ev.proto = PROTO_ROCE;
    ASSERT_EQ(core_add_image(&src, PROTO_ROCE, roce.image(), &err), 0) << err.msg;
    ASSERT_EQ(core_run(&dst, &ev, ws, sizeof ws, nullptr, 0, &b), CORE_OK);
    EXPECT_EQ(b.regs[3], 0u); // not yet: the TCP image ran
    EXPECT_EQ(b.regs[2], 12u);
    core_share(&dst, &src);
    EXPECT_EQ(dst.st.events, 2u); // counters kept
    ASSERT_EQ(core_run(&dst, &ev, ws, sizeof ws, nullptr, 0, &b), CORE_OK);
    EXPECT_EQ(b.regs[3], 9u);
    EXPECT_EQ(b.end, static_cast<cycle_t>(k.alu + k.fin));
    EXPECT_EQ(dst.by_proto[PROTO_ROCE].code, src.by_proto[PROTO_ROCE].code);

    core_fini(
        &dst); // frees nothing of src's: src still runs (valgrind/ASan would see a double free)
    ev.proto = PROTO_TCP;
    ASSERT_EQ(core_run(&src, &ev, ws, sizeof ws, nullptr, 0, &a), CORE_OK);
    EXPECT_EQ(a.regs[2], 12u);
    core_fini(&src);
}

} // namespace

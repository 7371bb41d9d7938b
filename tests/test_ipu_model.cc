// Tests of the IPU's timed model (models/ipu/ipu.c) driven with a real scratchpad and a fake
// consumer: exact finishing cycles, serialisation, back-pressure from the out-queue and the
// scratchpad, oversize frames, reference counts, the SPEC §7 invariant, parameters.
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "frame_builder.h"
#include "ipu.h"

namespace {

struct Rig {
    scratchpad sp;
    ipu u;

    explicit Rig(const ipu_cfg *c = nullptr, uint32_t sp_capacity = 1u << 20, uint32_t cell = 64)
    {
        sp_cfg sc;
        sp_cfg_default(&sc);
        sc.capacity = sp_capacity;
        sc.cell = cell;
        sim_err err;
        if (sp_init(&sp, &sc, &err))
            throw std::runtime_error(err.msg);
        ipu_cfg ic;
        ipu_cfg_default(&ic);
        if (ipu_init(&u, c ? c : &ic, &sp, &err))
            throw std::runtime_error(err.msg);
    }
    ~Rig()
    {
        ipu_fini(&u);
        sp_fini(&sp);
    }
    Rig(const Rig &) = delete;
    Rig &operator=(const Rig &) = delete;

    void push(const fb::Frame &f, cycle_t now, uint64_t index = 0)
    {
        ASSERT_TRUE(ipu_can_accept(&u));
        pkt p = f.as_pkt(index, now * 1000);
        ipu_push(&u, &p, now);
    }
    std::vector<event> pop_all(bool release = true)
    {
        std::vector<event> v;
        while (const event *f = ipu_front_out(&u)) {
            const event e = *f;
            v.push_back(e);
            ipu_pop_out(&u);
            if (release && e.sp_handle != SP_NONE)
                sp_release(&sp, e.sp_handle);
        }
        return v;
    }
};

struct Timed {
    cycle_t t;
    event e;
};

// Runs the IPU as the SystemC wrapper does, from `now` until it has nothing left to do:
// advance at next_cycle, drain the out-queue (releasing scratchpad handles), advance again.
std::vector<Timed> run(Rig &r, cycle_t now)
{
    std::vector<Timed> out;
    for (int guard = 0; guard < 1000000; guard++) {
        unsigned work = ipu_advance(&r.u, now);
        std::vector<event> ev = r.pop_all();
        for (auto &e : ev)
            out.push_back({now, e});
        if (work || !ev.empty())
            continue; // popping may have unblocked the engine: same cycle again
        cycle_t next = ipu_next_cycle(&r.u);
        if (next == CYCLE_NEVER)
            break;
        EXPECT_GT(next, now) << "next_cycle names a cycle at which advance did nothing";
        now = next;
    }
    return out;
}

fb::Frame tcp_frame(size_t total_len, uint8_t flags = TCPF_ACK | TCPF_PSH)
{
    // Ethernet + IPv4 + TCP = 54 bytes of headers
    fb::Spec s = fb::tcp4(flags, total_len - 54);
    fb::Frame f = fb::build(s);
    EXPECT_EQ(f.bytes.size(), total_len);
    return f;
}

ipu_cfg cfg_with(uint32_t cpm, uint32_t mcpb)
{
    ipu_cfg c;
    ipu_cfg_default(&c);
    c.cycles_per_msg = cpm;
    c.millicycles_per_byte = mcpb;
    return c;
}

uint64_t sum(const uint64_t *a, size_t n) { return std::accumulate(a, a + n, uint64_t(0)); }

} // namespace

// ---------------------------------------------------------------- parameters and tables

TEST(IpuModel, Defaults)
{
    ipu_cfg c;
    memset(&c, 0xff, sizeof c);
    ipu_cfg_default(&c);
    EXPECT_EQ(c.clock_mhz, 1000u);
    EXPECT_EQ(c.in_depth, 4u);
    EXPECT_EQ(c.out_depth, 16u);
    EXPECT_EQ(c.cycles_per_msg, 20u);
    EXPECT_EQ(c.millicycles_per_byte, 16u);
    EXPECT_EQ(c.verify_checksums, 1u);
    sim_err err;
    EXPECT_EQ(param_validate(&ipu_params, &c, &err), 0);
}

TEST(IpuModel, ParamTable)
{
    EXPECT_STREQ(ipu_params.unit, "ipu");
    const char *order[] = {
        "clock_mhz",        "in_depth",   "out_depth", "cycles_per_msg", "millicycles_per_byte",
        "verify_checksums", "verify_icrc"};
    const char *units[] = {"MHz", "frames", "events", "cycles", "1/1000 cycle", "", ""};
    ASSERT_EQ(ipu_params.n, 7u);
    for (size_t i = 0; i < 7; i++) {
        EXPECT_STREQ(ipu_params.defs[i].name, order[i]);
        EXPECT_STREQ(ipu_params.defs[i].unit, units[i]);
        ASSERT_NE(ipu_params.defs[i].doc, nullptr);
        EXPECT_GT(strlen(ipu_params.defs[i].doc), 10u);
        EXPECT_EQ(strchr(ipu_params.defs[i].doc, '\n'), nullptr);
    }
    EXPECT_EQ(ipu_params.defs[2].min, uint64_t(IPU_MAX_EVENTS));
    EXPECT_EQ(ipu_params.defs[2].max, 65536u);
    EXPECT_EQ(ipu_params.defs[5].kind, PARAM_BOOL);
    EXPECT_EQ(ipu_params.defs[6].kind, PARAM_BOOL);
    EXPECT_EQ(ipu_params.defs[6].def, 1u);
}

TEST(IpuModel, ParamErrors)
{
    ipu_cfg c;
    ipu_cfg_default(&c);
    ipu_cfg before = c;
    sim_err err;
    struct C {
        const char *key, *value, *msg;
    } cases[] = {
        {"foo", "1", "ipu: unknown parameter 'foo'"},
        {"cycles_per_msg", "1000001", "ipu.cycles_per_msg: 1000001 is out of range [0, 1000000]"},
        {"clock_mhz", "0", "ipu.clock_mhz: 0 is out of range [1, 100000]"},
        {"in_depth", "4097", "ipu.in_depth: 4097 is out of range [1, 4096]"},
        {"out_depth", "2", "ipu.out_depth: 2 is out of range [3, 65536]"},
        {"in_depth", "abc", "ipu.in_depth: 'abc' is not a non-negative integer"},
        {"millicycles_per_byte", "-1",
         "ipu.millicycles_per_byte: '-1' is not a non-negative integer"},
        {"millicycles_per_byte", "1.5",
         "ipu.millicycles_per_byte: '1.5' is not a non-negative integer"},
        {"verify_checksums", "maybe",
         "ipu.verify_checksums: 'maybe' is not a boolean (true or false)"},
    };
    for (auto &k : cases) {
        memset(err.msg, 0, sizeof err.msg);
        EXPECT_EQ(param_set(&ipu_params, &c, k.key, k.value, &err), -1) << k.key;
        EXPECT_STREQ(err.msg, k.msg);
        EXPECT_EQ(memcmp(&c, &before, sizeof c), 0) << "cfg changed by a refused " << k.key;
    }
    EXPECT_EQ(param_set(&ipu_params, &c, "millicycles_per_byte", "0x20", &err), 0);
    EXPECT_EQ(c.millicycles_per_byte, 32u);
    EXPECT_EQ(param_set(&ipu_params, &c, "verify_checksums", "off", &err), 0);
    EXPECT_EQ(c.verify_checksums, 0u);
    EXPECT_EQ(param_set(&ipu_params, &c, "out_depth", "3", &err), 0);
    EXPECT_EQ(c.out_depth, 3u);
}

TEST(IpuModel, InitRejectsBadCfg)
{
    scratchpad sp;
    sp_cfg sc;
    sp_cfg_default(&sc);
    sim_err err;
    ASSERT_EQ(sp_init(&sp, &sc, &err), 0);
    ipu u;
    ipu_cfg c;
    ipu_cfg_default(&c);
    c.in_depth = 0;
    EXPECT_EQ(ipu_init(&u, &c, &sp, &err), -1);
    EXPECT_STREQ(err.msg, "ipu.in_depth: 0 is out of range [1, 4096]");
    ipu_fini(&u); // safe after a failed init
    ipu_cfg_default(&c);
    c.verify_checksums = 2;
    EXPECT_EQ(ipu_init(&u, &c, &sp, &err), -1);
    EXPECT_STREQ(err.msg, "ipu.verify_checksums: 2 is not a boolean");
    ipu_cfg_default(&c);
    EXPECT_EQ(ipu_init(&u, &c, nullptr, &err), -1);
    EXPECT_STREQ(err.msg, "ipu: no scratchpad");
    EXPECT_EQ(ipu_init(&u, &c, &sp, &err), 0);
    ipu_fini(&u);
    sp_fini(&sp);
}

TEST(IpuModel, StatTable)
{
    const char *names[] = {"frames",         "processed",   "bytes",
                           "events",         "busy_cycles", "stall_scratchpad_full",
                           "stall_out_full", "tso_frames",  "roce_other"};
    ASSERT_EQ(ipu_stat_count, 9u);
    ipu_stats st;
    memset(&st, 0, sizeof st);
    st.frames = 1, st.processed = 2, st.bytes = 3, st.events = 4, st.busy_cycles = 5;
    st.stall_scratchpad_full = 6, st.stall_out_full = 7, st.tso_frames = 8, st.roce_other = 9;
    for (size_t i = 0; i < 9; i++) {
        EXPECT_STREQ(ipu_stat_defs[i].name, names[i]);
        EXPECT_GT(strlen(ipu_stat_defs[i].desc), 10u);
        EXPECT_EQ(stat_read(&ipu_stat_defs[i], &st), i + 1);
    }
}

// ---------------------------------------------------------------- timing

struct CostCase {
    size_t len;
    uint32_t cpm, mcpb;
    cycle_t cost;
};

class IpuCost : public ::testing::TestWithParam<CostCase> {};

TEST_P(IpuCost, FrameFinishesExactlyAtCost)
{
    const CostCase &k = GetParam();
    ipu_cfg c = cfg_with(k.cpm, k.mcpb);
    Rig r(&c);
    const cycle_t t0 = 1000;
    EXPECT_EQ(ipu_next_cycle(&r.u), CYCLE_NEVER);
    EXPECT_TRUE(ipu_idle(&r.u));
    r.push(tcp_frame(k.len), t0, 9);
    EXPECT_FALSE(ipu_idle(&r.u));
    EXPECT_EQ(ipu_next_cycle(&r.u), t0);
    if (k.cost == 0) {
        EXPECT_EQ(ipu_advance(&r.u, t0), 2u); // started and finished in the same cycle
    } else {
        EXPECT_EQ(ipu_advance(&r.u, t0), 1u); // started
        EXPECT_EQ(ipu_next_cycle(&r.u), t0 + k.cost);
        EXPECT_EQ(ipu_advance(&r.u, t0 + k.cost - 1), 0u);
        EXPECT_TRUE(r.pop_all().empty());
        EXPECT_EQ(ipu_advance(&r.u, t0 + k.cost), 1u); // finished
    }
    std::vector<event> ev = r.pop_all();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].type, EV_TCP_DATA);
    EXPECT_EQ(ev[0].pkt, 9u);
    EXPECT_EQ(ev[0].t_arrival, t0 * 1000);
    EXPECT_EQ(ev[0].frame_len, k.len);
    EXPECT_EQ(ipu_next_cycle(&r.u), CYCLE_NEVER);
    EXPECT_TRUE(ipu_idle(&r.u));
    EXPECT_EQ(r.u.st.busy_cycles, k.cost);
    EXPECT_EQ(r.u.st.frames, 1u);
    EXPECT_EQ(r.u.st.bytes, k.len);
    EXPECT_TRUE(sp_empty(&r.sp));
}

INSTANTIATE_TEST_SUITE_P(Costs, IpuCost,
                         ::testing::Values(CostCase{100, 20, 16, 22},     // 1.6 -> 2
                                           CostCase{1000, 20, 16, 36},    // exactly 16
                                           CostCase{1001, 20, 16, 37},    // 16.016 -> 17
                                           CostCase{60, 5, 0, 5},         // no per-byte cost
                                           CostCase{64, 0, 1000, 64},     // one cycle a byte
                                           CostCase{55, 0, 1, 1},         // 0.055 -> 1
                                           CostCase{1500, 7, 2500, 3757}, // 3750 + 7
                                           CostCase{60, 0, 0, 0}));       // free: same cycle

TEST(IpuModel, DroppedFramesTakeTheirCostAndEmitNothing)
{
    Rig r; // 20 + 16/1000 per byte
    fb::Frame bad = fb::build(fb::tcp4(TCPF_ACK, 100));
    bad.bytes[14] = 0x44; // IHL 4
    r.push(bad, 0);
    r.push(tcp_frame(100), 0);
    std::vector<Timed> out = run(r, 0);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].t, 23u + 22u); // the malformed 154-byte frame costs 20 + ceil(2.464)
    EXPECT_EQ(r.u.st.drops[DROP_MALFORMED], 1u);
    EXPECT_EQ(r.u.st.checks[IPU_CK_IPV4_IHL], 1u);
    EXPECT_EQ(r.u.st.busy_cycles, 23u + 22u);
    EXPECT_EQ(r.sp.st.allocs, 1u); // nothing stored for the dropped frame
}

TEST(IpuModel, BackToBackFramesSerialise)
{
    Rig r; // cost of a 100-byte frame: 22
    r.push(tcp_frame(100), 0, 0);
    r.push(tcp_frame(100), 0, 1);
    r.push(tcp_frame(100), 0, 2);
    std::vector<Timed> out = run(r, 0);
    ASSERT_EQ(out.size(), 3u);
    for (unsigned i = 0; i < 3; i++) {
        EXPECT_EQ(out[i].t, 22u * (i + 1));
        EXPECT_EQ(out[i].e.pkt, i);
    }
    EXPECT_EQ(r.u.st.busy_cycles, 66u);
    // an arrival while the engine is busy starts when the engine frees
    r.push(tcp_frame(100), 1000, 3);
    ASSERT_EQ(ipu_advance(&r.u, 1000), 1u);
    r.push(tcp_frame(1000), 1010, 4); // cost 36
    EXPECT_EQ(ipu_next_cycle(&r.u), 1022u);
    EXPECT_EQ(ipu_advance(&r.u, 1010), 0u);
    out = run(r, 1022);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].t, 1022u);
    EXPECT_EQ(out[1].t, 1022u + 36u);
    // an idle IPU starts a frame at the cycle it is pushed
    r.push(tcp_frame(100), 5000, 5);
    out = run(r, 5000);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].t, 5022u);
}

TEST(IpuModel, AdvanceCountsStartsAndFinishes)
{
    ipu_cfg c = cfg_with(10, 0);
    Rig r(&c);
    r.push(tcp_frame(100), 0);
    r.push(tcp_frame(100), 0);
    EXPECT_EQ(ipu_advance(&r.u, 0), 1u);  // start 1
    EXPECT_EQ(ipu_advance(&r.u, 0), 0u);  // nothing more due
    EXPECT_EQ(ipu_advance(&r.u, 10), 2u); // finish 1, start 2
    EXPECT_EQ(ipu_advance(&r.u, 25), 1u); // finish 2 (late call: still finishes)
    EXPECT_EQ(r.pop_all().size(), 2u);
}

TEST(IpuModel, InputQueueBounded)
{
    ipu_cfg c = cfg_with(10, 0);
    c.in_depth = 2;
    Rig r(&c);
    r.push(tcp_frame(100), 0);
    r.push(tcp_frame(100), 0);
    EXPECT_FALSE(ipu_can_accept(&r.u));
    EXPECT_EQ(ipu_advance(&r.u, 0), 1u); // the engine takes one: a slot frees
    EXPECT_TRUE(ipu_can_accept(&r.u));
    r.push(tcp_frame(100), 0);
    EXPECT_FALSE(ipu_can_accept(&r.u));
    std::vector<Timed> out = run(r, 10);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[2].t, 30u);
}

TEST(IpuModel, PushCopiesTheFrame)
{
    Rig r;
    fb::Frame f = tcp_frame(200);
    const std::vector<uint8_t> orig = f.bytes;
    r.push(f, 0);
    std::fill(f.bytes.begin(), f.bytes.end(), 0); // the caller's buffer is only borrowed
    ipu_advance(&r.u, 0);
    ipu_advance(&r.u, ipu_next_cycle(&r.u));
    std::vector<event> ev = r.pop_all(false);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].type, EV_TCP_DATA);
    EXPECT_EQ(sp_len(&r.sp, ev[0].sp_handle), 200u);
    std::vector<uint8_t> stored(200);
    ASSERT_EQ(sp_read(&r.sp, ev[0].sp_handle, 0, stored.data(), 200), 0);
    EXPECT_EQ(stored, orig);
    sp_release(&r.sp, ev[0].sp_handle);
    EXPECT_TRUE(sp_empty(&r.sp));
}

TEST(IpuModel, BorrowedFramesAreCopiedOnlyIfTheyWait)
{
    ipu_cfg c = cfg_with(10, 0);
    Rig r(&c);
    fb::Frame f0 = tcp_frame(200), f1 = tcp_frame(300);
    const std::vector<uint8_t> o0 = f0.bytes, o1 = f1.bytes;
    pkt p0 = f0.as_pkt(0), p1 = f1.as_pkt(1);
    const ipu_slot *slots = reinterpret_cast<const ipu_slot *>(r.u.in.buf);
    ipu_push_borrowed(&r.u, &p0, 0); // idle: may start at once, so borrowed
    EXPECT_EQ(r.u.borrowed, 1u);
    EXPECT_EQ(slots[0].p.data, f0.bytes.data());
    ipu_push_borrowed(&r.u, &p1, 0); // a frame ahead of it: copied at once
    EXPECT_EQ(r.u.borrowed, 1u);
    EXPECT_EQ(slots[1].p.data, slots[1].buf);
    EXPECT_EQ(slots[1].bufcap, 2048u);
    EXPECT_EQ(r.u.st.frames, 2u);
    EXPECT_EQ(r.u.st.bytes, 500u);
    EXPECT_EQ(ipu_advance(&r.u, 0), 1u); // frame 0 starts, read in place
    EXPECT_EQ(r.u.borrowed, 0u);
    ipu_keep_frames(&r.u);          // nothing left to copy
    EXPECT_EQ(slots[0].bufcap, 0u); // frame 0 was never copied into the queue
    std::fill(f0.bytes.begin(), f0.bytes.end(), 0);
    std::fill(f1.bytes.begin(), f1.bytes.end(), 0);
    std::vector<event> ev;
    for (cycle_t t = ipu_next_cycle(&r.u); t != CYCLE_NEVER; t = ipu_next_cycle(&r.u)) {
        EXPECT_EQ(t, 10u * (ev.size() + 1)); // the timing of copied frames: 10 cycles each
        ipu_advance(&r.u, t);
        for (event &e : r.pop_all(false))
            ev.push_back(e);
    }
    ASSERT_EQ(ev.size(), 2u);
    for (unsigned i = 0; i < 2; i++) {
        const std::vector<uint8_t> &want = i == 0 ? o0 : o1;
        std::vector<uint8_t> got(want.size());
        ASSERT_EQ(sp_read(&r.sp, ev[i].sp_handle, 0, got.data(), uint32_t(got.size())), 0);
        EXPECT_EQ(got, want) << "frame " << i; // as pushed, borrowed or not
        sp_release(&r.sp, ev[i].sp_handle);
    }
    EXPECT_TRUE(sp_empty(&r.sp));
}

TEST(IpuModel, KeepFramesCopiesABorrowedFrameLeftWaiting)
{
    ipu_cfg c = cfg_with(10, 0);
    Rig r(&c, 4096, 64); // 64 cells
    uint32_t filler = sp_alloc(&r.sp, nullptr, 4096, 1);
    ASSERT_NE(filler, SP_NONE);
    fb::Frame f = tcp_frame(200);
    const std::vector<uint8_t> orig = f.bytes;
    pkt p = f.as_pkt(0);
    ipu_push_borrowed(&r.u, &p, 0);
    EXPECT_EQ(r.u.borrowed, 1u);
    EXPECT_EQ(ipu_advance(&r.u, 0), 0u); // parsed, but waits for scratchpad cells
    EXPECT_TRUE(r.u.blocked_sp);
    EXPECT_EQ(r.u.borrowed, 1u);
    r.push(tcp_frame(60), 0, 1); // an owned frame behind the borrowed one
    ipu_keep_frames(&r.u);       // finds the borrowed one behind it
    EXPECT_EQ(r.u.borrowed, 0u);
    std::fill(f.bytes.begin(), f.bytes.end(), 0);
    sp_release(&r.sp, filler);
    EXPECT_EQ(ipu_advance(&r.u, 5), 1u); // starts at 5
    EXPECT_EQ(ipu_next_cycle(&r.u), 15u);
    ipu_advance(&r.u, 15);
    std::vector<event> ev = r.pop_all(false);
    ASSERT_EQ(ev.size(), 1u);
    std::vector<uint8_t> got(orig.size());
    ASSERT_EQ(sp_read(&r.sp, ev[0].sp_handle, 0, got.data(), uint32_t(got.size())), 0);
    EXPECT_EQ(got, orig);
    sp_release(&r.sp, ev[0].sp_handle);
    run(r, 15);
    EXPECT_TRUE(ipu_idle(&r.u));
    EXPECT_TRUE(sp_empty(&r.sp));
}

// ---------------------------------------------------------------- back-pressure

TEST(IpuModel, OutQueueFullBlocksAndResumes)
{
    ipu_cfg c = cfg_with(10, 0);
    c.out_depth = 3;
    c.in_depth = 8;
    Rig r(&c);
    for (unsigned i = 0; i < 5; i++)
        r.push(tcp_frame(100), 0, i);
    cycle_t now = 0;
    for (unsigned i = 0; i < 3; i++) { // fill the out-queue without popping
        ipu_advance(&r.u, now);
        now = ipu_next_cycle(&r.u);
        EXPECT_EQ(now, 10u * (i + 1));
    }
    EXPECT_EQ(ipu_advance(&r.u, 30), 2u); // frame 2 finishes, frame 3 starts
    EXPECT_EQ(ring_count(&r.u.out), 3u);
    EXPECT_EQ(ipu_next_cycle(&r.u), 40u);
    EXPECT_EQ(ipu_advance(&r.u, 40), 0u); // frame 3 done but no room
    EXPECT_TRUE(r.u.blocked_out);
    EXPECT_EQ(r.u.st.stall_out_full, 1u);
    EXPECT_EQ(ipu_next_cycle(&r.u), CYCLE_NEVER); // waits for the consumer
    EXPECT_EQ(ipu_advance(&r.u, 100), 0u);
    EXPECT_EQ(r.u.st.stall_out_full, 1u); // counted once per blocked frame
    EXPECT_EQ(ring_count(&r.u.in), 1u);   // frame 4 has not started

    const event *f = ipu_front_out(&r.u);
    ASSERT_NE(f, nullptr);
    const event e = *f;
    EXPECT_EQ(e.pkt, 0u);
    ipu_pop_out(&r.u);
    sp_release(&r.sp, e.sp_handle);
    EXPECT_EQ(ipu_advance(&r.u, 150), 2u); // frame 3 emitted, frame 4 starts at 150
    EXPECT_FALSE(r.u.blocked_out);
    EXPECT_EQ(ipu_next_cycle(&r.u), 160u);
    EXPECT_EQ(ipu_advance(&r.u, 160), 0u); // full again
    EXPECT_EQ(r.u.st.stall_out_full, 2u);

    std::vector<Timed> out = run(r, 200);
    ASSERT_EQ(out.size(), 4u); // frames 1..4
    for (unsigned i = 0; i < 4; i++)
        EXPECT_EQ(out[i].e.pkt, i + 1);
    EXPECT_EQ(r.u.st.events, 5u);
    EXPECT_EQ(r.u.st.busy_cycles, 50u);
    EXPECT_TRUE(ipu_idle(&r.u));
    EXPECT_TRUE(sp_empty(&r.sp));
}

TEST(IpuModel, FrontOutIsThePeekedEventInPlace)
{
    ipu_cfg c = cfg_with(10, 0);
    Rig r(&c);
    EXPECT_EQ(ipu_front_out(&r.u), nullptr); // empty
    r.push(tcp_frame(100), 0, 7);
    r.push(tcp_frame(200), 0, 8);
    EXPECT_EQ(ipu_front_out(&r.u), nullptr); // nothing finished yet
    EXPECT_EQ(ipu_advance(&r.u, 0), 1u);
    EXPECT_EQ(ipu_advance(&r.u, 10), 2u);
    EXPECT_EQ(ipu_advance(&r.u, 20), 1u);
    ASSERT_EQ(ring_count(&r.u.out), 2u);
    for (uint64_t pkt : {7u, 8u}) {
        const event *f = ipu_front_out(&r.u);
        ASSERT_NE(f, nullptr);
        EXPECT_EQ(f, ring_front(&r.u.out)); // the queue's own slot: no copy
        EXPECT_EQ(ipu_front_out(&r.u), f);  // and the same one until popped
        EXPECT_EQ(f->pkt, pkt);
        EXPECT_EQ(f->type, EV_TCP_DATA);
        EXPECT_EQ(f->frame_len, pkt == 7 ? 100u : 200u);
        uint32_t h = f->sp_handle;
        ipu_pop_out(&r.u);
        sp_release(&r.sp, h);
    }
    EXPECT_EQ(ipu_front_out(&r.u), nullptr);
    EXPECT_TRUE(ipu_idle(&r.u));
    EXPECT_TRUE(sp_empty(&r.sp));
}

TEST(IpuModel, MultiEventFrameNeedsRoomForAllItsEvents)
{
    ipu_cfg c = cfg_with(10, 0);
    c.out_depth = 3;
    Rig r(&c);
    r.push(tcp_frame(100), 0, 0);                      // 1 event
    r.push(tcp_frame(100, TCPF_SYN | TCPF_FIN), 0, 1); // SYN, DATA, FIN
    ipu_advance(&r.u, 0);
    ipu_advance(&r.u, 10);
    EXPECT_EQ(ipu_advance(&r.u, 20), 0u); // 2 slots free, 3 needed
    EXPECT_EQ(ring_count(&r.u.out), 1u);
    EXPECT_EQ(r.u.st.stall_out_full, 1u);
    std::vector<event> first = r.pop_all();
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(ipu_advance(&r.u, 25), 1u);
    std::vector<event> ev = r.pop_all(false);
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].type, EV_TCP_SYN);
    EXPECT_EQ(ev[1].type, EV_TCP_DATA);
    EXPECT_EQ(ev[2].type, EV_TCP_FIN);
    EXPECT_EQ(r.u.st.ev_types[EV_TCP_SYN], 1u);
    EXPECT_EQ(r.u.st.ev_types[EV_TCP_DATA], 2u);
    EXPECT_EQ(r.u.st.ev_types[EV_TCP_FIN], 1u);
    for (auto &x : ev)
        sp_release(&r.sp, x.sp_handle);
    EXPECT_TRUE(sp_empty(&r.sp));
}

TEST(IpuModel, ScratchpadFullStallsAndResumesAfterRelease)
{
    Rig r(nullptr, 4096, 64); // 64 cells; a 3000-byte frame takes 47
    const cycle_t cost = 20 + 48;
    r.push(tcp_frame(3000), 0, 0);
    r.push(tcp_frame(3000), 0, 1);
    EXPECT_EQ(ipu_advance(&r.u, 0), 1u);
    EXPECT_EQ(r.sp.free_count, 64u - 47u);
    EXPECT_EQ(ipu_next_cycle(&r.u), cost);
    EXPECT_EQ(ipu_advance(&r.u, cost), 1u); // frame 0 done; frame 1 cannot start
    EXPECT_TRUE(r.u.blocked_sp);
    EXPECT_EQ(r.u.st.stall_scratchpad_full, 1u);
    EXPECT_EQ(ipu_next_cycle(&r.u), CYCLE_NEVER);
    EXPECT_EQ(ring_count(&r.u.in), 1u);
    std::vector<event> ev = r.pop_all(false); // consumer keeps the frame for now
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ipu_advance(&r.u, 100), 0u);
    EXPECT_EQ(r.u.st.stall_scratchpad_full, 1u); // once per frame
    EXPECT_EQ(ipu_next_cycle(&r.u), CYCLE_NEVER);

    EXPECT_TRUE(sp_release(&r.sp, ev[0].sp_handle));
    EXPECT_EQ(ipu_advance(&r.u, 200), 1u); // starts at the release
    EXPECT_FALSE(r.u.blocked_sp);
    EXPECT_EQ(ipu_next_cycle(&r.u), 200 + cost);
    std::vector<Timed> out = run(r, 200 + cost);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].t, 200 + cost);
    EXPECT_EQ(out[0].e.pkt, 1u);
    EXPECT_EQ(r.u.st.stall_scratchpad_full, 1u);
    EXPECT_EQ(r.u.st.processed, 2u);
    EXPECT_TRUE(sp_empty(&r.sp));
}

TEST(IpuModel, OversizeFrameDropped)
{
    Rig r(nullptr, 4096, 64);
    r.push(tcp_frame(4097), 0, 0); // 65 cells > 64
    r.push(tcp_frame(4096), 0, 1); // exactly the whole scratchpad
    std::vector<Timed> out = run(r, 0);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].e.pkt, 1u);
    const cycle_t c0 = 20 + (4097 * 16 + 999) / 1000, c1 = 20 + (4096 * 16 + 999) / 1000;
    EXPECT_EQ(out[0].t, c0 + c1); // the dropped frame still took the engine
    EXPECT_EQ(r.u.st.drops[DROP_OVERSIZE], 1u);
    EXPECT_EQ(r.u.st.checks[IPU_CK_OVERSIZE], 1u);
    EXPECT_EQ(r.u.st.checks[IPU_CK_OK], 1u);
    EXPECT_EQ(r.u.st.processed, 1u);
    EXPECT_EQ(r.u.st.stall_scratchpad_full, 0u);
    EXPECT_EQ(r.sp.st.allocs, 1u);
    EXPECT_EQ(r.sp.st.alloc_fail, 0u);
    EXPECT_TRUE(sp_empty(&r.sp));
}

TEST(IpuModel, ScratchpadReferencesEqualEvents)
{
    Rig r;
    r.push(tcp_frame(300, TCPF_SYN | TCPF_FIN), 0);
    run(r, 0); // (run releases; do it by hand instead below)
    EXPECT_TRUE(sp_empty(&r.sp));

    r.push(tcp_frame(300, TCPF_SYN | TCPF_FIN), 100);
    ipu_advance(&r.u, 100);
    ipu_advance(&r.u, ipu_next_cycle(&r.u));
    std::vector<event> ev = r.pop_all(false);
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].sp_handle, ev[1].sp_handle);
    EXPECT_EQ(ev[1].sp_handle, ev[2].sp_handle);
    EXPECT_FALSE(sp_release(&r.sp, ev[0].sp_handle));
    EXPECT_FALSE(sp_empty(&r.sp));
    EXPECT_FALSE(sp_release(&r.sp, ev[1].sp_handle));
    EXPECT_FALSE(sp_empty(&r.sp));
    EXPECT_TRUE(sp_release(&r.sp, ev[2].sp_handle));
    EXPECT_TRUE(sp_empty(&r.sp));
}

TEST(IpuModel, VerifyChecksumsOff)
{
    fb::Spec s = fb::tcp4(TCPF_ACK, 10);
    s.bad_l4_csum = true;
    fb::Frame f = fb::build(s);
    {
        Rig r;
        r.push(f, 0);
        EXPECT_TRUE(run(r, 0).empty());
        EXPECT_EQ(r.u.st.drops[DROP_BAD_CHECKSUM], 1u);
        EXPECT_EQ(r.u.st.checks[IPU_CK_TCP_CSUM], 1u);
    }
    ipu_cfg c;
    ipu_cfg_default(&c);
    c.verify_checksums = 0;
    Rig r(&c);
    r.push(f, 0);
    std::vector<Timed> out = run(r, 0);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].e.type, EV_TCP_DATA);
}

// ---------------------------------------------------------------- invariants

TEST(IpuModel, EveryFrameProcessedOrDroppedWithAReason)
{
    ipu_cfg c = cfg_with(20, 16);
    c.in_depth = 3;
    c.out_depth = 4;
    Rig r(&c, 4096, 128); // 32 cells: exercises the scratchpad stall as well

    std::vector<fb::Frame> frames;
    std::vector<uint32_t> wire;
    auto add = [&](fb::Frame f, uint32_t extra_wire = 0) {
        wire.push_back(uint32_t(f.bytes.size()) + extra_wire);
        frames.push_back(std::move(f));
    };
    unsigned want_drop[DROP_REASON_COUNT] = {};
    for (int i = 0; i < 30; i++) {
        add(tcp_frame(60 + 97 * i % 3000, uint8_t(i % 3 == 0 ? TCPF_SYN : TCPF_ACK)));
        fb::Spec u;
        u.proto = 17;
        u.payload = std::vector<uint8_t>(size_t(i * 13), 1);
        add(fb::build(u));
        fb::Spec bad = fb::tcp4(TCPF_ACK, size_t(i));
        bad.bad_l4_csum = true;
        add(fb::build(bad));
        want_drop[DROP_BAD_CHECKSUM]++;
        fb::Spec frag = fb::tcp4(TCPF_ACK, 8);
        frag.frag = 0x2000;
        add(fb::build(frag));
        want_drop[DROP_IP_FRAGMENT]++;
        fb::Frame trunc = tcp_frame(200);
        add(trunc, 10); // snaplen cut
        want_drop[DROP_CAPTURE_TRUNCATED]++;
        fb::Frame shortf = tcp_frame(100);
        shortf.bytes.resize(20);
        add(shortf);
        want_drop[DROP_MALFORMED]++;
        if (i % 10 == 0) {
            add(tcp_frame(5000)); // larger than the 4096-byte scratchpad
            want_drop[DROP_OVERSIZE]++;
        }
    }
    // The consumer holds the last three events' frames, so that the scratchpad fills up; when the
    // IPU stalls on it, the consumer lets go of everything it holds.
    size_t next = 0;
    cycle_t now = 0;
    uint64_t released = 0;
    std::deque<uint32_t> held;
    auto release_front = [&] {
        sp_release(&r.sp, held.front());
        held.pop_front();
        released++;
    };
    for (int guard = 0; guard < 100000; guard++) {
        while (next < frames.size() && ipu_can_accept(&r.u)) {
            pkt p = frames[next].as_pkt(next, now);
            p.len = wire[next];
            ipu_push(&r.u, &p, now);
            next++;
        }
        unsigned work = ipu_advance(&r.u, now);
        for (const event &e : r.pop_all(false))
            held.push_back(e.sp_handle);
        while (held.size() > 3)
            release_front();
        if (!held.empty() &&
            (r.u.blocked_sp || (next == frames.size() && ipu_next_cycle(&r.u) == CYCLE_NEVER))) {
            while (!held.empty())
                release_front();
            work++;
        }
        if (work)
            continue;
        cycle_t n = ipu_next_cycle(&r.u);
        if (n == CYCLE_NEVER) {
            if (next == frames.size())
                break;
            n = now + 1; // only waiting for more input
        }
        now = n;
    }
    const ipu_stats &st = r.u.st;
    EXPECT_TRUE(ipu_idle(&r.u));
    EXPECT_TRUE(sp_empty(&r.sp));
    EXPECT_EQ(next, frames.size());
    EXPECT_EQ(st.frames, frames.size());
    EXPECT_EQ(st.frames, st.processed + sum(st.drops, DROP_REASON_COUNT));
    EXPECT_EQ(st.frames, sum(st.checks, IPU_CK_COUNT));
    EXPECT_EQ(st.processed, st.checks[IPU_CK_OK] + st.checks[IPU_CK_NULL_FAMILY]);
    EXPECT_EQ(st.events, sum(st.ev_types, EV_TYPE_COUNT));
    EXPECT_EQ(st.events, released);
    for (unsigned d = 0; d < DROP_REASON_COUNT; d++)
        EXPECT_EQ(st.drops[d], want_drop[d]) << drop_reason_name(d);
    EXPECT_EQ(st.processed, 60u);
    EXPECT_EQ(st.bytes, std::accumulate(wire.begin(), wire.end(), uint64_t(0)));
    uint64_t cost = 0;
    for (auto &f : frames)
        cost += 20 + (f.bytes.size() * 16 + 999) / 1000;
    EXPECT_EQ(st.busy_cycles, cost);
    EXPECT_GT(st.stall_scratchpad_full, 0u);
    EXPECT_EQ(r.sp.st.allocs, st.processed);
}

TEST(IpuModel, SlotMemoryStaysBounded)
{
    ipu_cfg c = cfg_with(1, 0);
    Rig r(&c);
    std::vector<fb::Frame> frames;
    for (size_t len : {60, 600, 1514, 200})
        frames.push_back(tcp_frame(len));
    cycle_t now = 0;
    for (int i = 0; i < 4000; i++) {
        r.push(frames[size_t(i) % frames.size()], now);
        run(r, now);
        now += 10;
    }
    const ipu_slot *slots = static_cast<const ipu_slot *>(static_cast<void *>(r.u.in.buf));
    for (uint32_t i = 0; i < r.u.in.cap; i++)
        EXPECT_LE(slots[i].bufcap, 2048u);
    r.push(tcp_frame(9000), now); // a jumbo frame grows one slot once
    run(r, now);
    uint64_t total = 0;
    for (uint32_t i = 0; i < r.u.in.cap; i++)
        total += slots[i].bufcap;
    EXPECT_LE(total, 3u * 2048u + 16384u);
    EXPECT_EQ(r.u.st.processed, 4001u);
}

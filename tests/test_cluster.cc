// Tests of the cluster of cores (models/cluster/cluster.c) with a program assembled from a
// string: exact start and end cycles, serialisation on one core, parallel cores and the
// out-queue's end-cycle order, back-pressure of the input queues and of the out-queue, the
// workspace written in place, per-core statistics, fault reports and instruction traces.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "asm.h"
#include "cluster.h"

namespace {

// Default core costs: the data handler takes ldev 1 + ldw 2 + add 1 + stw 2 + fin 1 = 7 cycles
// and 5 instructions; trap costs alu_cycles = 1; ja costs taken_cycles = 2.
const char *const kSource = ".portion s 4\n"         // 1
                            ".field n 4\n"           // 2
                            ".entry tcp_data data\n" // 3
                            ".entry tcp_fin boom\n"  // 4
                            ".entry tcp_ack loop\n"  // 5
                            "data:\n"                // 6
                            "    ldev r1, pay_len\n" // 7   pc 0
                            "    ldw r2, [s.n]\n"    // 8   pc 1
                            "    add r2, r1\n"       // 9   pc 2
                            "    stw [s.n], r2\n"    // 10  pc 3
                            "    fin\n"              // 11  pc 4
                            "boom:\n"                // 12
                            "    trap 7\n"           // 13  pc 5
                            "loop:\n"                // 14
                            "    ja loop\n";         // 15  pc 6
const cycle_t kData = 7;

struct Ws {
    uint8_t b[4] = {0, 0, 0, 0};
    uint32_t n() const
    {
        uint32_t v;
        std::memcpy(&v, b, 4);
        return v;
    }
    void set(uint32_t v) { std::memcpy(b, &v, 4); }
};

class Cluster : public ::testing::Test {
protected:
    uc_image img{};
    cluster cl{};
    cluster_cfg cfg{};
    core_cfg ccfg{};
    bool up = false;

    void SetUp() override
    {
        sim_err err{};
        ASSERT_EQ(uc_assemble_string("t.uc", kSource, &img, &err), 0) << err.msg;
        cluster_cfg_default(&cfg);
        core_cfg_default(&ccfg);
    }
    void TearDown() override
    {
        if (up)
            cluster_fini(&cl);
        uc_image_free(&img);
    }
    void Start(unsigned cores, unsigned in_depth = 4, unsigned out_depth = 64)
    {
        cfg.cores = cores;
        cfg.in_depth = in_depth;
        cfg.out_depth = out_depth;
        sim_err err{};
        ASSERT_EQ(cluster_init(&cl, &cfg, &ccfg, &img, nullptr, &err), 0) << err.msg;
        up = true;
    }
    static cluster_job Job(Ws *ws, uint8_t type = EV_TCP_DATA, uint32_t pay = 10, uint32_t flow = 1)
    {
        cluster_job j{};
        event_clear(&j.ev);
        j.ev.type = type;
        j.ev.pay_len = pay;
        j.ev.flow = flow;
        j.ws = ws->b;
        j.ws_len = 4;
        return j;
    }
    void Push(unsigned core, const cluster_job &j, cycle_t now)
    {
        ASSERT_TRUE(cluster_can_accept(&cl, core));
        cluster_push(&cl, core, &j, now);
    }
    // Pops every result, in order.
    std::vector<cluster_done> Drain()
    {
        std::vector<cluster_done> v;
        cluster_done d;
        while (cluster_peek_out(&cl, &d)) {
            v.push_back(d);
            cluster_pop_out(&cl);
        }
        return v;
    }
};

TEST_F(Cluster, ResultAtPushPlusHandlerCycles)
{
    Start(2);
    Ws ws;
    ws.set(5);
    EXPECT_TRUE(cluster_idle(&cl));
    EXPECT_EQ(cluster_next_cycle(&cl), CYCLE_NEVER);
    Push(1, Job(&ws, EV_TCP_DATA, 10), 100);
    EXPECT_FALSE(cluster_idle(&cl));
    EXPECT_EQ(cluster_next_cycle(&cl), 100u);
    EXPECT_EQ(cluster_advance(&cl, 99), 0u);
    EXPECT_EQ(cluster_advance(&cl, 100), 1u); // the start
    EXPECT_EQ(cluster_next_cycle(&cl), 100u + kData);
    EXPECT_EQ(ws.n(), 15u); // the handler ran at its start, in place
    EXPECT_EQ(cluster_advance(&cl, 106), 0u);
    cluster_done d;
    EXPECT_FALSE(cluster_peek_out(&cl, &d));
    EXPECT_EQ(cluster_front(&cl), nullptr);
    EXPECT_EQ(cluster_advance(&cl, 107), 1u);
    ASSERT_TRUE(cluster_peek_out(&cl, &d));
    const cluster_done *f = cluster_front(&cl); // the same result, in place
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->core, d.core);
    EXPECT_EQ(f->res.end, d.res.end);
    EXPECT_EQ(f->ev.pay_len, d.ev.pay_len);
    EXPECT_EQ(d.core, 1u);
    EXPECT_EQ(d.res.fault, CORE_OK);
    EXPECT_EQ(d.res.start, 100u);
    EXPECT_EQ(d.res.end, 107u);
    EXPECT_EQ(d.res.pc, 4u);
    EXPECT_EQ(d.ev.pay_len, 10u);
    EXPECT_EQ(cluster_next_cycle(&cl), CYCLE_NEVER);
    EXPECT_FALSE(cluster_idle(&cl)); // the result is still in the out-queue
    cluster_pop_out(&cl);
    EXPECT_TRUE(cluster_idle(&cl));
}

TEST_F(Cluster, JobsOnOneCoreSerialise)
{
    Start(2);
    Ws ws;
    Push(0, Job(&ws, EV_TCP_DATA, 10), 0);
    Push(0, Job(&ws, EV_TCP_DATA, 20), 1);
    EXPECT_EQ(cluster_next_cycle(&cl), 0u);
    EXPECT_EQ(cluster_advance(&cl, 0), 1u);
    EXPECT_EQ(cluster_next_cycle(&cl), 7u);
    EXPECT_EQ(cluster_advance(&cl, 7), 2u); // first finishes, second starts at its end
    EXPECT_EQ(cluster_next_cycle(&cl), 14u);
    EXPECT_EQ(cluster_advance(&cl, 14), 1u);
    auto v = Drain();
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0].res.start, 0u);
    EXPECT_EQ(v[0].res.end, 7u);
    EXPECT_EQ(v[1].res.start, 7u);
    EXPECT_EQ(v[1].res.end, 14u);
    EXPECT_EQ(ws.n(), 30u);
    EXPECT_TRUE(cluster_idle(&cl));
}

TEST_F(Cluster, CoresRunInParallelAndResultsLeaveInEndOrder)
{
    Start(4);
    Ws w0, w1, w2, w3;
    Push(1, Job(&w1, EV_TCP_DATA, 1), 3); // 3..10
    Push(0, Job(&w0, EV_TCP_DATA, 2), 0); // 0..7
    Push(2, Job(&w2, EV_TCP_FIN, 0), 5);  // trap: 5..6
    Push(3, Job(&w3, EV_TCP_DATA, 3), 0); // 0..7, ties with core 0
    EXPECT_EQ(cluster_next_cycle(&cl), 0u);
    EXPECT_EQ(cluster_advance(&cl, 20), 8u); // all in one late call, still in cycle order
    auto v = Drain();
    ASSERT_EQ(v.size(), 4u);
    EXPECT_EQ(v[0].core, 2u);
    EXPECT_EQ(v[0].res.end, 6u);
    EXPECT_EQ(v[1].core, 0u);
    EXPECT_EQ(v[1].res.end, 7u);
    EXPECT_EQ(v[2].core, 3u);
    EXPECT_EQ(v[2].res.end, 7u);
    EXPECT_EQ(v[3].core, 1u);
    EXPECT_EQ(v[3].res.start, 3u);
    EXPECT_EQ(v[3].res.end, 10u);
    EXPECT_EQ(w0.n(), 2u);
    EXPECT_EQ(w1.n(), 1u);
    EXPECT_EQ(w3.n(), 3u);
    EXPECT_TRUE(cluster_idle(&cl));
}

TEST_F(Cluster, TiesLeaveInCoreOrderAcrossManyCores)
{
    // 130 cores: equal jobs on cores spread over the first, second and third 64 finish at the
    // same cycle and leave by core index, whatever order they were pushed in.
    Start(130);
    const unsigned cores[] = {129, 64, 3, 127, 0, 63, 65};
    std::vector<Ws> ws(130);
    for (unsigned k : cores)
        Push(k, Job(&ws[k], EV_TCP_DATA, k + 1), 2);
    Push(64, Job(&ws[64], EV_TCP_DATA, 1), 2); // core 64 runs twice: 2..9, 9..16
    EXPECT_EQ(cluster_next_cycle(&cl), 2u);
    EXPECT_EQ(cluster_advance(&cl, 100), 16u);
    auto v = Drain();
    ASSERT_EQ(v.size(), 8u);
    const unsigned order[] = {0, 3, 63, 64, 65, 127, 129, 64};
    for (size_t i = 0; i < v.size(); i++) {
        EXPECT_EQ(v[i].core, order[i]) << i;
        EXPECT_EQ(v[i].res.end, i + 1 < v.size() ? 2u + kData : 2u + 2 * kData) << i;
    }
    for (unsigned k : cores)
        EXPECT_EQ(ws[k].n(), k == 64 ? 66u : k + 1) << k;
    EXPECT_TRUE(cluster_idle(&cl));
    EXPECT_EQ(cluster_next_cycle(&cl), CYCLE_NEVER);
}

TEST_F(Cluster, InputQueueBackPressure)
{
    Start(2, 2);
    Ws ws;
    Push(0, Job(&ws), 0);
    Push(0, Job(&ws), 0);
    EXPECT_FALSE(cluster_can_accept(&cl, 0));
    EXPECT_TRUE(cluster_can_accept(&cl, 1));
    cluster_refuse(&cl, 0);
    cluster_refuse(&cl, 0);
    EXPECT_EQ(cluster_stats(&cl, 0)->stall_in_full, 2u);
    EXPECT_EQ(cluster_stats(&cl, 0)->max_queue, 2u);
    EXPECT_EQ(cluster_stats(&cl, 1)->stall_in_full, 0u);
    EXPECT_EQ(cluster_advance(&cl, 0), 1u); // the first starts and leaves the queue
    EXPECT_TRUE(cluster_can_accept(&cl, 0));
    Push(0, Job(&ws), 1);
    EXPECT_FALSE(cluster_can_accept(&cl, 0));
    EXPECT_EQ(cluster_advance(&cl, 100), 5u);
    EXPECT_EQ(Drain().size(), 3u);
    EXPECT_EQ(cluster_stats(&cl, 0)->max_queue, 2u);
    EXPECT_TRUE(cluster_idle(&cl));
}

TEST_F(Cluster, FullOutQueueBlocksTheCoreUntilPopped)
{
    Start(2, 4, 1);
    Ws w0, w1;
    Push(0, Job(&w0), 0);
    Push(1, Job(&w1), 0);
    Push(1, Job(&w1), 1);
    EXPECT_EQ(cluster_advance(&cl, 7), 3u); // two starts, core 0 finishes; core 1 blocks (no work)
    EXPECT_EQ(cluster_stats(&cl, 1)->stall_out_full, 1u);
    EXPECT_EQ(cluster_stats(&cl, 0)->stall_out_full, 0u);
    EXPECT_EQ(cluster_next_cycle(&cl), CYCLE_NEVER); // only blocked on out-queue room
    EXPECT_EQ(cluster_advance(&cl, 50), 0u);
    EXPECT_EQ(cluster_stats(&cl, 1)->stall_out_full, 1u); // counted once per result
    cluster_done d;
    ASSERT_TRUE(cluster_peek_out(&cl, &d));
    EXPECT_EQ(d.core, 0u);
    cluster_pop_out(&cl);
    EXPECT_EQ(cluster_next_cycle(&cl), 50u); // room now: the latest cycle seen
    EXPECT_EQ(cluster_advance(&cl, 60), 2u); // core 1's result goes; its next job starts at 60
    ASSERT_TRUE(cluster_peek_out(&cl, &d));
    EXPECT_EQ(d.core, 1u);
    EXPECT_EQ(d.res.end, 7u);
    cluster_pop_out(&cl);
    EXPECT_EQ(cluster_next_cycle(&cl), 67u);
    EXPECT_EQ(cluster_advance(&cl, 67), 1u);
    ASSERT_TRUE(cluster_peek_out(&cl, &d));
    EXPECT_EQ(d.res.start, 60u);
    EXPECT_EQ(d.res.end, 67u);
    cluster_pop_out(&cl);
    EXPECT_EQ(w1.n(), 20u);
    EXPECT_TRUE(cluster_idle(&cl));
    EXPECT_EQ(cluster_stats(&cl, 1)->busy_cycles, 14u); // blocked time is not busy
}

TEST_F(Cluster, PerCoreStats)
{
    Start(2);
    Ws w0, w1;
    for (int i = 0; i < 3; i++)
        Push(0, Job(&w0), 0);
    Push(1, Job(&w1, EV_TCP_FIN), 0);
    cluster_advance(&cl, 1000);
    Drain();
    const cluster_core_stats *s0 = cluster_stats(&cl, 0);
    EXPECT_EQ(s0->events, 3u);
    EXPECT_EQ(s0->busy_cycles, 21u);
    EXPECT_EQ(s0->insns, 15u);
    EXPECT_EQ(s0->stall_ws, 6u); // two 2-cycle workspace accesses per event
    EXPECT_EQ(s0->stall_sp, 0u);
    EXPECT_EQ(s0->faults, 0u);
    EXPECT_EQ(s0->max_queue, 3u);
    EXPECT_DOUBLE_EQ(cluster_ipc(&cl, 0), 15.0 / 21.0);
    EXPECT_DOUBLE_EQ(cluster_busy_share(&cl, 0, 42), 0.5);
    EXPECT_DOUBLE_EQ(cluster_busy_share(&cl, 0, 0), 0.0);
    const cluster_core_stats *s1 = cluster_stats(&cl, 1);
    EXPECT_EQ(s1->events, 1u);
    EXPECT_EQ(s1->faults, 1u);
    EXPECT_EQ(s1->busy_cycles, 1u);
    EXPECT_EQ(s1->insns, 0u);
    EXPECT_DOUBLE_EQ(cluster_ipc(&cl, 1), 0.0);
    EXPECT_EQ(cluster_stat_count, 9u);
    EXPECT_STREQ(cluster_stat_defs[8].name, "max_queue");
    EXPECT_EQ(stat_read(&cluster_stat_defs[1], s0), 21u);
}

TEST_F(Cluster, FaultsComeOutWithAReportLine)
{
    ccfg.max_cycles = 20;
    Start(4);
    Ws ws;
    Push(3, Job(&ws, EV_TCP_FIN, 0, 12), 0);
    Push(1, Job(&ws, EV_TCP_ACK, 0, 12), 0);
    Push(0, Job(&ws, EV_TCP_RST, 0, FLOW_NONE), 30);
    Push(2, Job(&ws, EV_TCP_DATA, 0, 5), 40);
    cluster_advance(&cl, 100);
    auto v = Drain();
    ASSERT_EQ(v.size(), 4u);
    char buf[256];

    EXPECT_EQ(v[0].core, 3u);
    EXPECT_EQ(v[0].res.fault, CORE_FAULT_TRAP);
    EXPECT_EQ(v[0].res.end, 1u);
    cluster_fault_report(&cl, &v[0], buf, sizeof buf);
    EXPECT_STREQ(buf, "core 3: fault trap 7 at pc 5 (t.uc:13: trap 7), flow 12, event tcp_fin");

    EXPECT_EQ(v[1].core, 1u);
    EXPECT_EQ(v[1].res.fault, CORE_FAULT_BUDGET);
    EXPECT_EQ(v[1].res.end, 20u); // ten 2-cycle jumps; the eleventh would pass the budget
    EXPECT_EQ(v[1].res.insns, 10u);
    cluster_fault_report(&cl, &v[1], buf, sizeof buf);
    EXPECT_STREQ(buf, "core 1: fault budget at pc 6 (t.uc:15: ja loop), flow 12, event tcp_ack");

    EXPECT_EQ(v[2].core, 0u);
    EXPECT_EQ(v[2].res.fault, CORE_FAULT_NO_ENTRY);
    EXPECT_EQ(v[2].res.start, 30u);
    EXPECT_EQ(v[2].res.end, 30u);
    cluster_fault_report(&cl, &v[2], buf, sizeof buf);
    EXPECT_STREQ(buf, "core 0: fault no_entry, flow none, event tcp_rst");

    cluster_fault_report(&cl, &v[3], buf, sizeof buf);
    EXPECT_STREQ(buf, "core 2: ok at pc 4 (t.uc:11: fin), flow 5, event tcp_data");
    cluster_fault_report(&cl, &v[3], buf, 12); // cut to size, terminated
    EXPECT_STREQ(buf, "core 2: ok ");

    EXPECT_EQ(cluster_stats(&cl, 3)->faults, 1u);
    EXPECT_EQ(cluster_stats(&cl, 1)->faults, 1u);
    EXPECT_EQ(cluster_stats(&cl, 0)->faults, 1u);
    EXPECT_EQ(cluster_stats(&cl, 2)->faults, 0u);
    EXPECT_TRUE(cluster_idle(&cl));
}

struct Rec {
    unsigned core;
    uint32_t flow;
    cycle_t cycle;
    uint32_t pc;
};
void Collect(void *ctx, const core_trace_rec *r)
{
    const cluster_trace_rec *t = cluster_trace_of(r);
    static_cast<std::vector<Rec> *>(ctx)->push_back({t->core, t->flow, r->cycle, r->pc});
}

TEST_F(Cluster, TracePerCore)
{
    Start(2);
    Ws w0, w1;
    std::vector<Rec> recs;
    cluster_trace_core(&cl, 1, Collect, &recs);
    Push(0, Job(&w0, EV_TCP_DATA, 1, 7), 0);
    Push(1, Job(&w1, EV_TCP_DATA, 1, 8), 10);
    cluster_advance(&cl, 100);
    ASSERT_EQ(recs.size(), 5u);
    for (size_t i = 0; i < recs.size(); i++) {
        EXPECT_EQ(recs[i].core, 1u);
        EXPECT_EQ(recs[i].flow, 8u);
        EXPECT_EQ(recs[i].pc, i);
    }
    EXPECT_EQ(recs[0].cycle, 10u);
    EXPECT_EQ(recs[4].cycle, 16u); // fin issues at 10 + 6
    cluster_trace_core(&cl, 1, nullptr, nullptr);
    Push(1, Job(&w1), 200);
    cluster_advance(&cl, 300);
    EXPECT_EQ(recs.size(), 5u);
    EXPECT_EQ(cl.slots[1].core.trace, nullptr); // installed only while a traced event runs
    Drain();
    EXPECT_TRUE(cluster_idle(&cl));
}

TEST_F(Cluster, TracePerFlow)
{
    Start(3);
    Ws w0, w1, w2;
    std::vector<Rec> recs;
    cluster_trace_flow(&cl, 7, Collect, &recs);
    Push(0, Job(&w0, EV_TCP_DATA, 1, 7), 0);
    Push(1, Job(&w1, EV_TCP_DATA, 1, 8), 0);
    Push(1, Job(&w1, EV_TCP_DATA, 1, 7), 0); // on core 1 after the flow-8 event: 7..14
    Push(2, Job(&w2, EV_TCP_FIN, 0, 7), 0);  // faults before retiring anything
    cluster_advance(&cl, 100);
    ASSERT_EQ(recs.size(), 10u);
    for (size_t i = 0; i < 5; i++) {
        EXPECT_EQ(recs[i].core, 0u);
        EXPECT_EQ(recs[i].flow, 7u);
        EXPECT_EQ(recs[i + 5].core, 1u);
        EXPECT_EQ(recs[i + 5].flow, 7u);
    }
    EXPECT_EQ(recs[5].cycle, 7u);
    cluster_trace_flow(&cl, 7, nullptr, nullptr);
    Push(0, Job(&w0, EV_TCP_DATA, 1, 7), 200);
    cluster_advance(&cl, 300);
    EXPECT_EQ(recs.size(), 10u);
    Drain();
    EXPECT_TRUE(cluster_idle(&cl));
}

TEST_F(Cluster, InitChecksItsConfig)
{
    sim_err err{};
    cfg.cores = 0;
    EXPECT_EQ(cluster_init(&cl, &cfg, &ccfg, &img, nullptr, &err), -1);
    EXPECT_STREQ(err.msg, "cluster.cores: 0 is out of range [1, 256]");
    cluster_fini(&cl);
    cluster_cfg_default(&cfg);
    EXPECT_EQ(cfg.cores, 8u);
    EXPECT_EQ(cfg.in_depth, 4u);
    EXPECT_EQ(cfg.out_depth, 64u);
    ccfg.taken_cycles = 0;
    EXPECT_EQ(cluster_init(&cl, &cfg, &ccfg, &img, nullptr, &err), -1);
    EXPECT_NE(std::string(err.msg).find("core.taken_cycles"), std::string::npos) << err.msg;
    cluster_fini(&cl);
}

// The earliest start or completion the cluster could do, from a scan of every core (what
// cluster_next_cycle computed before it kept the next due cycle): blocked results count only
// while the out-queue has room, at the latest cycle seen.
cycle_t ScanNextCycle(const cluster &c)
{
    cycle_t next = CYCLE_NEVER;
    for (uint32_t i = 0; i < c.cfg.cores; i++) {
        const cluster_slot &s = c.slots[i];
        cycle_t t = CYCLE_NEVER;
        if (s.busy) {
            if (!s.blocked)
                t = s.done->res.end;
            else if (!ring_full(&c.out))
                t = c.now;
        } else if (!ring_empty(&s.in)) {
            auto *q = static_cast<const cluster_qjob *>(ring_front(&s.in));
            t = q->at > s.free ? q->at : s.free;
        }
        next = t < next ? t : next;
    }
    return next;
}

// The cluster keeps the next due cycle instead of scanning every core on every call: over a
// long random run of pushes, advances (early, on time and late) and pops with a small out-queue
// (so that cores block), cluster_next_cycle always equals a full scan, an advance before it does
// nothing, and an advance at or after it does something.
TEST_F(Cluster, NextDueCycleMatchesAFullScan)
{
    Start(4, 2, 2);
    std::vector<Ws> ws(4);
    uint32_t seed = 12345;
    auto rnd = [&seed](uint32_t n) {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) % n;
    };
    cycle_t now = 0;
    unsigned done = 0, pushed = 0, blocked_seen = 0;
    for (int step = 0; step < 20000; step++) {
        switch (rnd(4)) {
        case 0: { // push onto a random core
            unsigned k = rnd(4);
            if (cluster_can_accept(&cl, k)) {
                uint8_t type = rnd(8) ? EV_TCP_DATA : EV_TCP_FIN; // FIN: a 1-cycle trap
                cluster_job j = Job(&ws[k], type, rnd(50));
                cluster_push(&cl, k, &j, now);
                pushed++;
            }
            break;
        }
        case 1: { // advance, at a random cycle around the next due one
            cycle_t next = ScanNextCycle(cl);
            cycle_t at = now + rnd(10);
            if (next != CYCLE_NEVER && rnd(2))
                at = next > now ? next + rnd(3) - 1 : now;
            at = at < now ? now : at;
            bool room = !ring_full(&cl.out);
            unsigned w = cluster_advance(&cl, at);
            if (next == CYCLE_NEVER || at < next) {
                EXPECT_EQ(w, 0u) << "step " << step;
            } else if (room) { // (a full out-queue may leave a due result waiting: no work)
                EXPECT_GT(w, 0u) << "step " << step;
            }
            now = at;
            break;
        }
        case 2: // pop a result
            if (cluster_front(&cl)) {
                cluster_pop_out(&cl);
                done++;
            }
            break;
        default: // time passes
            now += rnd(5);
            break;
        }
        blocked_seen += cl.nblocked > 0;
        ASSERT_EQ(cluster_next_cycle(&cl), ScanNextCycle(cl)) << "step " << step;
    }
    EXPECT_GT(done, 1000u);
    EXPECT_GT(blocked_seen, 100u);                        // the blocked path was exercised
    for (int i = 0; i < 100 && !cluster_idle(&cl); i++) { // drain
        now += 1000;
        cluster_advance(&cl, now);
        while (cluster_front(&cl)) {
            cluster_pop_out(&cl);
            done++;
        }
        ASSERT_EQ(cluster_next_cycle(&cl), ScanNextCycle(cl));
    }
    EXPECT_EQ(done, pushed);
    EXPECT_TRUE(cluster_idle(&cl));
}

} // namespace

// A second image for RoCE events: each event runs the image of its protocol (ev.proto), on the
// same cores, one after the other; a fault names the line of the image that ran.
// The counters are the engine's since the last reset: a reset zeroes them (the peak queue
// restarts from the current level) and later events count from there; cluster_busy_cycles
// agrees with cluster_stats.
TEST_F(Cluster, ResetStatsCountsFromTheReset)
{
    Start(2);
    Ws w0;
    Push(0, Job(&w0), 0);
    Push(0, Job(&w0), 0);
    cluster_advance(&cl, 1000);
    Drain();
    EXPECT_EQ(cluster_stats(&cl, 0)->events, 2u);
    EXPECT_EQ(cluster_busy_cycles(&cl, 0), 14u);
    Push(0, Job(&w0), 1000);
    cluster_reset_stats(&cl); // one job queued, not started
    const cluster_core_stats *s = cluster_stats(&cl, 0);
    EXPECT_EQ(s->events, 0u);
    EXPECT_EQ(s->busy_cycles, 0u);
    EXPECT_EQ(s->insns, 0u);
    EXPECT_EQ(s->stall_ws, 0u);
    EXPECT_EQ(s->max_queue, 1u);
    EXPECT_EQ(cluster_busy_cycles(&cl, 0), 0u);
    cluster_advance(&cl, 2000);
    Drain();
    s = cluster_stats(&cl, 0);
    EXPECT_EQ(s->events, 1u);
    EXPECT_EQ(s->busy_cycles, 7u);
    EXPECT_EQ(s->insns, 5u);
    EXPECT_EQ(s->stall_ws, 2u);
    EXPECT_EQ(cluster_busy_cycles(&cl, 0), 7u);
    EXPECT_EQ(cluster_busy_cycles(&cl, 1), 0u);
    EXPECT_DOUBLE_EQ(cluster_busy_share(&cl, 0, 14), 0.5);
}

// Each result carries its job's tag back; a result read in place stays where it is while
// later results arrive (the out-queue holds pool records, not copies), and the records are
// reused: many more jobs than the pool holds (cores + out_depth) all come back intact.
TEST_F(Cluster, TagsComeBackWithTheirResultsInPlace)
{
    Start(2, 4, 2);
    Ws w0, w1;
    cluster_job a = Job(&w0, EV_TCP_DATA, 1); // core 0: ends first
    a.tag = 0x1234567890ull;
    cluster_job b = Job(&w1, EV_TCP_DATA, 1);
    b.tag = 7;
    Push(0, a, 0);
    Push(1, b, 5);
    cluster_advance(&cl, 0);
    const cluster_done *f = cluster_front(&cl);
    EXPECT_EQ(f, nullptr);
    cluster_advance(&cl, 1000);
    f = cluster_front(&cl);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->tag, 0x1234567890ull);
    EXPECT_EQ(f->core, 0u);
    cluster_job c = Job(&w0, EV_TCP_DATA, 1);
    c.tag = 99;
    Push(0, c, 1000);
    cluster_advance(&cl, 2000); // c's result waits behind the front one (out_depth 2: blocked)
    EXPECT_EQ(cluster_front(&cl), f);
    EXPECT_EQ(f->tag, 0x1234567890ull);
    cluster_pop_out(&cl);
    cluster_advance(&cl, 2000);
    std::vector<uint64_t> tags;
    while (const cluster_done *d = cluster_front(&cl)) {
        tags.push_back(d->tag);
        cluster_pop_out(&cl);
    }
    EXPECT_EQ(tags, (std::vector<uint64_t>{7, 99}));
    // reuse: 200 jobs through a pool of 4 records
    std::vector<uint64_t> got;
    for (uint64_t k = 0; k < 200; k++) {
        cluster_job j = Job(k % 2 ? &w1 : &w0, EV_TCP_DATA, 1);
        j.tag = 1000 + k;
        Push(static_cast<unsigned>(k % 2), j, 3000 + k * 100);
        cluster_advance(&cl, 3000 + k * 100 + 99);
        while (const cluster_done *d = cluster_front(&cl)) {
            got.push_back(d->tag);
            cluster_pop_out(&cl);
        }
    }
    ASSERT_EQ(got.size(), 200u);
    for (uint64_t k = 0; k < 200; k++)
        EXPECT_EQ(got[k], 1000 + k);
    EXPECT_TRUE(cluster_idle(&cl));
}

// The cores share one pre-decoded copy of each image (the first core's), an image added later
// included: every core runs it.
TEST_F(Cluster, CoresShareTheFirstCoresDecodedImages)
{
    const char *roce = ".portion q 4\n.field n 4\n.entry roce_send_only send\n"
                       "send:\n    ldw r2, [q.n]\n    add r2, 100\n    stw [q.n], r2\n    fin\n";
    uc_image r{};
    sim_err err{};
    ASSERT_EQ(uc_assemble_string("r.uc", roce, &r, &err), 0) << err.msg;
    Start(3);
    ASSERT_EQ(cluster_add_image(&cl, PROTO_ROCE, &r, &err), 0) << err.msg;
    EXPECT_TRUE(cl.slots[0].core.base.owned);
    EXPECT_TRUE(cl.slots[0].core.by_proto[PROTO_ROCE].owned);
    for (unsigned i = 1; i < 3; i++) {
        EXPECT_EQ(cl.slots[i].core.base.code, cl.slots[0].core.base.code) << i;
        EXPECT_FALSE(cl.slots[i].core.base.owned) << i;
        EXPECT_EQ(cl.slots[i].core.by_proto[PROTO_ROCE].code,
                  cl.slots[0].core.by_proto[PROTO_ROCE].code)
            << i;
    }
    Ws w0, w2;
    cluster_job a = Job(&w0, EV_TCP_DATA, 10);
    cluster_job b = Job(&w2, EV_ROCE_SEND_ONLY, 0);
    b.ev.proto = PROTO_ROCE;
    Push(0, a, 0);
    Push(2, b, 0);
    cluster_advance(&cl, 100);
    auto v = Drain();
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(w0.n(), 10u);   // the TCP image on core 0
    EXPECT_EQ(w2.n(), 100u);  // the RoCE image on core 2
    EXPECT_EQ(v[0].core, 2u); // the shorter handler ends first
    EXPECT_EQ(v[0].res.insns, 4u);
    EXPECT_EQ(v[1].core, 0u);
    cluster_fini(&cl);
    up = false;
    uc_image_free(&r);
}

TEST_F(Cluster, EachEventRunsTheImageOfItsProtocol)
{
    const char *roce = ".portion q 4\n"               // 1
                       ".field n 4\n"                 // 2
                       ".entry tcp_data other\n"      // 3
                       ".entry roce_send_only send\n" // 4
                       "send:\n"                      // 5
                       "    ldw r2, [q.n]\n"          // 6  pc 0
                       "    add r2, 100\n"            // 7  pc 1
                       "    stw [q.n], r2\n"          // 8  pc 2
                       "    fin\n"                    // 9  pc 3
                       "other:\n"                     // 10
                       "    trap 9\n";                // 11 pc 4
    uc_image r{};
    sim_err err{};
    ASSERT_EQ(uc_assemble_string("r.uc", roce, &r, &err), 0) << err.msg;
    Start(1);
    ASSERT_EQ(cluster_add_image(&cl, PROTO_ROCE, &r, &err), 0) << err.msg;
    Ws ws;
    cluster_job a = Job(&ws, EV_TCP_DATA, 10); // proto TCP: the first image (+10)
    cluster_job b = Job(&ws, EV_ROCE_SEND_ONLY, 0);
    b.ev.proto = PROTO_ROCE; // the RoCE image (+100): 4 instructions
    cluster_job c = Job(&ws, EV_TCP_DATA, 0);
    c.ev.proto = PROTO_ROCE; // the RoCE image's tcp_data handler: a trap
    Push(0, a, 0);
    Push(0, b, 0);
    Push(0, c, 0);
    cluster_advance(&cl, 100);
    auto v = Drain();
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[0].res.fault, CORE_OK);
    EXPECT_EQ(v[0].res.pc, 4u);
    EXPECT_EQ(v[1].res.fault, CORE_OK);
    EXPECT_EQ(v[1].res.pc, 3u);
    EXPECT_EQ(v[1].res.insns, 4u);
    EXPECT_EQ(ws.n(), 110u);
    EXPECT_EQ(v[2].res.fault, CORE_FAULT_TRAP);
    char buf[256];
    cluster_fault_report(&cl, &v[2], buf, sizeof buf);
    EXPECT_STREQ(buf, "core 0: fault trap 9 at pc 4 (r.uc:11: trap 9), flow 1, event tcp_data");
    // a rejected image leaves the cores as they were
    uc_image bad{};
    ASSERT_EQ(uc_assemble_string("b.uc", ".entry tcp_data x\nx:\n    fin\n", &bad, &err), 0);
    bad.code[0] = 0xff; // no such opcode
    EXPECT_NE(cluster_add_image(&cl, PROTO_UDP, &bad, &err), 0);
    uc_image_free(&bad);
    cluster_fini(&cl);
    up = false;
    uc_image_free(&r);
}

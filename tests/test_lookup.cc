// Tests of the lookup controller (models/lookup/lookup.c): exact fetch timing (fresh, miss, hit),
// the external memory's bandwidth queueing, the LRU flow-state cache and its dirty write-backs,
// portions copied in and out, slot exhaustion and out-queue back-pressure, and the timer wheel
// (rounding, re-arm, cancel, flow close, timers beyond one revolution, firing order).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "lookup.h"

namespace {

// Record of 64 bytes: portion a [0, 16), b [16, 32), c [32, 64).
const uint8_t kA = 1, kB = 2, kC = 4, kAll = 7;

class Lookup : public ::testing::Test {
protected:
    uc_image img{};
    luc_cfg cfg{};
    luc *l = nullptr;

    void SetUp() override
    {
        img.ws_size = 64;
        img.nportions = 3;
        img.portions[0] = {"a", 0, 16};
        img.portions[1] = {"b", 16, 16};
        img.portions[2] = {"c", 32, 32};
        luc_cfg_default(&cfg);
    }
    void TearDown() override { luc_free(l); }
    void Start(uint32_t flows = 16)
    {
        sim_err err{};
        l = luc_new(&cfg, flows, &img, &err);
        ASSERT_NE(l, nullptr) << err.msg;
    }
    static luc_req Req(uint32_t flow, uint8_t portions, bool fresh = false, uint16_t core = 0)
    {
        luc_req r{};
        event_clear(&r.ev);
        r.ev.type = EV_TCP_DATA;
        r.ev.flow = flow;
        r.cluster = 1;
        r.core = core;
        r.portions = portions;
        r.fresh = fresh ? 1 : 0;
        return r;
    }
    void Push(const luc_req &r, cycle_t now)
    {
        ASSERT_TRUE(luc_can_accept(l));
        luc_push(l, &r, now);
    }
    // Advances to each next cycle up to limit; returns the cycle of the last advance.
    cycle_t RunTo(cycle_t limit)
    {
        cycle_t last = 0;
        for (;;) {
            cycle_t t = luc_next_cycle(l);
            if (t == CYCLE_NEVER || t > limit)
                break;
            luc_advance(l, t);
            last = t;
        }
        return last;
    }
    // Runs until a job comes out; returns the cycle it did (CYCLE_NEVER if none does).
    cycle_t NextJob(luc_job *j)
    {
        for (;;) {
            if (luc_peek_out(l, j)) {
                luc_pop_out(l);
                return last_;
            }
            cycle_t t = luc_next_cycle(l);
            if (t == CYCLE_NEVER)
                return CYCLE_NEVER;
            luc_advance(l, t);
            last_ = t;
        }
    }
    // One request pushed at now, run to its job; returns the job's done cycle.
    cycle_t Fetch(const luc_req &r, cycle_t now, luc_job *j)
    {
        Push(r, now);
        return NextJob(j);
    }
    // Runs until idle, collecting every timer event with the cycle it fired.
    std::vector<std::pair<cycle_t, event>> Timers(cycle_t limit = CYCLE_NEVER - 1)
    {
        std::vector<std::pair<cycle_t, event>> v;
        for (;;) {
            event e;
            while (luc_peek_timer(l, &e)) {
                v.emplace_back(last_, e);
                luc_pop_timer(l);
            }
            cycle_t t = luc_next_cycle(l);
            if (t == CYCLE_NEVER || t > limit)
                break;
            luc_advance(l, t);
            last_ = t;
        }
        return v;
    }
    cycle_t last_ = 0;
};

// --- parameters and construction ----------------------------------------------------------------

TEST_F(Lookup, DefaultsComeFromTheTable)
{
    EXPECT_STREQ(luc_params.unit, "lookup");
    EXPECT_EQ(luc_params.n, 13u);
    EXPECT_EQ(cfg.clock_mhz, 1000u);
    EXPECT_EQ(cfg.issue_cycles, 2u);
    EXPECT_EQ(cfg.mem_latency, 100u);
    EXPECT_EQ(cfg.mem_bytes_per_cycle, 16u);
    EXPECT_EQ(cfg.mem_outstanding, 16u);
    EXPECT_EQ(cfg.cache_flows, 1024u);
    EXPECT_EQ(cfg.cache_cycles, 4u);
    EXPECT_EQ(cfg.move_bytes_per_cycle, 32u);
    EXPECT_EQ(cfg.slots, 256u);
    EXPECT_EQ(cfg.in_depth, 64u);
    EXPECT_EQ(cfg.out_depth, 64u);
    EXPECT_EQ(cfg.timer_slots, 4096u);
    EXPECT_EQ(cfg.timer_tick_cycles, 1000u);
    EXPECT_EQ(luc_stat_count, sizeof(luc_stats) / sizeof(uint64_t));
    for (size_t i = 0; i < luc_params.n; i++)
        EXPECT_NE(luc_params.defs[i].doc[0], '\0') << luc_params.defs[i].name;
}

TEST_F(Lookup, RejectsBadConfigurations)
{
    sim_err err{};
    luc_cfg c = cfg;
    EXPECT_EQ(param_set(&luc_params, &c, "slots", "0", &err), -1);
    EXPECT_NE(std::string(err.msg).find("lookup.slots"), std::string::npos) << err.msg;
    c.slots = 0;
    EXPECT_EQ(luc_new(&c, 16, &img, &err), nullptr);
    EXPECT_EQ(luc_new(&cfg, 0, &img, &err), nullptr);
    EXPECT_NE(std::string(err.msg).find("flows"), std::string::npos) << err.msg;
    EXPECT_EQ(luc_new(&cfg, 16, nullptr, &err), nullptr);
    uc_image bad = img;
    bad.portions[2].size = 33; // past the record's end
    EXPECT_EQ(luc_new(&cfg, 16, &bad, &err), nullptr);
    EXPECT_NE(std::string(err.msg).find("portion 2"), std::string::npos) << err.msg;
    luc_free(nullptr);
}

// --- fetch timing
// ---------------------------------------------------------------------------------

TEST_F(Lookup, FreshRequestTakesIssueAndMoveAndZeroesTheRecord)
{
    cfg.cache_flows = 0;
    Start();
    luc_job j;
    // put something in flow 3's record first
    ASSERT_NE(Fetch(Req(3, kAll, true), 0, &j), CYCLE_NEVER);
    std::memset(j.ws, 0xab, 64);
    luc_writeback(l, j.slot, 10);
    EXPECT_EQ(luc_record(l, 3)[40], 0xab);

    EXPECT_TRUE(luc_idle(l));
    Push(Req(3, kAll, true), 100);
    EXPECT_EQ(luc_next_cycle(l), 100u);
    EXPECT_EQ(luc_advance(l, 100), 1u);         // the start
    EXPECT_EQ(luc_next_cycle(l), 100u + 2 + 2); // issue 2, 64 bytes at 32 per cycle
    EXPECT_EQ(luc_advance(l, 103), 0u);
    EXPECT_FALSE(luc_peek_out(l, &j));
    EXPECT_EQ(luc_advance(l, 104), 1u);
    ASSERT_TRUE(luc_peek_out(l, &j));
    EXPECT_EQ(j.ev.flow, 3u);
    EXPECT_EQ(j.cluster, 1u);
    EXPECT_EQ(j.portions, kAll);
    EXPECT_EQ(j.ws_len, 64u);
    for (unsigned i = 0; i < 64; i++) {
        EXPECT_EQ(j.ws[i], 0u);
        EXPECT_EQ(luc_record(l, 3)[i], 0u);
    }
    EXPECT_EQ(luc_mem_stats(l)->reads, 0u); // fresh: no memory read
    EXPECT_EQ(luc_get_stats(l)->fresh, 2u);
    EXPECT_EQ(luc_get_stats(l)->cache_misses, 0u);
}

// luc_prefetch is a hint for the host's cache: a run with it at every step, out-of-range flows
// included, ends with the same job, record, stats and next cycle as one without it.
TEST_F(Lookup, PrefetchChangesNothing)
{
    Start();
    for (uint32_t f : {0u, 3u, 15u, 16u, FLOW_NONE, UINT32_MAX})
        luc_prefetch(l, f);
    luc_job j;
    Push(Req(5, kA), 10);
    luc_prefetch(l, 5);
    EXPECT_EQ(NextJob(&j), 117u); // as in MissReadsTheWholeRecordThenMovesThePortions
    EXPECT_EQ(j.ev.flow, 5u);
    EXPECT_EQ(luc_mem_stats(l)->reads, 1u);
    EXPECT_EQ(luc_get_stats(l)->cache_misses, 1u);
}

TEST_F(Lookup, MissReadsTheWholeRecordThenMovesThePortions)
{
    Start();
    luc_job j;
    Push(Req(5, kA), 10);
    // read issued at 12: 100 latency + 64/16 = 4 -> 116; then 16 bytes at 32/cycle -> 117
    EXPECT_EQ(NextJob(&j), 117u);
    EXPECT_EQ(luc_mem_stats(l)->reads, 1u);
    EXPECT_EQ(luc_mem_stats(l)->bytes_read, 64u);
    EXPECT_EQ(luc_get_stats(l)->cache_misses, 1u);
    EXPECT_EQ(luc_get_stats(l)->bytes_moved, 16u);
    EXPECT_EQ(luc_get_stats(l)->busy_cycles, 2u);
}

TEST_F(Lookup, HitTakesCacheCyclesThenTheMove)
{
    Start();
    luc_job j;
    Push(Req(5, kA), 0);
    EXPECT_EQ(NextJob(&j), 107u);
    luc_writeback(l, j.slot, 200);
    Push(Req(5, kC), 300);
    EXPECT_EQ(NextJob(&j), 300u + 4 + 1); // cache 4, 32 bytes at 32 per cycle
    EXPECT_EQ(luc_get_stats(l)->cache_hits, 1u);
    EXPECT_EQ(luc_mem_stats(l)->reads, 1u);
}

TEST_F(Lookup, EngineServesRequestsInOrderOneIssueApart)
{
    Start();
    Push(Req(1, kAll, true), 0);
    Push(Req(2, kAll, true), 0);
    Push(Req(3, kAll, true), 1);
    luc_job j;
    EXPECT_EQ(NextJob(&j), 4u);
    EXPECT_EQ(j.ev.flow, 1u);
    EXPECT_EQ(NextJob(&j), 6u);
    EXPECT_EQ(j.ev.flow, 2u);
    EXPECT_EQ(NextJob(&j), 8u);
    EXPECT_EQ(j.ev.flow, 3u);
    EXPECT_EQ(luc_get_stats(l)->busy_cycles, 6u);
}

TEST_F(Lookup, BackToBackMissesQueueOnTheMemoryBus)
{
    Start();
    Push(Req(1, kA), 0);
    Push(Req(2, kA), 0);
    luc_job j1, j2;
    cycle_t d1 = NextJob(&j1), d2 = NextJob(&j2);
    EXPECT_EQ(d1, 107u);
    EXPECT_EQ(d2, d1 + 64 / 16); // the second read waits for the bus: exactly ceil(64/16) later
    EXPECT_EQ(luc_mem_stats(l)->bus_cycles, 8u);
}

TEST_F(Lookup, JobsLeaveInDoneOrderTiesByRequestOrder)
{
    cfg.move_bytes_per_cycle = 16;
    Start();
    Push(Req(9, kA), 0);         // miss: done 2 + 104 + 1 = 107
    Push(Req(1, kAll, true), 0); // starts 2: 4 + 64/16 -> 8
    Push(Req(2, kC, true), 0);   // starts 4: 6 + 32/16 -> 8
    Push(Req(3, 0, true), 0);    // starts 6: 8 + 0 -> 8
    std::vector<uint32_t> order;
    luc_job j;
    std::vector<cycle_t> at;
    cycle_t t;
    while ((t = NextJob(&j)) != CYCLE_NEVER) {
        order.push_back(j.ev.flow);
        at.push_back(t);
    }
    EXPECT_EQ(order, (std::vector<uint32_t>{1, 2, 3, 9}));
    EXPECT_EQ(at, (std::vector<cycle_t>{8, 8, 8, 107}));
}

// --- the flow-state cache
// -------------------------------------------------------------------------

TEST_F(Lookup, LruEvictsTheLeastRecentlyUsedRecord)
{
    cfg.cache_flows = 2;
    Start();
    luc_job j;
    auto fetch = [&](uint32_t flow) {
        Push(Req(flow, kA), last_ + 1000);
        NextJob(&j);
        luc_writeback(l, j.slot, last_);
    };
    fetch(1); // miss
    fetch(2); // miss
    fetch(1); // hit: 1 most recent
    fetch(3); // miss: evicts 2
    EXPECT_EQ(luc_get_stats(l)->evictions, 1u);
    fetch(1); // hit
    fetch(2); // miss: evicts 3
    fetch(1); // hit
    fetch(3); // miss: evicts 2
    const luc_stats *st = luc_get_stats(l);
    EXPECT_EQ(st->cache_hits, 3u);
    EXPECT_EQ(st->cache_misses, 5u);
    EXPECT_EQ(st->evictions, 3u);
    // every record had been written back (dirty): each eviction wrote a whole record
    EXPECT_EQ(luc_mem_stats(l)->writes, 3u);
    EXPECT_EQ(luc_mem_stats(l)->bytes_written, 3u * 64);
}

TEST_F(Lookup, HitMakesTheRecordMostRecent)
{
    cfg.cache_flows = 2;
    Start();
    luc_job j;
    Fetch(Req(1, kA), 0, &j);    // miss
    Fetch(Req(2, kA), 1000, &j); // miss
    Fetch(Req(1, kA), 2000, &j); // hit: 1 is now the most recent (no writeback in between)
    Fetch(Req(3, kA), 3000, &j); // miss: evicts 2
    EXPECT_EQ(Fetch(Req(1, kA), 4000, &j), 4000u + 4 + 1); // still cached
    EXPECT_EQ(luc_get_stats(l)->cache_hits, 2u);
    EXPECT_EQ(Fetch(Req(2, kA), 5000, &j), 5107u); // was evicted
    EXPECT_EQ(luc_get_stats(l)->cache_misses, 4u);
    EXPECT_EQ(luc_mem_stats(l)->writes, 0u); // nothing was dirty
}

TEST_F(Lookup, CleanEvictionWritesNothingAndDirtyEvictionDoesNotDelayTheRequest)
{
    cfg.cache_flows = 1;
    Start();
    luc_job j;
    EXPECT_EQ(Fetch(Req(1, kA), 0, &j), 107u);
    luc_writeback(l, j.slot, 107); // wait for it: no write (the cache holds it)
    EXPECT_EQ(luc_mem_stats(l)->writes, 0u);
    // flow 1 is dirty: fetching flow 2 evicts it; the read is issued first, unloaded
    EXPECT_EQ(Fetch(Req(2, kA), 1000, &j), 1107u);
    EXPECT_EQ(luc_mem_stats(l)->writes, 1u);
    EXPECT_EQ(luc_mem_stats(l)->bytes_written, 64u);
    // flow 2's job is still at its core: fetching flow 3 evicts flow 2, which is clean
    EXPECT_EQ(Fetch(Req(3, kA), 2000, &j), 2107u);
    EXPECT_EQ(luc_get_stats(l)->evictions, 2u);
    EXPECT_EQ(luc_mem_stats(l)->writes, 1u);
}

TEST_F(Lookup, WritebackOfAnEvictedRecordWritesAroundTheCache)
{
    cfg.cache_flows = 1;
    Start();
    luc_job j1, j2;
    Fetch(Req(1, kA), 0, &j1);
    Fetch(Req(2, kA), 1000, &j2); // evicts flow 1 (clean) while its job runs
    EXPECT_EQ(luc_mem_stats(l)->writes, 0u);
    luc_writeback(l, j1.slot, 2000);
    EXPECT_EQ(luc_mem_stats(l)->writes, 1u);
    EXPECT_EQ(luc_mem_stats(l)->bytes_written, 16u);
    luc_writeback(l, j2.slot, 2000); // cached: becomes dirty, no write
    EXPECT_EQ(luc_mem_stats(l)->writes, 1u);
}

TEST_F(Lookup, FreshRecordIsCachedDirty)
{
    cfg.cache_flows = 1;
    Start();
    luc_job j;
    EXPECT_EQ(Fetch(Req(1, kA, true), 0, &j), 3u);   // not written back: dirty all the same
    EXPECT_EQ(Fetch(Req(2, kA, true), 20, &j), 23u); // evicts flow 1
    EXPECT_EQ(luc_get_stats(l)->evictions, 1u);
    EXPECT_EQ(luc_mem_stats(l)->writes, 1u);
    EXPECT_EQ(luc_mem_stats(l)->bytes_written, 64u);
    EXPECT_EQ(Fetch(Req(2, kA), 30, &j), 30u + 4 + 1); // cached: a hit
    EXPECT_EQ(luc_get_stats(l)->cache_hits, 1u);
    EXPECT_EQ(luc_mem_stats(l)->reads, 0u);
}

TEST_F(Lookup, WithoutCacheEveryFetchMissesAndWritebackWritesThePortions)
{
    cfg.cache_flows = 0;
    Start();
    luc_job j;
    EXPECT_EQ(Fetch(Req(4, kA), 0, &j), 107u);
    luc_writeback(l, j.slot, 200);
    EXPECT_EQ(luc_mem_stats(l)->writes, 1u);
    EXPECT_EQ(luc_mem_stats(l)->bytes_written, 16u);            // portion a only
    EXPECT_EQ(Fetch(Req(4, kB | kC), 300, &j), 300u + 106 + 2); // 48 bytes at 32 per cycle
    luc_writeback(l, j.slot, 500);
    EXPECT_EQ(luc_mem_stats(l)->bytes_written, 16u + 48);
    const luc_stats *st = luc_get_stats(l);
    EXPECT_EQ(st->cache_misses, 2u);
    EXPECT_EQ(st->cache_hits, 0u);
    EXPECT_EQ(st->evictions, 0u);
    EXPECT_EQ(st->writebacks, 2u);
    EXPECT_EQ(st->bytes_moved, 2u * 16 + 2 * 48);
}

// --- workspace contents
// ---------------------------------------------------------------------------

TEST_F(Lookup, WritebackCopiesOnlyTheRequestedPortions)
{
    Start();
    luc_job j;
    Fetch(Req(2, kB, true), 0, &j);
    std::memset(j.ws, 0x11, 64); // the core scribbles over the whole slot
    luc_writeback(l, j.slot, 10);
    const uint8_t *rec = luc_record(l, 2);
    for (unsigned i = 0; i < 64; i++)
        EXPECT_EQ(rec[i], i >= 16 && i < 32 ? 0x11 : 0) << i;
    // the next fetch brings the record back into a slot
    Fetch(Req(2, kA | kC), 20, &j);
    for (unsigned i = 0; i < 64; i++)
        EXPECT_EQ(j.ws[i], rec[i]) << i;
    j.ws[0] = 0x22;
    j.ws[20] = 0x33; // portion b: not requested this time
    j.ws[40] = 0x44;
    luc_writeback(l, j.slot, 40);
    EXPECT_EQ(rec[0], 0x22);
    EXPECT_EQ(rec[20], 0x11);
    EXPECT_EQ(rec[40], 0x44);
    EXPECT_EQ(luc_slots_in_use(l), 0u);
}

// A flow's close takes its state record with it: an event parked behind the close (a SYN of
// the next connection on the same proxy) is fetched as a new flow's record, all zeros.
TEST_F(Lookup, FlowCloseZeroesTheRecord)
{
    Start();
    luc_job j;
    Fetch(Req(2, kA | kB | kC, true), 0, &j);
    std::memset(j.ws, 0x5a, 64);
    luc_writeback(l, j.slot, 10);
    Fetch(Req(3, kA, true), 20, &j); // another flow, untouched by the close
    std::memset(j.ws, 0x66, 64);
    luc_writeback(l, j.slot, 30);
    EXPECT_EQ(luc_record(l, 2)[5], 0x5a);
    luc_flow_close(l, 2);
    for (unsigned i = 0; i < 64; i++)
        EXPECT_EQ(luc_record(l, 2)[i], 0) << i;
    Fetch(Req(2, kA | kB | kC), 40, &j); // not fresh: read back from the record
    for (unsigned i = 0; i < 64; i++)
        EXPECT_EQ(j.ws[i], 0) << i;
    EXPECT_EQ(luc_record(l, 3)[0], 0x66);
    luc_writeback(l, j.slot, 50);
}

TEST_F(Lookup, EmptyRecordLayoutWorks)
{
    uc_image empty{};
    sim_err err{};
    cfg.cache_flows = 0;
    l = luc_new(&cfg, 4, &empty, &err);
    ASSERT_NE(l, nullptr) << err.msg;
    luc_job j;
    EXPECT_EQ(Fetch(Req(1, 0xff, true), 0, &j), 2u);
    EXPECT_EQ(j.ws_len, 0u);
    EXPECT_NE(j.ws, nullptr);
    luc_writeback(l, j.slot, 5);
    EXPECT_EQ(Fetch(Req(1, 0), 10, &j), 10u + 2 + 100);
    luc_writeback(l, j.slot, 200);
    EXPECT_EQ(luc_mem_stats(l)->writes, 0u);
    EXPECT_NE(luc_record(l, 1), nullptr);
}

// --- back-pressure
// --------------------------------------------------------------------------------

TEST_F(Lookup, RequestsWaitForAFreeSlot)
{
    cfg.slots = 1;
    Start();
    Push(Req(1, kA, true), 0);
    Push(Req(2, kA, true), 0);
    luc_job j;
    EXPECT_EQ(NextJob(&j), 3u);
    EXPECT_EQ(j.slot, 0u);
    EXPECT_EQ(luc_slots_in_use(l), 1u);
    EXPECT_EQ(luc_next_cycle(l), CYCLE_NEVER); // the second waits for a writeback
    EXPECT_FALSE(luc_idle(l));
    luc_writeback(l, j.slot, 500);
    EXPECT_EQ(luc_next_cycle(l), 500u);
    EXPECT_EQ(NextJob(&j), 503u);
    EXPECT_EQ(j.ev.flow, 2u);
    EXPECT_EQ(luc_get_stats(l)->stall_no_slot, 500u - 2); // ready at 2, started at 500
    luc_writeback(l, j.slot, 600);
    EXPECT_TRUE(luc_idle(l));
    EXPECT_EQ(luc_slots_in_use(l), 0u);
}

TEST_F(Lookup, FullOutQueueHoldsFinishedJobs)
{
    cfg.out_depth = 1;
    Start();
    Push(Req(1, kA, true), 0); // done 3
    Push(Req(2, kA, true), 0); // done 5
    EXPECT_EQ(RunTo(100), 5u);
    luc_job j;
    ASSERT_TRUE(luc_peek_out(l, &j));
    EXPECT_EQ(j.ev.flow, 1u);
    EXPECT_EQ(luc_get_stats(l)->stall_out_full, 1u);
    EXPECT_EQ(luc_next_cycle(l), CYCLE_NEVER);
    luc_advance(l, 50);
    EXPECT_EQ(luc_get_stats(l)->stall_out_full, 1u); // counted once per job
    luc_pop_out(l);
    EXPECT_EQ(luc_next_cycle(l), 50u); // due: the latest cycle seen
    EXPECT_EQ(luc_advance(l, 60), 1u);
    ASSERT_TRUE(luc_peek_out(l, &j));
    EXPECT_EQ(j.ev.flow, 2u);
}

TEST_F(Lookup, FullInputQueueRefusesAndCounts)
{
    cfg.in_depth = 2;
    Start();
    Push(Req(1, kA, true), 0);
    Push(Req(2, kA, true), 0);
    EXPECT_FALSE(luc_can_accept(l));
    luc_refuse(l);
    EXPECT_EQ(luc_get_stats(l)->stall_in_full, 1u);
    EXPECT_EQ(luc_get_stats(l)->requests, 2u);
    luc_advance(l, 0);
    EXPECT_TRUE(luc_can_accept(l));
    char buf[256];
    luc_describe(l, buf, sizeof buf);
    EXPECT_NE(std::string(buf).find("in 1/2"), std::string::npos) << buf;
    EXPECT_NE(std::string(buf).find("slots 1/256"), std::string::npos) << buf;
    EXPECT_NE(std::string(buf).find("timers 0 armed"), std::string::npos) << buf;
}

// --- timers
// ---------------------------------------------------------------------------------------

TEST_F(Lookup, TimerFiresAtTheRoundedTickWithTheRightEvent)
{
    Start();
    luc_timer_set(l, 7, 1, 2500, 100); // tick 3 -> cycle 3000
    EXPECT_EQ(luc_timers_armed(l), 1u);
    EXPECT_TRUE(luc_idle(l)); // armed timers do not count
    EXPECT_EQ(luc_next_cycle(l), 3000u);
    EXPECT_EQ(luc_advance(l, 2999), 0u);
    event e;
    EXPECT_FALSE(luc_peek_timer(l, &e));
    EXPECT_EQ(luc_advance(l, 3000), 1u);
    ASSERT_TRUE(luc_peek_timer(l, &e));
    EXPECT_EQ(e.type, EV_TCP_DELACK);
    EXPECT_EQ(e.cls, EVC_TIMER);
    EXPECT_EQ(e.chan, CH_TIMER);
    EXPECT_EQ(e.proto, PROTO_TCP);
    EXPECT_EQ(e.flow, 7u);
    EXPECT_EQ(e.arg, 1u);
    EXPECT_EQ(e.t_arrival, 0u);
    EXPECT_EQ(e.sp_handle, SP_NONE);
    EXPECT_FALSE(luc_idle(l));
    luc_pop_timer(l);
    EXPECT_EQ(luc_timers_armed(l), 0u);
    EXPECT_EQ(luc_next_cycle(l), CYCLE_NEVER);
    EXPECT_EQ(luc_get_stats(l)->timers_fired, 1u);

    luc_timer_set(l, 7, 0, 5000, 3000); // on a tick boundary: fires exactly then
    EXPECT_EQ(luc_next_cycle(l), 5000u);
    auto v = Timers();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].first, 5000u);
    EXPECT_EQ(v[0].second.type, EV_TCP_RTO);
}

TEST_F(Lookup, TimerTypesCanBeSet)
{
    Start();
    const uint8_t types[LUC_TIMERS] = {EV_OTHER, EV_TCP_INTERNAL, EV_TCP_SEND, EV_TCP_CLOSE};
    luc_set_timer_types(l, types);
    luc_timer_set(l, 1, 3, 10, 0);
    auto v = Timers();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].second.type, EV_TCP_CLOSE);
    EXPECT_EQ(v[0].second.arg, 3u);
}

TEST_F(Lookup, RearmReplacesTheEarlierExpiry)
{
    Start();
    luc_timer_set(l, 2, 0, 5000, 0);
    luc_timer_set(l, 2, 0, 2000, 0); // earlier
    EXPECT_EQ(luc_timers_armed(l), 1u);
    EXPECT_EQ(luc_next_cycle(l), 2000u);
    luc_timer_set(l, 2, 0, 9000, 0); // later: the hint moves on
    EXPECT_EQ(luc_next_cycle(l), 9000u);
    auto v = Timers();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].first, 9000u);
    EXPECT_EQ(luc_get_stats(l)->timers_set, 3u);
    EXPECT_EQ(luc_get_stats(l)->timers_cancelled, 0u);
}

TEST_F(Lookup, CancelDisarmsAndNextCycleMovesOn)
{
    Start();
    luc_timer_set(l, 1, 0, 1000, 0);
    luc_timer_set(l, 2, 0, 4000, 0);
    EXPECT_EQ(luc_next_cycle(l), 1000u);
    luc_timer_cancel(l, 1, 0);
    EXPECT_EQ(luc_next_cycle(l), 4000u);
    luc_timer_cancel(l, 1, 0); // unarmed: nothing
    luc_timer_cancel(l, 3, 2);
    EXPECT_EQ(luc_get_stats(l)->timers_cancelled, 1u);
    luc_timer_cancel(l, 2, 0);
    EXPECT_EQ(luc_timers_armed(l), 0u);
    EXPECT_EQ(luc_next_cycle(l), CYCLE_NEVER);
    EXPECT_TRUE(Timers().empty());
    EXPECT_EQ(luc_get_stats(l)->timers_peak, 2u);
}

TEST_F(Lookup, FlowCloseCancelsAllItsTimers)
{
    Start();
    for (unsigned id = 0; id < LUC_TIMERS; id++) {
        luc_timer_set(l, 5, id, 1000 * (id + 1), 0);
        luc_timer_set(l, 6, id, 1000 * (id + 1), 0);
    }
    EXPECT_EQ(luc_timers_armed(l), 8u);
    luc_flow_close(l, 5);
    EXPECT_EQ(luc_timers_armed(l), 4u);
    EXPECT_EQ(luc_get_stats(l)->timers_cancelled, 4u);
    auto v = Timers();
    ASSERT_EQ(v.size(), 4u);
    for (unsigned i = 0; i < 4; i++) {
        EXPECT_EQ(v[i].second.flow, 6u);
        EXPECT_EQ(v[i].second.arg, i);
        EXPECT_EQ(v[i].first, 1000u * (i + 1));
    }
}

TEST_F(Lookup, TimersBeyondOneRevolutionShareABucket)
{
    cfg.timer_slots = 8;
    cfg.timer_tick_cycles = 10;
    Start();
    luc_timer_set(l, 1, 0, 190, 0); // tick 19: bucket 3, two revolutions on
    luc_timer_set(l, 2, 0, 110, 0); // tick 11: bucket 3
    luc_timer_set(l, 3, 0, 25, 0);  // tick 3: bucket 3
    luc_timer_set(l, 4, 0, 1000000, 0);
    EXPECT_EQ(luc_next_cycle(l), 30u);
    luc_advance(l, 30);
    last_ = 30;
    EXPECT_EQ(luc_next_cycle(l), 110u);
    auto v = Timers();
    ASSERT_EQ(v.size(), 4u);
    EXPECT_EQ(v[0].second.flow, 3u);
    EXPECT_EQ(v[0].first, 30u);
    EXPECT_EQ(v[1].second.flow, 2u);
    EXPECT_EQ(v[1].first, 110u);
    EXPECT_EQ(v[2].second.flow, 1u);
    EXPECT_EQ(v[2].first, 190u);
    EXPECT_EQ(v[3].second.flow, 4u);
    EXPECT_EQ(v[3].first, 1000000u);
}

TEST_F(Lookup, LateAdvanceFiresEverythingDueAndPastExpiriesAreDueAtOnce)
{
    Start();
    luc_timer_set(l, 1, 0, 3000, 0);
    luc_timer_set(l, 2, 0, 1000, 0);
    EXPECT_EQ(luc_advance(l, 10000), 2u);
    event e;
    ASSERT_TRUE(luc_peek_timer(l, &e));
    EXPECT_EQ(e.flow, 2u); // the earlier tick first
    luc_pop_timer(l);
    ASSERT_TRUE(luc_peek_timer(l, &e));
    EXPECT_EQ(e.flow, 1u);
    luc_pop_timer(l);
    luc_timer_set(l, 3, 0, 500, 20000); // already past
    EXPECT_EQ(luc_next_cycle(l), 20000u);
    EXPECT_EQ(luc_advance(l, 20000), 1u);
}

TEST_F(Lookup, ManyTimersFireInTickFlowIdOrder)
{
    cfg.timer_slots = 16;
    cfg.timer_tick_cycles = 100;
    cfg.out_depth = 5; // several passes per tick
    Start(64);
    std::mt19937 rng(42);
    std::vector<std::tuple<uint64_t, uint32_t, unsigned>> want;
    std::vector<cycle_t> expiry(64 * LUC_TIMERS, CYCLE_NEVER);
    for (int i = 0; i < 400; i++) {
        uint32_t flow = rng() % 64;
        unsigned id = rng() % LUC_TIMERS;
        cycle_t x = rng() % 5000; // ticks 0..50: three revolutions
        luc_timer_set(l, flow, id, x, 0);
        expiry[flow * LUC_TIMERS + id] = x;
    }
    for (uint32_t f = 0; f < 64; f += 7)
        luc_flow_close(l, f);
    for (uint32_t f = 0; f < 64; f += 7)
        for (unsigned id = 0; id < LUC_TIMERS; id++)
            expiry[f * LUC_TIMERS + id] = CYCLE_NEVER;
    for (uint32_t e = 0; e < expiry.size(); e++)
        if (expiry[e] != CYCLE_NEVER)
            want.emplace_back((expiry[e] + 99) / 100, e / LUC_TIMERS, e % LUC_TIMERS);
    std::sort(want.begin(), want.end());
    EXPECT_EQ(luc_timers_armed(l), want.size());
    auto v = Timers();
    ASSERT_EQ(v.size(), want.size());
    for (size_t i = 0; i < v.size(); i++) {
        EXPECT_EQ(v[i].second.flow, std::get<1>(want[i])) << i;
        EXPECT_EQ(v[i].second.arg, std::get<2>(want[i])) << i;
        EXPECT_EQ(v[i].first, std::get<0>(want[i]) * 100) << i; // no pass waited past its tick
    }
    EXPECT_EQ(luc_timers_armed(l), 0u);
    EXPECT_EQ(luc_get_stats(l)->timers_fired, want.size());
}

// The earliest armed timer stays exact: over a random mix of arms, re-arms (earlier and later),
// cancels and advances on a small wheel (many revolutions share a bucket), luc_next_timer is always
// the earliest armed tick, and every advance fires exactly the due timers, by tick, then flow, then
// id.
TEST_F(Lookup, SortedBucketsKeepTheEarliestTimerExact)
{
    cfg.timer_slots = 8;
    cfg.timer_tick_cycles = 10;
    cfg.out_depth = 4096;
    Start(32);
    std::mt19937 rng(7);
    std::vector<uint64_t> tick(32 * LUC_TIMERS, UINT64_MAX); // armed tick per entry
    cycle_t now = 0;
    size_t fired = 0;
    for (int i = 0; i < 20000; i++) {
        uint32_t e = rng() % tick.size();
        unsigned op = rng() % 8;
        if (op < 4) { // arm or re-arm, up to 25 revolutions ahead
            cycle_t x = now + rng() % 2000;
            luc_timer_set(l, e / LUC_TIMERS, e % LUC_TIMERS, x, now);
            tick[e] = (x + 9) / 10;
        } else if (op < 6) {
            luc_timer_cancel(l, e / LUC_TIMERS, e % LUC_TIMERS);
            tick[e] = UINT64_MAX;
        } else { // advance a little: the due timers fire in (tick, flow, id) order
            now += rng() % 40;
            std::vector<std::pair<uint64_t, uint32_t>> due;
            for (uint32_t k = 0; k < tick.size(); k++)
                if (tick[k] != UINT64_MAX && tick[k] * 10 <= now)
                    due.emplace_back(tick[k], k);
            std::sort(due.begin(), due.end());
            EXPECT_EQ(luc_advance(l, now), due.size()) << i;
            for (const auto &d : due) {
                event ev;
                ASSERT_TRUE(luc_peek_timer(l, &ev)) << i;
                EXPECT_EQ(ev.flow * LUC_TIMERS + ev.arg, d.second) << i;
                luc_pop_timer(l);
                tick[d.second] = UINT64_MAX;
                fired++;
            }
            event ev;
            EXPECT_FALSE(luc_peek_timer(l, &ev)) << i;
        }
        uint64_t least = *std::min_element(tick.begin(), tick.end());
        ASSERT_EQ(luc_next_timer(l), least == UINT64_MAX ? CYCLE_NEVER : least * 10) << i;
    }
    EXPECT_GT(fired, 1000u);
}

TEST_F(Lookup, FullTimerQueueHoldsDueTimersArmed)
{
    cfg.out_depth = 1;
    Start();
    luc_timer_set(l, 1, 0, 1000, 0);
    luc_timer_set(l, 2, 0, 1000, 0);
    luc_timer_set(l, 3, 0, 1000, 0);
    EXPECT_EQ(luc_advance(l, 1000), 1u);
    EXPECT_EQ(luc_get_stats(l)->stall_out_full, 1u);
    EXPECT_EQ(luc_timers_armed(l), 2u);
    EXPECT_EQ(luc_next_cycle(l), CYCLE_NEVER);
    luc_timer_cancel(l, 2, 0); // still armed, so it can be cancelled
    event e;
    ASSERT_TRUE(luc_peek_timer(l, &e));
    EXPECT_EQ(e.flow, 1u);
    luc_pop_timer(l);
    EXPECT_EQ(luc_next_cycle(l), 1000u);
    EXPECT_EQ(luc_advance(l, 1200), 1u);
    ASSERT_TRUE(luc_peek_timer(l, &e));
    EXPECT_EQ(e.flow, 3u);
    luc_pop_timer(l);
    EXPECT_EQ(luc_next_cycle(l), CYCLE_NEVER);
}

// A reference model of the timers' observable behaviour, against which the controller is checked
// step by step over a random mix of arms, re-arms (earlier, later, the same tick), cancels,
// advances and pops of a small timer queue: at each tick the armed timers of that tick fire
// lowest entry (flow * LUC_TIMERS + id) first, as many as the queue has room for; the rest stay
// armed for the next advance; a full queue is counted once per wait. Exact events, counts,
// next cycles and stats.
struct TimerModel {
    uint64_t tc;
    size_t cap;
    std::vector<uint64_t> tick; // per entry; UINT64_MAX: unarmed
    std::vector<uint32_t> queue;
    bool blocked = false;
    uint64_t set = 0, cancelled = 0, fired = 0, peak = 0, stalls = 0;
    size_t Armed() const
    {
        return (size_t)std::count_if(tick.begin(), tick.end(),
                                     [](uint64_t t) { return t != UINT64_MAX; });
    }
    void Set(uint32_t e, cycle_t x)
    {
        set++;
        tick[e] = (x + tc - 1) / tc;
        peak = std::max<uint64_t>(peak, Armed());
    }
    void Cancel(uint32_t e)
    {
        if (tick[e] != UINT64_MAX)
            cancelled++;
        tick[e] = UINT64_MAX;
    }
    uint64_t Least() const { return *std::min_element(tick.begin(), tick.end()); }
    unsigned Advance(cycle_t now)
    {
        unsigned n = 0;
        for (;;) {
            uint64_t t = Least();
            if (t == UINT64_MAX || t > now / tc)
                break;
            if (queue.size() == cap) {
                if (!blocked)
                    stalls++;
                blocked = true;
                break;
            }
            for (uint32_t e = 0; e < tick.size() && queue.size() < cap; e++)
                if (tick[e] == t) {
                    queue.push_back(e);
                    tick[e] = UINT64_MAX;
                    fired++;
                    n++;
                }
            blocked = false;
        }
        return n;
    }
    cycle_t NextTimer(cycle_t now) const
    {
        uint64_t t = Least();
        if (t == UINT64_MAX || (blocked && queue.size() == cap))
            return CYCLE_NEVER;
        return std::max<cycle_t>(t * tc, now);
    }
};

TEST_F(Lookup, TimersMatchAReferenceModelWithASmallTimerQueue)
{
    for (uint32_t depth : {1u, 3u, 16u}) {
        luc_free(l);
        l = nullptr;
        cfg.timer_slots = 8;
        cfg.timer_tick_cycles = 10;
        cfg.out_depth = depth;
        Start(40);
        TimerModel m{10, depth, std::vector<uint64_t>(40 * LUC_TIMERS, UINT64_MAX), {}};
        std::mt19937 rng(depth);
        cycle_t now = 0;
        for (int i = 0; i < 30000; i++) {
            uint32_t e = rng() % m.tick.size();
            unsigned op = rng() % 16;
            if (op < 5) { // arm or re-arm, earlier or later, often at a tick others have
                cycle_t x = now + (rng() % 4 ? (rng() % 8) * 10 : rng() % 3000);
                luc_timer_set(l, e / LUC_TIMERS, e % LUC_TIMERS, x, now);
                m.Set(e, x);
            } else if (op < 6 && m.tick[e] != UINT64_MAX) { // re-arm at the same tick
                cycle_t x = m.tick[e] * 10 - rng() % 10;
                luc_timer_set(l, e / LUC_TIMERS, e % LUC_TIMERS, x, now);
                m.Set(e, x);
            } else if (op < 8) {
                luc_timer_cancel(l, e / LUC_TIMERS, e % LUC_TIMERS);
                m.Cancel(e);
            } else if (op < 12) {
                now += rng() % 30;
                ASSERT_EQ(luc_advance(l, now), m.Advance(now)) << depth << " " << i;
            } else { // the consumer takes a few events
                for (unsigned k = rng() % 4; k && !m.queue.empty(); k--) {
                    const event *ev = luc_front_timer(l);
                    ASSERT_NE(ev, nullptr) << depth << " " << i;
                    EXPECT_EQ(ev->flow * LUC_TIMERS + ev->arg, m.queue.front()) << i;
                    EXPECT_EQ(ev->type, EV_TCP_RTO + ev->arg);
                    m.queue.erase(m.queue.begin());
                    luc_pop_timer(l);
                }
            }
            ASSERT_EQ(luc_timers_armed(l), m.Armed()) << depth << " " << i;
            ASSERT_EQ(luc_next_timer(l), m.NextTimer(now)) << depth << " " << i;
        }
        const luc_stats *s = luc_get_stats(l);
        EXPECT_EQ(s->timers_set, m.set);
        EXPECT_EQ(s->timers_cancelled, m.cancelled);
        EXPECT_EQ(s->timers_fired, m.fired);
        EXPECT_EQ(s->timers_peak, m.peak);
        EXPECT_EQ(s->stall_out_full, m.stalls);
        EXPECT_GT(m.fired, 1000u);
        EXPECT_GT(m.stalls, depth == 16 ? 0u : 100u);
    }
}

// Many timers at a few equal ticks, armed in a scrambled order over thousands of flows: each
// tick's timers fire in index order, split over passes by the timer queue's room.
TEST_F(Lookup, ThousandsOfTimersAtEqualTicksFireInIndexOrder)
{
    cfg.timer_tick_cycles = 100;
    cfg.out_depth = 7;
    const uint32_t flows = 3000;
    Start(flows);
    std::vector<uint32_t> order(flows * LUC_TIMERS);
    for (uint32_t e = 0; e < order.size(); e++)
        order[e] = e;
    std::shuffle(order.begin(), order.end(), std::mt19937(3));
    for (uint32_t e : order) // tick 1 + e % 3; every fifth entry first far away, then moved in
        if (e % 5 == 0) {
            luc_timer_set(l, e / LUC_TIMERS, e % LUC_TIMERS, 1000000, 0);
        }
    for (uint32_t e : order)
        luc_timer_set(l, e / LUC_TIMERS, e % LUC_TIMERS, 100 * (1 + e % 3), 0);
    EXPECT_EQ(luc_get_stats(l)->timers_peak, order.size());
    std::vector<uint32_t> got;
    std::vector<cycle_t> when;
    for (auto &p : Timers()) {
        got.push_back(p.second.flow * LUC_TIMERS + p.second.arg);
        when.push_back(p.first);
    }
    ASSERT_EQ(got.size(), order.size());
    for (uint32_t i = 0, k = 0; k < 3; k++)
        for (uint32_t e = k; e < order.size(); e += 3, i++) {
            ASSERT_EQ(got[i], e) << i;
            ASSERT_EQ(when[i], 100 * (k + 1)) << i; // the consumer keeps up: no pass waits
        }
}

TEST_F(Lookup, NextCycleIsTheEarliestOfEngineJobsAndTimers)
{
    Start();
    luc_timer_set(l, 1, 0, 50, 0); // tick 1 -> 1000
    Push(Req(2, kA), 0);
    EXPECT_EQ(luc_next_cycle(l), 0u);
    luc_advance(l, 0);
    EXPECT_EQ(luc_next_cycle(l), 107u);
    luc_advance(l, 107);
    luc_job j;
    ASSERT_TRUE(luc_peek_out(l, &j));
    luc_pop_out(l);
    EXPECT_EQ(luc_next_cycle(l), 1000u);
    EXPECT_TRUE(luc_idle(l));
    EXPECT_EQ(luc_slots_in_use(l), 1u); // held by its core until the writeback
    luc_writeback(l, j.slot, 120);
    EXPECT_EQ(luc_slots_in_use(l), 0u);
}

// Jobs are built at luc_push in a pool of in_depth + slots entries that are reused: many more
// requests than entries, each job still carries its own request (flow, packet, core, portions)
// and its slot's workspace, and the pool never runs dry with every queue full at once.
TEST_F(Lookup, JobPoolIsReusedAndKeepsEachRequest)
{
    cfg.in_depth = 2;
    cfg.slots = 2;
    cfg.out_depth = 2;
    Start();
    cycle_t now = 0;
    uint32_t done = 0;
    std::vector<uint32_t> held;
    for (uint32_t n = 0; n < 40 || done < 40;) {
        while (n < 40 && luc_can_accept(l)) {
            luc_req r = Req(n % 16, n % 2 ? kA : kB | kC, false, static_cast<uint16_t>(n));
            r.ev.pkt = 1000 + n;
            Push(r, now);
            n++;
        }
        luc_advance(l, now);
        // the out-queue is emptied only every other cycle, so it fills and jobs wait finished
        while (now % 2 == 0 && luc_front_out(l)) {
            const luc_job *j = luc_front_out(l);
            EXPECT_EQ(j->ev.pkt, 1000u + done);
            EXPECT_EQ(j->ev.flow, done % 16);
            EXPECT_EQ(j->core, done);
            EXPECT_EQ(j->portions, done % 2 ? kA : kB | kC);
            EXPECT_EQ(j->cluster, 1u);
            EXPECT_EQ(j->ws_len, 64u);
            ASSERT_LT(j->slot, 2u);
            held.push_back(j->slot);
            luc_pop_out(l);
            done++;
        }
        for (uint32_t s : held) // the cores finish at once
            luc_writeback(l, s, now);
        held.clear();
        now++;
        ASSERT_LT(now, 100000u);
    }
    EXPECT_EQ(luc_get_stats(l)->requests, 40u);
    EXPECT_EQ(luc_get_stats(l)->writebacks, 40u);
    EXPECT_TRUE(luc_idle(l));
}

// luc_next_cycles gives luc_next_cycle and luc_next_timer at once; an advance before that cycle
// does nothing.
TEST_F(Lookup, NextCyclesIsNextCycleAndNextTimer)
{
    Start();
    cycle_t timer = 0;
    EXPECT_EQ(luc_next_cycles(l, &timer), CYCLE_NEVER);
    EXPECT_EQ(timer, CYCLE_NEVER);
    luc_timer_set(l, 1, 0, 1500, 0); // tick 2 -> 2000
    Push(Req(2, kA), 0);
    luc_advance(l, 0); // started: done at 107
    EXPECT_EQ(luc_next_cycles(l, &timer), 107u);
    EXPECT_EQ(timer, 2000u);
    EXPECT_EQ(luc_next_cycle(l), 107u);
    EXPECT_EQ(luc_next_timer(l), 2000u);
    EXPECT_EQ(luc_advance(l, 106), 0u);
    EXPECT_FALSE(luc_front_out(l));
    EXPECT_EQ(luc_next_cycles(l, &timer), 107u);
    EXPECT_EQ(luc_advance(l, 107), 1u);
    ASSERT_TRUE(luc_front_out(l));
    luc_pop_out(l);
    EXPECT_EQ(luc_next_cycles(l, &timer), 2000u);
    EXPECT_EQ(timer, 2000u);
    luc_timer_cancel(l, 1, 0);
    EXPECT_EQ(luc_next_cycles(l, &timer), CYCLE_NEVER);
    EXPECT_EQ(timer, CYCLE_NEVER);
}

// Re-arming a timer at the tick it already has keeps it armed once and counts the set.
TEST_F(Lookup, RearmAtTheSameTickKeepsOneTimer)
{
    Start();
    luc_timer_set(l, 3, 1, 2500, 0); // tick 3
    luc_timer_set(l, 3, 1, 2100, 0); // tick 3 again
    EXPECT_EQ(luc_timers_armed(l), 1u);
    EXPECT_EQ(luc_get_stats(l)->timers_set, 2u);
    EXPECT_EQ(luc_next_timer(l), 3000u);
    auto v = Timers();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].first, 3000u);
    EXPECT_EQ(v[0].second.flow, 3u);
    EXPECT_EQ(v[0].second.arg, 1u);
    EXPECT_EQ(luc_timers_armed(l), 0u);
}

} // namespace

// One image per protocol: records as large as the largest image's, a request moves the portions
// of its event's protocol's image, and a flow's timers expire as its protocol's events.
TEST(LookupProtocols, PortionsAndTimersFollowTheEventsProtocol)
{
    uc_image tcp{}, roce{};
    tcp.ws_size = 64;
    tcp.nportions = 1;
    tcp.portions[0] = {"a", 0, 16};
    roce.ws_size = 96;
    roce.nportions = 2;
    roce.portions[0] = {"q", 0, 80};
    roce.portions[1] = {"c", 80, 16};
    const uc_image *by[PROTO_COUNT] = {};
    by[PROTO_ROCE] = &roce;
    luc_cfg cfg;
    luc_cfg_default(&cfg);
    sim_err err{};
    luc *l = luc_new_protos(&cfg, 8, &tcp, by, &err);
    ASSERT_NE(l, nullptr) << err.msg;
    auto job = [&](uint32_t flow, unsigned proto, uint8_t portions, luc_job *j) {
        luc_req r{};
        event_clear(&r.ev);
        r.ev.type = proto == PROTO_ROCE ? EV_ROCE_CONNECT : EV_TCP_SYN;
        r.ev.proto = (uint8_t)proto;
        r.ev.flow = flow;
        r.portions = portions;
        r.fresh = 1;
        luc_push(l, &r, 0);
        for (cycle_t t = 0; t < 10000 && !luc_peek_out(l, j); t++)
            luc_advance(l, t);
        ASSERT_TRUE(luc_peek_out(l, j));
        luc_pop_out(l);
    };
    luc_job j;
    job(3, PROTO_ROCE, 3, &j);
    EXPECT_EQ(j.ws_len, 96u);
    EXPECT_EQ(luc_get_stats(l)->bytes_moved, 96u);
    std::memset(j.ws, 0xab, 96);
    luc_writeback(l, j.slot, 500);
    EXPECT_EQ(luc_get_stats(l)->bytes_moved, 192u);
    EXPECT_EQ(luc_record(l, 3)[95], 0xab); // portion c: the RoCE image's, beyond the TCP record
    job(4, PROTO_TCP, 1, &j);
    EXPECT_EQ(j.ws_len, 64u);
    EXPECT_EQ(luc_get_stats(l)->bytes_moved, 208u);
    luc_writeback(l, j.slot, 600);
    luc_timer_set(l, 3, 0, 2000, 1000);
    luc_timer_set(l, 4, 0, 3000, 1000);
    std::vector<event> fired;
    for (cycle_t t = 1000; t <= 4000; t += 1000) {
        luc_advance(l, t);
        event e;
        while (luc_peek_timer(l, &e)) {
            fired.push_back(e);
            luc_pop_timer(l);
        }
    }
    ASSERT_EQ(fired.size(), 2u);
    EXPECT_EQ(fired[0].flow, 3u);
    EXPECT_EQ(fired[0].type, EV_ROCE_ACK_TIMER);
    EXPECT_EQ(fired[0].proto, PROTO_ROCE);
    EXPECT_EQ(fired[1].flow, 4u);
    EXPECT_EQ(fired[1].type, EV_TCP_RTO);
    EXPECT_EQ(fired[1].proto, PROTO_TCP);
    luc_free(l);
    roce.portions[1] = {"c", 90, 16}; // outside its record
    EXPECT_EQ(luc_new_protos(&cfg, 8, &tcp, by, &err), nullptr);
    EXPECT_NE(std::string(err.msg).find("outside the 96-byte record"), std::string::npos)
        << err.msg;
}

// Tests of the host application model (models/host/happ.c): reads at once by default; with a
// consumption rate, reads of at most read_bytes spaced by their processing time, per flow and
// independent between flows, due reads in (cycle, flow) order, and close forgetting a backlog.
#include <gtest/gtest.h>

#include <vector>

#include "happ.h"

namespace {

struct Read {
    uint32_t flow, bytes;
    cycle_t at;
    bool operator==(const Read &o) const
    {
        return flow == o.flow && bytes == o.bytes && at == o.at;
    }
};

class Happ : public ::testing::Test {
protected:
    happ_cfg cfg{};
    happ *h = nullptr;
    void SetUp() override { happ_cfg_default(&cfg); }
    void TearDown() override { happ_free(h); }
    void Make(uint32_t flows = 8)
    {
        sim_err err{};
        h = happ_new(&cfg, flows, &err);
        ASSERT_NE(h, nullptr) << err.msg;
    }
    // Every read due up to now, in the order they come out.
    std::vector<Read> Drain(cycle_t now)
    {
        std::vector<Read> v;
        Read r{};
        while (happ_pop_read(h, now, &r.flow, &r.bytes, &r.at))
            v.push_back(r);
        return v;
    }
};

TEST_F(Happ, DefaultsReadAtOnce)
{
    EXPECT_EQ(cfg.consume_mbps, 0u);
    EXPECT_EQ(cfg.read_bytes, 65536u);
    EXPECT_STREQ(happ_params.unit, "host_app");
    Make();
    EXPECT_TRUE(happ_immediate(h));
    happ_ready(h, 1, 1000, 5); // ignored: the caller reads at once
    EXPECT_EQ(happ_next_cycle(h), CYCLE_NEVER);
    EXPECT_EQ(happ_backlog(h, 1), 0u);
    EXPECT_TRUE(Drain(100).empty());
}

TEST_F(Happ, RejectsBadConfig)
{
    cfg.read_bytes = 0;
    sim_err err{};
    EXPECT_EQ(happ_new(&cfg, 4, &err), nullptr);
    EXPECT_NE(std::string(err.msg).find("host_app.read_bytes"), std::string::npos) << err.msg;
}

// 8 Mb/s at 1000 MHz: a byte takes 1000 cycles. 1000 bytes ready at cycle 10, reads of 300:
// 300 at 10, 300 at 10 + 300000, 300 at 10 + 600000, 100 at 10 + 900000.
TEST_F(Happ, ReadsAreSpacedByTheirProcessingTime)
{
    cfg.consume_mbps = 8;
    cfg.read_bytes = 300;
    Make();
    EXPECT_FALSE(happ_immediate(h));
    happ_ready(h, 3, 1000, 10);
    EXPECT_EQ(happ_backlog(h, 3), 1000u);
    EXPECT_EQ(happ_next_cycle(h), 10u);
    EXPECT_TRUE(Drain(9).empty());
    EXPECT_EQ(Drain(10), (std::vector<Read>{{3, 300, 10}}));
    EXPECT_EQ(happ_next_cycle(h), 300010u);
    EXPECT_EQ(happ_backlog(h, 3), 700u);
    EXPECT_EQ(Drain(1000000),
              (std::vector<Read>{{3, 300, 300010}, {3, 300, 600010}, {3, 100, 900010}}));
    EXPECT_EQ(happ_next_cycle(h), CYCLE_NEVER);
    EXPECT_EQ(happ_pending(h), 0u);
    // The reader is busy with the last 100 bytes until 1000010: data ready before waits for it.
    happ_ready(h, 3, 50, 950000);
    EXPECT_EQ(happ_next_cycle(h), 1000010u);
    // ... and data ready after it is read when it comes.
    EXPECT_EQ(Drain(2000000), (std::vector<Read>{{3, 50, 1000010}}));
    happ_ready(h, 3, 10, 3000000);
    EXPECT_EQ(Drain(3000000), (std::vector<Read>{{3, 10, 3000000}}));
    const happ_stats &st = *happ_get_stats(h);
    EXPECT_EQ(st.reads, 6u);
    EXPECT_EQ(st.bytes_read, 1060u);
    EXPECT_EQ(st.backlog_peak, 1000u);
}

// Each flow has its own reader; reads due at one cycle come out in flow order.
TEST_F(Happ, FlowsReadIndependentlyInCycleThenFlowOrder)
{
    cfg.consume_mbps = 8000; // a byte a cycle
    cfg.read_bytes = 100;
    Make();
    happ_ready(h, 5, 150, 0);
    happ_ready(h, 2, 150, 0);
    happ_ready(h, 7, 40, 60);
    EXPECT_EQ(Drain(1000), (std::vector<Read>{
                               {2, 100, 0}, {5, 100, 0}, {7, 40, 60}, {2, 50, 100}, {5, 50, 100}}));
}

TEST_F(Happ, CloseForgetsTheBacklogAndTheScheduledRead)
{
    cfg.consume_mbps = 8;
    cfg.read_bytes = 100;
    Make();
    happ_ready(h, 1, 500, 0);
    happ_ready(h, 2, 500, 0);
    happ_ready(h, 4, 500, 0);
    EXPECT_EQ(Drain(0).size(), 3u);
    EXPECT_EQ(happ_close(h, 2), 400u);
    EXPECT_EQ(happ_close(h, 2), 0u);
    EXPECT_EQ(happ_pending(h), 2u);
    EXPECT_EQ(happ_get_stats(h)->bytes_at_close, 400u);
    std::vector<Read> v = Drain(100000);
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0], (Read{1, 100, 100000}));
    EXPECT_EQ(v[1], (Read{4, 100, 100000}));
    // A new connection on the closed proxy starts with an idle reader.
    happ_ready(h, 2, 10, 100001);
    EXPECT_EQ(Drain(100001), (std::vector<Read>{{2, 10, 100001}}));
    EXPECT_EQ(happ_backlog(h, 99), 0u); // out of range: nothing
    happ_ready(h, 99, 10, 0);
    EXPECT_EQ(happ_close(h, 99), 0u);
    happ_reset_stats(h);
    EXPECT_EQ(happ_get_stats(h)->reads, 0u);
}

// Many flows in random order keep the heap's order: reads come out sorted by (cycle, flow).
TEST_F(Happ, ManyFlowsComeOutSorted)
{
    cfg.consume_mbps = 1000;
    cfg.read_bytes = 64;
    Make(257);
    uint64_t x = 12345;
    uint64_t total = 0;
    for (uint32_t i = 0; i < 2000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t flow = static_cast<uint32_t>(x >> 33) % 257;
        uint32_t bytes = 1 + static_cast<uint32_t>(x >> 20) % 300;
        happ_ready(h, flow, bytes, i * 3);
        total += bytes;
        if (i % 97 == 0)
            total -= happ_close(h, (flow * 7) % 257);
    }
    std::vector<Read> v = Drain(CYCLE_NEVER - 1);
    uint64_t got = 0;
    for (size_t i = 0; i < v.size(); i++) {
        got += v[i].bytes;
        EXPECT_LE(v[i].bytes, 64u);
        if (i) {
            EXPECT_TRUE(v[i - 1].at < v[i].at ||
                        (v[i - 1].at == v[i].at && v[i - 1].flow < v[i].flow));
        }
    }
    EXPECT_EQ(got, total); // every byte made ready and not forgotten is read
    EXPECT_EQ(happ_pending(h), 0u);
}

} // namespace

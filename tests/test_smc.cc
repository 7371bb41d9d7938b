// Tests of the socket memory controller (models/smc/smc.c): the buffer size rule, one page per
// allocation operation, window and pool refusals (all or nothing), duplicate counting, in-order
// delivery in page-bounded pieces with exact cycles from the memory channel, page recycling,
// close, 32-bit offsets unwrapped past 4 GiB, and the pages_in_use invariant under a
// pseudo-random workload checked against a reference model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "smc.h"

namespace {

struct Piece {
    uint32_t flow;
    uint64_t off;
    std::vector<uint8_t> data;
    cycle_t at;
};

void Record(void *ctx, uint32_t flow, uint64_t off, const uint8_t *data, uint32_t len, cycle_t at)
{
    static_cast<std::vector<Piece> *>(ctx)->push_back({flow, off, {data, data + len}, at});
}

// The byte a sender puts at stream offset off of flow (so retransmits carry the same bytes).
uint8_t Byte(uint32_t flow, uint64_t off)
{
    uint64_t x = off * 0x9E3779B97F4A7C15ull + flow * 0xBF58476D1CE4E5B9ull;
    return static_cast<uint8_t>(x >> 56);
}

std::vector<uint8_t> Bytes(uint32_t flow, uint64_t off, uint32_t len)
{
    std::vector<uint8_t> v(len);
    for (uint32_t i = 0; i < len; i++)
        v[i] = Byte(flow, off + i);
    return v;
}

// The default host application: it reads everything put in order at once.
uint32_t DeliverAll(smc *s, uint32_t flow, uint32_t upto, cycle_t at)
{
    uint32_t n = smc_deliver(s, flow, upto, at);
    smc_consume(s, flow, UINT32_MAX, at);
    return n;
}

class Smc : public ::testing::Test {
protected:
    smc_cfg cfg{};
    smc *s = nullptr;
    std::vector<Piece> got;

    // The defaults, but buffers of 64 segments and at most 1 MiB: the sizes these tests pin.
    void SetUp() override
    {
        smc_cfg_default(&cfg);
        cfg.buf_segments = 64;
        cfg.buf_max = 1048576;
    }
    void TearDown() override { smc_free(s); }
    // A small configuration: 64-byte pages, 256-byte buffers (4 pages) for mss 0.
    void Small(uint32_t pages = 64)
    {
        cfg.page_size = 64;
        cfg.pages = pages;
        cfg.buf_min = 64;
        cfg.buf_max = 256;
    }
    void Make(uint32_t flows = 4)
    {
        sim_err err{};
        s = smc_new(&cfg, flows, &err);
        ASSERT_NE(s, nullptr) << err.msg;
        smc_set_deliver(s, Record, &got);
    }
    uint32_t Append(uint32_t flow, uint64_t off, uint32_t len, cycle_t at = 0)
    {
        std::vector<uint8_t> d = Bytes(flow, off, len);
        return smc_append(s, flow, static_cast<uint32_t>(off), d.data(), len, at);
    }
    const smc_stats &St() const { return *smc_get_stats(s); }
    // The delivered pieces joined, after checking they are in order, contiguous from `from`,
    // page-bounded and all stamped `at` (when given).
    std::vector<uint8_t> Joined(uint64_t from, cycle_t at = CYCLE_NEVER)
    {
        std::vector<uint8_t> all;
        uint64_t off = from;
        for (const Piece &p : got) {
            EXPECT_EQ(p.off, off);
            EXPECT_GT(p.data.size(), 0u);
            EXPECT_LE(p.off % cfg.page_size + p.data.size(), cfg.page_size) << "crosses a page";
            if (at != CYCLE_NEVER) {
                EXPECT_EQ(p.at, at);
            }
            off += p.data.size();
            all.insert(all.end(), p.data.begin(), p.data.end());
        }
        return all;
    }
};

TEST_F(Smc, DefaultsAndParamTable)
{
    smc_cfg_default(&cfg);
    EXPECT_EQ(cfg.clock_mhz, 1000u);
    EXPECT_EQ(cfg.page_size, 2048u);
    EXPECT_EQ(cfg.pages, 65536u);
    EXPECT_EQ(cfg.buf_min, 16384u);
    EXPECT_EQ(cfg.buf_max, 4194304u);
    EXPECT_EQ(cfg.buf_segments, 1024u);
    EXPECT_EQ(cfg.mem_latency, 100u);
    EXPECT_EQ(cfg.mem_bytes_per_cycle, 16u);
    EXPECT_EQ(cfg.mem_outstanding, 16u);
    sim_err err{};
    EXPECT_EQ(param_set(&smc_params, &cfg, "page_size", "32", &err), -1);
    EXPECT_STREQ(err.msg, "smc.page_size: 32 is out of range [64, 1048576]");
    EXPECT_EQ(param_set(&smc_params, &cfg, "mem_outstanding", "257", &err), -1);
    EXPECT_STREQ(err.msg, "smc.mem_outstanding: 257 is out of range [1, 256]");
    // Every counter of smc_stats has exactly one entry.
    EXPECT_EQ(smc_stat_count * sizeof(uint64_t), sizeof(smc_stats));
    std::set<size_t> offs;
    for (size_t i = 0; i < smc_stat_count; i++)
        offs.insert(smc_stat_defs[i].off);
    EXPECT_EQ(offs.size(), smc_stat_count);
}

TEST_F(Smc, NewRejectsBadConfig)
{
    sim_err err{};
    cfg.buf_min = 20000;
    cfg.buf_max = 10000;
    EXPECT_EQ(smc_new(&cfg, 1, &err), nullptr);
    EXPECT_STREQ(err.msg, "smc.buf_min: 20000 is larger than smc.buf_max (10000)");
    smc_cfg_default(&cfg);
    cfg.mem_bytes_per_cycle = 0;
    EXPECT_EQ(smc_new(&cfg, 1, &err), nullptr);
    EXPECT_NE(std::string(err.msg).find("smc.mem_bytes_per_cycle"), std::string::npos) << err.msg;
}

TEST_F(Smc, SizeRule)
{
    Make();
    // 1460 * 64 = 93440 > 65535 (shift 0): capped at 65535, rounded down to 31 pages.
    EXPECT_EQ(smc_open(s, 0, 1460, 0), 31u * 2048);
    // mss 0 means 536: 536 * 64 = 34304, rounded down to 16 pages.
    EXPECT_EQ(smc_open(s, 0, 0, 7), 16u * 2048);
    // Below buf_min: 100 * 64 = 6400 -> 16384.
    EXPECT_EQ(smc_open(s, 0, 100, 7), 16384u);
    // Above buf_max: 65535 * 64 with shift 14 -> 1048576.
    EXPECT_EQ(smc_open(s, 0, 65535, 14), 1048576u);
    // The window cap with shift 2: 65535 << 2 = 262140 -> 127 pages.
    EXPECT_EQ(smc_open(s, 0, 65535, 2), 127u * 2048);
    // A huge shift does not overflow: buf_max.
    EXPECT_EQ(smc_open(s, 0, 65535, 40), 1048576u);
    EXPECT_EQ(smc_space(s, 0), 1048576u);
    smc_free(s);
    s = nullptr;

    cfg.buf_min = 100000; // above 65535: the upper bound wins
    Make();
    EXPECT_EQ(smc_open(s, 0, 1, 0), 31u * 2048);
    EXPECT_EQ(smc_open(s, 0, 1, 1), 100000u / 2048 * 2048); // buf_min, rounded down
    smc_free(s);
    s = nullptr;

    cfg.page_size = 4096; // at least one page, even above buf_max
    cfg.buf_min = 100;
    cfg.buf_max = 100;
    Make();
    EXPECT_EQ(smc_open(s, 0, 0, 0), 4096u);
}

// A RoCE queue pair's buffer: its hint clamped to [buf_min, buf_max] (16384, 1048576 here),
// whole pages (2048), at least one page.
TEST_F(Smc, RoceSizeRule)
{
    Make();
    EXPECT_EQ(smc_open_roce(s, 0, 65536), 65536u);
    EXPECT_EQ(smc_space(s, 0), 65536u);
    EXPECT_EQ(smc_open_roce(s, 0, 70000), 34u * 2048); // rounded down
    EXPECT_EQ(smc_open_roce(s, 0, 100), 16384u);       // buf_min
    EXPECT_EQ(smc_open_roce(s, 0, 0), 16384u);
    EXPECT_EQ(smc_open_roce(s, 0, 5000000), 1048576u); // buf_max
    EXPECT_EQ(smc_open_roce(s, 0, 0x7fffffff), 1048576u);
    EXPECT_EQ(smc_open_roce(s, 1000, 65536), 0u); // no such flow
    EXPECT_EQ(smc_get_stats(s)->opens, 6u);
    smc_free(s);
    s = nullptr;
    cfg.page_size = 4096;
    cfg.buf_min = 100;
    cfg.buf_max = 100;
    Make();
    EXPECT_EQ(smc_open_roce(s, 0, 50), 4096u); // at least one page
}

TEST_F(Smc, SpaceIsTheSizeWhileOpenAndZeroOtherwise)
{
    Small();
    Make();
    EXPECT_EQ(smc_space(s, 0), 0u);
    EXPECT_EQ(smc_space(s, 99), 0u);
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    EXPECT_EQ(smc_space(s, 0), 256u);
    ASSERT_EQ(Append(0, 100, 50), 1u); // out of order: the window does not shrink
    EXPECT_EQ(smc_space(s, 0), 256u);
    ASSERT_EQ(Append(0, 0, 100), 1u);
    EXPECT_EQ(DeliverAll(s, 0, 150, 0), 150u);
    EXPECT_EQ(smc_space(s, 0), 256u);
    smc_close(s, 0);
    EXPECT_EQ(smc_space(s, 0), 0u);
}

TEST_F(Smc, OnePagePerAllocationOperation)
{
    Make();
    ASSERT_EQ(smc_open(s, 1, 0, 0), 32768u);
    EXPECT_EQ(smc_pages_held(s, 1), 0u);  // no page at open
    ASSERT_EQ(Append(1, 1000, 4000), 1u); // [1000, 5000): pages 0, 1, 2 (claim 17)
    EXPECT_EQ(St().page_allocs, 3u);
    EXPECT_EQ(smc_pages_in_use(s), 3u);
    EXPECT_EQ(smc_pages_held(s, 1), 3u);
    EXPECT_EQ(St().pages_peak, 3u);
    ASSERT_EQ(Append(1, 5000, 1000), 1u); // page 2 is there: no allocation
    EXPECT_EQ(St().page_allocs, 3u);
    ASSERT_EQ(Append(1, 0, 1000), 1u); // page 0 is there
    EXPECT_EQ(St().page_allocs, 3u);
    ASSERT_EQ(Append(1, 8192, 1), 1u); // page 4, skipping page 3
    EXPECT_EQ(St().page_allocs, 4u);
    EXPECT_EQ(smc_pages_in_use(s), 4u);
    EXPECT_EQ(St().appends, 4u);
    EXPECT_EQ(St().bytes_appended, 6001u);
}

TEST_F(Smc, OutOfOrderAppendsDeliverInOrderInPageBoundedPieces)
{
    Small();
    Make();
    ASSERT_EQ(smc_open(s, 2, 0, 0), 256u);
    ASSERT_EQ(Append(2, 150, 90), 1u);
    ASSERT_EQ(Append(2, 10, 140), 1u);
    ASSERT_EQ(Append(2, 0, 10), 1u);
    EXPECT_EQ(smc_pages_in_use(s), 4u);
    EXPECT_EQ(DeliverAll(s, 2, 240, 0), 240u);
    ASSERT_EQ(got.size(), 4u); // [0,64) [64,128) [128,192) [192,240)
    EXPECT_EQ(got[3].data.size(), 48u);
    for (const Piece &p : got)
        EXPECT_EQ(p.flow, 2u);
    EXPECT_EQ(Joined(0, got[0].at), Bytes(2, 0, 240));
    EXPECT_EQ(St().bytes_delivered, 240u);
    // Pages 0..2 are all below 240: freed; page 3 ([192, 256)) is still partly ahead.
    EXPECT_EQ(smc_pages_in_use(s), 1u);
    EXPECT_EQ(smc_pages_held(s, 2), 1u);
    EXPECT_EQ(St().page_frees, 3u);
}

TEST_F(Smc, DeliveryInStepsFreesEachPageOnceFullyConsumed)
{
    Small();
    Make();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    ASSERT_EQ(Append(0, 0, 256), 1u);
    EXPECT_EQ(smc_pages_in_use(s), 4u);
    EXPECT_EQ(DeliverAll(s, 0, 63, 0), 63u);
    EXPECT_EQ(smc_pages_in_use(s), 4u);
    EXPECT_EQ(DeliverAll(s, 0, 64, 0), 1u);
    EXPECT_EQ(smc_pages_in_use(s), 3u);
    EXPECT_EQ(DeliverAll(s, 0, 200, 0), 136u);
    EXPECT_EQ(smc_pages_in_use(s), 1u);
    EXPECT_EQ(DeliverAll(s, 0, 256, 0), 56u);
    EXPECT_EQ(smc_pages_in_use(s), 0u);
    EXPECT_EQ(St().page_frees, 4u);
    EXPECT_EQ(Joined(0), Bytes(0, 0, 256));
    // Freed pages are reused: no new host page, but each take counts as an allocation.
    ASSERT_EQ(Append(0, 256, 256), 1u);
    EXPECT_EQ(St().page_allocs, 8u);
    EXPECT_EQ(St().pages_peak, 4u);
}

TEST_F(Smc, MidPageWindowHoldsOneMorePage)
{
    Small();
    Make();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    ASSERT_EQ(Append(0, 0, 100), 1u);
    ASSERT_EQ(DeliverAll(s, 0, 100, 0), 100u); // consumed 100, inside page 1
    got.clear();
    // The window [100, 356) touches pages 1..5: page 5 must not share page 1's slot.
    ASSERT_EQ(Append(0, 300, 56), 1u);
    ASSERT_EQ(Append(0, 100, 200), 1u);
    EXPECT_EQ(smc_pages_held(s, 0), 5u);
    EXPECT_EQ(DeliverAll(s, 0, 356, 0), 256u);
    EXPECT_EQ(Joined(100), Bytes(0, 100, 256));
    EXPECT_EQ(Append(0, 612, 1), 0u); // 356 + 256 is the window's end
    EXPECT_EQ(Append(0, 611, 1), 1u);
}

// The host application reads later than the data is put in order: the unread backlog keeps its
// pages and shrinks the window until smc_consume takes it (issue 4's consumption rate).
TEST_F(Smc, UnreadDataShrinksTheWindowUntilTheHostReadsIt)
{
    Small();
    Make();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    ASSERT_EQ(Append(0, 0, 200), 1u);
    EXPECT_EQ(smc_deliver(s, 0, 200, 0), 200u);
    EXPECT_TRUE(got.empty()); // handed over, not read: nothing reaches the host yet
    EXPECT_EQ(smc_unread(s, 0), 200u);
    EXPECT_EQ(smc_space(s, 0), 56u);
    EXPECT_EQ(smc_pages_in_use(s), 4u);
    EXPECT_EQ(St().bytes_delivered, 200u);
    EXPECT_EQ(St().bytes_consumed, 0u);
    EXPECT_EQ(Append(0, 200, 57), 0u); // beyond consumed 0 + size 256
    EXPECT_EQ(Append(0, 199, 1), 0u);  // below delivered
    EXPECT_EQ(Append(0, 200, 56), 1u);
    EXPECT_EQ(smc_deliver(s, 0, 256, 0), 56u);
    EXPECT_EQ(smc_space(s, 0), 0u);
    // A read of 100 bytes at cycle 500: one read on the memory channel, issued then (the copies
    // are done), its first data after mem_latency, 100 bytes at 16 per cycle.
    EXPECT_EQ(smc_consume(s, 0, 100, 500), 100u);
    EXPECT_EQ(Joined(0, 500 + cfg.mem_latency + 7), Bytes(0, 0, 100));
    EXPECT_EQ(smc_space(s, 0), 100u);
    EXPECT_EQ(smc_pages_in_use(s), 3u); // page 0 (bytes 0..63) is read; page 1 is not yet
    EXPECT_EQ(St().page_frees, 1u);
    EXPECT_EQ(Append(0, 256, 100), 1u); // the reopened window
    got.clear();
    EXPECT_EQ(smc_consume(s, 0, 1000, 600), 156u); // no more than was handed over
    EXPECT_EQ(smc_consume(s, 0, 1000, 600), 0u);
    EXPECT_EQ(Joined(100), Bytes(0, 100, 156));
    EXPECT_EQ(smc_unread(s, 0), 0u);
    EXPECT_EQ(St().bytes_consumed, 256u);
    EXPECT_EQ(smc_pages_in_use(s), smc_pages_held_total(s));
    smc_close(s, 0);
    EXPECT_EQ(St().bytes_discarded, 100u); // appended at 256, never put in order nor read
    EXPECT_EQ(smc_consume(s, 0, 10, 700), 0u);
    EXPECT_EQ(smc_unread(s, 0), 0u);
}

TEST_F(Smc, RefusedWindowChangesNothing)
{
    Small();
    Make();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    EXPECT_EQ(Append(0, 200, 57), 0u); // last byte at 256 = consumed + size
    EXPECT_EQ(Append(0, 256, 1), 0u);
    EXPECT_EQ(Append(0, 0x7fffffffu, 1), 0u); // far ahead
    EXPECT_EQ(Append(0, 0x80000000u, 1), 0u); // unwraps below consumed 0
    EXPECT_EQ(St().refused_window, 4u);
    EXPECT_EQ(St().bytes_refused, 60u);
    EXPECT_EQ(Append(0, 200, 56), 1u); // exactly up to the window's end
    ASSERT_EQ(Append(0, 0, 200), 1u);
    ASSERT_EQ(DeliverAll(s, 0, 130, 0), 130u);
    smc_stats before = St();
    xmem_stats mbefore = *smc_mem_stats(s);
    uint32_t pages = smc_pages_in_use(s);
    EXPECT_EQ(Append(0, 129, 1), 0u);  // one byte below consumed
    EXPECT_EQ(Append(0, 120, 20), 0u); // partly below: all or nothing
    EXPECT_EQ(Append(0, 380, 7), 0u);  // partly beyond 130 + 256
    EXPECT_EQ(St().refused_window, before.refused_window + 3);
    EXPECT_EQ(St().bytes_refused, before.bytes_refused + 28);
    EXPECT_EQ(St().appends, before.appends);
    EXPECT_EQ(St().page_allocs, before.page_allocs);
    EXPECT_EQ(smc_pages_in_use(s), pages);
    EXPECT_EQ(smc_mem_stats(s)->writes, mbefore.writes);
    EXPECT_EQ(Append(0, 130, 256), 1u); // the window after delivery
}

TEST_F(Smc, FlowNotOpenRefusesAndIgnores)
{
    Small();
    Make(2);
    uint8_t b[4] = {1, 2, 3, 4};
    EXPECT_EQ(smc_append(s, 0, 0, b, 4, 0), 0u);
    EXPECT_EQ(smc_append(s, 7, 0, b, 4, 0), 0u); // beyond flows
    EXPECT_EQ(St().refused_window, 2u);
    EXPECT_EQ(St().bytes_refused, 8u);
    EXPECT_EQ(DeliverAll(s, 0, 4, 0), 0u);
    EXPECT_EQ(smc_open(s, 2, 0, 0), 0u);
    EXPECT_EQ(smc_flows_open(s), 0u);
    EXPECT_EQ(St().opens, 0u);
    smc_close(s, 1);
    smc_close(s, 9);
    EXPECT_EQ(St().closes, 0u);
    EXPECT_EQ(smc_pages_held(s, 9), 0u);
    EXPECT_TRUE(got.empty());
    EXPECT_EQ(smc_mem_stats(s)->writes + smc_mem_stats(s)->reads, 0u);
}

TEST_F(Smc, RefusedPoolIsAllOrNothing)
{
    Small(3);
    Make();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    ASSERT_EQ(smc_open(s, 1, 0, 0), 256u);
    ASSERT_EQ(Append(0, 0, 64), 1u); // 1 page
    smc_stats before = St();
    EXPECT_EQ(Append(1, 0, 129), 0u); // needs 3, 2 free
    EXPECT_EQ(St().refused_pool, 1u);
    EXPECT_EQ(St().bytes_refused, 129u);
    EXPECT_EQ(St().page_allocs, before.page_allocs);
    EXPECT_EQ(St().appends, before.appends);
    EXPECT_EQ(smc_pages_held(s, 1), 0u);
    EXPECT_EQ(smc_mem_stats(s)->writes, 1u);
    // An append needing only pages its flow has, or no more than are free, goes in.
    EXPECT_EQ(Append(0, 10, 40), 1u);
    EXPECT_EQ(Append(1, 0, 128), 1u); // takes the last 2
    EXPECT_EQ(smc_pages_in_use(s), 3u);
    EXPECT_EQ(Append(0, 64, 1), 0u);
    EXPECT_EQ(St().refused_pool, 2u);
    // Delivery returns pages to the pool.
    ASSERT_EQ(DeliverAll(s, 1, 128, 0), 128u);
    EXPECT_EQ(Append(0, 64, 128), 1u);
    EXPECT_EQ(smc_pages_in_use(s), 3u);
    EXPECT_EQ(St().pages_peak, 3u);
}

TEST_F(Smc, DupCountsBytesBelowTheHighestAppended)
{
    Small();
    Make();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    ASSERT_EQ(Append(0, 0, 100), 1u);
    EXPECT_EQ(St().bytes_dup, 0u);
    ASSERT_EQ(Append(0, 50, 100), 1u); // [50, 100) again
    EXPECT_EQ(St().bytes_dup, 50u);
    ASSERT_EQ(Append(0, 200, 10), 1u); // ahead, leaving a hole [150, 200)
    EXPECT_EQ(St().bytes_dup, 50u);
    ASSERT_EQ(Append(0, 150, 50), 1u); // filling the hole counts too (smc.h)
    EXPECT_EQ(St().bytes_dup, 100u);
    ASSERT_EQ(Append(0, 205, 20), 1u); // 5 below 210
    EXPECT_EQ(St().bytes_dup, 105u);
    EXPECT_EQ(St().bytes_appended, 280u);
    // A duplicate overwrites what was there.
    uint8_t x[3] = {0xaa, 0xbb, 0xcc};
    ASSERT_EQ(smc_append(s, 0, 1, x, 3, 0), 1u);
    ASSERT_EQ(DeliverAll(s, 0, 5, 0), 5u);
    std::vector<uint8_t> want = {Byte(0, 0), 0xaa, 0xbb, 0xcc, Byte(0, 4)};
    EXPECT_EQ(Joined(0), want);
    EXPECT_EQ(St().bytes_dup, 108u);
}

TEST_F(Smc, ZeroLengthAppend)
{
    Small();
    Make();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    EXPECT_EQ(smc_append(s, 0, 256, nullptr, 0, 5), 1u);
    EXPECT_EQ(smc_append(s, 0, 257, nullptr, 0, 5), 0u);
    EXPECT_EQ(St().appends, 1u);
    EXPECT_EQ(St().page_allocs, 0u);
    EXPECT_EQ(smc_mem_stats(s)->writes, 0u);
    EXPECT_EQ(DeliverAll(s, 0, 10, 0), 0u); // nothing appended: clamped to 0
    EXPECT_EQ(St().deliver_clamped, 1u);
}

TEST_F(Smc, DeliveryCyclesFromTheMemoryChannel)
{
    Make(); // latency 100, 16 bytes per cycle
    ASSERT_EQ(smc_open(s, 0, 0, 0), 32768u);
    ASSERT_EQ(smc_open(s, 1, 0, 0), 32768u);
    // Copy: 50 + 100 + ceil(1000 / 16) = 213. Delivery issued later, at 500: 500 + 100 + 63.
    ASSERT_EQ(Append(0, 0, 1000, 50), 1u);
    ASSERT_EQ(DeliverAll(s, 0, 1000, 500), 1000u);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(Joined(0, 663), Bytes(0, 0, 1000)); // every piece stamped 663
    got.clear();
    // Delivery asked for before the copy completes waits for it: issued at 1000 + 110 = 1110,
    // then 100 + ceil(160 / 16) more.
    ASSERT_EQ(Append(1, 0, 160, 1000), 1u);
    ASSERT_EQ(DeliverAll(s, 1, 160, 1020), 160u);
    EXPECT_EQ(Joined(0, 1220), Bytes(1, 0, 160));
    const xmem_stats *m = smc_mem_stats(s);
    EXPECT_EQ(m->writes, 2u);
    EXPECT_EQ(m->reads, 2u);
    EXPECT_EQ(m->bytes_written, 1160u);
    EXPECT_EQ(m->bytes_read, 1160u);
    // an RDMA WRITE's payload into a host region shares the same channel: issued at 1100, its
    // data could go at 1200, but the bus carries the delivery's read until 1220; 2 cycles more
    EXPECT_EQ(smc_dma_write(s, 32, 1100), 1222u);
    EXPECT_EQ(smc_dma_write(s, 0, 1300), 1300u); // nothing to move
    EXPECT_EQ(m->writes, 3u);
    EXPECT_EQ(m->bytes_written, 1192u);
}

TEST_F(Smc, DeliveryWaitsForTheLastCopyIntoTheFlow)
{
    Make();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 32768u);
    ASSERT_EQ(Append(0, 0, 16, 0), 1u);       // done 0 + 100 + 1 = 101
    ASSERT_EQ(Append(0, 4000, 1600, 10), 1u); // beyond upto; done max(110, 101) + 100 = 210
    ASSERT_EQ(DeliverAll(s, 0, 16, 0), 16u);  // issued at 210: 210 + 100 + 1
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].at, 311u);
}

TEST_F(Smc, CopiesShareOneBus)
{
    Make();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 32768u);
    ASSERT_EQ(smc_open(s, 1, 0, 0), 32768u);
    ASSERT_EQ(Append(0, 0, 1600, 0), 1u); // 0 + 100 + 100 = 200
    ASSERT_EQ(Append(1, 0, 1600, 0), 1u); // the bus is busy until 200: 300
    ASSERT_EQ(DeliverAll(s, 1, 1600, 0), 1600u);
    EXPECT_EQ(got.back().at, 300u + 100 + 100);
    EXPECT_EQ(smc_mem_stats(s)->bus_cycles, 300u);
}

TEST_F(Smc, DeliverClampsToWhatWasAppended)
{
    Small();
    Make();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    ASSERT_EQ(Append(0, 0, 100), 1u);
    EXPECT_EQ(DeliverAll(s, 0, 200, 0), 100u); // beyond the highest appended byte
    EXPECT_EQ(St().deliver_clamped, 1u);
    EXPECT_EQ(Joined(0), Bytes(0, 0, 100));
    EXPECT_EQ(DeliverAll(s, 0, 100, 0), 0u); // nothing new: not a clamp
    EXPECT_EQ(St().deliver_clamped, 1u);
    EXPECT_EQ(DeliverAll(s, 0, 50, 0), 0u); // below delivered
    EXPECT_EQ(St().deliver_clamped, 2u);
    EXPECT_EQ(St().bytes_delivered, 100u);
    EXPECT_EQ(smc_mem_stats(s)->reads, 1u);
}

TEST_F(Smc, HolesAreDeliveredAsZeros)
{
    Small();
    Make();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    // Dirty a page, then free it so that it is reused.
    ASSERT_EQ(Append(0, 0, 64), 1u);
    ASSERT_EQ(DeliverAll(s, 0, 64, 0), 64u);
    got.clear();
    ASSERT_EQ(Append(0, 70, 10), 1u);  // page 1 (reused) with holes around it
    ASSERT_EQ(Append(0, 250, 10), 1u); // page 3; page 2 never taken
    EXPECT_EQ(DeliverAll(s, 0, 260, 0), 196u);
    std::vector<uint8_t> want(196, 0);
    std::vector<uint8_t> a = Bytes(0, 70, 10), b = Bytes(0, 250, 10);
    std::copy(a.begin(), a.end(), want.begin() + 6);
    std::copy(b.begin(), b.end(), want.begin() + 186);
    EXPECT_EQ(Joined(64), want);
}

TEST_F(Smc, CloseFreesPagesAndCountsDiscardedBytes)
{
    Small();
    Make();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    ASSERT_EQ(smc_open(s, 1, 0, 0), 256u);
    EXPECT_EQ(smc_flows_open(s), 2u);
    ASSERT_EQ(Append(0, 0, 100), 1u);
    ASSERT_EQ(Append(0, 200, 50), 1u);
    ASSERT_EQ(Append(1, 0, 10), 1u);
    ASSERT_EQ(DeliverAll(s, 0, 100, 0), 100u);
    EXPECT_EQ(smc_pages_held(s, 0), 2u);
    smc_close(s, 0);
    EXPECT_EQ(St().bytes_discarded, 150u); // [100, 250): never delivered
    EXPECT_EQ(St().closes, 1u);
    EXPECT_EQ(St().page_frees, 3u);
    EXPECT_EQ(smc_pages_held(s, 0), 0u);
    EXPECT_EQ(smc_pages_in_use(s), 1u);
    EXPECT_EQ(smc_flows_open(s), 1u);
    smc_close(s, 0); // idempotent
    EXPECT_EQ(St().closes, 1u);
    EXPECT_EQ(St().bytes_discarded, 150u);
    EXPECT_EQ(Append(0, 100, 1), 0u);
    EXPECT_EQ(smc_pages_in_use(s), smc_pages_held_total(s));
}

TEST_F(Smc, ReopenDiscardsAndStartsAtOffsetZero)
{
    Small();
    Make();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    ASSERT_EQ(Append(0, 0, 100), 1u);
    ASSERT_EQ(DeliverAll(s, 0, 60, 0), 60u);
    got.clear();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    EXPECT_EQ(St().opens, 2u);
    EXPECT_EQ(St().closes, 1u);
    EXPECT_EQ(St().bytes_discarded, 40u);
    EXPECT_EQ(smc_pages_in_use(s), 0u);
    EXPECT_EQ(smc_flows_open(s), 1u);
    EXPECT_EQ(DeliverAll(s, 0, 10, 0), 0u); // nothing appended since
    ASSERT_EQ(Append(0, 0, 10), 1u);
    EXPECT_EQ(St().bytes_dup, 0u);
    EXPECT_EQ(DeliverAll(s, 0, 10, 0), 10u);
    EXPECT_EQ(Joined(0), Bytes(0, 0, 10));
}

// Host memory per open flow (the target: at most 512 bytes besides the pages held): 10 000 flows
// with 1.5 MB buffers (730 pages of 2 KiB each, so a slot table would take 731 pointers each),
// each holding one page, cost no bookkeeping beyond the fixed per-flow state allocated at
// smc_new.
TEST_F(Smc, HostBytesPerOpenFlow)
{
    cfg.buf_segments = 1024;
    cfg.buf_max = 4194304;
    const uint32_t flows = 10000;
    Make(flows);
    const size_t base = smc_host_bytes(s);
    EXPECT_GE(base, flows * 8u); // it does count the per-flow state
    for (uint32_t f = 0; f < flows; f++) {
        ASSERT_EQ(smc_open(s, f, 1460, 7), 730u * 2048) << f;
        ASSERT_EQ(Append(f, 0, 100), 1u) << f;
    }
    EXPECT_EQ(smc_flows_open(s), flows);
    EXPECT_EQ(smc_pages_in_use(s), flows);
    EXPECT_EQ(smc_pages_held_total(s), flows);
    EXPECT_EQ(smc_host_bytes(s), base);
    EXPECT_LE(smc_host_bytes(s), 512u * flows);
    // A mid-page window with data in two pages, as in-order traffic leaves it, costs no more.
    for (uint32_t f = 0; f < flows; f++) {
        ASSERT_EQ(DeliverAll(s, f, 100, 0), 100u);
        ASSERT_EQ(Append(f, 100, 2000), 1u);
    }
    EXPECT_EQ(smc_pages_in_use(s), 2u * flows);
    EXPECT_EQ(smc_host_bytes(s), base);
    for (uint32_t f = 0; f < flows; f++)
        smc_close(s, f);
    EXPECT_EQ(smc_pages_in_use(s), 0u);
    EXPECT_EQ(smc_host_bytes(s), base);
}

// A flow holding many out-of-order pages (100, scattered over a 1.5 MB window, appended in a
// shuffled order, some straddling two pages) places them all, delivers byte-exact (holes as
// zeros) and frees them all; its bookkeeping grows while it holds them and returns to the
// fixed per-flow state as they go (by delivery, or by close).
TEST_F(Smc, ManyOutOfOrderPagesInOneFlow)
{
    cfg.buf_segments = 1024;
    cfg.buf_max = 4194304;
    Make(2);
    const size_t base = smc_host_bytes(s);
    const uint64_t P = 2048;
    for (uint32_t f = 0; f < 2; f++)
        ASSERT_EQ(smc_open(s, f, 1460, 7), 730u * 2048);
    // Range i starts 700 bytes before the end of page 7 * i + 5 and runs 500 + 3 * i bytes:
    // from i = 67 on it straddles into the next page.
    std::map<uint64_t, uint32_t> ranges;
    std::set<uint64_t> pages;
    uint64_t top = 0, dup = 0; // ranges below the highest one so far count as duplicates (smc.h)
    for (uint32_t n = 0; n < 100; n++) {
        uint32_t i = n * 37 % 100;
        uint64_t off = (7 * i + 6) * P - 700, len = 500 + 3 * i;
        ranges[off] = static_cast<uint32_t>(len);
        for (uint64_t k = off / P; k <= (off + len - 1) / P; k++)
            pages.insert(k);
        dup += off < top ? std::min(off + len, top) - off : 0;
        top = std::max(top, off + len);
        for (uint32_t f = 0; f < 2; f++)
            ASSERT_EQ(Append(f, off, static_cast<uint32_t>(len)), 1u) << f << " " << i;
    }
    const uint64_t hi = ranges.rbegin()->first + ranges.rbegin()->second;
    ASSERT_LE(hi, 730u * 2048);
    EXPECT_GT(pages.size(), 100u); // straddling ranges take two pages
    for (uint32_t f = 0; f < 2; f++)
        EXPECT_EQ(smc_pages_held(s, f), pages.size());
    EXPECT_EQ(St().page_allocs, 2 * pages.size());
    EXPECT_GT(dup, 0u);
    EXPECT_EQ(St().bytes_dup, 2 * dup);
    EXPECT_GT(smc_host_bytes(s), base);
    // Bounded by the pages held, not the window: a doubling array of 16-byte entries per flow.
    EXPECT_LE(smc_host_bytes(s), base + 2 * 2 * pages.size() * 16);

    // Flow 0: delivered as is, in three steps; the holes come as zeros.
    std::vector<uint8_t> want(hi, 0);
    for (const auto &r : ranges) {
        std::vector<uint8_t> b = Bytes(0, r.first, r.second);
        std::copy(b.begin(), b.end(), want.begin() + static_cast<std::ptrdiff_t>(r.first));
    }
    const uint64_t steps[3] = {100 * P + 17, 400 * P, hi};
    uint64_t done = 0;
    for (uint64_t upto : steps) {
        ASSERT_EQ(DeliverAll(s, 0, static_cast<uint32_t>(upto), 0), upto - done) << upto;
        done = upto;
        size_t left = 0;
        for (uint64_t k : pages)
            left += (k + 1) * P > upto;
        EXPECT_EQ(smc_pages_held(s, 0), left) << upto;
        EXPECT_EQ(smc_pages_in_use(s), smc_pages_held_total(s));
    }
    EXPECT_EQ(Joined(0), want);
    EXPECT_EQ(St().bytes_delivered, hi);
    EXPECT_EQ(smc_pages_held(s, 0), hi % P ? 1u : 0u);
    got.clear();

    // Flow 1: the holes are filled in order (duplicates over the ranges), then delivered.
    for (uint64_t o = 0; o < hi; o += 1460)
        ASSERT_EQ(Append(1, o, static_cast<uint32_t>(std::min<uint64_t>(1460, hi - o))), 1u) << o;
    EXPECT_EQ(smc_pages_held(s, 1), (hi + P - 1) / P);
    EXPECT_EQ(DeliverAll(s, 1, static_cast<uint32_t>(hi), 0), hi);
    EXPECT_EQ(Joined(0), Bytes(1, 0, static_cast<uint32_t>(hi)));
    EXPECT_EQ(smc_pages_held(s, 1), hi % P ? 1u : 0u);

    // Closing frees the rest; every page taken was returned, and the bookkeeping is back.
    smc_close(s, 0);
    smc_close(s, 1);
    EXPECT_EQ(smc_pages_in_use(s), 0u);
    EXPECT_EQ(St().page_allocs, St().page_frees);
    EXPECT_EQ(smc_host_bytes(s), base);
    // A flow closed while holding many pages gives back its index too.
    ASSERT_EQ(smc_open(s, 0, 1460, 7), 730u * 2048);
    for (uint32_t i = 0; i < 50; i++)
        ASSERT_EQ(Append(0, (49 - i) * 3 * P, 10), 1u);
    EXPECT_EQ(smc_pages_held(s, 0), 50u);
    EXPECT_GT(smc_host_bytes(s), base);
    smc_close(s, 0);
    EXPECT_EQ(St().bytes_discarded, 49 * 3 * P + 10);
    EXPECT_EQ(smc_host_bytes(s), base);
    EXPECT_EQ(smc_pages_in_use(s), 0u);
}

// A mid-page window holds size/P + 1 pages: all of them held at once, taken in reverse order.
TEST_F(Smc, FullMidPageWindowOutOfOrder)
{
    Small();
    cfg.buf_max = 1024; // 16 pages of 64 bytes
    Make(1);
    ASSERT_EQ(smc_open(s, 0, 0, 0), 1024u);
    ASSERT_EQ(Append(0, 0, 100), 1u);
    ASSERT_EQ(DeliverAll(s, 0, 100, 0), 100u); // consumed 100: the window is [100, 1124)
    got.clear();
    for (uint64_t k = 18; k-- > 1;) { // pages 17 down to 1, the part of each in the window
        uint64_t a = std::max<uint64_t>(k * 64, 100), b = std::min<uint64_t>(k * 64 + 64, 1124);
        ASSERT_EQ(Append(0, a, static_cast<uint32_t>(b - a)), 1u) << k;
    }
    EXPECT_EQ(smc_pages_held(s, 0), 17u); // pages 1 .. 17
    EXPECT_EQ(smc_pages_in_use(s), 17u);
    EXPECT_EQ(St().page_allocs, 2u + 16);
    EXPECT_EQ(DeliverAll(s, 0, 1124, 0), 1024u);
    EXPECT_EQ(Joined(100), Bytes(0, 100, 1024));
    EXPECT_EQ(smc_pages_held(s, 0), 1u); // page 17: [1088, 1152), partly ahead
    EXPECT_EQ(St().page_frees, 16u + 1);
}

// What a delivery handed over when its pieces are too many to keep: checked on the fly.
struct Summary {
    uint64_t next = 0; // offset the next piece must start at
    uint64_t pieces = 0, bytes = 0;
    uint64_t nonzero = 0;      // in the first piece
    bool crossed = false;      // a piece crossed a 64 KiB page
    std::vector<uint8_t> tail; // the end of the last piece
};

void Summarise(void *ctx, uint32_t, uint64_t off, const uint8_t *data, uint32_t len, cycle_t)
{
    Summary *m = static_cast<Summary *>(ctx);
    EXPECT_EQ(off, m->next);
    m->crossed |= off % 65536 + len > 65536;
    m->next = off + len;
    m->pieces++;
    m->bytes += len;
    m->tail.assign(data + (len > 100 ? len - 100 : 0), data + len); // its last 100 bytes
    if (m->pieces == 1) // the hole's first page (scanning 4 GiB would be slow)
        for (uint32_t i = 0; i < len; i++)
            m->nonzero += data[i] != 0;
}

// A flow carries more than 4 GiB: 32-bit offsets unwrap around the consumed offset. Each step
// appends a 100-byte marker at the far end of a 1 GiB window and delivers up to it (the hole
// before it comes as zeros, in 64 KiB pieces), so consumed crosses 2^32 in a few steps; then
// data straddling 2^32 goes in out of order with wrapped offsets and comes out exact. (With
// 64-byte pages crossing 2^32 would take 2^26 delivery pieces, too many for a unit test; the
// small-page case is ManyRoundsOfSmallPages.)
TEST_F(Smc, OffsetsWrapPast4GiB)
{
    cfg.page_size = 65536;
    cfg.pages = 8;
    cfg.buf_max = 1073741824;
    cfg.buf_segments = 65536;
    Make(1);
    const uint32_t size = smc_open(s, 0, 65535, 14);
    ASSERT_EQ(size, 16383u * 65536); // 65535 << 14, rounded down to pages
    const uint64_t target = (1ull << 32) - 1000;
    uint64_t consumed = 0;
    int steps = 0;
    while (consumed < target) {
        uint64_t end = consumed + size < target ? consumed + size : target;
        ASSERT_EQ(Append(0, end - 100, 100), 1u) << end;
        Summary m;
        m.next = consumed;
        smc_set_deliver(s, Summarise, &m);
        ASSERT_EQ(DeliverAll(s, 0, static_cast<uint32_t>(end), 0), end - consumed);
        EXPECT_EQ(m.next, end);
        EXPECT_EQ(m.bytes, end - consumed);
        EXPECT_FALSE(m.crossed);
        EXPECT_EQ(m.pieces, (end - 1) / 65536 - consumed / 65536 + 1);
        EXPECT_EQ(m.tail, Bytes(0, end - 100, 100));
        EXPECT_EQ(m.nonzero, 0u); // the hole is zeros
        consumed = end;
        steps++;
        EXPECT_EQ(smc_pages_in_use(s), consumed % 65536 ? 1u : 0u);
    }
    EXPECT_EQ(steps, 5);
    smc_set_deliver(s, Record, &got);
    // [2^32 - 1000, 2^32 + 3000) in three pieces out of order.
    const uint64_t base = target;
    ASSERT_EQ(Append(0, base + 2000, 2000), 1u); // offset 1000 (mod 2^32)
    ASSERT_EQ(Append(0, base, 500), 1u);         // offset 0xfffffc18
    ASSERT_EQ(Append(0, base + 500, 1500), 1u);  // crosses 2^32 itself
    EXPECT_EQ(Append(0, base - 1, 1), 0u);       // just below consumed
    EXPECT_EQ(St().refused_window, 1u);
    EXPECT_EQ(DeliverAll(s, 0, 3000, 0), 4000u);
    EXPECT_EQ(Joined(base), Bytes(0, base, 4000));
    EXPECT_EQ(St().bytes_delivered, (1ull << 32) + 3000);
    // Far from consumed: still refused, either side.
    EXPECT_EQ(Append(0, base + 4000 + size, 1), 0u);
    EXPECT_EQ(Append(0, base + 4000 - 70000, 1), 0u);
    smc_close(s, 0);
    EXPECT_EQ(St().bytes_discarded, 0u);
}

// Small buffers and 64-byte pages through many append/deliver rounds: the stream advances by
// whole windows, out of order each time, and every byte comes out once, in order.
TEST_F(Smc, ManyRoundsOfSmallPages)
{
    Small(8);
    Make(1);
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    uint64_t off = 0, dup = 0;
    for (int round = 0; round < 2000; round++) {
        uint32_t skew = static_cast<uint32_t>(round * 37 % 200) + 1;
        dup += skew;
        ASSERT_EQ(Append(0, off + skew, 256 - skew), 1u);
        ASSERT_EQ(Append(0, off, skew), 1u);
        ASSERT_EQ(DeliverAll(s, 0, static_cast<uint32_t>(off + 256), 0), 256u);
        off += 256;
    }
    EXPECT_EQ(Joined(0), Bytes(0, 0, static_cast<uint32_t>(off)));
    EXPECT_EQ(smc_pages_in_use(s), 0u);
    EXPECT_EQ(St().page_allocs, St().page_frees);
    EXPECT_EQ(St().bytes_dup, dup); // each round's second append fills a hole below the first
}

// Invariant (SPEC §7): pages_in_use = sum of pages held, after every operation of a
// pseudo-random mix over several flows; each flow's pages and delivered bytes also match a
// reference model (pages = touched, not yet fully consumed; holes read as zeros).
TEST_F(Smc, RandomOperationsKeepTheInvariant)
{
    Small(12);
    cfg.buf_max = 512;
    cfg.buf_segments = 1;
    Make(5);
    struct Model {
        bool open = false;
        uint32_t size = 0;
        uint64_t consumed = 0, hi = 0;
        std::set<uint64_t> pages;
        std::map<uint64_t, uint8_t> bytes; // placed and not yet delivered
    };
    Model m[5];
    uint64_t x = 12345, dup = 0, discarded = 0;
    auto rnd = [&x](uint64_t n) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        return (x >> 33) % n;
    };
    uint64_t free_pages = cfg.pages;
    for (int i = 0; i < 20000; i++) {
        uint32_t f = static_cast<uint32_t>(rnd(5));
        Model &mf = m[f];
        uint64_t op = rnd(100);
        if (op < 3) {
            if (mf.open) {
                discarded += mf.hi - mf.consumed;
                free_pages += mf.pages.size();
            }
            uint32_t mss = static_cast<uint32_t>(rnd(600));
            mf = Model{};
            mf.size = smc_open(s, f, mss, 0);
            mf.open = true;
            ASSERT_EQ(mf.size, mss == 0 || mss >= 512 ? 512u : mss < 64 ? 64u : mss / 64 * 64);
        } else if (op < 5) {
            if (mf.open) {
                discarded += mf.hi - mf.consumed;
                free_pages += mf.pages.size();
            }
            mf = Model{};
            smc_close(s, f);
        } else if (op < 85) {
            // Mostly inside the window, sometimes a little outside either end.
            int64_t o = static_cast<int64_t>(mf.consumed) - 20 +
                        static_cast<int64_t>(rnd(mf.size + 60)); // may be below 0
            uint64_t off = static_cast<uint64_t>(o);
            uint32_t len = static_cast<uint32_t>(rnd(150));
            bool fits = mf.open && o >= static_cast<int64_t>(mf.consumed) &&
                        off + len <= mf.consumed + mf.size;
            std::set<uint64_t> need;
            for (uint64_t b = off; fits && b < off + len; b++)
                if (!mf.pages.count(b / 64))
                    need.insert(b / 64);
            bool ok = fits && need.size() <= free_pages;
            ASSERT_EQ(Append(f, off, len), ok ? 1u : 0u) << i;
            if (ok && len) {
                dup += off < mf.hi ? std::min(off + len, mf.hi) - off : 0;
                mf.hi = std::max(mf.hi, off + len);
                mf.pages.insert(need.begin(), need.end());
                free_pages -= need.size();
                for (uint64_t b = off; b < off + len; b++)
                    mf.bytes[b] = Byte(f, b);
            }
        } else {
            uint64_t upto = mf.consumed + rnd(mf.hi - mf.consumed + 1);
            got.clear();
            uint32_t n = DeliverAll(s, f, static_cast<uint32_t>(upto), 0);
            ASSERT_EQ(n, mf.open ? upto - mf.consumed : 0u);
            if (mf.open && n) {
                std::vector<uint8_t> want;
                for (uint64_t b = mf.consumed; b < upto; b++) {
                    auto it = mf.bytes.find(b);
                    want.push_back(it == mf.bytes.end() ? 0 : it->second);
                    if (it != mf.bytes.end())
                        mf.bytes.erase(it);
                }
                ASSERT_EQ(Joined(mf.consumed), want) << i;
                mf.consumed = upto;
                while (!mf.pages.empty() && (*mf.pages.begin() + 1) * 64 <= upto) {
                    mf.pages.erase(mf.pages.begin());
                    free_pages++;
                }
            }
        }
        uint64_t held = 0;
        for (uint32_t g = 0; g < 5; g++) {
            ASSERT_EQ(smc_pages_held(s, g), m[g].pages.size()) << i << " flow " << g;
            held += m[g].pages.size();
        }
        ASSERT_EQ(smc_pages_in_use(s), held) << i;
        ASSERT_EQ(smc_pages_held_total(s), held) << i;
        ASSERT_LE(smc_pages_in_use(s), cfg.pages);
    }
    EXPECT_EQ(St().bytes_dup, dup);
    EXPECT_EQ(St().bytes_discarded, discarded);
    EXPECT_EQ(St().page_allocs - St().page_frees, smc_pages_in_use(s));
    EXPECT_GT(St().refused_pool, 0u);
    EXPECT_GT(St().refused_window, 0u);
    EXPECT_EQ(St().pages_peak, 12u);
}

} // namespace

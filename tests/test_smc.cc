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

// smc_prefetch is a hint for the host's cache: flows in and out of range, open or not, leave
// the buffers as they were.
TEST_F(Smc, PrefetchChangesNothing)
{
    Make();
    ASSERT_EQ(smc_open(s, 1, 1460, 0), 31u * 2048);
    const uint8_t data[100] = {7};
    ASSERT_EQ(smc_append(s, 1, 0, data, sizeof data, 0), 1u);
    for (uint32_t f : {0u, 1u, 3u, 4u, 1000000u, UINT32_MAX}) // Make() makes 4 flows
        smc_prefetch(s, f);
    EXPECT_EQ(smc_space(s, 1), 31u * 2048);
    EXPECT_EQ(smc_space(s, 0), 0u);
    EXPECT_EQ(smc_pages_in_use(s), 1u);
    EXPECT_EQ(smc_get_stats(s)->bytes_appended, 100u);
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

// What smc_append_with's fill was asked for, and the bytes it gives: the sender's.
struct Fill {
    uint32_t flow;
    uint64_t base;                                    // stream offset of the append's first byte
    std::vector<std::pair<uint32_t, uint32_t>> asked; // from, n
    static void fill(void *ctx, uint32_t from, uint8_t *dst, uint32_t n)
    {
        auto *f = static_cast<Fill *>(ctx);
        f->asked.emplace_back(from, n);
        for (uint32_t i = 0; i < n; i++)
            dst[i] = Byte(f->flow, f->base + from + i);
    }
};

TEST_F(Smc, AppendWithFillsEachPagePartOnceAsAnAppendWould)
{
    Small();
    Make();
    ASSERT_EQ(smc_open(s, 1, 0, 0), 256u);
    ASSERT_EQ(smc_open(s, 2, 0, 0), 256u);
    // The same appends to flow 1 with data and to flow 2 with a fill, at the same cycles.
    ASSERT_EQ(Append(1, 150, 90, 10), 1u);
    Fill f{2, 150, {}};
    ASSERT_EQ(smc_append_with(s, 2, 150, 90, &Fill::fill, &f, 10), 1u);
    // [150,192) in page 2, [192,240) in page 3: one call per page part, in order
    EXPECT_EQ(f.asked, (std::vector<std::pair<uint32_t, uint32_t>>{{0, 42}, {42, 48}}));
    ASSERT_EQ(Append(1, 0, 150, 20), 1u);
    Fill g{2, 0, {}};
    ASSERT_EQ(smc_append_with(s, 2, 0, 150, &Fill::fill, &g, 20), 1u);
    EXPECT_EQ(g.asked, (std::vector<std::pair<uint32_t, uint32_t>>{{0, 64}, {64, 64}, {128, 22}}));
    EXPECT_EQ(smc_pages_held(s, 1), 4u);
    EXPECT_EQ(smc_pages_held(s, 2), 4u);
    EXPECT_EQ(St().appends, 4u);
    EXPECT_EQ(St().bytes_appended, 480u);
    EXPECT_EQ(St().page_allocs, 8u);
    // refused (outside the window): fill is never asked
    Fill h{2, 300, {}};
    EXPECT_EQ(smc_append_with(s, 2, 300, 10, &Fill::fill, &h, 30), 0u);
    EXPECT_TRUE(h.asked.empty());
    EXPECT_EQ(St().refused_window, 1u);
    // zero bytes: placed, nothing asked
    EXPECT_EQ(smc_append_with(s, 2, 240, 0, &Fill::fill, &h, 30), 1u);
    EXPECT_TRUE(h.asked.empty());
    // both flows deliver the sender's bytes
    EXPECT_EQ(DeliverAll(s, 1, 240, 40), 240u);
    std::vector<uint8_t> one = Joined(0);
    cycle_t t1 = got.front().at;
    got.clear();
    EXPECT_EQ(DeliverAll(s, 2, 240, 40), 240u);
    EXPECT_EQ(one, Bytes(1, 0, 240));
    EXPECT_EQ(Joined(0), Bytes(2, 0, 240));
    EXPECT_GE(got.front().at, t1); // the second delivery queues behind the first on the bus
    const xmem_stats *m = smc_mem_stats(s);
    EXPECT_EQ(m->writes, 4u);
    EXPECT_EQ(m->bytes_written, 480u);
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

// Page buffers follow the data not yet read, not the pages held: 1000 flows uploading in order,
// each read at once, hold a page of the pool each (the model's accounting) but share one host
// buffer; the data still comes out byte for byte, across page boundaries, and a flow whose data
// waits (out of order, or unread) keeps its buffers.
TEST_F(Smc, BuffersFollowUnreadDataNotPagesHeld)
{
    const uint32_t flows = 1000;
    Make(flows);
    for (uint32_t f = 0; f < flows; f++) {
        ASSERT_GT(smc_open(s, f, 1460, 7), 0u);
        ASSERT_EQ(Append(f, 0, 700), 1u);
        ASSERT_EQ(DeliverAll(s, f, 700, 0), 700u);
    }
    EXPECT_EQ(smc_pages_in_use(s), flows);
    EXPECT_EQ(smc_pages_held_total(s), flows);
    EXPECT_EQ(smc_buffer_bytes(s), 2048u); // one buffer, taken and given back by each flow
    // the next appends continue the pages (and cross into the next one) byte for byte
    got.clear();
    ASSERT_EQ(Append(7, 700, 1000), 1u);
    ASSERT_EQ(Append(7, 1700, 900), 1u);
    ASSERT_EQ(DeliverAll(s, 7, 2600, 0), 1900u);
    EXPECT_EQ(Joined(700), Bytes(7, 700, 1900));
    EXPECT_EQ(smc_pages_held(s, 7), 1u); // page 1: page 0 was read wholly and freed
    EXPECT_EQ(smc_buffer_bytes(s), 2u * 2048);
    // out of order: the pages wait with their buffers until the hole is filled and read
    const size_t lone = smc_buffer_bytes(s);
    ASSERT_EQ(Append(9, 3000, 500), 1u);  // page 1, above a hole at 700..3000
    EXPECT_EQ(smc_pages_held(s, 9), 2u);  // page 0 (no buffer: all read) and page 1
    EXPECT_EQ(smc_buffer_bytes(s), lone); // page 1 took a free buffer
    got.clear();
    ASSERT_EQ(Append(9, 700, 2300), 1u); // fills the hole: page 0 takes a buffer again
    ASSERT_EQ(DeliverAll(s, 9, 3500, 0), 2800u);
    EXPECT_EQ(Joined(700), Bytes(9, 700, 2800));
    // unread data keeps its buffer: another flow's appends meanwhile do not touch it
    ASSERT_EQ(Append(11, 700, 300), 1u);
    ASSERT_EQ(smc_deliver(s, 11, 1000, 0), 300u); // delivered, not yet read by the host
    for (uint32_t f = 13; f < 20; f++)
        ASSERT_EQ(Append(f, 700, 1300), 1u);
    got.clear();
    ASSERT_EQ(smc_consume(s, 11, UINT32_MAX, 0), 300u);
    EXPECT_EQ(Joined(700), Bytes(11, 700, 300));
    for (uint32_t f = 0; f < flows; f++)
        smc_close(s, f);
    EXPECT_EQ(smc_pages_in_use(s), 0u);
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

// ---- the send buffer (issue 5) ------------------------------------------------------------

struct Acked {
    uint32_t flow, bytes;
    cycle_t at;
    bool operator==(const Acked &o) const
    {
        return flow == o.flow && bytes == o.bytes && at == o.at;
    }
};

void RecordAcked(void *ctx, uint32_t flow, uint32_t bytes, cycle_t at)
{
    static_cast<std::vector<Acked> *>(ctx)->push_back({flow, bytes, at});
}

class SmcSnd : public Smc {
protected:
    std::vector<Acked> acked;
    void MakeSnd(uint32_t flows = 4)
    {
        Make(flows);
        smc_set_snd_acked(s, RecordAcked, &acked);
    }
    // Writes the bytes Byte(100 + flow, off...) at the flow's end; returns the bytes taken.
    uint32_t Write(uint32_t flow, uint32_t len, cycle_t at = 0, cycle_t *done = nullptr)
    {
        std::vector<uint8_t> d = Bytes(100 + flow, smc_snd_end(s, flow), len);
        return smc_snd_write(s, flow, d.data(), len, at, done);
    }
    std::vector<uint8_t> Read(uint32_t flow, uint64_t off, uint32_t len, int *rc = nullptr)
    {
        std::vector<uint8_t> d(len, 0xee);
        int r = smc_snd_read(s, flow, static_cast<uint32_t>(off), d.data(), len, 0, nullptr);
        if (rc)
            *rc = r;
        return d;
    }
};

// smc_open sizes the send buffer by the receive buffer's rule (claim 16); nothing is allocated;
// a RoCE queue pair has no send buffer.
TEST_F(SmcSnd, OpenSizesTheSendBufferByTheReceiveRule)
{
    MakeSnd();
    EXPECT_EQ(smc_snd_size(s, 0), 0u); // not open
    EXPECT_EQ(smc_snd_space(s, 0), 0u);
    ASSERT_EQ(smc_open(s, 0, 1460, 2), 92160u); // 1460 * 64 = 93440, rounded down to pages
    EXPECT_EQ(smc_snd_size(s, 0), 92160u);
    EXPECT_EQ(smc_snd_space(s, 0), 92160u);
    ASSERT_EQ(smc_open(s, 1, 0, 0), 32768u);
    EXPECT_EQ(smc_snd_size(s, 1), 32768u);
    EXPECT_EQ(smc_pages_held(s, 0), 0u);
    EXPECT_EQ(St().page_allocs, 0u);
    ASSERT_EQ(smc_open_roce(s, 2, 65536), 65536u);
    EXPECT_EQ(smc_snd_size(s, 2), 0u);
    EXPECT_EQ(smc_snd_space(s, 2), 0u);
    EXPECT_EQ(Write(2, 10), 0u);
    EXPECT_EQ(Write(3, 10), 0u); // not open
    EXPECT_EQ(Write(3, 0), 0u);  // nothing asked: not counted
    EXPECT_EQ(St().snd_refused_closed, 2u);
    EXPECT_EQ(St().snd_writes, 0u);
    EXPECT_EQ(smc_snd_size(s, 9), 0u); // out of range
    EXPECT_EQ(smc_snd_ack(s, 9, 10, 0), 0u);
}

// Writes take one page per allocation operation (claim 17), only for the slots they reach that
// have none; the space bounds what a write takes.
TEST_F(SmcSnd, WritesTakeOnePagePerAllocationOperation)
{
    Small();
    MakeSnd();
    ASSERT_EQ(smc_open(s, 1, 0, 0), 256u);
    EXPECT_EQ(Write(1, 100), 100u); // [0, 100): pages 0, 1
    EXPECT_EQ(St().page_allocs, 2u);
    EXPECT_EQ(smc_pages_held(s, 1), 2u);
    EXPECT_EQ(Write(1, 28), 28u); // [100, 128): page 1 is there
    EXPECT_EQ(St().page_allocs, 2u);
    EXPECT_EQ(Write(1, 1), 1u); // byte 128: page 2
    EXPECT_EQ(St().page_allocs, 3u);
    EXPECT_EQ(smc_snd_space(s, 1), 127u);
    EXPECT_EQ(Write(1, 200), 127u); // cut to the space: [129, 256), page 3
    EXPECT_EQ(St().page_allocs, 4u);
    EXPECT_EQ(smc_pages_held(s, 1), 4u);
    EXPECT_EQ(smc_pages_in_use(s), 4u);
    EXPECT_EQ(smc_snd_space(s, 1), 0u);
    EXPECT_EQ(Write(1, 5), 0u); // full: no bytes, not a pool refusal
    EXPECT_EQ(St().snd_refused_pool, 0u);
    EXPECT_EQ(St().snd_writes, 4u);
    EXPECT_EQ(St().snd_bytes_written, 256u);
    EXPECT_EQ(smc_snd_end(s, 1), 256u);
    EXPECT_EQ(smc_snd_unacked(s, 1), 256u);
    EXPECT_EQ(Read(1, 0, 256), Bytes(101, 0, 256));
    EXPECT_EQ(Read(1, 60, 70), Bytes(101, 60, 70)); // across pages 0..2
    EXPECT_EQ(St().snd_reads, 2u);
    EXPECT_EQ(St().snd_bytes_read, 326u);
    EXPECT_EQ(smc_pages_held_total(s), smc_pages_in_use(s));
}

// An ack frees the bytes below it and every page wholly below: the page of acked stays while
// acked is inside it. Duplicates free nothing; the FIN's + 1 is taken as the end silently, more
// is clamped and counted. Each ack that frees bytes calls back.
TEST_F(SmcSnd, AcksFreeBytesAndWholePages)
{
    Small();
    MakeSnd();
    ASSERT_EQ(smc_open(s, 2, 0, 0), 256u);
    ASSERT_EQ(Write(2, 200), 200u); // pages 0..3
    EXPECT_EQ(smc_snd_ack(s, 2, 63, 10), 63u);
    EXPECT_EQ(smc_pages_held(s, 2), 4u); // byte 63 is not acked
    EXPECT_EQ(smc_snd_space(s, 2), 256u - 137);
    EXPECT_EQ(smc_snd_ack(s, 2, 64, 11), 1u);
    EXPECT_EQ(smc_pages_held(s, 2), 3u);
    EXPECT_EQ(St().page_frees, 1u);
    EXPECT_EQ(smc_snd_ack(s, 2, 64, 12), 0u); // duplicate
    EXPECT_EQ(smc_snd_ack(s, 2, 10, 13), 0u); // below acked
    EXPECT_EQ(smc_snd_ack(s, 2, 150, 14), 86u);
    EXPECT_EQ(smc_pages_held(s, 2), 2u); // pages 2, 3: acked 150 is inside page 2
    EXPECT_EQ(smc_snd_acked(s, 2), 150u);
    EXPECT_EQ(smc_snd_pending(s, 2, 150), 50u);
    EXPECT_EQ(smc_snd_pending(s, 2, 180), 20u);
    EXPECT_EQ(smc_snd_pending(s, 2, 200), 0u);
    EXPECT_EQ(smc_snd_pending(s, 2, 4000), 0u);
    EXPECT_EQ(smc_snd_ack(s, 2, 201, 15), 50u); // end + 1: our FIN acknowledged
    EXPECT_EQ(St().snd_ack_clamped, 0u);
    EXPECT_EQ(smc_pages_held(s, 2), 1u); // page 3 holds byte 200's slot: acked is inside it
    EXPECT_EQ(smc_snd_unacked(s, 2), 0u);
    EXPECT_EQ(smc_snd_ack(s, 2, 300, 16), 0u); // beyond: clamped, nothing new
    EXPECT_EQ(St().snd_ack_clamped, 1u);
    EXPECT_EQ(Write(2, 56), 56u); // [200, 256) in page 3: no allocation
    EXPECT_EQ(St().page_allocs, 4u);
    EXPECT_EQ(smc_snd_ack(s, 2, 256, 17), 56u); // all of page 3 below acked: freed
    EXPECT_EQ(smc_pages_held(s, 2), 0u);
    EXPECT_EQ(smc_pages_in_use(s), 0u);
    EXPECT_EQ(St().page_frees, 4u);
    EXPECT_EQ(acked,
              (std::vector<Acked>{{2, 63, 10}, {2, 1, 11}, {2, 86, 14}, {2, 50, 15}, {2, 56, 17}}));
    EXPECT_EQ(St().snd_acks, 5u);
    EXPECT_EQ(St().snd_bytes_acked, 256u);
}

// Reads outside [acked, end) are refused and counted; a zero-length read at the end is fine.
TEST_F(SmcSnd, ReadsOutsideTheUnackedBytesAreRefused)
{
    Small();
    MakeSnd();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    ASSERT_EQ(Write(0, 150), 150u);
    ASSERT_EQ(smc_snd_ack(s, 0, 70, 0), 70u);
    int rc = 0;
    Read(0, 69, 2, &rc); // one byte below acked
    EXPECT_EQ(rc, -1);
    Read(0, 140, 11, &rc); // one byte beyond end
    EXPECT_EQ(rc, -1);
    Read(3, 0, 1, &rc); // not open
    EXPECT_EQ(rc, -1);
    EXPECT_EQ(St().snd_bad_read, 3u);
    EXPECT_EQ(Read(0, 70, 80, &rc), Bytes(100, 70, 80));
    EXPECT_EQ(rc, 0);
    cycle_t done = 7;
    EXPECT_EQ(smc_snd_read(s, 0, 150, nullptr, 0, 42, &done), 0);
    EXPECT_EQ(done, 42u);
    EXPECT_EQ(smc_snd_read(s, 0, 100, nullptr, 10, 42, nullptr), 0); // timing only
    EXPECT_EQ(St().snd_reads, 2u);
    EXPECT_EQ(St().snd_bad_read, 3u);
    EXPECT_EQ(smc_mem_stats(s)->reads, 2u);
}

// Host writes and payload reads are transfers on the memory channel: a read waits for the
// flow's last write, and they share one bus with the receive side's copies.
TEST_F(SmcSnd, MemoryChannelTiming)
{
    MakeSnd(); // latency 100, 16 bytes per cycle
    ASSERT_EQ(smc_open(s, 0, 0, 0), 32768u);
    ASSERT_EQ(smc_open(s, 1, 0, 0), 32768u);
    cycle_t done = 0;
    ASSERT_EQ(Write(0, 100, 10, &done), 100u);
    EXPECT_EQ(done, 10u + 100 + 7); // ceil(100 / 16) = 7
    // Read at 50, before the write completes: issued at 117, 117 + 100 + 4
    EXPECT_EQ(smc_snd_read(s, 0, 0, nullptr, 64, 50, &done), 0);
    EXPECT_EQ(done, 221u);
    // Read at 500: unloaded
    EXPECT_EQ(smc_snd_read(s, 0, 36, nullptr, 64, 500, &done), 0);
    EXPECT_EQ(done, 604u);
    // Another flow's read does not wait for flow 0's writes (only for the bus)
    ASSERT_EQ(Write(1, 16, 1000, &done), 16u);
    EXPECT_EQ(done, 1101u);
    ASSERT_EQ(Write(0, 1600, 1000, &done), 1600u); // its data waits for the bus until 1101
    EXPECT_EQ(done, 1201u);
    EXPECT_EQ(smc_snd_read(s, 1, 0, nullptr, 16, 1000, &done), 0); // bus free at 1201
    EXPECT_EQ(done, 1202u);
    // A receive-side copy shares the bus
    ASSERT_EQ(Append(1, 0, 32, 1100), 1u); // data at 1200, bus until 1202: 1204
    ASSERT_EQ(DeliverAll(s, 1, 32, 1100), 32u);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].at, 1304u + 2); // issued at 1204, 1304 + 2
    EXPECT_EQ(done, 1202u);
    EXPECT_EQ(Write(1, 0, 5000, &done), 0u); // nothing to write: no access
    EXPECT_EQ(done, 5000u);
    const xmem_stats *m = smc_mem_stats(s);
    EXPECT_EQ(m->writes, 4u);
    EXPECT_EQ(m->bytes_written, 100u + 16 + 1600 + 32);
    EXPECT_EQ(m->reads, 4u);
    EXPECT_EQ(m->bytes_read, 64u + 64 + 16 + 32);
}

// The pool is shared with the receive buffers: a write takes what the free pages hold and
// counts the cut; an ack's freed page lets the host write again; the receive side is refused
// when the send side took the pages.
TEST_F(SmcSnd, PoolCutsWritesShort)
{
    Small(3);
    MakeSnd();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    ASSERT_EQ(smc_open(s, 1, 0, 0), 256u);
    ASSERT_EQ(Append(1, 0, 10), 1u); // one page to flow 1's receive buffer
    EXPECT_EQ(Write(0, 256), 128u);  // two pages left
    EXPECT_EQ(St().snd_refused_pool, 1u);
    EXPECT_EQ(Write(0, 10), 0u);
    EXPECT_EQ(St().snd_refused_pool, 2u);
    EXPECT_EQ(Append(1, 64, 10), 0u); // the receive side finds the pool dry
    EXPECT_EQ(St().refused_pool, 1u);
    EXPECT_EQ(smc_snd_ack(s, 0, 64, 0), 64u); // page 0 back
    EXPECT_EQ(Write(0, 256), 64u);            // space 192, the pool one page
    EXPECT_EQ(St().snd_refused_pool, 3u);
    EXPECT_EQ(smc_pages_held(s, 0), 2u);
    EXPECT_EQ(smc_pages_held(s, 1), 1u);
    EXPECT_EQ(smc_pages_in_use(s), 3u);
    EXPECT_EQ(smc_pages_held_total(s), 3u);
    EXPECT_EQ(Read(0, 64, 128), Bytes(100, 64, 128));
    EXPECT_EQ(St().pages_peak, 3u);
}

// smc_close frees both buffers' pages and counts the unacknowledged bytes; a re-open starts the
// send stream at 0.
TEST_F(SmcSnd, CloseFreesBothBuffers)
{
    Small();
    MakeSnd();
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    ASSERT_EQ(Append(0, 0, 100), 1u);
    ASSERT_EQ(Write(0, 200), 200u);
    ASSERT_EQ(smc_snd_ack(s, 0, 50, 0), 50u);
    EXPECT_EQ(smc_pages_held(s, 0), 2u + 4);
    smc_close(s, 0);
    EXPECT_EQ(smc_pages_held(s, 0), 0u);
    EXPECT_EQ(smc_pages_in_use(s), 0u);
    EXPECT_EQ(St().page_frees, St().page_allocs);
    EXPECT_EQ(St().snd_bytes_discarded, 150u);
    EXPECT_EQ(St().bytes_discarded, 100u);
    EXPECT_EQ(smc_snd_space(s, 0), 0u);
    EXPECT_EQ(smc_snd_end(s, 0), 0u);
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    EXPECT_EQ(smc_snd_end(s, 0), 0u);
    EXPECT_EQ(smc_snd_space(s, 0), 256u);
    ASSERT_EQ(Write(0, 10), 10u);
    EXPECT_EQ(Read(0, 0, 10), Bytes(100, 0, 10));
    // re-opening an open flow discards as a close does
    ASSERT_EQ(smc_open(s, 0, 0, 0), 256u);
    EXPECT_EQ(St().snd_bytes_discarded, 160u);
    EXPECT_EQ(smc_pages_in_use(s), 0u);
}

// A send stream longer than 4 GiB: 32-bit offsets for reads, acks and pending unwrap around
// acked. 64 KiB pages, a 1 MiB buffer: each round writes 1 MiB and acks it.
TEST_F(SmcSnd, OffsetsWrapPast4GiB)
{
    cfg.page_size = 65536;
    cfg.buf_min = cfg.buf_max = 1048576;
    MakeSnd(1);
    ASSERT_EQ(smc_open(s, 0, 0, 5), 1048576u); // shift 5: 65535 << 5 does not bound it
    std::vector<uint8_t> chunk(1048576);
    for (size_t i = 0; i < chunk.size(); i++)
        chunk[i] = static_cast<uint8_t>(i * 7 + 3);
    const uint64_t target = (1ull << 32) - 1048576 / 2; // the last round crosses 2^32
    uint64_t end = 0;
    while (end < target) {
        ASSERT_EQ(smc_snd_write(s, 0, chunk.data(), 1048576, 0, nullptr), 1048576u);
        end += 1048576;
        ASSERT_EQ(smc_snd_ack(s, 0, static_cast<uint32_t>(end), 0), 1048576u);
    }
    ASSERT_EQ(end, 1ull << 32);             // 4096 rounds
    ASSERT_EQ(smc_snd_ack(s, 0, 0, 0), 0u); // the same offset, wrapped: nothing new
    // Half a buffer more, then acks and reads with offsets past the wrap
    ASSERT_EQ(smc_snd_write(s, 0, chunk.data(), 524288, 0, nullptr), 524288u);
    EXPECT_EQ(smc_snd_end(s, 0), (1ull << 32) + 524288);
    EXPECT_EQ(smc_snd_pending(s, 0, 0), 524288u);
    EXPECT_EQ(smc_snd_pending(s, 0, 0xfffffff0u), 524288u + 16); // below acked: still counted
    std::vector<uint8_t> got8(100);
    ASSERT_EQ(smc_snd_read(s, 0, 1000, got8.data(), 100, 0, nullptr), 0);
    EXPECT_EQ(got8, std::vector<uint8_t>(chunk.begin() + 1000, chunk.begin() + 1100));
    EXPECT_EQ(smc_snd_read(s, 0, 0xffffffffu, got8.data(), 1, 0, nullptr), -1); // below acked
    EXPECT_EQ(smc_snd_ack(s, 0, 65536, 0), 65536u);
    EXPECT_EQ(smc_snd_acked(s, 0), (1ull << 32) + 65536);
    EXPECT_EQ(smc_pages_held(s, 0), 7u);
    EXPECT_EQ(St().snd_bytes_written, (1ull << 32) + 524288);
    EXPECT_EQ(St().snd_bytes_acked, (1ull << 32) + 65536);
    EXPECT_EQ(St().snd_ack_clamped, 0u);
}

// Random writes, reads, acks, appends, deliveries, opens and closes on several flows against a
// reference model: every read returns what was written, and each buffer holds exactly the pages
// its bytes need; pages in use = pages held by open flows (both buffers).
TEST_F(SmcSnd, RandomOperationsKeepTheInvariant)
{
    Small(14);
    cfg.buf_max = 512;
    cfg.buf_segments = 1;
    MakeSnd(4);
    struct Model {
        bool open = false;
        uint32_t size = 0;
        uint64_t acked = 0, end = 0, rx_consumed = 0, rx_hi = 0;
        std::vector<uint8_t> data; // the whole send stream written so far
    };
    Model m[4];
    uint64_t x = 777, discarded = 0, acked_bytes = 0;
    auto rnd = [&x](uint64_t n) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        return (x >> 33) % n;
    };
    auto snd_pages = [](const Model &mf) -> uint64_t {
        uint64_t lo = mf.acked / 64, hi = (mf.end + 63) / 64;
        return hi > lo ? hi - lo : 0;
    };
    auto rx_pages = [](const Model &mf) -> uint64_t { // in-order appends, consumed at once
        uint64_t lo = mf.rx_consumed / 64, hi = (mf.rx_hi + 63) / 64;
        return hi > lo ? hi - lo : 0;
    };
    uint64_t cut = 0;
    acked.clear();
    for (int i = 0; i < 20000; i++) {
        uint32_t f = static_cast<uint32_t>(rnd(4));
        Model &mf = m[f];
        uint64_t op = rnd(100);
        uint64_t in_use = 0;
        for (const Model &g : m)
            in_use += snd_pages(g) + rx_pages(g);
        uint64_t free_pages = cfg.pages - in_use;
        if (op < 3) {
            if (mf.open)
                discarded += mf.end - mf.acked;
            mf = Model{};
            uint32_t mss = static_cast<uint32_t>(rnd(600));
            mf.size = smc_open(s, f, mss, 0);
            mf.open = true;
        } else if (op < 5) {
            if (mf.open)
                discarded += mf.end - mf.acked;
            mf = Model{};
            smc_close(s, f);
        } else if (op < 40) {
            uint32_t len = static_cast<uint32_t>(rnd(200));
            uint64_t space = mf.open ? mf.size - (mf.end - mf.acked) : 0;
            uint64_t want = std::min<uint64_t>(len, space);
            uint64_t top = snd_pages(mf) ? (mf.end + 63) / 64 * 64 : mf.end;
            uint64_t room = top - mf.end + free_pages * 64;
            uint64_t n = std::min(want, room);
            cut += n < want;
            ASSERT_EQ(Write(f, len), n) << i;
            for (uint64_t b = 0; b < n; b++)
                mf.data.push_back(Byte(100 + f, mf.end + b));
            mf.end += n;
        } else if (op < 60) {
            uint64_t upto = mf.acked + rnd(mf.end - mf.acked + 3); // sometimes beyond
            uint64_t n = mf.open ? std::min(upto, mf.end) - std::min(mf.acked, upto) : 0;
            if (upto < mf.acked)
                n = 0;
            ASSERT_EQ(smc_snd_ack(s, f, static_cast<uint32_t>(upto), i), n) << i;
            if (mf.open && upto > mf.acked) {
                mf.acked = std::min(upto, mf.end);
                acked_bytes += n;
            }
        } else if (op < 80) {
            int64_t o = static_cast<int64_t>(mf.acked) - 5 +
                        static_cast<int64_t>(rnd(mf.end - mf.acked + 10));
            uint32_t len = static_cast<uint32_t>(rnd(130));
            bool ok = mf.open && o >= static_cast<int64_t>(mf.acked) &&
                      static_cast<uint64_t>(o) + len <= mf.end;
            int rc = 0;
            std::vector<uint8_t> d = Read(f, static_cast<uint64_t>(o), len, &rc);
            ASSERT_EQ(rc, ok ? 0 : -1) << i;
            if (ok) {
                std::vector<uint8_t> want(mf.data.begin() + o, mf.data.begin() + o + len);
                ASSERT_EQ(d, want) << i;
            }
        } else {
            // in-order receive data, read by the host at once
            uint32_t len = static_cast<uint32_t>(rnd(100));
            bool fits = mf.open && mf.rx_hi + len <= mf.rx_consumed + mf.size;
            uint64_t top = rx_pages(mf) ? (mf.rx_hi + 63) / 64 * 64 : mf.rx_hi;
            uint64_t need = mf.rx_hi + len > top ? (mf.rx_hi + len - top + 63) / 64 : 0;
            bool ok = fits && need <= free_pages;
            ASSERT_EQ(Append(f, mf.rx_hi, len), ok ? 1u : 0u) << i;
            if (ok) {
                mf.rx_hi += len;
                ASSERT_EQ(DeliverAll(s, f, static_cast<uint32_t>(mf.rx_hi), 0), len);
                mf.rx_consumed = mf.rx_hi;
            }
            got.clear();
        }
        uint64_t held = 0;
        for (uint32_t g = 0; g < 4; g++) {
            ASSERT_EQ(smc_pages_held(s, g), snd_pages(m[g]) + rx_pages(m[g])) << i << " flow " << g;
            ASSERT_EQ(smc_snd_space(s, g), m[g].open ? m[g].size - (m[g].end - m[g].acked) : 0)
                << i;
            held += snd_pages(m[g]) + rx_pages(m[g]);
        }
        ASSERT_EQ(smc_pages_in_use(s), held) << i;
        ASSERT_EQ(smc_pages_held_total(s), held) << i;
    }
    EXPECT_EQ(St().snd_bytes_discarded, discarded);
    EXPECT_EQ(St().snd_bytes_acked, acked_bytes);
    EXPECT_EQ(St().snd_refused_pool, cut);
    EXPECT_GT(cut, 0u);
    EXPECT_EQ(St().page_allocs - St().page_frees, smc_pages_in_use(s));
    uint64_t sum = 0;
    for (const Acked &a : acked)
        sum += a.bytes;
    EXPECT_EQ(sum, acked_bytes);
    EXPECT_EQ(St().pages_peak, 14u);
}

} // namespace

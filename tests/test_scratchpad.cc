// Unit tests of models/scratchpad: configuration, storage across cells, bounds, reference
// counts, exhaustion and pool conservation.
#include "scratchpad.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

// Bytes that differ from cell to cell and from frame to frame, so that a misplaced cell shows.
std::vector<uint8_t> pattern(uint32_t len, uint32_t seed)
{
    std::vector<uint8_t> v(len);
    for (uint32_t i = 0; i < len; i++)
        v[i] = static_cast<uint8_t>((i * 31u + seed * 17u + (i >> 8)) ^ (seed >> 3));
    return v;
}

// Walks the free list: it must hold exactly free_count distinct cells and end in SP_NONE.
void check_free_list(const scratchpad &s)
{
    std::vector<bool> seen(s.ncells);
    uint32_t n = 0;
    for (uint32_t c = s.free_head; c != SP_NONE; c = s.next[c]) {
        ASSERT_LT(c, s.ncells);
        ASSERT_FALSE(seen[c]) << "free list revisits cell " << c;
        seen[c] = true;
        n++;
        ASSERT_LE(n, s.ncells);
    }
    ASSERT_EQ(n, s.free_count);
    // the run bookkeeping: head_run, and run[] at every cell that does not follow its
    // predecessor in the list, are the exact counts of cells c, c + 1, ... in list order
    std::vector<uint32_t> list;
    for (uint32_t c = s.free_head; c != SP_NONE; c = s.next[c])
        list.push_back(c);
    std::vector<uint32_t> r(list.size());
    for (size_t i = list.size(); i-- > 0;)
        r[i] = i + 1 < list.size() && list[i + 1] == list[i] + 1 ? r[i + 1] + 1 : 1;
    ASSERT_EQ(s.head_run, list.empty() ? 0u : r[0]);
    for (size_t i = 1; i < list.size(); i++) {
        if (list[i] != list[i - 1] + 1) {
            ASSERT_EQ(s.run[list[i]], r[i]) << "run at cell " << list[i];
        }
    }
}

// Pool conservation: every cell is either free or held by a frame.
void check_pool(const scratchpad &s)
{
    ASSERT_EQ(s.st.cells_used + s.free_count, s.ncells);
    ASSERT_EQ(sp_empty(&s), s.free_count == s.ncells);
}

class Scratchpad : public ::testing::Test {
protected:
    scratchpad s{};
    sim_err err{};

    void init(uint32_t capacity, uint32_t cell)
    {
        sp_fini(&s);
        sp_cfg c;
        sp_cfg_default(&c);
        c.capacity = capacity;
        c.cell = cell;
        ASSERT_EQ(sp_init(&s, &c, &err), 0) << err.msg;
    }
    void TearDown() override { sp_fini(&s); }

    // Frees leave the free list as C, A, then the untouched run: a 90-byte frame of data in
    // 16-byte cells then takes cells C, A, C+1 .. C+4, out of order and then consecutive. B, the
    // cell between A and C, holds b_data (16 bytes). Returns the frame's handle (= C).
    struct Scattered {
        uint32_t a, b, c, h;
    };
    Scattered scattered_frame(const std::vector<uint8_t> &data, const std::vector<uint8_t> &b_data)
    {
        init(4096, 16);
        Scattered l{};
        l.a = sp_alloc(&s, nullptr, 16, 1);
        l.b = sp_alloc(&s, b_data.data(), 16, 1);
        l.c = sp_alloc(&s, nullptr, 16, 1);
        EXPECT_TRUE(sp_release(&s, l.a));
        EXPECT_TRUE(sp_release(&s, l.c));
        l.h = sp_alloc(&s, data.data(), static_cast<uint32_t>(data.size()), 1);
        EXPECT_EQ(l.h, l.c);
        EXPECT_EQ(s.next[l.c], l.a);
        EXPECT_EQ(s.next[l.a], l.c + 1);
        EXPECT_EQ(s.next[l.c + 1], l.c + 2);
        return l;
    }

    std::vector<uint8_t> read_all(uint32_t h)
    {
        std::vector<uint8_t> v(sp_len(&s, h));
        EXPECT_EQ(sp_read(&s, h, 0, v.data(), static_cast<uint32_t>(v.size())), 0);
        return v;
    }
};

// ---------------------------------------------------------------------------------------------
// configuration
// ---------------------------------------------------------------------------------------------

TEST(ScratchpadCfg, Defaults)
{
    sp_cfg c;
    std::memset(&c, 0xff, sizeof c);
    sp_cfg_default(&c);
    EXPECT_EQ(c.capacity, 1u << 20);
    EXPECT_EQ(c.cell, 64u);
    EXPECT_STREQ(sp_params.unit, "scratchpad");
    EXPECT_EQ(sp_params.n, 2u);
    EXPECT_EQ(param_validate(&sp_params, &c, nullptr), 0);

    scratchpad s;
    sim_err err{};
    ASSERT_EQ(sp_init(&s, &c, &err), 0) << err.msg;
    EXPECT_EQ(s.ncells, (1u << 20) / 64u);
    EXPECT_EQ(s.free_count, s.ncells);
    EXPECT_TRUE(sp_empty(&s));
    check_free_list(s);
    sp_fini(&s);
}

TEST(ScratchpadCfg, ParamErrors)
{
    sp_cfg c;
    sp_cfg_default(&c);
    sim_err err{};
    EXPECT_EQ(param_set(&sp_params, &c, "capacity", "4095", &err), -1);
    EXPECT_STREQ(err.msg, "scratchpad.capacity: 4095 is out of range [4096, 268435456]");
    EXPECT_EQ(param_set(&sp_params, &c, "capacity", "268435457", &err), -1);
    EXPECT_STREQ(err.msg, "scratchpad.capacity: 268435457 is out of range [4096, 268435456]");
    EXPECT_EQ(param_set(&sp_params, &c, "cell", "15", &err), -1);
    EXPECT_STREQ(err.msg, "scratchpad.cell: 15 is out of range [16, 16384]");
    EXPECT_EQ(param_set(&sp_params, &c, "cells", "16", &err), -1);
    EXPECT_STREQ(err.msg, "scratchpad: unknown parameter 'cells'");
    EXPECT_EQ(c.capacity, 1u << 20); // unchanged
    EXPECT_EQ(c.cell, 64u);
    EXPECT_EQ(param_set(&sp_params, &c, "capacity", "4096", &err), 0);
    EXPECT_EQ(param_set(&sp_params, &c, "cell", "0x4000", &err), 0);
    EXPECT_EQ(c.capacity, 4096u);
    EXPECT_EQ(c.cell, 16384u);
}

TEST(ScratchpadCfg, InitRejectsBadCfg)
{
    scratchpad s;
    sim_err err{};
    sp_cfg c;

    sp_cfg_default(&c);
    c.capacity = 4096;
    c.cell = 8192; // within its own bounds, but larger than the whole memory
    EXPECT_EQ(sp_init(&s, &c, &err), -1);
    EXPECT_STREQ(err.msg, "scratchpad.cell: 8192 is larger than the capacity 4096");
    sp_fini(&s); // safe after a failed init

    sp_cfg_default(&c);
    c.capacity = 1000; // below the minimum, written directly
    EXPECT_EQ(sp_init(&s, &c, &err), -1);
    EXPECT_STREQ(err.msg, "scratchpad.capacity: 1000 is out of range [4096, 268435456]");
    sp_fini(&s);

    sp_cfg_default(&c);
    c.cell = 20000;
    EXPECT_EQ(sp_init(&s, &c, &err), -1);
    EXPECT_STREQ(err.msg, "scratchpad.cell: 20000 is out of range [16, 16384]");
    sp_fini(&s);

    sp_cfg_default(&c);
    c.capacity = 4096;
    c.cell = 4096; // one cell: accepted
    ASSERT_EQ(sp_init(&s, &c, &err), 0) << err.msg;
    EXPECT_EQ(s.ncells, 1u);
    sp_fini(&s);

    c.capacity = 5000;
    c.cell = 1000; // a remainder of a cell is not used
    ASSERT_EQ(sp_init(&s, &c, &err), 0) << err.msg;
    EXPECT_EQ(s.ncells, 5u);
    c.capacity = 4999;
    sp_fini(&s);
    ASSERT_EQ(sp_init(&s, &c, &err), 0) << err.msg;
    EXPECT_EQ(s.ncells, 4u);
    sp_fini(&s);
}

TEST(ScratchpadCfg, StatDefsAreNamedAndDistinct)
{
    EXPECT_EQ(sp_stat_count, 8u);
    std::set<std::string> names;
    std::set<size_t> offs;
    for (size_t i = 0; i < sp_stat_count; i++) {
        EXPECT_TRUE(names.insert(sp_stat_defs[i].name).second) << sp_stat_defs[i].name;
        EXPECT_TRUE(offs.insert(sp_stat_defs[i].off).second) << sp_stat_defs[i].name;
        EXPECT_GT(std::strlen(sp_stat_defs[i].desc), 0u);
        EXPECT_LT(sp_stat_defs[i].off, sizeof(sp_stats));
    }
    sp_stats st{};
    st.alloc_fail = 42;
    for (size_t i = 0; i < sp_stat_count; i++) {
        if (std::string(sp_stat_defs[i].name) == "alloc_fail") {
            EXPECT_EQ(stat_read(&sp_stat_defs[i], &st), 42u);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// storage
// ---------------------------------------------------------------------------------------------

TEST_F(Scratchpad, CellsFor)
{
    init(4096, 64);
    EXPECT_EQ(sp_cells_for(&s, 0), 1u); // an empty frame still takes a cell (it has a handle)
    EXPECT_EQ(sp_cells_for(&s, 1), 1u);
    EXPECT_EQ(sp_cells_for(&s, 63), 1u);
    EXPECT_EQ(sp_cells_for(&s, 64), 1u);
    EXPECT_EQ(sp_cells_for(&s, 65), 2u);
    EXPECT_EQ(sp_cells_for(&s, 4096), 64u);
    EXPECT_EQ(sp_cells_for(&s, 4097), 65u);
    EXPECT_EQ(sp_cells_for(&s, UINT32_MAX), 67108864u); // ceil(2^32 - 1) / 64, no wrap-around
}

TEST_F(Scratchpad, TooBig)
{
    init(4096, 64);
    EXPECT_FALSE(sp_too_big(&s, 0));
    EXPECT_FALSE(sp_too_big(&s, 4096));
    EXPECT_TRUE(sp_too_big(&s, 4097));
    EXPECT_TRUE(sp_too_big(&s, 1u << 20));
    EXPECT_TRUE(sp_too_big(&s, UINT32_MAX - 62)); // len + cell - 1 would wrap to 0 in 32 bits
    EXPECT_TRUE(sp_too_big(&s, UINT32_MAX));
    // too big is refused (and counted), never wrapped into a small allocation
    EXPECT_EQ(sp_alloc(&s, nullptr, UINT32_MAX, 1), SP_NONE);
    EXPECT_EQ(s.st.alloc_fail, 1u);
    EXPECT_EQ(sp_alloc(&s, nullptr, 4097, 1), SP_NONE);
    EXPECT_EQ(s.st.alloc_fail, 2u);
    EXPECT_TRUE(sp_empty(&s));
    check_pool(s);

    init(5000, 1000); // 5 cells; capacity is not a multiple of the cell
    EXPECT_FALSE(sp_too_big(&s, 5000));
    EXPECT_TRUE(sp_too_big(&s, 5001));
}

TEST_F(Scratchpad, ReadBackAcrossCellBoundaries)
{
    const uint32_t cell = 64;
    init(16384, cell); // 256 cells
    const uint32_t lens[] = {0, 1, cell - 1, cell, cell + 1, 2 * cell, 10 * cell + 17, 100 * cell};
    std::vector<std::pair<uint32_t, std::vector<uint8_t>>> live;
    uint64_t cells = 0, bytes = 0;
    uint32_t seed = 1;
    for (uint32_t len : lens) {
        std::vector<uint8_t> data = pattern(len, seed++);
        uint32_t h = sp_alloc(&s, data.data(), len, 1);
        ASSERT_NE(h, SP_NONE) << len;
        ASSERT_LT(h, s.ncells);
        EXPECT_EQ(sp_len(&s, h), len);
        cells += sp_cells_for(&s, len);
        bytes += len;
        EXPECT_EQ(s.st.cells_used, cells);
        EXPECT_EQ(s.st.bytes_used, bytes);
        check_pool(s);
        live.emplace_back(h, std::move(data));
    }
    EXPECT_EQ(cells, 1u + 1 + 1 + 1 + 2 + 2 + 11 + 100);
    EXPECT_EQ(s.st.allocs, 8u);
    EXPECT_EQ(s.st.bytes_in, bytes);
    for (auto &[h, data] : live)
        EXPECT_EQ(read_all(h), data) << "frame of " << data.size() << " bytes";
    check_free_list(s);
}

TEST_F(Scratchpad, EveryWindowOfAFrame)
{
    init(4096, 16); // small cells so that a 100-byte frame spans 7 of them
    std::vector<uint8_t> data = pattern(100, 7);
    uint32_t h = sp_alloc(&s, data.data(), 100, 1);
    ASSERT_NE(h, SP_NONE);
    for (uint32_t off = 0; off <= 100; off++) {
        for (uint32_t n = 0; off + n <= 100; n++) {
            std::vector<uint8_t> got(n + 1, 0xcc);
            ASSERT_EQ(sp_read(&s, h, off, got.data(), n), 0) << off << "+" << n;
            for (uint32_t i = 0; i < n; i++)
                ASSERT_EQ(got[i], data[off + i]) << off << "+" << n << " byte " << i;
            ASSERT_EQ(got[n], 0xcc) << "wrote past n";
        }
    }
}

TEST_F(Scratchpad, WindowsOfAFrameInScatteredCells)
{
    // a 6-cell frame in cells out of order and then consecutive ones: copies must follow the
    // chain, not the address
    std::vector<uint8_t> pb = pattern(16, 10);
    std::vector<uint8_t> data = pattern(90, 11);
    const Scattered l = scattered_frame(data, pb);
    const uint32_t b = l.b, h = l.h;
    for (uint32_t off = 0; off <= 90; off++)
        for (uint32_t n = 0; off + n <= 90; n++) {
            std::vector<uint8_t> got(n + 1, 0xcc);
            ASSERT_EQ(sp_read(&s, h, off, got.data(), n), 0) << off << "+" << n;
            ASSERT_TRUE(std::equal(got.begin(), got.begin() + n, data.begin() + off))
                << off << "+" << n;
            ASSERT_EQ(got[n], 0xcc) << "wrote past n";
        }
    // b is untouched by the frame written around it
    std::vector<uint8_t> patch = pattern(90, 12);
    ASSERT_EQ(sp_write(&s, h, 0, patch.data(), 90), 0);
    EXPECT_EQ(read_all(h), patch);
    EXPECT_EQ(read_all(b), pb);
}

TEST_F(Scratchpad, SpanInPlaceOnlyOverConsecutiveCells)
{
    // frame h takes cells c, a, c+1, ..., c+4 (16 bytes each), so bytes [0,16) are in c,
    // [16,32) in a and [32,90) in the run c+1..c+4
    std::vector<uint8_t> data = pattern(90, 13);
    const Scattered l = scattered_frame(data, pattern(16, 14));
    const uint32_t a = l.a, b = l.b, c = l.c, h = l.h;
    EXPECT_EQ(s.whole[h], 0u); // not one block: each window is checked cell by cell
    auto cell_at = [&](uint32_t cell, uint32_t in) { return s.mem + cell * 16u + in; };
    for (uint32_t off = 0; off <= 90; off++)
        for (uint32_t n = 0; off + n <= 90; n++) {
            const uint8_t *p = sp_span(&s, h, off, n);
            // in place exactly when the window stays inside one cell or inside the run
            bool one = n == 0 || (off / 16 == (off + n - 1) / 16) || off >= 32;
            if (!one) {
                EXPECT_EQ(p, nullptr) << off << "+" << n;
                continue;
            }
            ASSERT_NE(p, nullptr) << off << "+" << n;
            if (n == 0)
                continue;
            const uint8_t *want = off < 16   ? cell_at(c, off)
                                  : off < 32 ? cell_at(a, off - 16)
                                             : cell_at(c + 1 + (off - 32) / 16, (off - 32) % 16);
            EXPECT_EQ(p, want) << off << "+" << n;
            EXPECT_TRUE(std::equal(p, p + n, data.begin() + off)) << off << "+" << n;
        }
    // outside the frame: nothing
    EXPECT_EQ(sp_span(&s, h, 91, 0), nullptr);
    EXPECT_EQ(sp_span(&s, h, 90, 1), nullptr);
    EXPECT_EQ(sp_span(&s, h, 0, 91), nullptr);
    EXPECT_EQ(sp_span(&s, h, 1, UINT32_MAX), nullptr); // off + n would wrap
    // a frame in one run of fresh cells is in place whole, and sp_write shows through
    uint32_t f = sp_alloc(&s, data.data(), 90, 1);
    EXPECT_EQ(s.whole[f], 1u);
    const uint8_t *p = sp_span(&s, f, 0, 90);
    ASSERT_EQ(p, cell_at(f, 0));
    EXPECT_EQ(sp_span(&s, f, 37, 53), cell_at(f, 37));
    EXPECT_EQ(sp_span(&s, f, 90, 0), cell_at(f, 90));
    EXPECT_EQ(sp_span(&s, f, 37, 54), nullptr);
    EXPECT_TRUE(std::equal(p, p + 90, data.begin()));
    std::vector<uint8_t> patch = pattern(90, 14);
    ASSERT_EQ(sp_write(&s, f, 0, patch.data(), 90), 0);
    EXPECT_TRUE(std::equal(p, p + 90, patch.begin()));
    (void)b;
}

TEST_F(Scratchpad, ReserveThenWrite)
{
    init(4096, 16);
    uint32_t h = sp_alloc(&s, nullptr, 50, 1); // reserve only
    ASSERT_NE(h, SP_NONE);
    EXPECT_EQ(sp_len(&s, h), 50u);
    EXPECT_EQ(s.st.bytes_in, 50u);
    std::vector<uint8_t> data = pattern(50, 3);
    // write in pieces that straddle cells: [0,10) [10,33) [33,50)
    ASSERT_EQ(sp_write(&s, h, 0, data.data(), 10), 0);
    ASSERT_EQ(sp_write(&s, h, 10, data.data() + 10, 23), 0);
    ASSERT_EQ(sp_write(&s, h, 33, data.data() + 33, 17), 0);
    EXPECT_EQ(read_all(h), data);
    // overwrite across the 16/32 boundaries
    const uint8_t patch[20] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                               11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
    ASSERT_EQ(sp_write(&s, h, 14, patch, sizeof patch), 0);
    std::memcpy(data.data() + 14, patch, sizeof patch);
    EXPECT_EQ(read_all(h), data);
}

TEST_F(Scratchpad, ReadWriteBounds)
{
    init(4096, 16);
    std::vector<uint8_t> data = pattern(40, 5);
    uint32_t h = sp_alloc(&s, data.data(), 40, 1);
    ASSERT_NE(h, SP_NONE);
    std::vector<uint8_t> buf(64, 0xee);
    const std::vector<uint8_t> untouched = buf;
    struct {
        uint32_t off, n;
    } bad[] = {{0, 41},  {1, 40},         {39, 2},         {40, 1},         {41, 0},
               {100, 1}, {1, UINT32_MAX}, {UINT32_MAX, 1}, {UINT32_MAX, 0}, {20, UINT32_MAX - 19}};
    for (auto b : bad) {
        EXPECT_EQ(sp_read(&s, h, b.off, buf.data(), b.n), -1) << b.off << "+" << b.n;
        EXPECT_EQ(buf, untouched) << "read copied something at " << b.off << "+" << b.n;
        EXPECT_EQ(sp_write(&s, h, b.off, buf.data(), b.n), -1) << b.off << "+" << b.n;
        EXPECT_EQ(read_all(h), data) << "write changed the frame at " << b.off << "+" << b.n;
    }
    // the edges themselves are inside
    EXPECT_EQ(sp_read(&s, h, 40, buf.data(), 0), 0);
    EXPECT_EQ(sp_read(&s, h, 0, buf.data(), 0), 0);
    EXPECT_EQ(buf, untouched);
    EXPECT_EQ(sp_read(&s, h, 39, buf.data(), 1), 0);
    EXPECT_EQ(buf[0], data[39]);
    EXPECT_EQ(sp_read(&s, h, 0, buf.data(), 40), 0);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), buf.begin()));

    // a frame whose length is a whole number of cells: off == len at the chain's end
    std::vector<uint8_t> d32 = pattern(32, 6);
    uint32_t h2 = sp_alloc(&s, d32.data(), 32, 1);
    EXPECT_EQ(sp_read(&s, h2, 32, buf.data(), 0), 0);
    EXPECT_EQ(sp_write(&s, h2, 32, buf.data(), 0), 0);
    EXPECT_EQ(sp_read(&s, h2, 32, buf.data(), 1), -1);
    EXPECT_EQ(read_all(h2), d32);

    // an empty frame: only (0, 0) is inside
    uint32_t h0 = sp_alloc(&s, nullptr, 0, 1);
    ASSERT_NE(h0, SP_NONE);
    EXPECT_EQ(sp_len(&s, h0), 0u);
    EXPECT_EQ(sp_read(&s, h0, 0, buf.data(), 0), 0);
    EXPECT_EQ(sp_read(&s, h0, 0, buf.data(), 1), -1);
    EXPECT_EQ(sp_write(&s, h0, 1, buf.data(), 0), -1);
}

// ---------------------------------------------------------------------------------------------
// references
// ---------------------------------------------------------------------------------------------

TEST_F(Scratchpad, FreedOnlyByTheLastReference)
{
    init(4096, 64);
    std::vector<uint8_t> data = pattern(200, 9);
    uint32_t h = sp_alloc(&s, data.data(), 200, 3);
    ASSERT_NE(h, SP_NONE);
    EXPECT_EQ(s.st.cells_used, 4u);
    EXPECT_FALSE(sp_release(&s, h));
    EXPECT_FALSE(sp_release(&s, h));
    EXPECT_EQ(s.st.cells_used, 4u); // still held, still readable
    EXPECT_EQ(s.st.frees, 0u);
    EXPECT_EQ(read_all(h), data);
    EXPECT_TRUE(sp_release(&s, h));
    EXPECT_EQ(s.st.frees, 1u);
    EXPECT_EQ(s.st.cells_used, 0u);
    EXPECT_EQ(s.st.bytes_used, 0u);
    EXPECT_TRUE(sp_empty(&s));
    check_free_list(s);
}

TEST_F(Scratchpad, RefAddsReferences)
{
    init(4096, 64);
    uint32_t h = sp_alloc(&s, nullptr, 10, 1);
    ASSERT_NE(h, SP_NONE);
    sp_ref(&s, h, 2);
    EXPECT_FALSE(sp_release(&s, h));
    sp_ref(&s, h, 1);
    EXPECT_FALSE(sp_release(&s, h));
    EXPECT_FALSE(sp_release(&s, h));
    EXPECT_FALSE(sp_empty(&s));
    EXPECT_TRUE(sp_release(&s, h));
    EXPECT_TRUE(sp_empty(&s));
}

TEST_F(Scratchpad, ZeroRefsMeansOne)
{
    init(4096, 64);
    uint32_t h = sp_alloc(&s, nullptr, 10, 0);
    ASSERT_NE(h, SP_NONE);
    EXPECT_TRUE(sp_release(&s, h));
    EXPECT_TRUE(sp_empty(&s));
}

// ---------------------------------------------------------------------------------------------
// exhaustion
// ---------------------------------------------------------------------------------------------

TEST_F(Scratchpad, ExhaustionIsRefusedCountedAndLeaksNothing)
{
    init(4096, 64); // 64 cells
    std::vector<uint32_t> hs;
    for (int i = 0; i < 21; i++) { // 21 frames of 3 cells: 63 cells
        uint32_t h = sp_alloc(&s, nullptr, 150, 1);
        ASSERT_NE(h, SP_NONE) << i;
        hs.push_back(h);
    }
    EXPECT_EQ(s.free_count, 1u);
    const sp_stats before = s.st;

    EXPECT_EQ(sp_alloc(&s, nullptr, 65, 1), SP_NONE); // needs 2 cells, 1 free
    EXPECT_EQ(s.st.alloc_fail, 1u);
    EXPECT_EQ(s.free_count, 1u);
    EXPECT_EQ(sp_alloc(&s, pattern(4096, 1).data(), 4096, 1), SP_NONE);
    EXPECT_EQ(s.st.alloc_fail, 2u);
    EXPECT_EQ(s.free_count, 1u);
    check_free_list(s);
    check_pool(s);
    // nothing but the failure count moved
    sp_stats expect = before;
    expect.alloc_fail = 2;
    EXPECT_EQ(std::memcmp(&expect, &s.st, sizeof expect), 0);

    uint32_t last = sp_alloc(&s, nullptr, 64, 1); // exactly the last cell
    ASSERT_NE(last, SP_NONE);
    EXPECT_EQ(s.free_count, 0u);
    EXPECT_EQ(s.free_head, SP_NONE);
    EXPECT_EQ(sp_alloc(&s, nullptr, 0, 1), SP_NONE); // even an empty frame needs a cell
    EXPECT_EQ(s.st.alloc_fail, 3u);
    check_free_list(s);
    check_pool(s);

    // Free one 3-cell frame: a 3-cell frame fits again, a 4-cell one does not.
    EXPECT_TRUE(sp_release(&s, hs.back()));
    hs.pop_back();
    EXPECT_EQ(sp_alloc(&s, nullptr, 193, 1), SP_NONE);
    EXPECT_EQ(s.st.alloc_fail, 4u);
    uint32_t h = sp_alloc(&s, nullptr, 192, 1);
    ASSERT_NE(h, SP_NONE);
    hs.push_back(h);
    hs.push_back(last);
    for (uint32_t x : hs)
        EXPECT_TRUE(sp_release(&s, x));
    EXPECT_TRUE(sp_empty(&s));
    EXPECT_EQ(s.st.cells_used, 0u);
    EXPECT_EQ(s.st.bytes_used, 0u);
    EXPECT_EQ(s.st.cells_peak, 64u);
    EXPECT_EQ(s.st.bytes_peak, 20u * 150 + 64 + 192); // after the 150 -> 192 swap
    EXPECT_EQ(s.st.allocs, 23u);
    EXPECT_EQ(s.st.frees, 23u);
    check_free_list(s);
}

// ---------------------------------------------------------------------------------------------
// random interleaving
// ---------------------------------------------------------------------------------------------

TEST_F(Scratchpad, RandomInterleavingConservesThePool)
{
    init(8192, 32); // 256 cells
    struct live_frame {
        std::vector<uint8_t> data;
        uint32_t refs;
    };
    std::map<uint32_t, live_frame> live;
    std::mt19937_64 rng(20240601);
    uint64_t cells = 0, bytes = 0, cells_peak = 0, bytes_peak = 0;
    uint64_t allocs = 0, frees = 0, fails = 0, bytes_in = 0;
    uint32_t seed = 0;
    // the plain free list, walked cell by cell: the scratchpad's runs must hand out the very
    // cells it would, in the same order
    std::vector<uint32_t> ref_next(s.ncells);
    for (uint32_t i = 0; i < s.ncells; i++)
        ref_next[i] = i + 1 < s.ncells ? i + 1 : SP_NONE;
    uint32_t ref_head = 0;
    auto ref_alloc = [&](uint32_t need, bool *whole) {
        uint32_t h = ref_head, last = h;
        *whole = true;
        for (uint32_t i = 1; i < need; i++) {
            *whole = *whole && ref_next[last] == last + 1;
            last = ref_next[last];
        }
        ref_head = ref_next[last];
        ref_next[last] = SP_NONE;
        return h;
    };
    auto ref_release = [&](uint32_t h, uint32_t need) {
        uint32_t last = h;
        for (uint32_t i = 1; i < need; i++)
            last = ref_next[last];
        ref_next[last] = ref_head;
        ref_head = h;
    };

    auto release_one = [&](std::map<uint32_t, live_frame>::iterator it) {
        uint32_t h = it->first;
        bool last = --it->second.refs == 0;
        ASSERT_EQ(read_all(h), it->second.data);
        ASSERT_EQ(sp_release(&s, h), last);
        if (last) {
            ref_release(h, sp_cells_for(&s, static_cast<uint32_t>(it->second.data.size())));
            cells -= sp_cells_for(&s, static_cast<uint32_t>(it->second.data.size()));
            bytes -= it->second.data.size();
            frees++;
            live.erase(it);
        }
    };

    for (int step = 0; step < 20000; step++) {
        bool alloc = live.empty() || rng() % 100 < 52;
        if (alloc) {
            uint32_t len = static_cast<uint32_t>(rng() % 700);
            if (rng() % 50 == 0)
                len = static_cast<uint32_t>(rng() % 8193); // now and then a huge one
            uint16_t refs = static_cast<uint16_t>(1 + rng() % 3);
            std::vector<uint8_t> data = pattern(len, ++seed);
            uint32_t need = sp_cells_for(&s, len);
            bool fits = need <= s.free_count;
            uint32_t h = sp_alloc(&s, data.data(), len, refs);
            if (!fits) {
                ASSERT_EQ(h, SP_NONE);
                fails++;
            } else {
                ASSERT_NE(h, SP_NONE);
                ASSERT_LT(h, s.ncells);
                ASSERT_EQ(live.count(h), 0u) << "handle " << h << " handed out twice";
                bool ref_whole = false;
                ASSERT_EQ(h, ref_alloc(need, &ref_whole));
                ASSERT_EQ(s.whole[h] != 0, ref_whole) << "handle " << h;
                live[h] = live_frame{std::move(data), refs};
                cells += need;
                bytes += len;
                bytes_in += len;
                allocs++;
                cells_peak = std::max(cells_peak, cells);
                bytes_peak = std::max(bytes_peak, bytes);
            }
        } else {
            auto it = live.begin();
            std::advance(it, static_cast<long>(rng() % live.size()));
            release_one(it);
        }
        // occasionally patch a random window of a random frame
        if (!live.empty() && rng() % 10 == 0) {
            auto it = live.begin();
            std::advance(it, static_cast<long>(rng() % live.size()));
            uint32_t len = static_cast<uint32_t>(it->second.data.size());
            if (len > 0) {
                uint32_t off = static_cast<uint32_t>(rng() % len);
                uint32_t n = static_cast<uint32_t>(rng() % (len - off + 1));
                std::vector<uint8_t> patch = pattern(n, ++seed);
                ASSERT_EQ(sp_write(&s, it->first, off, patch.data(), n), 0);
                std::copy(patch.begin(), patch.end(), it->second.data.begin() + off);
            }
        }
        ASSERT_EQ(s.st.cells_used, cells);
        ASSERT_EQ(s.st.bytes_used, bytes);
        ASSERT_EQ(s.st.cells_peak, cells_peak);
        ASSERT_EQ(s.st.bytes_peak, bytes_peak);
        ASSERT_EQ(s.st.allocs, allocs);
        ASSERT_EQ(s.st.frees, frees);
        ASSERT_EQ(s.st.alloc_fail, fails);
        ASSERT_EQ(s.st.bytes_in, bytes_in);
        check_pool(s);
        check_free_list(s);
    }
    EXPECT_GT(fails, 0u) << "the run never filled the scratchpad";
    EXPECT_LE(cells_peak, s.ncells);
    EXPECT_GT(cells_peak, s.ncells * 3 / 4); // the pool was nearly full at its peak
    EXPECT_GT(frees, 1000u);

    // every surviving frame still reads back exactly; then free everything in random order
    for (auto &[h, f] : live)
        ASSERT_EQ(read_all(h), f.data);
    while (!live.empty()) {
        auto it = live.begin();
        std::advance(it, static_cast<long>(rng() % live.size()));
        release_one(it);
        check_pool(s);
    }
    EXPECT_TRUE(sp_empty(&s));
    EXPECT_EQ(s.st.cells_used, 0u);
    EXPECT_EQ(s.st.bytes_used, 0u);
    EXPECT_EQ(s.free_count, s.ncells);
    EXPECT_EQ(s.st.cells_peak, cells_peak);
    EXPECT_EQ(s.st.bytes_peak, bytes_peak);
    EXPECT_EQ(s.st.allocs, s.st.frees);
    check_free_list(s);

    // after all that churn the whole memory is still usable as one frame
    std::vector<uint8_t> big = pattern(8192, 99);
    uint32_t h = sp_alloc(&s, big.data(), 8192, 1);
    ASSERT_NE(h, SP_NONE);
    EXPECT_EQ(read_all(h), big);
    EXPECT_EQ(s.free_count, 0u);
    EXPECT_TRUE(sp_release(&s, h));
    EXPECT_TRUE(sp_empty(&s));
}

} // namespace

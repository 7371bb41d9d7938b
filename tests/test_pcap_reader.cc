// PcapReader: the memory-mapped path for plain pcap files must hand out exactly what libpcap
// hands out (bytes, lengths, timestamps, the end of the file, errors and their words), and
// leave every other file to libpcap.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "pcap_reader.h"

namespace {

struct Rec {
    uint32_t sec, frac, caplen, len;
    std::vector<uint8_t> data; // caplen bytes, or fewer for a record cut short
};

uint32_t bswap(uint32_t v) { return __builtin_bswap32(v); }

// Writes a classic pcap file: magic, snaplen, link type 1 (Ethernet); swap: the other byte
// order; cut: bytes dropped from the end of the file.
std::string write_pcap(const std::string &name, uint32_t magic, uint32_t snaplen,
                       const std::vector<Rec> &recs, bool swap = false, size_t cut = 0,
                       uint16_t minor = 4)
{
    std::string path = testing::TempDir() + name;
    std::vector<uint8_t> f;
    auto put32 = [&](uint32_t v) {
        if (swap)
            v = bswap(v);
        uint8_t b[4];
        std::memcpy(b, &v, 4);
        f.insert(f.end(), b, b + 4);
    };
    auto put16 = [&](uint16_t v) {
        if (swap)
            v = static_cast<uint16_t>(v << 8 | v >> 8);
        uint8_t b[2];
        std::memcpy(b, &v, 2);
        f.insert(f.end(), b, b + 2);
    };
    put32(magic);
    put16(2);
    put16(minor);
    put32(0);
    put32(0);
    put32(snaplen);
    put32(1);
    for (const Rec &r : recs) {
        put32(r.sec);
        put32(r.frac);
        put32(r.caplen);
        put32(r.len);
        f.insert(f.end(), r.data.begin(), r.data.end());
    }
    f.resize(f.size() - cut);
    FILE *fp = std::fopen(path.c_str(), "wb");
    EXPECT_NE(fp, nullptr);
    std::fwrite(f.data(), 1, f.size(), fp);
    std::fclose(fp);
    return path;
}

Rec frame(uint32_t sec, uint32_t frac, uint32_t n, uint32_t seed)
{
    Rec r{sec, frac, n, n + 4, std::vector<uint8_t>(n)};
    for (uint32_t i = 0; i < n; i++)
        r.data[i] = static_cast<uint8_t>(i * 7 + seed * 13 + (i >> 8));
    return r;
}

struct Got {
    std::vector<uint8_t> data;
    uint32_t caplen, len;
    uint64_t ts;
    bool stable;
};

struct Pass {
    std::vector<Got> recs;
    bool truncated;
    std::string error;
    bool first_stable;
};

Pass read_all(const std::string &path, bool map)
{
    PcapReader rd(path, map);
    Pass out{{}, false, "", false};
    const uint8_t *d;
    uint32_t caplen, len;
    uint64_t ts;
    while (rd.next(&d, &caplen, &len, &ts)) {
        out.recs.push_back({std::vector<uint8_t>(d, d + caplen), caplen, len, ts, rd.stable()});
        if (out.recs.size() == 1)
            out.first_stable = rd.stable();
    }
    out.truncated = rd.truncated();
    out.error = rd.error();
    return out;
}

// The two paths agree record by record; returns the mapped run.
Pass expect_same(const std::string &path)
{
    Pass a = read_all(path, true), b = read_all(path, false);
    EXPECT_EQ(a.recs.size(), b.recs.size());
    for (size_t i = 0; i < a.recs.size() && i < b.recs.size(); i++) {
        EXPECT_EQ(a.recs[i].data, b.recs[i].data) << "record " << i;
        EXPECT_EQ(a.recs[i].caplen, b.recs[i].caplen) << "record " << i;
        EXPECT_EQ(a.recs[i].len, b.recs[i].len) << "record " << i;
        EXPECT_EQ(a.recs[i].ts, b.recs[i].ts) << "record " << i;
        EXPECT_FALSE(b.recs[i].stable);
    }
    EXPECT_EQ(a.truncated, b.truncated);
    EXPECT_EQ(a.error, b.error);
    return a;
}

std::vector<Rec> odd_timestamps()
{
    // seconds past 2^31 and fractions past a second: libpcap reads both as signed 32-bit
    return {frame(1700000000, 5, 60, 1), frame(0x7fffffff, 999999, 1514, 2),
            frame(0x80000000u, 0, 0, 3), frame(0xffffffffu, 0xffffffffu, 100, 4),
            frame(12, 1000001, 64, 5),   frame(0, 0x80000000u, 1, 6)};
}

TEST(PcapReader, MappedMicrosecondFileMatchesLibpcap)
{
    Pass a = expect_same(write_pcap("usec.pcap", 0xa1b2c3d4u, 65535, odd_timestamps()));
    ASSERT_EQ(a.recs.size(), 6u);
    EXPECT_TRUE(a.first_stable);
    EXPECT_FALSE(a.truncated);
    EXPECT_EQ(a.recs[0].ts, 1700000000ull * 1000000000ull + 5000u);
    EXPECT_EQ(a.recs[1].len, 1518u);
}

TEST(PcapReader, MappedNanosecondFileMatchesLibpcap)
{
    Pass a = expect_same(write_pcap("nsec.pcap", 0xa1b23c4du, 65535, odd_timestamps()));
    ASSERT_EQ(a.recs.size(), 6u);
    EXPECT_TRUE(a.first_stable);
    EXPECT_EQ(a.recs[0].ts, 1700000000ull * 1000000000ull + 5u);
}

TEST(PcapReader, TruncatedRecordDataHandsOverToLibpcap)
{
    Pass a =
        expect_same(write_pcap("cut_data.pcap", 0xa1b2c3d4u, 65535, odd_timestamps(), false, 30));
    EXPECT_EQ(a.recs.size(), 4u); // the last record (17 bytes) gone, the one before cut short
    EXPECT_TRUE(a.truncated);
    EXPECT_NE(a.error.find("captured bytes"), std::string::npos) << a.error;
}

TEST(PcapReader, TruncatedRecordHeaderHandsOverToLibpcap)
{
    std::vector<Rec> recs = odd_timestamps();
    Pass a = expect_same(
        write_pcap("cut_hdr.pcap", 0xa1b2c3d4u, 65535, recs, false, recs.back().data.size() + 9));
    EXPECT_EQ(a.recs.size(), 5u);
    EXPECT_TRUE(a.truncated);
    EXPECT_NE(a.error.find("header bytes"), std::string::npos) << a.error;
}

TEST(PcapReader, RecordsLongerThanTheSnaplenAreLibpcaps)
{
    // 100 bytes over a snaplen of 64: libpcap keeps 64 and reads on; 300000 is past any
    // snaplen libpcap accepts: an error
    std::vector<Rec> recs = {frame(1, 0, 40, 1), frame(2, 0, 100, 2), frame(3, 0, 50, 3),
                             frame(4, 0, 300000, 4), frame(5, 0, 10, 5)};
    Pass a = expect_same(write_pcap("snap.pcap", 0xa1b2c3d4u, 64, recs));
    ASSERT_EQ(a.recs.size(), 3u);
    EXPECT_TRUE(a.recs[0].stable);
    EXPECT_FALSE(a.recs[1].stable); // libpcap from the long record on
    EXPECT_EQ(a.recs[1].caplen, 64u);
    EXPECT_TRUE(a.truncated);
    EXPECT_NE(a.error.find("invalid packet capture length"), std::string::npos) << a.error;
}

TEST(PcapReader, OtherByteOrderAndVersionStayWithLibpcap)
{
    Pass a = expect_same(write_pcap("swapped.pcap", 0xa1b2c3d4u, 65535, odd_timestamps(), true));
    ASSERT_EQ(a.recs.size(), 6u);
    EXPECT_FALSE(a.first_stable);
    Pass b = expect_same(write_pcap("v23.pcap", 0xa1b2c3d4u, 65535, odd_timestamps(), false, 0, 3));
    ASSERT_EQ(b.recs.size(), 6u);
    EXPECT_FALSE(b.first_stable);
}

TEST(PcapReader, EmptyCaptureEndsAtOnce)
{
    Pass a = expect_same(write_pcap("norecs.pcap", 0xa1b2c3d4u, 65535, {}));
    EXPECT_TRUE(a.recs.empty());
    EXPECT_FALSE(a.truncated);
}

TEST(PcapReader, LongFileGivesPagesBackAndKeepsEveryRecordReadable)
{
    // 6 MiB: the reader gives back pages behind it (madvise) every MiB; a record handed out
    // at the start must still read the same afterwards (the pages come back from the file)
    std::vector<Rec> recs;
    for (uint32_t i = 0; i < 6000; i++)
        recs.push_back(frame(i, i, 1000 + i % 64, i));
    std::string path = write_pcap("long.pcap", 0xa1b2c3d4u, 65535, recs);
    expect_same(path);
    PcapReader rd(path);
    const uint8_t *first = nullptr, *d;
    uint32_t caplen, len, n = 0;
    uint64_t ts;
    while (rd.next(&d, &caplen, &len, &ts)) {
        if (!first)
            first = d;
        ASSERT_TRUE(rd.stable());
        n++;
    }
    EXPECT_EQ(n, 6000u);
    EXPECT_FALSE(rd.truncated());
    EXPECT_DOUBLE_EQ(rd.fraction_read(), 1.0); // after the end: libpcap's ftell, the file size
    EXPECT_EQ(std::vector<uint8_t>(first, first + recs[0].caplen), recs[0].data);
}

TEST(PcapReader, FractionReadFollowsTheMap)
{
    std::vector<Rec> recs = {frame(1, 0, 100, 1), frame(2, 0, 100, 2)};
    PcapReader rd(write_pcap("frac.pcap", 0xa1b2c3d4u, 65535, recs));
    const uint8_t *d;
    uint32_t caplen, len;
    uint64_t ts;
    ASSERT_TRUE(rd.next(&d, &caplen, &len, &ts));
    EXPECT_DOUBLE_EQ(rd.fraction_read(), (24.0 + 116.0) / (24.0 + 232.0));
}

// A mapped file cut short under the reader: reading past its new end is a SIGBUS, which the
// reader turns into the one-line error of any bad input and exit status 1 (no crash, no core).
TEST(PcapReaderDeathTest, FileShrinkingUnderTheMapIsAnError)
{
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    std::vector<Rec> recs;
    for (uint32_t i = 0; i < 3000; i++)
        recs.push_back(frame(i, i, 1000, i));
    std::string path = write_pcap("shrinks.pcap", 0xa1b2c3d4u, 65535, recs);
    auto read_all = [&] {
        PcapReader rd(path);
        const uint8_t *d;
        uint32_t caplen, len;
        uint64_t ts;
        ASSERT_TRUE(rd.next(&d, &caplen, &len, &ts));
        ASSERT_EQ(truncate(path.c_str(), 4096), 0); // whole pages gone from under the map
        volatile uint32_t sum = 0;
        while (rd.next(&d, &caplen, &len, &ts))
            sum = sum + d[caplen - 1];
    };
    EXPECT_EXIT(read_all(), testing::ExitedWithCode(1),
                "^sppsim: .*shrinks.pcap: the file shrank while it was read\n$");
}

} // namespace

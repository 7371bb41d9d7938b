// The live port's pure part (models/netif): what it does with each kind of frame from the TAP,
// its ARP replies and neighbour advertisements (checked field by field and with the frame
// builder's own checksum), the seeded loss decisions and the wire time.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>

#include "frame_builder.h"
#include "netif.h"

namespace {

using fb::Bytes;

const std::array<uint8_t, 6> kChipMac{0x02, 0, 0, 0, 0, 0x01};
const std::array<uint8_t, 6> kPeerMac{0xb6, 0x55, 0x4f, 0x4a, 0x5d, 0x26};
const std::array<uint8_t, 16> kChip6{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const std::array<uint8_t, 16> kPeer6{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

netif_cfg defaults()
{
    netif_cfg c;
    netif_cfg_default(&c);
    return c;
}

void app_n(Bytes &b, const uint8_t *p, size_t n) { b.insert(b.end(), p, p + n); }

// An ARP request from the peer (10.0.0.2) for target (an IPv4 address as an integer).
Bytes arp(uint32_t target, uint16_t oper = 1)
{
    Bytes b;
    for (int i = 0; i < 6; i++)
        fb::app8(b, 0xff);
    app_n(b, kPeerMac.data(), 6);
    fb::app16(b, 0x0806);
    fb::app16(b, 1);
    fb::app16(b, 0x0800);
    fb::app8(b, 6);
    fb::app8(b, 4);
    fb::app16(b, oper);
    app_n(b, kPeerMac.data(), 6);
    fb::app32(b, 0x0a000002);
    for (int i = 0; i < 6; i++)
        fb::app8(b, 0);
    fb::app32(b, target);
    return b;
}

struct NsKnobs {
    std::array<uint8_t, 16> src = kPeer6;
    std::array<uint8_t, 16> target = kChip6;
    uint8_t hop_limit = 255;
    bool bad_csum = false;
};

// An IPv6 neighbour solicitation from the peer, to the target's solicited-node address, with
// the source link-layer address option; its checksum from the frame builder's reference sum.
Bytes ns(const NsKnobs &k = {})
{
    std::array<uint8_t, 16> dst{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
    std::memcpy(dst.data() + 13, k.target.data() + 13, 3);
    Bytes m; // the ICMPv6 message
    fb::app8(m, 135);
    fb::app8(m, 0);
    fb::app16(m, 0); // checksum, below
    fb::app32(m, 0);
    app_n(m, k.target.data(), 16);
    fb::app8(m, 1); // source link-layer address
    fb::app8(m, 1);
    app_n(m, kPeerMac.data(), 6);
    Bytes ph;
    app_n(ph, k.src.data(), 16);
    app_n(ph, dst.data(), 16);
    fb::app32(ph, static_cast<uint32_t>(m.size()));
    fb::app32(ph, 58);
    uint16_t cs = fb::ref_csum(m.data(), m.size(), fb::ref_sum(ph.data(), ph.size()));
    fb::put16(m, 2, static_cast<uint16_t>(k.bad_csum ? cs ^ 1 : cs));
    Bytes b{0x33, 0x33, 0xff, dst[13], dst[14], dst[15]};
    app_n(b, kPeerMac.data(), 6);
    fb::app16(b, 0x86dd);
    fb::app32(b, 0x60000000);
    fb::app16(b, static_cast<uint16_t>(m.size()));
    fb::app8(b, 58);
    fb::app8(b, k.hop_limit);
    app_n(b, k.src.data(), 16);
    app_n(b, dst.data(), 16);
    fb::app(b, m);
    return b;
}

// A TCP segment from the peer to the chip (IPv4 or IPv6), to dst_mac.
Bytes tcp(int ipver, std::array<uint8_t, 6> dst_mac = kChipMac, uint8_t last_byte = 1)
{
    fb::Spec s;
    s.ip = ipver;
    s.src4 = {10, 0, 0, 2};
    s.dst4 = {10, 0, 0, last_byte};
    s.src6 = kPeer6;
    s.dst6 = kChip6;
    s.dst6[15] = last_byte;
    s.payload = Bytes(100, 0x5a);
    Bytes b = fb::build(s).bytes;
    std::memcpy(b.data(), dst_mac.data(), 6);
    std::memcpy(b.data() + 6, kPeerMac.data(), 6);
    return b;
}

netif_kind kind(const netif_cfg &c, const Bytes &f)
{
    return netif_classify(&c, f.data(), static_cast<uint32_t>(f.size()));
}

} // namespace

TEST(Netif, DefaultsAreTheDocumentedAddresses)
{
    netif_cfg c = defaults();
    EXPECT_EQ(c.chip_mac, 0x020000000001ull);
    EXPECT_EQ(c.chip_ip, 0x0a000001u);
    EXPECT_EQ(c.chip_ip6_hi, 0xfd00000000000000ull);
    EXPECT_EQ(c.chip_ip6_lo, 1u);
    EXPECT_EQ(std::string(netif_params.unit), "live");
    sim_err err;
    EXPECT_EQ(netif_validate(&c, &err), 0);
}

TEST(Netif, AMulticastMacIsRefused)
{
    netif_cfg c = defaults();
    c.chip_mac = 0x010000000001ull;
    sim_err err;
    ASSERT_EQ(netif_validate(&c, &err), -1);
    EXPECT_NE(std::string(err.msg).find("live.chip_mac"), std::string::npos) << err.msg;
    EXPECT_NE(std::string(err.msg).find("multicast"), std::string::npos) << err.msg;
}

TEST(Netif, ArpRequestForTheChipIsAnswered)
{
    netif_cfg c = defaults();
    Bytes req = arp(0x0a000001);
    ASSERT_EQ(kind(c, req), NETIF_ARP);
    uint8_t out[NETIF_ANSWER_MAX];
    uint32_t n = netif_answer(&c, req.data(), static_cast<uint32_t>(req.size()), out);
    ASSERT_EQ(n, 60u);                                  // the minimum Ethernet frame, zero-padded
    EXPECT_EQ(0, std::memcmp(out, kPeerMac.data(), 6)); // to the requester
    EXPECT_EQ(0, std::memcmp(out + 6, kChipMac.data(), 6)); // from the chip
    const uint8_t arp_head[] = {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2};
    EXPECT_EQ(0, std::memcmp(out + 12, arp_head, sizeof arp_head)); // a reply
    EXPECT_EQ(0, std::memcmp(out + 22, kChipMac.data(), 6));        // sender: the chip
    const uint8_t chip_ip[] = {10, 0, 0, 1}, peer_ip[] = {10, 0, 0, 2};
    EXPECT_EQ(0, std::memcmp(out + 28, chip_ip, 4));
    EXPECT_EQ(0, std::memcmp(out + 32, kPeerMac.data(), 6)); // target: the requester
    EXPECT_EQ(0, std::memcmp(out + 38, peer_ip, 4));
    for (int i = 42; i < 60; i++)
        EXPECT_EQ(out[i], 0) << i;
}

TEST(Netif, OtherArpIsIgnored)
{
    netif_cfg c = defaults();
    uint8_t out[NETIF_ANSWER_MAX];
    Bytes other = arp(0x0a000003);
    EXPECT_EQ(kind(c, other), NETIF_OTHER);
    EXPECT_EQ(netif_answer(&c, other.data(), static_cast<uint32_t>(other.size()), out), 0u);
    EXPECT_EQ(kind(c, arp(0x0a000001, 2)), NETIF_OTHER); // a reply, not a request
    Bytes cut = arp(0x0a000001);
    cut.resize(40);
    EXPECT_EQ(kind(c, cut), NETIF_OTHER);
}

TEST(Netif, NeighbourSolicitationForTheChipIsAnswered)
{
    netif_cfg c = defaults();
    Bytes req = ns();
    ASSERT_EQ(kind(c, req), NETIF_ND);
    uint8_t out[NETIF_ANSWER_MAX];
    uint32_t n = netif_answer(&c, req.data(), static_cast<uint32_t>(req.size()), out);
    ASSERT_EQ(n, 14u + 40 + 32);
    EXPECT_EQ(0, std::memcmp(out, kPeerMac.data(), 6));
    EXPECT_EQ(0, std::memcmp(out + 6, kChipMac.data(), 6));
    EXPECT_EQ(out[12], 0x86);
    EXPECT_EQ(out[13], 0xdd);
    const uint8_t *ip = out + 14;
    EXPECT_EQ(ip[0], 0x60);
    EXPECT_EQ(ip[4] << 8 | ip[5], 32);
    EXPECT_EQ(ip[6], 58);
    EXPECT_EQ(ip[7], 255);
    EXPECT_EQ(0, std::memcmp(ip + 8, kChip6.data(), 16));  // from the chip's address
    EXPECT_EQ(0, std::memcmp(ip + 24, kPeer6.data(), 16)); // to the solicitor's
    const uint8_t *m = ip + 40;
    EXPECT_EQ(m[0], 136);
    EXPECT_EQ(m[1], 0);
    EXPECT_EQ(m[4], 0x60); // solicited, override, not a router
    EXPECT_EQ(0, std::memcmp(m + 8, kChip6.data(), 16));
    EXPECT_EQ(m[24], 2); // target link-layer address option
    EXPECT_EQ(m[25], 1);
    EXPECT_EQ(0, std::memcmp(m + 26, kChipMac.data(), 6));
    // the checksum, by the frame builder's reference sum over the pseudo-header
    Bytes ph;
    app_n(ph, ip + 8, 32);
    fb::app32(ph, 32);
    fb::app32(ph, 58);
    EXPECT_EQ(fb::ref_fold(fb::ref_sum(m, 32, fb::ref_sum(ph.data(), ph.size()))), 0xffff);
}

TEST(Netif, InvalidSolicitationsAreIgnored)
{
    netif_cfg c = defaults();
    NsKnobs k;
    k.bad_csum = true;
    EXPECT_EQ(kind(c, ns(k)), NETIF_OTHER);
    k = {};
    k.hop_limit = 64; // RFC 4861: must be 255 (not forwarded)
    EXPECT_EQ(kind(c, ns(k)), NETIF_OTHER);
    k = {};
    k.src = {}; // duplicate address detection of the chip's address: not answered
    EXPECT_EQ(kind(c, ns(k)), NETIF_OTHER);
    k = {};
    k.target[15] = 7; // another address
    EXPECT_EQ(kind(c, ns(k)), NETIF_OTHER);
    c.chip_ip6_hi = c.chip_ip6_lo = 0; // no IPv6 address
    EXPECT_EQ(kind(c, ns()), NETIF_OTHER);
}

TEST(Netif, FramesForTheChip)
{
    netif_cfg c = defaults();
    EXPECT_EQ(kind(c, tcp(4)), NETIF_CHIP);
    EXPECT_EQ(kind(c, tcp(6)), NETIF_CHIP);
    EXPECT_EQ(kind(c, tcp(4, kChipMac, 9)), NETIF_OTHER); // another IPv4 address
    EXPECT_EQ(kind(c, tcp(6, kChipMac, 9)), NETIF_OTHER); // another IPv6 address
    EXPECT_EQ(kind(c, tcp(4, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff})), NETIF_OTHER);
    EXPECT_EQ(kind(c, tcp(4, {0x02, 0, 0, 0, 0, 0x09})), NETIF_OTHER); // another MAC
    c.chip_ip6_hi = c.chip_ip6_lo = 0;
    EXPECT_EQ(kind(c, tcp(6)), NETIF_OTHER);
    c.chip_ip = 0x0a000009; // the address is the config's
    EXPECT_EQ(kind(c, tcp(4, kChipMac, 9)), NETIF_CHIP);
    EXPECT_EQ(kind(c, Bytes(13, 0)), NETIF_OTHER); // shorter than an Ethernet header
}

TEST(Netif, LossIsASeededSplitmixStream)
{
    // splitmix64, written out here: the decisions are its numbers modulo 1e6 against ppm
    uint64_t s = 42;
    auto next = [&s] {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    };
    netif_rng r;
    netif_rng_init(&r, 42);
    unsigned lost = 0, want = 0;
    for (int i = 0; i < 1000000; i++) {
        bool l = netif_lose(&r, 10000);
        lost += l;
        want += next() % 1000000u < 10000;
    }
    EXPECT_EQ(lost, want);
    EXPECT_NEAR(lost, 10000.0, 400.0); // 1 % of a million, within 4 standard deviations
    netif_rng_init(&r, 7);
    for (int i = 0; i < 1000; i++) {
        EXPECT_FALSE(netif_lose(&r, 0));
        EXPECT_TRUE(netif_lose(&r, 1000000));
    }
}

TEST(Netif, WireTime)
{
    // (1514 + 4 FCS + 20 preamble and gap) * 8 bits at 10 Gb/s = 1.2304 us
    EXPECT_EQ(netif_wire_ps(1514, 10000), 1230400u);
    EXPECT_EQ(netif_wire_ps(60, 100000), 6720u);
    EXPECT_EQ(netif_wire_ps(1, 3), 66666667u); // 200 bits at 3 Mb/s, rounded up
    EXPECT_EQ(netif_wire_ps(1514, 0), 0u);
}

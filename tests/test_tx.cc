// Tests of the transmit unit (models/tx/tx.c): templates from received frames of every link
// type (addresses and ports reversed, VLAN tags kept, a synthesized Ethernet header), refusal of
// frames that are not TCP, the built headers field by field with both checksums recomputed by
// the test's own RFC 1071 sum, TCP option bytes, the per-flow IPv4 identification, exact
// departure cycles (build, serialisation, a busy port, non-monotonic emit cycles), queue
// occupancy until pop, refusals and their counters. RoCEv2 acknowledgements (tx_emit_roce): the
// BTH, AETH, UDP and IP fields byte by byte, the UDP checksum (IPv6) and the ICRC against
// frame_builder.h's bit-by-bit reference, every built packet fed back through the IPU's parser
// (an ACK/NAK event with the fields given and a good ICRC), the template kinds, the shared queue.
// With SPPSIM_TX_PCAP=FILE set, TxRoce.PcapForTshark writes its frames there (for tshark -V).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "frame_builder.h"
#include "ipu.h"
#include "tx.h"

namespace {

using fb::Bytes;

uint16_t g16(const uint8_t *b) { return uint16_t(b[0] << 8 | b[1]); }
uint32_t g32(const uint8_t *b) { return uint32_t(g16(b)) << 16 | g16(b + 2); }

// The test's own checksum: a plain loop over big-endian 16-bit words, folded at the end.
uint16_t fold_sum(const uint8_t *p, size_t n, uint64_t s = 0)
{
    for (size_t i = 0; i < n; i++)
        s += i % 2 ? p[i] : uint32_t(p[i]) << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return uint16_t(s);
}

struct Tx {
    tx *t = nullptr;
    explicit Tx(uint32_t flows = 4, tx_cfg *c = nullptr)
    {
        tx_cfg d;
        tx_cfg_default(&d);
        sim_err err{};
        t = tx_new(c ? c : &d, flows, &err);
        EXPECT_NE(t, nullptr) << err.msg;
    }
    ~Tx() { tx_free(t); }
    Tx(const Tx &) = delete;
    Tx &operator=(const Tx &) = delete;
    operator tx *() const { return t; }
};

int set_tmpl(tx *t, uint32_t flow, const fb::Frame &f)
{
    return tx_set_template(t, flow, f.bytes.data(), uint32_t(f.bytes.size()), f.link, f.l3_off,
                           f.l4_off);
}

tx_seg seg(uint8_t flags = TCPF_ACK, uint32_t seq = 5000, uint32_t ack = 7000, uint16_t win = 1000)
{
    tx_seg s;
    std::memset(&s, 0, sizeof s);
    s.seq = seq;
    s.ack = ack;
    s.win = win;
    s.flags = flags;
    s.wscale = WSCALE_NONE;
    return s;
}

// Runs the unit to the departure of the frame just emitted and returns it (popped).
tx_out depart_one(tx *t)
{
    tx_out o{};
    cycle_t n = tx_next_cycle(t);
    EXPECT_NE(n, CYCLE_NEVER);
    tx_advance(t, n);
    const tx_out *p = nullptr;
    EXPECT_TRUE(tx_peek_out(t, &p));
    if (p) {
        o = *p;
        tx_pop_out(t);
    }
    return o;
}

// Emits s on flow at cycle at, runs the unit to that frame's departure and returns it (popped).
tx_out send(tx *t, uint32_t flow, const tx_seg &s, cycle_t at = 0)
{
    EXPECT_EQ(tx_emit(t, flow, &s, at), 1);
    return depart_one(t);
}

// Where the parts of an Ethernet frame the unit built start.
struct View {
    const uint8_t *f;
    uint32_t len;
    uint32_t l3 = 14;
    int af = 0;
    uint32_t l4 = 0;
    uint32_t tcplen = 0;
    explicit View(const tx_out &o) : f(o.frame), len(o.len)
    {
        uint16_t et = g16(f + 12);
        while (et == 0x8100 || et == 0x88a8) {
            et = g16(f + l3 + 2);
            l3 += 4;
        }
        af = et == 0x0800 ? 4 : et == 0x86dd ? 6 : 0;
        l4 = l3 + (af == 4 ? 20 : 40);
        tcplen = len - l4;
    }
    const uint8_t *ip() const { return f + l3; }
    const uint8_t *tcp() const { return f + l4; }
    // The TCP checksum over pseudo-header, header and options sums to 0xffff when right.
    uint16_t tcp_sum() const
    {
        uint64_t ps = 6 + tcplen;
        ps += af == 4 ? fold_sum(ip() + 12, 8) : fold_sum(ip() + 8, 32);
        return fold_sum(tcp(), tcplen, ps);
    }
};

const uint8_t kPeerMac[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55}; // sender of the received frame
const uint8_t kChipMac[6] = {0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb}; // its destination

// A received frame of s with distinct MAC addresses (Ethernet).
fb::Frame rx(const fb::Spec &s)
{
    fb::Frame f = fb::build(s);
    if (s.link == LINK_ETHERNET) {
        std::memcpy(f.bytes.data(), kChipMac, 6);
        std::memcpy(f.bytes.data() + 6, kPeerMac, 6);
    }
    return f;
}

// ---- parameters ---------------------------------------------------------------------------

TEST(TxParams, DefaultsAndBounds)
{
    tx_cfg c;
    tx_cfg_default(&c);
    EXPECT_EQ(c.clock_mhz, 1000u);
    EXPECT_EQ(c.build_cycles, 20u);
    EXPECT_EQ(c.link_mbps, 100000u);
    EXPECT_EQ(c.depth, 256u);
    EXPECT_STREQ(tx_params.unit, "tx");
    ASSERT_EQ(tx_params.n, 4u);
    const param_def *d = param_find(&tx_params, "link_mbps");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->min, 1u);
    EXPECT_EQ(d->max, 10000000u);
    EXPECT_EQ(param_find(&tx_params, "build_cycles")->min, 0u);

    sim_err err{};
    c.depth = 0;
    EXPECT_EQ(tx_new(&c, 4, &err), nullptr);
    EXPECT_NE(std::string(err.msg).find("tx.depth"), std::string::npos) << err.msg;
}

TEST(TxParams, StatTableNamesEveryCounter)
{
    ASSERT_EQ(tx_stat_count, sizeof(tx_stats) / sizeof(uint64_t));
    std::vector<std::string> names;
    for (size_t i = 0; i < tx_stat_count; i++)
        names.emplace_back(tx_stat_defs[i].name);
    EXPECT_EQ(names, (std::vector<std::string>{"templates", "frames", "bytes", "drops_queue_full",
                                               "drops_no_template", "busy_cycles"}));
    EXPECT_EQ(tx_stat_defs[3].off, offsetof(tx_stats, drops_queue_full));
}

// ---- templates and built headers ------------------------------------------------------------

TEST(TxTemplate, EthernetIpv4Reversed)
{
    Tx t;
    fb::Frame f = rx(fb::tcp4(TCPF_ACK, 100));
    ASSERT_EQ(set_tmpl(t, 1, f), 0);
    EXPECT_EQ(tx_get_stats(t)->templates, 1u);
    tx_out o = send(t, 1, seg(TCPF_ACK | TCPF_PSH, 0x11223344, 0x55667788, 0xabcd));
    EXPECT_EQ(o.flow, 1u);
    ASSERT_EQ(o.len, 54u);
    const uint8_t *b = o.frame;
    EXPECT_EQ(0, std::memcmp(b, kPeerMac, 6));
    EXPECT_EQ(0, std::memcmp(b + 6, kChipMac, 6));
    EXPECT_EQ(g16(b + 12), 0x0800);
    const uint8_t *ip = b + 14;
    EXPECT_EQ(ip[0], 0x45);
    EXPECT_EQ(ip[1], 0);
    EXPECT_EQ(g16(ip + 2), 40);     // total length: headers only
    EXPECT_EQ(g16(ip + 6), 0x4000); // DF, no fragment offset
    EXPECT_EQ(ip[8], 64);
    EXPECT_EQ(ip[9], 6);
    EXPECT_EQ(Bytes(ip + 12, ip + 16), (Bytes{10, 0, 0, 2}));
    EXPECT_EQ(Bytes(ip + 16, ip + 20), (Bytes{10, 0, 0, 1}));
    const uint8_t *tcp = ip + 20;
    EXPECT_EQ(g16(tcp), 80);
    EXPECT_EQ(g16(tcp + 2), 40000);
    EXPECT_EQ(g32(tcp + 4), 0x11223344u);
    EXPECT_EQ(g32(tcp + 8), 0x55667788u);
    EXPECT_EQ(tcp[12], 5 << 4);
    EXPECT_EQ(tcp[13], TCPF_ACK | TCPF_PSH);
    EXPECT_EQ(g16(tcp + 14), 0xabcd);
    EXPECT_EQ(g16(tcp + 18), 0); // urgent pointer
}

TEST(TxTemplate, VlanTagsKept)
{
    Tx t;
    fb::Spec s = fb::tcp4();
    s.vlans = {0x8100};
    ASSERT_EQ(set_tmpl(t, 0, rx(s)), 0);
    s.vlans = {0x88a8, 0x8100};
    ASSERT_EQ(set_tmpl(t, 1, rx(s)), 0);

    tx_out one = send(t, 0, seg());
    ASSERT_EQ(one.len, 58u);
    EXPECT_EQ(0, std::memcmp(one.frame, kPeerMac, 6));
    EXPECT_EQ(0, std::memcmp(one.frame + 6, kChipMac, 6));
    EXPECT_EQ(Bytes(one.frame + 12, one.frame + 18), (Bytes{0x81, 0x00, 0, 100, 0x08, 0x00}));
    EXPECT_EQ(one.frame[18], 0x45);

    tx_out two = send(t, 1, seg());
    ASSERT_EQ(two.len, 62u);
    EXPECT_EQ(0, std::memcmp(two.frame, kPeerMac, 6));
    EXPECT_EQ(Bytes(two.frame + 12, two.frame + 22),
              (Bytes{0x88, 0xa8, 0, 100, 0x81, 0x00, 0, 101, 0x08, 0x00}));
    View v(two);
    EXPECT_EQ(v.l3, 22u);
    EXPECT_EQ(g16(v.tcp()), 80);
    EXPECT_EQ(fold_sum(v.ip(), 20), 0xffff);
    EXPECT_EQ(v.tcp_sum(), 0xffff);
}

TEST(TxTemplate, Ipv6Reversed)
{
    Tx t;
    fb::Spec s = fb::tcp4();
    s.ip = 6;
    s.sport = 1234;
    s.dport = 443;
    ASSERT_EQ(set_tmpl(t, 2, rx(s)), 0);
    tx_out o = send(t, 2, seg());
    ASSERT_EQ(o.len, 74u);
    EXPECT_EQ(0, std::memcmp(o.frame, kPeerMac, 6));
    EXPECT_EQ(g16(o.frame + 12), 0x86dd);
    const uint8_t *ip = o.frame + 14;
    EXPECT_EQ(g32(ip), 0x60000000u); // version 6, traffic class 0, flow label 0
    EXPECT_EQ(g16(ip + 4), 20);      // payload length
    EXPECT_EQ(ip[6], 6);
    EXPECT_EQ(ip[7], 64);
    EXPECT_EQ(0, std::memcmp(ip + 8, s.dst6.data(), 16));
    EXPECT_EQ(0, std::memcmp(ip + 24, s.src6.data(), 16));
    EXPECT_EQ(g16(ip + 40), 443);
    EXPECT_EQ(g16(ip + 42), 1234);
}

TEST(TxTemplate, Ipv6ExtensionHeadersAreNotCopied)
{
    Tx t;
    fb::Spec s = fb::tcp4();
    s.ip = 6;
    s.ext = {fb::Ext6{0, {1, 4, 0, 0, 0, 0}, std::nullopt}, fb::Ext6{60, {}, std::nullopt}};
    fb::Frame f = rx(s);
    ASSERT_EQ(f.l4_off, 14u + 40 + 16);
    ASSERT_EQ(set_tmpl(t, 0, f), 0);
    tx_out o = send(t, 0, seg());
    EXPECT_EQ(o.len, 74u);
    EXPECT_EQ(o.frame[14 + 6], 6);
    EXPECT_EQ(g16(o.frame + 54), 80);
}

// Frames without an Ethernet header get 02:..:02 (peer) as destination, 02:..:01 (chip) as
// source, and the EtherType of their IP version.
void expect_synth_l2(const tx_out &o, uint16_t et)
{
    const Bytes mac{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
    EXPECT_EQ(Bytes(o.frame, o.frame + 12), mac);
    EXPECT_EQ(g16(o.frame + 12), et);
}

TEST(TxTemplate, CookedRawAndNullLinksGetEthernet)
{
    Tx t(8);
    struct Case {
        uint8_t link;
        int ip;
    } cases[] = {{LINK_SLL, 4}, {LINK_SLL2, 4}, {LINK_RAW, 4}, {LINK_NULL, 4},
                 {LINK_SLL, 6}, {LINK_SLL2, 6}, {LINK_RAW, 6}, {LINK_NULL, 6}};
    uint32_t flow = 0;
    for (const Case &c : cases) {
        SCOPED_TRACE("link " + std::to_string(c.link) + " ipv" + std::to_string(c.ip));
        fb::Spec s = fb::tcp4();
        s.link = c.link;
        s.ip = c.ip;
        fb::Frame f = rx(s);
        ASSERT_EQ(set_tmpl(t, flow, f), 0);
        tx_out o = send(t, flow, seg());
        flow++;
        expect_synth_l2(o, c.ip == 4 ? 0x0800 : 0x86dd);
        View v(o);
        ASSERT_EQ(v.l3, 14u);
        EXPECT_EQ(o.len, c.ip == 4 ? 54u : 74u);
        if (c.ip == 4) {
            EXPECT_EQ(Bytes(v.ip() + 12, v.ip() + 20), (Bytes{10, 0, 0, 2, 10, 0, 0, 1}));
            EXPECT_EQ(fold_sum(v.ip(), 20), 0xffff);
        } else {
            EXPECT_EQ(0, std::memcmp(v.ip() + 8, s.dst6.data(), 16));
        }
        EXPECT_EQ(g16(v.tcp()), 80);
        EXPECT_EQ(g16(v.tcp() + 2), 40000);
        EXPECT_EQ(v.tcp_sum(), 0xffff);
    }
    EXPECT_EQ(tx_get_stats(t)->templates, 8u);
}

TEST(TxTemplate, RejectsNonTcpAndShortFrames)
{
    Tx t;
    // 32 bytes of payload: long enough for a TCP header, so only the protocol number tells
    fb::Spec udp = fb::tcp4(TCPF_ACK, 32);
    udp.proto = 17;
    fb::Frame f = rx(udp);
    EXPECT_EQ(set_tmpl(t, 0, f), -1);

    fb::Spec udp6 = udp;
    udp6.ip = 6;
    EXPECT_EQ(set_tmpl(t, 0, rx(udp6)), -1);

    fb::Spec arp = fb::tcp4();
    arp.ip = 0;
    arp.ethertype = 0x0806;
    arp.l3_raw = Bytes(28, 0);
    f = rx(arp);
    EXPECT_EQ(tx_set_template(t, 0, f.bytes.data(), uint32_t(f.bytes.size()), f.link, 14, 14), -1);

    // an EtherType that contradicts the IP version
    fb::Spec mislabelled = fb::tcp4();
    mislabelled.ethertype = 0x86dd;
    EXPECT_EQ(set_tmpl(t, 0, rx(mislabelled)), -1);

    fb::Frame good = rx(fb::tcp4());
    // cut inside the TCP header
    EXPECT_EQ(tx_set_template(t, 0, good.bytes.data(), good.l4_off + 19, good.link, good.l3_off,
                              good.l4_off),
              -1);
    // cut inside the IP header (l4_off past the end)
    EXPECT_EQ(tx_set_template(t, 0, good.bytes.data(), 20, good.link, 14, 34), -1);
    // offsets that do not fit the link type
    EXPECT_EQ(
        tx_set_template(t, 0, good.bytes.data(), uint32_t(good.bytes.size()), LINK_SLL, 14, 34),
        -1);
    EXPECT_EQ(
        tx_set_template(t, 0, good.bytes.data(), uint32_t(good.bytes.size()), LINK_COUNT, 14, 34),
        -1);
    // flow out of range
    EXPECT_EQ(set_tmpl(t, 4, good), -1);
    EXPECT_EQ(set_tmpl(t, FLOW_NONE, good), -1);
    EXPECT_EQ(tx_get_stats(t)->templates, 0u);

    // nothing was installed: emits are refused
    tx_seg s = seg();
    EXPECT_EQ(tx_emit(t, 0, &s, 0), 0);
    EXPECT_EQ(tx_get_stats(t)->drops_no_template, 1u);
}

TEST(TxTemplate, FailedSetLeavesTemplateUnchanged)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    fb::Spec udp = fb::tcp4();
    udp.proto = 17;
    udp.sport = 9999;
    EXPECT_EQ(set_tmpl(t, 0, rx(udp)), -1);
    tx_out o = send(t, 0, seg());
    EXPECT_EQ(g16(o.frame + 34), 80);
    EXPECT_EQ(g16(o.frame + 36), 40000);
    EXPECT_EQ(tx_get_stats(t)->templates, 1u);
}

// ---- checksums and options ------------------------------------------------------------------

TEST(TxBuild, ChecksumsVerifyIpv4AndIpv6)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    fb::Spec s6 = fb::tcp4();
    s6.ip = 6;
    ASSERT_EQ(set_tmpl(t, 1, rx(s6)), 0);
    const uint32_t seqs[] = {0, 1, 0x7fffffff, 0xffffffff, 0x12345678};
    for (uint32_t flow = 0; flow < 2; flow++)
        for (uint32_t q : seqs) {
            tx_seg s = seg(TCPF_ACK | TCPF_FIN, q, ~q, uint16_t(q * 7));
            s.nsack = 1;
            s.sack[0][0] = q + 10;
            s.sack[0][1] = q + 20;
            tx_out o = send(t, flow, s);
            View v(o);
            if (v.af == 4) {
                EXPECT_EQ(fold_sum(v.ip(), 20), 0xffff);
                // recompute from a zeroed field: the same value
                Bytes h(v.ip(), v.ip() + 20);
                fb::put16(h, 10, 0);
                EXPECT_EQ(uint16_t(~fold_sum(h.data(), 20)), g16(v.ip() + 10));
            }
            EXPECT_EQ(v.tcp_sum(), 0xffff) << "flow " << flow << " seq " << q;
            Bytes tcp(v.tcp(), v.tcp() + v.tcplen);
            fb::put16(tcp, 16, 0);
            uint64_t ps = 6 + v.tcplen;
            ps += v.af == 4 ? fold_sum(v.ip() + 12, 8) : fold_sum(v.ip() + 8, 32);
            EXPECT_EQ(uint16_t(~fold_sum(tcp.data(), tcp.size(), ps)), g16(v.tcp() + 16));
        }
}

TEST(TxBuild, SynAckOptionsExact)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4(TCPF_SYN))), 0);
    tx_seg s = seg(TCPF_SYN | TCPF_ACK, 100, 1001, 65535);
    s.mss = 1460;
    s.wscale = 7;
    s.sack_ok = 1;
    tx_out o = send(t, 0, s);
    View v(o);
    ASSERT_EQ(o.len, 54u + 12);
    EXPECT_EQ(v.tcp()[12], 8 << 4);
    EXPECT_EQ(v.tcp()[13], TCPF_SYN | TCPF_ACK);
    EXPECT_EQ(Bytes(v.tcp() + 20, v.tcp() + 32), (Bytes{2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2}));
    EXPECT_EQ(g16(v.ip() + 2), 20 + 32);
    EXPECT_EQ(v.tcp_sum(), 0xffff);
}

TEST(TxBuild, EachOptionOnlyWhenAsked)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    tx_seg s = seg(TCPF_SYN);
    s.wscale = 0; // a shift of 0 is still an option
    tx_out o = send(t, 0, s);
    EXPECT_EQ(o.len, 58u);
    EXPECT_EQ(Bytes(o.frame + 54, o.frame + 58), (Bytes{1, 3, 3, 0}));
    s = seg(TCPF_SYN);
    s.sack_ok = 1;
    o = send(t, 0, s);
    EXPECT_EQ(Bytes(o.frame + 54, o.frame + 58), (Bytes{1, 1, 4, 2}));
    s = seg(TCPF_SYN);
    s.mss = 536;
    o = send(t, 0, s);
    EXPECT_EQ(o.len, 58u);
    EXPECT_EQ(Bytes(o.frame + 54, o.frame + 58), (Bytes{2, 4, 0x02, 0x18}));
}

TEST(TxBuild, AckWithTwoSackBlocks)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    tx_seg s = seg();
    s.nsack = 2;
    s.sack[0][0] = 0x01020304;
    s.sack[0][1] = 0x05060708;
    s.sack[1][0] = 0xa0b0c0d0;
    s.sack[1][1] = 0xe0f00010;
    tx_out o = send(t, 0, s);
    View v(o);
    ASSERT_EQ(v.tcplen, 40u);
    EXPECT_EQ(v.tcp()[12], 10 << 4);
    EXPECT_EQ(Bytes(v.tcp() + 20, v.tcp() + 40),
              (Bytes{1,    1,    5,    18,   0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                     0x07, 0x08, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0, 0x00, 0x10}));
    EXPECT_EQ(v.tcp_sum(), 0xffff);
}

TEST(TxBuild, SackBlocksBeyondFortyBytesAreLeftOut)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    tx_seg s = seg();
    s.nsack = 4;
    for (int k = 0; k < 4; k++) {
        s.sack[k][0] = 100u * k;
        s.sack[k][1] = 100u * k + 50;
    }
    tx_out o = send(t, 0, s); // 4 blocks alone: 36 bytes
    View v(o);
    EXPECT_EQ(v.tcplen, 56u);
    EXPECT_EQ(v.tcp()[12], 14 << 4);
    EXPECT_EQ(v.tcp()[23], 2 + 32);

    s.mss = 1460; // 4 + 36 = 40 still fits
    o = send(t, 0, s);
    v = View(o);
    EXPECT_EQ(v.tcplen, 60u);
    EXPECT_EQ(v.tcp()[27], 2 + 32);

    s.wscale = 7; // 8 + 36 > 40: the fourth block goes
    o = send(t, 0, s);
    v = View(o);
    EXPECT_EQ(v.tcplen, 56u);
    EXPECT_EQ(v.tcp()[12], 14 << 4);
    EXPECT_EQ(Bytes(v.tcp() + 28, v.tcp() + 32), (Bytes{1, 1, 5, 2 + 24}));
    EXPECT_EQ(g32(v.tcp() + 32 + 16), 200u); // block 2 kept, block 3 left out
    EXPECT_EQ(v.tcp_sum(), 0xffff);

    s.sack_ok = 1; // 12 + 28 = 40: three blocks still fit
    o = send(t, 0, s);
    v = View(o);
    EXPECT_EQ(v.tcplen, 60u);
    EXPECT_EQ(v.tcp()[12], 15 << 4);
}

TEST(TxBuild, Ipv4IdentificationCountsPerFlow)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    ASSERT_EQ(set_tmpl(t, 1, rx(fb::tcp4())), 0);
    auto id = [](const tx_out &o) { return g16(o.frame + 18); };
    EXPECT_EQ(id(send(t, 0, seg())), 0);
    EXPECT_EQ(id(send(t, 0, seg())), 1);
    EXPECT_EQ(id(send(t, 1, seg())), 0);
    EXPECT_EQ(id(send(t, 0, seg())), 2);
    EXPECT_EQ(id(send(t, 1, seg())), 1);
    // a new template restarts the count
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    EXPECT_EQ(id(send(t, 0, seg())), 0);
}

// ---- timing ---------------------------------------------------------------------------------

TEST(TxTiming, OneFrameBuildPlusSerialisation)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    tx_seg s = seg();
    EXPECT_EQ(tx_next_cycle(t), CYCLE_NEVER);
    ASSERT_EQ(tx_emit(t, 0, &s, 100), 1);
    // 54-byte ACK at 100 Gb/s and 1000 MHz: (54 + 24) * 8 / 100 = 6.24 -> 7 cycles
    EXPECT_EQ(tx_next_cycle(t), 100u + 20 + 7);
    EXPECT_EQ(tx_advance(t, 126), 0u);
    const tx_out *o = nullptr;
    EXPECT_FALSE(tx_peek_out(t, &o));
    EXPECT_EQ(tx_get_stats(t)->frames, 0u); // counted at departure
    EXPECT_EQ(tx_advance(t, 127), 1u);
    ASSERT_TRUE(tx_peek_out(t, &o));
    EXPECT_EQ(o->depart, 127u);
    EXPECT_EQ(o->len, 54u);
    EXPECT_EQ(tx_next_cycle(t), CYCLE_NEVER);
    const tx_stats *st = tx_get_stats(t);
    EXPECT_EQ(st->frames, 1u);
    EXPECT_EQ(st->bytes, 54u);
    EXPECT_EQ(st->busy_cycles, 7u);
}

TEST(TxTiming, SerialisationRoundsUpIn64Bits)
{
    struct Case {
        uint32_t mhz, mbps, build;
        cycle_t ser;
    } cases[] = {
        {1000, 100000, 0, 7},     // 6.24
        {1000, 10000, 0, 63},     // 62.4
        {1000, 1000, 0, 624},     // exact
        {100000, 1, 0, 62400000}, // 78 * 8 * 100000
        {1, 10000000, 5, 1},      // a fraction of a cycle is one
        {2500, 400000, 3, 4},     // 78 * 8 * 2500 / 400000 = 3.9
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(std::to_string(c.mhz) + " MHz " + std::to_string(c.mbps) + " Mb/s");
        tx_cfg cfg;
        tx_cfg_default(&cfg);
        cfg.clock_mhz = c.mhz;
        cfg.link_mbps = c.mbps;
        cfg.build_cycles = c.build;
        Tx t(1, &cfg);
        ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
        tx_out o = send(t, 0, seg(), 10);
        EXPECT_EQ(o.depart, 10 + c.build + c.ser);
        EXPECT_EQ(tx_get_stats(t)->busy_cycles, c.ser);
    }
}

TEST(TxTiming, BackToBackFramesWaitForThePort)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    tx_seg ack = seg();
    tx_seg syn = seg(TCPF_SYN | TCPF_ACK);
    syn.mss = 1460; // 4 option bytes
    syn.nsack = 3;  // + 28: 86 bytes, (86 + 24) * 8 / 100 = 8.8 -> 9 cycles
    ASSERT_EQ(tx_emit(t, 0, &ack, 0), 1);
    ASSERT_EQ(tx_emit(t, 0, &syn, 0), 1);
    ASSERT_EQ(tx_emit(t, 0, &ack, 5), 1);
    EXPECT_EQ(tx_queued(t), 3u);
    EXPECT_EQ(tx_next_cycle(t), 27u);
    EXPECT_EQ(tx_advance(t, 1000), 3u);
    std::vector<cycle_t> dep;
    std::vector<uint32_t> len;
    const tx_out *o = nullptr;
    while (tx_peek_out(t, &o)) {
        dep.push_back(o->depart);
        len.push_back(o->len);
        tx_pop_out(t);
    }
    EXPECT_EQ(len, (std::vector<uint32_t>{54, 86, 54}));
    EXPECT_EQ(dep, (std::vector<cycle_t>{27, 36, 43}));
    EXPECT_EQ(tx_get_stats(t)->busy_cycles, 7u + 9 + 7);
    EXPECT_TRUE(tx_idle(t));
}

TEST(TxTiming, IdlePortStartsAtBuildDone)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    tx_seg s = seg();
    ASSERT_EQ(tx_emit(t, 0, &s, 0), 1);    // 27
    ASSERT_EQ(tx_emit(t, 0, &s, 1000), 1); // port idle since 27: 1027
    ASSERT_EQ(tx_emit(t, 0, &s, 1001), 1); // built at 1021, port free at 1027: 1034
    EXPECT_EQ(tx_advance(t, 27), 1u);
    EXPECT_EQ(tx_next_cycle(t), 1027u);
    EXPECT_EQ(tx_advance(t, 1033), 1u);
    EXPECT_EQ(tx_next_cycle(t), 1034u);
    EXPECT_EQ(tx_advance(t, 1034), 1u);
}

TEST(TxTiming, NonMonotonicEmitsServedInCallOrder)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    ASSERT_EQ(set_tmpl(t, 1, rx(fb::tcp4())), 0);
    tx_seg s = seg();
    ASSERT_EQ(tx_emit(t, 0, &s, 100), 1); // 127
    ASSERT_EQ(tx_emit(t, 1, &s, 50), 1);  // built at 70, port free at 127: 134
    EXPECT_EQ(tx_next_cycle(t), 127u);
    EXPECT_EQ(tx_advance(t, 200), 2u);
    const tx_out *o = nullptr;
    ASSERT_TRUE(tx_peek_out(t, &o));
    EXPECT_EQ(o->flow, 0u);
    EXPECT_EQ(o->depart, 127u);
    tx_pop_out(t);
    ASSERT_TRUE(tx_peek_out(t, &o));
    EXPECT_EQ(o->flow, 1u);
    EXPECT_EQ(o->depart, 134u);
    tx_pop_out(t);
    EXPECT_FALSE(tx_peek_out(t, &o));
}

// ---- queue and refusals ---------------------------------------------------------------------

TEST(TxQueue, FullQueueRefusesAndCountsUntilPopped)
{
    tx_cfg cfg;
    tx_cfg_default(&cfg);
    cfg.depth = 2;
    Tx t(1, &cfg);
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    tx_seg s = seg();
    EXPECT_EQ(tx_emit(t, 0, &s, 0), 1);
    EXPECT_EQ(tx_emit(t, 0, &s, 0), 1);
    EXPECT_EQ(tx_emit(t, 0, &s, 0), 0);
    EXPECT_EQ(tx_get_stats(t)->drops_queue_full, 1u);
    EXPECT_EQ(tx_queued(t), 2u);
    // departed but not popped: still in the queue
    EXPECT_EQ(tx_advance(t, 100), 2u);
    EXPECT_EQ(tx_queued(t), 2u);
    EXPECT_EQ(tx_emit(t, 0, &s, 100), 0);
    EXPECT_EQ(tx_get_stats(t)->drops_queue_full, 2u);
    EXPECT_EQ(tx_next_cycle(t), CYCLE_NEVER);
    EXPECT_FALSE(tx_idle(t));
    tx_pop_out(t);
    EXPECT_EQ(tx_queued(t), 1u);
    EXPECT_EQ(tx_emit(t, 0, &s, 100), 1);
    EXPECT_EQ(tx_next_cycle(t), 127u);
    // the refused emits used no IPv4 identification
    tx_pop_out(t);
    EXPECT_EQ(tx_advance(t, 127), 1u);
    const tx_out *o = nullptr;
    ASSERT_TRUE(tx_peek_out(t, &o));
    EXPECT_EQ(g16(o->frame + 18), 2);
    tx_pop_out(t);
    EXPECT_TRUE(tx_idle(t));
    EXPECT_EQ(tx_get_stats(t)->frames, 3u);
}

TEST(TxQueue, NoTemplateRefusesAndCounts)
{
    Tx t(2);
    tx_seg s = seg();
    EXPECT_EQ(tx_emit(t, 0, &s, 0), 0);
    EXPECT_EQ(tx_emit(t, 2, &s, 0), 0);         // out of range
    EXPECT_EQ(tx_emit(t, FLOW_NONE, &s, 0), 0); // out of range
    EXPECT_EQ(tx_get_stats(t)->drops_no_template, 3u);
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    EXPECT_EQ(tx_emit(t, 0, &s, 0), 1);
    tx_clear_template(t, 0);
    tx_clear_template(t, 7); // out of range: nothing
    EXPECT_EQ(tx_emit(t, 0, &s, 0), 0);
    EXPECT_EQ(tx_get_stats(t)->drops_no_template, 4u);
    EXPECT_EQ(tx_get_stats(t)->drops_queue_full, 0u);
    EXPECT_EQ(tx_queued(t), 1u); // the frame emitted before the clear still goes
    EXPECT_EQ(tx_advance(t, 27), 1u);
}

TEST(TxQueue, IdleAndNextCycle)
{
    Tx t;
    EXPECT_TRUE(tx_idle(t));
    EXPECT_EQ(tx_next_cycle(t), CYCLE_NEVER);
    EXPECT_EQ(tx_advance(t, 1000000), 0u);
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    EXPECT_TRUE(tx_idle(t));
    tx_seg s = seg();
    ASSERT_EQ(tx_emit(t, 0, &s, 0), 1);
    EXPECT_FALSE(tx_idle(t));
    EXPECT_EQ(tx_advance(t, 27), 1u);
    EXPECT_FALSE(tx_idle(t));
    EXPECT_EQ(tx_advance(t, 27), 0u); // nothing left to do
    tx_pop_out(t);
    EXPECT_TRUE(tx_idle(t));
}

// Invariants over a long mixed run: departures strictly increase in call order, each frame
// leaves no earlier than its emit + build + serialisation, every emit ends sent or counted, and
// the port is busy exactly the sum of the serialisation times.
TEST(TxQueue, InvariantsOverAMixedRun)
{
    tx_cfg cfg;
    tx_cfg_default(&cfg);
    cfg.depth = 8;
    cfg.link_mbps = 10000;
    Tx t(3, &cfg);
    fb::Spec s6 = fb::tcp4();
    s6.ip = 6;
    s6.vlans = {0x8100};
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    ASSERT_EQ(set_tmpl(t, 1, rx(s6)), 0);
    uint32_t x = 12345;
    auto rnd = [&x]() {
        x = x * 1103515245u + 12345u;
        return x >> 16;
    };
    uint64_t emits = 0, accepted = 0, popped = 0, busy = 0;
    std::vector<cycle_t> at_of;
    cycle_t now = 0, last = 0;
    // Checks and pops the oldest departed frame; false when none has departed.
    auto pop = [&]() {
        const tx_out *o = nullptr;
        if (!tx_peek_out(t, &o))
            return false;
        EXPECT_LE(o->depart, now);
        EXPECT_GT(o->depart, last);
        last = o->depart;
        cycle_t ser = ((o->len + 24ull) * 8 * 1000 + 9999) / 10000;
        EXPECT_GE(o->depart, at_of[popped] + 20 + ser);
        busy += ser;
        EXPECT_EQ(View(*o).tcp_sum(), 0xffff);
        tx_pop_out(t);
        popped++;
        return true;
    };
    for (int i = 0; i < 2000; i++) {
        now += rnd() % 40;
        tx_advance(t, now);
        while (rnd() % 3 && pop()) {
        }
        tx_seg s = seg(TCPF_ACK, rnd(), rnd(), uint16_t(rnd()));
        s.nsack = uint8_t(rnd() % 5);
        cycle_t at = now + rnd() % 10; // not monotonic across calls
        emits++;
        if (tx_emit(t, rnd() % 3, &s, at)) {
            accepted++;
            at_of.push_back(at);
        }
        ASSERT_LE(tx_queued(t), 8u);
    }
    now = tx_next_cycle(t) == CYCLE_NEVER ? now : now + 100000;
    tx_advance(t, now);
    EXPECT_EQ(tx_next_cycle(t), CYCLE_NEVER);
    while (pop()) {
    }
    EXPECT_TRUE(tx_idle(t));
    const tx_stats *st = tx_get_stats(t);
    EXPECT_EQ(accepted + st->drops_queue_full + st->drops_no_template, emits);
    EXPECT_GT(st->drops_queue_full, 0u);
    EXPECT_GT(st->drops_no_template, 0u);
    EXPECT_EQ(st->frames, accepted);
    EXPECT_EQ(popped, accepted);
    EXPECT_EQ(st->busy_cycles, busy);
}

// ---- RoCEv2 acknowledgements ------------------------------------------------------------------

// A received RoCE request (SEND only, PSN 5, QP 0x12) from UDP source port sport, distinct MACs.
fb::Frame rx_roce(int ipver = 4, uint16_t sport = 49152, uint8_t link = LINK_ETHERNET,
                  std::vector<uint16_t> vlans = {})
{
    fb::Roce r;
    r.psn = 5;
    r.payload = Bytes(16, 0x5a);
    fb::Spec s = fb::roce_spec(r, ipver, sport);
    s.link = link;
    s.vlans = vlans;
    fb::Frame f = rx(s);
    fb::roce_seal(f);
    return f;
}

tx_roce ack(uint8_t syndrome = 0x1f, uint32_t psn = 0xabcdef, uint32_t msn = 0x123456,
            uint32_t qp = 0x654321)
{
    tx_roce r;
    std::memset(&r, 0, sizeof r);
    r.opcode = 0x11;
    r.psn = psn;
    r.syndrome = syndrome;
    r.msn = msn;
    r.dest_qp = qp;
    return r;
}

tx_out send_roce(tx *t, uint32_t flow, const tx_roce &r, cycle_t at = 0)
{
    tx_out o{};
    EXPECT_EQ(tx_emit_roce(t, flow, &r, at), 1);
    tx_advance(t, tx_next_cycle(t));
    const tx_out *p = nullptr;
    EXPECT_TRUE(tx_peek_out(t, &p));
    if (p) {
        o = *p;
        tx_pop_out(t);
    }
    return o;
}

// The built frame as frame_builder sees a frame (for its reference ICRC).
fb::Frame as_frame(const tx_out &o)
{
    View v(o);
    fb::Frame f;
    f.bytes = Bytes(o.frame, o.frame + o.len);
    f.link = LINK_ETHERNET;
    f.l3_off = v.l3;
    f.l4_off = v.l4;
    return f;
}

// The IPU's verdict on a built frame, every check on.
ipu_parse_out parse_back(const tx_out &o)
{
    fb::Frame f = as_frame(o);
    pkt p = f.as_pkt(1, 0);
    ipu_parse_out out;
    std::memset(&out, 0xa5, sizeof out);
    ipu_parse_with(&p, true, true, &out);
    return out;
}

// Checks a built RoCE ACK/NAK field by field and through the IPU's parser.
void expect_roce(const tx_out &o, const tx_roce &r, int af, uint16_t sport)
{
    View v(o);
    ASSERT_EQ(v.af, af);
    ASSERT_EQ(o.len, v.l3 + (af == 4 ? 20u : 40u) + 28);
    const uint8_t *ip = v.ip();
    if (af == 4) {
        EXPECT_EQ(ip[0], 0x45);
        EXPECT_EQ(ip[1], 0);
        EXPECT_EQ(g16(ip + 2), 48); // 20 + UDP 8 + BTH 12 + AETH 4 + ICRC 4
        EXPECT_EQ(g16(ip + 6), 0x4000);
        EXPECT_EQ(ip[8], 64);
        EXPECT_EQ(ip[9], 17);
        EXPECT_EQ(fold_sum(ip, 20), 0xffff);
    } else {
        EXPECT_EQ(g32(ip), 0x60000000u);
        EXPECT_EQ(g16(ip + 4), 28);
        EXPECT_EQ(ip[6], 17);
        EXPECT_EQ(ip[7], 64);
    }
    const uint8_t *u = v.tcp();
    EXPECT_EQ(g16(u), sport);
    EXPECT_EQ(g16(u + 2), 4791);
    EXPECT_EQ(g16(u + 4), 28);
    if (af == 4) {
        EXPECT_EQ(g16(u + 6), 0); // no checksum over IPv4
    } else {                      // mandatory over IPv6: pseudo-header + datagram fold to 0xffff
        EXPECT_NE(g16(u + 6), 0);
        EXPECT_EQ(fold_sum(u, 28, 17 + 28 + fold_sum(ip + 8, 32)), 0xffff);
    }
    const uint8_t *b = u + 8;
    const Bytes bth{r.opcode,
                    0x40, // SE 0, M 1, pad 0, TVer 0
                    0xff,
                    0xff,
                    0, // reserved
                    uint8_t(r.dest_qp >> 16),
                    uint8_t(r.dest_qp >> 8),
                    uint8_t(r.dest_qp),
                    0, // AckReq 0, reserved
                    uint8_t(r.psn >> 16),
                    uint8_t(r.psn >> 8),
                    uint8_t(r.psn)};
    EXPECT_EQ(Bytes(b, b + 12), bth);
    EXPECT_EQ(Bytes(b + 12, b + 16),
              (Bytes{r.syndrome, uint8_t(r.msn >> 16), uint8_t(r.msn >> 8), uint8_t(r.msn)}));
    const uint8_t *w = b + 16;
    uint32_t icrc =
        uint32_t(w[0]) | uint32_t(w[1]) << 8 | uint32_t(w[2]) << 16 | uint32_t(w[3]) << 24;
    EXPECT_EQ(icrc, fb::ref_icrc(as_frame(o)));

    ipu_parse_out p = parse_back(o);
    ASSERT_EQ(p.drop, -1) << "dropped: " << drop_reason_name(unsigned(p.drop)) << " / "
                          << ipu_check_name(p.check);
    ASSERT_EQ(p.nev, 1u);
    const unsigned kind = r.syndrome >> 5 & 3;
    EXPECT_EQ(p.types[0], kind == 0 ? EV_ROCE_ACK : EV_ROCE_NAK);
    EXPECT_EQ(p.ev.proto, PROTO_ROCE);
    EXPECT_EQ(p.ev.opcode, 0x11);
    EXPECT_EQ(p.ev.seq, r.psn & 0xffffff);
    EXPECT_EQ(p.ev.ack, r.msn & 0xffffff);
    EXPECT_EQ(p.ev.syndrome, r.syndrome);
    EXPECT_EQ(p.ev.qp, r.dest_qp & 0xffffff);
    EXPECT_EQ(p.ev.key.qp, r.dest_qp & 0xffffff);
    EXPECT_EQ(p.ev.key.dport, 4791);
    EXPECT_EQ(p.ev.bth_flags, ROCE_F_MIGREQ);
    EXPECT_EQ(p.ev.pay_len, 0u);
}

TEST(TxRoce, Ipv4AckByteByByte)
{
    Tx t;
    fb::Frame f = rx_roce(4, 50001);
    ASSERT_EQ(set_tmpl(t, 1, f), 0);
    EXPECT_EQ(tx_get_stats(t)->templates, 1u);
    tx_roce r = ack();
    tx_out o = send_roce(t, 1, r);
    EXPECT_EQ(o.flow, 1u);
    ASSERT_EQ(o.len, 62u);
    EXPECT_EQ(0, std::memcmp(o.frame, kPeerMac, 6));
    EXPECT_EQ(0, std::memcmp(o.frame + 6, kChipMac, 6));
    EXPECT_EQ(g16(o.frame + 12), 0x0800);
    EXPECT_EQ(Bytes(o.frame + 26, o.frame + 34), (Bytes{10, 0, 0, 2, 10, 0, 0, 1}));
    EXPECT_EQ(g16(o.frame + 18), 0); // identification: the flow's first
    // the whole transport part, literally
    const Bytes udp{0xc3, 0x51, 0x12, 0xb7, 0, 28, 0, 0};
    const Bytes bth{0x11, 0x40, 0xff, 0xff, 0, 0x65, 0x43, 0x21, 0, 0xab, 0xcd, 0xef};
    const Bytes aeth{0x1f, 0x12, 0x34, 0x56};
    EXPECT_EQ(Bytes(o.frame + 34, o.frame + 42), udp);
    EXPECT_EQ(Bytes(o.frame + 42, o.frame + 54), bth);
    EXPECT_EQ(Bytes(o.frame + 54, o.frame + 58), aeth);
    expect_roce(o, r, 4, 50001);
    // a wrong ICRC is noticed by the parser (so the check above is not vacuous)
    o.frame[o.len - 1] ^= 1;
    ipu_parse_out p = parse_back(o);
    EXPECT_EQ(p.drop, int(DROP_BAD_ICRC));
    EXPECT_EQ(p.check, unsigned(IPU_CK_ROCE_ICRC));
}

TEST(TxRoce, Ipv6AckWithUdpChecksum)
{
    Tx t;
    fb::Frame f = rx_roce(6, 49152);
    ASSERT_EQ(set_tmpl(t, 0, f), 0);
    tx_roce r = ack(0x00, 0, 0, 1);
    tx_out o = send_roce(t, 0, r);
    ASSERT_EQ(o.len, 82u);
    EXPECT_EQ(g16(o.frame + 12), 0x86dd);
    fb::Spec s; // the default addresses rx_roce used
    EXPECT_EQ(0, std::memcmp(o.frame + 14 + 8, s.dst6.data(), 16));
    EXPECT_EQ(0, std::memcmp(o.frame + 14 + 24, s.src6.data(), 16));
    expect_roce(o, r, 6, 49152);
    // the checksum covers the ICRC: recompute it from a zeroed field independently
    Bytes u(o.frame + 54, o.frame + 82);
    fb::put16(u, 6, 0);
    uint16_t c = uint16_t(~fold_sum(u.data(), u.size(), 17 + 28 + fold_sum(o.frame + 22, 32)));
    EXPECT_EQ(g16(o.frame + 54 + 6), c ? c : 0xffff);
    // a flipped ICRC bit now fails the UDP checksum first
    o.frame[o.len - 2] ^= 0x10;
    EXPECT_EQ(parse_back(o).drop, int(DROP_BAD_CHECKSUM));
}

TEST(TxRoce, EverySyndromeKindAndWideFieldsParseBack)
{
    Tx t(4);
    ASSERT_EQ(set_tmpl(t, 0, rx_roce(4)), 0);
    ASSERT_EQ(set_tmpl(t, 1, rx_roce(6, 60000)), 0);
    ASSERT_EQ(set_tmpl(t, 2, rx_roce(4, 49153, LINK_ETHERNET, {0x8100})), 0);
    ASSERT_EQ(set_tmpl(t, 3, rx_roce(6, 49154, LINK_ETHERNET, {0x88a8, 0x8100})), 0);
    const uint16_t sports[] = {49152, 60000, 49153, 49154};
    // ACK (credits), RNR NAK (timers), NAK: PSN sequence error, invalid request, remote access,
    // remote operational
    const uint8_t syn[] = {0x00, 0x1f, 0x20, 0x2e, 0x3f, 0x60, 0x61, 0x62, 0x63};
    const uint32_t vals[] = {0, 1, 0x7fffff, 0xffffff, 0x12345678, 0xffffffff};
    for (uint32_t flow = 0; flow < 4; flow++)
        for (uint8_t sy : syn)
            for (uint32_t v : vals) {
                SCOPED_TRACE("flow " + std::to_string(flow) + " syndrome " + std::to_string(sy) +
                             " value " + std::to_string(v));
                tx_roce r = ack(sy, v, ~v, v ^ 0x00a5a5a5);
                tx_out o = send_roce(t, flow, r);
                expect_roce(o, r, flow % 2 ? 6 : 4, sports[flow]);
                // the bits above 24 are not on the wire
                EXPECT_EQ(View(o).tcp()[8 + 4], 0);
                EXPECT_EQ(View(o).tcp()[8 + 8], 0);
            }
    EXPECT_EQ(tx_get_stats(t)->frames, 4u * 9 * 6);
    EXPECT_EQ(tx_get_stats(t)->drops_no_template + tx_get_stats(t)->drops_queue_full, 0u);
}

TEST(TxRoce, VlanTagsKept)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx_roce(4, 49152, LINK_ETHERNET, {0x88a8, 0x8100})), 0);
    tx_roce r = ack();
    tx_out o = send_roce(t, 0, r);
    ASSERT_EQ(o.len, 70u);
    EXPECT_EQ(0, std::memcmp(o.frame, kPeerMac, 6));
    EXPECT_EQ(Bytes(o.frame + 12, o.frame + 22),
              (Bytes{0x88, 0xa8, 0, 100, 0x81, 0x00, 0, 101, 0x08, 0x00}));
    expect_roce(o, r, 4, 49152);
}

TEST(TxRoce, CookedRawAndNullLinksGetEthernet)
{
    Tx t(8);
    const uint8_t links[] = {LINK_SLL, LINK_SLL2, LINK_RAW, LINK_NULL};
    uint32_t flow = 0;
    for (int ip : {4, 6})
        for (uint8_t link : links) {
            SCOPED_TRACE("link " + std::to_string(link) + " ipv" + std::to_string(ip));
            ASSERT_EQ(set_tmpl(t, flow, rx_roce(ip, 49200, link)), 0);
            tx_roce r = ack(0x60, flow);
            tx_out o = send_roce(t, flow, r);
            expect_synth_l2(o, ip == 4 ? 0x0800 : 0x86dd);
            EXPECT_EQ(o.len, ip == 4 ? 62u : 82u);
            expect_roce(o, r, ip, 49200);
            flow++;
        }
}

TEST(TxRoce, TemplateChecks)
{
    Tx t;
    // IPv6 extension headers before UDP: accepted, not copied
    fb::Roce rr;
    fb::Spec s6 = fb::roce_spec(rr, 6, 50000);
    s6.ext = {fb::Ext6{60, {}, std::nullopt}};
    fb::Frame f6 = rx(s6);
    fb::roce_seal(f6);
    ASSERT_EQ(f6.l4_off, 14u + 40 + 8);
    ASSERT_EQ(set_tmpl(t, 0, f6), 0);
    tx_roce r = ack();
    expect_roce(send_roce(t, 0, r), r, 6, 50000);

    // UDP to another port: no template (the chip sends no plain UDP)
    fb::Spec dns = fb::tcp4(TCPF_ACK, 32);
    dns.proto = 17;
    dns.dport = 53;
    EXPECT_EQ(set_tmpl(t, 1, rx(dns)), -1);
    dns.ip = 6;
    EXPECT_EQ(set_tmpl(t, 1, rx(dns)), -1);
    // cut inside the UDP header; the UDP header alone is enough
    fb::Frame f = rx_roce(4);
    EXPECT_EQ(tx_set_template(t, 1, f.bytes.data(), f.l4_off + 7, f.link, f.l3_off, f.l4_off), -1);
    EXPECT_EQ(tx_set_template(t, 1, f.bytes.data(), f.l4_off + 8, f.link, f.l3_off, f.l4_off), 0);
    EXPECT_EQ(tx_get_stats(t)->templates, 2u);
    expect_roce(send_roce(t, 1, r), r, 4, 49152);
}

TEST(TxRoce, TemplateKindMustMatchTheEmit)
{
    Tx t(2);
    ASSERT_EQ(set_tmpl(t, 0, rx_roce(4)), 0);
    ASSERT_EQ(set_tmpl(t, 1, rx(fb::tcp4())), 0);
    tx_seg s = seg();
    tx_roce r = ack();
    EXPECT_EQ(tx_emit(t, 0, &s, 0), 0);      // TCP segment on a RoCE template
    EXPECT_EQ(tx_emit_roce(t, 1, &r, 0), 0); // RoCE packet on a TCP template
    EXPECT_EQ(tx_get_stats(t)->drops_no_template, 2u);
    EXPECT_EQ(tx_queued(t), 0u);
    // a new template of the other kind replaces the old one
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    ASSERT_EQ(set_tmpl(t, 1, rx_roce(6)), 0);
    EXPECT_EQ(tx_emit(t, 0, &s, 0), 1);
    EXPECT_EQ(tx_emit_roce(t, 1, &r, 0), 1);
    EXPECT_EQ(tx_emit_roce(t, 0, &r, 0), 0);
    EXPECT_EQ(tx_get_stats(t)->drops_no_template, 3u);
    // and a failed set leaves the RoCE template as it was
    fb::Spec udp = fb::tcp4(TCPF_ACK, 32);
    udp.proto = 17;
    EXPECT_EQ(set_tmpl(t, 1, rx(udp)), -1);
    EXPECT_EQ(tx_emit_roce(t, 1, &r, 0), 1);
}

TEST(TxRoce, NoTemplateRefusesAndCounts)
{
    Tx t(2);
    tx_roce r = ack();
    EXPECT_EQ(tx_emit_roce(t, 0, &r, 0), 0);
    EXPECT_EQ(tx_emit_roce(t, 2, &r, 0), 0);         // out of range
    EXPECT_EQ(tx_emit_roce(t, FLOW_NONE, &r, 0), 0); // out of range
    ASSERT_EQ(set_tmpl(t, 0, rx_roce(4)), 0);
    EXPECT_EQ(tx_emit_roce(t, 0, &r, 0), 1);
    tx_clear_template(t, 0);
    EXPECT_EQ(tx_emit_roce(t, 0, &r, 0), 0);
    const tx_stats *st = tx_get_stats(t);
    EXPECT_EQ(st->drops_no_template, 4u);
    EXPECT_EQ(st->drops_queue_full, 0u);
    EXPECT_EQ(tx_queued(t), 1u);
}

// TCP segments and RoCE packets share one queue, one port and the counters; each RoCE packet
// uses one IPv4 identification of its flow.
TEST(TxRoce, SharedQueueTimingAndCounters)
{
    tx_cfg cfg;
    tx_cfg_default(&cfg);
    cfg.depth = 3;
    Tx t(3, &cfg);
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    ASSERT_EQ(set_tmpl(t, 1, rx_roce(4)), 0);
    ASSERT_EQ(set_tmpl(t, 2, rx_roce(6)), 0);
    tx_seg s = seg();
    tx_roce r = ack();
    ASSERT_EQ(tx_emit(t, 0, &s, 0), 1);      // 54 B: 7 cycles, departs 27
    ASSERT_EQ(tx_emit_roce(t, 1, &r, 0), 1); // 62 B: (62 + 24) * 8 / 100 = 6.88 -> 7: 34
    ASSERT_EQ(tx_emit_roce(t, 2, &r, 0), 1); // 82 B: (82 + 24) * 8 / 100 = 8.48 -> 9: 43
    EXPECT_EQ(tx_emit_roce(t, 1, &r, 0), 0); // full
    EXPECT_EQ(tx_emit(t, 0, &s, 0), 0);      // full
    EXPECT_EQ(tx_get_stats(t)->drops_queue_full, 2u);
    EXPECT_EQ(tx_get_stats(t)->drops_no_template, 0u);
    EXPECT_EQ(tx_next_cycle(t), 27u);
    EXPECT_EQ(tx_advance(t, 1000), 3u);
    EXPECT_EQ(tx_queued(t), 3u);
    EXPECT_EQ(tx_emit_roce(t, 1, &r, 1000), 0); // departed, not popped: still full
    EXPECT_EQ(tx_get_stats(t)->drops_queue_full, 3u);
    std::vector<cycle_t> dep;
    std::vector<uint32_t> len;
    const tx_out *o = nullptr;
    while (tx_peek_out(t, &o)) {
        dep.push_back(o->depart);
        len.push_back(o->len);
        tx_pop_out(t);
    }
    EXPECT_EQ(dep, (std::vector<cycle_t>{27, 34, 43}));
    EXPECT_EQ(len, (std::vector<uint32_t>{54, 62, 82}));
    const tx_stats *st = tx_get_stats(t);
    EXPECT_EQ(st->frames, 3u);
    EXPECT_EQ(st->bytes, 54u + 62 + 82);
    EXPECT_EQ(st->busy_cycles, 7u + 7 + 9);
    // the refused emits used no identification: flow 1's next packet is its second
    tx_out a = send_roce(t, 1, r, 2000);
    EXPECT_EQ(g16(a.frame + 18), 1);
    EXPECT_EQ(a.depart, 2000u + 20 + 7);
    expect_roce(a, r, 4, 49152);
}

// Writes a few built ACKs and NAKs to the pcap file named by SPPSIM_TX_PCAP (when set), for a
// dissector to read; checks them through the IPU parser in any case.
TEST(TxRoce, PcapForTshark)
{
    Tx t(4);
    ASSERT_EQ(set_tmpl(t, 0, rx_roce(4, 49152)), 0);
    ASSERT_EQ(set_tmpl(t, 1, rx_roce(6, 49153)), 0);
    ASSERT_EQ(set_tmpl(t, 2, rx_roce(4, 49154, LINK_ETHERNET, {0x8100})), 0);
    ASSERT_EQ(set_tmpl(t, 3, rx_roce(6, 49155, LINK_SLL)), 0);
    const struct {
        uint32_t flow;
        tx_roce r;
    } pkts[] = {
        {0, ack(0x1f, 100, 3, 0x000011)}, // ACK, invalid credit count
        {0, ack(0x60, 101, 3, 0x000011)}, // NAK PSN sequence error
        {1, ack(0x2c, 7, 0, 0x000022)},   // RNR NAK, timer 12
        {1, ack(0x62, 8, 1, 0x000022)},   // NAK remote access error
        {2, ack(0x00, 0xffffff, 0xffffff, 0xffffff)},
        {3, ack(0x61, 0, 0, 0x000033)}, // NAK invalid request
    };
    std::vector<tx_out> outs;
    for (const auto &p : pkts) {
        outs.push_back(send_roce(t, p.flow, p.r));
        expect_roce(outs.back(), p.r, p.flow % 2 ? 6 : 4, uint16_t(49152 + p.flow));
    }
    const char *path = std::getenv("SPPSIM_TX_PCAP");
    if (!path)
        return;
    FILE *fp = std::fopen(path, "wb");
    ASSERT_NE(fp, nullptr) << path;
    auto w32 = [fp](uint32_t v) { std::fwrite(&v, 4, 1, fp); }; // host order, as the magic
    auto w16 = [fp](uint16_t v) { std::fwrite(&v, 2, 1, fp); };
    w32(0xa1b2c3d4);
    w16(2);
    w16(4);
    w32(0);
    w32(0);
    w32(65535);
    w32(1); // DLT_EN10MB
    uint32_t i = 0;
    for (const tx_out &o : outs) {
        w32(i++);
        w32(0);
        w32(o.len);
        w32(o.len);
        std::fwrite(o.frame, 1, o.len, fp);
    }
    EXPECT_EQ(std::fclose(fp), 0);
}

// ---- segments with payload and templates from flow keys (issue 5) -----------------------------

Bytes payload_of(size_t n, uint8_t salt = 0)
{
    Bytes b(n);
    for (size_t i = 0; i < n; i++)
        b[i] = uint8_t(i * 31 + 17 + salt);
    return b;
}

// Emits a data segment on flow at cycle at, runs the unit to its departure and returns it.
tx_out send_data(tx *t, uint32_t flow, const tx_seg &s, const Bytes &pl, cycle_t at = 0)
{
    tx_out o{};
    EXPECT_EQ(tx_emit_data(t, flow, &s, pl.data(), uint32_t(pl.size()), at), 1);
    tx_advance(t, tx_next_cycle(t));
    const tx_out *p = nullptr;
    EXPECT_TRUE(tx_peek_out(t, &p));
    if (p) {
        o = *p;
        tx_pop_out(t);
    }
    return o;
}

TEST(TxData, StatTableNamesEveryCounter)
{
    ASSERT_EQ(tx_data_stat_count, sizeof(tx_data_stats) / sizeof(uint64_t));
    std::vector<std::string> names;
    for (size_t i = 0; i < tx_data_stat_count; i++)
        names.emplace_back(tx_data_stat_defs[i].name);
    EXPECT_EQ(names, (std::vector<std::string>{"data_frames", "payload_bytes", "drops_too_long",
                                               "key_templates", "acks_stamped"}));
    EXPECT_EQ(tx_data_stat_defs[2].off, offsetof(tx_data_stats, drops_too_long));
}

// IPv4: total length and both checksums cover the payload (the test's own sum, and the IPU's
// parser with every check on), the payload is the bytes given, the header is tx_emit's.
TEST(TxData, Ipv4SegmentWithPayload)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    Bytes pl = payload_of(1000);
    tx_out o = send_data(t, 0, seg(TCPF_ACK | TCPF_PSH, 0x01020304, 0x0a0b0c0d, 4321), pl);
    ASSERT_EQ(o.len, 54u + 1000);
    View v(o);
    EXPECT_EQ(g16(v.ip() + 2), 1040);
    EXPECT_EQ(fold_sum(v.ip(), 20), 0xffff);
    EXPECT_EQ(v.tcp_sum(), 0xffff);
    EXPECT_EQ(v.tcp()[12], 5 << 4);
    EXPECT_EQ(g32(v.tcp() + 4), 0x01020304u);
    EXPECT_EQ(g32(v.tcp() + 8), 0x0a0b0c0du);
    EXPECT_EQ(g16(v.tcp() + 14), 4321);
    EXPECT_EQ(Bytes(v.tcp() + 20, v.f + v.len), pl);
    ipu_parse_out p = parse_back(o);
    EXPECT_EQ(p.drop, -1);
    EXPECT_EQ(p.ev.pay_len, 1000u);
    EXPECT_EQ(p.ev.seq, 0x01020304u);
    // a flipped payload bit is a checksum error (so the checks above are not vacuous)
    o.frame[o.len - 1] ^= 4;
    EXPECT_NE(v.tcp_sum(), 0xffff);
    EXPECT_EQ(parse_back(o).drop, int(DROP_BAD_CHECKSUM));
}

// IPv6, an odd payload length (the checksum pads the last byte), a VLAN tag kept.
TEST(TxData, Ipv6OddPayloadWithVlan)
{
    Tx t;
    fb::Spec s = fb::tcp4();
    s.ip = 6;
    s.vlans = {0x8100};
    ASSERT_EQ(set_tmpl(t, 2, rx(s)), 0);
    Bytes pl = payload_of(999, 5);
    tx_out o = send_data(t, 2, seg(), pl);
    View v(o);
    ASSERT_EQ(v.af, 6);
    EXPECT_EQ(v.l3, 18u);
    ASSERT_EQ(o.len, 18u + 40 + 20 + 999);
    EXPECT_EQ(g16(v.ip() + 4), 20 + 999);
    EXPECT_EQ(v.tcp_sum(), 0xffff);
    EXPECT_EQ(Bytes(v.tcp() + 20, v.f + v.len), pl);
    ipu_parse_out p = parse_back(o);
    EXPECT_EQ(p.drop, -1);
    EXPECT_EQ(p.ev.pay_len, 999u);
}

// Payload 0 builds tx_emit's frame; options given with data are built before the payload.
TEST(TxData, ZeroPayloadIsTxEmitsSegment)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    ASSERT_EQ(set_tmpl(t, 1, rx(fb::tcp4())), 0);
    tx_seg sg = seg(TCPF_ACK | TCPF_FIN, 9, 10, 11);
    tx_out a = send(t, 0, sg);
    Bytes fa(a.frame, a.frame + a.len);
    EXPECT_EQ(tx_emit_data(t, 1, &sg, nullptr, 0, 0), 1);
    tx_advance(t, tx_next_cycle(t));
    const tx_out *b = nullptr;
    ASSERT_TRUE(tx_peek_out(t, &b));
    EXPECT_EQ(Bytes(b->frame, b->frame + b->len), fa); // both flows' first identification
    tx_pop_out(t);
    sg.mss = 1460;
    Bytes pl = payload_of(3);
    tx_out o = send_data(t, 0, sg, pl);
    View v(o);
    EXPECT_EQ(v.tcp()[12], 6 << 4);
    EXPECT_EQ(Bytes(v.tcp() + 20, v.tcp() + 24), (Bytes{2, 4, 0x05, 0xb4}));
    EXPECT_EQ(Bytes(v.tcp() + 24, v.f + v.len), pl);
    EXPECT_EQ(v.tcp_sum(), 0xffff);
    EXPECT_EQ(tx_get_data_stats(t)->data_frames, 1u); // the empty one is not data
    EXPECT_EQ(tx_get_data_stats(t)->payload_bytes, 3u);
}

// The IP length field bounds the payload: IPv4 65535 - 20 - 20, IPv6 65535 - 20, four less
// with an MSS option. The longest frames are built right.
TEST(TxData, LongestSegmentsAndTooLong)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    fb::Spec s6 = fb::tcp4();
    s6.ip = 6;
    s6.vlans = {0x88a8, 0x8100};
    ASSERT_EQ(set_tmpl(t, 1, rx(s6)), 0);
    Bytes big = payload_of(65516);
    tx_seg sg = seg();
    EXPECT_EQ(tx_emit_data(t, 0, &sg, big.data(), 65496, 0), 0);
    EXPECT_EQ(tx_emit_data(t, 1, &sg, big.data(), 65516, 0), 0);
    sg.mss = 536;
    EXPECT_EQ(tx_emit_data(t, 0, &sg, big.data(), 65492, 0), 0);
    EXPECT_EQ(tx_get_data_stats(t)->drops_too_long, 3u);
    EXPECT_EQ(tx_queued(t), 0u);
    tx_out a = send_data(t, 0, sg, Bytes(big.begin(), big.begin() + 65491));
    View va(a);
    EXPECT_EQ(g16(va.ip() + 2), 65535);
    EXPECT_EQ(a.len, 14u + 65535);
    EXPECT_EQ(va.tcp_sum(), 0xffff);
    sg.mss = 0;
    tx_out b = send_data(t, 1, sg, Bytes(big.begin(), big.begin() + 65515));
    View vb(b);
    EXPECT_EQ(g16(vb.ip() + 4), 65535);
    EXPECT_EQ(b.len, 22u + 40 + 65535);
    EXPECT_LE(b.len, uint32_t(TX_MAX_DATA_FRAME));
    EXPECT_EQ(vb.tcp_sum(), 0xffff);
    EXPECT_EQ(Bytes(vb.tcp() + 20, vb.f + vb.len), Bytes(big.begin(), big.begin() + 65515));
    EXPECT_EQ(tx_get_stats(t)->bytes, uint64_t(a.len) + b.len);
    EXPECT_EQ(tx_get_data_stats(t)->payload_bytes, 65491u + 65515);
}

// Serialisation counts the payload; the data counters count at departure.
TEST(TxData, TimingCountsThePayload)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    Bytes pl = payload_of(1000);
    tx_seg sg = seg();
    ASSERT_EQ(tx_emit_data(t, 0, &sg, pl.data(), 1000, 100), 1);
    ASSERT_EQ(tx_emit(t, 0, &sg, 100), 1);
    // (1054 + 24) * 8 / 100 = 86.24 -> 87 cycles: departs 100 + 20 + 87; the ACK after it, 7
    EXPECT_EQ(tx_next_cycle(t), 207u);
    EXPECT_EQ(tx_advance(t, 206), 0u);
    EXPECT_EQ(tx_get_data_stats(t)->data_frames, 0u);
    EXPECT_EQ(tx_advance(t, 207), 1u);
    EXPECT_EQ(tx_get_data_stats(t)->data_frames, 1u);
    EXPECT_EQ(tx_get_data_stats(t)->payload_bytes, 1000u);
    EXPECT_EQ(tx_next_cycle(t), 214u);
    EXPECT_EQ(tx_advance(t, 214), 1u);
    EXPECT_EQ(tx_get_stats(t)->busy_cycles, 87u + 7);
    EXPECT_EQ(tx_get_stats(t)->bytes, 1054u + 54);
    EXPECT_EQ(tx_get_stats(t)->frames, 2u);
    EXPECT_EQ(tx_get_data_stats(t)->data_frames, 1u);
    // 1 Gb/s: a 1514-byte frame (1460 payload) takes (1514 + 24) * 8 = 12304 cycles
    tx_cfg c;
    tx_cfg_default(&c);
    c.link_mbps = 1000;
    Tx slow(1, &c);
    ASSERT_EQ(set_tmpl(slow, 0, rx(fb::tcp4())), 0);
    Bytes mss = payload_of(1460);
    ASSERT_EQ(tx_emit_data(slow, 0, &sg, mss.data(), 1460, 0), 1);
    EXPECT_EQ(tx_next_cycle(slow), 20u + 12304);
    tx_reset_stats(slow);
    EXPECT_EQ(tx_get_data_stats(slow)->key_templates, 0u);
}

// Refusals: no template, a RoCE template, a full queue.
TEST(TxData, Refusals)
{
    tx_cfg c;
    tx_cfg_default(&c);
    c.depth = 1;
    Tx t(3, &c);
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    fb::Spec r;
    r.proto = 17;
    r.dport = ROCE_UDP_PORT;
    r.sport = 49152;
    r.l4_raw = Bytes(20, 0);
    ASSERT_EQ(set_tmpl(t, 1, fb::build(r)), 0) << "a RoCE template";
    Bytes pl = payload_of(100);
    tx_seg sg = seg();
    EXPECT_EQ(tx_emit_data(t, 1, &sg, pl.data(), 100, 0), 0);
    EXPECT_EQ(tx_emit_data(t, 2, &sg, pl.data(), 100, 0), 0);
    EXPECT_EQ(tx_emit_data(t, 7, &sg, pl.data(), 100, 0), 0);
    EXPECT_EQ(tx_get_stats(t)->drops_no_template, 3u);
    EXPECT_EQ(tx_emit_data(t, 0, &sg, pl.data(), 100, 0), 1);
    EXPECT_EQ(tx_emit_data(t, 0, &sg, pl.data(), 100, 0), 0);
    EXPECT_EQ(tx_get_stats(t)->drops_queue_full, 1u);
}

// Slots keep their frame storage: frames of varying sizes through a two-slot queue each come
// out whole, long after short and short after long in the same slot.
TEST(TxData, SlotsReuseTheirStorage)
{
    tx_cfg c;
    tx_cfg_default(&c);
    c.depth = 2;
    Tx t(1, &c);
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    const uint32_t sizes[] = {3000, 0, 9000, 100, 200, 9000, 64000, 1, 300, 64000, 10};
    uint32_t k = 0;
    for (uint32_t n : sizes) {
        SCOPED_TRACE("payload " + std::to_string(n));
        Bytes pl = payload_of(n, uint8_t(k++));
        tx_seg sg = seg(TCPF_ACK, k * 100000); // past the last one's end: not restamped
        ASSERT_EQ(tx_emit_data(t, 0, &sg, pl.data(), n, 0), 1);
        tx_advance(t, tx_next_cycle(t));
        const tx_out *o = nullptr;
        ASSERT_TRUE(tx_peek_out(t, &o));
        View v(*o);
        ASSERT_EQ(o->len, 54u + n);
        EXPECT_EQ(g32(v.tcp() + 4), k * 100000);
        EXPECT_EQ(Bytes(v.tcp() + 20, v.f + v.len), pl);
        EXPECT_EQ(v.tcp_sum(), 0xffff);
        tx_pop_out(t);
    }
}

// The IPU's key of a received frame, as the dispatcher would see it (src = the peer).
flow_key key_of(const fb::Frame &f)
{
    pkt p = f.as_pkt(1, 0);
    ipu_parse_out out;
    ipu_parse_with(&p, true, true, &out);
    EXPECT_EQ(out.drop, -1);
    return out.ev.key;
}

// A template from the key of a received SYN builds the very frames the template reversed from
// that SYN builds, byte for byte, when given the SYN's MAC addresses (IPv4 and IPv6). With the
// default MACs only bytes 0..11 differ (02:..:02 peer, 02:..:01 chip): the same as a template
// from a frame without Ethernet. A tagged SYN's template keeps its tag, which a key does not
// carry: those frames differ by the tag.
TEST(TxKeyTemplate, EqualsTheReversedSynTemplate)
{
    for (int ip : {4, 6}) {
        SCOPED_TRACE("ipv" + std::to_string(ip));
        Tx t(4);
        fb::Spec s = fb::tcp4(TCPF_SYN);
        s.ip = ip;
        s.sport = 51234;
        s.dport = 8080;
        fb::Frame syn = rx(s);
        flow_key k = key_of(syn);
        ASSERT_EQ(set_tmpl(t, 0, syn), 0);
        ASSERT_EQ(tx_set_template_key(t, 1, &k, kChipMac, kPeerMac), 0);
        ASSERT_EQ(tx_set_template_key(t, 2, &k, nullptr, nullptr), 0);
        fb::Spec sl = s;
        sl.link = LINK_SLL;
        ASSERT_EQ(set_tmpl(t, 3, rx(sl)), 0);
        EXPECT_EQ(tx_get_stats(t)->templates, 2u);
        EXPECT_EQ(tx_get_data_stats(t)->key_templates, 2u);
        tx_seg synack = seg(TCPF_SYN | TCPF_ACK, 1000, 2000, 65535);
        synack.mss = 1460;
        synack.wscale = 7;
        synack.sack_ok = 1;
        Bytes pl = payload_of(77);
        for (int round = 0; round < 2; round++) { // the identifications advance alike
            tx_out o[4];
            for (uint32_t f = 0; f < 4; f++)
                o[f] = round ? send_data(t, f, seg(), pl) : send(t, f, synack);
            Bytes a(o[0].frame, o[0].frame + o[0].len), b(o[1].frame, o[1].frame + o[1].len);
            Bytes c(o[2].frame, o[2].frame + o[2].len), d(o[3].frame, o[3].frame + o[3].len);
            EXPECT_EQ(a, b);
            EXPECT_EQ(c, d);
            ASSERT_EQ(a.size(), c.size());
            EXPECT_EQ(Bytes(a.begin() + 12, a.end()), Bytes(c.begin() + 12, c.end()));
            EXPECT_EQ(Bytes(c.begin(), c.begin() + 12),
                      (Bytes{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}));
            // the chip's frame, parsed, has the key reversed
            flow_key back = parse_back(o[1]).ev.key, want;
            flow_key_reverse(&want, &k);
            EXPECT_TRUE(flow_key_eq(&back, &want));
        }
    }
    // tagged: the same but the tag
    Tx t(2);
    fb::Spec s = fb::tcp4(TCPF_SYN);
    s.vlans = {0x8100};
    fb::Frame syn = rx(s);
    flow_key k = key_of(syn);
    ASSERT_EQ(set_tmpl(t, 0, syn), 0);
    ASSERT_EQ(tx_set_template_key(t, 1, &k, kChipMac, kPeerMac), 0);
    tx_out a = send(t, 0, seg()), b = send(t, 1, seg());
    ASSERT_EQ(a.len, b.len + 4);
    Bytes untagged(a.frame, a.frame + 12);
    untagged.insert(untagged.end(), a.frame + 16, a.frame + a.len);
    EXPECT_EQ(untagged, Bytes(b.frame, b.frame + b.len));
}

// Keys a TCP template cannot be built from leave the flow's template as it was; a key template
// replaces a RoCE one.
TEST(TxKeyTemplate, Refusals)
{
    Tx t(2);
    flow_key k = key_of(rx(fb::tcp4()));
    flow_key bad = k;
    bad.proto = 17;
    EXPECT_EQ(tx_set_template_key(t, 0, &bad, nullptr, nullptr), -1);
    bad = k;
    bad.af = 0;
    EXPECT_EQ(tx_set_template_key(t, 0, &bad, nullptr, nullptr), -1);
    EXPECT_EQ(tx_set_template_key(t, 2, &k, nullptr, nullptr), -1);
    EXPECT_EQ(tx_set_template_key(t, 0, nullptr, nullptr, nullptr), -1);
    EXPECT_EQ(tx_get_data_stats(t)->key_templates, 0u);
    tx_seg sg = seg();
    EXPECT_EQ(tx_emit(t, 0, &sg, 0), 0); // still no template
    fb::Spec r;
    r.proto = 17;
    r.dport = ROCE_UDP_PORT;
    r.l4_raw = Bytes(20, 0);
    ASSERT_EQ(set_tmpl(t, 1, fb::build(r)), 0);
    ASSERT_EQ(tx_set_template_key(t, 1, &k, nullptr, nullptr), 0);
    tx_out o = send(t, 1, sg);
    EXPECT_EQ(View(o).tcp_sum(), 0xffff);
    EXPECT_EQ(g16(View(o).tcp()), 80); // the chip's port: the key's destination
}

} // namespace

// Emits s with len bytes of payload on flow and returns the frame as it left (popped).
tx_out send_data(tx *t, uint32_t flow, const tx_seg &s, uint32_t len)
{
    Bytes pl = payload_of(len);
    EXPECT_EQ(tx_emit_data(t, flow, &s, pl.data(), len, 0), 1);
    return depart_one(t);
}

// SND.NXT at the port (tx.h): a pure ACK given a sequence number older than the highest the
// flow's segments reached goes with that one; segments with payload, SYN, FIN or RST keep
// theirs (a retransmission is older on purpose); a new template starts afresh; sequence numbers
// compare modulo 2^32.
TEST(TxData, PureAcksCarryTheFlowsSndNxt)
{
    Tx t;
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    auto seq_of = [](const tx_out &o) { return g32(View(o).tcp() + 4); };
    EXPECT_EQ(seq_of(send(t, 0, seg(TCPF_SYN | TCPF_ACK, 0xfffffff0u))), 0xfffffff0u);
    EXPECT_EQ(seq_of(send_data(t, 0, seg(TCPF_ACK, 0xfffffff1u), 100)), 0xfffffff1u);
    // SND.NXT is now 0xfffffff1 + 100 = 0x55 (wrapped)
    EXPECT_EQ(seq_of(send(t, 0, seg(TCPF_ACK, 0xfffffff1u))), 0x55u); // stamped
    EXPECT_EQ(tx_get_data_stats(t)->acks_stamped, 1u);
    EXPECT_EQ(seq_of(send(t, 0, seg(TCPF_ACK, 0x60u))), 0x60u); // later: kept, and the new mark
    EXPECT_EQ(seq_of(send(t, 0, seg(TCPF_ACK, 0x55u))), 0x60u);
    EXPECT_EQ(seq_of(send_data(t, 0, seg(TCPF_ACK, 0xfffffff1u), 50)), 0xfffffff1u); // resent
    EXPECT_EQ(seq_of(send(t, 0, seg(TCPF_FIN | TCPF_ACK, 0x10u))), 0x10u);
    EXPECT_EQ(seq_of(send(t, 0, seg(TCPF_RST, 0x10u))), 0x10u);
    EXPECT_EQ(seq_of(send(t, 0, seg(TCPF_ACK, 0x10u))), 0x60u);
    EXPECT_EQ(tx_get_data_stats(t)->acks_stamped, 3u);
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0); // a new connection on the proxy
    EXPECT_EQ(seq_of(send(t, 0, seg(TCPF_ACK, 0x10u))), 0x10u);
}

// The last ACK at the port (tx.h; issue 11): the ACK number and window of the flow's last
// segment with ACK queued, in emit order (what the peer saw last), from pure ACKs and data
// alike; a SYN without ACK, an RST and a refused emit change nothing; a new template starts
// afresh; tx_ack_sent compares ACK numbers modulo 2^32 and windows exactly.
TEST(TxData, LastAckIsTheLastSegmentWithAckQueued)
{
    tx_cfg c;
    tx_cfg_default(&c);
    c.depth = 1;
    Tx t(3, &c);
    uint32_t ack = 0;
    uint16_t win = 0;
    EXPECT_FALSE(tx_last_ack(t, 0, &ack, &win)) << "no template";
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0);
    EXPECT_FALSE(tx_last_ack(t, 0, &ack, &win)) << "nothing sent";
    EXPECT_FALSE(tx_ack_sent(t, 0, 0, 0));
    send(t, 0, seg(TCPF_SYN, 100, 0, 1000)); // an active open's SYN: no ACK
    EXPECT_FALSE(tx_last_ack(t, 0, &ack, &win));
    tx_out o = send(t, 0, seg(TCPF_SYN | TCPF_ACK, 100, 1001, 65535));
    EXPECT_EQ(g32(View(o).tcp() + 8), 1001u);
    ASSERT_TRUE(tx_last_ack(t, 0, &ack, &win));
    EXPECT_EQ(ack, 1001u);
    EXPECT_EQ(win, 65535);
    o = send_data(t, 0, seg(TCPF_ACK | TCPF_PSH, 101, 2001, 512), 100); // the send side's data
    EXPECT_EQ(g32(View(o).tcp() + 8), 2001u);
    EXPECT_EQ(g16(View(o).tcp() + 14), 512);
    ASSERT_TRUE(tx_last_ack(t, 0, &ack, &win));
    EXPECT_EQ(ack, 2001u);
    EXPECT_EQ(win, 512);
    EXPECT_TRUE(tx_ack_sent(t, 0, 2001, 512));  // the delayed ACK would repeat it
    EXPECT_TRUE(tx_ack_sent(t, 0, 1500, 512));  // an older ACK number: nothing new either
    EXPECT_FALSE(tx_ack_sent(t, 0, 2002, 512)); // newer data to acknowledge
    EXPECT_FALSE(tx_ack_sent(t, 0, 2001, 513)); // a window update
    EXPECT_FALSE(tx_ack_sent(t, 0, 2001, 511));
    EXPECT_FALSE(tx_ack_sent(t, 0, 2001, 512 + 65536)) << "no 16-bit window is that";
    EXPECT_FALSE(tx_ack_sent(t, 1, 2001, 512)) << "another flow";
    EXPECT_FALSE(tx_ack_sent(t, 9, 2001, 512)) << "out of range";
    // emit order, not the highest: an older ACK number sent last is what the peer saw last
    send(t, 0, seg(TCPF_ACK, 201, 1800, 512));
    EXPECT_FALSE(tx_ack_sent(t, 0, 2001, 512));
    EXPECT_TRUE(tx_ack_sent(t, 0, 1800, 512));
    send(t, 0, seg(TCPF_RST | TCPF_ACK, 201, 5000, 0)); // RST: not an advertisement
    EXPECT_TRUE(tx_ack_sent(t, 0, 1800, 512));
    // a refused emit (the one-slot queue holds a frame not yet popped) records nothing
    tx_seg sg = seg(TCPF_ACK, 201, 0xfffffff0u, 7);
    ASSERT_EQ(tx_emit(t, 0, &sg, 0), 1);
    tx_seg refused = seg(TCPF_ACK, 201, 0x10, 9);
    EXPECT_EQ(tx_emit(t, 0, &refused, 0), 0);
    EXPECT_EQ(tx_get_stats(t)->drops_queue_full, 1u);
    ASSERT_TRUE(tx_last_ack(t, 0, &ack, &win));
    EXPECT_EQ(ack, 0xfffffff0u);
    EXPECT_EQ(win, 7);
    depart_one(t);
    // modulo 2^32
    EXPECT_TRUE(tx_ack_sent(t, 0, 0xffffffe0u, 7));
    EXPECT_FALSE(tx_ack_sent(t, 0, 0x10, 7));
    send(t, 0, seg(TCPF_ACK, 201, 0x10, 7));
    EXPECT_TRUE(tx_ack_sent(t, 0, 0xfffffff0u, 7));
    ASSERT_EQ(set_tmpl(t, 0, rx(fb::tcp4())), 0); // a new connection on the proxy
    EXPECT_FALSE(tx_last_ack(t, 0, &ack, &win));
    EXPECT_FALSE(tx_ack_sent(t, 0, 0x10, 7));
    fb::Spec r;
    r.proto = 17;
    r.dport = ROCE_UDP_PORT;
    r.sport = 49152;
    r.l4_raw = Bytes(20, 0);
    ASSERT_EQ(set_tmpl(t, 1, fb::build(r)), 0);
    EXPECT_FALSE(tx_last_ack(t, 1, &ack, &win)) << "a RoCE template";
}

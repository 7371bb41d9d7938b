// Tests of the IPU's parser and checksum (models/ipu/ipu_parse.c): every header type well-formed
// and broken, the event-derivation table, and robustness against truncated and random input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "frame_builder.h"
#include "ipu.h"

using fb::Bytes;
using fb::Spec;

namespace {

ipu_parse_out parse_frame(const fb::Frame &f, bool verify = true)
{
    pkt p = f.as_pkt(42, 123456);
    ipu_parse_out o;
    memset(&o, 0xa5, sizeof o); // every field must be written
    ipu_parse(&p, verify, &o);
    return o;
}
ipu_parse_out parse_spec(const Spec &s, bool verify = true)
{
    return parse_frame(fb::build(s), verify);
}

ipu_parse_out parse_bytes(const Bytes &b, uint8_t link, bool verify = true)
{
    pkt p{b.data(), uint32_t(b.size()), uint32_t(b.size()), link, 0, 0};
    ipu_parse_out o;
    memset(&o, 0xa5, sizeof o);
    ipu_parse(&p, verify, &o);
    return o;
}

std::string types_str(const ipu_parse_out &o)
{
    std::string s;
    for (unsigned i = 0; i < o.nev && i < IPU_MAX_EVENTS; i++)
        s += std::string(i ? "," : "") + ev_type_name(o.types[i]);
    return s;
}

std::string describe(const ipu_parse_out &o)
{
    return std::string("drop=") + (o.drop < 0 ? "none" : drop_reason_name(unsigned(o.drop))) +
           " check=" + ipu_check_name(o.check) + " nev=" + std::to_string(o.nev) + " [" +
           types_str(o) + "]";
}

::testing::AssertionResult Dropped(const ipu_parse_out &o, drop_reason r, ipu_check c)
{
    if (o.drop == int(r) && o.check == unsigned(c) && o.nev == 0)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "want drop=" << drop_reason_name(r) << " check=" << ipu_check_name(c) << ", got "
           << describe(o);
}

::testing::AssertionResult Processed(const ipu_parse_out &o, std::vector<ev_type> types,
                                     ipu_check c = IPU_CK_OK)
{
    bool ok = o.drop == -1 && o.check == unsigned(c) && o.nev == types.size();
    for (size_t i = 0; ok && i < types.size(); i++)
        ok = o.types[i] == types[i];
    if (ok)
        return ::testing::AssertionSuccess();
    std::string want;
    for (size_t i = 0; i < types.size(); i++)
        want += std::string(i ? "," : "") + ev_type_name(types[i]);
    return ::testing::AssertionFailure() << "want processed [" << want << "] check "
                                         << ipu_check_name(c) << ", got " << describe(o);
}

Bytes ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    Bytes k(16, 0);
    k[0] = a, k[1] = b, k[2] = c, k[3] = d;
    return k;
}
Bytes key_src(const event &e) { return Bytes(e.key.src, e.key.src + 16); }
Bytes key_dst(const event &e) { return Bytes(e.key.dst, e.key.dst + 16); }

} // namespace

// ---------------------------------------------------------------- checksum

TEST(IpuCsum, Rfc1071Example)
{
    // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (checksum 220d).
    const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(ipu_csum_fold(ipu_csum_add(0, b, sizeof b)), 0xddf2);
    EXPECT_EQ(uint16_t(~ipu_csum_fold(ipu_csum_add(0, b, sizeof b))), 0x220d);
    // byte-order independence: chained halves give the same result
    EXPECT_EQ(ipu_csum_fold(ipu_csum_add(ipu_csum_add(0, b, 4), b + 4, 4)), 0xddf2);
}

TEST(IpuCsum, KnownIpv4Header)
{
    // A textbook header: 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7
    const uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                         0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_EQ(ipu_csum_fold(ipu_csum_add(0, h, sizeof h)), 0xffff);
    uint8_t z[sizeof h];
    memcpy(z, h, sizeof h);
    z[10] = z[11] = 0;
    EXPECT_EQ(uint16_t(~ipu_csum_fold(ipu_csum_add(0, z, sizeof z))), 0xb861);
}

TEST(IpuCsum, EmptyAndOddLengths)
{
    EXPECT_EQ(ipu_csum_add(0, nullptr, 0), 0u);
    EXPECT_EQ(ipu_csum_add(0x1234, nullptr, 0), 0x1234u);
    const uint8_t one[] = {0xab};
    EXPECT_EQ(ipu_csum_fold(ipu_csum_add(0, one, 1)), 0xab00); // the odd byte is a high byte
    const uint8_t three[] = {0x01, 0x02, 0x03};
    EXPECT_EQ(ipu_csum_fold(ipu_csum_add(0, three, 3)), 0x0102 + 0x0300);
    // the carry wraps around: ffff + 0001 = 1 0000 -> 0001
    const uint8_t w[] = {0xff, 0xff, 0x00, 0x01};
    EXPECT_EQ(ipu_csum_fold(ipu_csum_add(0, w, 4)), 0x0001);
    EXPECT_EQ(ipu_csum_fold(ipu_csum_add(0xffff, w + 2, 2)), 0x0001);
}

TEST(IpuCsum, Fold)
{
    EXPECT_EQ(ipu_csum_fold(0), 0);
    EXPECT_EQ(ipu_csum_fold(0xffff), 0xffff);
    EXPECT_EQ(ipu_csum_fold(0x10000), 0x0001);
    EXPECT_EQ(ipu_csum_fold(0x1fffe), 0xffff);
    EXPECT_EQ(ipu_csum_fold(0xffffffffu), 0xffff);
    EXPECT_EQ(ipu_csum_fold(0x0002fffd), 0xffff);
}

TEST(IpuCsum, MatchesReferenceAtEveryLengthAndAlignment)
{
    std::mt19937 rng(1071);
    std::vector<uint8_t> buf(600);
    for (auto &x : buf)
        x = uint8_t(rng());
    for (size_t align = 0; align < 8; align++)
        for (size_t n = 0; n <= 520; n++) {
            const uint8_t *p = buf.data() + align;
            ASSERT_EQ(ipu_csum_fold(ipu_csum_add(0, p, n)), fb::ref_fold(fb::ref_sum(p, n)))
                << "align " << align << " n " << n;
            // chaining at every even split
            if (n >= 2) {
                size_t k = (n / 2) & ~size_t(1);
                ASSERT_EQ(ipu_csum_fold(ipu_csum_add(ipu_csum_add(0, p, k), p + k, n - k)),
                          fb::ref_fold(fb::ref_sum(p, n)));
            }
        }
}

TEST(IpuCsum, LargeAllOnesDoesNotOverflow)
{
    std::vector<uint8_t> b(1 << 20, 0xff);
    EXPECT_EQ(ipu_csum_fold(ipu_csum_add(0, b.data(), b.size())), 0xffff);
    EXPECT_LE(ipu_csum_add(0xffff, b.data(), b.size()), 0xffffu);
    b[b.size() - 1] = 0xfe;
    EXPECT_EQ(ipu_csum_fold(ipu_csum_add(0, b.data(), b.size())),
              fb::ref_fold(fb::ref_sum(b.data(), b.size())));
}

TEST(IpuCsum, CarriesOutOfEveryWordMatchReference)
{
    // Bytes near 0xff make nearly every 64-bit word addition carry; jumbo lengths, every
    // alignment, and an incoming partial sum chained in.
    std::mt19937 rng(791);
    std::vector<uint8_t> buf(9100);
    for (auto &x : buf)
        x = uint8_t(0xf0 | (rng() & 0x0f));
    for (size_t align = 0; align < 8; align++)
        for (size_t n : {31u, 32u, 33u, 63u, 64u, 65u, 1500u, 1501u, 8999u, 9000u}) {
            const uint8_t *p = buf.data() + align;
            ASSERT_EQ(ipu_csum_fold(ipu_csum_add(0, p, n)), fb::ref_fold(fb::ref_sum(p, n)))
                << "align " << align << " n " << n;
            ASSERT_EQ(ipu_csum_fold(ipu_csum_add(0xfffe, p, n)),
                      fb::ref_fold(fb::ref_sum(p, n, 0xfffe)))
                << "align " << align << " n " << n;
        }
}

// ---------------------------------------------------------------- well-formed frames: fields

TEST(IpuParse, Tcp4AllFields)
{
    Spec s = fb::tcp4(TCPF_ACK | TCPF_PSH, 100);
    s.seq = 0xdeadbeef;
    s.ack = 0x01020304;
    s.win = 12345;
    s.sport = 51000;
    s.dport = 443;
    fb::Frame f = fb::build(s);
    ipu_parse_out o = parse_frame(f);
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA}));
    const event &e = o.ev;
    EXPECT_EQ(e.chan, CH_NETWORK);
    EXPECT_EQ(e.cls, EVC_RECEIVE);
    EXPECT_EQ(e.proto, PROTO_TCP);
    EXPECT_EQ(e.flow, FLOW_NONE);
    EXPECT_EQ(e.sp_handle, SP_NONE);
    EXPECT_EQ(e.pkt, 42u);
    EXPECT_EQ(e.t_arrival, 123456u);
    EXPECT_EQ(e.frame_len, 154u);
    EXPECT_EQ(e.l3_off, 14);
    EXPECT_EQ(e.l4_off, 34);
    EXPECT_EQ(e.pay_off, 54u);
    EXPECT_EQ(e.pay_len, 100u);
    EXPECT_EQ(key_src(e), ip4(10, 0, 0, 1));
    EXPECT_EQ(key_dst(e), ip4(10, 0, 0, 2));
    EXPECT_EQ(e.key.sport, 51000);
    EXPECT_EQ(e.key.dport, 443);
    EXPECT_EQ(e.key.af, 4);
    EXPECT_EQ(e.key.proto, 6);
    EXPECT_EQ(e.key.pad[0], 0);
    EXPECT_EQ(e.key.pad[1], 0);
    EXPECT_EQ(e.seq, 0xdeadbeefu);
    EXPECT_EQ(e.ack, 0x01020304u);
    EXPECT_EQ(e.win, 12345);
    EXPECT_EQ(e.tcp_flags, TCPF_ACK | TCPF_PSH);
    EXPECT_EQ(e.mss, 0);
    EXPECT_EQ(e.wscale, WSCALE_NONE);
    EXPECT_EQ(e.sack_ok, 0);
    EXPECT_EQ(e.has_ts, 0);
    EXPECT_EQ(e.nsack, 0);
    // the key compares equal to one built by hand (padding zero)
    flow_key k;
    flow_key_clear(&k);
    k.src[0] = 10, k.src[3] = 1, k.dst[0] = 10, k.dst[3] = 2;
    k.sport = 51000, k.dport = 443, k.af = 4, k.proto = 6;
    EXPECT_TRUE(flow_key_eq(&k, &e.key));
}

TEST(IpuParse, Tcp6AllFields)
{
    Spec s = fb::tcp4(TCPF_SYN, 0);
    s.ip = 6;
    s.tcp_opts = fb::cat(
        {fb::opt_mss(1440), fb::opt_sack_ok(), fb::opt_ts(111, 0), fb::opt_nop(), fb::opt_ws(7)});
    fb::Frame f = fb::build(s);
    ipu_parse_out o = parse_frame(f);
    ASSERT_TRUE(Processed(o, {EV_TCP_SYN}));
    const event &e = o.ev;
    EXPECT_EQ(e.l3_off, 14);
    EXPECT_EQ(e.l4_off, 54);
    EXPECT_EQ(e.pay_off, 54u + 40u);
    EXPECT_EQ(e.pay_len, 0u);
    EXPECT_EQ(e.key.af, 6);
    EXPECT_EQ(e.key.proto, 6);
    EXPECT_EQ(key_src(e), Bytes(s.src6.begin(), s.src6.end()));
    EXPECT_EQ(key_dst(e), Bytes(s.dst6.begin(), s.dst6.end()));
    EXPECT_EQ(e.mss, 1440);
    EXPECT_EQ(e.sack_ok, 1);
    EXPECT_EQ(e.has_ts, 1);
    EXPECT_EQ(e.ts_val, 111u);
    EXPECT_EQ(e.ts_ecr, 0u);
    EXPECT_EQ(e.wscale, 7);
    EXPECT_EQ(e.frame_len, uint32_t(f.bytes.size()));
}

TEST(IpuParse, Udp4AndUdp6)
{
    for (int v : {4, 6}) {
        Spec s;
        s.ip = v;
        s.proto = 17;
        s.sport = 5353;
        s.dport = 5001;              // not 4791: that is RoCEv2 (test_ipu_roce.cc)
        s.payload = Bytes(33, 0x77); // odd length
        fb::Frame f = fb::build(s);
        ipu_parse_out o = parse_frame(f);
        ASSERT_TRUE(Processed(o, {EV_UDP_DATAGRAM})) << "IPv" << v;
        EXPECT_EQ(o.ev.proto, PROTO_UDP);
        EXPECT_EQ(o.ev.key.proto, 17);
        EXPECT_EQ(o.ev.key.af, v);
        EXPECT_EQ(o.ev.key.sport, 5353);
        EXPECT_EQ(o.ev.key.dport, 5001);
        EXPECT_EQ(o.ev.l4_off, f.l4_off);
        EXPECT_EQ(o.ev.pay_off, f.l4_off + 8);
        EXPECT_EQ(o.ev.pay_len, 33u);
        EXPECT_EQ(o.ev.tcp_flags, 0);
        EXPECT_EQ(o.ev.wscale, WSCALE_NONE);
    }
}

// ---------------------------------------------------------------- event derivation

struct DeriveCase {
    const char *name;
    uint8_t flags;
    size_t payload;
    std::vector<ev_type> want;
};

class IpuDerive : public ::testing::TestWithParam<DeriveCase> {};

TEST_P(IpuDerive, Table)
{
    const DeriveCase &c = GetParam();
    for (int v : {4, 6}) {
        Spec s = fb::tcp4(c.flags, c.payload);
        s.ip = v;
        ipu_parse_out o = parse_spec(s);
        EXPECT_TRUE(Processed(o, c.want)) << c.name << " over IPv" << v;
        EXPECT_EQ(o.ev.proto, PROTO_TCP);
        EXPECT_EQ(o.ev.tcp_flags, c.flags);
        EXPECT_EQ(o.ev.pay_len, c.payload);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Flags, IpuDerive,
    ::testing::Values(
        DeriveCase{"syn", TCPF_SYN, 0, {EV_TCP_SYN}},
        DeriveCase{"syn_data", TCPF_SYN, 10, {EV_TCP_SYN, EV_TCP_DATA}},
        DeriveCase{"syn_data_fin", TCPF_SYN | TCPF_FIN, 10, {EV_TCP_SYN, EV_TCP_DATA, EV_TCP_FIN}},
        DeriveCase{"synack", TCPF_SYN | TCPF_ACK, 0, {EV_TCP_SYNACK}},
        DeriveCase{"synack_data", TCPF_SYN | TCPF_ACK, 5, {EV_TCP_SYNACK, EV_TCP_DATA}},
        DeriveCase{"ack", TCPF_ACK, 0, {EV_TCP_ACK}},
        DeriveCase{"data", TCPF_ACK | TCPF_PSH, 1, {EV_TCP_DATA}},
        DeriveCase{"data_noack", TCPF_PSH, 7, {EV_TCP_DATA}},
        DeriveCase{"data_fin", TCPF_ACK | TCPF_FIN, 100, {EV_TCP_DATA, EV_TCP_FIN}},
        DeriveCase{"fin", TCPF_ACK | TCPF_FIN, 0, {EV_TCP_FIN}},
        DeriveCase{"fin_noack", TCPF_FIN, 0, {EV_TCP_FIN}},
        DeriveCase{"rst", TCPF_RST, 0, {EV_TCP_RST}},
        DeriveCase{"rst_ack_data", TCPF_RST | TCPF_ACK, 20, {EV_TCP_RST}},
        DeriveCase{"rst_syn_fin", TCPF_RST | TCPF_SYN | TCPF_FIN, 3, {EV_TCP_RST}},
        DeriveCase{"none", 0, 0, {EV_OTHER}},
        DeriveCase{"urg_only", TCPF_URG | TCPF_ECE | TCPF_CWR, 0, {EV_OTHER}},
        DeriveCase{"ack_ece", TCPF_ACK | TCPF_ECE, 0, {EV_TCP_ACK}}),
    [](const ::testing::TestParamInfo<DeriveCase> &i) { return std::string(i.param.name); });

// ---------------------------------------------------------------- link layers

TEST(IpuLink, EthernetTruncated)
{
    fb::Frame f = fb::build(fb::tcp4());
    for (size_t n = 0; n < 14; n++) {
        Bytes b(f.bytes.begin(), f.bytes.begin() + long(n));
        EXPECT_TRUE(Dropped(parse_bytes(b, LINK_ETHERNET), DROP_MALFORMED, IPU_CK_L2_SHORT)) << n;
    }
}

TEST(IpuLink, VlanTags)
{
    struct C {
        std::vector<uint16_t> tags;
        uint32_t l3;
    } cases[] = {{{0x8100}, 18}, {{0x88a8}, 18}, {{0x88a8, 0x8100}, 22}, {{0x8100, 0x8100}, 22}};
    for (auto &c : cases) {
        Spec s = fb::tcp4(TCPF_ACK, 10);
        s.vlans = c.tags;
        ipu_parse_out o = parse_spec(s);
        ASSERT_TRUE(Processed(o, {EV_TCP_DATA})) << c.tags.size() << " tags";
        EXPECT_EQ(o.ev.l3_off, c.l3);
        EXPECT_EQ(o.ev.l4_off, c.l3 + 20);
        EXPECT_EQ(o.ev.pay_off, c.l3 + 40);
        EXPECT_EQ(o.ev.key.dport, 80);
    }
    // IPv6 under two tags
    Spec s6 = fb::tcp4(TCPF_ACK, 0);
    s6.ip = 6;
    s6.vlans = {0x88a8, 0x8100};
    ipu_parse_out o6 = parse_spec(s6);
    ASSERT_TRUE(Processed(o6, {EV_TCP_ACK}));
    EXPECT_EQ(o6.ev.l4_off, 22 + 40);
}

TEST(IpuLink, VlanTooDeep)
{
    for (uint16_t third : {0x8100, 0x88a8}) {
        Spec s = fb::tcp4();
        s.vlans = {0x88a8, 0x8100, third};
        EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_VLAN_DEPTH));
    }
    Spec s = fb::tcp4();
    s.vlans = {0x8100, 0x8100, 0x8100};
    EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_VLAN_DEPTH));
}

TEST(IpuLink, VlanTruncated)
{
    Spec s = fb::tcp4();
    s.vlans = {0x8100, 0x8100};
    fb::Frame f = fb::build(s);
    for (size_t n = 14; n < 18; n++) // first tag incomplete
        EXPECT_TRUE(
            Dropped(parse_bytes(Bytes(f.bytes.begin(), f.bytes.begin() + long(n)), LINK_ETHERNET),
                    DROP_MALFORMED, IPU_CK_VLAN_SHORT))
            << n;
    for (size_t n = 18; n < 22; n++) // second tag incomplete
        EXPECT_TRUE(
            Dropped(parse_bytes(Bytes(f.bytes.begin(), f.bytes.begin() + long(n)), LINK_ETHERNET),
                    DROP_MALFORMED, IPU_CK_VLAN_SHORT))
            << n;
    EXPECT_TRUE(Dropped(parse_bytes(Bytes(f.bytes.begin(), f.bytes.begin() + 22), LINK_ETHERNET),
                        DROP_MALFORMED, IPU_CK_IPV4_SHORT));
}

TEST(IpuLink, InnerServiceTagIsNotATag)
{
    // after a C-tag, 0x88a8 is taken as an (unknown) EtherType: OTHER, not a second tag
    Spec s = fb::tcp4();
    s.vlans = {0x8100};
    s.ethertype = 0x88a8;
    ipu_parse_out o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_OTHER}));
    EXPECT_EQ(o.ev.l3_off, 18);
    EXPECT_EQ(o.ev.key.af, 0);
}

TEST(IpuLink, ArpIsOther)
{
    Spec s;
    s.ip = 0;
    s.ethertype = 0x0806;
    s.l3_raw = Bytes(28, 0x11);
    fb::Frame f = fb::build(s);
    ipu_parse_out o = parse_frame(f);
    ASSERT_TRUE(Processed(o, {EV_OTHER}));
    EXPECT_EQ(o.ev.proto, PROTO_OTHER);
    EXPECT_EQ(o.ev.key.af, 0);
    EXPECT_EQ(o.ev.key.proto, 0);
    EXPECT_EQ(key_src(o.ev), Bytes(16, 0));
    EXPECT_EQ(o.ev.l3_off, 14);
    EXPECT_EQ(o.ev.l4_off, 14);
    EXPECT_EQ(o.ev.pay_off, 14u);
    EXPECT_EQ(o.ev.pay_len, 28u);
    EXPECT_EQ(o.ev.chan, CH_NETWORK);
    EXPECT_EQ(o.ev.pkt, 42u);
}

TEST(IpuLink, Sll)
{
    Spec s = fb::tcp4(TCPF_ACK, 12);
    s.link = LINK_SLL;
    ipu_parse_out o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA}));
    EXPECT_EQ(o.ev.l3_off, 16);
    EXPECT_EQ(o.ev.l4_off, 36);
    EXPECT_EQ(o.ev.pay_len, 12u);
    s.ip = 6;
    o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA}));
    EXPECT_EQ(o.ev.l4_off, 56);
    EXPECT_EQ(o.ev.key.af, 6);
    s.ethertype = 0x0806;
    o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_OTHER}));
    EXPECT_EQ(o.ev.pay_off, 16u);
    for (size_t n = 0; n < 16; n++)
        EXPECT_TRUE(Dropped(parse_bytes(Bytes(n, 0), LINK_SLL), DROP_MALFORMED, IPU_CK_L2_SHORT));
}

TEST(IpuLink, Sll2)
{
    Spec s = fb::tcp4(TCPF_ACK, 12);
    s.link = LINK_SLL2;
    ipu_parse_out o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA}));
    EXPECT_EQ(o.ev.l3_off, 20);
    EXPECT_EQ(o.ev.l4_off, 40);
    s.ip = 6;
    o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA}));
    EXPECT_EQ(o.ev.l4_off, 60);
    s.ethertype = 0x88cc; // LLDP
    EXPECT_TRUE(Processed(parse_spec(s), {EV_OTHER}));
    for (size_t n = 0; n < 20; n++)
        EXPECT_TRUE(Dropped(parse_bytes(Bytes(n, 0), LINK_SLL2), DROP_MALFORMED, IPU_CK_L2_SHORT));
}

TEST(IpuLink, Raw)
{
    Spec s = fb::tcp4(TCPF_ACK, 3);
    s.link = LINK_RAW;
    ipu_parse_out o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA}));
    EXPECT_EQ(o.ev.l3_off, 0);
    EXPECT_EQ(o.ev.l4_off, 20);
    EXPECT_EQ(o.ev.pay_off, 40u);
    s.ip = 6;
    o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA}));
    EXPECT_EQ(o.ev.l4_off, 40);
    EXPECT_EQ(o.ev.key.af, 6);
    // neither 4 nor 6: OTHER
    Bytes b = fb::build(fb::tcp4()).bytes;
    b.erase(b.begin(), b.begin() + 14);
    b[0] = 0x55;
    o = parse_bytes(b, LINK_RAW);
    ASSERT_TRUE(Processed(o, {EV_OTHER}));
    EXPECT_EQ(o.ev.key.af, 0);
    EXPECT_EQ(o.ev.pay_len, uint32_t(b.size()));
    EXPECT_TRUE(Dropped(parse_bytes(Bytes(), LINK_RAW), DROP_MALFORMED, IPU_CK_L2_SHORT));
    EXPECT_TRUE(Dropped(parse_bytes(Bytes{0x45}, LINK_RAW), DROP_MALFORMED, IPU_CK_IPV4_SHORT));
    EXPECT_TRUE(Dropped(parse_bytes(Bytes{0x60}, LINK_RAW), DROP_MALFORMED, IPU_CK_IPV6_SHORT));
}

TEST(IpuLink, NullBothByteOrders)
{
    for (bool be : {false, true}) {
        Spec s = fb::tcp4(TCPF_ACK, 9);
        s.link = LINK_NULL;
        s.null_big_endian = be;
        ipu_parse_out o = parse_spec(s);
        ASSERT_TRUE(Processed(o, {EV_TCP_DATA})) << "v4 be=" << be;
        EXPECT_EQ(o.ev.l3_off, 4);
        EXPECT_EQ(o.ev.l4_off, 24);
        EXPECT_EQ(o.ev.key.af, 4);
        for (uint32_t fam : {24u, 28u, 30u}) {
            s.ip = 6;
            s.null_family = fam;
            o = parse_spec(s);
            ASSERT_TRUE(Processed(o, {EV_TCP_DATA})) << "v6 family " << fam << " be=" << be;
            EXPECT_EQ(o.ev.l4_off, 44);
            EXPECT_EQ(o.ev.key.af, 6);
        }
        // unknown family: processed as OTHER, counted under its own check
        s.null_family = 7;
        o = parse_spec(s);
        ASSERT_TRUE(Processed(o, {EV_OTHER}, IPU_CK_NULL_FAMILY)) << "be=" << be;
        EXPECT_EQ(o.ev.key.af, 0);
        EXPECT_EQ(o.ev.l3_off, 4);
        EXPECT_EQ(o.ev.pay_off, 4u);
    }
    for (size_t n = 0; n < 4; n++)
        EXPECT_TRUE(Dropped(parse_bytes(Bytes(n, 2), LINK_NULL), DROP_MALFORMED, IPU_CK_L2_SHORT));
}

TEST(IpuLink, UnknownLinkTypeIsMalformed)
{
    fb::Frame f = fb::build(fb::tcp4());
    EXPECT_TRUE(Dropped(parse_bytes(f.bytes, LINK_COUNT), DROP_MALFORMED, IPU_CK_L2_SHORT));
    EXPECT_TRUE(Dropped(parse_bytes(f.bytes, 200), DROP_MALFORMED, IPU_CK_L2_SHORT));
}

TEST(IpuLink, CaptureTruncated)
{
    fb::Frame f = fb::build(fb::tcp4(TCPF_ACK, 100));
    pkt p = f.as_pkt();
    p.len = p.caplen + 1;
    ipu_parse_out o;
    ipu_parse(&p, true, &o);
    EXPECT_TRUE(Dropped(o, DROP_CAPTURE_TRUNCATED, IPU_CK_CAPLEN));
    p.caplen = 0; // even with no bytes at all
    p.data = nullptr;
    ipu_parse(&p, true, &o);
    EXPECT_TRUE(Dropped(o, DROP_CAPTURE_TRUNCATED, IPU_CK_CAPLEN));
}

// ---------------------------------------------------------------- IPv4

TEST(IpuIpv4, EthernetPaddingIgnored)
{
    Spec s = fb::tcp4(TCPF_ACK, 0); // 54 bytes, padded to the 60-byte minimum
    s.eth_pad = 6;
    fb::Frame f = fb::build(s);
    ASSERT_EQ(f.bytes.size(), 60u);
    ipu_parse_out o = parse_frame(f);
    ASSERT_TRUE(Processed(o, {EV_TCP_ACK})); // no DATA: payload length comes from the IP length
    EXPECT_EQ(o.ev.pay_len, 0u);
    EXPECT_EQ(o.ev.frame_len, 60u);
}

TEST(IpuIpv4, TotalLengthShorterThanFrameCountsPayloadByIp)
{
    Spec s = fb::tcp4(TCPF_ACK, 30);
    fb::Frame f = fb::build(s);
    s.totlen = 20 + 20 + 10; // the last 20 payload bytes are trailer; checksum covers 10
    Spec good = s;
    good.payload.resize(10);
    fb::Frame g = fb::build(good);
    g.bytes.resize(f.bytes.size(), 0xee);
    ipu_parse_out o = parse_frame(g);
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA}));
    EXPECT_EQ(o.ev.pay_len, 10u);
}

TEST(IpuIpv4, Options)
{
    Spec s = fb::tcp4(TCPF_ACK, 4);
    s.ip_opt_words = 3;
    ipu_parse_out o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA}));
    EXPECT_EQ(o.ev.l4_off, 14 + 32);
    EXPECT_EQ(o.ev.pay_off, 14u + 32u + 20u);
    EXPECT_EQ(o.ev.pay_len, 4u);
}

TEST(IpuIpv4, Malformed)
{
    { // fewer than 20 bytes after the link header
        fb::Frame f = fb::build(fb::tcp4());
        f.bytes.resize(14 + 19);
        EXPECT_TRUE(Dropped(parse_frame(f), DROP_MALFORMED, IPU_CK_IPV4_SHORT));
    }
    for (uint8_t v : {0, 5, 6, 15}) {
        Spec s = fb::tcp4();
        s.version = v;
        EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_IPV4_VERSION)) << int(v);
    }
    for (uint8_t ihl : {0, 1, 4}) {
        Spec s = fb::tcp4();
        s.ihl = ihl;
        EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_IPV4_IHL)) << int(ihl);
    }
    { // header (60 bytes) longer than the total length (40)
        Spec s = fb::tcp4();
        s.ihl = 15;
        s.totlen = 40;
        s.payload.resize(40); // enough bytes in the frame
        EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_IPV4_IHL));
    }
    { // total length past the frame, by one byte
        Spec s = fb::tcp4(TCPF_ACK, 10);
        s.totlen = 51;
        EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_IPV4_TOTLEN));
        s.totlen = 50;
        EXPECT_TRUE(Processed(parse_spec(s), {EV_TCP_DATA}));
    }
}

TEST(IpuIpv4, HeaderChecksum)
{
    Spec s = fb::tcp4(TCPF_ACK, 10);
    s.bad_ip_csum = true;
    EXPECT_TRUE(Dropped(parse_spec(s, true), DROP_BAD_CHECKSUM, IPU_CK_IPV4_CSUM));
    EXPECT_TRUE(Processed(parse_spec(s, false), {EV_TCP_DATA}));
    s.ip_opt_words = 10; // checksum over a 60-byte header
    EXPECT_TRUE(Dropped(parse_spec(s, true), DROP_BAD_CHECKSUM, IPU_CK_IPV4_CSUM));
    s.bad_ip_csum = false;
    EXPECT_TRUE(Processed(parse_spec(s, true), {EV_TCP_DATA}));
}

TEST(IpuIpv4, Fragments)
{
    struct C {
        const char *name;
        uint16_t frag;
    } cases[] = {
        {"first", 0x2000}, {"middle", 0x2000 | 185}, {"last", 185}, {"last_df", 0x4000 | 1}};
    for (auto &c : cases) {
        Spec s = fb::tcp4(TCPF_ACK, 10);
        s.frag = c.frag;
        EXPECT_TRUE(Dropped(parse_spec(s), DROP_IP_FRAGMENT, IPU_CK_IPV4_FRAG)) << c.name;
        EXPECT_TRUE(Dropped(parse_spec(s, false), DROP_IP_FRAGMENT, IPU_CK_IPV4_FRAG)) << c.name;
    }
    Spec s = fb::tcp4(TCPF_ACK, 10);
    s.frag = 0; // no DF
    EXPECT_TRUE(Processed(parse_spec(s), {EV_TCP_DATA}));
    s.frag = 0x8000; // reserved bit: not a fragment
    EXPECT_TRUE(Processed(parse_spec(s), {EV_TCP_DATA}));
}

TEST(IpuIpv4, OtherProtocolIcmp)
{
    Spec s;
    s.proto = 1;
    s.l4_raw = {8, 0, 0xf7, 0xff, 0, 0, 0, 0};
    fb::Frame f = fb::build(s);
    ipu_parse_out o = parse_frame(f);
    ASSERT_TRUE(Processed(o, {EV_OTHER}));
    EXPECT_EQ(o.ev.proto, PROTO_OTHER);
    EXPECT_EQ(o.ev.key.af, 4);
    EXPECT_EQ(o.ev.key.proto, 1);
    EXPECT_EQ(o.ev.key.sport, 0);
    EXPECT_EQ(o.ev.key.dport, 0);
    EXPECT_EQ(key_src(o.ev), ip4(10, 0, 0, 1));
    EXPECT_EQ(key_dst(o.ev), ip4(10, 0, 0, 2));
    EXPECT_EQ(o.ev.l4_off, 34);
    EXPECT_EQ(o.ev.pay_off, 34u);
    EXPECT_EQ(o.ev.pay_len, 8u);
    s.ip = 6;
    s.proto = 58;
    o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_OTHER}));
    EXPECT_EQ(o.ev.key.proto, 58);
    EXPECT_EQ(o.ev.key.af, 6);
}

// ---------------------------------------------------------------- IPv6

TEST(IpuIpv6, Malformed)
{
    {
        fb::Frame f = fb::build([] {
            Spec s;
            s.ip = 6;
            return s;
        }());
        f.bytes.resize(14 + 39);
        EXPECT_TRUE(Dropped(parse_frame(f), DROP_MALFORMED, IPU_CK_IPV6_SHORT));
    }
    for (uint8_t v : {4, 0, 7}) {
        Spec s;
        s.ip = 6;
        s.version = v;
        EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_IPV6_VERSION)) << int(v);
    }
    {
        Spec s = fb::tcp4(TCPF_ACK, 10);
        s.ip = 6;
        s.plen = 31; // one past the frame
        EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_IPV6_PLEN));
    }
}

TEST(IpuIpv6, HopByHopRoutingDestOptions)
{
    Spec s = fb::tcp4(TCPF_ACK, 5);
    s.ip = 6;
    s.ext = {{0, Bytes(6, 0), {}}, {43, Bytes(14, 0), {}}, {60, Bytes(20, 1), {}}};
    // 8 + 16 + 24 bytes of extension headers
    fb::Frame f = fb::build(s);
    ipu_parse_out o = parse_frame(f);
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA}));
    EXPECT_EQ(o.ev.l4_off, 14 + 40 + 48);
    EXPECT_EQ(o.ev.pay_off, 14u + 40 + 48 + 20);
    EXPECT_EQ(o.ev.pay_len, 5u);
    EXPECT_EQ(o.ev.key.proto, 6);
    // UDP behind the same chain
    s.proto = 17;
    o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_UDP_DATAGRAM}));
    EXPECT_EQ(o.ev.l4_off, 14 + 40 + 48);
    // no transport at all (next header 59) behind a dest-options header
    s.ext = {{60, Bytes(6, 0), {}}};
    s.proto = 59;
    s.l4_raw = {};
    o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_OTHER}));
    EXPECT_EQ(o.ev.key.proto, 59);
    EXPECT_EQ(o.ev.pay_len, 0u);
}

TEST(IpuIpv6, ExtensionOverrun)
{
    Spec s = fb::tcp4(TCPF_ACK, 0);
    s.ip = 6;
    s.ext = {{60, Bytes(6, 0), uint8_t(3)}}; // claims 32 bytes, the payload has 8 + 20
    EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_IPV6_EXT));
    s.ext = {{60, Bytes(6, 0), uint8_t(2)}}; // claims 24 of the 28: fits, leaves 4 for TCP
    EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_TCP_SHORT));
    // a header whose two first bytes are missing: payload length 0 but next header routing
    Spec z;
    z.ip = 6;
    z.proto = 43;
    z.l4_raw = {};
    z.plen = 0;
    EXPECT_TRUE(Dropped(parse_spec(z), DROP_MALFORMED, IPU_CK_IPV6_EXT));
    // the overrun is judged against the payload length, not the frame's bytes
    Spec p = fb::tcp4(TCPF_ACK, 0);
    p.ip = 6;
    p.ext = {{0, Bytes(6, 0), {}}};
    p.plen = 7;
    p.eth_pad = 100;
    EXPECT_TRUE(Dropped(parse_spec(p), DROP_MALFORMED, IPU_CK_IPV6_EXT));
}

TEST(IpuIpv6, FragmentHeader)
{
    Spec s = fb::tcp4(TCPF_ACK, 10);
    s.ip = 6;
    s.ext = {{44, {0, 1, 0, 0, 0, 7}, {}}};
    EXPECT_TRUE(Dropped(parse_spec(s), DROP_IP_FRAGMENT, IPU_CK_IPV6_FRAG));
    s.ext = {{0, Bytes(6, 0), {}}, {44, {0, 0, 0, 0, 0, 7}, {}}}; // after hop-by-hop
    EXPECT_TRUE(Dropped(parse_spec(s), DROP_IP_FRAGMENT, IPU_CK_IPV6_FRAG));
}

TEST(IpuIpv6, JumboPayload)
{
    Spec s = fb::tcp4(TCPF_ACK, 70000);
    s.ip = 6;
    s.jumbo = true;
    fb::Frame f = fb::build(s);
    ASSERT_EQ(f.bytes.size(), 14u + 40 + 8 + 20 + 70000);
    ipu_parse_out o = parse_frame(f);
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA})); // checksum with a 32-bit pseudo-header length
    EXPECT_EQ(o.ev.l4_off, 14 + 48);
    EXPECT_EQ(o.ev.pay_off, 14u + 48 + 20);
    EXPECT_EQ(o.ev.pay_len, 70000u);

    s.jumbo_len = 8 + 20 + 70000 + 1; // one past the frame
    EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_IPV6_PLEN));
    s.jumbo_len = 65535; // a jumbo length must exceed 65535
    EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_IPV6_PLEN));

    Spec w = s; // option with a wrong length
    w.jumbo = false;
    w.jumbo_len.reset();
    w.plen = 0;
    w.ext = {{0, {0xc2, 3, 0, 1, 0x11, 0}, {}}};
    EXPECT_TRUE(Dropped(parse_spec(w), DROP_MALFORMED, IPU_CK_IPV6_PLEN));
    w.ext = {{0, {1, 4, 0, 0, 0, 0}, {}}}; // PadN only: no jumbo, payload length 0 -> overrun
    EXPECT_TRUE(Dropped(parse_spec(w), DROP_MALFORMED, IPU_CK_IPV6_EXT));
    w.ext = {{0, {1, 9, 0, 0, 0, 0}, {}}}; // an option overrunning the hop-by-hop header
    EXPECT_TRUE(Dropped(parse_spec(w), DROP_MALFORMED, IPU_CK_IPV6_EXT));

    Spec small = fb::tcp4(TCPF_ACK, 10); // a non-zero payload length ignores the option
    small.ip = 6;
    small.ext = {{0, {0xc2, 4, 0, 1, 0, 0}, {}}};
    o = parse_spec(small);
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA}));
    EXPECT_EQ(o.ev.pay_len, 10u);
}

// ---------------------------------------------------------------- TCP

TEST(IpuTcp, ShortAndDataOffset)
{
    Spec s = fb::tcp4(TCPF_ACK, 40);
    s.totlen = 20 + 19;
    EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_TCP_SHORT));
    for (uint8_t d : {0, 4}) {
        Spec t = fb::tcp4(TCPF_ACK, 40);
        t.doff = d;
        EXPECT_TRUE(Dropped(parse_spec(t), DROP_MALFORMED, IPU_CK_TCP_DOFF)) << int(d);
    }
    Spec t = fb::tcp4(TCPF_ACK, 7); // 27 bytes of segment; doff 7 = 28 bytes
    t.doff = 7;
    EXPECT_TRUE(Dropped(parse_spec(t), DROP_MALFORMED, IPU_CK_TCP_DOFF));
    t.payload.resize(8);    // exactly 28 bytes: all header, no payload
    t.payload.assign(8, 1); // NOPs as options
    ipu_parse_out o = parse_spec(t);
    ASSERT_TRUE(Processed(o, {EV_TCP_ACK}));
    EXPECT_EQ(o.ev.pay_len, 0u);
    EXPECT_EQ(o.ev.pay_off, 14u + 20 + 28);
    Spec m = fb::tcp4(TCPF_ACK, 0);
    m.doff = 15;
    EXPECT_TRUE(Dropped(parse_spec(m), DROP_MALFORMED, IPU_CK_TCP_DOFF));
}

TEST(IpuTcp, SynOptions)
{
    Spec s = fb::tcp4(TCPF_SYN, 0);
    s.tcp_opts = fb::cat({fb::opt_mss(1460), fb::opt_sack_ok(), fb::opt_ts(0x11223344, 0x55667788),
                          fb::opt_nop(), fb::opt_ws(9)});
    ipu_parse_out o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_TCP_SYN}));
    EXPECT_EQ(o.ev.mss, 1460);
    EXPECT_EQ(o.ev.sack_ok, 1);
    EXPECT_EQ(o.ev.has_ts, 1);
    EXPECT_EQ(o.ev.ts_val, 0x11223344u);
    EXPECT_EQ(o.ev.ts_ecr, 0x55667788u);
    EXPECT_EQ(o.ev.wscale, 9);
    EXPECT_EQ(o.ev.nsack, 0);
    EXPECT_EQ(o.ev.pay_off, 14u + 20 + 40);
}

TEST(IpuTcp, WindowScaleClampedTo14)
{
    for (uint8_t sh : {0, 14, 15, 255}) {
        Spec s = fb::tcp4(TCPF_SYN | TCPF_ACK, 0);
        s.tcp_opts = fb::opt_ws(sh);
        ipu_parse_out o = parse_spec(s);
        ASSERT_TRUE(Processed(o, {EV_TCP_SYNACK}));
        EXPECT_EQ(o.ev.wscale, sh > 14 ? 14 : sh) << int(sh);
    }
}

TEST(IpuTcp, SackBlocks)
{
    for (unsigned n = 1; n <= 4; n++) {
        std::vector<std::pair<uint32_t, uint32_t>> bl;
        for (unsigned i = 0; i < n; i++)
            bl.push_back({0x10000000u * (i + 1) + i, 0xf0000000u - i * 77});
        Spec s = fb::tcp4(TCPF_ACK, 0);
        s.tcp_opts = fb::cat({fb::opt_nop(), fb::opt_nop(), fb::opt_sack(bl)});
        ipu_parse_out o = parse_spec(s);
        ASSERT_TRUE(Processed(o, {EV_TCP_ACK})) << n << " blocks";
        ASSERT_EQ(o.ev.nsack, n);
        for (unsigned i = 0; i < n; i++) {
            EXPECT_EQ(o.ev.sack[i][0], bl[i].first);
            EXPECT_EQ(o.ev.sack[i][1], bl[i].second);
        }
        for (unsigned i = n; i < EV_MAX_SACK; i++) {
            EXPECT_EQ(o.ev.sack[i][0], 0u);
            EXPECT_EQ(o.ev.sack[i][1], 0u);
        }
    }
    // SACK beside timestamps (the usual layout: 3 blocks fit)
    Spec s = fb::tcp4(TCPF_ACK, 100);
    s.tcp_opts = fb::cat({fb::opt_nop(), fb::opt_nop(), fb::opt_ts(5, 6), fb::opt_nop(),
                          fb::opt_nop(), fb::opt_sack({{1, 2}, {3, 4}, {5, 6}})});
    ipu_parse_out o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA}));
    EXPECT_EQ(o.ev.nsack, 3);
    EXPECT_EQ(o.ev.sack[2][1], 6u);
    EXPECT_EQ(o.ev.ts_val, 5u);
    EXPECT_EQ(o.ev.ts_ecr, 6u);
}

TEST(IpuTcp, OptionsMalformed)
{
    struct C {
        const char *name;
        Bytes opts;
    } cases[] = {
        {"kind_without_length", {1, 1, 1, 8}},
        {"length_overruns", {1, 1, 8, 10}},
        {"length_overruns_by_one", fb::cat({fb::opt_raw(30, 5, {1, 2})})}, // padded to 4: len 5 > 4
        {"length_0", {30, 0, 1, 1}},
        {"length_1", {30, 1, 1, 1}},
        {"mss_len_3", {2, 3, 5, 1}},
        {"mss_len_6", {2, 6, 5, 0xb4, 1, 1}},
        {"ws_len_2", {3, 2, 1, 1}},
        {"ws_len_4", {3, 4, 7, 1}},
        {"sackok_len_3", {4, 3, 0, 1}},
        {"sack_len_2", {5, 2, 1, 1}},
        {"sack_len_9", fb::opt_raw(5, 9, Bytes(7, 0))},
        {"sack_len_11", fb::opt_raw(5, 11, Bytes(9, 0))},
        {"ts_len_8", fb::opt_raw(8, 8, Bytes(6, 0))},
        {"ts_len_12", fb::opt_raw(8, 12, Bytes(10, 0))},
    };
    for (auto &c : cases) {
        Spec s = fb::tcp4(TCPF_ACK, 10);
        s.tcp_opts = c.opts;
        EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_TCP_OPT)) << c.name;
        EXPECT_TRUE(Dropped(parse_spec(s, false), DROP_MALFORMED, IPU_CK_TCP_OPT)) << c.name;
    }
}

TEST(IpuTcp, OptionsSkippedAndEnded)
{
    Spec s = fb::tcp4(TCPF_SYN, 0);
    // unknown kinds with valid lengths are skipped
    s.tcp_opts = fb::cat({fb::opt_raw(30, 6, {1, 2, 3, 4}), fb::opt_raw(254, 2), fb::opt_mss(536)});
    ipu_parse_out o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_TCP_SYN}));
    EXPECT_EQ(o.ev.mss, 536);
    // end of list: whatever follows is not parsed, even garbage
    s.tcp_opts = fb::cat({fb::opt_mss(1000), fb::opt_eol(), {2, 99, 8, 1}});
    o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_TCP_SYN}));
    EXPECT_EQ(o.ev.mss, 1000);
    EXPECT_EQ(o.ev.has_ts, 0);
    // a 40-byte option area of NOPs
    s.tcp_opts = Bytes(40, 1);
    o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_TCP_SYN}));
    EXPECT_EQ(o.ev.mss, 0);
    EXPECT_EQ(o.ev.pay_off, 14u + 20 + 60);
}

TEST(IpuTcp, Checksum)
{
    for (int v : {4, 6})
        for (size_t pay : {0, 1, 2, 999}) {
            Spec s = fb::tcp4(TCPF_ACK, pay);
            s.ip = v;
            s.bad_l4_csum = true;
            EXPECT_TRUE(Dropped(parse_spec(s), DROP_BAD_CHECKSUM, IPU_CK_TCP_CSUM))
                << v << " " << pay;
            EXPECT_EQ(parse_spec(s, false).drop, -1);
            s.bad_l4_csum = false;
            EXPECT_EQ(parse_spec(s).drop, -1) << v << " " << pay;
        }
    // one flipped payload bit is caught
    fb::Frame f = fb::build(fb::tcp4(TCPF_ACK, 101));
    f.bytes.back() ^= 0x10;
    EXPECT_TRUE(Dropped(parse_frame(f), DROP_BAD_CHECKSUM, IPU_CK_TCP_CSUM));
    // the pseudo-header counts: the same segment under another source address fails
    Spec s = fb::tcp4(TCPF_ACK, 10);
    fb::Frame a = fb::build(s);
    s.src4 = {10, 0, 0, 3};
    fb::Frame g = fb::build(s); // valid IPv4 header for 10.0.0.3 ...
    std::copy(a.bytes.begin() + 34, a.bytes.end(), g.bytes.begin() + 34); // ... A's segment
    EXPECT_TRUE(Dropped(parse_frame(g), DROP_BAD_CHECKSUM, IPU_CK_TCP_CSUM));
    EXPECT_TRUE(Processed(parse_frame(g, false), {EV_TCP_DATA}));
}

// The transport checksum adds the pseudo-header's words into the segment's sum: at every payload
// length (across the 64-byte blocks of the sum) a good segment passes and a flipped payload or
// address bit is caught, TCP and UDP, IPv4 and IPv6.
TEST(IpuTcp, ChecksumWithPseudoHeaderAtEveryLength)
{
    for (int v : {4, 6})
        for (int proto : {6, 17})
            for (size_t pay = 0; pay <= 200; pay++) {
                Spec s = fb::tcp4(TCPF_ACK, pay);
                if (proto == 17) {
                    s = Spec();
                    s.proto = 17;
                    s.payload = Bytes(pay, static_cast<uint8_t>(pay * 37 + 1));
                }
                s.ip = v;
                fb::Frame f = fb::build(s);
                const ipu_check ck = proto == 6 ? IPU_CK_TCP_CSUM : IPU_CK_UDP_CSUM;
                ASSERT_EQ(parse_frame(f).drop, -1) << v << " " << proto << " " << pay;
                if (pay > 0) {
                    fb::Frame g = f;
                    g.bytes.back() ^= 0x01;
                    ASSERT_TRUE(Dropped(parse_frame(g), DROP_BAD_CHECKSUM, ck))
                        << v << " " << proto << " " << pay;
                }
                if (v == 6) { // no header checksum: the pseudo-header alone catches it
                    fb::Frame g = f;
                    g.bytes[14 + 24 + 15] ^= 0x80; // last byte of the destination address
                    ASSERT_TRUE(Dropped(parse_frame(g), DROP_BAD_CHECKSUM, ck))
                        << proto << " " << pay;
                }
            }
}

// ---------------------------------------------------------------- UDP

TEST(IpuUdp, LengthChecks)
{
    Spec s;
    s.proto = 17;
    s.payload = Bytes(10, 3);
    s.totlen = 20 + 7;
    EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_UDP_SHORT));
    s.totlen.reset();
    for (uint16_t ul : {0, 7}) {
        s.udp_len = ul;
        EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_UDP_LEN)) << ul;
    }
    s.udp_len = 19; // datagram is 18
    EXPECT_TRUE(Dropped(parse_spec(s), DROP_MALFORMED, IPU_CK_UDP_LEN));
    s.udp_len = 12; // shorter than the IP payload: the rest is ignored
    ipu_parse_out o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_UDP_DATAGRAM}));
    EXPECT_EQ(o.ev.pay_len, 4u);
    s.udp_len = 8; // empty datagram
    o = parse_spec(s);
    ASSERT_TRUE(Processed(o, {EV_UDP_DATAGRAM}));
    EXPECT_EQ(o.ev.pay_len, 0u);
    EXPECT_EQ(o.ev.pay_off, 14u + 20 + 8);
}

TEST(IpuUdp, Checksum)
{
    for (int v : {4, 6}) {
        Spec s;
        s.ip = v;
        s.proto = 17;
        s.payload = Bytes(21, 0x9c);
        s.bad_l4_csum = true;
        EXPECT_TRUE(Dropped(parse_spec(s), DROP_BAD_CHECKSUM, IPU_CK_UDP_CSUM)) << v;
        EXPECT_TRUE(Processed(parse_spec(s, false), {EV_UDP_DATAGRAM})) << v;
        s.bad_l4_csum = false;
        EXPECT_TRUE(Processed(parse_spec(s), {EV_UDP_DATAGRAM})) << v;
        s.udp_zero_csum = true;
        if (v == 4)
            EXPECT_TRUE(Processed(parse_spec(s), {EV_UDP_DATAGRAM})); // "no checksum"
        else
            EXPECT_TRUE(Dropped(parse_spec(s), DROP_BAD_CHECKSUM, IPU_CK_UDP_CSUM));
        EXPECT_TRUE(Processed(parse_spec(s, false), {EV_UDP_DATAGRAM})) << v;
    }
}

TEST(IpuUdp, ComputedZeroSentAsAllOnes)
{
    // find a payload whose checksum computes to 0 and is therefore sent as ffff
    for (uint32_t x = 0; x < 0x10000; x++) {
        Spec s;
        s.proto = 17;
        s.payload = {uint8_t(x >> 8), uint8_t(x)};
        fb::Frame f = fb::build(s);
        if (f.bytes[14 + 20 + 6] == 0xff && f.bytes[14 + 20 + 7] == 0xff) {
            EXPECT_TRUE(Processed(parse_frame(f), {EV_UDP_DATAGRAM}));
            return;
        }
    }
    FAIL() << "no payload gave an all-ones checksum";
}

// ---------------------------------------------------------------- robustness

namespace {

bool sane(const ipu_parse_out &o, uint32_t caplen)
{
    if (o.drop >= 0)
        return o.drop < DROP_REASON_COUNT && o.nev == 0 && o.check != IPU_CK_OK &&
               o.check < IPU_CK_COUNT;
    if (o.drop != -1 || o.nev < 1 || o.nev > IPU_MAX_EVENTS)
        return false;
    if (o.check != IPU_CK_OK && o.check != IPU_CK_NULL_FAMILY)
        return false;
    for (unsigned i = 0; i < o.nev; i++)
        if (o.types[i] >= EV_TYPE_COUNT)
            return false;
    const event &e = o.ev;
    return e.frame_len == caplen && e.l3_off <= e.l4_off && e.l4_off <= e.pay_off &&
           e.pay_off <= caplen && e.pay_len <= caplen - e.pay_off && e.sp_handle == SP_NONE &&
           e.nsack <= EV_MAX_SACK && (e.wscale == WSCALE_NONE || e.wscale <= 14);
}

std::vector<fb::Frame> corpus()
{
    std::vector<fb::Frame> v;
    for (uint8_t link : {LINK_ETHERNET, LINK_SLL, LINK_SLL2, LINK_RAW, LINK_NULL})
        for (int ip : {4, 6}) {
            Spec s = fb::tcp4(TCPF_ACK | TCPF_FIN, 50);
            s.link = link;
            s.ip = ip;
            s.tcp_opts =
                fb::cat({fb::opt_nop(), fb::opt_nop(), fb::opt_ts(1, 2), fb::opt_sack({{10, 20}})});
            if (ip == 6)
                s.ext = {{0, Bytes(6, 0), {}}, {60, Bytes(14, 0), {}}};
            else
                s.ip_opt_words = 1;
            if (link == LINK_ETHERNET)
                s.vlans = {0x88a8, 0x8100};
            v.push_back(fb::build(s));
            s.proto = 17;
            v.push_back(fb::build(s));
        }
    return v;
}

} // namespace

TEST(IpuRobust, EveryPrefixOfValidFrames)
{
    for (const fb::Frame &f : corpus()) {
        ASSERT_EQ(parse_frame(f).drop, -1);
        const uint32_t n = uint32_t(f.bytes.size());
        for (uint32_t k = 0; k <= n; k++) {
            // a copy of exactly k bytes, so that ASan sees any read past the prefix
            std::vector<uint8_t> b(f.bytes.begin(), f.bytes.begin() + k);
            pkt p{b.empty() ? nullptr : b.data(), k, k, f.link, 0, 0};
            ipu_parse_out o;
            ipu_parse(&p, true, &o);
            ASSERT_TRUE(sane(o, k)) << "link " << int(f.link) << " k " << k << ": " << describe(o);
            if (k < n) {
                // every byte belongs to the IP packet, so any proper prefix past the link
                // header is too short for the IP length: dropped as malformed
                EXPECT_EQ(o.drop, DROP_MALFORMED) << "k " << k << ": " << describe(o);
                // and with the true wire length it is a truncated capture
                p.len = n;
                ipu_parse(&p, true, &o);
                EXPECT_TRUE(Dropped(o, DROP_CAPTURE_TRUNCATED, IPU_CK_CAPLEN));
            } else {
                EXPECT_EQ(o.drop, -1);
            }
        }
    }
}

TEST(IpuRobust, PrefixChecksAreExact)
{
    Spec s = fb::tcp4(TCPF_ACK, 26); // 14 + 20 + 20 + 26 = 80 bytes
    fb::Frame f = fb::build(s);
    ASSERT_EQ(f.bytes.size(), 80u);
    for (uint32_t k = 0; k < 80; k++) {
        std::vector<uint8_t> b(f.bytes.begin(), f.bytes.begin() + k);
        ipu_parse_out o = parse_bytes(b, LINK_ETHERNET);
        ipu_check want = k < 14 ? IPU_CK_L2_SHORT : k < 34 ? IPU_CK_IPV4_SHORT : IPU_CK_IPV4_TOTLEN;
        EXPECT_TRUE(Dropped(o, DROP_MALFORMED, want)) << k;
    }
    s.ip = 6;
    f = fb::build(s);
    for (uint32_t k = 0; k < f.bytes.size(); k++) {
        std::vector<uint8_t> b(f.bytes.begin(), f.bytes.begin() + k);
        ipu_parse_out o = parse_bytes(b, LINK_ETHERNET);
        ipu_check want = k < 14 ? IPU_CK_L2_SHORT : k < 54 ? IPU_CK_IPV6_SHORT : IPU_CK_IPV6_PLEN;
        EXPECT_TRUE(Dropped(o, DROP_MALFORMED, want)) << k;
    }
}

TEST(IpuRobust, RandomBytes)
{
    std::mt19937_64 rng(20240229);
    unsigned processed = 0, dropped = 0;
    for (int i = 0; i < 4000; i++) {
        size_t n = rng() % 160;
        std::vector<uint8_t> b(n);
        for (auto &x : b)
            x = uint8_t(rng());
        // bias the first bytes towards something parseable now and then
        uint8_t link = uint8_t(rng() % (LINK_COUNT + 1));
        if (n > 20 && rng() % 2) {
            size_t at = link == LINK_ETHERNET ? 12 : link == LINK_SLL ? 14 : 0;
            if (link == LINK_ETHERNET || link == LINK_SLL || link == LINK_SLL2) {
                b[at] = rng() % 2 ? 0x08 : 0x86;
                b[at + 1] = b[at] == 0x08 ? 0x00 : 0xdd;
            }
        }
        pkt p{b.empty() ? nullptr : b.data(), uint32_t(n), uint32_t(n), link, uint64_t(i), 0};
        ipu_parse_out o;
        ipu_parse(&p, (rng() & 1) != 0, &o);
        ASSERT_TRUE(sane(o, uint32_t(n))) << i << ": " << describe(o);
        (o.drop < 0 ? processed : dropped)++;
    }
    EXPECT_EQ(processed + dropped, 4000u);
    EXPECT_GT(processed, 0u);
    EXPECT_GT(dropped, 0u);
}

TEST(IpuRobust, MutatedValidFrames)
{
    std::mt19937_64 rng(7);
    std::vector<fb::Frame> base = corpus();
    unsigned processed = 0;
    for (int i = 0; i < 6000; i++) {
        const fb::Frame &f = base[rng() % base.size()];
        std::vector<uint8_t> b = f.bytes;
        int flips = 1 + int(rng() % 4);
        for (int k = 0; k < flips; k++) {
            // mostly in the headers, where the parser looks
            size_t at = rng() % std::min<size_t>(b.size(), 120);
            b[at] = uint8_t(rng());
        }
        if (rng() % 4 == 0)
            b.resize(rng() % (b.size() + 1));
        pkt p{b.empty() ? nullptr : b.data(), uint32_t(b.size()), uint32_t(b.size()), f.link, 0, 0};
        ipu_parse_out o;
        ipu_parse(&p, (rng() & 1) != 0, &o);
        ASSERT_TRUE(sane(o, uint32_t(b.size()))) << i << ": " << describe(o);
        processed += o.drop < 0;
    }
    EXPECT_GT(processed, 0u);
}

TEST(IpuParse, StartsFromAClearedEvent)
{
    // the parser's own clearing must leave exactly the bytes event_clear() leaves
    std::vector<uint8_t> junk(200, 0x5c);
    pkt p{junk.data(), 100, 200, LINK_ETHERNET, 77, 999};
    ipu_parse_out o;
    memset(&o, 0xa5, sizeof o);
    ipu_parse(&p, true, &o);
    ASSERT_TRUE(Dropped(o, DROP_CAPTURE_TRUNCATED, IPU_CK_CAPLEN));
    event want;
    memset(&want, 0x33, sizeof want);
    event_clear(&want);
    want.chan = CH_NETWORK;
    want.cls = EVC_RECEIVE;
    want.proto = PROTO_OTHER;
    want.pkt = 77;
    want.t_arrival = 999;
    want.frame_len = 100;
    EXPECT_EQ(memcmp(&o.ev, &want, sizeof want), 0);
    EXPECT_EQ(o.types[0] | o.types[1] | o.types[2], 0);
}

TEST(IpuParse, CheckNames)
{
    EXPECT_STREQ(ipu_check_name(IPU_CK_OK), "ok");
    EXPECT_STREQ(ipu_check_name(IPU_CK_CAPLEN), "caplen");
    EXPECT_STREQ(ipu_check_name(IPU_CK_NULL_FAMILY), "null_family");
    EXPECT_STREQ(ipu_check_name(IPU_CK_IPV6_EXT), "ipv6_ext");
    EXPECT_STREQ(ipu_check_name(IPU_CK_UDP_CSUM), "udp_csum");
    EXPECT_STREQ(ipu_check_name(IPU_CK_OVERSIZE), "oversize");
    EXPECT_STREQ(ipu_check_name(IPU_CK_COUNT), "?");
    for (unsigned c = 0; c < IPU_CK_COUNT; c++)
        EXPECT_STRNE(ipu_check_name(c), "?") << c;
    for (unsigned c = 0; c < IPU_CK_COUNT; c++)
        for (unsigned d = c + 1; d < IPU_CK_COUNT; d++)
            EXPECT_STRNE(ipu_check_name(c), ipu_check_name(d));
}

// ---------------------------------------------------------------- segmentation offload

// A frame captured before TCP segmentation offload has IPv4 total length 0 and checksums the
// NIC was to fill: its length comes from the frame and its checksums are not verified.
TEST(IpuTso, LengthFromFrameChecksumsUnverified)
{
    Spec s = fb::tcp4(TCPF_ACK | TCPF_PSH, 3000);
    s.totlen = 0;
    s.bad_ip_csum = true;
    s.bad_l4_csum = true;
    fb::Frame f = fb::build(s);
    ipu_parse_out o = parse_frame(f);
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA}));
    EXPECT_TRUE(o.tso);
    EXPECT_EQ(o.ev.pay_len, 3000u);
    EXPECT_EQ(o.ev.pay_off, 54u);
}

TEST(IpuTso, OrdinaryFramesAreNotTso)
{
    ipu_parse_out o = parse_frame(fb::build(fb::tcp4(TCPF_ACK, 10)));
    ASSERT_TRUE(Processed(o, {EV_TCP_DATA}));
    EXPECT_FALSE(o.tso);
}

TEST(IpuTso, HeaderLongerThanFrameIsStillMalformed)
{
    Spec s = fb::tcp4(TCPF_ACK, 0);
    s.totlen = 0;
    s.ihl = 15; // 60-byte header in a frame with 40 bytes of IP
    ipu_parse_out o = parse_frame(fb::build(s));
    EXPECT_EQ(o.drop, DROP_MALFORMED);
    EXPECT_FALSE(o.tso);
}

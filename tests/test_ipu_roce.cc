// Tests of the IPU's RoCEv2 input side (models/ipu/ipu_parse.c, ipu.c): every opcode class and
// its event type, the BTH/RETH/AETH/ImmDt fields, the payload bounds, the ICRC (good, wrong,
// masked fields, not verified), IPv4 and IPv6, the flow key (no UDP source port, the QP), and
// truncated or inconsistent headers. Frames come from tests/frame_builder.h, whose ICRC is a
// bit-by-bit CRC independent of the model's.
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "frame_builder.h"
#include "ipu.h"

using fb::Bytes;
using fb::Roce;

namespace {

ipu_parse_out parse(const fb::Frame &f, bool verify = true, bool verify_icrc = true)
{
    pkt p = f.as_pkt(7, 1000);
    ipu_parse_out o;
    memset(&o, 0xa5, sizeof o); // every field must be written
    ipu_parse_with(&p, verify, verify_icrc, &o);
    return o;
}

::testing::AssertionResult Is(const ipu_parse_out &o, ev_type t)
{
    if (o.drop == -1 && o.check == IPU_CK_OK && o.nev == 1 && o.types[0] == t &&
        o.ev.proto == PROTO_ROCE)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "want " << ev_type_name(t)
           << ", got drop=" << (o.drop < 0 ? "none" : drop_reason_name(unsigned(o.drop)))
           << " check=" << ipu_check_name(o.check) << " nev=" << o.nev
           << (o.nev ? std::string(" type=") + ev_type_name(o.types[0]) : std::string());
}

::testing::AssertionResult Dropped(const ipu_parse_out &o, drop_reason r, ipu_check c)
{
    if (o.drop == int(r) && o.check == unsigned(c) && o.nev == 0)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "want " << drop_reason_name(r) << "/" << ipu_check_name(c)
           << ", got drop=" << (o.drop < 0 ? "none" : drop_reason_name(unsigned(o.drop)))
           << " check=" << ipu_check_name(o.check) << " nev=" << o.nev;
}

Bytes imm(uint32_t v)
{
    Bytes b;
    fb::app32(b, v);
    return b;
}

Bytes pattern(size_t n)
{
    Bytes b(n);
    for (size_t i = 0; i < n; i++)
        b[i] = uint8_t(i * 13 + 1);
    return b;
}

// ---- opcodes -> event types -----------------------------------------------------------------

struct OpCase {
    uint8_t opcode;
    Bytes ext;
    ev_type type;
    bool imm;
};

TEST(IpuRoce, EveryOpcodeClassHasItsType)
{
    const Bytes R = fb::reth(0x1000, 1, 64), I = imm(0x55), A = fb::aeth(0x1f, 1);
    const OpCase cases[] = {
        {0x00, {}, EV_ROCE_SEND_FIRST, false},
        {0x01, {}, EV_ROCE_SEND_MIDDLE, false},
        {0x02, {}, EV_ROCE_SEND_LAST, false},
        {0x03, I, EV_ROCE_SEND_LAST, true},
        {0x04, {}, EV_ROCE_SEND_ONLY, false},
        {0x05, I, EV_ROCE_SEND_ONLY, true},
        {0x06, R, EV_ROCE_WRITE_FIRST, false},
        {0x07, {}, EV_ROCE_WRITE_MIDDLE, false},
        {0x08, {}, EV_ROCE_WRITE_LAST, false},
        {0x09, I, EV_ROCE_WRITE_LAST, true},
        {0x0a, R, EV_ROCE_WRITE_ONLY, false},
        {0x0b, fb::cat({R, I}), EV_ROCE_WRITE_ONLY, true},
        {0x11, A, EV_ROCE_ACK, false},
        {0x11, fb::aeth(0x60, 1), EV_ROCE_NAK, false}, // NAK: PSN sequence error
        {0x11, fb::aeth(0x63, 1), EV_ROCE_NAK, false}, // NAK: remote operational error
        {0x11, fb::aeth(0x2e, 1), EV_ROCE_NAK, false}, // RNR NAK
        // outside the typed subset: one `other` event, still proto roce
        {0x0c, R, EV_OTHER, false},                         // READ request
        {0x0d, A, EV_OTHER, false},                         // READ response first
        {0x0e, {}, EV_OTHER, false},                        // READ response middle
        {0x10, A, EV_OTHER, false},                         // READ response only
        {0x12, fb::cat({A, Bytes(8, 0)}), EV_OTHER, false}, // atomic acknowledge
        {0x13, Bytes(28, 0), EV_OTHER, false},              // compare & swap
        {0x14, Bytes(28, 0), EV_OTHER, false},              // fetch & add
        {0x16, imm(9), EV_OTHER, false},                    // SEND last with invalidate
        {0x17, imm(9), EV_OTHER, false},                    // SEND only with invalidate
        {0x24, {}, EV_OTHER, false},                        // UC SEND only
        {0x2a, R, EV_OTHER, false},                         // UC RDMA WRITE only
        {0x64, Bytes(8, 0), EV_OTHER, false},               // UD SEND only
        {0x81, Bytes(16, 0), EV_OTHER, false},              // CNP
        {0xc0, {}, EV_OTHER, false},                        // manufacturer specific
    };
    for (const auto &c : cases) {
        Roce r;
        r.opcode = c.opcode;
        r.ext = c.ext;
        r.payload = pattern(c.type == EV_ROCE_ACK || c.type == EV_ROCE_NAK ? 0 : 10);
        fb::Frame f = fb::roce_frame(r);
        ipu_parse_out o = parse(f);
        SCOPED_TRACE(std::to_string(c.opcode));
        ASSERT_TRUE(Is(o, c.type));
        EXPECT_EQ(o.ev.opcode, c.opcode);
        EXPECT_EQ(bool(o.ev.bth_flags & ROCE_F_IMM), c.imm);
        EXPECT_EQ(o.ev.cls, EVC_RECEIVE);
        EXPECT_EQ(o.ev.chan, CH_NETWORK);
        // the payload: after the headers the opcode has (OTHER: everything after the BTH)
        uint32_t hdr = c.type == EV_OTHER ? 12 : uint32_t(12 + c.ext.size());
        EXPECT_EQ(o.ev.pay_off, f.l4_off + 8 + hdr);
        EXPECT_EQ(o.ev.pay_len, uint32_t(f.pay_len - hdr - (-r.payload.size() & 3) - 4));
    }
}

TEST(IpuRoce, TypesAndNamesOfTheContract)
{
    EXPECT_EQ(unsigned(PROTO_ROCE), unsigned(PROTO_TCP) + 1);
    EXPECT_STREQ(ev_proto_name(PROTO_ROCE), "roce");
    EXPECT_EQ(unsigned(EV_ROCE_SEND_FIRST), unsigned(EV_TCP_NOTIFY) + 1);
    const char *names[] = {"roce_send_first", "roce_send_middle", "roce_send_last",
                           "roce_send_only",  "roce_write_first", "roce_write_middle",
                           "roce_write_last", "roce_write_only",  "roce_ack",
                           "roce_nak",        "roce_ack_timer",   "roce_internal"};
    for (unsigned i = 0; i < 12; i++) {
        unsigned t = EV_ROCE_SEND_FIRST + i;
        EXPECT_STREQ(ev_type_name(t), names[i]);
        unsigned want = t == EV_ROCE_ACK_TIMER  ? EVC_TIMER
                        : t == EV_ROCE_INTERNAL ? EVC_INTERNAL
                                                : EVC_RECEIVE;
        EXPECT_EQ(ev_class_of(t), want) << names[i];
    }
    // the queue pairs' setup (host channel), then UDP
    EXPECT_EQ(unsigned(EV_ROCE_CONNECT), unsigned(EV_ROCE_INTERNAL) + 1);
    EXPECT_STREQ(ev_type_name(EV_ROCE_CONNECT), "roce_connect");
    EXPECT_EQ(ev_class_of(EV_ROCE_CONNECT), unsigned(EVC_HOST));
    EXPECT_EQ(unsigned(EV_UDP_DATAGRAM), unsigned(EV_ROCE_CONNECT) + 1);
    EXPECT_STREQ(drop_reason_name(DROP_BAD_ICRC), "bad_icrc");
    EXPECT_STREQ(ipu_check_name(IPU_CK_ROCE_ICRC), "roce_icrc");
}

// ---- fields -----------------------------------------------------------------------------------

TEST(IpuRoce, WriteFirstCarriesTheReth)
{
    Roce r;
    r.opcode = 0x06;
    r.qp = 0xabcdef;
    r.psn = 0xfffffe;
    r.ackreq = true;
    r.mig = true;
    r.ext = fb::reth(0x0123456789abcdefull, 0xdeadbeef, 5000);
    r.payload = pattern(1024);
    fb::Frame f = fb::roce_frame(r, 4, 61000);
    ipu_parse_out o = parse(f);
    ASSERT_TRUE(Is(o, EV_ROCE_WRITE_FIRST));
    const event &e = o.ev;
    EXPECT_EQ(e.qp, 0xabcdefu);
    EXPECT_EQ(e.seq, 0xfffffeu); // the PSN
    EXPECT_EQ(e.va, 0x0123456789abcdefull);
    EXPECT_EQ(e.rkey, 0xdeadbeefu);
    EXPECT_EQ(e.dma_len, 5000u);
    EXPECT_EQ(e.bth_flags, ROCE_F_ACKREQ | ROCE_F_MIGREQ);
    EXPECT_EQ(e.syndrome, 0);
    EXPECT_EQ(e.ack, 0u);
    EXPECT_EQ(e.l3_off, 14);
    EXPECT_EQ(e.l4_off, 34);
    EXPECT_EQ(e.pay_off, 34u + 8 + 12 + 16);
    EXPECT_EQ(e.pay_len, 1024u);
    EXPECT_EQ(0, memcmp(f.bytes.data() + e.pay_off, r.payload.data(), 1024));
    EXPECT_EQ(e.frame_len, f.bytes.size());
    EXPECT_EQ(e.key.qp, 0xabcdefu);
    EXPECT_EQ(e.key.sport, 0);
    EXPECT_EQ(e.key.dport, ROCE_UDP_PORT);
    EXPECT_EQ(e.key.proto, 17);
    EXPECT_EQ(e.key.af, 4);
    EXPECT_EQ(e.tcp_flags, 0);
    EXPECT_EQ(e.wscale, WSCALE_NONE);
}

TEST(IpuRoce, LastWithImmediatePadAndSolicitedEvent)
{
    for (size_t n : {0u, 1u, 2u, 3u, 4u, 5u, 1023u}) {
        Roce r;
        r.opcode = 0x09; // WRITE last with immediate
        r.se = true;
        r.ext = imm(0xcafef00d);
        r.payload = pattern(n);
        fb::Frame f = fb::roce_frame(r);
        ipu_parse_out o = parse(f);
        ASSERT_TRUE(Is(o, EV_ROCE_WRITE_LAST)) << n;
        unsigned pad = unsigned(-n & 3);
        EXPECT_EQ(o.ev.bth_flags, ROCE_F_SOLICIT | ROCE_F_IMM | pad << ROCE_F_PAD_SHIFT) << n;
        EXPECT_EQ((o.ev.bth_flags & ROCE_F_PAD_MASK) >> ROCE_F_PAD_SHIFT, pad);
        EXPECT_EQ(o.ev.arg, 0xcafef00du);
        EXPECT_EQ(o.ev.pay_off, 34u + 8 + 12 + 4);
        EXPECT_EQ(o.ev.pay_len, n);
        EXPECT_EQ(o.ev.va, 0u); // no RETH on a last packet
        EXPECT_EQ(o.ev.rkey, 0u);
    }
}

TEST(IpuRoce, AckCarriesSyndromeAndMsn)
{
    Roce r;
    r.opcode = 0x11;
    r.qp = 0x11;
    r.psn = 0x123456;
    r.ext = fb::aeth(0x60, 0xfedcba);
    r.payload = {};
    ipu_parse_out o = parse(fb::roce_frame(r, 6));
    ASSERT_TRUE(Is(o, EV_ROCE_NAK));
    EXPECT_EQ(o.ev.syndrome, 0x60);
    EXPECT_EQ(o.ev.ack, 0xfedcbau); // the MSN
    EXPECT_EQ(o.ev.seq, 0x123456u);
    EXPECT_EQ(o.ev.qp, 0x11u);
    EXPECT_EQ(o.ev.pay_len, 0u);
    EXPECT_EQ(o.ev.key.af, 6);
}

TEST(IpuRoce, Ipv6KeyAndOffsets)
{
    Roce r;
    r.opcode = 0x00;
    r.qp = 0x000777;
    r.payload = pattern(1024);
    fb::Frame f = fb::roce_frame(r, 6, 50000);
    ipu_parse_out o = parse(f);
    ASSERT_TRUE(Is(o, EV_ROCE_SEND_FIRST));
    EXPECT_EQ(o.ev.l4_off, 14 + 40);
    EXPECT_EQ(o.ev.pay_off, 14u + 40 + 8 + 12);
    EXPECT_EQ(o.ev.pay_len, 1024u);
    EXPECT_EQ(0, memcmp(o.ev.key.src, fb::Spec{}.src6.data(), 16));
    EXPECT_EQ(o.ev.key.qp, 0x777u);
    char buf[128];
    flow_key_format(&o.ev.key, buf, sizeof buf);
    EXPECT_STREQ(buf, "[2001:db8::1]>[2001:db8::2]/roce qp 0x000777");
}

// ---- the flow key --------------------------------------------------------------------------

TEST(IpuRoce, KeyIgnoresTheUdpSourcePortAndNamesTheQp)
{
    Roce r;
    r.qp = 0x42;
    ipu_parse_out a = parse(fb::roce_frame(r, 4, 49152));
    ipu_parse_out b = parse(fb::roce_frame(r, 4, 65535));
    r.qp = 0x43;
    ipu_parse_out c = parse(fb::roce_frame(r, 4, 49152));
    ASSERT_TRUE(Is(a, EV_ROCE_SEND_ONLY));
    ASSERT_TRUE(Is(b, EV_ROCE_SEND_ONLY));
    ASSERT_TRUE(Is(c, EV_ROCE_SEND_ONLY));
    EXPECT_TRUE(flow_key_eq(&a.ev.key, &b.ev.key));
    EXPECT_EQ(flow_key_hash(&a.ev.key, 1), flow_key_hash(&b.ev.key, 1));
    EXPECT_FALSE(flow_key_eq(&a.ev.key, &c.ev.key));
    EXPECT_NE(flow_key_hash(&a.ev.key, 1), flow_key_hash(&c.ev.key, 1));
    EXPECT_TRUE(flow_key_is_roce(&a.ev.key));
    char buf[128];
    EXPECT_EQ(flow_key_format(&a.ev.key, buf, sizeof buf), 34);
    EXPECT_STREQ(buf, "10.0.0.1>10.0.0.2/roce qp 0x000042");
    // reversed: the addresses swap, the ports and the QP stay (the peer's QP is not in the packet)
    flow_key rv;
    flow_key_reverse(&rv, &a.ev.key);
    EXPECT_TRUE(flow_key_is_roce(&rv));
    EXPECT_EQ(0, memcmp(rv.src, a.ev.key.dst, 16));
    EXPECT_EQ(0, memcmp(rv.dst, a.ev.key.src, 16));
    EXPECT_EQ(rv.sport, 0);
    EXPECT_EQ(rv.dport, ROCE_UDP_PORT);
    EXPECT_EQ(rv.qp, 0x42u);
    flow_key back;
    flow_key_reverse(&back, &rv);
    EXPECT_TRUE(flow_key_eq(&back, &a.ev.key));
}

TEST(IpuRoce, TcpAndUdpKeysKeepQpZeroAndTheirHash)
{
    fb::Spec s = fb::tcp4(TCPF_ACK, 10);
    ipu_parse_out o;
    fb::Frame f = fb::build(s);
    pkt p = f.as_pkt();
    ipu_parse(&p, true, &o);
    ASSERT_EQ(o.drop, -1);
    EXPECT_EQ(o.ev.key.qp, 0u);
    EXPECT_FALSE(flow_key_is_roce(&o.ev.key));
    // a qp of 0 adds nothing to the hash: the five words alone decide it, as before the field
    flow_key k = o.ev.key;
    flow_key k2 = k;
    k2.qp = 1;
    EXPECT_NE(flow_key_hash(&k, 3), flow_key_hash(&k2, 3));
    EXPECT_FALSE(flow_key_eq(&k, &k2));
    // UDP to 4791 from a port of 0 would look like RoCE; any other UDP is plain UDP
    s.proto = 17;
    s.dport = 4792;
    f = fb::build(s);
    p = f.as_pkt();
    ipu_parse(&p, true, &o);
    ASSERT_EQ(o.drop, -1);
    EXPECT_EQ(o.types[0], EV_UDP_DATAGRAM);
    EXPECT_EQ(o.ev.proto, PROTO_UDP);
    EXPECT_EQ(o.ev.key.qp, 0u);
}

// ---- the ICRC -------------------------------------------------------------------------------

TEST(IpuRoce, WrongIcrcIsDroppedUnlessTrusted)
{
    for (int v : {4, 6}) {
        for (uint32_t flip : {1u, 0x80000000u, 0xffffffffu}) {
            Roce r;
            r.payload = pattern(100);
            fb::Frame f = fb::build(fb::roce_spec(r, v));
            fb::roce_seal(f, flip);
            EXPECT_TRUE(Dropped(parse(f), DROP_BAD_ICRC, IPU_CK_ROCE_ICRC)) << v << " " << flip;
            EXPECT_TRUE(Is(parse(f, true, false), EV_ROCE_SEND_ONLY)) << v;
            // verify_checksums off does not switch the ICRC off, nor the other way round
            EXPECT_TRUE(Dropped(parse(f, false, true), DROP_BAD_ICRC, IPU_CK_ROCE_ICRC));
        }
    }
}

TEST(IpuRoce, IcrcMatchesTheReferenceAndCoversEveryUnmaskedByte)
{
    Roce r;
    r.opcode = 0x0a;
    r.ext = fb::reth(0x7f0000001000ull, 0x1234, 33);
    r.payload = pattern(33);
    for (int v : {4, 6}) {
        fb::Frame f = fb::roce_frame(r, v);
        const uint8_t *udp = f.bytes.data() + f.l4_off;
        size_t ulen = size_t(udp[4]) << 8 | udp[5];
        EXPECT_EQ(ipu_icrc(f.bytes.data() + f.l3_off, unsigned(v), f.l4_off - f.l3_off,
                           uint32_t(f.l4_off - f.l3_off + ulen - 4)),
                  fb::ref_icrc(f));
        ASSERT_TRUE(Is(parse(f), EV_ROCE_WRITE_ONLY));
        // a changed byte anywhere from the IP header to the pad is a wrong ICRC, unless it is
        // a masked field (the checksums are recomputed after the change)
        size_t end = f.l4_off + ulen - 4;
        unsigned tested = 0;
        for (size_t i = f.l3_off; i < end; i++) {
            size_t rel = i - f.l3_off;
            bool masked, parse_changes;
            if (i < f.l4_off && v == 4) {
                masked = rel == 1 || rel == 8 || rel == 10 || rel == 11;
                parse_changes =
                    rel == 0 || rel == 2 || rel == 3 || rel == 6 || rel == 7 || rel == 9;
            } else if (i < f.l4_off) {
                masked = rel == 1 || rel == 2 || rel == 3 || rel == 7;
                parse_changes = rel == 0 || rel == 4 || rel == 5 || rel == 6;
            } else {
                size_t u = i - f.l4_off;
                masked = u == 6 || u == 7 || u == 8 + 4;
                parse_changes = u < 6 || u == 8 || u == 9; // ports, length, opcode, pad/version
            }
            if (parse_changes)
                continue;
            fb::Frame g = f;
            g.bytes[i] ^= 0x10;
            if (v == 4)
                fb::ipv4_recsum(g);
            fb::udp_recsum(g);
            ipu_parse_out o = parse(g);
            if (masked)
                EXPECT_TRUE(Is(o, EV_ROCE_WRITE_ONLY)) << "IPv" << v << " masked byte " << rel;
            else
                EXPECT_TRUE(Dropped(o, DROP_BAD_ICRC, IPU_CK_ROCE_ICRC))
                    << "IPv" << v << " byte " << rel;
            tested++;
        }
        EXPECT_GT(tested, 60u);
    }
}

TEST(IpuRoce, MaskedFieldsMayChangeInFlight)
{
    // routers rewrite ToS/TTL (and so the IPv4 checksum), traffic class, flow label and hop
    // limit, and may zero or rewrite the UDP checksum: the ICRC stays right
    Roce r;
    r.payload = pattern(200);
    fb::Frame f4 = fb::roce_frame(r, 4);
    uint8_t *ip = f4.bytes.data() + f4.l3_off;
    ip[1] = 0xb8; // DSCP EF
    ip[8] = 3;    // TTL
    fb::ipv4_recsum(f4);
    fb::udp_recsum(f4);
    EXPECT_TRUE(Is(parse(f4), EV_ROCE_SEND_ONLY));
    f4.bytes[f4.l4_off + 6] = f4.bytes[f4.l4_off + 7] = 0; // UDP checksum 0: legal over IPv4
    EXPECT_TRUE(Is(parse(f4), EV_ROCE_SEND_ONLY));
    // BTH byte 4 (reserved) is masked too
    f4.bytes[f4.l4_off + 8 + 4] = 0x5a;
    EXPECT_TRUE(Is(parse(f4), EV_ROCE_SEND_ONLY));

    fb::Frame f6 = fb::roce_frame(r, 6);
    ip = f6.bytes.data() + f6.l3_off;
    ip[0] = 0x6b; // traffic class 0xb?
    ip[1] = 0x8a; // ... and the flow label
    ip[2] = 0xbc;
    ip[3] = 0xde;
    ip[7] = 1; // hop limit
    fb::udp_recsum(f6);
    EXPECT_TRUE(Is(parse(f6), EV_ROCE_SEND_ONLY));
    // but not the addresses
    ip[39] ^= 1;
    fb::udp_recsum(f6);
    EXPECT_TRUE(Dropped(parse(f6), DROP_BAD_ICRC, IPU_CK_ROCE_ICRC));
}

TEST(IpuRoce, UdpChecksumStillChecked)
{
    Roce r;
    r.payload = pattern(8);
    for (int v : {4, 6}) {
        fb::Frame f = fb::roce_frame(r, v);
        f.bytes[f.l4_off + 7] ^= 0x01;
        EXPECT_TRUE(Dropped(parse(f), DROP_BAD_CHECKSUM, IPU_CK_UDP_CSUM)) << v;
        EXPECT_TRUE(Is(parse(f, false), EV_ROCE_SEND_ONLY)) << v;
        f.bytes[f.l4_off + 6] = f.bytes[f.l4_off + 7] = 0;
        if (v == 4)
            EXPECT_TRUE(Is(parse(f), EV_ROCE_SEND_ONLY));
        else // zero over IPv6 stays a bad checksum (RFC 8200 §8.1), as for any UDP
            EXPECT_TRUE(Dropped(parse(f), DROP_BAD_CHECKSUM, IPU_CK_UDP_CSUM));
    }
}

// ---- malformed --------------------------------------------------------------------------------

struct BadCase {
    const char *what;
    Roce r;
    ipu_check check;
};

Roce with(uint8_t op, Bytes ext, Bytes payload)
{
    Roce r;
    r.opcode = op;
    r.ext = std::move(ext);
    r.payload = std::move(payload);
    return r;
}

TEST(IpuRoce, TruncatedOrInconsistentHeadersAreMalformed)
{
    std::vector<BadCase> cases;
    {
        Roce r; // BTH cut short: 11 of its bytes and nothing else
        r.payload = {};
        r.icrc = false;
        cases.push_back({"bth_11", r, IPU_CK_ROCE_SHORT});
    }
    {
        Roce r; // a whole BTH without the ICRC
        r.icrc = false;
        cases.push_back({"no_icrc", r, IPU_CK_ROCE_SHORT});
    }
    {
        Roce r;
        r.tver = 1;
        cases.push_back({"tver", r, IPU_CK_ROCE_VERSION});
    }
    cases.push_back({"reth_cut", with(0x06, Bytes(15, 0), {}), IPU_CK_ROCE_SHORT});
    cases.push_back({"reth_missing", with(0x0a, {}, {}), IPU_CK_ROCE_SHORT});
    cases.push_back({"aeth_cut", with(0x11, Bytes(3, 0), {}), IPU_CK_ROCE_SHORT});
    cases.push_back({"imm_cut", with(0x05, Bytes(2, 0), {}), IPU_CK_ROCE_SHORT});
    cases.push_back({"reth_imm_cut", with(0x0b, Bytes(18, 0), {}), IPU_CK_ROCE_SHORT});
    cases.push_back({"aeth_reserved", with(0x11, fb::aeth(0x40, 0), {}), IPU_CK_ROCE_AETH});
    {
        Roce r = with(0x04, {}, {1, 2}); // pad count 3, two bytes before the ICRC
        r.pad = 3;
        r.pad_bytes = 0;
        cases.push_back({"pad_past_payload", r, IPU_CK_ROCE_PAD});
    }
    {
        Roce r = with(0x11, fb::aeth(0x1f, 0), {}); // an ACK with a pad count and no bytes
        r.pad = 1;
        r.pad_bytes = 0;
        cases.push_back({"ack_pad", r, IPU_CK_ROCE_PAD});
    }
    for (const auto &c : cases) {
        fb::Frame f = fb::build(fb::roce_spec(c.r));
        if (std::string(c.what) == "bth_11") { // cut the datagram to 11 bytes after UDP
            fb::Spec s = fb::roce_spec(c.r);
            s.payload.resize(11);
            f = fb::build(s);
        } else if (c.r.icrc) {
            fb::roce_seal(f);
        }
        EXPECT_TRUE(Dropped(parse(f), DROP_MALFORMED, c.check)) << c.what;
        if (c.check != IPU_CK_ROCE_SHORT && c.check != IPU_CK_ROCE_VERSION) {
            // the ICRC is checked before the extension headers: wrong, it decides
            fb::roce_seal(f, 0x100);
            EXPECT_TRUE(Dropped(parse(f), DROP_BAD_ICRC, IPU_CK_ROCE_ICRC)) << c.what;
        }
    }
}

TEST(IpuRoce, EveryTruncationOfTheDatagramIsMalformedOrBadIcrc)
{
    // a WRITE only with immediate (BTH 12 + RETH 16 + ImmDt 4 + 7 bytes + pad 1 + ICRC 4), its
    // UDP length cut to every shorter n. Trusting the ICRC, the lengths alone decide: below
    // 12 + 16 + 4 + pad 1 + ICRC 4 = 37 the headers do not fit (malformed); from 37 on the
    // packet reads as a shorter message. Verifying it, from 16 bytes (BTH + ICRC) on the ICRC
    // decides first and is wrong.
    Roce r = with(0x0b, fb::cat({fb::reth(1, 2, 7), imm(3)}), pattern(7));
    fb::Frame whole = fb::roce_frame(r);
    size_t full = whole.bytes.size() - whole.l4_off - 8;
    ASSERT_EQ(full, 44u);
    ASSERT_TRUE(Is(parse(whole), EV_ROCE_WRITE_ONLY));
    for (size_t n = 0; n < full; n++) {
        fb::Spec s = fb::roce_spec(r);
        s.payload.resize(n);
        fb::Frame f = fb::build(s);
        ipu_parse_out o = parse(f, true, false);
        if (n < 37) {
            ASSERT_EQ(o.drop, int(DROP_MALFORMED)) << n;
            EXPECT_TRUE(o.check == IPU_CK_ROCE_SHORT || o.check == IPU_CK_ROCE_PAD) << n;
        } else {
            ASSERT_TRUE(Is(o, EV_ROCE_WRITE_ONLY)) << n;
            EXPECT_EQ(o.ev.pay_len, n - 37) << n;
        }
        o = parse(f);
        if (n < 16)
            EXPECT_TRUE(Dropped(o, DROP_MALFORMED, IPU_CK_ROCE_SHORT)) << n;
        else
            EXPECT_TRUE(Dropped(o, DROP_BAD_ICRC, IPU_CK_ROCE_ICRC)) << n;
    }
}

// ---- the timed model: parameter, counters ---------------------------------------------------

struct Rig {
    scratchpad sp;
    ipu u;
    explicit Rig(bool verify_icrc)
    {
        sp_cfg sc;
        sp_cfg_default(&sc);
        sim_err err;
        if (sp_init(&sp, &sc, &err))
            throw std::runtime_error(err.msg);
        ipu_cfg ic;
        ipu_cfg_default(&ic);
        ic.verify_icrc = verify_icrc;
        if (ipu_init(&u, &ic, &sp, &err))
            throw std::runtime_error(err.msg);
    }
    ~Rig()
    {
        ipu_fini(&u);
        sp_fini(&sp);
    }
    Rig(const Rig &) = delete;
    Rig &operator=(const Rig &) = delete;
    // pushes f and runs it through; returns its events (handles released)
    std::vector<event> feed(const fb::Frame &f, cycle_t now)
    {
        pkt p = f.as_pkt(0, 0);
        ipu_push(&u, &p, now);
        std::vector<event> v;
        for (cycle_t t = now; t < now + 100000 && !ipu_idle(&u); t++) {
            ipu_advance(&u, t);
            while (const event *f = ipu_front_out(&u)) {
                const event e = *f;
                v.push_back(e);
                ipu_pop_out(&u);
                sp_release(&sp, e.sp_handle);
            }
        }
        return v;
    }
};

TEST(IpuRoce, ModelCountsDropsOthersAndHonoursVerifyIcrc)
{
    ipu_cfg d;
    ipu_cfg_default(&d);
    EXPECT_EQ(d.verify_icrc, 1u);
    Roce good;
    good.payload = pattern(300);
    fb::Frame ok = fb::roce_frame(good);
    fb::Frame bad = fb::build(fb::roce_spec(good));
    fb::roce_seal(bad, 0xdead);
    fb::Frame cnp = fb::roce_frame(with(0x81, Bytes(16, 0), {}));
    for (bool verify : {true, false}) {
        Rig g(verify);
        cycle_t t = 0;
        std::vector<event> a = g.feed(ok, t += 1000);
        std::vector<event> b = g.feed(bad, t += 1000);
        std::vector<event> c = g.feed(cnp, t += 1000);
        ASSERT_EQ(a.size(), 1u);
        EXPECT_EQ(a[0].type, EV_ROCE_SEND_ONLY);
        EXPECT_EQ(a[0].pkt_nev, 1);
        EXPECT_EQ(b.size(), verify ? 0u : 1u);
        ASSERT_EQ(c.size(), 1u);
        EXPECT_EQ(c[0].type, EV_OTHER);
        EXPECT_EQ(c[0].proto, PROTO_ROCE);
        EXPECT_EQ(g.u.st.frames, 3u);
        EXPECT_EQ(g.u.st.processed, verify ? 2u : 3u);
        EXPECT_EQ(g.u.st.drops[DROP_BAD_ICRC], verify ? 1u : 0u);
        EXPECT_EQ(g.u.st.checks[IPU_CK_ROCE_ICRC], verify ? 1u : 0u);
        EXPECT_EQ(g.u.st.roce_other, 1u);
        EXPECT_EQ(g.u.st.ev_types[EV_ROCE_SEND_ONLY], verify ? 1u : 2u);
        // the cost model is the same as for any frame: cycles_per_msg + bytes * millicycles
        uint64_t cost = 0;
        for (const fb::Frame *f : {&ok, &bad, &cnp})
            cost += d.cycles_per_msg + (f->bytes.size() * d.millicycles_per_byte + 999) / 1000;
        EXPECT_EQ(g.u.st.busy_cycles, cost);
    }
}

} // namespace

// Tests of the closed-loop generator's remote endpoint (models/remote): two remote models back
// to back, a `clients` one (whose link carries the delay, loss and reordering both ways) and a
// `server` one (a zero link) standing in for the chip. Every frame either side sends is checked
// with an independent checksum (frame_builder.h's plain RFC 1071 sum).
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "frame_builder.h"
#include "pattern.h"
#include "remote.h"

namespace {

constexpr simtime_ps US = 1000000;

struct Seg {
    simtime_ps at; // arrival at the other side
    bool from_client;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    uint32_t len; // payload
    std::vector<uint8_t> opts;
    std::vector<uint8_t> raw;
};

uint32_t be16(const uint8_t *p) { return uint32_t(p[0]) << 8 | p[1]; }
uint32_t be32(const uint8_t *p) { return be16(p) << 16 | be16(p + 2); }

// Parses an Ethernet/IPv4/TCP frame, checking its layout and both checksums independently.
Seg parse(const uint8_t *d, uint32_t n, simtime_ps at, bool from_client)
{
    Seg s{};
    s.at = at;
    s.from_client = from_client;
    s.raw.assign(d, d + n);
    EXPECT_GE(n, 54u);
    EXPECT_EQ(be16(d + 12), 0x0800u);
    const uint8_t mac_chip[6] = {2, 0, 0, 0, 0, 1}, mac_rem[6] = {2, 0, 0, 0, 0, 2};
    EXPECT_EQ(memcmp(d, mac_chip, 6), 0);
    EXPECT_EQ(memcmp(d + 6, mac_rem, 6), 0);
    const uint8_t *ip = d + 14;
    EXPECT_EQ(ip[0], 0x45);
    EXPECT_EQ(be16(ip + 2), n - 14);
    EXPECT_EQ(be16(ip + 6), 0x4000u); // DF
    EXPECT_EQ(ip[8], 64);
    EXPECT_EQ(ip[9], 6);
    EXPECT_EQ(fb::ref_csum(ip, 20), 0) << "IPv4 header checksum";
    const uint8_t *t = ip + 20;
    uint32_t tlen = n - 34;
    uint64_t pseudo = fb::ref_sum(ip + 12, 8) + 6 + tlen;
    EXPECT_EQ(fb::ref_csum(t, tlen, pseudo), 0) << "TCP checksum";
    uint32_t hl = (t[12] >> 4) * 4u;
    s.seq = be32(t + 4);
    s.ack = be32(t + 8);
    s.flags = t[13];
    s.win = uint16_t(be16(t + 14));
    s.opts.assign(t + 20, t + hl);
    s.len = tlen - hl;
    return s;
}

struct Pair {
    rem_cfg ccfg{}, scfg{};
    rem *c = nullptr, *s = nullptr;
    std::vector<Seg> segs;
    bool keep_raw = true;

    Pair()
    {
        rem_cfg_default(&ccfg);
        rem_cfg_default(&scfg);
        ccfg.role = REM_ROLE_CLIENTS;
        ccfg.delay_us = 10;
        ccfg.rate_mbps = 0;
        ccfg.chip_port = 80;
        scfg.role = REM_ROLE_SERVER;
        scfg.listen_port = 80;
        scfg.delay_us = 0;
        scfg.rate_mbps = 0;
        scfg.seed = 99;
    }
    ~Pair()
    {
        rem_free(c);
        rem_free(s);
    }
    void Make()
    {
        sim_err err{};
        c = rem_new(&ccfg, &err);
        ASSERT_NE(c, nullptr) << err.msg;
        s = rem_new(&scfg, &err);
        ASSERT_NE(s, nullptr) << err.msg;
    }
    // Runs until both are done (or limit): the client model's frames cross its link to the
    // server model; the server model's frames (zero link) cross the client model's link back.
    void Run(simtime_ps limit = 3600ull * 1000000 * US)
    {
        const uint8_t *d;
        uint32_t n;
        simtime_ps at;
        for (;;) {
            simtime_ps t = std::min(rem_next_ps(c), rem_next_ps(s));
            if (rem_peek_frame(c, &d, &n, &at))
                t = std::min(t, at);
            if (rem_peek_frame(s, &d, &n, &at))
                t = std::min(t, at);
            if (t == REM_NEVER || t > limit)
                break;
            rem_advance(c, t);
            rem_advance(s, t);
            while (rem_peek_frame(c, &d, &n, &at) && at <= t) {
                segs.push_back(parse(d, n, at, true));
                if (!keep_raw)
                    segs.back().raw.clear();
                rem_from_chip(s, d, n, at);
                rem_pop_frame(c);
            }
            while (rem_peek_frame(s, &d, &n, &at) && at <= t) {
                // its arrival at the client is decided by the client's link: recorded there
                segs.push_back(parse(d, n, at, false));
                if (!keep_raw)
                    segs.back().raw.clear();
                rem_from_chip(c, d, n, at);
                rem_pop_frame(s);
            }
        }
    }
    const rem_stats &cs() const { return *rem_get_stats(c); }
    const rem_stats &ss() const { return *rem_get_stats(s); }
};

std::vector<const Seg *> from(const std::vector<Seg> &v, bool client)
{
    std::vector<const Seg *> out;
    for (auto &g : v)
        if (g.from_client == client)
            out.push_back(&g);
    return out;
}

TEST(Pattern, DependsOnKeyAndOffsetOnly)
{
    uint8_t a[64], b[64];
    pat_fill(7, 100, a, 64);
    for (uint32_t i = 0; i < 64; i++) { // byte by byte equals one call
        pat_fill(7, 100 + i, b + i, 1);
    }
    EXPECT_EQ(memcmp(a, b, 64), 0);
    EXPECT_EQ(pat_check(7, 100, a, 64), 0u);
    a[5] ^= 1;
    a[40] ^= 0x80;
    EXPECT_EQ(pat_check(7, 100, a, 64), 2u);
    pat_fill(8, 100, b, 64);
    EXPECT_GT(pat_check(7, 100, b, 64), 50u); // another key: other bytes
    flow_key k;
    flow_key_clear(&k);
    k.af = 4;
    k.proto = 6;
    k.sport = 1;
    k.dport = 2;
    flow_key rk;
    flow_key_reverse(&rk, &k);
    EXPECT_NE(pat_key(&k), pat_key(&rk)); // each direction its own stream
}

// SYN, SYN-ACK, ACK, request, response, FIN both ways: exact frames, sequence numbers, times.
TEST(Remote, HandshakeAndOneRequestExactly)
{
    Pair p;
    p.ccfg.requests = 1;
    p.ccfg.req_bytes = 100;
    p.ccfg.resp_bytes = 1000;
    p.scfg.req_bytes = 100;
    p.scfg.resp_bytes = 1000;
    p.Make();
    p.Run();
    ASSERT_TRUE(rem_done(p.c));
    ASSERT_TRUE(rem_done(p.s));
    auto c = from(p.segs, true), s = from(p.segs, false);
    ASSERT_EQ(c.size(), 5u);
    ASSERT_EQ(s.size(), 3u);
    uint32_t ci = c[0]->seq, si = s[0]->seq;
    // client: SYN with MSS 1460 and window scale 7
    EXPECT_EQ(c[0]->flags, 0x02);
    EXPECT_EQ(c[0]->at, 10 * US);
    EXPECT_EQ(c[0]->opts, (std::vector<uint8_t>{2, 4, 0x05, 0xb4, 1, 3, 3, 7}));
    EXPECT_EQ(c[0]->win, 65535);
    // server: SYN-ACK, leaving the server at 10 us, arriving at the client at 20 us
    EXPECT_EQ(s[0]->flags, 0x12);
    EXPECT_EQ(s[0]->ack, ci + 1);
    EXPECT_EQ(s[0]->at, 10 * US);
    EXPECT_EQ(s[0]->opts, (std::vector<uint8_t>{2, 4, 0x05, 0xb4, 1, 3, 3, 7}));
    // client: ACK, then the 100-byte request, both at 30 us at the server
    EXPECT_EQ(c[1]->flags, 0x10);
    EXPECT_EQ(c[1]->seq, ci + 1);
    EXPECT_EQ(c[1]->ack, si + 1);
    EXPECT_EQ(c[1]->len, 0u);
    EXPECT_EQ(c[1]->win, 262144u >> 7); // rcv_buf scaled
    EXPECT_EQ(c[1]->at, 30 * US);
    EXPECT_EQ(c[2]->flags, 0x18);
    EXPECT_EQ(c[2]->seq, ci + 1);
    EXPECT_EQ(c[2]->len, 100u);
    EXPECT_EQ(c[2]->at, 30 * US);
    // server: the 1000-byte response carries the ACK
    EXPECT_EQ(s[1]->flags, 0x18);
    EXPECT_EQ(s[1]->seq, si + 1);
    EXPECT_EQ(s[1]->ack, ci + 101);
    EXPECT_EQ(s[1]->len, 1000u);
    // client closes first: FIN|ACK carries the response's ACK
    EXPECT_EQ(c[3]->flags, 0x11);
    EXPECT_EQ(c[3]->seq, ci + 101);
    EXPECT_EQ(c[3]->ack, si + 1001);
    EXPECT_EQ(c[3]->at, 50 * US);
    // server answers with its FIN|ACK, the client ACKs it
    EXPECT_EQ(s[2]->flags, 0x11);
    EXPECT_EQ(s[2]->seq, si + 1001);
    EXPECT_EQ(s[2]->ack, ci + 102);
    EXPECT_EQ(c[4]->flags, 0x10);
    EXPECT_EQ(c[4]->seq, ci + 102);
    EXPECT_EQ(c[4]->ack, si + 1002);
    EXPECT_EQ(c[4]->at, 70 * US);

    const rem_stats &a = p.cs(), &b = p.ss();
    EXPECT_EQ(a.conns_opened, 1u);
    EXPECT_EQ(a.conns_established, 1u);
    EXPECT_EQ(a.conns_completed, 1u);
    EXPECT_EQ(a.requests_completed, 1u);
    EXPECT_EQ(a.bytes_sent, 100u);
    EXPECT_EQ(a.bytes_received, 1000u);
    EXPECT_EQ(a.bytes_verified, 1000u);
    EXPECT_EQ(a.bytes_corrupt, 0u);
    EXPECT_EQ(a.segs_sent, 5u);
    EXPECT_EQ(a.segs_received, 3u);
    EXPECT_EQ(a.req_latency_ns.count, 1u);
    EXPECT_EQ(a.req_latency_ns.min, 20000u); // written at 20 us, answered at 40 us
    EXPECT_EQ(b.conns_accepted, 1u);
    EXPECT_EQ(b.conns_completed, 1u);
    EXPECT_EQ(b.requests_answered, 1u);
    EXPECT_EQ(b.bytes_verified, 100u);
    EXPECT_EQ(a.segs_retrans_fast + a.segs_retrans_rto + b.segs_retrans_fast + b.segs_retrans_rto,
              0u);
    // the client's record
    ASSERT_EQ(rem_conn_count(p.c), 1u);
    rem_conn_info info{};
    ASSERT_TRUE(rem_conn_get(p.c, 0, &info));
    EXPECT_STREQ(info.state, "completed");
    EXPECT_TRUE(info.active);
    EXPECT_EQ(info.key.sport, 10000);
    EXPECT_EQ(info.key.dport, 80);
    EXPECT_EQ(info.key.src[0], 10);
    EXPECT_EQ(info.key.src[3], 1);
    EXPECT_EQ(info.bytes_sent, 100u);
    EXPECT_EQ(info.bytes_received, 1000u);
    EXPECT_EQ(info.ended, 60 * US + 1000000 * US); // TIME_WAIT: 1 s after the last FIN
    EXPECT_FALSE(rem_conn_get(p.c, 1, &info));
}

struct LossCase {
    uint32_t loss_ppm, reorder_ppm;
};

class Bulk : public ::testing::TestWithParam<LossCase> {};

// 1 MB each way on each of 4 connections (a 1 MB request, a 1 MB response), over a lossy and
// reordering link: byte-exact, every connection completed.
TEST_P(Bulk, OneMegabyteEachWayExact)
{
    const LossCase lc = GetParam();
    Pair p;
    p.keep_raw = false;
    p.ccfg.clients = 4;
    p.ccfg.requests = 1;
    p.ccfg.req_bytes = p.scfg.req_bytes = 1 << 20;
    p.ccfg.resp_bytes = p.scfg.resp_bytes = 1 << 20;
    p.ccfg.rate_mbps = 10000;
    p.ccfg.loss_ppm = lc.loss_ppm;
    p.ccfg.reorder_ppm = lc.reorder_ppm;
    p.ccfg.reorder_us = 30;
    p.ccfg.seed = 1234 + lc.loss_ppm;
    p.Make();
    p.Run();
    ASSERT_TRUE(rem_done(p.c));
    ASSERT_TRUE(rem_done(p.s));
    const rem_stats &a = p.cs(), &b = p.ss();
    EXPECT_EQ(a.conns_completed, 4u);
    EXPECT_EQ(a.conns_failed + a.conns_reset + a.conns_incomplete, 0u);
    EXPECT_EQ(b.conns_completed, 4u);
    EXPECT_EQ(a.requests_completed, 4u);
    EXPECT_EQ(a.bytes_sent, 4u << 20);
    EXPECT_EQ(b.bytes_sent, 4u << 20);
    EXPECT_EQ(b.bytes_received, a.bytes_sent);
    EXPECT_EQ(b.bytes_verified, a.bytes_sent);
    EXPECT_EQ(a.bytes_received, b.bytes_sent);
    EXPECT_EQ(a.bytes_verified, b.bytes_sent);
    EXPECT_EQ(a.bytes_corrupt + b.bytes_corrupt, 0u);
    uint64_t retrans =
        a.segs_retrans_fast + a.segs_retrans_rto + b.segs_retrans_fast + b.segs_retrans_rto;
    if (lc.loss_ppm) {
        EXPECT_GT(a.lost_to_chip + a.lost_from_chip, 0u);
        EXPECT_GT(retrans, 0u);
        EXPECT_GT(a.segs_retrans_fast + b.segs_retrans_fast, 0u);
    } else {
        EXPECT_EQ(a.lost_to_chip + a.lost_from_chip, 0u);
        if (!lc.reorder_ppm) {
            EXPECT_EQ(retrans, 0u);
        }
    }
    if (lc.reorder_ppm) {
        EXPECT_GT(a.reordered_to_chip + a.reordered_from_chip, 0u);
    }
    EXPECT_EQ(a.acks_unseen + b.acks_unseen, 0u);
    EXPECT_EQ(a.rx_bad + b.rx_bad, 0u);
    // the link's books: every frame put on it arrived or was lost
    EXPECT_EQ(b.segs_received, a.frames_to_chip - a.lost_to_chip);
    EXPECT_EQ(a.segs_received, a.frames_from_chip - a.lost_from_chip);
}

INSTANTIATE_TEST_SUITE_P(Loss, Bulk,
                         ::testing::Values(LossCase{0, 0}, LossCase{10000, 0}, LossCase{50000, 0},
                                           LossCase{0, 50000}, LossCase{10000, 50000}),
                         [](const ::testing::TestParamInfo<LossCase> &i) {
                             return "loss" + std::to_string(i.param.loss_ppm) + "ppm_reorder" +
                                    std::to_string(i.param.reorder_ppm) + "ppm";
                         });

// Slow start: with an infinitely fast link the data goes in bursts one RTT apart, and each
// burst doubles (every ACK opens the window by one MSS) from init_cwnd.
TEST(Remote, SlowStartDoublesPerRtt)
{
    Pair p;
    p.keep_raw = false;
    p.ccfg.delay_us = 1000;
    p.ccfg.requests = 1;
    p.ccfg.req_bytes = 4 << 20; // bulk sender
    p.ccfg.resp_bytes = 0;
    p.scfg.req_bytes = 0; // ... and a sink
    p.scfg.resp_bytes = 0;
    p.scfg.rcv_buf = 8000000;
    p.Make();
    p.Run();
    ASSERT_TRUE(rem_done(p.c));
    std::map<simtime_ps, int> burst; // data segments by arrival time at the server
    for (auto &g : p.segs)
        if (g.from_client && g.len)
            burst[g.at]++;
    std::vector<int> sizes;
    simtime_ps first = burst.begin()->first;
    for (auto &[t, n] : burst) {
        EXPECT_EQ((t - first) % (2000 * US), 0u) << "bursts are one RTT apart";
        sizes.push_back(n);
    }
    ASSERT_GE(sizes.size(), 6u);
    EXPECT_EQ(sizes[0], 10);
    EXPECT_EQ(sizes[1], 20);
    EXPECT_EQ(sizes[2], 40);
    EXPECT_EQ(sizes[3], 80);
    EXPECT_EQ(sizes[4], 160);
    EXPECT_EQ(p.ss().bytes_verified, 4u << 20);
    EXPECT_EQ(p.cs().requests_completed, 1u);
}

uint64_t hash_run(uint64_t seed)
{
    Pair p;
    p.ccfg.clients = 3;
    p.ccfg.open_rate = 10000;
    p.ccfg.requests = 5;
    p.ccfg.req_bytes = p.scfg.req_bytes = 3000;
    p.ccfg.resp_bytes = p.scfg.resp_bytes = 50000;
    p.ccfg.rate_mbps = 1000;
    p.ccfg.loss_ppm = 10000;
    p.ccfg.reorder_ppm = 10000;
    p.ccfg.reorder_us = 20;
    p.ccfg.seed = seed;
    p.Make();
    p.Run();
    EXPECT_TRUE(rem_done(p.c));
    uint64_t h = 1469598103934665603ull;
    for (auto &g : p.segs) {
        for (uint8_t b : g.raw)
            h = (h ^ b) * 1099511628211ull;
        h = (h ^ g.at) * 1099511628211ull;
    }
    return h ^ p.segs.size();
}

TEST(Remote, Deterministic)
{
    uint64_t a = hash_run(5), b = hash_run(5), c = hash_run(6);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c); // another seed: other ISNs and losses
}

// No peer at all: the SYN is retransmitted with a doubling RTO, then the connection fails.
TEST(Remote, RtoBackoffThenFail)
{
    rem_cfg cfg;
    rem_cfg_default(&cfg);
    cfg.max_retries = 3;
    cfg.delay_us = 0;
    sim_err err{};
    rem *r = rem_new(&cfg, &err);
    ASSERT_NE(r, nullptr) << err.msg;
    std::vector<simtime_ps> syn_at;
    for (;;) {
        simtime_ps t = rem_next_ps(r);
        const uint8_t *d;
        uint32_t n;
        simtime_ps at;
        if (rem_peek_frame(r, &d, &n, &at))
            t = std::min(t, at);
        if (t == REM_NEVER)
            break;
        rem_advance(r, t);
        while (rem_peek_frame(r, &d, &n, &at) && at <= t) {
            Seg g = parse(d, n, at, true);
            if (g.flags == 0x02)
                syn_at.push_back(at);
            rem_pop_frame(r);
        }
    }
    ASSERT_EQ(syn_at.size(), 4u);                   // the SYN and 3 retransmissions
    EXPECT_EQ(syn_at[1] - syn_at[0], 1000000 * US); // rto_init_us, then doubled each time
    EXPECT_EQ(syn_at[2] - syn_at[1], 2000000 * US);
    EXPECT_EQ(syn_at[3] - syn_at[2], 4000000 * US);
    const rem_stats &s = *rem_get_stats(r);
    EXPECT_EQ(s.rto_expirations, 4u);
    EXPECT_EQ(s.conns_failed, 1u);
    EXPECT_EQ(s.segs_retrans_rto, 3u);
    EXPECT_TRUE(rem_done(r));
    rem_free(r);
}

// A slow reader closes the server's window: the client probes it, the server's window update
// reopens it, and every byte still arrives once.
TEST(Remote, ZeroWindowProbeAndUpdate)
{
    Pair p;
    p.ccfg.requests = 1;
    p.ccfg.req_bytes = 100000;
    p.ccfg.resp_bytes = 0;
    p.ccfg.rto_min_us = 1000;
    p.scfg.req_bytes = 0;
    p.scfg.resp_bytes = 0;
    p.scfg.rcv_buf = 16384;
    p.scfg.read_mbps = 1;
    p.Make();
    p.Run();
    ASSERT_TRUE(rem_done(p.c));
    ASSERT_TRUE(rem_done(p.s));
    const rem_stats &a = p.cs(), &b = p.ss();
    EXPECT_EQ(b.bytes_verified, 100000u);
    EXPECT_EQ(b.bytes_duplicate, 0u);
    EXPECT_GT(a.zero_window_probes, 0u);
    EXPECT_GT(b.window_updates, 0u);
    EXPECT_EQ(b.out_of_window, a.zero_window_probes); // each probe answered, nothing else
    EXPECT_EQ(a.conns_completed, 1u);
    // the client never sent beyond the window the server advertised
    uint64_t right = 0; // server's right edge, in client sequence numbers relative to ISN
    uint32_t ci = 0;
    bool have = false;
    for (auto &g : p.segs) {
        if (g.from_client && g.flags == 0x02)
            ci = g.seq;
        if (!g.from_client && (g.flags & 0x10) && !(g.flags & 0x02)) {
            uint64_t e = uint64_t(g.ack - ci) + (uint64_t(g.win) << 7);
            right = std::max(right, e);
            have = true;
        }
        if (g.from_client && g.len && have) {
            EXPECT_LE(uint64_t(g.seq - ci) + g.len, right);
        }
    }
}

// Clients open at open_rate; no more than concurrency are open at once (a later one waits for
// a slot, which TIME_WAIT gives back).
TEST(Remote, OpenRateAndConcurrency)
{
    for (uint32_t conc : {0u, 2u}) {
        Pair p;
        p.ccfg.clients = 6;
        p.ccfg.open_rate = 10000; // one every 100 us
        p.ccfg.concurrency = conc;
        p.ccfg.requests = 3;
        p.ccfg.req_bytes = p.scfg.req_bytes = 500;
        p.ccfg.resp_bytes = p.scfg.resp_bytes = 200000; // ~ 1 ms each over 10 us links
        p.ccfg.time_wait_us = 0;
        p.ccfg.rate_mbps = 1000;
        p.Make();
        p.Run();
        ASSERT_TRUE(rem_done(p.c));
        EXPECT_EQ(p.cs().conns_completed, 6u);
        EXPECT_EQ(p.cs().requests_completed, 18u);
        EXPECT_EQ(p.ss().requests_answered, 18u);
        std::vector<rem_conn_info> v(6);
        for (uint32_t i = 0; i < 6; i++)
            ASSERT_TRUE(rem_conn_get(p.c, i, &v[i]));
        uint32_t most = 0;
        for (auto &x : v) {
            uint32_t open = 0;
            for (auto &y : v)
                open += y.opened <= x.opened && x.opened < y.ended;
            most = std::max(most, open);
        }
        if (conc == 0) {
            for (uint32_t i = 0; i < 6; i++)
                EXPECT_EQ(v[i].opened, i * 100 * US);
            EXPECT_GT(most, 2u);
        } else {
            EXPECT_EQ(most, 2u);
            EXPECT_EQ(v[1].opened, 100 * US);
            EXPECT_GT(v[2].opened, 200 * US); // waited for a slot
        }
    }
}

// A segment for a connection that does not exist gets a RST (RFC 9293 3.10.7.1).
TEST(Remote, RstForUnknownConnection)
{
    Pair p;
    p.Make();
    fb::Bytes f(54, 0);
    const uint8_t mac[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    memcpy(f.data(), mac, 12);
    fb::put16(f, 12, 0x0800);
    f[14] = 0x45;
    fb::put16(f, 16, 40);
    f[22] = 64;
    f[23] = 6;
    fb::put32(f, 26, 0x0a000001);
    fb::put32(f, 30, 0x0a000202);
    fb::put16(f, 24, fb::ref_csum(f.data() + 14, 20));
    fb::put16(f, 34, 80);
    fb::put16(f, 36, 5555);
    fb::put32(f, 38, 1000);
    fb::put32(f, 42, 777777);
    f[46] = 0x50;
    f[47] = 0x10; // ACK
    fb::put16(f, 48, 100);
    uint64_t pseudo = fb::ref_sum(f.data() + 26, 8) + 6 + 20;
    fb::put16(f, 50, fb::ref_csum(f.data() + 34, 20, pseudo));
    rem_from_chip(p.s, f.data(), uint32_t(f.size()), 5 * US);
    rem_advance(p.s, 5 * US);
    const uint8_t *d;
    uint32_t n;
    simtime_ps at;
    ASSERT_TRUE(rem_peek_frame(p.s, &d, &n, &at));
    Seg g = parse(d, n, at, false);
    EXPECT_EQ(g.flags, 0x04);
    EXPECT_EQ(g.seq, 777777u); // the segment's ACK
    EXPECT_EQ(be16(d + 34), 5555u);
    EXPECT_EQ(be16(d + 36), 80u);
    EXPECT_EQ(p.ss().rst_sent, 1u);
    EXPECT_EQ(p.ss().conns_accepted, 0u);
    // and a bad checksum is counted, not answered
    f[50] ^= 0xff;
    rem_pop_frame(p.s);
    rem_from_chip(p.s, f.data(), uint32_t(f.size()), 6 * US);
    rem_advance(p.s, 6 * US);
    EXPECT_FALSE(rem_peek_frame(p.s, &d, &n, &at));
}

TEST(Remote, BadParametersNamed)
{
    rem_cfg cfg;
    sim_err err{};
    rem_cfg_default(&cfg);
    EXPECT_STREQ(rem_params.unit, "remote");
    EXPECT_NE(param_set(&rem_params, &cfg, "loss_ppm", "2000000", &err), 0);
    EXPECT_NE(std::string(err.msg).find("remote.loss_ppm"), std::string::npos) << err.msg;
    EXPECT_NE(param_set(&rem_params, &cfg, "role", "proxy", &err), 0);
    EXPECT_NE(std::string(err.msg).find("remote.role"), std::string::npos) << err.msg;
    EXPECT_EQ(param_set(&rem_params, &cfg, "chip_ip", "0x0a000009", &err), 0) << err.msg;
    EXPECT_EQ(cfg.chip_ip, 0x0a000009u);

    struct Bad {
        const char *key;
        void (*set)(rem_cfg *);
    } bad[] = {
        {"remote.wscale", [](rem_cfg *c) { c->wscale = 20; }},
        {"remote.rcv_buf", [](rem_cfg *c) { c->wscale = 255; }}, // 262144 > 65535
        {"remote.rcv_buf", [](rem_cfg *c) { c->wscale = 0; }},
        {"remote.clients", [](rem_cfg *c) { c->clients = 0; }},
        {"remote.rto_min_us", [](rem_cfg *c) { c->rto_min_us = 70000000; }},
        {"remote.mss", [](rem_cfg *c) { c->mss = 10; }},
        {"remote.client_ip",
         [](rem_cfg *c) {
             c->client_ip = 0xffffffff;
             c->clients = 60000;
         }},
    };
    for (auto &b : bad) {
        rem_cfg_default(&cfg);
        b.set(&cfg);
        err = {};
        rem *r = rem_new(&cfg, &err);
        EXPECT_EQ(r, nullptr) << b.key;
        EXPECT_NE(std::string(err.msg).find(b.key), std::string::npos) << err.msg;
        rem_free(r);
    }
}

} // namespace

// Tests of the host application model (models/host/happ.c): reads at once by default; with a
// consumption rate, reads of at most read_bytes spaced by their processing time, per flow and
// independent between flows, due reads in (cycle, flow) order, and close forgetting a backlog.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "happ.h"
#include "hscript.h"
#include "pattern.h"

#include <unistd.h>

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

// ---- applications that write (issue 5) --------------------------------------------------------

flow_key Key(uint16_t local_port = 80, uint16_t remote_port = 40000)
{
    flow_key k;
    flow_key_clear(&k);
    k.af = 4;
    k.proto = 6;
    const uint8_t remote[4] = {10, 0, 0, 2}, local[4] = {10, 0, 0, 1};
    std::memcpy(k.src, remote, 4); // as the remote sends: src = remote
    std::memcpy(k.dst, local, 4);
    k.sport = remote_port;
    k.dport = local_port;
    return k;
}

// The pattern of the stream the chip sends on k's connection, built here field by field.
std::vector<uint8_t> ChipPattern(const flow_key &k, uint64_t off, uint32_t len)
{
    flow_key out;
    flow_key_clear(&out);
    out.af = k.af;
    out.proto = k.proto;
    std::memcpy(out.src, k.dst, 16);
    std::memcpy(out.dst, k.src, 16);
    out.sport = k.dport;
    out.dport = k.sport;
    std::vector<uint8_t> v(len);
    pat_fill(pat_key(&out), off, v.data(), len);
    return v;
}

struct Cmd {
    uint32_t kind, flow, bytes, src;
    uint64_t off;
    cycle_t at;
    bool operator==(const Cmd &o) const
    {
        return kind == o.kind && flow == o.flow && bytes == o.bytes && src == o.src &&
               off == o.off && at == o.at;
    }
};

std::ostream &operator<<(std::ostream &os, const Cmd &c)
{
    static const char *const k[] = {"READ", "WRITE", "CLOSE", "ABORT"};
    return os << k[c.kind] << "(flow " << c.flow << ", " << c.bytes << " bytes, src " << c.src
              << ", off " << c.off << ", at " << c.at << ")";
}

Cmd R(uint32_t flow, uint32_t bytes, cycle_t at) { return {HAPP_READ, flow, bytes, 0, 0, at}; }
Cmd W(uint32_t flow, uint32_t bytes, uint64_t off, cycle_t at, uint32_t src = HAPP_SRC_PATTERN)
{
    return {HAPP_WRITE, flow, bytes, src, off, at};
}
Cmd C(uint32_t flow, cycle_t at) { return {HAPP_CLOSE, flow, 0, 0, 0, at}; }
Cmd A(uint32_t flow, cycle_t at) { return {HAPP_ABORT, flow, 0, 0, 0, at}; }

// A fake glue around the model: per flow a receive stream (byte i = i * 13 + flow), a send
// buffer of `space` bytes whose writes are kept, and a pool that may cut writes short.
class Apps : public Happ {
protected:
    struct Side {
        uint64_t rx_read = 0;      // bytes of the receive stream consumed
        uint32_t space = 0;        // send-buffer space
        std::vector<uint8_t> sent; // what the host wrote
    };
    std::vector<Side> side = std::vector<Side>(8);
    uint32_t pool = UINT32_MAX; // bytes the pool can still take
    std::vector<Cmd> log;
    uint64_t held_max = 0;

    static uint8_t RxByte(uint32_t flow, uint64_t i) { return uint8_t(i * 13 + flow); }
    void Open(uint32_t flow, const flow_key &k, uint32_t space, bool scripted = false,
              cycle_t at = 0)
    {
        side[flow].space = space;
        happ_open(h, flow, &k, space, scripted, at);
    }
    // Runs every command due up to now as the glue would; returns them.
    std::vector<Cmd> Run(cycle_t now)
    {
        std::vector<Cmd> v;
        happ_cmd c;
        while (happ_pop_cmd(h, now, &c)) {
            v.push_back({c.kind, c.flow, c.bytes, c.src, c.off, c.at});
            Side &sd = side[c.flow];
            if (c.kind == HAPP_READ) {
                // the SMC hands the bytes over in pieces of at most 256
                for (uint32_t done = 0; done < c.bytes;) {
                    uint32_t n = std::min(c.bytes - done, 256u);
                    std::vector<uint8_t> d(n);
                    for (uint32_t i = 0; i < n; i++)
                        d[i] = RxByte(c.flow, sd.rx_read + i);
                    happ_data(h, c.flow, d.data(), n, c.at);
                    sd.rx_read += n;
                    done += n;
                }
            } else if (c.kind == HAPP_WRITE) {
                EXPECT_EQ(c.off, sd.sent.size());
                EXPECT_LE(c.bytes, sd.space);
                std::vector<uint8_t> d(c.bytes);
                happ_fill(h, &c, d.data());
                uint32_t taken = std::min(c.bytes, pool);
                pool -= pool == UINT32_MAX ? 0 : taken;
                sd.sent.insert(sd.sent.end(), d.begin(), d.begin() + taken);
                sd.space -= taken;
                happ_wrote(h, c.flow, taken, sd.space, c.at);
            }
            for (uint32_t f = 0; f < side.size(); f++) {
                uint64_t held = happ_echo_held(h, f);
                EXPECT_LE(held, side[f].space) << "echo holds more than its send space";
                held_max = std::max(held_max, held);
            }
        }
        log.insert(log.end(), v.begin(), v.end());
        return v;
    }
    void Space(uint32_t flow, uint32_t add, cycle_t at)
    {
        side[flow].space += add;
        happ_snd_space(h, flow, side[flow].space, at);
    }
    std::vector<uint8_t> RxBytes(uint32_t flow, uint64_t off, uint64_t len)
    {
        std::vector<uint8_t> v(len);
        for (uint64_t i = 0; i < len; i++)
            v[i] = RxByte(flow, off + i);
        return v;
    }
};

TEST_F(Apps, ParamsOfTheApplications)
{
    EXPECT_EQ(cfg.app, uint32_t(HAPP_NONE));
    EXPECT_EQ(cfg.req_bytes, 100u);
    EXPECT_EQ(cfg.resp_bytes, 1000u);
    EXPECT_EQ(cfg.port, 0u);
    EXPECT_EQ(cfg.write_bytes, 65536u);
    EXPECT_EQ(cfg.close, uint32_t(HAPP_CLOSE_PEER));
    sim_err err{};
    EXPECT_EQ(param_set(&happ_params, &cfg, "app", "reqresp", &err), 0) << err.msg;
    EXPECT_EQ(cfg.app, uint32_t(HAPP_REQRESP));
    EXPECT_EQ(param_set(&happ_params, &cfg, "app", "chat", &err), -1);
    EXPECT_NE(std::string(err.msg).find("host_app.app"), std::string::npos) << err.msg;
    EXPECT_EQ(param_set(&happ_params, &cfg, "port", "65536", &err), -1);
    EXPECT_EQ(param_set(&happ_params, &cfg, "close", "never", &err), 0) << err.msg;
    EXPECT_EQ(happ_stat_count * sizeof(uint64_t), sizeof(happ_stats));
}

// app none: today's reader; a connection opens nothing, answers 0, issues no command.
TEST_F(Apps, NoneIssuesNothing)
{
    Make();
    EXPECT_TRUE(happ_immediate(h));
    Open(1, Key(), 1000);
    happ_peer_closed(h, 1, 5);
    EXPECT_EQ(happ_answers(h, 1), 0u);
    EXPECT_EQ(happ_app_for(h, nullptr), HAPP_NONE);
    EXPECT_TRUE(Run(1000).empty());
    EXPECT_EQ(happ_pending(h), 0u);
    EXPECT_EQ(happ_get_stats(h)->opens, 0u);
}

// sink: reads at its rate; closes once the peer closed and the last byte was read.
TEST_F(Apps, SinkClosesAfterThePeerAndTheLastRead)
{
    cfg.app = HAPP_SINK;
    cfg.consume_mbps = 8; // a byte takes 1000 cycles
    cfg.read_bytes = 300;
    Make();
    EXPECT_FALSE(happ_immediate(h));
    Open(1, Key(), 1000);
    EXPECT_EQ(happ_answers(h, 1), 1u);
    happ_ready(h, 1, 500, 10);
    happ_peer_closed(h, 1, 20);
    EXPECT_EQ(Run(300009), (std::vector<Cmd>{R(1, 300, 10)}));
    EXPECT_EQ(Run(CYCLE_NEVER - 1), (std::vector<Cmd>{R(1, 200, 300010), C(1, 300010)}));
    EXPECT_EQ(happ_pending(h), 0u);
    EXPECT_EQ(happ_get_stats(h)->closes, 1u);
    happ_ready(h, 1, 5, 900000); // data after our FIN is still read; no second close
    EXPECT_EQ(Run(CYCLE_NEVER - 1), (std::vector<Cmd>{R(1, 5, 900000)}));
}

// close = never: the sink never closes; port selection: other ports get none (still read, as
// their reads go through the model when an application is configured).
TEST_F(Apps, CloseNeverAndPortSelection)
{
    cfg.app = HAPP_SINK;
    cfg.close = HAPP_CLOSE_NEVER;
    cfg.port = 80;
    Make();
    flow_key k81 = Key(81);
    EXPECT_EQ(happ_app_for(h, &k81), HAPP_NONE);
    Open(1, Key(80), 100);
    Open(2, k81, 100);
    EXPECT_EQ(happ_answers(h, 1), 1u);
    EXPECT_EQ(happ_answers(h, 2), 0u);
    happ_ready(h, 2, 50, 7);
    happ_ready(h, 1, 40, 7);
    happ_peer_closed(h, 1, 8);
    happ_peer_closed(h, 2, 8);
    EXPECT_EQ(Run(100), (std::vector<Cmd>{R(1, 40, 7), R(2, 50, 7)}));
    EXPECT_EQ(happ_pending(h), 0u);
}

// echo: writes back what it reads, in order, as send space allows; reads wait for space; the
// bytes it holds never exceed the space; closes after the peer and the last write.
TEST_F(Apps, EchoWritesBackAndReadsOnlyWhatItCanWrite)
{
    cfg.app = HAPP_ECHO;
    cfg.read_bytes = 1000;
    cfg.write_bytes = 600;
    Make();
    Open(3, Key(), 1500);
    happ_ready(h, 3, 2500, 100);
    EXPECT_EQ(Run(100), (std::vector<Cmd>{R(3, 1000, 100), W(3, 600, 0, 100, HAPP_SRC_ECHO),
                                          W(3, 400, 600, 100, HAPP_SRC_ECHO), R(3, 500, 100),
                                          W(3, 500, 1000, 100, HAPP_SRC_ECHO)}));
    EXPECT_EQ(side[3].space, 0u);
    EXPECT_EQ(happ_backlog(h, 3), 1000u); // waits for space
    EXPECT_EQ(happ_next_cycle(h), CYCLE_NEVER);
    happ_peer_closed(h, 3, 4000);
    EXPECT_TRUE(Run(4000).empty()); // no close: 1000 bytes not read yet
    Space(3, 700, 5000);            // acks freed 700
    EXPECT_EQ(Run(5000), (std::vector<Cmd>{R(3, 700, 5000), W(3, 600, 1500, 5000, HAPP_SRC_ECHO),
                                           W(3, 100, 2100, 5000, HAPP_SRC_ECHO)}));
    Space(3, 2000, 6000);
    EXPECT_EQ(Run(6000), (std::vector<Cmd>{R(3, 300, 6000), W(3, 300, 2200, 6000, HAPP_SRC_ECHO),
                                           C(3, 6000)}));
    EXPECT_EQ(side[3].sent, RxBytes(3, 0, 2500));
    EXPECT_EQ(happ_get_stats(h)->bytes_written, 2500u);
    EXPECT_EQ(happ_get_stats(h)->echo_peak, 1000u);
    EXPECT_EQ(held_max, 1000u);
}

// A write cut short by the pool blocks the flow's writes until the space is told again; the
// rest then goes in order.
TEST_F(Apps, EchoWriteCutShortByThePool)
{
    cfg.app = HAPP_ECHO;
    Make();
    Open(0, Key(), 10000);
    happ_ready(h, 0, 3000, 1);
    pool = 1000;
    EXPECT_EQ(Run(1), (std::vector<Cmd>{R(0, 3000, 1), W(0, 3000, 0, 1, HAPP_SRC_ECHO)}));
    EXPECT_EQ(happ_get_stats(h)->writes_short, 1u);
    EXPECT_EQ(happ_owed(h, 0), 2000u);
    EXPECT_TRUE(Run(100).empty()); // blocked
    pool = UINT32_MAX;
    Space(0, 0, 200); // an ack freed pages (the space is as it was)
    EXPECT_EQ(Run(200), (std::vector<Cmd>{W(0, 2000, 1000, 200, HAPP_SRC_ECHO)}));
    EXPECT_EQ(side[0].sent, RxBytes(0, 0, 3000));
}

// reqresp: each req_bytes read owes resp_bytes of the pattern (key: the chip's side as
// source); writes in pieces of write_bytes as space allows; a partial request at the peer's
// close is dropped and the flow closes once the responses are written.
TEST_F(Apps, ReqRespWritesPatternResponses)
{
    cfg.app = HAPP_REQRESP;
    cfg.req_bytes = 100;
    cfg.resp_bytes = 250;
    cfg.write_bytes = 200;
    Make();
    flow_key k = Key(80, 51000);
    Open(2, k, 300);
    happ_ready(h, 2, 90, 10);
    EXPECT_EQ(Run(10), (std::vector<Cmd>{R(2, 90, 10)}));
    happ_ready(h, 2, 160, 20); // 250 read: two requests, 50 of a third
    EXPECT_EQ(Run(20), (std::vector<Cmd>{R(2, 160, 20), W(2, 200, 0, 20), W(2, 100, 200, 20)}));
    EXPECT_EQ(happ_get_stats(h)->requests, 2u);
    EXPECT_EQ(happ_owed(h, 2), 200u);
    happ_peer_closed(h, 2, 30);
    EXPECT_TRUE(Run(30).empty()); // 200 bytes owed, no space
    Space(2, 500, 40);
    EXPECT_EQ(Run(40), (std::vector<Cmd>{W(2, 200, 300, 40), C(2, 40)}));
    EXPECT_EQ(side[2].sent, ChipPattern(k, 0, 500));
    EXPECT_EQ(happ_get_stats(h)->writes, 3u);
    EXPECT_EQ(happ_get_stats(h)->closes, 1u);
}

// close = response: a reqresp flow closes (the chip first) as soon as its first response is
// written, before the peer closed; a request read later is not answered. Another application
// under close = response closes after the peer, as with peer.
TEST_F(Apps, ReqRespClosesAfterItsFirstResponse)
{
    cfg.app = HAPP_REQRESP;
    cfg.req_bytes = 100;
    cfg.resp_bytes = 250;
    sim_err err{};
    ASSERT_EQ(param_set(&happ_params, &cfg, "close", "response", &err), 0) << err.msg;
    Make();
    flow_key k = Key(80, 51000);
    Open(1, k, 200);
    happ_ready(h, 1, 99, 10);
    EXPECT_EQ(Run(10), (std::vector<Cmd>{R(1, 99, 10)})); // not a whole request yet: no close
    happ_ready(h, 1, 1, 20);
    EXPECT_EQ(Run(20), (std::vector<Cmd>{R(1, 1, 20), W(1, 200, 0, 20)}));
    Space(1, 100, 30); // the rest of the response, then the close
    EXPECT_EQ(Run(30), (std::vector<Cmd>{W(1, 50, 200, 30), C(1, 30)}));
    happ_ready(h, 1, 100, 40); // a second request: read, not answered
    EXPECT_EQ(Run(40), (std::vector<Cmd>{R(1, 100, 40)}));
    EXPECT_EQ(side[1].sent, ChipPattern(k, 0, 250));
    EXPECT_EQ(happ_get_stats(h)->closes, 1u);
    happ_free(h);
    h = nullptr;
    cfg.app = HAPP_SINK;
    Make();
    Open(3, Key(80, 51001), 0);
    happ_ready(h, 3, 500, 10);
    EXPECT_EQ(Run(10), (std::vector<Cmd>{R(3, 500, 10)}));
    happ_peer_closed(h, 3, 20);
    EXPECT_EQ(Run(20), (std::vector<Cmd>{C(3, 20)}));
}

// A scripted flow: writes what happ_send asks, closes when asked after its writes; nothing
// after; sends on other flows or after the close are refused.
TEST_F(Apps, ScriptedFlowSendsAndCloses)
{
    cfg.write_bytes = 1000;
    Make();
    EXPECT_TRUE(happ_immediate(h)); // app none: the script's flows still go through it
    flow_key k = Key(33000, 443);
    Open(5, k, 0, true, 0); // a connect: no send buffer yet
    EXPECT_EQ(happ_answers(h, 5), 1u);
    EXPECT_EQ(happ_get_stats(h)->opens, 1u);
    EXPECT_EQ(happ_send(h, 5, 2500, 10), 0);
    happ_shutdown(h, 5, 10);
    EXPECT_TRUE(Run(10).empty()); // no space until the send buffer opens
    Space(5, 4000, 50);
    EXPECT_EQ(Run(50), (std::vector<Cmd>{W(5, 1000, 0, 50), W(5, 1000, 1000, 50),
                                         W(5, 500, 2000, 50), C(5, 50)}));
    EXPECT_EQ(side[5].sent, ChipPattern(k, 0, 2500));
    EXPECT_EQ(happ_send(h, 5, 10, 60), -1); // closed
    EXPECT_EQ(happ_send(h, 4, 10, 60), -1); // never opened
    Open(4, Key(), 100);                    // opened, but neither app nor script
    EXPECT_EQ(happ_send(h, 4, 10, 60), -1);
    EXPECT_EQ(happ_get_stats(h)->sends_refused, 3u);
    EXPECT_TRUE(Run(1000).empty());
}

// abort: at once, dropping what is owed; a reset by the peer: nothing more.
TEST_F(Apps, AbortAndReset)
{
    cfg.app = HAPP_REQRESP;
    cfg.req_bytes = 10;
    cfg.resp_bytes = 5000;
    cfg.write_bytes = 1000;
    Make();
    Open(1, Key(80, 1), 1500, true);
    Open(2, Key(80, 2), 1500);
    EXPECT_EQ(happ_send(h, 1, 3000, 5), 0);
    happ_ready(h, 2, 10, 5);
    EXPECT_EQ(Run(5), (std::vector<Cmd>{W(1, 1000, 0, 5), W(1, 500, 1000, 5), R(2, 10, 5),
                                        W(2, 1000, 0, 5), W(2, 500, 1000, 5)}));
    happ_abort(h, 1, 9);
    happ_reset(h, 2, 9);
    Space(1, 1500, 10);
    Space(2, 1500, 10);
    EXPECT_EQ(Run(10), (std::vector<Cmd>{A(1, 9)}));
    EXPECT_EQ(happ_owed(h, 1), 0u);
    EXPECT_EQ(happ_owed(h, 2), 0u);
    happ_abort(h, 1, 20); // once
    happ_peer_closed(h, 2, 20);
    EXPECT_TRUE(Run(100).empty());
    EXPECT_EQ(happ_get_stats(h)->aborts, 1u);
    // happ_close forgets the flow; a new connection on the proxy starts afresh
    happ_close(h, 2);
    EXPECT_EQ(happ_answers(h, 2), 0u);
    side[2] = Side{};
    Open(2, Key(80, 3), 100);
    happ_ready(h, 2, 10, 200);
    EXPECT_EQ(Run(200), (std::vector<Cmd>{R(2, 10, 200), W(2, 100, 0, 200)}));
}

// happ_pop_read takes only reads: a write due first stops it.
TEST_F(Apps, PopReadStopsAtOtherCommands)
{
    cfg.app = HAPP_REQRESP;
    cfg.req_bytes = 10;
    cfg.resp_bytes = 10;
    Make();
    Open(0, Key(), 100);
    happ_ready(h, 0, 10, 1);
    uint32_t flow, bytes;
    cycle_t at;
    ASSERT_TRUE(happ_pop_read(h, 1, &flow, &bytes, &at));
    EXPECT_EQ(bytes, 10u);
    EXPECT_FALSE(happ_pop_read(h, 1, &flow, &bytes, &at)); // the response is due
    EXPECT_EQ(Run(1), (std::vector<Cmd>{W(0, 10, 0, 1)}));
}

// ---- the host script ---------------------------------------------------------------------

hscript *Parse(const std::string &text, std::string *err = nullptr)
{
    sim_err e{};
    hscript *s = hscript_parse(text.data(), text.size(), "hs.txt", &e);
    if (err)
        *err = e.msg;
    return s;
}

TEST(HostScript, ParsesAndSortsByTime)
{
    const std::string text = "# a client and a server\n"
                             "  # indented comment\n"
                             "\n"
                             "100 connect 10.0.0.1:33000 10.0.0.2:80   # first\n"
                             "20.5 connect [2001:db8::1]:443 [2001:db8::2]:50000\n"
                             "150 send #1 1000\n"
                             "150\tsend 10.0.0.1:80-10.0.0.9:41000 7\r\n"
                             "100 send #1 5\n"
                             "200.000001 close #2\n"
                             "250 abort 10.0.0.1:33000-10.0.0.2:80";
    std::string err;
    hscript *s = Parse(text, &err);
    ASSERT_NE(s, nullptr) << err;
    ASSERT_EQ(s->n, 7u);
    EXPECT_EQ(s->connects, 2u);
    // time order, file order within a time
    const uint32_t lines[] = {5, 4, 8, 6, 7, 9, 10};
    for (size_t i = 0; i < s->n; i++)
        EXPECT_EQ(s->ev[i].line, lines[i]) << i;
    EXPECT_EQ(s->ev[0].t_ps, 20500000u);
    EXPECT_EQ(s->ev[0].verb, uint32_t(HS_CONNECT));
    EXPECT_EQ(s->ev[0].conn, 2u);
    EXPECT_EQ(s->ev[0].key.af, 6);
    EXPECT_EQ(s->ev[0].key.dport, 443);   // local
    EXPECT_EQ(s->ev[0].key.sport, 50000); // remote
    EXPECT_EQ(s->ev[0].key.dst[15], 1);
    EXPECT_EQ(s->ev[0].key.dst[0], 0x20);
    EXPECT_EQ(s->ev[0].key.src[15], 2);
    const hs_event &c1 = s->ev[1];
    EXPECT_EQ(c1.t_ps, 100000000u);
    EXPECT_EQ(c1.conn, 1u);
    flow_key k = Key(33000, 80);
    EXPECT_TRUE(flow_key_eq(&c1.key, &k));
    EXPECT_EQ(s->ev[2].verb, uint32_t(HS_SEND));
    EXPECT_EQ(s->ev[2].bytes, 5u);
    EXPECT_TRUE(flow_key_eq(&s->ev[2].key, &k));
    EXPECT_EQ(s->ev[2].conn, 1u);
    EXPECT_EQ(s->ev[4].bytes, 7u);
    EXPECT_EQ(s->ev[4].conn, 0u);
    EXPECT_EQ(s->ev[4].key.sport, 41000);
    EXPECT_EQ(s->ev[4].key.src[3], 9);
    EXPECT_EQ(s->ev[5].verb, uint32_t(HS_CLOSE));
    EXPECT_EQ(s->ev[5].t_ps, 200000001u); // 200 us + 1 ps
    EXPECT_TRUE(flow_key_eq(&s->ev[5].key, &s->ev[0].key));
    EXPECT_EQ(s->ev[6].verb, uint32_t(HS_ABORT));
    EXPECT_TRUE(flow_key_eq(&s->ev[6].key, &k));
    EXPECT_TRUE(hscript_names(s, &k));
    flow_key other = Key(33001, 80);
    EXPECT_FALSE(hscript_names(s, &other));
    hscript_free(s);
    s = Parse("");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->n, 0u);
    hscript_free(s);
}

TEST(HostScript, Ipv6Forms)
{
    hscript *s = Parse("0 connect [::1]:1 [::ffff:10.0.0.2]:2\n"
                       "0 connect [1:2:3:4:5:6:7:8]:1 [fe80::]:2\n"
                       "1 close [0:0::1]:1-[::ffff:a00:2]:2\n");
    ASSERT_NE(s, nullptr);
    ASSERT_EQ(s->n, 3u);
    EXPECT_TRUE(flow_key_eq(&s->ev[2].key, &s->ev[0].key)); // the same connection, other text
    EXPECT_EQ(s->ev[2].conn, 0u);
    EXPECT_EQ(s->ev[0].key.dst[15], 1);
    const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2};
    EXPECT_EQ(0, std::memcmp(s->ev[0].key.src, mapped, 16));
    const uint8_t full[16] = {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8};
    EXPECT_EQ(0, std::memcmp(s->ev[1].key.dst, full, 16));
    EXPECT_EQ(s->ev[1].key.src[0], 0xfe);
    EXPECT_EQ(s->ev[1].key.src[1], 0x80);
    hscript_free(s);
}

TEST(HostScript, ErrorsNameFileAndLine)
{
    const std::string long_line = std::string(1100, ' ') + "1";
    const struct {
        std::string text;
        const char *msg;
    } cases[] = {
        {"\n\nx connect 1.2.3.4:1 1.2.3.5:2",
         "hs.txt:3: bad time 'x' (microseconds, e.g. 12 or 12.5, at most 6 decimals)"},
        {"1.1234567 close #1",
         "hs.txt:1: bad time '1.1234567' (microseconds, e.g. 12 or 12.5, at most 6 decimals)"},
        {"-1 close #1",
         "hs.txt:1: bad time '-1' (microseconds, e.g. 12 or 12.5, at most 6 decimals)"},
        {"10", "hs.txt:1: a time without a command"},
        {"10 open 1.2.3.4:1 1.2.3.5:2",
         "hs.txt:1: unknown command 'open' (connect, send, close, abort)"},
        {"10 connect 1.2.3.4:1", "hs.txt:1: connect takes LOCALIP:PORT REMOTEIP:PORT"},
        {"10 send #1", "hs.txt:1: send takes FLOWREF BYTES"},
        {"10 close", "hs.txt:1: close takes FLOWREF"},
        {"10 abort a b", "hs.txt:1: abort takes FLOWREF"},
        {"10 connect 1.2.3.4:1 1.2.3.5:2 x y", "hs.txt:1: too many fields"},
        {"10 connect 1.2.3.256:1 1.2.3.5:2",
         "hs.txt:1: bad address '1.2.3.256:1' (expected IP:PORT or [IPV6]:PORT, port 1..65535)"},
        {"10 connect 1.2.3.4:0 1.2.3.5:2",
         "hs.txt:1: bad address '1.2.3.4:0' (expected IP:PORT or [IPV6]:PORT, port 1..65535)"},
        {"10 connect 1.2.3.4:1 1.2.3.5:65536",
         "hs.txt:1: bad address '1.2.3.5:65536' (expected IP:PORT or [IPV6]:PORT, port 1..65535)"},
        {"10 connect [1::2::3]:1 [::1]:2",
         "hs.txt:1: bad address '[1::2::3]:1' (expected IP:PORT or [IPV6]:PORT, port 1..65535)"},
        {"10 connect 1.2.3.4:1 [::1]:2",
         "hs.txt:1: the two addresses are of different IP versions"},
        {"1 connect 1.2.3.4:1 1.2.3.5:2\n2 connect 1.2.3.4:1 1.2.3.5:2",
         "hs.txt:2: connect repeats the addresses of line 1"},
        {"10 send #1 5\n10 connect 1.2.3.4:1 1.2.3.5:2",
         "hs.txt:1: '#1' names a connect line that does not come before it"},
        {"10 connect 1.2.3.4:1 1.2.3.5:2\n5 close #1",
         "hs.txt:2: '#1' names a connect line of a later time"},
        {"10 close #0", "hs.txt:1: bad connection reference '#0' (expected #N, N from 1)"},
        {"10 close 1.2.3.4:1", "hs.txt:1: bad connection reference '1.2.3.4:1' (expected "
                               "LOCALIP:PORT-REMOTEIP:PORT or #N)"},
        {"10 close 1.2.3.4:1-1.2.3.5:x",
         "hs.txt:1: bad address '1.2.3.5:x' (expected IP:PORT or [IPV6]:PORT, port 1..65535)"},
        {"1 connect 1.2.3.4:1 1.2.3.5:2\n10 send #1 0", "hs.txt:2: bad byte count '0' (1 .. 2^40)"},
        {"1 connect 1.2.3.4:1 1.2.3.5:2\n10 send #1 1099511627777",
         "hs.txt:2: bad byte count '1099511627777' (1 .. 2^40)"},
        {"1 connect 1.2.3.4:1 1.2.3.5:2\n10 send #1 12k",
         "hs.txt:2: bad byte count '12k' (1 .. 2^40)"},
        {long_line, "hs.txt:1: line too long (1023 characters at most)"},
    };
    for (const auto &c : cases) {
        std::string err;
        hscript *s = Parse(c.text, &err);
        EXPECT_EQ(s, nullptr) << c.text;
        EXPECT_EQ(err, c.msg) << c.text;
        hscript_free(s);
    }
    std::string err;
    EXPECT_EQ(Parse(std::string("1 close #1\0x", 12), &err), nullptr);
    EXPECT_EQ(err, "hs.txt:1: a NUL byte (not a text file?)");
}

TEST(HostScript, LoadNamesTheFile)
{
    sim_err e{};
    EXPECT_EQ(hscript_load("/nonexistent/hs.txt", &e), nullptr);
    EXPECT_STREQ(e.msg, "/nonexistent/hs.txt: cannot read: No such file or directory");
    char path[] = "/tmp/hscriptXXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    const char text[] = "5 connect 10.0.0.1:1 10.0.0.2:2\n6 bogus\n";
    ASSERT_EQ(write(fd, text, sizeof text - 1), ssize_t(sizeof text - 1));
    close(fd);
    EXPECT_EQ(hscript_load(path, &e), nullptr);
    EXPECT_EQ(std::string(e.msg),
              std::string(path) + ":2: unknown command 'bogus' (connect, send, close, abort)");
    unlink(path);
}

} // namespace

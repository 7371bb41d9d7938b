// Tests of the dispatcher (models/dispatcher/dispatcher.c): flow lookup and proxy allocation,
// the drop reasons, per-packet fate, portion locking and release order, the pending pool's
// back-pressure, the three core-selection policies, flow close and proxy recycling, the
// channels' priority and the engine's exact timing.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "dispatcher.h"

namespace {

const uint8_t kRecv = 0x1; // portion 0
const uint8_t kSend = 0x2; // portion 1

// A key as sent by remote host r from port sport to the local side 10.0.1.1:80.
flow_key Key(uint8_t r, uint16_t sport = 1000)
{
    flow_key k;
    flow_key_clear(&k);
    k.af = 4;
    k.proto = 6;
    k.src[0] = 10;
    k.src[3] = r;
    k.dst[0] = 10;
    k.dst[2] = 1;
    k.dst[3] = 1;
    k.sport = sport;
    k.dport = 80;
    return k;
}

flow_key Rev(const flow_key &k)
{
    flow_key r;
    flow_key_reverse(&r, &k);
    return r;
}

event Net(uint8_t type, uint64_t pkt, const flow_key &k, uint8_t cls = EVC_RECEIVE)
{
    event e;
    event_clear(&e);
    e.type = type;
    e.cls = cls;
    e.chan = CH_NETWORK;
    e.proto = PROTO_TCP;
    e.pkt = pkt;
    e.key = k;
    return e;
}

// A timer, host or internal event naming its proxy.
event Named(uint8_t chan, uint8_t type, uint8_t cls, uint32_t flow)
{
    event e;
    event_clear(&e);
    e.type = type;
    e.cls = cls;
    e.chan = chan;
    e.flow = flow;
    return e;
}

class Disp : public ::testing::Test {
protected:
    disp_cfg cfg{};
    disp *d = nullptr;
    std::vector<unsigned> cores{2, 2};
    uint8_t portions[EVC_COUNT] = {kRecv, kSend, kRecv | kSend, kSend, 0};

    void SetUp() override { disp_cfg_default(&cfg); }
    void TearDown() override { disp_free(d); }

    void Start()
    {
        sim_err err{};
        d = disp_new(&cfg, (unsigned)cores.size(), cores.data(), portions, &err);
        ASSERT_NE(d, nullptr) << err.msg;
        uint32_t all = (1u << cores.size()) - 1u;
        for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
            if (t != EV_UDP_DATAGRAM && t != EV_OTHER)
                disp_set_route(d, t, all);
    }
    void Push(const event &e, cycle_t now)
    {
        ASSERT_TRUE(disp_can_accept(d, e.chan));
        disp_push(d, &e, now);
    }
    // Does everything due up to cycle t.
    void RunTo(cycle_t t)
    {
        for (;;) {
            cycle_t n = disp_next_cycle(d);
            if (n > t)
                break;
            disp_advance(d, n);
        }
        disp_advance(d, t);
    }
    std::vector<disp_out> Drain()
    {
        std::vector<disp_out> v;
        disp_out o;
        while (disp_peek_out(d, &o)) {
            v.push_back(o);
            disp_pop_out(d);
        }
        return v;
    }
    // Pushes e at now into an idle engine, runs to now + lookup_cycles and returns the one
    // record it produced.
    disp_out One(const event &e, cycle_t now)
    {
        Push(e, now);
        RunTo(now + cfg.lookup_cycles);
        auto v = Drain();
        EXPECT_EQ(v.size(), 1u);
        return v.empty() ? disp_out{} : v[0];
    }
    void Complete(const disp_out &o, cycle_t now)
    {
        disp_complete(d, o.ev.flow, o.portions, o.cluster, o.core, now);
    }
    uint64_t Dropped(unsigned r) const { return disp_get_stats(d)->packets_dropped[r]; }
    uint64_t DroppedTotal() const
    {
        uint64_t n = 0;
        for (unsigned r = 0; r < DROP_REASON_COUNT; r++)
            n += Dropped(r);
        return n;
    }
};

TEST_F(Disp, ParameterTable)
{
    EXPECT_STREQ(disp_params.unit, "dispatcher");
    EXPECT_EQ(cfg.clock_mhz, 1000u);
    EXPECT_EQ(cfg.flows, 16384u);
    EXPECT_EQ(cfg.lookup_cycles, 4u);
    EXPECT_EQ(cfg.in_depth, 64u);
    EXPECT_EQ(cfg.out_depth, 64u);
    EXPECT_EQ(cfg.pending, 4096u);
    EXPECT_EQ(cfg.policy, (uint32_t)DISP_LEAST_LOADED);
    EXPECT_EQ(cfg.pickup, 1u);
    EXPECT_EQ(cfg.seed, 1u);
    sim_err err{};
    EXPECT_EQ(param_set(&disp_params, &cfg, "policy", "affinity", &err), 0) << err.msg;
    EXPECT_EQ(cfg.policy, (uint32_t)DISP_AFFINITY);
    EXPECT_EQ(param_set(&disp_params, &cfg, "flows", "16777217", &err), -1);
    EXPECT_NE(std::string(err.msg).find("dispatcher.flows"), std::string::npos) << err.msg;
    EXPECT_EQ(param_set(&disp_params, &cfg, "seed", "18446744073709551615", &err), 0) << err.msg;
    EXPECT_EQ(disp_stat_count, 14u);
    EXPECT_STREQ(disp_stat_defs[0].name, "events_in");
}

TEST_F(Disp, NewRejectsBadCounts)
{
    sim_err err{};
    unsigned many[DISP_MAX_CLUSTERS + 1] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    EXPECT_EQ(disp_new(&cfg, 0, many, portions, &err), nullptr);
    EXPECT_EQ(disp_new(&cfg, DISP_MAX_CLUSTERS + 1, many, portions, &err), nullptr);
    unsigned zero[1] = {0};
    EXPECT_EQ(disp_new(&cfg, 1, zero, portions, &err), nullptr);
    unsigned big[1] = {DISP_MAX_CORES + 1};
    EXPECT_EQ(disp_new(&cfg, 1, big, portions, &err), nullptr);
    EXPECT_NE(std::string(err.msg).find("cores"), std::string::npos) << err.msg;
    disp_cfg bad = cfg;
    bad.lookup_cycles = 0;
    EXPECT_EQ(disp_new(&bad, 1, many, portions, &err), nullptr);
    EXPECT_NE(std::string(err.msg).find("lookup_cycles"), std::string::npos) << err.msg;
}

TEST_F(Disp, SynAllocatesProxyZeroAndLeavesAfterLookupCycles)
{
    Start();
    EXPECT_TRUE(disp_idle(d));
    EXPECT_EQ(disp_next_cycle(d), CYCLE_NEVER);
    flow_key k = Key(7);
    Push(Net(EV_TCP_SYN, 0, k), 10);
    EXPECT_FALSE(disp_idle(d));
    EXPECT_EQ(disp_next_cycle(d), 10u);
    EXPECT_EQ(disp_advance(d, 10), 1u); // taken
    EXPECT_EQ(disp_next_cycle(d), 14u);
    EXPECT_EQ(disp_advance(d, 13), 0u);
    disp_out o;
    EXPECT_FALSE(disp_peek_out(d, &o));
    EXPECT_EQ(disp_advance(d, 14), 1u);
    ASSERT_TRUE(disp_peek_out(d, &o));
    EXPECT_EQ(o.kind, DISP_GO);
    EXPECT_EQ(o.ev.flow, 0u);
    EXPECT_EQ(o.opened, 1u);
    EXPECT_EQ(o.first_of_packet, 1u);
    EXPECT_EQ(o.portions, kRecv);
    EXPECT_EQ(o.cluster, 0u);
    EXPECT_EQ(o.core, 0u);
    EXPECT_EQ(o.ev.type, EV_TCP_SYN);
    ASSERT_NE(disp_flow_key(d, 0), nullptr);
    EXPECT_TRUE(flow_key_eq(disp_flow_key(d, 0), &k));
    EXPECT_EQ(disp_flow_key(d, 1), nullptr);
    EXPECT_EQ(disp_flows_in_use(d), 1u);
    EXPECT_EQ(disp_load(d, 0, 0), 1u);
    const disp_stats *st = disp_get_stats(d);
    EXPECT_EQ(st->events_in, 1u);
    EXPECT_EQ(st->events_dispatched, 1u);
    EXPECT_EQ(st->packets_in, 1u);
    EXPECT_EQ(st->packets_dispatched, 1u);
    EXPECT_EQ(st->flows_opened, 1u);
    EXPECT_EQ(st->flows_picked_up, 0u);
    EXPECT_EQ(st->busy_cycles, 4u);
    EXPECT_FALSE(disp_idle(d)); // still in the out-queue
    disp_pop_out(d);
    EXPECT_TRUE(disp_idle(d)); // in flight does not count
}

TEST_F(Disp, LaterEventsFindTheFlowAndReverseIsSentByLocalSide)
{
    Start();
    flow_key a = Key(7), b = Key(8);
    disp_out s = One(Net(EV_TCP_SYN, 0, a), 0);
    Complete(s, 10);
    disp_out s2 = One(Net(EV_TCP_SYN, 1, b), 20);
    EXPECT_EQ(s2.ev.flow, 1u);
    Complete(s2, 30);
    disp_out x = One(Net(EV_TCP_ACK, 2, a), 40);
    EXPECT_EQ(x.kind, DISP_GO);
    EXPECT_EQ(x.ev.flow, 0u);
    EXPECT_EQ(x.opened, 0u);
    disp_out y = One(Net(EV_TCP_DATA, 3, b), 50);
    EXPECT_EQ(y.ev.flow, 1u);
    EXPECT_EQ(y.opened, 0u);
    // The local side's SYN-ACK for flow a: a reference packet, not input.
    disp_out r = One(Net(EV_TCP_SYNACK, 4, Rev(a)), 60);
    EXPECT_EQ(r.kind, DISP_DROP);
    EXPECT_EQ(r.reason, DROP_SENT_BY_LOCAL_SIDE);
    EXPECT_EQ(r.ev.flow, FLOW_NONE);
    EXPECT_EQ(r.first_of_packet, 1u);
    // Even an opening type from the local side does not open a flow.
    disp_out r2 = One(Net(EV_TCP_SYN, 5, Rev(b)), 70);
    EXPECT_EQ(r2.reason, DROP_SENT_BY_LOCAL_SIDE);
    EXPECT_EQ(Dropped(DROP_SENT_BY_LOCAL_SIDE), 2u);
    EXPECT_EQ(disp_flows_in_use(d), 2u);
    EXPECT_EQ(disp_get_stats(d)->flows_opened, 2u);
}

TEST_F(Disp, UnknownNonOpeningEventIsNoFlow)
{
    Start();
    for (uint8_t t : {EV_TCP_SYNACK, EV_TCP_ACK, EV_TCP_FIN, EV_TCP_RST}) {
        disp_out o = One(Net(t, t, Key(9)), t * 100);
        EXPECT_EQ(o.kind, DISP_DROP);
        EXPECT_EQ(o.reason, DROP_NO_FLOW);
    }
    EXPECT_EQ(Dropped(DROP_NO_FLOW), 4u);
    EXPECT_EQ(disp_flows_in_use(d), 0u);
    // disp_set_opens makes a type an opener.
    disp_set_opens(d, EV_TCP_ACK, true);
    disp_out o = One(Net(EV_TCP_ACK, 10, Key(9)), 1000);
    EXPECT_EQ(o.kind, DISP_GO);
    EXPECT_EQ(o.opened, 1u);
    EXPECT_EQ(disp_get_stats(d)->flows_picked_up, 1u);
}

TEST_F(Disp, PickupOpensOnDataOnlyWhenEnabled)
{
    Start();
    disp_out o = One(Net(EV_TCP_DATA, 0, Key(3)), 0);
    EXPECT_EQ(o.kind, DISP_GO);
    EXPECT_EQ(o.opened, 1u);
    EXPECT_EQ(disp_get_stats(d)->flows_picked_up, 1u);
    EXPECT_EQ(disp_get_stats(d)->flows_opened, 1u);
    disp_free(d);
    d = nullptr;
    cfg.pickup = 0;
    Start();
    o = One(Net(EV_TCP_DATA, 0, Key(3)), 0);
    EXPECT_EQ(o.kind, DISP_DROP);
    EXPECT_EQ(o.reason, DROP_NO_FLOW);
    EXPECT_EQ(disp_get_stats(d)->flows_opened, 0u);
    o = One(Net(EV_TCP_SYN, 1, Key(3)), 100); // a SYN still opens
    EXPECT_EQ(o.opened, 1u);
}

TEST_F(Disp, FlowTableFull)
{
    cfg.flows = 2;
    Start();
    EXPECT_EQ(One(Net(EV_TCP_SYN, 0, Key(1)), 0).ev.flow, 0u);
    EXPECT_EQ(One(Net(EV_TCP_SYN, 1, Key(2)), 10).ev.flow, 1u);
    disp_out o = One(Net(EV_TCP_SYN, 2, Key(3)), 20);
    EXPECT_EQ(o.kind, DISP_DROP);
    EXPECT_EQ(o.reason, DROP_FLOW_TABLE_FULL);
    EXPECT_EQ(Dropped(DROP_FLOW_TABLE_FULL), 1u);
    EXPECT_EQ(disp_get_stats(d)->flows_peak, 2u);
    // The flows already open are still found.
    EXPECT_EQ(One(Net(EV_TCP_ACK, 3, Key(2), EVC_SEND), 30).ev.flow, 1u);
}

TEST_F(Disp, NoRouteDropsBeforeTheLookup)
{
    Start();
    event u = Net(EV_UDP_DATAGRAM, 0, Key(4));
    u.proto = PROTO_UDP;
    disp_set_opens(d, EV_UDP_DATAGRAM, true); // would open, but no cluster runs it
    disp_out o = One(u, 0);
    EXPECT_EQ(o.kind, DISP_DROP);
    EXPECT_EQ(o.reason, DROP_NO_ROUTE);
    EXPECT_EQ(disp_flows_in_use(d), 0u);
    disp_set_route(d, EV_TCP_SYN, 0);
    o = One(Net(EV_TCP_SYN, 1, Key(4)), 10);
    EXPECT_EQ(o.reason, DROP_NO_ROUTE);
    EXPECT_EQ(Dropped(DROP_NO_ROUTE), 2u);
    EXPECT_EQ(disp_get_stats(d)->flows_opened, 0u);
    // A timer event whose type no cluster runs leaves as a drop record too.
    disp_set_route(d, EV_TCP_SYN, 0x3);
    disp_out s = One(Net(EV_TCP_SYN, 2, Key(4)), 20);
    ASSERT_EQ(s.kind, DISP_GO);
    disp_set_route(d, EV_TCP_KEEPALIVE, 0);
    o = One(Named(CH_TIMER, EV_TCP_KEEPALIVE, EVC_TIMER, s.ev.flow), 30);
    EXPECT_EQ(o.reason, DROP_NO_ROUTE);
    EXPECT_EQ(o.first_of_packet, 0u);
    EXPECT_EQ(Dropped(DROP_NO_ROUTE), 2u); // not a packet
}

TEST_F(Disp, EventsOfOnePacketShareItsFate)
{
    Start();
    flow_key k = Key(5);
    // SYN carrying data: two events, one packet.
    Push(Net(EV_TCP_SYN, 0, k), 0);
    Push(Net(EV_TCP_DATA, 0, k, EVC_SEND), 0);
    // A packet of an unknown flow with two events: both dropped, counted once.
    Push(Net(EV_TCP_ACK, 1, Key(6)), 0);
    Push(Net(EV_TCP_DATA, 1, Key(6)), 0); // would open by pickup, but shares the ACK's fate
    RunTo(100);
    auto v = Drain();
    ASSERT_EQ(v.size(), 4u);
    EXPECT_EQ(v[0].kind, DISP_GO);
    EXPECT_EQ(v[0].opened, 1u);
    EXPECT_EQ(v[0].first_of_packet, 1u);
    EXPECT_EQ(v[1].kind, DISP_GO);
    EXPECT_EQ(v[1].ev.flow, v[0].ev.flow);
    EXPECT_EQ(v[1].opened, 0u);
    EXPECT_EQ(v[1].first_of_packet, 0u);
    EXPECT_EQ(v[2].reason, DROP_NO_FLOW);
    EXPECT_EQ(v[2].first_of_packet, 1u);
    EXPECT_EQ(v[3].kind, DISP_DROP);
    EXPECT_EQ(v[3].reason, DROP_NO_FLOW);
    EXPECT_EQ(v[3].first_of_packet, 0u);
    const disp_stats *st = disp_get_stats(d);
    EXPECT_EQ(st->events_in, 4u);
    EXPECT_EQ(st->packets_in, 2u);
    EXPECT_EQ(st->packets_dispatched, 1u);
    EXPECT_EQ(Dropped(DROP_NO_FLOW), 1u);
    EXPECT_EQ(st->events_dispatched, 2u);
    EXPECT_EQ(st->flows_opened, 1u);
}

TEST_F(Disp, FirstOfPacketMarksTheFirstEventToLeave)
{
    Start();
    flow_key k = Key(5);
    disp_out syn = One(Net(EV_TCP_SYN, 0, k), 0); // receive portion in flight
    // Packet 1: an ACK (receive: parks) then data to send (send portion: goes at once).
    Push(Net(EV_TCP_ACK, 1, k), 10);
    Push(Net(EV_TCP_DATA, 1, k, EVC_SEND), 10);
    RunTo(100);
    auto v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.type, EV_TCP_DATA);
    EXPECT_EQ(v[0].first_of_packet, 1u);
    Complete(syn, 100);
    RunTo(200);
    v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.type, EV_TCP_ACK);
    EXPECT_EQ(v[0].first_of_packet, 0u);
    EXPECT_EQ(disp_get_stats(d)->packets_in, 2u);
}

TEST_F(Disp, SharedFateWithAFlowClosedMeanwhile)
{
    Start();
    flow_key k = Key(5);
    disp_out syn = One(Net(EV_TCP_SYN, 0, k), 0);
    Complete(syn, 10);
    disp_flow_close(d, syn.ev.flow, 10); // proxy freed at once: nothing in flight
    EXPECT_EQ(disp_flows_in_use(d), 0u);
    disp_out o = One(Net(EV_TCP_DATA, 0, k), 20); // the same packet's second event
    EXPECT_EQ(o.kind, DISP_DROP);
    EXPECT_EQ(o.reason, DROP_NO_FLOW);
    EXPECT_EQ(o.first_of_packet, 0u);
    const disp_stats *st = disp_get_stats(d);
    EXPECT_EQ(st->events_dropped_closed, 1u);
    EXPECT_EQ(st->packets_in, 1u);
    EXPECT_EQ(st->packets_dispatched, 1u);
    EXPECT_EQ(DroppedTotal(), 0u);
}

TEST_F(Disp, PortionLockParksSameAndPassesOtherPortion)
{
    Start();
    flow_key k = Key(5);
    disp_out r1 = One(Net(EV_TCP_SYN, 0, k), 0); // (0,0), receive portion
    EXPECT_EQ(r1.cluster, 0u);
    EXPECT_EQ(r1.core, 0u);
    Push(Net(EV_TCP_ACK, 1, k), 10);            // receive: parks
    Push(Net(EV_TCP_DATA, 2, k, EVC_SEND), 10); // send portion: goes at once
    RunTo(100);
    auto v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.type, EV_TCP_DATA);
    EXPECT_EQ(v[0].portions, kSend);
    EXPECT_EQ(v[0].cluster, 0u); // least loaded: (0,0) is busy
    EXPECT_EQ(v[0].core, 1u);
    EXPECT_EQ(disp_pending_count(d), 1u);
    EXPECT_EQ(disp_get_stats(d)->events_parked, 1u);
    EXPECT_FALSE(disp_idle(d));
    EXPECT_EQ(disp_next_cycle(d), CYCLE_NEVER);
    // Completing the send event releases nothing.
    Complete(v[0], 100);
    EXPECT_EQ(disp_next_cycle(d), CYCLE_NEVER);
    // Completing the receive event releases the ACK; it costs a lookup again.
    Complete(r1, 200);
    EXPECT_EQ(disp_next_cycle(d), 200u);
    RunTo(203);
    EXPECT_TRUE(Drain().empty());
    RunTo(204);
    v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.type, EV_TCP_ACK);
    EXPECT_EQ(v[0].ev.flow, 0u);
    EXPECT_EQ(v[0].portions, kRecv);
    EXPECT_EQ(disp_pending_count(d), 0u);
    EXPECT_TRUE(disp_idle(d));
    EXPECT_EQ(disp_get_stats(d)->events_dispatched, 3u);
    EXPECT_EQ(disp_get_stats(d)->busy_cycles, 4u * 4u);
}

TEST_F(Disp, ReleaseKeepsArrivalOrderPerPortion)
{
    Start();
    flow_key k = Key(5);
    disp_out r1 = One(Net(EV_TCP_SYN, 0, k), 0);             // receive
    disp_out s1 = One(Net(EV_TCP_DATA, 1, k, EVC_SEND), 10); // send
    // Parked in this order (the timer channel would go before the network one, so each waits
    // for the engine to pass the earlier ones): R2 receive, S2 send, T both, R3 receive.
    Push(Net(EV_TCP_ACK, 2, k), 20);
    Push(Net(EV_TCP_DATA, 3, k, EVC_SEND), 20);
    RunTo(28);
    Push(Named(CH_TIMER, EV_TCP_RTO, EVC_TIMER, r1.ev.flow), 30);
    RunTo(34);
    Push(Net(EV_TCP_ACK, 4, k), 40);
    Push(Named(CH_INTERNAL, EV_TCP_INTERNAL, EVC_INTERNAL, r1.ev.flow), 40); // no portion
    RunTo(100);
    auto v = Drain();
    ASSERT_EQ(v.size(), 1u); // only the portion-free internal event goes
    EXPECT_EQ(v[0].ev.type, EV_TCP_INTERNAL);
    EXPECT_EQ(v[0].portions, 0u);
    disp_out in = v[0];
    EXPECT_EQ(disp_pending_count(d), 4u);
    EXPECT_EQ(disp_get_stats(d)->events_parked, 4u);

    Complete(s1, 100); // S2 goes: R2 ahead of it needs only the receive portion
    RunTo(150);
    v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.pkt, 3u);
    disp_out s2 = v[0];
    Complete(r1, 150); // R2 goes; T needs the send portion (S2), R3 is behind T
    RunTo(200);
    v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.pkt, 2u);
    disp_out r2 = v[0];
    Complete(s2, 200);
    Complete(in, 200);
    RunTo(250);
    EXPECT_TRUE(Drain().empty());
    Complete(r2, 250); // T goes now; R3 still waits behind it
    RunTo(300);
    v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.type, EV_TCP_RTO);
    EXPECT_EQ(v[0].portions, kRecv | kSend);
    Complete(v[0], 300);
    RunTo(400);
    v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.pkt, 4u);
    EXPECT_EQ(disp_pending_count(d), 0u);
}

TEST_F(Disp, ParkedEventsHoldBackLaterOnesSharingAPortion)
{
    Start();
    flow_key k = Key(5);
    disp_out r1 = One(Net(EV_TCP_SYN, 0, k), 0);                  // receive
    Push(Named(CH_TIMER, EV_TCP_RTO, EVC_TIMER, r1.ev.flow), 10); // both: parks
    RunTo(14);
    Push(Net(EV_TCP_DATA, 1, k, EVC_SEND), 20); // send is free, but T is ahead: parks
    RunTo(24);
    EXPECT_TRUE(Drain().empty());
    EXPECT_EQ(disp_pending_count(d), 2u);
    Complete(r1, 100); // T goes; S2 still behind it
    RunTo(200);
    auto v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.type, EV_TCP_RTO);
    disp_out t = v[0];

    // At release too: with R3 and S3 in flight, park T2 (both), R4, S4 (held by T2 only).
    Complete(t, 200);
    RunTo(204);
    v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.pkt, 1u);
    disp_out s3 = v[0];
    disp_out r3 = One(Net(EV_TCP_ACK, 2, k), 210);
    Push(Named(CH_TIMER, EV_TCP_DELACK, EVC_TIMER, r1.ev.flow), 220);
    RunTo(224);
    Push(Net(EV_TCP_ACK, 3, k), 230);
    Push(Net(EV_TCP_DATA, 4, k, EVC_SEND), 230);
    RunTo(300);
    EXPECT_EQ(disp_pending_count(d), 3u);
    Complete(s3, 300); // the send portion is free, but T2 ahead of S4 wants it
    RunTo(400);
    EXPECT_TRUE(Drain().empty());
    Complete(r3, 400); // T2 goes
    RunTo(500);
    v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.type, EV_TCP_DELACK);
    Complete(v[0], 500); // R4 and S4 go, in arrival order
    RunTo(600);
    v = Drain();
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0].ev.pkt, 3u);
    EXPECT_EQ(v[1].ev.pkt, 4u);
    EXPECT_NE(v[0].cluster * 2 + v[0].core, v[1].cluster * 2 + v[1].core);
}

TEST_F(Disp, ReleasedEventsGoBeforeEveryChannel)
{
    Start();
    flow_key k = Key(5);
    disp_out r1 = One(Net(EV_TCP_SYN, 0, k), 0);
    disp_out b = One(Net(EV_TCP_SYN, 1, Key(6)), 10);
    Complete(b, 15);
    Push(Net(EV_TCP_ACK, 2, k), 20); // parks at 20..24
    RunTo(30);
    // Queued while the engine is free at 50: network, host, timer, internal (the last three
    // of a class that needs no portion, so none of them parks).
    Push(Net(EV_TCP_ACK, 3, Key(6)), 50);
    event send = Named(CH_HOST, EV_TCP_SEND, EVC_INTERNAL, b.ev.flow);
    send.key = Key(6); // a host event names its connection's key too
    Push(send, 50);
    Push(Named(CH_TIMER, EV_TCP_DELACK, EVC_INTERNAL, b.ev.flow), 50);
    Push(Named(CH_INTERNAL, EV_TCP_INTERNAL, EVC_INTERNAL, b.ev.flow), 50);
    Complete(r1, 50); // releases the parked ACK at 50
    RunTo(1000);
    auto v = Drain();
    ASSERT_EQ(v.size(), 5u);
    EXPECT_EQ(v[0].ev.pkt, 2u); // released
    EXPECT_EQ(v[1].ev.chan, CH_INTERNAL);
    EXPECT_EQ(v[2].ev.chan, CH_TIMER);
    EXPECT_EQ(v[3].ev.chan, CH_HOST);
    EXPECT_EQ(v[4].ev.chan, CH_NETWORK);
}

TEST_F(Disp, PendingPoolFullStopsTheEngine)
{
    cfg.pending = 1;
    Start();
    flow_key a = Key(1);
    disp_out r1 = One(Net(EV_TCP_SYN, 0, a), 0); // 0..4
    Push(Net(EV_TCP_ACK, 1, a), 4);              // R2 parks at 4..8, pool 1/1
    Push(Net(EV_TCP_ACK, 2, a), 5);              // R3
    Push(Net(EV_TCP_SYN, 3, Key(2)), 5);         // another flow: waits all the same
    RunTo(100);
    EXPECT_TRUE(Drain().empty());
    EXPECT_EQ(disp_next_cycle(d), CYCLE_NEVER);
    EXPECT_EQ(disp_get_stats(d)->stall_pending_full, 1u);
    EXPECT_EQ(disp_pending_count(d), 1u);
    char buf[128];
    disp_describe(d, buf, sizeof buf);
    EXPECT_STREQ(buf, "in 2/0/0/0 parked 1/1 out 0/64");
    Complete(r1, 100); // R2 released: 100..104; R3 parks 104..108; pool full again
    EXPECT_EQ(disp_next_cycle(d), 100u);
    RunTo(200);
    auto v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.pkt, 1u);
    EXPECT_EQ(disp_get_stats(d)->stall_pending_full, 2u);
    Complete(v[0], 200); // R3 released: 200..204, then the SYN 204..208
    EXPECT_EQ(disp_next_cycle(d), 200u);
    RunTo(204);
    v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.pkt, 2u);
    EXPECT_EQ(disp_next_cycle(d), 208u);
    RunTo(208);
    v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.pkt, 3u);
    EXPECT_EQ(v[0].ev.flow, 1u);
    EXPECT_EQ(disp_get_stats(d)->busy_cycles, 6u * 4u);
}

TEST_F(Disp, RoundRobinCyclesPerClusterSet)
{
    cfg.policy = DISP_ROUND_ROBIN;
    Start();
    disp_set_route(d, EV_TCP_SYN, 0x3);
    disp_set_route(d, EV_TCP_DATA, 0x2); // its own cursor
    std::vector<std::pair<unsigned, unsigned>> syn, data;
    for (uint8_t i = 0; i < 5; i++) {
        disp_out o = One(Net(EV_TCP_SYN, i, Key(i)), i * 10u);
        syn.emplace_back(o.cluster, o.core);
        if (i < 3) {
            disp_out x = One(Net(EV_TCP_DATA, 100 + i, Key(i), EVC_SEND), i * 10u + 5);
            data.emplace_back(x.cluster, x.core);
        }
    }
    std::vector<std::pair<unsigned, unsigned>> want_syn{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {0, 0}};
    std::vector<std::pair<unsigned, unsigned>> want_data{{1, 0}, {1, 1}, {1, 0}};
    EXPECT_EQ(syn, want_syn);
    EXPECT_EQ(data, want_data);
}

TEST_F(Disp, LeastLoadedPicksFewestInFlightTiesRoundRobin)
{
    Start(); // least_loaded is the default
    std::vector<disp_out> o;
    for (uint8_t i = 0; i < 4; i++)
        o.push_back(One(Net(EV_TCP_SYN, i, Key(i)), i * 10u));
    EXPECT_EQ(o[0].cluster * 2 + o[0].core, 0u);
    EXPECT_EQ(o[1].cluster * 2 + o[1].core, 1u);
    EXPECT_EQ(o[2].cluster * 2 + o[2].core, 2u);
    EXPECT_EQ(o[3].cluster * 2 + o[3].core, 3u);
    Complete(o[2], 100); // (1,0) now has the fewest
    // Send-class events, so that the SYNs' receive portions do not park them.
    disp_out x = One(Net(EV_TCP_ACK, 10, Key(0), EVC_SEND), 110);
    EXPECT_EQ(x.cluster, 1u);
    EXPECT_EQ(x.core, 0u);
    EXPECT_EQ(disp_load(d, 1, 0), 1u);
    Complete(o[1], 120);
    Complete(o[3], 120); // (0,1) and (1,1) empty: the first after the last chosen, (1,0), wins
    disp_out y = One(Net(EV_TCP_ACK, 11, Key(1), EVC_SEND), 130);
    EXPECT_EQ(y.cluster, 1u);
    EXPECT_EQ(y.core, 1u);
    disp_out y2 = One(Net(EV_TCP_ACK, 13, Key(2), EVC_SEND), 135); // then (0,1), wrapping
    EXPECT_EQ(y2.cluster, 0u);
    EXPECT_EQ(y2.core, 1u);
    // Restricted to cluster 1 (its own cursor, from its first core): (1,0) and (1,1) both
    // carry one event, so the tie goes to the first.
    disp_set_route(d, EV_TCP_ACK, 0x2);
    disp_out z = One(Net(EV_TCP_ACK, 12, Key(3), EVC_SEND), 140);
    EXPECT_EQ(z.cluster, 1u);
    EXPECT_EQ(z.core, 0u);
}

TEST_F(Disp, LeastLoadedWithinOneClusterWrapsFromTheCursor)
{
    cores = {1, 4};
    Start();
    disp_set_route(d, EV_TCP_SYN, 0x2); // cluster 1 only: 4 cores
    std::vector<disp_out> o;
    for (uint8_t i = 0; i < 4; i++) // all idle: round robin from core 0
        o.push_back(One(Net(EV_TCP_SYN, i, Key(i)), i * 10u));
    for (unsigned i = 0; i < 4; i++) {
        EXPECT_EQ(o[i].cluster, 1u);
        EXPECT_EQ(o[i].core, i);
    }
    Complete(o[2], 100); // loads 1 1 0 1: core 2
    disp_out a = One(Net(EV_TCP_SYN, 4, Key(4)), 110);
    EXPECT_EQ(a.core, 2u);
    Complete(o[0], 120);
    Complete(o[1], 120); // loads 0 0 1 1, cursor at 3: wraps to core 0
    disp_out b = One(Net(EV_TCP_SYN, 5, Key(5)), 130);
    EXPECT_EQ(b.core, 0u);
    disp_out c = One(Net(EV_TCP_SYN, 6, Key(6)), 140); // loads 1 0 1 1
    EXPECT_EQ(c.core, 1u);
    disp_out e = One(Net(EV_TCP_SYN, 7, Key(7)), 150); // all 1, cursor at 2
    EXPECT_EQ(e.cluster, 1u);
    EXPECT_EQ(e.core, 2u);
    EXPECT_EQ(disp_load(d, 1, 2), 2u);
}

TEST_F(Disp, AffinityHashesTheProxy)
{
    cfg.policy = DISP_AFFINITY;
    Start();
    // ((p * 2654435761) mod 2^32 >> 16) mod 4 for p = 0..5: 0, 3, 2, 2, 1, 1.
    const unsigned want[6] = {0, 3, 2, 2, 1, 1};
    for (uint8_t p = 0; p < 6; p++) {
        disp_out o = One(Net(EV_TCP_SYN, p, Key(p)), p * 10u);
        ASSERT_EQ(o.ev.flow, p);
        EXPECT_EQ(o.cluster * 2u + o.core, want[p]) << "proxy " << unsigned(p);
        Complete(o, p * 10u + 5);
    }
    // Every later event of a flow goes to the same core, whatever the load.
    for (uint8_t p = 0; p < 6; p++) {
        disp_out o = One(Net(EV_TCP_ACK, 10 + p, Key(p)), 100 + p * 10u);
        EXPECT_EQ(o.cluster * 2u + o.core, want[p]);
    }
    // With three routed cores (cluster 1 has one): 0, 0, 2, 0, 2, 2.
    disp_free(d);
    d = nullptr;
    cores = {2, 1};
    Start();
    const unsigned want3[6] = {0, 0, 2, 0, 2, 2};
    for (uint8_t p = 0; p < 6; p++) {
        disp_out o = One(Net(EV_TCP_SYN, p, Key(p)), p * 10u);
        EXPECT_EQ(o.cluster * 2u + o.core, want3[p]) << "proxy " << unsigned(p);
    }
}

TEST_F(Disp, CloseRecyclesTheProxyOnlyWhenItsEventsAreDone)
{
    cfg.flows = 2;
    Start();
    flow_key a = Key(1), b = Key(2);
    disp_out s = One(Net(EV_TCP_SYN, 0, a), 0); // proxy 0, in flight
    disp_flow_close(d, 0, 10);
    disp_flow_close(d, 0, 11); // idempotent
    EXPECT_EQ(disp_get_stats(d)->flows_closed, 1u);
    EXPECT_EQ(disp_flows_in_use(d), 1u);
    EXPECT_NE(disp_flow_key(d, 0), nullptr); // closing, not yet free
    // A new SYN of the same 5-tuple opens a new flow.
    disp_out s2 = One(Net(EV_TCP_SYN, 1, a), 20);
    EXPECT_EQ(s2.kind, DISP_GO);
    EXPECT_EQ(s2.ev.flow, 1u);
    EXPECT_EQ(s2.opened, 1u);
    // Proxy 0 is not free while its SYN is in flight.
    disp_out f = One(Net(EV_TCP_SYN, 2, b), 30);
    EXPECT_EQ(f.reason, DROP_FLOW_TABLE_FULL);
    Complete(s, 40);
    EXPECT_EQ(disp_flows_in_use(d), 1u);
    EXPECT_EQ(disp_flow_key(d, 0), nullptr);
    disp_out s3 = One(Net(EV_TCP_SYN, 3, b), 50);
    EXPECT_EQ(s3.ev.flow, 0u);
    EXPECT_EQ(s3.opened, 1u);
    EXPECT_TRUE(flow_key_eq(disp_flow_key(d, 0), &b));
    EXPECT_EQ(disp_get_stats(d)->flows_opened, 3u);
    EXPECT_EQ(disp_get_stats(d)->flows_peak, 2u);
}

TEST_F(Disp, CloseWaitsForParkedEvents)
{
    Start();
    flow_key a = Key(1);
    disp_out s = One(Net(EV_TCP_SYN, 0, a), 0);
    Push(Net(EV_TCP_ACK, 1, a), 10); // parks
    RunTo(20);
    disp_flow_close(d, 0, 20);
    Complete(s, 30); // the ACK is released: the proxy stays
    EXPECT_EQ(disp_flows_in_use(d), 1u);
    RunTo(40);
    auto v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.flow, 0u);
    EXPECT_EQ(v[0].kind, DISP_GO);
    Complete(v[0], 50);
    EXPECT_EQ(disp_flows_in_use(d), 0u);
    EXPECT_TRUE(disp_idle(d));
}

TEST_F(Disp, TimerEventsOfClosedOrFreeFlowsAreDropped)
{
    Start();
    disp_out s = One(Net(EV_TCP_SYN, 0, Key(1)), 0);
    Complete(s, 5);
    disp_out t = One(Named(CH_TIMER, EV_TCP_RTO, EVC_TIMER, s.ev.flow), 10);
    EXPECT_EQ(t.kind, DISP_GO); // open flow: the proxy, no lookup
    EXPECT_EQ(t.ev.flow, s.ev.flow);
    EXPECT_EQ(t.first_of_packet, 0u);
    EXPECT_EQ(t.portions, kRecv | kSend);
    disp_flow_close(d, s.ev.flow, 20); // closing: the timer event is still in flight
    disp_out c = One(Named(CH_TIMER, EV_TCP_DELACK, EVC_TIMER, s.ev.flow), 30);
    EXPECT_EQ(c.kind, DISP_DROP);
    EXPECT_EQ(c.reason, DROP_NO_FLOW);
    EXPECT_NE(disp_flow_key(d, s.ev.flow), nullptr);
    Complete(t, 40); // now free
    EXPECT_EQ(disp_flow_key(d, s.ev.flow), nullptr);
    disp_out f = One(Named(CH_INTERNAL, EV_TCP_INTERNAL, EVC_INTERNAL, s.ev.flow), 50);
    EXPECT_EQ(f.reason, DROP_NO_FLOW);
    disp_out n = One(Named(CH_TIMER, EV_TCP_RTO, EVC_TIMER, 12345), 60); // never opened
    EXPECT_EQ(n.reason, DROP_NO_FLOW);
    disp_out big = One(Named(CH_HOST, EV_TCP_SEND, EVC_HOST, FLOW_NONE), 70);
    EXPECT_EQ(big.reason, DROP_NO_FLOW);
    const disp_stats *st = disp_get_stats(d);
    EXPECT_EQ(st->events_dropped_closed, 4u);
    EXPECT_EQ(st->packets_in, 1u); // not packets
    EXPECT_EQ(DroppedTotal(), 0u);
}

// A host event waits (for its time, for room in the host channel) while its connection closes
// and a new SYN takes the freed proxy: the event names the old connection's key, so the new
// connection never gets it; one with the new key does.
TEST_F(Disp, HostEventOfAClosedConnectionDoesNotReachTheProxysNextOne)
{
    cfg.flows = 1; // one proxy: the next connection takes the one just freed
    Start();
    disp_out a = One(Net(EV_TCP_SYN, 0, Key(1)), 0);
    Complete(a, 5);
    disp_flow_close(d, a.ev.flow, 10);
    disp_out b = One(Net(EV_TCP_SYN, 1, Key(2)), 20);
    Complete(b, 25);
    ASSERT_EQ(b.ev.flow, a.ev.flow); // the proxy reused
    event stale = Named(CH_HOST, EV_TCP_SEND, EVC_HOST, a.ev.flow);
    stale.key = Key(1);
    disp_out o = One(stale, 30);
    EXPECT_EQ(o.kind, DISP_DROP);
    EXPECT_EQ(o.reason, DROP_NO_FLOW);
    EXPECT_EQ(disp_get_stats(d)->events_dropped_closed, 1u);
    event fresh = Named(CH_HOST, EV_TCP_SEND, EVC_HOST, b.ev.flow);
    fresh.key = Key(2);
    o = One(fresh, 40);
    EXPECT_EQ(o.kind, DISP_GO);
    EXPECT_EQ(o.ev.flow, b.ev.flow);
    EXPECT_EQ(disp_get_stats(d)->events_dropped_closed, 1u);
}

TEST_F(Disp, EngineServesOneEventPerLookupCycles)
{
    cfg.lookup_cycles = 5;
    Start();
    Push(Net(EV_TCP_SYN, 0, Key(1)), 0);
    Push(Net(EV_TCP_SYN, 1, Key(2)), 1);
    Push(Net(EV_TCP_SYN, 2, Key(3)), 20);
    std::vector<cycle_t> when;
    for (;;) {
        cycle_t n = disp_next_cycle(d);
        if (n == CYCLE_NEVER)
            break;
        disp_advance(d, n);
        disp_out o;
        while (disp_peek_out(d, &o)) {
            when.push_back(n);
            disp_pop_out(d);
        }
    }
    EXPECT_EQ(when, (std::vector<cycle_t>{5, 10, 25}));
    EXPECT_EQ(disp_get_stats(d)->busy_cycles, 15u);
    // Everything due in one late call, still in order.
    for (uint8_t i = 0; i < 3; i++)
        Push(Net(EV_TCP_ACK, 10 + i, Key(1 + i), EVC_SEND), 100);
    EXPECT_EQ(disp_advance(d, 1000), 6u); // three starts, three finishes
    auto v = Drain();
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[0].ev.pkt, 10u);
    EXPECT_EQ(v[2].ev.pkt, 12u);
}

TEST_F(Disp, OutQueueFullStallsTheEngine)
{
    cfg.out_depth = 1;
    Start();
    Push(Net(EV_TCP_SYN, 0, Key(1)), 0);
    Push(Net(EV_TCP_SYN, 1, Key(2)), 0);
    Push(Net(EV_TCP_SYN, 2, Key(3)), 9);
    RunTo(8); // first out at 4, second due at 8: blocked
    EXPECT_EQ(disp_next_cycle(d), CYCLE_NEVER);
    EXPECT_EQ(disp_get_stats(d)->stall_out_full, 1u);
    RunTo(12);
    EXPECT_EQ(disp_get_stats(d)->stall_out_full, 1u); // counted once
    char buf[128];
    disp_describe(d, buf, sizeof buf);
    EXPECT_STREQ(buf, "in 1/0/0/0 parked 0/4096 out 1/1");
    disp_pop_out(d);
    EXPECT_EQ(disp_next_cycle(d), 12u); // the latest cycle seen
    EXPECT_EQ(disp_advance(d, 12), 2u); // the blocked record leaves, the third starts
    disp_out o;
    ASSERT_TRUE(disp_peek_out(d, &o));
    EXPECT_EQ(o.ev.pkt, 1u);
    disp_pop_out(d);
    EXPECT_EQ(disp_next_cycle(d), 16u);
    RunTo(16);
    ASSERT_TRUE(disp_peek_out(d, &o));
    EXPECT_EQ(o.ev.pkt, 2u);
}

TEST_F(Disp, InputChannelBackPressure)
{
    cfg.in_depth = 2;
    Start();
    Push(Net(EV_TCP_SYN, 0, Key(1)), 0);
    Push(Net(EV_TCP_SYN, 1, Key(2)), 0);
    EXPECT_FALSE(disp_can_accept(d, CH_NETWORK));
    EXPECT_TRUE(disp_can_accept(d, CH_TIMER));
    disp_refuse(d, CH_NETWORK);
    disp_refuse(d, CH_NETWORK);
    EXPECT_EQ(disp_get_stats(d)->stall_in_full, 2u);
    char buf[128];
    disp_describe(d, buf, sizeof buf);
    EXPECT_STREQ(buf, "in 2/0/0/0 parked 0/4096 out 0/64");
    disp_advance(d, 0); // the first is taken
    EXPECT_TRUE(disp_can_accept(d, CH_NETWORK));
}

// A long pseudo-random run: packets of one to three events from a few hosts, in both
// directions, with completions after random delays and closes on FIN. Every event leaves
// exactly once, every packet is counted once, and the first record of each packet is marked.
TEST_F(Disp, PacketAccountingInvariantOverARandomRun)
{
    cfg.flows = 6;
    cfg.pending = 8;
    cfg.in_depth = 4;
    cfg.out_depth = 4;
    Start();
    uint64_t rnd = 12345;
    auto next = [&rnd](uint32_t n) {
        rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
        return (uint32_t)(rnd >> 33) % n;
    };
    struct Arrival {
        event ev;
        cycle_t at;
    };
    std::vector<Arrival> arr;
    const uint8_t types[] = {EV_TCP_SYN, EV_TCP_ACK, EV_TCP_DATA, EV_TCP_FIN, EV_UDP_DATAGRAM};
    const uint64_t npkt = 400;
    cycle_t at = 0;
    for (uint64_t p = 0; p < npkt; p++) {
        at += next(6);
        flow_key k = Key((uint8_t)(1 + next(8)));
        if (next(5) == 0)
            k = Rev(k);
        unsigned nev = 1 + next(3);
        for (unsigned i = 0; i < nev; i++) {
            uint8_t t = types[next(5)];
            uint8_t cls = next(3) == 0 ? EVC_SEND : EVC_RECEIVE;
            arr.push_back({Net(t, p, k, cls), at});
        }
    }
    struct Done {
        disp_out o;
        cycle_t at;
        bool close;
    };
    std::vector<Done> inflight;
    size_t ai = 0;
    uint64_t go = 0, drop = 0, first = 0;
    cycle_t now = 0;
    for (; now < 200000; now++) {
        for (size_t i = 0; i < inflight.size();) {
            if (inflight[i].at <= now) {
                Complete(inflight[i].o, now);
                if (inflight[i].close)
                    disp_flow_close(d, inflight[i].o.ev.flow, now);
                inflight.erase(inflight.begin() + (long)i);
            } else {
                i++;
            }
        }
        while (ai < arr.size() && arr[ai].at <= now) {
            if (!disp_can_accept(d, CH_NETWORK)) {
                disp_refuse(d, CH_NETWORK);
                break;
            }
            disp_push(d, &arr[ai].ev, now);
            ai++;
        }
        disp_advance(d, now);
        disp_out o;
        while (disp_peek_out(d, &o)) {
            disp_pop_out(d);
            first += o.first_of_packet;
            if (o.kind == DISP_GO) {
                go++;
                inflight.push_back({o, now + 2 + next(30), o.ev.type == EV_TCP_FIN});
            } else {
                drop++;
            }
        }
        if (ai == arr.size() && inflight.empty() && disp_idle(d))
            break;
    }
    ASSERT_LT(now, 200000u) << "no progress";
    const disp_stats *st = disp_get_stats(d);
    EXPECT_EQ(st->events_in, arr.size());
    EXPECT_EQ(go + drop, arr.size());
    EXPECT_EQ(st->events_dispatched, go);
    EXPECT_EQ(st->packets_in, npkt);
    EXPECT_EQ(st->packets_in, st->packets_dispatched + DroppedTotal());
    EXPECT_EQ(first, npkt);
    EXPECT_GT(st->packets_dispatched, 0u);
    EXPECT_GT(Dropped(DROP_SENT_BY_LOCAL_SIDE), 0u);
    EXPECT_GT(Dropped(DROP_NO_ROUTE), 0u);
    EXPECT_GT(Dropped(DROP_FLOW_TABLE_FULL), 0u);
    EXPECT_GT(st->events_parked, 0u);
    EXPECT_GT(st->flows_closed, 0u);
    EXPECT_EQ(st->flows_peak, 6u);
    EXPECT_EQ(disp_pending_count(d), 0u);
    for (unsigned c = 0; c < 2; c++)
        for (unsigned k = 0; k < 2; k++)
            EXPECT_EQ(disp_load(d, c, k), 0u);
    EXPECT_EQ(disp_flows_in_use(d), st->flows_opened - st->flows_closed);
}

} // namespace

namespace {
// A RoCE key: requester r sends to the local side 10.0.1.1, destination QP qp.
flow_key RoceKey(uint8_t r, uint32_t qp, bool from_local = false)
{
    flow_key k;
    flow_key_clear(&k);
    k.af = 4;
    k.proto = 17;
    k.dport = ROCE_UDP_PORT;
    k.qp = qp;
    uint8_t *remote = from_local ? k.dst : k.src, *local = from_local ? k.src : k.dst;
    remote[0] = 10;
    remote[3] = r;
    local[0] = 10;
    local[2] = 1;
    local[3] = 1;
    return k;
}
} // namespace

// A queue pair opened from outside: its requests go to its proxy with the RoCE image's
// portions; the local side's packets (its own QP number) are sent_by_local_side; a request for
// an unknown QP is no_flow (RoCE opens no flow by itself).
// The flow table (open addressing, linear probing, removal by moving later slots back): over a
// random run of opens and closes on a small table (16 proxies, 32 slots, so probe runs form and
// proxies are recycled), disp_find_flow finds exactly the open keys, never a closed or reversed
// one, and opening an open key fails.
TEST_F(Disp, FlowTableFindsExactlyTheOpenKeysThroughChains)
{
    cfg.flows = 16;
    Start();
    std::vector<uint32_t> proxy(40, UINT32_MAX); // by key index
    uint32_t seed = 99;
    auto rnd = [&seed](uint32_t n) {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) % n;
    };
    auto key = [](uint32_t i) { return Key(static_cast<uint8_t>(i % 10), 1000 + i / 10); };
    unsigned opened = 0, closed = 0, full = 0;
    for (int step = 0; step < 5000; step++) {
        uint32_t i = rnd(40);
        flow_key k = key(i);
        if (proxy[i] == UINT32_MAX) {
            uint32_t f = disp_open_flow(d, &k, nullptr);
            if (f == UINT32_MAX) {
                EXPECT_EQ(disp_flows_in_use(d), cfg.flows) << step; // only when full
                full++;
            } else {
                proxy[i] = f;
                opened++;
            }
        } else if (rnd(2)) {
            EXPECT_EQ(disp_open_flow(d, &k, nullptr), UINT32_MAX) << step; // already open
        } else {
            disp_flow_close(d, proxy[i], 0);
            proxy[i] = UINT32_MAX;
            closed++;
        }
        if (step % 50 == 0)
            for (uint32_t j = 0; j < proxy.size(); j++) {
                flow_key kj = key(j), rj = Rev(kj);
                ASSERT_EQ(disp_find_flow(d, &kj), proxy[j]) << step << " key " << j;
                ASSERT_EQ(disp_find_flow(d, &rj), UINT32_MAX) << step << " key " << j;
            }
    }
    EXPECT_GT(opened, 800u);
    EXPECT_GT(closed, 800u);
    EXPECT_GT(full, 10u);
}

// The table's hash is symmetric (a key and its reverse share a probe sequence, so one probe
// answers both lookups a packet needs), for TCP and for RoCE keys, and depends on the seed.
TEST_F(Disp, TableHashIsSymmetricAndSeeded)
{
    Start();
    for (uint8_t r = 0; r < 20; r++) {
        flow_key k = Key(r, static_cast<uint16_t>(1000 + 7 * r));
        flow_key rk = Rev(k);
        EXPECT_EQ(disp_key_hash(d, &k), disp_key_hash(d, &rk)) << int(r);
        flow_key q = RoceKey(r, 0x100u + r);
        flow_key rq = Rev(q);
        EXPECT_EQ(disp_key_hash(d, &q), disp_key_hash(d, &rq)) << int(r);
        EXPECT_NE(disp_key_hash(d, &k), disp_key_hash(d, &q)) << int(r);
    }
    flow_key a = Key(1, 1000), b = Key(1, 1001);
    EXPECT_NE(disp_key_hash(d, &a), disp_key_hash(d, &b));
    disp_cfg other = cfg;
    other.seed = 2;
    sim_err err{};
    disp *d2 = disp_new(&other, (unsigned)cores.size(), cores.data(), portions, &err);
    ASSERT_NE(d2, nullptr) << err.msg;
    EXPECT_NE(disp_key_hash(d, &a), disp_key_hash(d2, &a));
    disp_free(d2);
}

// Keys chosen to collide on one home slot (and one whose home is the next slot, and a run that
// wraps past the last slot): each is found after the others' closes, which move later slots
// back into the hole; a packet under the reverse of a key in such a run is sent_by_local_side,
// one under the key itself goes to its proxy.
TEST_F(Disp, FlowTableCollisionsAndRemovalInARun)
{
    cfg.flows = 8; // 16 slots
    Start();
    const uint32_t mask = 15;
    auto home = [&](const flow_key &k) {
        return static_cast<uint32_t>(disp_key_hash(d, &k)) & mask;
    };
    // Candidates by home slot.
    std::vector<std::vector<flow_key>> by_home(16);
    for (uint16_t p = 0; p < 4000; p++) {
        flow_key k = Key(static_cast<uint8_t>(p % 200), static_cast<uint16_t>(2000 + p));
        by_home[home(k)].push_back(k);
    }
    for (const auto &v : by_home)
        ASSERT_GE(v.size(), 4u);
    for (uint32_t h : {3u, 15u}) { // 15: the run wraps to slots 0, 1, ...
        disp_free(d);
        d = nullptr;
        Start();
        uint32_t next = (h + 1) & mask;
        // A, B, C share home h; D's home is h + 1, so it lands after C.
        std::vector<flow_key> k = {by_home[h][0], by_home[h][1], by_home[h][2], by_home[next][0]};
        for (uint32_t i = 0; i < 4; i++)
            ASSERT_EQ(disp_open_flow(d, &k[i], nullptr), i); // proxies in FIFO order
        for (uint32_t i = 0; i < 4; i++)
            EXPECT_EQ(disp_find_flow(d, &k[i]), i) << h;
        disp_flow_close(d, 0, 0); // A: B, C move back; D may move to its home
        EXPECT_EQ(disp_find_flow(d, &k[0]), UINT32_MAX) << h;
        for (uint32_t i = 1; i < 4; i++)
            EXPECT_EQ(disp_find_flow(d, &k[i]), i) << h;
        disp_flow_close(d, 2, 0); // C, from the middle of the run
        EXPECT_EQ(disp_find_flow(d, &k[2]), UINT32_MAX) << h;
        EXPECT_EQ(disp_find_flow(d, &k[1]), 1u) << h;
        EXPECT_EQ(disp_find_flow(d, &k[3]), 3u) << h;
        EXPECT_EQ(disp_open_flow(d, &k[0], nullptr), 4u) << h; // freed proxies join the tail
        EXPECT_EQ(disp_find_flow(d, &k[0]), 4u) << h;
        EXPECT_EQ(disp_find_flow(d, &k[1]), 1u) << h;
        EXPECT_EQ(disp_find_flow(d, &k[3]), 3u) << h;
        // Packets: the reverse of B (the local side's) and B itself.
        disp_out o = One(Net(EV_TCP_ACK, 1, Rev(k[1])), 0);
        EXPECT_EQ(o.kind, DISP_DROP) << h;
        EXPECT_EQ(o.reason, DROP_SENT_BY_LOCAL_SIDE) << h;
        o = One(Net(EV_TCP_ACK, 2, k[1], EVC_SEND), 10);
        EXPECT_EQ(o.kind, DISP_GO) << h;
        EXPECT_EQ(o.ev.flow, 1u) << h;
        EXPECT_EQ(o.opened, 1u) << h; // opened from outside: its first event
        // A new SYN whose key collides with the others opens the next proxy.
        o = One(Net(EV_TCP_SYN, 3, by_home[h][3]), 20);
        EXPECT_EQ(o.kind, DISP_GO) << h;
        EXPECT_EQ(o.ev.flow, 5u) << h;
        EXPECT_EQ(disp_find_flow(d, &by_home[h][3]), 5u) << h;
        EXPECT_EQ(disp_flows_in_use(d), 4u) << h;
    }
}

// least_loaded within one cluster keeps the set of its least-loaded cores as loads change; over
// a random run of dispatches and completions its choices equal the rule's (fewest in flight,
// ties to the first after the last chosen, wrapping), computed here from disp_load.
TEST_F(Disp, LeastLoadedSetFollowsLoadsOverARandomRun)
{
    cores = {2, 7};
    cfg.pending = 1; // one flow per event: nothing parks
    Start();
    disp_set_route(d, EV_TCP_ACK, 0x2); // cluster 1 only
    uint32_t seed = 7;
    auto rnd = [&seed](uint32_t n) {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) % n;
    };
    std::vector<disp_out> inflight;
    unsigned cursor = 0, checked = 0;
    for (uint32_t i = 0; i < 600; i++) {
        if (!inflight.empty() && (rnd(3) == 0 || inflight.size() > 12)) {
            size_t j = rnd(static_cast<uint32_t>(inflight.size()));
            Complete(inflight[j], i * 10u);
            inflight.erase(inflight.begin() + static_cast<long>(j));
            continue;
        }
        unsigned want = 0;
        uint32_t best = UINT32_MAX;
        for (unsigned x = 0; x < 7; x++) {
            unsigned c = (cursor + x) % 7;
            if (disp_load(d, 1, c) < best) {
                best = disp_load(d, 1, c);
                want = c;
            }
        }
        flow_key k = Key(static_cast<uint8_t>(i % 250), static_cast<uint16_t>(3000 + i));
        uint32_t f = disp_open_flow(d, &k, nullptr);
        ASSERT_NE(f, UINT32_MAX);
        disp_out o = One(Net(EV_TCP_ACK, i, k, EVC_SEND), i * 10u);
        ASSERT_EQ(o.kind, DISP_GO) << i;
        ASSERT_EQ(o.cluster, 1u) << i;
        ASSERT_EQ(o.core, want) << i;
        cursor = (want + 1) % 7;
        disp_flow_close(d, f, i * 10u + 5);
        inflight.push_back(o);
        checked++;
    }
    EXPECT_GT(checked, 300u);
}

TEST_F(Disp, QueuePairsOpenedFromOutside)
{
    Start();
    const uint8_t roce[EVC_COUNT] = {0x4, 0x4, 0x4, 0x4 | 0x8, 0};
    disp_set_portions(d, PROTO_ROCE, roce);
    flow_key req = RoceKey(5, 0x11), local = RoceKey(5, 0x22, true);
    uint32_t f = disp_open_flow(d, &req, &local);
    ASSERT_NE(f, UINT32_MAX);
    EXPECT_EQ(disp_open_flow(d, &req, nullptr), UINT32_MAX); // already open
    EXPECT_EQ(disp_flows_in_use(d), 1u);
    EXPECT_EQ(disp_get_stats(d)->flows_opened, 1u);
    ASSERT_NE(disp_flow_key(d, f), nullptr);
    EXPECT_TRUE(flow_key_eq(disp_flow_key(d, f), &req));

    event e = Net(EV_ROCE_SEND_ONLY, 1, req);
    e.proto = PROTO_ROCE;
    disp_out o = One(e, 0);
    EXPECT_EQ(o.kind, DISP_GO);
    EXPECT_EQ(o.ev.flow, f);
    EXPECT_EQ(o.opened, 1u);    // the flow's first event: its state starts zeroed
    EXPECT_EQ(o.portions, 0x4); // the RoCE image's, not the TCP one's (kRecv)
    Complete(o, 10);

    event h = Named(CH_HOST, EV_ROCE_CONNECT, EVC_HOST, f);
    h.proto = PROTO_ROCE;
    h.key = req;
    o = One(h, 20);
    EXPECT_EQ(o.kind, DISP_GO);
    EXPECT_EQ(o.opened, 0u);
    EXPECT_EQ(o.portions, 0xc);
    Complete(o, 30);

    event ack = Net(EV_ROCE_ACK, 2, local);
    ack.proto = PROTO_ROCE;
    o = One(ack, 40);
    EXPECT_EQ(o.kind, DISP_DROP);
    EXPECT_EQ(o.reason, DROP_SENT_BY_LOCAL_SIDE);

    event other = Net(EV_ROCE_SEND_ONLY, 3, RoceKey(5, 0x12));
    other.proto = PROTO_ROCE;
    o = One(other, 60);
    EXPECT_EQ(o.kind, DISP_DROP);
    EXPECT_EQ(o.reason, DROP_NO_FLOW);

    // TCP keeps its own portions
    o = One(Net(EV_TCP_SYN, 4, Key(7)), 80);
    EXPECT_EQ(o.kind, DISP_GO);
    EXPECT_EQ(o.portions, kRecv);
    EXPECT_EQ(Dropped(DROP_SENT_BY_LOCAL_SIDE), 1u);
    EXPECT_EQ(Dropped(DROP_NO_FLOW), 1u);
}

// `.needs TYPE` (docs/isa.md): a type's own portions override its class's, for that type only
// and that protocol only. With tcp_rto needing the send portion while the other timers keep
// the class's (receive | send), an RTO runs beside a receive event of its flow and a delayed
// ACK does not; a RoCE timer keeps its class's portions.
TEST_F(Disp, TypeOverridesTakeTheirOwnPortions)
{
    Start();
    uint8_t needs[EV_TYPE_COUNT] = {}, by_type[EV_TYPE_COUNT] = {};
    needs[EV_TCP_RTO] = 1;
    by_type[EV_TCP_RTO] = kSend;
    disp_set_type_portions(d, PROTO_TCP, needs, by_type);
    flow_key k = Key(9);
    disp_out r = One(Net(EV_TCP_SYN, 0, k), 0); // holds the receive portion
    EXPECT_EQ(r.portions, kRecv);
    disp_out rto = One(Named(CH_TIMER, EV_TCP_RTO, EVC_TIMER, r.ev.flow), 10);
    EXPECT_EQ(rto.ev.type, EV_TCP_RTO);
    EXPECT_EQ(rto.portions, kSend); // not parked behind the receive event
    Push(Named(CH_TIMER, EV_TCP_DELACK, EVC_TIMER, r.ev.flow), 20);
    RunTo(40);
    EXPECT_TRUE(Drain().empty()); // the class's receive | send: both are busy
    EXPECT_EQ(disp_pending_count(d), 1u);
    Complete(r, 50);
    Complete(rto, 50);
    RunTo(60);
    auto v = Drain();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].ev.type, EV_TCP_DELACK);
    EXPECT_EQ(v[0].portions, kRecv | kSend);
    event roce = Named(CH_TIMER, EV_ROCE_ACK_TIMER, EVC_TIMER, r.ev.flow);
    roce.proto = PROTO_ROCE;
    Complete(v[0], 70);
    disp_out o = One(roce, 80);
    EXPECT_EQ(o.portions, kRecv | kSend); // the override is TCP's alone
}

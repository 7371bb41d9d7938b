// IpuUnit: wraps the C IPU model (models/ipu). Moves frames from the ingress FIFO into the
// model when it accepts them, advances it at the cycles it asks for, and drains its out-queue
// into the event channel. Woken by: a frame becoming ready, its own next_cycle, room in the
// event channel, and scratchpad cells being freed.
#pragma once

#include <array>

#include <systemc>

#include "channel.h"
#include "ipu.h"
#include "scratchpad_port.h"
#include "simtime.h"

class IpuUnit : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(IpuUnit);
    IpuUnit(sc_core::sc_module_name name, const ipu_cfg &cfg, ScratchpadPort &sp,
            TimedChannel<pkt> &in, TimedChannel<event> &out);
    ~IpuUnit() override { ipu_fini(&u_); }

    const ipu &model() const { return u_; }
    void reset_stats() // the end of the warm-up
    {
        u_.st = {};
        proto_packets_ = {};
        proto_bytes_ = {};
    }
    // Packets that derived events, and their frames' bytes, by the events' protocol.
    const std::array<uint64_t, PROTO_COUNT> &proto_packets() const { return proto_packets_; }
    const std::array<uint64_t, PROTO_COUNT> &proto_bytes() const { return proto_bytes_; }
    const UnitClock &clock() const { return clk_; }
    // The last time an activation did work (ps): the end of the run is the latest of these.
    uint64_t last_work_ps() const { return last_work_ps_; }

private:
    void run();
    unsigned step(cycle_t cyc, uint64_t now);
    bool settled(cycle_t cyc, uint64_t now) const;

    ipu u_;
    UnitClock clk_;
    ScratchpadPort &sp_;
    TimedChannel<pkt> &in_;
    TimedChannel<event> &out_;
    SchedEvent wake_;
    SchedProc proc_;
    uint64_t last_work_ps_ = 0;
    uint64_t last_pkt_ = UINT64_MAX;
    std::array<uint64_t, PROTO_COUNT> proto_packets_{}, proto_bytes_{};
};

// DispatcherUnit: wraps the dispatcher (models/dispatcher). Takes events from its three input
// channels (network from the IPU, timer from the lookup controller, internal from the cores)
// while the model accepts them, and completions and closes from the lookup controller; sends
// each dispatched event to the lookup controller and frees the frames of dropped ones.
#pragma once

#include <systemc>

#include "channel.h"
#include "dispatcher.h"
#include "history.h"
#include "lookup.h"
#include "messages.h"
#include "scratchpad_port.h"
#include "simtime.h"

class DispatcherUnit : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(DispatcherUnit);
    // Each protocol's image gives the portions each event class needs; routes come from the
    // config.
    DispatcherUnit(sc_core::sc_module_name name, const disp_cfg &cfg, unsigned ncluster,
                   const unsigned *cores, const ProtoImages &imgs, const uint32_t *route_mask,
                   ScratchpadPort &sp, TimedChannel<event> &net, TimedChannel<event> &host,
                   TimedChannel<event> &timer, TimedChannel<event> &internal,
                   TimedChannel<DispMsg> &ctl, TimedChannel<luc_req> &out);
    ~DispatcherUnit() override { disp_free(d_); }
    const disp *model() const { return d_; }
    disp *model() { return d_; }
    void reset_stats() { disp_reset_stats(d_); } // the end of the warm-up
    const UnitClock &clock() const { return clk_; }
    void set_history(History *h) { history_ = h; }
    // Called with the flow of each event dispatched to a core, as it leaves: the top level
    // prefetches that flow's state in the units it will reach next (host speed only).
    void set_go_hint(void (*fn)(void *ctx, uint32_t flow), void *ctx)
    {
        go_hint_ = fn;
        go_ctx_ = ctx;
    }
    // After the latest activation, as variables for waveform tracing.
    const uint32_t &flows_in_use() const { return flows_in_use_; }
    const uint32_t &parked() const { return parked_; }
    // The last time an activation did work (ps): the end of the run is the latest of these.
    uint64_t last_work_ps() const { return last_work_ps_; }

private:
    void run();
    unsigned take_input(unsigned ch, uint64_t now, cycle_t cyc, bool *blocked);
    disp *d_ = nullptr;
    UnitClock clk_;
    ScratchpadPort &sp_;
    TimedChannel<event> *in_[CH_COUNT] = {};
    TimedChannel<DispMsg> &ctl_;
    TimedChannel<luc_req> &out_;
    History *history_ = nullptr;
    void (*go_hint_)(void *, uint32_t) = nullptr;
    void *go_ctx_ = nullptr;
    uint32_t flows_in_use_ = 0, parked_ = 0;
    SchedEvent wake_;
    SchedProc proc_;
    uint64_t last_work_ps_ = 0;
};

// LookupUnit: wraps the lookup controller (models/lookup). Takes dispatched events and the
// cores' write-backs, timer commands and closes; sends each ready job to its cluster's job
// channel, each fired timer to the dispatcher's timer channel, and, after a write-back, tells
// the dispatcher that the event's portions are free (messages.h says why in that order).
#pragma once

#include <systemc>
#include <vector>

#include "channel.h"
#include "lookup.h"
#include "messages.h"
#include "simtime.h"

class LookupUnit : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(LookupUnit);
    LookupUnit(sc_core::sc_module_name name, const luc_cfg &cfg, uint32_t flows,
               const ProtoImages &imgs, TimedChannel<luc_req> &in, TimedChannel<LucMsg> &ctl,
               std::vector<TimedChannel<luc_job> *> jobs, TimedChannel<event> &timers,
               TimedChannel<DispMsg> &disp_ctl);
    ~LookupUnit() override { luc_free(l_); }
    const luc *model() const { return l_; }
    void reset_stats() { luc_reset_stats(l_); } // the end of the warm-up
    const UnitClock &clock() const { return clk_; }
    // The last time an activation did work (ps): the end of the run is the latest of these.
    uint64_t last_work_ps() const { return last_work_ps_; }
    // Timers armed after the latest activation (a variable for waveform tracing).
    const uint32_t &timers_armed() const { return timers_armed_; }

private:
    void run();
    bool control(const LucMsg &m, cycle_t cyc); // false: no room to tell the dispatcher
    luc *l_ = nullptr;
    UnitClock clk_;
    TimedChannel<luc_req> &in_;
    TimedChannel<LucMsg> &ctl_;
    std::vector<TimedChannel<luc_job> *> jobs_;
    TimedChannel<event> &timers_;
    TimedChannel<DispMsg> &disp_ctl_;
    SchedEvent wake_;
    SchedProc proc_;
    uint64_t last_work_ps_ = 0;
    uint32_t timers_armed_ = 0;
    SchedEvent timer_wake_; // timers apart: see luc_next_timer
};

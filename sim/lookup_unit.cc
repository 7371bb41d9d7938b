#include "lookup_unit.h"

#include <stdexcept>

LookupUnit::LookupUnit(sc_core::sc_module_name name, const luc_cfg &cfg, uint32_t flows,
                       const ProtoImages &imgs, TimedChannel<luc_req> &in,
                       TimedChannel<LucMsg> &ctl, std::vector<TimedChannel<luc_job> *> jobs,
                       TimedChannel<event> &timers, TimedChannel<DispMsg> &disp_ctl)
    : sc_module(name), clk_(cfg.clock_mhz), in_(in), ctl_(ctl), jobs_(std::move(jobs)),
      timers_(timers), disp_ctl_(disp_ctl)
{
    sim_err err;
    l_ = luc_new_protos(&cfg, flows, imgs[PROTO_TCP], imgs.data(), &err);
    if (!l_)
        throw std::runtime_error(err.msg);
    proc_.bind<&LookupUnit::run>(this);
    proc_ << in.data_event() << ctl.data_event() << timers.space_event() << disp_ctl.space_event()
          << wake_ << timer_wake_;
    for (auto *j : jobs_)
        proc_ << j->space_event();
}

bool LookupUnit::control(const LucMsg &m, cycle_t cyc)
{
    switch (m.kind) {
    case LucMsg::WRITEBACK:
    case LucMsg::CLOSE: {
        if (!disp_ctl_.can_push()) {
            disp_ctl_.refuse(true);
            return false;
        }
        DispMsg *d = disp_ctl_.push();
        d->flow = m.flow;
        if (m.kind == LucMsg::WRITEBACK) {
            luc_writeback(l_, m.slot, cyc);
            d->kind = DispMsg::COMPLETE;
            d->cluster = m.cluster;
            d->portions = m.portions;
            d->core = m.core;
        } else {
            luc_flow_close(l_, m.flow);
            d->kind = DispMsg::CLOSE;
        }
        return true;
    }
    case LucMsg::TIMER_SET:
        luc_timer_set(l_, m.flow, m.timer, clk_.cycle_at(m.expiry_ps), cyc);
        return true;
    case LucMsg::TIMER_CANCEL:
        luc_timer_cancel(l_, m.flow, m.timer);
        return true;
    }
    return true;
}

// Each step passes at this clock edge over everything ready (control messages, requests, the
// model's due work, jobs and timer events out). The step after one that moved something is left
// out when it is known to move nothing and count nothing: no refusal to repeat (each step counts
// its own), no request held back for room that the step made, and nothing due in the model
// (luc_next_cycle after an advance at cyc).
void LookupUnit::run()
{
    cycle_t next = CYCLE_NEVER, timer = CYCLE_NEVER; // the model's, after the last step
    bool repeat = false;  // the last step counted a refusal, as every further one would
    bool in_held = false; // ... or held a request back for the model's room
    auto step = [&](cycle_t cyc) {
        const uint64_t now = clk_.time_of(cyc);
        unsigned progress = 0;
        repeat = in_held = false;
        while (LucMsg *m = ctl_.peek(now)) {
            if (!control(*m, cyc)) {
                repeat = true;
                break;
            }
            ctl_.pop(now);
            progress++;
        }
        while (luc_req *r = in_.peek(now)) {
            if (!luc_can_accept(l_)) {
                in_held = true;
                break;
            }
            luc_push(l_, r, cyc);
            in_.pop(now);
            progress++;
        }
        progress += luc_advance(l_, cyc);
        while (const luc_job *j = luc_front_out(l_)) {
            TimedChannel<luc_job> *out = jobs_[j->cluster];
            if (!out->can_push()) {
                out->refuse(true);
                repeat = true;
                break;
            }
            luc_job *o = out->push(now);
            *o = *j;
            o->ev.t_luc_out = now;
            luc_pop_out(l_);
            progress++;
        }
        while (const event *e = luc_front_timer(l_)) {
            if (!timers_.can_push()) {
                timers_.refuse(true);
                repeat = true;
                break;
            }
            event *o = timers_.push(now);
            *o = *e;
            o->t_arrival = now;
            luc_pop_timer(l_);
            progress++;
        }
        next = luc_next_cycles(l_, &timer);
        return progress;
    };
    auto settled = [&](cycle_t cyc) {
        return !repeat && !(in_held && luc_can_accept(l_)) && next > cyc;
    };
    if (!run_until_idle(clk_, wake_, last_work_ps_, step, settled))
        return;
    const uint64_t now = now_ps();
    timers_armed_ = luc_timers_armed(l_);
    if (next < timer)
        wake_at_cycle(clk_, wake_, next, now);
    wake_at_cycle(clk_, timer_wake_, timer, now);
}

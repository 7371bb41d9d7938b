#include "dispatcher_unit.h"

#include <stdexcept>

DispatcherUnit::DispatcherUnit(sc_core::sc_module_name name, const disp_cfg &cfg, unsigned ncluster,
                               const unsigned *cores, const ProtoImages &imgs,
                               const uint32_t *route_mask, ScratchpadPort &sp,
                               TimedChannel<event> &net, TimedChannel<event> &host,
                               TimedChannel<event> &timer, TimedChannel<event> &internal,
                               TimedChannel<DispMsg> &ctl, TimedChannel<luc_req> &out)
    : sc_module(name), clk_(cfg.clock_mhz), sp_(sp), ctl_(ctl), out_(out)
{
    sim_err err;
    d_ = disp_new(&cfg, ncluster, cores, imgs[PROTO_TCP]->class_portions, &err);
    if (!d_)
        throw std::runtime_error(err.msg);
    for (unsigned p = 0; p < PROTO_COUNT; p++) {
        disp_set_portions(d_, p, imgs[p]->class_portions);
        disp_set_type_portions(d_, p, imgs[p]->type_needs, imgs[p]->type_portions);
    }
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        disp_set_route(d_, t, route_mask[t]);
    in_[CH_NETWORK] = &net;
    in_[CH_HOST] = &host;
    in_[CH_TIMER] = &timer;
    in_[CH_INTERNAL] = &internal;
    proc_.bind<&DispatcherUnit::run>(this);
    proc_ << net.data_event() << host.data_event() << timer.data_event() << internal.data_event()
          << ctl.data_event() << out.space_event() << wake_;
}

void DispatcherUnit::run()
{
    // Nothing else runs during this activation, so within it the control channel and the input
    // channels only lose items: the later steps skip the control channel, and every input
    // channel but those that stopped for the model's room (their bits stay in `check`).
    // disp_advance returns at once when nothing it depends on has changed since its last call.
    bool first = true;
    unsigned check = (1u << CH_COUNT) - 1;
    auto step = [this, &first, &check](cycle_t cyc) {
        const uint64_t now = clk_.time_of(cyc); // run_until_idle steps on clock edges
        unsigned progress = 0;
        if (first) {
            first = false;
            while (DispMsg *m = ctl_.peek(now)) {
                if (m->kind == DispMsg::COMPLETE)
                    disp_complete(d_, m->flow, m->portions, m->cluster, m->core, cyc);
                else
                    disp_flow_close(d_, m->flow, cyc);
                ctl_.pop(now);
                progress++;
            }
        }
        for (unsigned left = check; left;) {
            unsigned ch = static_cast<unsigned>(__builtin_ctz(left));
            left &= left - 1;
            TimedChannel<event> *in = in_[ch];
            for (;;) {
                event *e = in->peek(now);
                if (!e) {
                    check &= ~(1u << ch); // empty (or not ready) for the rest of the activation
                    break;
                }
                if (!disp_can_accept(d_, ch))
                    break; // the model's own next_cycle wakes us when it has room
                e->t_disp_in = now;
                disp_push(d_, e, cyc);
                in->pop(now);
                progress++;
            }
        }
        progress += disp_advance(d_, cyc);
        while (const disp_out *op = disp_front(d_)) {
            const disp_out &o = *op;
            if (o.kind == DISP_GO) {
                if (!out_.can_push()) {
                    out_.refuse(true);
                    break;
                }
                luc_req *r = out_.push(now);
                r->ev = o.ev;
                r->ev.t_disp_out = now;
                r->cluster = o.cluster;
                r->portions = o.portions;
                r->core = o.core;
                r->fresh = o.opened;
            } else {
                if (o.ev.sp_handle != SP_NONE)
                    sp_.release(o.ev.sp_handle); // dropped: counted by the model
                if (history_ && o.ev.pkt == history_->packet())
                    history_->dropped(o.reason);
            }
            disp_pop_out(d_);
            progress++;
        }
        return progress;
    };
    if (!run_until_idle(clk_, wake_, last_work_ps_, step))
        return;
    uint64_t now = now_ps();
    flows_in_use_ = disp_flows_in_use(d_);
    parked_ = disp_pending_count(d_);
    wake_at_cycle(clk_, wake_, disp_next_cycle(d_), now);
}

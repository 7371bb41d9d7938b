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

// Moves the ready events of input channel ch into the model while it accepts them. Returns how
// many; *blocked tells whether it stopped for the model's room (else the channel has nothing
// ready for the rest of this activation).
inline unsigned DispatcherUnit::take_input(unsigned ch, uint64_t now, cycle_t cyc, bool *blocked)
{
    TimedChannel<event> *in = in_[ch];
    unsigned n = 0;
    *blocked = false;
    while (event *e = in->peek(now)) {
        if (!disp_can_accept(d_, ch)) {
            *blocked = true; // the model's own next_cycle wakes us when it has room
            break;
        }
        e->t_disp_in = now;
        disp_push(d_, e, cyc);
        in->pop(now);
        n++;
    }
    return n;
}

void DispatcherUnit::run()
{
    // Cheaper steps than plain run_until_idle's: nothing else runs during this activation, so
    // within it the control channel and the input channels only lose items. The control channel
    // is read in the first step only; a later step reads only the input channels that stopped
    // for the model's room (bits of `check`); disp_advance returns at once when nothing it
    // depends on has changed since its last call; and the last step is left out when it could do
    // nothing: no channel waits for the model's room, the model is settled and no record waits
    // for out_'s room (a step with one counts a refusal, as every further step would).
    bool first = true;
    unsigned check = 0; // channels that stopped for the model's room
    bool stuck = false; // a record waits for out_'s room
    auto step = [&](cycle_t cyc) {
        const uint64_t now = clk_.time_of(cyc);
        unsigned progress = 0;
        if (first) {
            while (DispMsg *m = ctl_.peek(now)) {
                if (m->kind == DispMsg::COMPLETE)
                    disp_complete(d_, m->flow, m->portions, m->cluster, m->core, cyc);
                else
                    disp_flow_close(d_, m->flow, cyc);
                ctl_.pop(now);
                progress++;
            }
            static_assert(CH_COUNT == 4, "the four input channels");
            bool any = (in_[0]->depth() | in_[1]->depth() | in_[2]->depth() | in_[3]->depth());
            for (unsigned ch = 0; any && ch < CH_COUNT; ch++) {
                if (!in_[ch]->depth())
                    continue;
                bool blocked;
                progress += take_input(ch, now, cyc, &blocked);
                if (blocked)
                    check |= 1u << ch;
            }
        } else {
            for (unsigned left = check; left; left &= left - 1) {
                unsigned ch = static_cast<unsigned>(__builtin_ctz(left));
                bool blocked;
                progress += take_input(ch, now, cyc, &blocked);
                if (!blocked)
                    check &= ~(1u << ch);
            }
        }
        first = false;
        progress += disp_advance(d_, cyc);
        stuck = false;
        while (const disp_out *op = disp_front(d_)) {
            const disp_out &o = *op;
            if (o.kind == DISP_GO) {
                if (!out_.can_push()) {
                    out_.refuse(true);
                    stuck = true;
                    break;
                }
                luc_req *r = out_.push(now);
                r->ev = o.ev;
                r->ev.t_disp_out = now;
                r->cluster = o.cluster;
                r->portions = o.portions;
                r->core = o.core;
                r->fresh = o.opened;
                if (go_hint_)
                    go_hint_(go_ctx_, o.ev.flow);
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
    auto settled = [&](cycle_t cyc) { return !check && !stuck && disp_settled(d_, cyc); };
    if (!run_until_idle(clk_, wake_, last_work_ps_, step, settled))
        return;
    const uint64_t now = now_ps();
    wake_at_cycle(clk_, wake_, disp_next_cycle_levels(d_, &flows_in_use_, &parked_), now);
}

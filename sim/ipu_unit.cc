#include "ipu_unit.h"

#include <stdexcept>

IpuUnit::IpuUnit(sc_core::sc_module_name name, const ipu_cfg &cfg, ScratchpadPort &sp,
                 TimedChannel<pkt> &in, TimedChannel<event> &out)
    : sc_module(name), clk_(cfg.clock_mhz), sp_(sp), in_(in), out_(out)
{
    sim_err err;
    if (ipu_init(&u_, &cfg, sp.model(), &err))
        throw std::runtime_error(err.msg);
    proc_.bind<&IpuUnit::run>(this);
    proc_ << in_.data_event() << wake_ << out_.space_event() << sp.freed();
}

// One round of work at cycle cyc (time now): takes every ready frame the IPU has room for,
// advances the model, drains its out-queue into the event channel. Returns the work done.
// (inlined into run: it is run's body, split out for reading)
[[gnu::always_inline]] inline unsigned IpuUnit::step(cycle_t cyc, uint64_t now)
{
    unsigned progress = 0;
    // A frame's bytes stay in the source's buffer until the source pushes again, which it
    // cannot do during this activation: the IPU borrows them, and the frames that do not start
    // at once (the parse engine busy) are copied into its input queue before the round ends.
    // Most start at once, so most go from the source's buffer straight into the scratchpad.
    while (ipu_can_accept(&u_)) {
        pkt *p = in_.peek(now);
        if (!p)
            break;
        ipu_push_borrowed(&u_, p, cyc);
        in_.pop(now);
        progress++;
    }
    progress += ipu_advance(&u_, cyc);
    ipu_keep_frames(&u_);
    while (const event *e = ipu_front_out(&u_)) {
        if (!out_.can_push()) {
            out_.refuse(true);
            break;
        }
        if (e->pkt != last_pkt_ && e->proto < PROTO_COUNT) { // a packet's first event
            last_pkt_ = e->pkt;
            proto_packets_[e->proto]++;
            proto_bytes_[e->proto] += e->frame_len;
        }
        event *o = out_.push(now);
        *o = *e;
        o->t_ipu_out = now;
        ipu_pop_out(&u_);
        progress++;
    }
    return progress;
}

// True when another round at cyc would find nothing to do and change nothing: no ready frame it
// could take, nothing due in the model, no event waiting. A waiting event (the channel full: the
// round would count a refusal) or a frame waiting for cells (it would count a failed allocation)
// is left to the round itself, so the counters see exactly the rounds they always saw.
[[gnu::always_inline]] inline bool IpuUnit::settled(cycle_t cyc, uint64_t now) const
{
    return !u_.blocked_sp && !u_.blocked_out && !ipu_front_out(&u_) && ipu_next_cycle(&u_) > cyc &&
           !(ipu_can_accept(&u_) && in_.peek(now));
}

void IpuUnit::run()
{
    if (!run_until_idle(
            clk_, wake_, last_work_ps_,
            [this](cycle_t cyc) { return step(cyc, clk_.time_of(cyc)); },
            [this](cycle_t cyc) { return settled(cyc, clk_.time_of(cyc)); }))
        return;
    const uint64_t now = now_ps();
    if (u_.blocked_sp)
        sp_.wait_for_cells();
    cycle_t next = ipu_next_cycle(&u_);
    uint64_t t = next == CYCLE_NEVER ? CYCLE_NEVER : clk_.time_of(next);
    if (ipu_can_accept(&u_)) {
        uint64_t r = in_.next_ready();
        if (r > now && r < t)
            t = r;
    }
    if (t != CYCLE_NEVER)
        wake_.notify(t > now ? t - now : 0);
}

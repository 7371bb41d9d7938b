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

void IpuUnit::run()
{
    auto step = [this](cycle_t cyc) {
        const uint64_t now = clk_.time_of(cyc); // run_until_idle steps on clock edges
        unsigned progress = 0;
        // A frame's bytes stay in the source's buffer until the source pushes again, which it
        // cannot do during this step: the IPU borrows them, and the frames that do not start
        // at once (the parse engine busy) are copied into its input queue before the step
        // ends. Most start at once, so most go from the source's buffer straight into the
        // scratchpad.
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
    };
    if (!run_until_idle(clk_, wake_, last_work_ps_, step))
        return;
    uint64_t now = now_ps();
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

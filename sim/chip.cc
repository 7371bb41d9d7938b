#include "chip.h"

#include <sstream>
#include <stdexcept>

namespace {
scratchpad make_sp(const sp_cfg &c)
{
    scratchpad s;
    sim_err err;
    if (sp_init(&s, &c, &err))
        throw std::runtime_error(err.msg);
    return s;
}
} // namespace

Chip::Chip(const ChipConfig &c, PcapReader &reader, bool progress)
    : cfg(c), sp(make_sp(c.scratchpad)), sp_freed("sp_freed"),
      ingress("ingress", c.chip.ingress_depth, c.chip.ingress_latency_ps),
      events("events", c.chip.event_depth, c.chip.event_latency_ps)
{
    source = std::make_unique<TraceSource>("source", reader, cfg.source, ingress, progress);
    ipu = std::make_unique<IpuUnit>("ipu", cfg.ipu, &sp, ingress, events, sp_freed);
    sink = std::make_unique<EventSink>("sink", events, &sp, sp_freed);
}

Chip::~Chip()
{
    sink.reset();
    ipu.reset();
    source.reset();
    sp_fini(&sp);
}

uint64_t Chip::run()
{
    sc_core::sc_start();
    return now_ps();
}

std::string Chip::undrained()
{
    std::ostringstream o;
    const struct ipu &u = ipu->model();
    bool stuck =
        !source->finished() || ingress.depth() || events.depth() || !ipu_idle(&u) || !sp_empty(&sp);
    if (!stuck)
        return "";
    o << "source " << (source->finished() ? "done" : "waiting") << "; ingress FIFO "
      << ingress.depth() << "/" << ingress.capacity() << "; ipu in " << ring_count(&u.in) << "/"
      << u.in.cap << " engine " << (u.busy ? "busy" : "idle")
      << (u.blocked_sp ? " (waiting for scratchpad)" : "")
      << (u.blocked_out ? " (waiting for out-queue)" : "") << " out " << ring_count(&u.out) << "/"
      << u.out.cap << "; events " << events.depth() << "/" << events.capacity() << "; scratchpad "
      << sp.st.cells_used << "/" << sp.ncells << " cells";
    return o.str();
}

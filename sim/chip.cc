#include "chip.h"

#include <sstream>
#include <stdexcept>

Chip::Chip(const ChipConfig &c, PcapReader &reader, bool progress)
    : cfg(c), sp(c.scratchpad), ingress("ingress", c.chip.ingress_depth, c.chip.ingress_latency_ps),
      events("events", c.chip.event_depth, c.chip.event_latency_ps)
{
    source = std::make_unique<TraceSource>("source", reader, cfg.source, ingress, progress);
    ipu = std::make_unique<IpuUnit>("ipu", cfg.ipu, sp, ingress, events);
    sink = std::make_unique<EventSink>("sink", events, sp);
}

Chip::~Chip()
{
    sink.reset();
    ipu.reset();
    source.reset();
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
    bool stuck = !source->finished() || ingress.depth() || events.depth() || !ipu_idle(&u) ||
                 !sp_empty(sp.model());
    if (!stuck)
        return "";
    o << "source " << (source->finished() ? "done" : "waiting") << "; ingress FIFO "
      << ingress.depth() << "/" << ingress.capacity() << "; ipu in " << ring_count(&u.in) << "/"
      << u.in.cap << " engine " << (u.busy ? "busy" : "idle")
      << (u.blocked_sp ? " (waiting for scratchpad)" : "")
      << (u.blocked_out ? " (waiting for out-queue)" : "") << " out " << ring_count(&u.out) << "/"
      << u.out.cap << "; events " << events.depth() << "/" << events.capacity() << "; scratchpad "
      << sp.model()->st.cells_used << "/" << sp.model()->ncells << " cells";
    return o.str();
}

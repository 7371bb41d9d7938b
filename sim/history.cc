#include "history.h"

#include <algorithm>
#include <cstdio>

namespace {
std::string at(uint64_t ps)
{
    char b[48];
    std::snprintf(b, sizeof b, "%12.6f us", static_cast<double>(ps) / 1e6);
    return b;
}

std::string plus(uint64_t from, uint64_t to)
{
    char b[40];
    std::snprintf(b, sizeof b, "(+%llu ps)",
                  static_cast<unsigned long long>(to >= from ? to - from : 0));
    return b;
}
} // namespace

void History::instruction(unsigned cluster, const cluster_trace_rec &r, uint64_t t_ps,
                          const std::string &where)
{
    char b[64];
    std::snprintf(b, sizeof b, "pc %-5u ", r.rec.pc);
    std::string line = at(t_ps) + "    " + b + where;
    if (r.rec.wreg >= 0) {
        std::snprintf(b, sizeof b, "    ; r%d = 0x%x", r.rec.wreg, r.rec.wval);
        line += b;
    }
    pending_.push_back({cluster, r.core, r.rec.cycle, t_ps, line});
}

void History::ended(const event &ev, unsigned cluster, const cluster_done &d, uint64_t start_ps,
                    uint64_t end_ps, const std::string &end_where)
{
    Ended e{ev, cluster, d.core, start_ps, end_ps, d.res.insns, d.res.fault, end_where, {}, {}};
    for (uint32_t i = 0; i < d.res.ncmds; i++)
        e.cmds.emplace_back(uc_cmd_name(d.res.cmds[i].cmd));
    // this event's instructions: its core's, within its run
    auto mine = [&](const Insn &x) {
        return x.cluster == cluster && x.core == d.core && x.cycle >= d.res.start &&
               x.cycle <= d.res.end;
    };
    for (const Insn &x : pending_)
        if (mine(x))
            e.insns_run.push_back(x);
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(), mine), pending_.end());
    ended_.push_back(std::move(e));
}

void History::dropped(unsigned reason)
{
    dropped_ = true;
    drop_reason_ = reason;
}

void History::print(std::ostream &o) const
{
    o << "history of packet " << pkt_ << " (its index in the trace)\n";
    if (ended_.empty()) {
        if (dropped_)
            o << "  dropped by the dispatcher: " << drop_reason_name(drop_reason_) << "\n";
        else
            o << "  no event of it reached a core: it was not in the trace, or dropped before "
                 "the dispatcher (ingress FIFO or IPU: see the drop counts)\n";
        return;
    }
    const event &first = ended_.front().ev;
    char key[160];
    flow_key_format(&first.key, key, sizeof key);
    o << "  " << first.frame_len << " bytes, " << key << "\n";
    o << "  " << at(first.t_arrival) << "  arrived at the ingress port (last bit)\n";
    o << "  " << at(first.t_ipu_out) << "  left the IPU " << plus(first.t_arrival, first.t_ipu_out)
      << "\n";
    for (const Ended &e : ended_) {
        const event &ev = e.ev;
        o << "  event " << ev_type_name(ev.type) << " (class " << ev_class_name(ev.cls) << ", flow "
          << ev.flow << ")\n";
        o << "    " << at(ev.t_disp_in) << "  taken by the dispatcher "
          << plus(ev.t_ipu_out, ev.t_disp_in) << "\n";
        o << "    " << at(ev.t_disp_out) << "  dispatched to cluster " << e.cluster << " core "
          << e.core << " " << plus(ev.t_disp_in, ev.t_disp_out) << "\n";
        o << "    " << at(ev.t_luc_out) << "  workspace in the core's memory (lookup controller) "
          << plus(ev.t_disp_out, ev.t_luc_out) << "\n";
        o << "    " << at(e.start_ps) << "  handler starts on core " << e.cluster << "." << e.core
          << " " << plus(ev.t_luc_out, e.start_ps) << "\n";
        for (const Insn &x : e.insns_run)
            o << "      " << x.line << "\n";
        o << "    " << at(e.end_ps) << "  handler ends: "
          << (e.fault ? std::string("fault ") + core_fault_name(static_cast<unsigned>(e.fault))
                      : std::string("fin"))
          << " at " << e.where << "; " << e.insns << " instructions " << plus(e.start_ps, e.end_ps)
          << "\n";
        if (!e.cmds.empty()) {
            o << "    commands:";
            for (const std::string &c : e.cmds)
                o << " " << c;
            o << "\n";
        }
    }
}

// History: every step of one packet through the chip (--history N, N its index in the trace):
// when it arrived, left the IPU, was taken and dispatched by the dispatcher (to which core, with
// which portions), had its workspace ready, and, for each of its events, the handler's every
// instruction with its cycle, source line and the register it wrote, and how it ended. Printed
// after the run (the firmware developer's "cycle history window").
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "cluster.h"
#include "event.h"
#include "image.h"

class History {
public:
    explicit History(uint64_t pkt) : pkt_(pkt) {}
    uint64_t packet() const { return pkt_; }

    // A record of an instruction a traced core retired (see ClusterUnit), time in ps.
    void instruction(unsigned cluster, const cluster_trace_rec &r, uint64_t t_ps,
                     const std::string &where);
    // One of the packet's events ended on (cluster, core); its trace records move into it.
    void ended(const event &ev, unsigned cluster, const cluster_done &d, uint64_t start_ps,
               uint64_t end_ps, const std::string &end_where);
    // The dispatcher dropped the packet for reason.
    void dropped(unsigned reason);

    void print(std::ostream &o) const;

private:
    struct Insn {
        unsigned cluster, core;
        uint64_t cycle, t_ps;
        std::string line;
    };
    struct Ended {
        event ev;
        unsigned cluster, core;
        uint64_t start_ps, end_ps, insns;
        int fault;
        std::string where;
        std::vector<std::string> cmds;
        std::vector<Insn> insns_run;
    };
    uint64_t pkt_;
    std::vector<Insn> pending_; // traced, not yet claimed by an ended event
    std::vector<Ended> ended_;
    bool dropped_ = false;
    unsigned drop_reason_ = 0;
};

// Timeline: the run as a Chrome/Perfetto trace-event JSON file (--timeline FILE.json), to open
// in ui.perfetto.dev or chrome://tracing. One track per unit stage and one per core; a slice per
// event at each stage it passed (IPU, dispatcher, lookup controller, waiting for its core, the
// handler on the core); flow arrows that follow each event from the IPU to its core. Slices of
// one unit that overlap in time (events waiting side by side) go on lanes, "dispatcher #1" ...,
// so that every track holds disjoint slices.
//
// Bounded so that files stay small: only events whose arrival lies in [from_ps, to_ps), and at
// most max_events of them (then it stops recording and says so in the file's metadata).
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "core.h"
#include "event.h"

class Timeline {
public:
    // Throws std::runtime_error when path cannot be written.
    Timeline(const std::string &path, uint64_t from_ps, uint64_t to_ps, uint64_t max_events);
    ~Timeline(); // closes the JSON
    Timeline(const Timeline &) = delete;
    Timeline &operator=(const Timeline &) = delete;

    // An event that ended on core (cluster, core) at [start_ps, end_ps) with result r.
    void record(const event &ev, unsigned cluster, unsigned core, uint64_t start_ps,
                uint64_t end_ps, const core_result &r);
    uint64_t recorded() const { return recorded_; }
    uint64_t dropped() const { return dropped_; }

private:
    int lane(const std::string &unit, uint64_t start, uint64_t end); // the tid of a free lane
    void slice(int tid, const char *name, uint64_t start, uint64_t end, const std::string &args);
    void flow(char phase, int tid, uint64_t ts, uint64_t id);
    void sep();

    FILE *f_ = nullptr;
    uint64_t from_, to_, max_;
    uint64_t recorded_ = 0, dropped_ = 0, next_id_ = 1;
    bool first_ = true;
    struct Lanes {
        int base;                  // tid of lane 0
        std::vector<uint64_t> end; // per lane: the end of its latest slice
    };
    std::map<std::string, Lanes> lanes_;
    std::map<int, std::string> names_; // tid -> track name, written at the end
    int next_tid_ = 1000;
};

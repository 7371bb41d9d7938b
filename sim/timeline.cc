#include "timeline.h"

#include <stdexcept>

namespace {
constexpr size_t kMaxLanes = 64;

// Microseconds with picosecond precision, as the trace-event format counts time.
std::string us(uint64_t ps)
{
    char b[32];
    std::snprintf(b, sizeof b, "%llu.%06llu", static_cast<unsigned long long>(ps / 1000000),
                  static_cast<unsigned long long>(ps % 1000000));
    return b;
}
} // namespace

Timeline::Timeline(const std::string &path, uint64_t from_ps, uint64_t to_ps, uint64_t max_events)
    : from_(from_ps), to_(to_ps), max_(max_events)
{
    f_ = std::fopen(path.c_str(), "w");
    if (!f_)
        throw std::runtime_error(path + ": cannot write the timeline");
    std::fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n", f_);
}

Timeline::~Timeline()
{
    for (const auto &n : names_) {
        sep();
        std::fprintf(f_,
                     "{\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"name\":\"thread_name\","
                     "\"args\":{\"name\":\"%s\"}}",
                     n.first, n.second.c_str());
        sep();
        std::fprintf(f_,
                     "{\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"name\":\"thread_sort_index\","
                     "\"args\":{\"sort_index\":%d}}",
                     n.first, n.first);
    }
    sep();
    std::fprintf(f_, "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":"
                     "\"sppsim chip\"}}");
    std::fprintf(f_, "\n],\"otherData\":{\"events_recorded\":%llu,\"events_left_out\":%llu}}\n",
                 static_cast<unsigned long long>(recorded_),
                 static_cast<unsigned long long>(dropped_));
    std::fclose(f_);
}

void Timeline::sep()
{
    if (!first_)
        std::fputs(",\n", f_);
    first_ = false;
}

int Timeline::lane(const std::string &unit, uint64_t start, uint64_t end)
{
    auto it = lanes_.find(unit);
    if (it == lanes_.end()) {
        it = lanes_.emplace(unit, Lanes{next_tid_, {}}).first;
        next_tid_ += static_cast<int>(kMaxLanes);
    }
    Lanes &l = it->second;
    size_t i = 0;
    while (i < l.end.size() && l.end[i] > start)
        i++;
    if (i == l.end.size()) {
        if (l.end.size() == kMaxLanes)
            i = kMaxLanes - 1; // too many side by side: the last lane takes the overlap
        else
            l.end.push_back(0);
    }
    if (end > l.end[i])
        l.end[i] = end;
    int tid = l.base + static_cast<int>(i);
    if (!names_.count(tid))
        names_[tid] = i ? unit + " #" + std::to_string(i) : unit;
    return tid;
}

void Timeline::slice(int tid, const char *name, uint64_t start, uint64_t end,
                     const std::string &args)
{
    sep();
    std::fprintf(f_, "{\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"name\":\"%s\",\"ts\":%s,\"dur\":%s%s}",
                 tid, name, us(start).c_str(), us(end - start).c_str(), args.c_str());
}

void Timeline::flow(char phase, int tid, uint64_t ts, uint64_t id)
{
    sep();
    std::fprintf(f_,
                 "{\"ph\":\"%c\",\"pid\":1,\"tid\":%d,\"name\":\"event\",\"cat\":\"event\","
                 "\"id\":%llu,\"ts\":%s%s}",
                 phase, tid, static_cast<unsigned long long>(id), us(ts).c_str(),
                 phase == 'f' ? ",\"bp\":\"e\"" : "");
}

void Timeline::record(const event &ev, unsigned cluster, unsigned core, uint64_t start_ps,
                      uint64_t end_ps, const core_result &r)
{
    if (ev.t_arrival < from_ || ev.t_arrival >= to_)
        return;
    if (recorded_ == max_) {
        dropped_++;
        return;
    }
    recorded_++;
    const char *type = ev_type_name(ev.type);
    char args[256];
    std::snprintf(args, sizeof args,
                  ",\"args\":{\"pkt\":%lld,\"flow\":%u,\"insns\":%llu,\"fault\":\"%s\"}",
                  ev.pkt == UINT64_MAX ? -1LL : static_cast<long long>(ev.pkt), ev.flow,
                  static_cast<unsigned long long>(r.insns), core_fault_name(r.fault));
    // the stages the event passed, each a slice [from, to) on its unit's track
    struct Stage {
        const char *unit;
        uint64_t from, to;
    } stages[] = {
        {"ipu", ev.t_arrival, ev.t_ipu_out},
        {"dispatcher", ev.t_disp_in, ev.t_disp_out},
        {"lookup", ev.t_disp_out, ev.t_luc_out},
        {"core queue", ev.t_luc_out, start_ps},
    };
    uint64_t id = next_id_++;
    bool started = false;
    for (const Stage &s : stages) {
        if (!s.to || s.to <= s.from)
            continue; // not passed (timer and internal events skip the IPU), or no time there
        int tid = lane(s.unit, s.from, s.to);
        slice(tid, type, s.from, s.to, args);
        flow(started ? 't' : 's', tid, s.from, id);
        started = true;
    }
    std::string core_track = "cluster " + std::to_string(cluster) + " core " + std::to_string(core);
    int tid = lane(core_track, start_ps, end_ps);
    slice(tid, type, start_ps, end_ps, args);
    if (started)
        flow('f', tid, start_ps, id);
}

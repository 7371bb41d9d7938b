// ClusterUnit: wraps one cluster of protocol cores (models/cluster). Starts each job the lookup
// controller sends as soon as its core's queue has room; answers the cores' answering commands
// at once (the socket memory controller through Host, the header template through the
// transmit unit's model); and, when an event ends, carries out its other commands in issue
// order: segments to the transmit unit, timers and the write-back (then a close) to the lookup
// controller, new events to the dispatcher's internal channel. Then frees the event's frame.
//
// A core fault is reported as one line (cluster_fault_report); by chip.on_fault the run stops
// or the flow is reset (closed), and the faulting event's deferred commands are dropped.
#pragma once

#include <array>
#include <cstdio>
#include <string>
#include <systemc>
#include <unordered_map>
#include <vector>

#include "channel.h"
#include "cluster.h"
#include "history.h"
#include "host.h"
#include "lookup.h"
#include "messages.h"
#include "scratchpad_port.h"
#include "simtime.h"
#include "stats.h"
#include "timeline.h"
#include "tx.h"

// The stages an event passes, for the per-stage latencies (EventStats::stage).
enum Stage {
    STAGE_IPU,
    STAGE_TO_DISPATCHER,
    STAGE_DISPATCHER,
    STAGE_LOOKUP,
    STAGE_CORE_QUEUE,
    STAGE_CORE,
    STAGE_COUNT
};
const char *stage_name(unsigned s);

// Figures every cluster adds to (one object for the chip).
struct EventStats {
    std::array<uint64_t, EV_TYPE_COUNT> count{};
    std::array<hist, EV_TYPE_COUNT> latency; // ps from t_arrival to the end of the handler
    // network events: ps spent in each stage (queueing included), so that a latency splits
    std::array<hist, STAGE_COUNT> stage;
    // per segment (packet), end to end: from its arrival to the end of the last event it
    // caused; the packets whose events are still running
    hist segment;
    // the same two by protocol (an event's proto; a segment's is its events')
    std::array<hist, PROTO_COUNT> proto_latency;
    std::array<hist, PROTO_COUNT> proto_segment;
    struct Open {
        uint32_t left;
        uint64_t arrival, end;
    };
    std::unordered_map<uint64_t, Open> open_segments;
    uint64_t faults = 0;
    std::vector<std::string> fault_lines; // the first few
    bool stop = false;                    // a fault stopped the run
    uint64_t bad_emits = 0;               // ev_emit of an unknown event type
    uint64_t bad_tx_data = 0;             // tx_data of bytes not in the send buffer
    uint64_t bad_appends = 0;             // sock_append outside the event's frame
    FILE *log = nullptr;                  // --event-log: one JSON line per finished event
    Timeline *timeline = nullptr;         // --timeline
    History *history = nullptr;           // --history
    EventStats() { reset(); }
    // Clears the counts and histograms (the end of the warm-up); faults and firmware errors
    // stay counted, whenever they happened.
    void reset()
    {
        count.fill(0);
        for (auto &h : latency)
            hist_clear(&h);
        for (auto &h : stage)
            hist_clear(&h);
        hist_clear(&segment);
        for (auto &h : proto_latency)
            hist_clear(&h);
        for (auto &h : proto_segment)
            hist_clear(&h);
    }
};

class ClusterUnit : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(ClusterUnit);
    ClusterUnit(sc_core::sc_module_name name, unsigned index, const cluster_cfg &cfg,
                const core_cfg &ccfg, const ProtoImages &imgs, uint32_t on_fault,
                ScratchpadPort &sp, Host &host, tx *txm, TimedChannel<luc_job> &jobs,
                TimedChannel<LucMsg> &luc, TimedChannel<event> &internal, TimedChannel<TxMsg> &txq,
                EventStats &st);
    ~ClusterUnit() override { cluster_fini(&c_); }
    const cluster &model() const { return c_; }
    void reset_stats() { cluster_reset_stats(&c_); } // the end of the warm-up
    // The instruction trace (docs/outputs.md) of one core of this cluster, or of one flow on
    // whichever core runs it, written to f.
    void trace_core(FILE *f, unsigned core);
    void trace_flow(FILE *f, uint32_t flow);
    const UnitClock &clock() const { return clk_; }
    // The last time an activation did work (ps): the end of the run is the latest of these.
    uint64_t last_work_ps() const { return last_work_ps_; }

private:
    // What a job needs back when it ends (its lookup slot and portions) travels with it as the
    // cluster job's tag.
    static uint64_t tag_of(uint32_t slot, uint8_t portions)
    {
        return static_cast<uint64_t>(portions) << 32 | slot;
    }
    static uint32_t tag_slot(uint64_t tag) { return static_cast<uint32_t>(tag); }
    static uint8_t tag_portions(uint64_t tag) { return static_cast<uint8_t>(tag >> 32); }
    void run();
    // false: no room in an output channel yet. now: the time (ps) of the step.
    bool finish(const cluster_done &d, uint64_t now);
    void log_event(const cluster_done &d, uint64_t end_ps);
    static uint32_t answer(void *ctx, const event *ev, core_cmd_rec *rec);
    bool in_frame(const event &ev, uint32_t off, uint32_t len);
    const uint8_t *frame_bytes(const event &ev, uint32_t off, uint32_t len);
    uint32_t append(const event &ev, uint32_t off, uint32_t len, uint32_t to, cycle_t at);
    static void trace_line(void *ctx, const core_trace_rec *r);
    static void history_line(void *ctx, const core_trace_rec *r);

    unsigned index_;
    cluster c_{};
    UnitClock clk_;
    uint32_t on_fault_;
    ScratchpadPort &sp_;
    Host &host_;
    tx *tx_;
    TimedChannel<luc_job> &jobs_;
    TimedChannel<LucMsg> &luc_;
    TimedChannel<event> &internal_;
    TimedChannel<TxMsg> &txq_;
    EventStats &st_;
    PayloadStore payloads_;    // tx_data payloads on their way to the transmit unit
    std::vector<uint8_t> buf_; // frame bytes the scratchpad cannot hand out in place
    ProtoImages imgs_;
    FILE *trace_ = nullptr;
    unsigned history_jobs_ = 0; // jobs of the --history packet pushed and not yet ended
    SchedEvent wake_;
    SchedProc proc_;
    uint64_t last_work_ps_ = 0;
};

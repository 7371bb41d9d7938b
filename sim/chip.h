// Chip: the top level. Builds the units from a ChipConfig and the microcode image, connects them
// with timed channels, and after the run checks that everything drained (SPEC §7) or reports a
// deadlock with every queue's depth.
//
//   TraceSource -ingress-> IpuUnit -events-> DispatcherUnit -requests-> LookupUnit -jobs[c]->
//   ClusterUnit c (cores) -tx-> TxUnit -> tx pcap
//        |  answering commands: Host (socket memory controller, host application)
//        +--luc_ctl (write-backs, timers, closes)-> LookupUnit -disp_ctl-> DispatcherUnit
//        +--internal events-> DispatcherUnit          LookupUnit -timer events-> DispatcherUnit
//   Frames stay in the scratchpad from the IPU until the event that carries them ends.
#pragma once

#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "channel.h"
#include "cluster_unit.h"
#include "config.h"
#include "dispatcher_unit.h"
#include "history.h"
#include "host.h"
#include "image.h"
#include "ipu_unit.h"
#include "live_source.h"
#include "lookup_unit.h"
#include "messages.h"
#include "pcap_reader.h"
#include "remote_source.h"
#include "roce_qps.h"
#include "sampler.h"
#include "scheduler.h"
#include "scratchpad_port.h"
#include "source.h"
#include "timeline.h"
#include "tx_unit.h"

// Where a run writes its per-packet outputs ("" for none).
struct RunFiles {
    std::string tx_pcap;
    std::string deliver_dir;
    std::string event_log;
    std::string flow_log;
    // Instruction trace (--uc-trace FILE with --uc-trace-core C.K or --uc-trace-flow N).
    std::string uc_trace;
    int trace_cluster = -1, trace_core = -1; // a core, or
    int64_t trace_flow = -1;                 // a flow proxy
    // Timeline (--timeline FILE): events arriving in [from_ps, to_ps), at most max_events.
    std::string timeline;
    uint64_t timeline_from_ps = 0, timeline_to_ps = UINT64_MAX, timeline_max = 20000;
    int64_t history = -1;  // --history N: the packet whose every step is told
    std::string vcd;       // --vcd FILE.vcd: waveforms of queue depths and core activity
    bool lockstep = false; // --lockstep (implied by vcd): SystemC's time follows the scheduler's
    std::string gen_pcap; // --gen-pcap FILE: in a closed-loop run, the frames that reached the port
    std::string live_pcap; // --live-pcap FILE: in a live run, the frames that crossed the port
};

// What feeds the ingress port: a capture to replay, or (remote set) the closed-loop generator's
// remote side, which answers what the chip transmits (--generate), or (live set) a Linux TAP
// interface (--live IFNAME; its cfg is the config's live table).
struct Feed {
    PcapReader *reader = nullptr;
    const rem_cfg *remote = nullptr;
    std::string live;                // the TAP interface's name
    const hscript *script = nullptr; // --host-script: the host's own commands (may be NULL)
};

class Chip {
public:
    // Elaborates the model. imgs[p] runs the events of protocol p (ev.proto; none NULL; they
    // must outlive the chip). Throws ConfigError / std::runtime_error on a bad config or an
    // image the cores reject.
    Chip(const ChipConfig &cfg, const ProtoImages &imgs, const Feed &feed, const RunFiles &files,
         bool progress, const std::vector<RoceQp> &qps = {});
    ~Chip();
    Chip(const Chip &) = delete;
    Chip &operator=(const Chip &) = delete;

    // Runs until no unit has work left (or a fault stops it). Returns the simulated time of the
    // last activity (ps).
    uint64_t run();
    // Empty when nothing is active(open_ok), every scratchpad byte was freed and the pages held
    // equal the pages in open flows' buffers; else a one-line account of what is still held,
    // unit by unit.
    std::string undrained(bool open_ok = false);
    // Work is pending somewhere: the source has records left, an item waits in a channel or a
    // unit, or a timer is armed. open_ok (a live run's end): open connections' armed timers and
    // the host application's pending reads and writes do not count, the rest does.
    bool active(bool open_ok = false);

    // The warm-up (STYLE.md: warm-up, measure, drain). When it ends, every unit's stats restart;
    // the packets read before it that were still in the chip are counted, so that packets in +
    // in_flight = processed + dropped holds for the measure phase.
    struct Warmup {
        bool configured = false, ended = false;
        uint64_t end_ps = 0;       // when it ended
        uint64_t first_packet = 0; // the index of the first packet measured
        uint64_t in_flight = 0;    // packets read before it, not yet processed nor dropped
    } warmup;

    const ChipConfig cfg;
    const ProtoImages imgs;
    ScratchpadPort sp;
    TimedChannel<pkt> ingress;
    TimedChannel<event> events;
    TimedChannel<event> timer_events;
    TimedChannel<event> internal_events;
    TimedChannel<event> host_events; // roce_connect at time 0, one per queue pair
    TimedChannel<DispMsg> disp_ctl;
    TimedChannel<luc_req> requests;
    TimedChannel<LucMsg> luc_ctl;
    std::vector<std::unique_ptr<TimedChannel<luc_job>>> jobs;
    TimedChannel<TxMsg> txq;
    EventStats ev_stats;
    std::unique_ptr<Source> source;
    RemoteSource *remote = nullptr; // the source, in a closed-loop run
    LiveSource *live = nullptr;     // the source, in a live run
    std::unique_ptr<IpuUnit> ipu;
    std::unique_ptr<DispatcherUnit> dispatcher;
    std::unique_ptr<Host> host;
    std::unique_ptr<LookupUnit> lookup;
    std::unique_ptr<TxUnit> tx;
    std::vector<std::unique_ptr<ClusterUnit>> clusters;
    std::unique_ptr<Sampler> sampler; // chip.sample_ps > 0

private:
    FILE *event_log_ = nullptr;
    FILE *flow_log_ = nullptr;
    FILE *uc_trace_ = nullptr;
    std::unique_ptr<Timeline> timeline_;
    std::unique_ptr<SchedDriver> driver_; // SystemC's one process: runs the scheduler
    sc_core::sc_trace_file *vcd_ = nullptr;
    std::string vcd_path_;
    void trace_waveforms();
    void end_warmup();
    void open_queue_pairs(const std::vector<RoceQp> &qps);

public:
    std::unique_ptr<History> history; // --history
};

// TraceSource: the ingress port. Replays trace records into the ingress FIFO (a TimedChannel)
// at the capture's timestamps, at a fixed line rate, or as fast as the FIFO accepts. A frame
// that arrives while the FIFO is full is dropped as ingress_overflow (not in saturate mode,
// where the source waits). One kernel activation per distinct arrival time.
#pragma once

#include <systemc>

#include <chrono>
#include <functional>
#include <vector>

#include "channel.h"
#include "config.h"
#include "event.h"
#include "pcap_reader.h"

struct SourceStats {
    uint64_t packets = 0; // records read from the trace
    uint64_t bytes = 0;   // their wire bytes
    uint64_t pushed = 0;  // frames that entered the ingress FIFO
    uint64_t pushed_bytes = 0;
    uint64_t drops_ingress = 0; // ingress_overflow
    uint64_t drop_bytes = 0;
    uint64_t ts_backwards = 0; // records whose timestamp was earlier than the previous one
    uint64_t first_arrival_ps = 0;
    uint64_t last_arrival_ps = 0;
};

// What the chip sees of its ingress port, whoever feeds it: a capture (TraceSource) or the
// closed-loop generator's remote side (RemoteSource).
class Source {
public:
    virtual ~Source() = default;
    virtual const SourceStats &stats() const = 0;
    // The capture timestamp (ns since the epoch) that simulated time 0 stands for.
    virtual uint64_t epoch_ns() const = 0;
    // No frame will come any more.
    virtual bool finished() const = 0;
    // The warm-up (chip.warmup_packets, chip.warmup_ps; 0: not by that measure): fn runs once,
    // at the arrival of the first packet of the measure phase — the one of index packets, or the
    // first arriving at or after ps, whichever comes first — before it enters.
    void set_warmup(uint64_t packets, uint64_t ps, std::function<void()> fn)
    {
        if (!packets && !ps)
            return;
        warm_packets_ = packets ? packets : UINT64_MAX;
        warm_ps_ = ps ? ps : UINT64_MAX;
        warm_fn_ = std::move(fn);
    }
    // Zeroes the stats at the end of the warm-up: the packet about to enter counts as read.
    virtual void reset_stats() = 0;
    // The index of the packet about to enter (during the warm-up's fn: the first one measured).
    virtual uint64_t next_index() const = 0;

protected:
    // Each source calls this as the packet of this index arrives at now, before it enters: the
    // warm-up's fn runs if that packet is the first measured.
    void check_warmup(uint64_t index, uint64_t now)
    {
        if (warm_fn_ && (index >= warm_packets_ || now >= warm_ps_)) {
            auto fn = std::move(warm_fn_);
            warm_fn_ = nullptr;
            fn();
        }
    }

private:
    uint64_t warm_packets_ = 0, warm_ps_ = 0;
    std::function<void()> warm_fn_;
};

class TraceSource : public sc_core::sc_module, public Source {
public:
    SC_HAS_PROCESS(TraceSource);
    TraceSource(sc_core::sc_module_name name, PcapReader &reader, const SourceCfg &cfg,
                TimedChannel<pkt> &out, bool progress);

    const SourceStats &stats() const override { return st_; }
    uint64_t epoch_ns() const override { return first_ts_ns_; }
    bool finished() const override { return eof_ && !have_; }
    void reset_stats() override;
    uint64_t next_index() const override { return pend_.index; }

private:
    void run();
    bool read_next();
    void progress_line(bool final);

    PcapReader &rd_;
    SourceCfg cfg_;
    TimedChannel<pkt> &out_;
    SchedEvent wake_;
    SchedProc proc_;
    // out capacity + 1 frame buffers (see read_next); the IPU reads a frame in place in the
    // step that takes it from the FIFO (IpuUnit::run), so a buffer must not change before the
    // next push
    std::vector<std::vector<uint8_t>> bufs_;
    uint64_t slot_ = 0;
    pkt pend_{};
    bool have_ = false;
    bool eof_ = false;
    uint64_t first_ts_ns_ = 0; // capture timestamp of the first record: simulated time 0
    uint64_t prev_ps_ = 0;
    uint64_t prev_ts_ns_ = 0; // capture timestamp of the record before
    unsigned __int128 bits_ = 0;
    SourceStats st_;
    uint64_t read_ = 0; // records read, the whole run (st_.packets restarts after the warm-up)
    bool progress_;
    bool progress_shown_ = false;
    std::chrono::steady_clock::time_point wall0_, last_print_;
};

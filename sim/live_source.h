// LiveSource: the ingress port in live mode (--live IFNAME, docs/live.md). The far side of the
// port is a Linux TAP interface: real TCP stacks talk to the chip's microcode.
//
// Pacing: one SC_METHOD, woken every live.tick_us of simulated time (and when a frame read from
// the TAP reaches the port). At a tick, if simulated time is ahead of the wall clock since the
// run began, it sleeps the difference; otherwise simulated time lags the wall clock and the lag
// is recorded (the "how fast can simulated time keep up" figure). Then it reads every frame
// waiting on the TAP (non-blocking): ARP requests and IPv6 neighbour solicitations for the
// chip's addresses are answered at once by the port (models/netif; written back to the TAP, not
// through the chip); frames for the chip, less live.rx_loss_ppm of them, enter the port back to
// back at live.rate_mbps and the ingress FIFO at their arrival (full: dropped as
// ingress_overflow); everything else is ignored. Every frame the chip transmits (from_chip, as
// its last bit leaves) is written to the TAP then, once the wall clock has reached its
// departure time.
//
// End: after live.duration_s of simulated time, or on SIGINT or SIGTERM: the TAP is no longer
// read, the chip gets up to live.drain_ms (simulated, not paced) to finish what it holds (the
// settled callback: nothing in flight but open connections and armed timers), then sc_stop.
//
// --live-pcap FILE: every frame that crossed the port, both directions (frames lost by
// rx_loss_ppm did not reach it), stamped with the wall-clock time simulated time 0 stood for
// plus simulated time, in time order.
#pragma once

#include <signal.h>

#include <deque>
#include <functional>
#include <ostream>
#include <string>
#include <systemc>
#include <vector>

#include "json_writer.h"
#include "netif.h"
#include "pcap_writer.h"
#include "source.h"

class LiveSource : public sc_core::sc_module, public Source {
public:
    SC_HAS_PROCESS(LiveSource);
    // Opens (or creates) the TAP interface ifname. chip_seed: the loss decisions' seed when
    // live.seed is 0. Throws std::runtime_error with a one-line message (no permission, no such
    // device, bad cfg, unwritable capture).
    LiveSource(sc_core::sc_module_name name, const netif_cfg &cfg, uint64_t chip_seed,
               const std::string &ifname, TimedChannel<pkt> &out, const std::string &pcap_path,
               bool progress);
    ~LiveSource() override;
    LiveSource(const LiveSource &) = delete;
    LiveSource &operator=(const LiveSource &) = delete;

    const SourceStats &stats() const override { return st_; }
    uint64_t epoch_ns() const override { return epoch_ns_; }
    bool finished() const override { return stopping_ && pending_.empty(); }
    void reset_stats() override;
    uint64_t next_index() const override { return index_; }

    // A frame the chip transmitted, its last bit leaving at t_ps.
    void from_chip(const uint8_t *frame, uint32_t len, uint64_t t_ps);
    // True when the chip holds nothing in flight (asked while draining at the end).
    void set_settled(std::function<bool()> fn) { settled_ = std::move(fn); }

    const std::string &ifname() const { return ifname_; }
    const netif_stats &port_stats() const { return ps_; }
    // The report's live section (text) and the stats file's "live" object.
    void write_text(std::ostream &o) const;
    void write_json(JsonWriter &j) const;

private:
    void run();
    bool read_tap(uint64_t now); // false: nothing was waiting
    void idle(uint64_t now);
    void push_due(uint64_t now);
    void write_tap(const uint8_t *f, uint32_t len);
    void dump(const uint8_t *f, uint32_t len, uint64_t t_ps);
    void pace(uint64_t t_ps, bool record);
    void begin_stop(uint64_t now, const char *why);
    void progress_line(bool final);

    struct Pending {
        std::vector<uint8_t> data;
        uint64_t arrive;
    };
    netif_cfg cfg_;
    std::string ifname_;
    int fd_ = -1;
    TimedChannel<pkt> &out_;
    SchedEvent wake_;
    SchedProc proc_;
    std::deque<Pending> pending_;            // read, on their way through the port
    std::vector<std::vector<uint8_t>> bufs_; // out capacity + 1 frame buffers (see source.cc)
    std::vector<uint8_t> rbuf_;
    uint64_t slot_ = 0;
    uint64_t index_ = 0; // frames that reached the port for the chip, the whole run
    uint64_t port_free_ps_ = 0;
    uint64_t next_tick_ps_ = 0;
    netif_rng rng_{};
    SourceStats st_;
    netif_stats ps_{};
    hist lag_{}; // ns behind the wall clock, one sample per tick (0 when ahead)
    std::function<bool()> settled_;
    bool started_ = false;
    bool stopping_ = false;
    bool stopped_ = false;
    uint64_t stop_ps_ = 0;
    std::string ended_by_;
    uint64_t wall0_ns_ = 0;                     // CLOCK_MONOTONIC at simulated time 0
    uint64_t epoch_ns_ = 0;                     // CLOCK_REALTIME at simulated time 0
    uint64_t wall_end_ns_ = 0, sim_end_ps_ = 0; // when the TAP stopped being read
    PcapWriter pcap_;                           // --live-pcap
    bool progress_;
    bool progress_shown_ = false;
    uint64_t last_print_ns_ = 0;
    struct sigaction old_int_ {
    }, old_term_{};
};

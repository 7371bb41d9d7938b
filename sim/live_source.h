// LiveSource: the ingress port in live mode (--live IFNAME, docs/live.md). The far side of the
// port is a Linux TAP interface: real TCP stacks talk to the chip's microcode.
//
// Pacing: one process (sim/scheduler.h), woken every live.tick_us of simulated time (and when a
// frame read from the TAP reaches the port). At a tick, if simulated time is ahead of the wall
// clock since the run began, it sleeps the difference; otherwise simulated time lags the wall clock
// and the lag is recorded (the "how fast can simulated time keep up" figure); a lag beyond
// live.max_lag_ms is given up (a slip: the wall-clock time simulated time 0 stands for moves on),
// rather than caught up in a burst that the chip's timers would see. Then it reads every
// frame waiting on the TAP (non-blocking): ARP requests and IPv6 neighbour solicitations for the
// chip's addresses are answered at once by the port (models/netif; written back to the TAP, not
// through the chip); frames for the chip, less live.rx_loss_ppm of them, enter the port back to
// back at live.rate_mbps and the ingress FIFO at their arrival (full: dropped as
// ingress_overflow); everything else is ignored. Every frame the chip transmits (from_chip, as
// its last bit leaves) is written to the TAP then, once the wall clock has reached its
// departure time.
//
// Writes: a thread of their own (the writer) writes the frames to the TAP, in departure order,
// each once the wall clock has reached its departure time: the Linux stack's receive path runs
// in write(), and it no longer runs on the simulator's thread. The simulator's thread copies
// each frame into a bounded queue (kWriteSlots frames; full: it waits for room) and goes on.
// The writer blocks SIGINT and SIGTERM (they reach the simulator's thread). The report's and
// the stats file's counts wait until every queued frame is written; the destructor writes what
// is still queued (without waiting for the wall clock), then joins the writer.
//
// End: after live.duration_s of simulated time, or on SIGINT or SIGTERM: the TAP is no longer
// read, the chip gets up to live.drain_ms (simulated, not paced) to finish what it holds (the
// settled callback: nothing in flight but open connections and armed timers), then the run stops
// (Sched::stop).
//
// --live-pcap FILE: every frame that crossed the port, both directions (frames lost by
// rx_loss_ppm did not reach it), stamped with the wall-clock time simulated time 0 stood for
// plus simulated time, in time order.
#pragma once

#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <systemc>
#include <thread>
#include <vector>

#include "c_ptr.h"
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
    // The port's counts; frames_to_tap, bytes_to_tap and write_errors once every frame queued
    // for the TAP is written (waits for the writer).
    netif_stats port_stats() const;
    // The report's live section (text) and the stats file's "live" object.
    void write_text(std::ostream &o) const;
    void write_json(JsonWriter &j) const;

private:
    void run();
    bool read_tap(uint64_t now); // false: nothing was waiting
    void idle(uint64_t now);
    void push_due(uint64_t now);
    // Queues frame f for the writer, to be written once CLOCK_MONOTONIC reaches due_ns (0: at
    // once); waits while the queue is full.
    void write_tap(const uint8_t *f, uint32_t len, uint64_t due_ns);
    void writer_main() noexcept;
    void flush_writes() const; // returns once every queued frame is written
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
    Fd tap_; // /dev/net/tun, attached to the TAP
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
    uint64_t wall0_ns_ = 0; // CLOCK_MONOTONIC simulated time 0 stands for (moved on by slips)
    uint64_t start_ns_ = 0; // CLOCK_MONOTONIC when the run began
    uint64_t epoch_ns_ = 0; // CLOCK_REALTIME at simulated time 0
    uint64_t wall_end_ns_ = 0, sim_end_ps_ = 0; // when the TAP stopped being read
    PcapWriter pcap_;                           // --live-pcap
    bool progress_;
    bool progress_shown_ = false;
    uint64_t last_print_ns_ = 0;
    struct sigaction old_int_ {
    }, old_term_{};

    // The writer thread's queue: a ring of kWriteSlots frame buffers. The simulator's thread
    // fills slot (w_head_ + w_count_) % kWriteSlots; the writer takes the w_count_ frames from
    // w_head_ as a batch and gives their slots back when all are written.
    struct TapFrame {
        std::vector<uint8_t> data;
        uint32_t len = 0;
        uint64_t due_ns = 0;
    };
    // Enough for the frames of a tick at the chip's rate, few enough that a frame waits at most a
    // few milliseconds behind the ones before it: the chip's TCP does not see the queue.
    static constexpr size_t kWriteSlots = 256;
    std::vector<TapFrame> w_slots_;
    mutable std::mutex w_mu_;
    std::condition_variable w_work_;         // to the writer: frames, or the end
    mutable std::condition_variable w_room_; // to the simulator: slots given back
    size_t w_head_ = 0, w_count_ = 0;        // under w_mu_
    bool w_end_ = false;                     // under w_mu_: write what is queued, then return
    std::atomic<bool> w_unpaced_{false};     // the end: due times are no longer waited for
    std::atomic<uint64_t> w_frames_{0}, w_bytes_{0}, w_errors_{0};      // the writer's counts
    uint64_t w_base_frames_ = 0, w_base_bytes_ = 0, w_base_errors_ = 0; // at reset_stats
    uint64_t w_depth_max_ = 0; // deepest the queue was (frames), simulator's thread
    uint64_t w_full_ = 0;      // times the simulator's thread waited for a slot
    std::thread writer_;       // started last in the constructor, joined first in the destructor
};

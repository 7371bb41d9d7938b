// Host: the socket memory controller (models/smc) and, behind it, the host application
// (models/host) that reads each flow's in-order byte stream. The cores call the SMC through their
// answering commands (sock_open, sock_space, sock_append, sock_deliver; see ClusterUnit), whose
// timing is in the cycles they return. The application reads what sock_deliver put in order:
// at once by default (in the same call), or, with host_app.consume_mbps, at that rate per flow, in
// a process of its own woken when the next read is due; the unread backlog keeps its pages and
// shrinks the flow's advertised window until it is read. A flow that closes with data unread
// hands it to the application at once (the proxy is reused: its buffer cannot wait).
//
// The host counts bytes read per flow and, with --deliver-dir, writes each connection's byte
// stream to DIR/<remote>-<local>
// (addresses and ports of the flow key, e.g. 10.0.0.1.40000-10.0.0.2.80; a later connection of
// the same 5-tuple gets a ".2", ".3" ... suffix).
//
// RoCE queue pairs (set up out of band, add_qp): the SEND stream goes to
// DIR/<remote>-<local>.qp<local QP, 6 hex digits>.send, and each memory region registered for
// RDMA WRITE (host_write) is kept in host memory and written at the end of the run to
// DIR/<that name without .send>.write.<rkey, 8 hex digits>, from the address of the region's
// first write to the end of its highest write (bytes never written read 0) — the names and
// layout of tests/run/roce_reassemble.py.
#pragma once

#include <array>
#include <cstdio>
#include <deque>
#include <list>
#include <map>
#include <string>
#include <vector>

#include <systemc>

#include "channel.h"
#include "dispatcher.h"
#include "happ.h"
#include "hscript.h"
#include "roce_qps.h"
#include "simtime.h"
#include "smc.h"

class Host : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(Host);
    // Throws std::runtime_error for a bad config (message from smc_new or happ_new) or an
    // unusable dir.
    Host(sc_core::sc_module_name name, const smc_cfg &cfg, const happ_cfg &app, uint32_t flows,
         disp *names, const std::string &deliver_dir);
    ~Host() override;
    Host(const Host &) = delete;
    Host &operator=(const Host &) = delete;

    smc *model() { return s_; }
    const smc *model() const { return s_; }
    const happ *app() const { return app_; }
    const UnitClock &clock() const { return clk_; }
    // sock_deliver at the SMC's cycle at: the bytes below upto are in order; the application
    // reads them now or later. Returns the bytes put in order.
    uint32_t deliver(uint32_t flow, uint32_t upto, cycle_t at);
    // The application has reads or writes to do, or the script has lines left, or host events
    // wait for room in their channel (the run is not drained).
    bool busy() const
    {
        return happ_pending(app_) != 0 || !backlog_.empty() || (script_ && next_line_ < script_->n);
    }
    // The send side (issue 5): the host's commands become events on the host channel events
    // (tcp_send, tcp_close, tcp_recv_credit, and a tcp_send asking for the active open of a
    // script's connect). script (may be NULL; owned by the caller, outliving the host): the
    // --host-script lines, carried out at their times.
    void set_send_side(TimedChannel<event> *events, const hscript *script);
    // sock_event (isa.h UC_SOCKEV_*) of flow at t_ps; returns 1 when the application drives the
    // flow's send side (it will send tcp_send / tcp_close), else 0.
    uint32_t sock_event(uint32_t flow, uint32_t what, uint64_t t_ps);
    // sock_rcv: the receive stream offset sock_deliver was last given for flow (32-bit).
    uint32_t rcv_offset(uint32_t flow) const { return flow < rcv_.size() ? rcv_[flow] : 0; }
    // Script lines that could not be carried out (a connect with no proxy free, a reference to
    // a connection that does not exist), each with its line: for the report.
    const std::vector<std::string> &script_errors() const { return script_errors_; }
    uint64_t host_events() const { return host_events_; }

    // sock_open at simulated time t_ps: a new connection on proxy flow (names its output file).
    uint32_t open(uint32_t flow, uint32_t mss, uint32_t shift, uint64_t t_ps);
    // sock_open of a RoCE queue pair (buffer: its size hint; smc_open_roce's rule).
    uint32_t open_roce(uint32_t flow, uint32_t buffer, uint64_t t_ps);
    // The queue pair q is on proxy flow: its memory regions for host_write.
    void add_qp(uint32_t flow, const RoceQp &q);
    // host_write at the SMC's cycle at: len bytes into flow's region rkey at va. 1 written; 0
    // refused (no such region on the flow's QP, or [va, va + len) outside it).
    uint32_t write_region(uint32_t flow, uint32_t rkey, uint64_t va, const uint8_t *data,
                          uint32_t len, cycle_t at);
    uint64_t bytes_written() const { return written_; } // by host_write
    // Bytes delivered (put in order for the application) by the protocol of their flow.
    uint64_t bytes_delivered(unsigned proto) const
    {
        return proto < PROTO_COUNT ? delivered_proto_[proto] : 0;
    }
    // sock_space: the bytes the flow may be sent — its buffer's free space, but no more than
    // the page pool can still hold (so the advertised window shrinks as the pool runs dry and
    // the sender is throttled before data must be refused).
    uint32_t window(uint32_t flow) const;
    // flow_close at t_ps: frees the flow's buffer.
    void close(uint32_t flow, uint64_t t_ps);
    // The end of the run at t_ps: a flow-log line for each connection still open.
    void finish(uint64_t t_ps);

    uint64_t bytes_delivered() const { return delivered_; }
    uint64_t last_delivery_ps() const { return last_ps_; }
    uint64_t connections() const { return conns_; }
    // The first error writing a delivered stream ("" when none).
    const std::string &error() const { return error_; }
    // --flow-log: one JSON line per connection opened and closed (docs/outputs.md). Set before
    // the run: without it the per-connection delivery figures are not kept.
    void set_flow_log(FILE *f) { flow_log_ = f; }
    uint64_t last_work_ps() const { return last_work_ps_; }
    // The end of the warm-up: the SMC's and the application's stats and the bytes and
    // connections counted here restart.
    void reset_stats()
    {
        smc_reset_stats(s_);
        happ_reset_stats(app_);
        delivered_ = conns_ = written_ = 0;
        delivered_proto_ = {};
    }

private:
    void read(); // the application's commands and the script's lines due now
    unsigned script_step(uint64_t now);
    unsigned app_step(cycle_t cyc);
    void raise(unsigned type, uint32_t flow, uint32_t seq, uint32_t arg, uint64_t t_ps);
    static void deliver_cb(void *ctx, uint32_t flow, uint64_t off, const uint8_t *data,
                           uint32_t len, cycle_t at);
    static void snd_acked_cb(void *ctx, uint32_t flow, uint32_t bytes, cycle_t at);
    FILE *file_of(uint32_t flow);

    smc *s_ = nullptr;
    happ *app_ = nullptr;
    UnitClock clk_, app_clk_;
    SchedEvent wake_;
    SchedProc proc_;
    uint64_t last_work_ps_ = 0;
    uint64_t pool_bytes_; // the pool's pages x page size
    uint32_t page_size_;
    disp *names_;
    TimedChannel<event> *events_ = nullptr;
    const hscript *script_ = nullptr;
    size_t next_line_ = 0;                  // the script's next line
    std::map<uint32_t, uint32_t> conns_of_; // a connect's number -> its flow proxy
    std::deque<event> backlog_;             // host events waiting for room in their channel
    std::vector<std::string> script_errors_;
    std::vector<uint32_t> rcv_;                 // per proxy: sock_deliver's last offset
    std::vector<uint32_t> rcvbuf_;              // per proxy: its receive buffer's size
    std::vector<uint8_t> opened_;               // per proxy: the application knows its connection
    void happ_space(uint32_t flow, cycle_t at); // the send buffer's space changed (SMC cycle)
    std::vector<uint8_t> wbuf_;                 // a WRITE's bytes
    uint64_t host_events_ = 0;
    std::string dir_;
    uint64_t delivered_ = 0, last_ps_ = 0, conns_ = 0, written_ = 0;
    std::array<uint64_t, PROTO_COUNT> delivered_proto_{};
    std::vector<uint8_t> roce_flow_; // per proxy: its connection is a RoCE queue pair
    struct Region {                  // a queue pair's memory region, and what host_write put in it
        RoceRegion r;
        bool used = false;
        uint64_t base = 0;         // the first write's address: byte 0 of data
        std::vector<uint8_t> data; // [base, base + size)
    };
    std::map<uint32_t, std::vector<Region>> regions_; // per proxy
    std::map<uint32_t, std::string> qp_names_;        // per proxy: the QP's file name stem
    void write_regions();
    uint32_t open_impl(uint32_t flow, uint32_t mss, uint32_t shift, bool roce, uint64_t t_ps);
    std::string error_;
    FILE *flow_log_ = nullptr;
    struct Conn { // per proxy: its current connection
        bool open = false;
        uint64_t bytes = 0;     // delivered
        uint64_t opened_ps = 0; // when it opened
        uint64_t last_ps = 0;   // its last delivery
        std::string path;       // its --deliver-dir file
    };
    std::vector<Conn> conn_;
    void log_close(const char *what, uint32_t flow, uint64_t t_ps);
    std::map<std::string, unsigned> seen_;        // connections per 5-tuple so far
    std::list<std::pair<uint32_t, FILE *>> open_; // files kept open, most recent first
};

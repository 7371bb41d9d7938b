// RemoteSource: the ingress port in a closed-loop run (--generate). The far side of the link is
// the generator's remote model (models/remote): its frames enter the ingress FIFO when their
// last bit arrives, and every frame the chip transmits is handed back to it (from_chip) as it
// leaves, so the remote answers what the chip actually sent. A frame that arrives while the FIFO
// is full is dropped as ingress_overflow, as in a replay at the capture's timestamps. Optionally
// writes what reached the port to a capture (the "input" side of the conversation).
//
// One kernel activation per distinct time the remote has work or a frame arrives; from_chip
// re-arms the wake-up, since an answer may be due before what was scheduled.
#pragma once

#include <string>
#include <systemc>
#include <vector>

#include "c_ptr.h"
#include "pcap_writer.h"
#include "remote.h"
#include "source.h"

class RemoteSource : public sc_core::sc_module, public Source {
public:
    SC_HAS_PROCESS(RemoteSource);
    // Throws std::runtime_error for a bad cfg (rem_new's message) or an unwritable capture.
    RemoteSource(sc_core::sc_module_name name, const rem_cfg &cfg, TimedChannel<pkt> &out,
                 const std::string &pcap_path, bool progress);
    RemoteSource(const RemoteSource &) = delete;
    RemoteSource &operator=(const RemoteSource &) = delete;

    const SourceStats &stats() const override { return st_; }
    uint64_t epoch_ns() const override { return 0; }
    bool finished() const override { return rem_done(r_.get()); }
    void reset_stats() override;
    uint64_t next_index() const override { return index_; }

    // A frame the chip transmitted, its last bit leaving at t_ps.
    void from_chip(const uint8_t *frame, uint32_t len, uint64_t t_ps);
    const rem *model() const { return r_.get(); }

private:
    void run();
    void progress_line(bool final);
    CPtr<rem, rem_free> r_;
    TimedChannel<pkt> &out_;
    SchedEvent wake_;
    SchedProc proc_;
    std::vector<std::vector<uint8_t>> bufs_; // out capacity + 1 frame buffers (see source.cc)
    uint64_t slot_ = 0;
    uint64_t index_ = 0; // frames that reached the port, the whole run
    SourceStats st_;
    PcapWriter pcap_; // --gen-pcap
    bool progress_;
    bool progress_shown_ = false;
    std::chrono::steady_clock::time_point wall0_, last_print_;
};

// TxUnit: wraps the transmit unit (models/tx). Takes the cores' segments from its channel while
// the unit's queue has room (a full queue back-pressures the channel, and through it the cores:
// the chip does not drop its own segments) and, as each frame leaves the port, writes it to the
// transmit capture (--tx-pcap), stamped with the capture time of its departure (the input
// capture's first timestamp + simulated time).
#pragma once

#include <functional>
#include <string>
#include <systemc>

#include "c_ptr.h"
#include "channel.h"
#include "messages.h"
#include "pcap_writer.h"
#include "simtime.h"
#include "tx.h"

class TxUnit : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(TxUnit);
    // path "" writes no capture; epoch gives the capture time (ns) that simulated time 0
    // stands for. Throws std::runtime_error (bad config, unwritable file).
    TxUnit(sc_core::sc_module_name name, const tx_cfg &cfg, uint32_t flows, TimedChannel<TxMsg> &in,
           const std::string &path, std::function<uint64_t()> epoch);
    tx *model() { return t_.get(); }
    const tx *model() const { return t_.get(); }
    const UnitClock &clock() const { return clk_; }
    // The last time an activation did work (ps): the end of the run is the latest of these.
    uint64_t last_work_ps() const { return last_work_ps_; }
    uint64_t last_depart_ps() const { return last_ps_; }
    // fn sees every frame as its last bit leaves the port (a closed loop's link to the remote).
    void on_depart(std::function<void(const uint8_t *, uint32_t, uint64_t)> fn)
    {
        depart_ = std::move(fn);
    }

private:
    void run();
    CPtr<tx, tx_free> t_;
    UnitClock clk_;
    uint32_t depth_; // tx.depth: frames the unit's queue holds
    TimedChannel<TxMsg> &in_;
    PcapWriter pcap_; // --tx-pcap
    std::function<uint64_t()> epoch_;
    std::function<void(const uint8_t *, uint32_t, uint64_t)> depart_;
    uint64_t last_ps_ = 0;
    SchedEvent wake_;
    SchedProc proc_;
    uint64_t last_work_ps_ = 0;
};

// EventSink: the stage after the IPU until the dispatcher exists. It takes every event as soon
// as it is ready, counts it by type, records its latency from the packet's arrival, and
// releases the event's reference to its frame in the scratchpad.
#pragma once

#include <systemc>

#include <array>

#include "channel.h"
#include "event.h"
#include "scratchpad_port.h"
#include "stats.h"

class EventSink : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(EventSink);
    EventSink(sc_core::sc_module_name name, TimedChannel<event> &in, ScratchpadPort &sp);

    uint64_t count(unsigned type) const { return counts_[type]; }
    const hist &latency(unsigned type) const { return lat_[type]; }

private:
    void run();

    TimedChannel<event> &in_;
    ScratchpadPort &sp_;
    std::array<uint64_t, EV_TYPE_COUNT> counts_{};
    std::array<hist, EV_TYPE_COUNT> lat_;
};

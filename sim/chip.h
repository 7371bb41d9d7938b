// Chip: the top level. Builds the units from a ChipConfig, connects them with timed channels,
// and after the run checks that everything drained (SPEC §7) or reports a deadlock with every
// queue's depth.
//
//   TraceSource --ingress FIFO--> IpuUnit --events--> EventSink
//                                    |                   |
//                                    +--- scratchpad ----+  (frames in flight)
#pragma once

#include <systemc>

#include <memory>
#include <string>

#include "channel.h"
#include "config.h"
#include "event_sink.h"
#include "ipu_unit.h"
#include "pcap_reader.h"
#include "scratchpad_port.h"
#include "source.h"

class Chip {
public:
    // Elaborates the model. Throws ConfigError / std::runtime_error on a bad config.
    Chip(const ChipConfig &cfg, PcapReader &reader, bool progress);
    ~Chip();
    Chip(const Chip &) = delete;
    Chip &operator=(const Chip &) = delete;

    // Runs until no unit has work left. Returns the simulated time of the last activity (ps).
    uint64_t run();
    // Empty when every queue drained and every scratchpad byte was freed; else a one-line
    // account of what is still held, unit by unit.
    std::string undrained();

    const ChipConfig cfg;
    ScratchpadPort sp;
    TimedChannel<pkt> ingress;
    TimedChannel<event> events;
    std::unique_ptr<TraceSource> source;
    std::unique_ptr<IpuUnit> ipu;
    std::unique_ptr<EventSink> sink;
};

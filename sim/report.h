// Report: the figures of a finished run, gathered once into a Summary so that the text report
// (stdout) and the JSON stats file print the same numbers.
#pragma once

#include <array>
#include <ostream>
#include <string>
#include <vector>

#include "chip.h"
#include "json_writer.h"

struct RunInfo {
    std::string trace;
    std::string link;
    bool truncated = false;
    std::string input_error; // libpcap's words when the capture ends in a truncated record
    struct Microcode {
        std::string protocol; // the events it runs (ev_proto_name)
        std::string source;   // as given, or "(bundled) tcp.uc"
        std::string hash;     // FNV-1a 64 of the image's code and entries, in hex
    };
    std::vector<Microcode> microcode; // one per protocol with its own image
    std::string roce_qps;             // the queue pair file used ("" none)
    std::string roce_qps_note;        // " (found beside the trace)" or ""
    uint64_t roce_qps_count = 0;      // the queue pairs in it
    double wall_s = 0;                // host time: text report only (not deterministic)
    bool generated = false;           // a closed loop (--generate): the remote side's report too
};

struct Summary {
    uint64_t sim_ps = 0;
    uint64_t packets_in = 0, bytes_in = 0;
    uint64_t processed = 0;
    uint64_t dropped_total = 0;
    std::array<uint64_t, DROP_REASON_COUNT> dropped{};
    std::array<uint64_t, EV_TYPE_COUNT> events{};
    uint64_t events_total = 0;
    uint64_t ipu_cycles = 0; // cycles of the IPU clock in the simulated time
    uint64_t delivered_bytes = 0;
};

// The resolved config as a JSON object (under key, or top-level when key is NULL).
void write_config_json(JsonWriter &j, const ChipConfig &cfg, const char *key);
Summary summarize(Chip &chip, uint64_t sim_ps);
void write_text_report(std::ostream &o, Chip &chip, const Summary &s, const RunInfo &info);
void write_json_stats(std::ostream &o, Chip &chip, const Summary &s, const RunInfo &info);

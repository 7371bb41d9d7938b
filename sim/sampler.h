// Sampler: the chip's time series (stats JSON `timeseries`): every chip.sample_ps of simulated
// time, per-unit utilisation over the interval, queue depths, flow-table, page and scratchpad
// occupancy, and the transmitted and delivered rates. At most chip.max_samples samples (rounded
// down to even): when full, neighbouring samples are merged in pairs (their mean) and the interval
// doubles, so a long
// run keeps a bounded, evenly spaced series. It stops once the chip has no work left, so it
// never keeps a finished run going.
#pragma once

#include <cstdint>
#include <string>
#include <systemc>
#include <vector>

#include "scheduler.h"

class Chip;

class Sampler : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(Sampler);
    Sampler(sc_core::sc_module_name name, Chip &chip, uint64_t interval_ps, uint32_t max_samples);

    uint64_t interval_ps() const { return interval_; }
    const std::vector<double> &times() const { return t_; }
    const std::vector<std::string> &names() const { return names_; }
    const std::vector<std::vector<double>> &columns() const { return cols_; }

private:
    void run();
    void take(uint64_t now);
    void halve();

    Chip &chip_;
    uint64_t interval_;
    uint32_t max_;
    uint64_t last_ps_ = 0;
    std::vector<double> t_;
    std::vector<std::string> names_;
    std::vector<std::vector<double>> cols_;
    std::vector<uint64_t> prev_; // counters at the previous sample, for rates
    std::vector<uint64_t> cur_;  // take()'s scratch: the counters now
    std::vector<double> v_;      // take()'s scratch: the sample's values
    SchedEvent wake_;
    SchedProc proc_;
};

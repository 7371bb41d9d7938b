// Simulated time in the glue: the kernel's resolution is set to 1 ps, so an sc_time's value is
// picoseconds. Each unit has its own clock; these helpers convert between its cycles and ps.
#pragma once

#include <systemc>

#include "sim_types.h"

inline uint64_t now_ps() { return sc_core::sc_time_stamp().value(); }
inline sc_core::sc_time ps(uint64_t v) { return sc_core::sc_time::from_value(v); }

// A unit's clock: period in whole picoseconds (1000 MHz -> 1000 ps; 3000 MHz -> 333 ps).
struct UnitClock {
    uint64_t period_ps = 1000;
    explicit UnitClock(uint32_t mhz = 1000) : period_ps((1000000u + mhz / 2) / mhz) {}
    // The first clock edge at or after t.
    cycle_t cycle_at(uint64_t t) const { return (t + period_ps - 1) / period_ps; }
    uint64_t time_of(cycle_t c) const { return c * period_ps; }
    bool on_edge(uint64_t t) const { return t % period_ps == 0; }
};

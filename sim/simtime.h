// Simulated time in the glue, in picoseconds: the scheduler's (scheduler.h; SystemC's kernel
// resolution is set to 1 ps too, so in lockstep an sc_time's value is the same number). Each
// unit has its own clock; these helpers convert between its cycles and ps.
#pragma once

#include "scheduler.h"
#include "sim_types.h"

inline uint64_t now_ps() { return sched().now(); }

// A unit's clock: period in whole picoseconds (1000 MHz -> 1000 ps; 3000 MHz -> 333 ps).
struct UnitClock {
    uint64_t period_ps = 1000;
    explicit UnitClock(uint32_t mhz = 1000) : period_ps((1000000u + mhz / 2) / mhz) {}
    // The first clock edge at or after t.
    cycle_t cycle_at(uint64_t t) const { return (t + period_ps - 1) / period_ps; }
    uint64_t time_of(cycle_t c) const { return c * period_ps; }
    bool on_edge(uint64_t t) const { return t % period_ps == 0; }
};

// The start of every wrapper's activation: work happens on the unit's clock edges. Returns
// true on an edge; otherwise schedules ev at the next edge and returns false.
inline bool on_edge_or_wait(const UnitClock &clk, SchedEvent &ev, uint64_t now)
{
    if (clk.on_edge(now))
        return true;
    ev.notify(clk.time_of(clk.cycle_at(now)) - now);
    return false;
}

// Schedules ev at the unit's cycle next (CYCLE_NEVER: not at all; a cycle already past: now).
inline void wake_at_cycle(const UnitClock &clk, SchedEvent &ev, cycle_t next, uint64_t now)
{
    if (next == CYCLE_NEVER)
        return;
    uint64_t t = clk.time_of(next);
    ev.notify(t > now ? t - now : 0);
}

// The shape of every wrapper's activation. Work happens on the unit's clock edges: off an edge,
// ev is scheduled for the next one and the result is false. On an edge, step(cycle) (which moves
// every ready item and does what is due, returning how much it did) runs until it does nothing,
// so one activation handles everything ready at once; last_work becomes now if it did anything.
// settled(cycle), asked after each step that did something, may end the activation early: when
// it can tell that another step would do nothing and count nothing (no refusal it would count
// again), that last, empty step is left out.
template <class Step, class Settled>
bool run_until_idle(const UnitClock &clk, SchedEvent &ev, uint64_t &last_work, Step step,
                    Settled settled)
{
    uint64_t now = now_ps();
    if (!on_edge_or_wait(clk, ev, now))
        return false;
    cycle_t cyc = now / clk.period_ps;
    while (step(cyc)) {
        last_work = now;
        if (settled(cyc))
            break;
    }
    return true;
}

template <class Step>
bool run_until_idle(const UnitClock &clk, SchedEvent &ev, uint64_t &last_work, Step step)
{
    return run_until_idle(clk, ev, last_work, step, [](cycle_t) { return false; });
}

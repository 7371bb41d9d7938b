// Sched: the discrete-event scheduler the unit wrappers run on (docs/architecture.md,
// "Scheduling"). It keeps the part of SystemC's sc_event / SC_METHOD semantics the glue uses —
// timed and delta notification (an earlier notification replaces a later one), static
// sensitivity, one-shot extra sensitivity (next_trigger), run to completion, delta cycles,
// stop — at the price of a few compares and moves in a short sorted array per notification
// instead of a kernel event (~40 ns, and several per packet per unit).
//
// SystemC drives it (SchedDriver): by default its one SC_METHOD runs the scheduler to the end in
// a single activation (temporal decoupling with an unbounded quantum: no unit talks to anything
// outside the scheduler, so nothing needs SystemC's time meanwhile); in lockstep mode (--lockstep,
// and always with --vcd, whose waveforms SystemC samples at its own time steps) the SC_METHOD runs
// one simulated time step per activation and SystemC's time follows the scheduler's. Both modes
// run the same processes in the same order: outputs are identical.
//
// Order, which makes runs deterministic: within a delta cycle processes run in the order they
// were made runnable; events due at the same time trigger in the order they were (last)
// notified, those marked trigger_first ahead of the others; a delta cycle's notifications
// trigger in the order made.
#pragma once

#include <cstdint>
#include <string>
#include <systemc>
#include <vector>

class SchedEvent;
class Sched;

// A process: fn, run to completion whenever an event it is sensitive to triggers (at most once
// per delta cycle however many do).
class SchedProc {
public:
    SchedProc() = default;
    SchedProc(const SchedProc &) = delete;
    SchedProc &operator=(const SchedProc &) = delete;
    ~SchedProc();

    // Sets what runs: obj's method M; initialize: also runs once at time 0 (SystemC's default
    // for an SC_METHOD, which dont_initialize turns off). A plain function pointer rather than a
    // std::function: the call is on the path of every activation.
    template <auto M, class T> void bind(T *obj, bool initialize = false)
    {
        obj_ = obj;
        fn_ = [](void *o) { (static_cast<T *>(o)->*M)(); };
        if (initialize)
            start();
    }
    // The same for any callable that outlives the process (tests).
    template <class F> void bind_fn(F *f, bool initialize = false)
    {
        obj_ = f;
        fn_ = [](void *o) { (*static_cast<F *>(o))(); };
        if (initialize)
            start();
    }
    // Static sensitivity: every trigger of e makes this process runnable.
    SchedProc &operator<<(SchedEvent &e);
    // Also woken by e's next trigger, unless this process runs before that (what
    // next_trigger(e | static events) does for a method whose static sensitivity is included).
    void also_once(SchedEvent &e);

private:
    friend class Sched;
    friend class SchedEvent;
    void start(); // runnable at time 0
    void (*fn_)(void *) = nullptr;
    void *obj_ = nullptr;
    uint64_t runs_ = 0; // activations so far: a one-shot registration names the next one
    bool queued_ = false;
};

// An event: notify(delay_ps) triggers it delay_ps after now (0: in the next delta cycle); a
// pending notification is replaced only by an earlier one.
class SchedEvent {
public:
    SchedEvent() = default;
    SchedEvent(const SchedEvent &) = delete;
    SchedEvent &operator=(const SchedEvent &) = delete;
    ~SchedEvent();

    inline void notify(uint64_t delay_ps);
    void notify_delta() { notify(0); }
    // Withdraws a pending notification.
    void cancel();
    // Makes this event trigger before every other event due at the same time (what observes
    // the state as a time step begins: the sampler). Takes effect from its next notification.
    void trigger_first() { first_ = true; }
    bool pending() const { return when_ != kNone; }

private:
    friend class Sched;
    friend class SchedProc;
    static constexpr uint64_t kNone = UINT64_MAX;
    inline void trigger();

    std::vector<SchedProc *> procs_;                     // static sensitivity
    std::vector<std::pair<SchedProc *, uint64_t>> once_; // one-shot: process, its activation
    uint64_t when_ = kNone;                              // pending notification (ps)
    bool in_timed_ = false; // pending in Sched::timed_ (else, if pending, in the delta list)
    bool first_ = false;    // trigger_first
};

class Sched {
public:
    static constexpr uint64_t kNever = UINT64_MAX;

    uint64_t now() const { return now_; }
    // Time of the next notification, timed or delta (kNever when none): what
    // sc_time_to_pending_activity tells, as an absolute time.
    uint64_t next_time() const;
    // Something is still to happen: a notification not yet triggered, or a process due to run
    // (the one running now excluded): sc_pending_activity.
    bool pending() const { return next_time() != kNever; }
    // Ends the run after the current delta cycle (sc_stop).
    void stop() { stopped_ = true; }
    bool stopped() const { return stopped_; }
    // Runs everything due at the current time, every delta cycle of it, then advances to the
    // next time with a notification (without running it). Returns that time, or kNever when
    // nothing is pending or the run was stopped.
    uint64_t step();
    // Runs until nothing is pending or stop().
    void run();
    // Process activations and (effective) notifications so far: the text report's host section.
    uint64_t activations() const { return activations_; }
    uint64_t notifications() const { return notifications_; }

private:
    friend class SchedEvent;
    friend class SchedProc;
    // A pending timed notification. order: the notification's sequence number, with the top
    // bit set unless its event triggers first, so (when, order) sorts as (when, first, seq).
    struct Timed {
        uint64_t when;
        uint64_t order;
        SchedEvent *e;
    };
    static constexpr uint64_t kNotFirst = uint64_t{1} << 63;
    static bool earlier(const Timed &a, const Timed &b)
    {
        return a.when < b.when || (a.when == b.when && a.order < b.order);
    }
    void schedule(SchedEvent *e, uint64_t t);
    void unlink(SchedEvent *e); // takes e's entry out of timed_ (rare: cancel, an earlier notify)
    void make_runnable(SchedProc *p)
    {
        if (!p->queued_) {
            p->queued_ = true;
            runnable_.push_back(p);
        }
    }
    void drain_now(); // every delta cycle at now_
    void advance();   // triggers the events due at the next time

    // Timed notifications sorted latest first, so the next one is at the back: one entry per
    // pending event, a handful at a time (docs/architecture.md, "Scheduling", says why not a
    // heap or a timing wheel).
    std::vector<Timed> timed_;
    std::vector<SchedEvent *> delta_; // notified for the next delta cycle
    std::vector<SchedProc *> runnable_;
    size_t run_index_ = 0; // during an evaluation, the process of runnable_ that runs next
    uint64_t now_ = 0;
    uint64_t seq_ = 0;
    uint64_t activations_ = 0, notifications_ = 0;
    bool stopped_ = false;
    bool started_ = false;
};

// The one scheduler of this process (as SystemC has one simulation context).
extern Sched g_sched;
inline Sched &sched() { return g_sched; }

inline void SchedEvent::notify(uint64_t delay_ps)
{
    Sched &s = sched();
    uint64_t t = s.now_ + delay_ps;
    if (when_ != kNone && when_ <= t)
        return; // the pending one is earlier (or the same)
    s.schedule(this, t);
}

// Inline: the scheduler's loop calls it for every event that fires.
inline void SchedEvent::trigger()
{
    when_ = kNone;
    Sched &s = sched();
    for (SchedProc *p : procs_)
        s.make_runnable(p);
    if (!once_.empty()) {
        for (auto &[p, run] : once_)
            if (p->runs_ == run) // it has not run since it asked
                s.make_runnable(p);
        once_.clear();
    }
}

// The SystemC side: one SC_METHOD that runs the scheduler, at once to the end, or (lockstep) a
// time step per activation with SystemC's time following.
class SchedDriver : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(SchedDriver);
    SchedDriver(sc_core::sc_module_name name, bool lockstep);

private:
    void run();
    bool lockstep_;
};

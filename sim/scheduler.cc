#include "scheduler.h"

#include <algorithm>

Sched g_sched;

// --- processes ---

SchedProc::~SchedProc()
{
    Sched &s = sched();
    auto it = std::find(s.runnable_.begin(), s.runnable_.end(), this);
    if (it == s.runnable_.end())
        return;
    if (static_cast<size_t>(it - s.runnable_.begin()) < s.run_index_)
        s.run_index_--; // gone from before the one that runs next
    s.runnable_.erase(it);
}

void SchedProc::start() { sched().make_runnable(this); }

SchedProc &SchedProc::operator<<(SchedEvent &e)
{
    e.procs_.push_back(this);
    return *this;
}

void SchedProc::also_once(SchedEvent &e) { e.once_.emplace_back(this, runs_); }

// --- events ---

SchedEvent::~SchedEvent() { cancel(); }

void SchedEvent::cancel()
{
    if (when_ == kNone)
        return;
    Sched &s = sched();
    if (in_timed_)
        s.unlink(this);
    else
        s.delta_.erase(std::remove(s.delta_.begin(), s.delta_.end(), this), s.delta_.end());
    when_ = kNone;
}

// --- the scheduler ---

void Sched::schedule(SchedEvent *e, uint64_t t)
{
    notifications_++;
    if (e->in_timed_) // an earlier time for a pending timed notification: it leaves its place
        unlink(e);
    e->when_ = t;
    if (t == now_) {
        delta_.push_back(e);
        return;
    }
    e->in_timed_ = true;
    const Timed n{t, seq_++ | (e->first_ ? 0 : kNotFirst), e};
    // Insertion from the back (the earliest end): a new notification is usually due before the
    // far ones (timers, the sampler), so few entries move.
    timed_.push_back(n);
    Timed *a = timed_.data();
    size_t i = timed_.size() - 1;
    while (i > 0 && earlier(a[i - 1], n)) {
        a[i] = a[i - 1];
        i--;
    }
    a[i] = n;
}

void Sched::unlink(SchedEvent *e)
{
    size_t i = timed_.size();
    while (timed_[--i].e != e) {
    }
    timed_.erase(timed_.begin() + static_cast<std::ptrdiff_t>(i));
    e->in_timed_ = false;
}

uint64_t Sched::next_time() const
{
    if (!delta_.empty() || run_index_ < runnable_.size())
        return now_;
    return timed_.empty() ? kNever : timed_.back().when;
}

inline void Sched::drain_now()
{
    while (!stopped_) {
        // Evaluation. Only start() makes a process runnable while others run (a trigger is never
        // immediate), and what it adds runs after them in this same phase.
        while (run_index_ < runnable_.size()) {
            SchedProc *p = runnable_[run_index_++];
            p->queued_ = false;
            p->runs_++;
            activations_++;
            p->fn_(p->obj_);
        }
        runnable_.clear();
        run_index_ = 0;
        if (stopped_ || delta_.empty())
            break;
        // The delta notification phase. A trigger runs no process and notifies nothing, so
        // delta_ does not change while it is walked.
        for (SchedEvent *e : delta_)
            e->trigger();
        delta_.clear();
    }
}

inline void Sched::advance()
{
    const uint64_t t = timed_.back().when;
    now_ = t;
    do {
        SchedEvent *e = timed_.back().e;
        timed_.pop_back();
        e->in_timed_ = false;
        e->trigger();
    } while (!timed_.empty() && timed_.back().when == t);
}

uint64_t Sched::step()
{
    // After a drain that was not stopped nothing is runnable and no delta notification waits,
    // unless something outside a process (a test, the lockstep driver's caller) notified since.
    if (started_ && !stopped_ && runnable_.empty() && delta_.empty() && !timed_.empty())
        advance();
    started_ = true;
    drain_now();
    if (stopped_ || timed_.empty())
        return kNever;
    return timed_.back().when;
}

void Sched::run()
{
    step(); // what is due now
    // step() repeated, its test spared: each drain_now leaves nothing runnable and no delta
    while (!stopped_ && !timed_.empty()) {
        advance();
        drain_now();
    }
}

// --- SystemC ---

SchedDriver::SchedDriver(sc_core::sc_module_name name, bool lockstep)
    : sc_module(name), lockstep_(lockstep)
{
    SC_METHOD(run);
}

void SchedDriver::run()
{
    Sched &s = sched();
    if (!lockstep_) {
        s.run();
        return;
    }
    uint64_t next = s.step();
    if (next != Sched::kNever)
        next_trigger(sc_core::sc_time::from_value(next - s.now()));
}

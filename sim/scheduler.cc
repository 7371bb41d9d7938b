#include "scheduler.h"

#include <algorithm>

Sched g_sched;

// --- processes ---

SchedProc::~SchedProc()
{
    Sched &s = sched();
    for (auto *v : {&s.runnable_, &s.running_})
        v->erase(std::remove(v->begin(), v->end(), this), v->end());
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
    if (pos_ != UINT32_MAX)
        s.remove(this);
    else
        s.delta_.erase(std::remove(s.delta_.begin(), s.delta_.end(), this), s.delta_.end());
    when_ = kNone;
}

void SchedEvent::trigger()
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

// --- the scheduler ---

void Sched::schedule(SchedEvent *e, uint64_t t)
{
    notifications_++;
    if (e->pos_ != UINT32_MAX) {
        // an earlier time for a pending timed notification: it moves up, or to the delta list
        if (t == now_) {
            remove(e);
        } else {
            e->when_ = t;
            e->seq_ = seq_++;
            sift_up(e->pos_);
            return;
        }
    }
    e->when_ = t;
    e->seq_ = seq_++;
    if (t == now_) {
        delta_.push_back(e);
        return;
    }
    e->pos_ = static_cast<uint32_t>(heap_.size());
    heap_.push_back(e);
    sift_up(e->pos_);
}

void Sched::remove(SchedEvent *e)
{
    uint32_t i = e->pos_;
    SchedEvent *last = heap_.back();
    heap_.pop_back();
    e->pos_ = UINT32_MAX;
    if (last == e)
        return;
    heap_[i] = last;
    last->pos_ = i;
    sift_up(i);
    sift_down(last->pos_);
}

void Sched::sift_up(uint32_t i)
{
    SchedEvent *e = heap_[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!before(e, heap_[parent]))
            break;
        heap_[i] = heap_[parent];
        heap_[i]->pos_ = i;
        i = parent;
    }
    heap_[i] = e;
    e->pos_ = i;
}

void Sched::sift_down(uint32_t i)
{
    const uint32_t n = static_cast<uint32_t>(heap_.size());
    SchedEvent *e = heap_[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(heap_[c + 1], heap_[c]))
            c++;
        if (!before(heap_[c], e))
            break;
        heap_[i] = heap_[c];
        heap_[i]->pos_ = i;
        i = c;
    }
    heap_[i] = e;
    e->pos_ = i;
}

uint64_t Sched::next_time() const
{
    if (!delta_.empty() || !runnable_.empty() || run_index_ + 1 < running_.size())
        return now_;
    return heap_.empty() ? kNever : heap_.front()->when_;
}

void Sched::drain_now()
{
    while (!stopped_) {
        while (!runnable_.empty()) { // evaluation
            running_.swap(runnable_);
            for (run_index_ = 0; run_index_ < running_.size(); run_index_++) {
                SchedProc *p = running_[run_index_];
                p->queued_ = false;
                p->runs_++;
                activations_++;
                p->fn_(p->obj_);
            }
            running_.clear();
            run_index_ = 0;
        }
        if (stopped_ || delta_.empty())
            break;
        fired_.swap(delta_); // the delta notification phase
        for (SchedEvent *e : fired_)
            e->trigger();
        fired_.clear();
    }
}

void Sched::advance()
{
    const uint64_t t = heap_.front()->when_;
    now_ = t;
    while (!heap_.empty() && heap_.front()->when_ == t) {
        SchedEvent *e = heap_.front();
        remove(e);
        e->trigger();
    }
}

uint64_t Sched::step()
{
    if (started_ && !stopped_ && runnable_.empty() && delta_.empty() && !heap_.empty())
        advance();
    started_ = true;
    drain_now();
    if (stopped_ || heap_.empty())
        return kNever;
    return heap_.front()->when_;
}

void Sched::run()
{
    while (step() != kNever) {
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

// TimedChannel: the SystemC face of the C timed channel (models/common/chan.h). Bounded, with a
// fixed latency in picoseconds; the consumer is told by data_event() when the front element
// becomes ready, the producer by space_event() when an element leaves while it waits for room
// (see refuse). Holds no policy.
#pragma once

#include <stdexcept>
#include <string>

#include "chan.h"
#include "simtime.h"

template <class T> class TimedChannel {
public:
    TimedChannel(const std::string &name, uint32_t capacity, uint64_t latency_ps) : name_(name)
    {
        sim_err err;
        if (chan_init(&c_, sizeof(T), capacity, latency_ps, &err))
            throw std::runtime_error(name + ": " + err.msg);
    }
    ~TimedChannel() { chan_fini(&c_); }
    TimedChannel(const TimedChannel &) = delete;
    TimedChannel &operator=(const TimedChannel &) = delete;

    bool can_push() const { return chan_can_push(&c_); }
    // Counts a push the producer could not make. With wait, the next pop notifies
    // space_event(); without, the producer is not told (it dropped the item instead).
    void refuse(bool wait)
    {
        chan_refuse(&c_);
        producer_waiting_ = producer_waiting_ || wait;
    }
    // Appends an element at the current simulated time; returns its storage to fill. The
    // overloads that take now (ps) save the kernel call where the caller has the time already.
    T *push() { return push(now_ps()); }
    T *push(uint64_t now)
    {
        bool was_empty = chan_depth(&c_) == 0;
        T *slot = static_cast<T *>(chan_push(&c_, now));
        if (was_empty)
            data_ev_.notify(c_.latency);
        return slot;
    }
    // The front element if it is ready now, else nullptr.
    T *peek() const { return peek(now_ps()); }
    T *peek(uint64_t now) const { return static_cast<T *>(chan_peek(&c_, now)); }
    void pop() { pop(now_ps()); }
    void pop(uint64_t now)
    {
        chan_pop(&c_, now);
        uint64_t next = chan_next_ready(&c_);
        if (next != CYCLE_NEVER)
            data_ev_.notify(next > now ? next - now : 0);
        if (producer_waiting_) {
            producer_waiting_ = false;
            space_ev_.notify_delta();
        }
    }
    // Ready time of the front element in ps, or CYCLE_NEVER.
    uint64_t next_ready() const { return chan_next_ready(&c_); }
    uint32_t depth() const { return chan_depth(&c_); }
    // The depth as a variable that waveform tracing (sc_trace) can follow.
    const uint32_t &depth_ref() const { return c_.q.count; }
    uint32_t capacity() const { return chan_capacity(&c_); }
    const chan_stats &stats()
    {
        chan_settle(&c_, now_ps());
        return c_.st;
    }
    // The end of the warm-up (chan_reset_stats).
    void reset_stats() { chan_reset_stats(&c_, now_ps()); }
    const std::string &name() const { return name_; }
    SchedEvent &data_event() { return data_ev_; }
    SchedEvent &space_event() { return space_ev_; }

private:
    std::string name_;
    chan c_;
    SchedEvent data_ev_;
    SchedEvent space_ev_;
    bool producer_waiting_ = false;
};

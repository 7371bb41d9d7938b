#include "event_sink.h"

#include "simtime.h"

EventSink::EventSink(sc_core::sc_module_name name, TimedChannel<event> &in, scratchpad *sp,
                     sc_core::sc_event &sp_freed)
    : sc_module(name), in_(in), sp_(sp), sp_freed_(sp_freed)
{
    for (auto &h : lat_)
        hist_clear(&h);
    SC_METHOD(run);
    sensitive << in_.data_event();
    dont_initialize();
}

void EventSink::run()
{
    uint64_t now = now_ps();
    bool freed = false;
    while (event *e = in_.peek()) {
        unsigned t = e->type < EV_TYPE_COUNT ? e->type : unsigned{EV_OTHER};
        counts_[t]++;
        total_++;
        hist_add(&lat_[t], now - e->t_arrival);
        if (e->sp_handle != SP_NONE)
            freed |= sp_release(sp_, e->sp_handle);
        last_ps_ = now;
        in_.pop();
    }
    if (freed)
        sp_freed_.notify(sc_core::SC_ZERO_TIME);
}

#include "event_sink.h"

#include "simtime.h"

EventSink::EventSink(sc_core::sc_module_name name, TimedChannel<event> &in, ScratchpadPort &sp)
    : sc_module(name), in_(in), sp_(sp)
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
    while (event *e = in_.peek()) {
        unsigned t = e->type < EV_TYPE_COUNT ? e->type : unsigned{EV_OTHER};
        counts_[t]++;
        hist_add(&lat_[t], now - e->t_arrival);
        if (e->sp_handle != SP_NONE)
            sp_.release(e->sp_handle);
        in_.pop();
    }
}

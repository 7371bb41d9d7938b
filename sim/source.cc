#include "source.h"

#include <algorithm>

#include <unistd.h>

#include <cstdio>
#include <cstring>

TraceSource::TraceSource(sc_core::sc_module_name name, PcapReader &reader, const SourceCfg &cfg,
                         TimedChannel<pkt> &out, bool progress)
    : sc_module(name), rd_(reader), cfg_(cfg), out_(out), bufs_(out.capacity() + 1),
      progress_(progress)
{
    wall0_ = last_print_ = std::chrono::steady_clock::now();
    proc_.bind<&TraceSource::run>(this, true);
    proc_ << wake_ << out_.space_event();
}

// Reads the next record into the buffer after the ones the FIFO may still hold: the FIFO holds
// at most capacity frames, the last ones pushed, so buffer (pushed % (capacity + 1)) is free.
bool TraceSource::read_next()
{
    const uint8_t *data;
    uint32_t caplen, len;
    uint64_t ts_ns;
    if (!rd_.next(&data, &caplen, &len, &ts_ns)) {
        eof_ = true;
        return false;
    }
    if (rd_.stable()) { // memory-mapped: the bytes stay put for the whole run
        pend_.data = data;
    } else {
        std::vector<uint8_t> &b = bufs_[slot_ % bufs_.size()];
        b.assign(data, data + caplen);
        pend_.data = b.data();
    }
    pend_.caplen = caplen;
    pend_.len = len;
    pend_.link = rd_.link();
    pend_.index = read_++;
    uint64_t t = 0;
    switch (cfg_.mode) {
    case REPLAY_TIMESTAMPS:
        if (pend_.index == 0)
            first_ts_ns_ = ts_ns;
        t = ts_ns >= first_ts_ns_ ? (ts_ns - first_ts_ns_) * 1000u : 0;
        // compared with the record before as captured: one earlier than the first record is
        // backwards too, although its time clamps to 0 like the first's
        if (pend_.index > 0 && ts_ns < prev_ts_ns_)
            st_.ts_backwards++;
        prev_ts_ns_ = ts_ns;
        t = std::max(t, prev_ps_);
        break;
    case REPLAY_RATE:
        // the frame's last bit: cumulative bits on the wire over the line rate, exactly
        bits_ += (static_cast<unsigned __int128>(len) + cfg_.gap_bytes) * 8u;
        t = static_cast<uint64_t>(bits_ * 1000000u / cfg_.rate_mbps);
        break;
    case REPLAY_SATURATE:
        t = 0; // stamped when the FIFO takes it
        break;
    }
    prev_ps_ = t;
    pend_.t_arrival = t;
    st_.packets++;
    st_.bytes += len;
    have_ = true;
    if (progress_ && (read_ & 0xffff) == 0)
        progress_line(false);
    return true;
}

void TraceSource::run()
{
    uint64_t now = now_ps();
    for (;;) {
        if (!have_ && (eof_ || !read_next())) {
            if (progress_shown_)
                progress_line(true);
            return;
        }
        if (pend_.t_arrival > now) {
            wake_.notify(pend_.t_arrival - now);
            return;
        }
        check_warmup(pend_.index, now);
        if (!out_.can_push()) {
            if (cfg_.mode == REPLAY_SATURATE) {
                out_.refuse(true);
                return; // space_event wakes us
            }
            out_.refuse(false);
            st_.drops_ingress++;
            st_.drop_bytes += pend_.len;
            have_ = false;
            continue;
        }
        if (cfg_.mode == REPLAY_SATURATE)
            pend_.t_arrival = now;
        if (st_.pushed == 0)
            st_.first_arrival_ps = pend_.t_arrival;
        st_.last_arrival_ps = pend_.t_arrival;
        *out_.push() = pend_;
        st_.pushed++;
        st_.pushed_bytes += pend_.len;
        slot_++;
        have_ = false;
    }
}

void TraceSource::reset_stats()
{
    st_ = SourceStats{};
    if (have_) {
        st_.packets = 1;
        st_.bytes = pend_.len;
    }
}

void TraceSource::progress_line(bool final)
{
    auto t = std::chrono::steady_clock::now();
    double wall = std::chrono::duration<double>(t - wall0_).count();
    if (!final) {
        if (wall < 2.0 || std::chrono::duration<double>(t - last_print_).count() < 1.0)
            return;
    }
    last_print_ = t;
    bool tty = isatty(STDERR_FILENO);
    std::fprintf(stderr,
                 "%ssppsim: %3.0f%% of the trace, %llu packets, %.3f ms simulated, %.1f s wall, "
                 "%.2f M packets/s%s",
                 tty ? "\r" : "", final ? 100.0 : 100.0 * rd_.fraction_read(),
                 static_cast<unsigned long long>(read_), static_cast<double>(now_ps()) / 1e9, wall,
                 wall > 0 ? static_cast<double>(read_) / wall / 1e6 : 0.0,
                 tty && !final ? "" : "\n");
    progress_shown_ = true;
}

#include "remote_source.h"

#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include "simtime.h"

RemoteSource::RemoteSource(sc_core::sc_module_name name, const rem_cfg &cfg, TimedChannel<pkt> &out,
                           const std::string &pcap_path, bool progress)
    : sc_module(name), out_(out), bufs_(out.capacity() + 1), progress_(progress)
{
    sim_err err;
    r_.reset(rem_new(&cfg, &err));
    if (!r_)
        throw std::runtime_error(std::string("--generate: ") + err.msg);
    if (!pcap_path.empty())
        pcap_.open(pcap_path, "generated capture");
    wall0_ = last_print_ = std::chrono::steady_clock::now();
    proc_.bind<&RemoteSource::run>(this, true);
    proc_ << wake_;
}

void RemoteSource::from_chip(const uint8_t *frame, uint32_t len, uint64_t t_ps)
{
    rem_from_chip(r_.get(), frame, len, t_ps);
    uint64_t next = rem_next_ps(r_.get()), now = now_ps();
    if (next != REM_NEVER)
        wake_.notify(next > now ? next - now : 0); // an earlier notify wins
}

void RemoteSource::run()
{
    const uint64_t now = now_ps();
    rem_advance(r_.get(), now);
    const uint8_t *data;
    uint32_t len;
    simtime_ps arrive;
    while (rem_peek_frame(r_.get(), &data, &len, &arrive) && arrive <= now) {
        check_warmup(index_, now);
        st_.packets++;
        st_.bytes += len;
        pcap_.write(data, len, arrive / 1000); // ns from simulated time 0
        pkt p{};
        p.caplen = p.len = len;
        p.link = LINK_ETHERNET;
        p.index = index_++;
        p.t_arrival = arrive;
        if (!out_.can_push()) {
            out_.refuse(false);
            st_.drops_ingress++;
            st_.drop_bytes += len;
        } else {
            std::vector<uint8_t> &b = bufs_[slot_++ % bufs_.size()];
            b.assign(data, data + len);
            p.data = b.data();
            if (st_.pushed == 0)
                st_.first_arrival_ps = arrive;
            st_.last_arrival_ps = arrive;
            *out_.push() = p;
            st_.pushed++;
            st_.pushed_bytes += len;
        }
        rem_pop_frame(r_.get());
    }
    if (progress_ && (index_ & 0x3ff) == 0)
        progress_line(false);
    uint64_t next = rem_next_ps(r_.get());
    if (rem_peek_frame(r_.get(), &data, &len, &arrive) && arrive < next)
        next = arrive;
    if (next != REM_NEVER)
        wake_.notify(next > now ? next - now : 0);
    else if (progress_shown_ && rem_done(r_.get()))
        progress_line(true);
}

void RemoteSource::reset_stats()
{
    st_ = SourceStats{};
    rem_reset_stats(r_.get());
}

void RemoteSource::progress_line(bool final)
{
    auto t = std::chrono::steady_clock::now();
    double wall = std::chrono::duration<double>(t - wall0_).count();
    if (!final && (wall < 2.0 || std::chrono::duration<double>(t - last_print_).count() < 1.0))
        return;
    last_print_ = t;
    const rem_stats *s = rem_get_stats(r_.get());
    bool tty = isatty(STDERR_FILENO);
    std::fprintf(stderr,
                 "%ssppsim: generating: %llu connections opened, %llu completed, %llu failed, "
                 "%llu packets in, %.3f ms simulated, %.1f s wall%s",
                 tty ? "\r" : "", static_cast<unsigned long long>(s->conns_opened),
                 static_cast<unsigned long long>(s->conns_completed),
                 static_cast<unsigned long long>(s->conns_failed),
                 static_cast<unsigned long long>(index_), static_cast<double>(now_ps()) / 1e9, wall,
                 tty && !final ? "" : "\n");
    progress_shown_ = true;
}

#include "live_source.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "simtime.h"

namespace {

volatile sig_atomic_t g_signal = 0; // the signal that asked the live run to end

extern "C" void on_signal(int sig) { g_signal = sig; }

uint64_t clock_ns(clockid_t id)
{
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Sleeps until CLOCK_MONOTONIC reads due_ns; a signal that set g_signal ends the sleep early
// (the writer thread blocks them: it always sleeps to the end).
void sleep_until(uint64_t due_ns)
{
    timespec ts{static_cast<time_t>(due_ns / 1000000000ull),
                static_cast<long>(due_ns % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR && !g_signal) {
    }
}

std::string errno_text(int e)
{
    std::string s = std::strerror(e);
    if (e == EPERM || e == EACCES)
        s += " (needs root or CAP_NET_ADMIN)";
    return s;
}

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

} // namespace

LiveSource::LiveSource(sc_core::sc_module_name name, const netif_cfg &cfg, uint64_t chip_seed,
                       const std::string &ifname, TimedChannel<pkt> &out,
                       const std::string &pcap_path, bool progress)
    : sc_module(name), cfg_(cfg), ifname_(ifname), out_(out), bufs_(out.capacity() + 1),
      rbuf_(65536), progress_(progress)
{
    sim_err err;
    if (netif_validate(&cfg_, &err))
        throw std::runtime_error(err.msg);
    const std::string what = "--live " + ifname;
    if (ifname.empty() || ifname.size() >= IFNAMSIZ || ifname.find('/') != std::string::npos)
        throw std::runtime_error(what + ": not an interface name (1 to " +
                                 std::to_string(IFNAMSIZ - 1) + " characters, no '/')");
    tap_.reset(open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (tap_.get() < 0)
        throw std::runtime_error(what + ": cannot open /dev/net/tun: " + errno_text(errno));
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::memcpy(ifr.ifr_name, ifname.c_str(), ifname.size());
    if (ioctl(tap_.get(), TUNSETIFF, &ifr) < 0) {
        int e = errno;
        std::string why = errno_text(e);
        if (e == EBUSY)
            why += " (another process has it open)";
        else if (e == EINVAL)
            why += " (an interface of that name exists and is not a TAP interface)";
        throw std::runtime_error(what + ": cannot attach the TAP interface: " + why);
    }
    if (!pcap_path.empty())
        pcap_.open(pcap_path, "live capture");
    netif_rng_init(&rng_, cfg_.seed ? cfg_.seed : chip_seed);
    hist_clear(&lag_);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); // sleeps end when asked, not up to 50 us later
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_signal = 0;
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
    epoch_ns_ = clock_ns(CLOCK_REALTIME);
    wall0_ns_ = start_ns_ = clock_ns(CLOCK_MONOTONIC);
    proc_.bind<&LiveSource::run>(this, true); // and once at time 0 (initialisation)
    proc_ << wake_;
    // the writer, last: nothing after it may throw (a joinable thread must be joined)
    w_slots_.resize(kWriteSlots);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old); // the writer inherits the mask
    try {
        writer_ = std::thread([this] { writer_main(); });
    } catch (const std::system_error &e) {
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
        throw std::runtime_error(what +
                                 ": cannot start the thread that writes to the TAP: " + e.what());
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

LiveSource::~LiveSource()
{
    // normal end, signal or exception alike: the writer writes every frame still queued (at
    // once: nothing is paced any more) and returns
    w_unpaced_.store(true);
    {
        std::lock_guard<std::mutex> lk(w_mu_);
        w_end_ = true;
    }
    w_work_.notify_one();
    if (writer_.joinable())
        writer_.join();
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
}

// Waits until the wall clock reaches simulated time t (record: count a tick, and the lag when
// it is already past; a lag beyond live.max_lag_ms is given up: the wall-clock time simulated
// time 0 stands for moves on by it, and simulated time runs on from the wall clock's now
// instead of racing through quiet time to catch up, which would make the real hosts' answers
// come late in simulated time and fire the chip's timers).
void LiveSource::pace(uint64_t t_ps, bool record)
{
    const uint64_t due = wall0_ns_ + t_ps / 1000;
    const uint64_t wall = clock_ns(CLOCK_MONOTONIC);
    if (record) {
        const uint64_t lag = wall > due ? wall - due : 0;
        ps_.ticks++;
        hist_add(&lag_, lag);
        if (lag)
            ps_.ticks_behind++;
        if (cfg_.max_lag_ms && lag > static_cast<uint64_t>(cfg_.max_lag_ms) * 1000000ull) {
            wall0_ns_ += lag;
            ps_.slips++;
            ps_.slipped_us += lag / 1000;
        }
    }
    if (wall < due)
        sleep_until(due);
}

void LiveSource::run()
{
    const uint64_t now = now_ps();
    if (stopped_)
        return;
    if (!started_) { // simulated time 0 stands for this moment
        started_ = true;
        epoch_ns_ = clock_ns(CLOCK_REALTIME);
        wall0_ns_ = start_ns_ = clock_ns(CLOCK_MONOTONIC);
        last_print_ns_ = wall0_ns_;
    }
    if (now >= next_tick_ps_) {
        next_tick_ps_ = now + static_cast<uint64_t>(cfg_.tick_us) * 1000000ull;
        if (!stopping_) {
            pace(now, true);
            if (g_signal)
                begin_stop(now, g_signal == SIGINT ? "SIGINT" : "SIGTERM");
            else if (cfg_.duration_s && now >= cfg_.duration_s * 1000000000000ull)
                begin_stop(now, "duration");
            else if (!read_tap(now) && pending_.empty())
                idle(now);
            if (progress_)
                progress_line(false);
        } else if (pending_.empty() &&
                   ((settled_ && settled_()) ||
                    now - stop_ps_ >= static_cast<uint64_t>(cfg_.drain_ms) * 1000000000ull)) {
            stopped_ = true;
            if (progress_shown_)
                progress_line(true);
            sched().stop();
            return;
        }
    }
    push_due(now);
    uint64_t next = next_tick_ps_;
    if (!pending_.empty() && pending_.front().arrive < next)
        next = pending_.front().arrive;
    wake_.notify(next > now ? next - now : 0);
}

void LiveSource::begin_stop(uint64_t now, const char *why)
{
    stopping_ = true;
    stop_ps_ = now;
    ended_by_ = why;
    sim_end_ps_ = now;
    wall_end_ns_ = clock_ns(CLOCK_MONOTONIC);
}

// The chip has nothing to do before the next tick and the TAP nothing to read: rather than
// tick through the quiet, wait on the TAP until a frame comes or the chip's next activity is
// due (at most kIdleMaxPs), and move the next tick to the wall clock's time then. Simulated
// time still never runs ahead of the wall clock; an idle run costs a wake-up per frame, not
// one per tick.
void LiveSource::idle(uint64_t now)
{
    constexpr uint64_t kIdleMaxPs = 10000000000ull; // 10 ms
    const uint64_t tick = static_cast<uint64_t>(cfg_.tick_us) * 1000000ull;
    const uint64_t next = sched().next_time(); // now: something runs now
    uint64_t horizon = next == Sched::kNever ? kIdleMaxPs : next - now;
    if (horizon > kIdleMaxPs)
        horizon = kIdleMaxPs;
    if (horizon <= tick)
        return;
    const uint64_t due = wall0_ns_ + (now + horizon) / 1000;
    const uint64_t wall = clock_ns(CLOCK_MONOTONIC);
    if (wall < due) {
        pollfd p{tap_.get(), POLLIN, 0};
        timespec rel{static_cast<time_t>((due - wall) / 1000000000ull),
                     static_cast<long>((due - wall) % 1000000000ull)};
        ppoll(&p, 1, &rel, nullptr); // a frame, the time, or a signal
        ps_.idle_waits++;
    }
    const uint64_t t = (clock_ns(CLOCK_MONOTONIC) - wall0_ns_) * 1000;
    next_tick_ps_ = std::min(std::max(t, now + 1), now + horizon);
}

bool LiveSource::read_tap(uint64_t now)
{
    uint8_t answer[NETIF_ANSWER_MAX];
    if (port_free_ps_ < now)
        port_free_ps_ = now;
    for (bool any = false;; any = true) {
        if (pending_.size() >= cfg_.max_pending) {
            ps_.read_pauses++;
            return true;
        }
        ssize_t n = read(tap_.get(), rbuf_.data(), rbuf_.size());
        if (n <= 0)
            return any; // EAGAIN: nothing more waiting (errors: the interface went away; retried)
        const uint8_t *f = rbuf_.data();
        const uint32_t len = static_cast<uint32_t>(n);
        ps_.frames_from_tap++;
        ps_.bytes_from_tap += len;
        const netif_kind kind = netif_classify(&cfg_, f, len);
        switch (kind) {
        case NETIF_ARP:
        case NETIF_ND: {
            uint32_t alen = netif_answer(&cfg_, f, len, answer);
            (kind == NETIF_ARP ? ps_.arp_answered : ps_.nd_answered)++;
            dump(f, len, now);
            dump(answer, alen, now);
            write_tap(answer, alen, 0); // at a tick: the wall clock is past now
            break;
        }
        case NETIF_CHIP:
            ps_.frames_for_chip++;
            if (cfg_.rx_loss_ppm && netif_lose(&rng_, cfg_.rx_loss_ppm)) {
                ps_.dropped_rx_loss++;
                break;
            }
            port_free_ps_ += netif_wire_ps(len, cfg_.rate_mbps);
            pending_.push_back({std::vector<uint8_t>(f, f + len), port_free_ps_});
            break;
        default:
            ps_.ignored++;
            dump(f, len, now);
            break;
        }
    }
}

void LiveSource::push_due(uint64_t now)
{
    while (!pending_.empty() && pending_.front().arrive <= now) {
        Pending &fr = pending_.front();
        const uint32_t len = static_cast<uint32_t>(fr.data.size());
        check_warmup(index_, now);
        st_.packets++;
        st_.bytes += len;
        dump(fr.data.data(), len, fr.arrive);
        pkt p{};
        p.caplen = p.len = len;
        p.link = LINK_ETHERNET;
        p.index = index_++;
        p.t_arrival = fr.arrive;
        if (!out_.can_push()) {
            out_.refuse(false);
            st_.drops_ingress++;
            st_.drop_bytes += len;
        } else {
            std::vector<uint8_t> &b = bufs_[slot_++ % bufs_.size()];
            b.swap(fr.data);
            p.data = b.data();
            if (st_.pushed == 0)
                st_.first_arrival_ps = fr.arrive;
            st_.last_arrival_ps = fr.arrive;
            *out_.push() = p;
            st_.pushed++;
            st_.pushed_bytes += len;
        }
        pending_.pop_front();
    }
}

void LiveSource::from_chip(const uint8_t *frame, uint32_t len, uint64_t t_ps)
{
    dump(frame, len, t_ps);
    // the writer waits for the wall clock; while draining at the end, time is not paced
    write_tap(frame, len, stopping_ ? 0 : wall0_ns_ + t_ps / 1000);
}

void LiveSource::write_tap(const uint8_t *f, uint32_t len, uint64_t due_ns)
{
    bool was_empty;
    {
        std::unique_lock<std::mutex> lk(w_mu_);
        if (w_count_ == kWriteSlots) {
            w_full_++;
            w_room_.wait(lk, [this] { return w_count_ < kWriteSlots; });
        }
        TapFrame &t = w_slots_[(w_head_ + w_count_) % kWriteSlots];
        t.data.assign(f, f + len);
        t.len = len;
        t.due_ns = due_ns;
        was_empty = w_count_++ == 0;
        w_depth_max_ = std::max<uint64_t>(w_depth_max_, w_count_);
    }
    if (was_empty) // else the writer is busy with the frames before, and takes this one next
        w_work_.notify_one();
}

// The writer thread: takes every queued frame as a batch, writes each once the wall clock has
// reached its due time, gives the batch's slots back, until the end is asked and nothing is left.
void LiveSource::writer_main() noexcept
{
    std::unique_lock<std::mutex> lk(w_mu_);
    for (;;) {
        w_work_.wait(lk, [this] { return w_count_ != 0 || w_end_; });
        if (w_count_ == 0)
            return; // the end, and all written
        const size_t head = w_head_, n = w_count_;
        lk.unlock(); // the slots [head, head + n) are the writer's until given back
        for (size_t i = 0; i < n; i++) {
            const TapFrame &t = w_slots_[(head + i) % kWriteSlots];
            if (t.due_ns && !w_unpaced_.load(std::memory_order_relaxed) &&
                clock_ns(CLOCK_MONOTONIC) < t.due_ns)
                sleep_until(t.due_ns);
            if (write(tap_.get(), t.data.data(), t.len) == static_cast<ssize_t>(t.len)) {
                w_frames_.fetch_add(1, std::memory_order_relaxed);
                w_bytes_.fetch_add(t.len, std::memory_order_relaxed);
            } else {
                w_errors_.fetch_add(1, std::memory_order_relaxed);
            }
        }
        lk.lock();
        w_head_ = (head + n) % kWriteSlots;
        w_count_ -= n;
        w_room_.notify_all();
    }
}

void LiveSource::flush_writes() const
{
    std::unique_lock<std::mutex> lk(w_mu_);
    w_room_.wait(lk, [this] { return w_count_ == 0; });
}

netif_stats LiveSource::port_stats() const
{
    flush_writes();
    netif_stats s = ps_;
    s.frames_to_tap = w_frames_.load() - w_base_frames_;
    s.bytes_to_tap = w_bytes_.load() - w_base_bytes_;
    s.write_errors = w_errors_.load() - w_base_errors_;
    return s;
}

void LiveSource::dump(const uint8_t *f, uint32_t len, uint64_t t_ps)
{
    pcap_.write(f, len, epoch_ns_ + t_ps / 1000);
}

void LiveSource::reset_stats()
{
    st_ = SourceStats{};
    ps_ = netif_stats{};
    hist_clear(&lag_);
    flush_writes(); // the frames that left before the reset are counted before it
    w_base_frames_ = w_frames_.load();
    w_base_bytes_ = w_bytes_.load();
    w_base_errors_ = w_errors_.load();
    w_depth_max_ = 0;
    w_full_ = 0;
}

void LiveSource::progress_line(bool final)
{
    const uint64_t t = clock_ns(CLOCK_MONOTONIC);
    if (!final && t - last_print_ns_ < 1000000000ull)
        return;
    last_print_ns_ = t;
    bool tty = isatty(STDERR_FILENO);
    std::fprintf(stderr,
                 "%ssppsim: live %s: %llu frames to the chip, %llu from it, %.3f s simulated, "
                 "%.1f s wall, lag now %.3f ms%s",
                 tty ? "\r" : "", ifname_.c_str(), ull(st_.packets),
                 ull(w_frames_.load(std::memory_order_relaxed) - w_base_frames_),
                 static_cast<double>(now_ps()) / 1e12, static_cast<double>(t - start_ns_) / 1e9,
                 t > wall0_ns_ + now_ps() / 1000
                     ? static_cast<double>(t - wall0_ns_ - now_ps() / 1000) / 1e6
                     : 0.0,
                 tty && !final ? "" : "\n");
    progress_shown_ = true;
}

void LiveSource::write_text(std::ostream &o) const
{
    char b[512];
    const uint64_t wall_end = wall_end_ns_ ? wall_end_ns_ : clock_ns(CLOCK_MONOTONIC);
    const uint64_t sim_end = stopping_ ? sim_end_ps_ : now_ps();
    const double wall_s = static_cast<double>(wall_end - start_ns_) / 1e9; // the paced part
    const double sim_s = static_cast<double>(sim_end) / 1e12;
    const netif_stats ps = port_stats();
    o << "live port (" << ifname_ << ", docs/live.md)\n";
    std::snprintf(b, sizeof b,
                  "  from the TAP     %llu frames (%llu bytes): for the chip %llu (lost by "
                  "rx_loss %llu), ARP answered %llu, ND answered %llu, ignored %llu\n",
                  ull(ps.frames_from_tap), ull(ps.bytes_from_tap), ull(ps.frames_for_chip),
                  ull(ps.dropped_rx_loss), ull(ps.arp_answered), ull(ps.nd_answered),
                  ull(ps.ignored));
    o << b;
    std::snprintf(b, sizeof b,
                  "  to the TAP       %llu frames (%llu bytes); write errors %llu; writer queue "
                  "max %llu of %llu frames, full %llu times\n",
                  ull(ps.frames_to_tap), ull(ps.bytes_to_tap), ull(ps.write_errors),
                  ull(w_depth_max_), ull(kWriteSlots), ull(w_full_));
    o << b;
    std::snprintf(b, sizeof b,
                  "  pacing           %llu ticks, %llu behind the wall clock; lag mean %s us, "
                  "p99 %s us, max %s us; %s s simulated in %s s wall\n",
                  ull(ps.ticks), ull(ps.ticks_behind), fmt_num(hist_mean(&lag_) / 1e3).c_str(),
                  fmt_num(static_cast<double>(hist_quantile(&lag_, 0.99)) / 1e3).c_str(),
                  fmt_num(static_cast<double>(lag_.max) / 1e3).c_str(), fmt_num(sim_s).c_str(),
                  fmt_num(wall_s).c_str());
    o << b;
    std::snprintf(b, sizeof b,
                  "  slips            %llu (lag beyond live.max_lag_ms given up), %s ms in all%s\n",
                  ull(ps.slips), fmt_num(static_cast<double>(ps.slipped_us) / 1e3).c_str(),
                  ps.slips ? ": the simulator could not keep up, and ran slower than real time"
                           : "");
    o << b;
    o << "  ended by         " << (ended_by_.empty() ? "the run's end" : ended_by_) << "\n";
}

void LiveSource::write_json(JsonWriter &j) const
{
    const uint64_t wall_end = wall_end_ns_ ? wall_end_ns_ : clock_ns(CLOCK_MONOTONIC);
    const uint64_t sim_end = stopping_ ? sim_end_ps_ : now_ps();
    j.begin("live");
    j.kv("interface", ifname_);
    j.kv("ended_by", ended_by_);
    const netif_stats ps = port_stats();
    for (size_t i = 0; i < netif_stat_count; i++)
        j.kv(netif_stat_defs[i].name, stat_read(&netif_stat_defs[i], &ps));
    j.kv("write_queue_max", w_depth_max_);
    j.kv("write_queue_full", w_full_);
    j.kv("paced_sim_s", static_cast<double>(sim_end) / 1e12);
    j.kv("paced_wall_s", static_cast<double>(wall_end - start_ns_) / 1e9);
    j.begin("lag_ns");
    j.kv("count", lag_.count);
    j.kv("mean", hist_mean(&lag_));
    j.kv("p50", hist_quantile(&lag_, 0.5));
    j.kv("p99", hist_quantile(&lag_, 0.99));
    j.kv("max", lag_.max);
    j.end();
    j.end();
}

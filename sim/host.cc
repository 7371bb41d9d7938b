#include "host.h"

#include "isa.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <sys/stat.h>

namespace {
constexpr size_t kMaxOpenFiles = 64;

std::string addr(const uint8_t *a, uint8_t af)
{
    char b[INET6_ADDRSTRLEN];
    inet_ntop(af == 6 ? AF_INET6 : AF_INET, a, b, sizeof b);
    return b;
}

// "10.0.0.1.40000-10.0.0.2.80" or "2001:db8::1.40000-2001:db8::2.80" (remote, then local).
std::string file_name(const flow_key *k)
{
    return addr(k->src, k->af) + "." + std::to_string(k->sport) + "-" + addr(k->dst, k->af) + "." +
           std::to_string(k->dport);
}
} // namespace

Host::Host(sc_core::sc_module_name name, const smc_cfg &cfg, const happ_cfg &app, uint32_t flows,
           disp *names, const std::string &dir)
    : sc_module(name), clk_(cfg.clock_mhz), app_clk_(app.clock_mhz),
      pool_bytes_(static_cast<uint64_t>(cfg.pages) * cfg.page_size), page_size_(cfg.page_size),
      names_(names), rcv_(flows, 0), rcvbuf_(flows, 0), opened_(flows, 0), dir_(dir),
      roce_flow_(flows, 0), conn_(flows)
{
    sim_err err;
    s_ = smc_new(&cfg, flows, &err);
    if (!s_)
        throw std::runtime_error(err.msg);
    app_ = happ_new(&app, flows, &err);
    if (!app_) {
        smc_free(s_);
        throw std::runtime_error(err.msg);
    }
    smc_set_deliver(s_, deliver_cb, this);
    smc_set_snd_acked(s_, snd_acked_cb, this);
    if (!dir_.empty()) {
        if (mkdir(dir_.c_str(), 0777) != 0 && errno != EEXIST) {
            happ_free(app_);
            smc_free(s_);
            throw std::runtime_error(
                dir_ + ": cannot create the deliver directory: " + std::strerror(errno));
        }
    }
    proc_.bind<&Host::read>(this);
    proc_ << wake_;
}

Host::~Host()
{
    for (auto &f : open_)
        std::fclose(f.second);
    happ_free(app_);
    smc_free(s_);
}

uint32_t Host::deliver(uint32_t flow, uint32_t upto, cycle_t at)
{
    if (flow < rcv_.size())
        rcv_[flow] = upto;
    uint32_t n = smc_deliver(s_, flow, upto, at);
    if (!n)
        return 0;
    if (happ_immediate(app_)) {
        smc_consume(s_, flow, n, at);
        return n;
    }
    uint64_t t = clk_.time_of(at);
    cycle_t was = happ_next_cycle(app_);
    happ_ready(app_, flow, n, app_clk_.cycle_at(t));
    if (happ_next_cycle(app_) != was)
        wake_at_cycle(app_clk_, wake_, happ_next_cycle(app_), now_ps());
    return n;
}

void Host::set_send_side(TimedChannel<event> *events, const hscript *script)
{
    events_ = events;
    script_ = script;
    if (script_ && script_->n)
        wake_.notify(script_->ev[0].t_ps);
}

// One host event of flow (type, its seq and arg), raised at t_ps: it waits in the backlog for
// its time and for room in the host channel, in the order raised.
void Host::raise(unsigned type, uint32_t flow, uint32_t seq, uint32_t arg, uint64_t t_ps)
{
    event e;
    event_clear(&e);
    e.type = static_cast<uint8_t>(type);
    e.cls = static_cast<uint8_t>(ev_class_of(type));
    e.chan = CH_HOST;
    e.proto = PROTO_TCP;
    e.flow = flow;
    if (const flow_key *k = disp_flow_key(names_, flow))
        e.key = *k;
    e.seq = seq;
    e.arg = arg;
    e.pkt = UINT64_MAX;
    e.t_arrival = t_ps;
    backlog_.push_back(e);
    host_events_++;
}

// The script's lines due at now (ps): connects open a flow and ask the chip for the active open;
// send, close and abort go to the flow's application.
unsigned Host::script_step(uint64_t now)
{
    unsigned n = 0;
    for (; script_ && next_line_ < script_->n && script_->ev[next_line_].t_ps <= now;
         next_line_++, n++) {
        const hs_event &l = script_->ev[next_line_];
        cycle_t at = app_clk_.cycle_at(now);
        auto error = [this, &l](const std::string &what) {
            script_errors_.push_back("line " + std::to_string(l.line) + ": " + what);
        };
        if (l.verb == HS_CONNECT) {
            uint32_t f = disp_open_flow(names_, &l.key, nullptr);
            if (f == UINT32_MAX) {
                error("connect: the connection is open already, or no flow proxy is free");
                continue;
            }
            conns_of_[l.conn] = f;
            opened_[f] = 1;
            happ_open(app_, f, &l.key, 0, true, at);
            raise(EV_TCP_SEND, f, 0, 1, now); // arg 1: the active open
            backlog_.back().key = l.key;
            continue;
        }
        uint32_t f = UINT32_MAX;
        if (l.conn) {
            auto it = conns_of_.find(l.conn);
            f = it == conns_of_.end() ? UINT32_MAX : it->second;
        } else {
            f = disp_find_flow(names_, &l.key);
        }
        if (f == UINT32_MAX) {
            error("no such connection open");
            continue;
        }
        if (l.verb == HS_SEND) {
            if (happ_send(app_, f, l.bytes, at) != 0)
                error("send: the connection cannot take data (not driven by the script, or "
                      "closed)");
        } else if (l.verb == HS_CLOSE) {
            happ_shutdown(app_, f, at);
        } else {
            happ_abort(app_, f, at);
        }
    }
    return n;
}

// The application's commands due at cycle cyc of its clock (issue 5, happ.h): reads consume
// from the receive buffer (and may reopen the window: tcp_recv_credit), writes fill the send
// buffer (tcp_send once the bytes are in), closes and aborts become tcp_close.
unsigned Host::app_step(cycle_t cyc)
{
    unsigned n = 0;
    happ_cmd c;
    while (happ_pop_cmd(app_, cyc, &c)) {
        n++;
        const uint64_t t = app_clk_.time_of(c.at);
        const cycle_t at = clk_.cycle_at(t);
        const uint32_t f = c.flow;
        switch (c.kind) {
        case HAPP_READ: {
            uint32_t before = window(f);
            smc_consume(s_, f, c.bytes, at);
            // receiver SWS avoidance (RFC 1122): worth a window update once half the buffer
            // is free again; the microcode decides whether to send one
            uint32_t half = f < rcvbuf_.size() ? rcvbuf_[f] / 2 : 0;
            uint32_t after = window(f);
            if (events_ && happ_answers(app_, f) && before < half && after >= half)
                raise(EV_TCP_RECV_CREDIT, f, after, 0, t);
            break;
        }
        case HAPP_WRITE: {
            wbuf_.resize(c.bytes);
            happ_fill(app_, &c, wbuf_.data());
            cycle_t done = at;
            uint32_t took = smc_snd_write(s_, f, wbuf_.data(), c.bytes, at, &done);
            happ_wrote(app_, f, took, smc_snd_space(s_, f), c.at);
            if (took && events_) // the core may send them once they are in the buffer
                raise(EV_TCP_SEND, f, static_cast<uint32_t>(smc_snd_end(s_, f)), 0,
                      clk_.time_of(done));
            break;
        }
        case HAPP_CLOSE:
        case HAPP_ABORT:
            if (events_)
                raise(EV_TCP_CLOSE, f, 0, c.kind == HAPP_ABORT, t);
            break;
        default:
            break;
        }
    }
    return n;
}

void Host::read()
{
    const uint64_t now = now_ps();
    if (script_step(now))
        last_work_ps_ = now;
    auto step = [this](cycle_t cyc) { return app_step(cyc); };
    if (run_until_idle(app_clk_, wake_, last_work_ps_, step))
        wake_at_cycle(app_clk_, wake_, happ_next_cycle(app_), now);
    if (script_ && next_line_ < script_->n)
        wake_.notify(script_->ev[next_line_].t_ps - now);
    // host events whose time has come, in order, while the channel has room
    while (!backlog_.empty() && events_) {
        event &e = backlog_.front();
        if (e.t_arrival > now) {
            wake_.notify(e.t_arrival - now);
            break;
        }
        if (!events_->can_push()) {
            events_->refuse(true);
            proc_.also_once(events_->space_event());
            break;
        }
        *events_->push(now) = e;
        backlog_.pop_front();
        last_work_ps_ = now;
    }
}

uint32_t Host::sock_event(uint32_t flow, uint32_t what, uint64_t t_ps)
{
    const cycle_t at = app_clk_.cycle_at(t_ps);
    switch (what) {
    case UC_SOCKEV_ESTABLISHED:
        if (flow < opened_.size() && !opened_[flow]) { // a script's connect opened it already
            if (const flow_key *k = disp_flow_key(names_, flow)) {
                opened_[flow] = 1;
                happ_open(app_, flow, k, smc_snd_space(s_, flow),
                          script_ && hscript_names(script_, k), at);
            }
        }
        break;
    case UC_SOCKEV_PEER_CLOSED:
        happ_peer_closed(app_, flow, at);
        break;
    case UC_SOCKEV_RESET:
        happ_reset(app_, flow, at);
        break;
    default:
        break;
    }
    wake_at_cycle(app_clk_, wake_, happ_next_cycle(app_), now_ps());
    return happ_answers(app_, flow);
}

void Host::snd_acked_cb(void *ctx, uint32_t flow, uint32_t bytes, cycle_t at)
{
    (void)bytes;
    auto *h = static_cast<Host *>(ctx);
    h->happ_space(flow, at);
}

void Host::happ_space(uint32_t flow, cycle_t at)
{
    happ_snd_space(app_, flow, smc_snd_space(s_, flow), app_clk_.cycle_at(clk_.time_of(at)));
    wake_at_cycle(app_clk_, wake_, happ_next_cycle(app_), now_ps());
}

uint32_t Host::open_roce(uint32_t flow, uint32_t buffer, uint64_t t_ps)
{
    return open_impl(flow, buffer, 0, true, t_ps);
}

uint32_t Host::open(uint32_t flow, uint32_t mss, uint32_t shift, uint64_t t_ps)
{
    return open_impl(flow, mss, shift, false, t_ps);
}

void Host::add_qp(uint32_t flow, const RoceQp &q)
{
    char qp[16];
    std::snprintf(qp, sizeof qp, ".qp%06x", q.local_qp);
    qp_names_[flow] =
        addr(q.requests.src, q.requests.af) + "-" + addr(q.requests.dst, q.requests.af) + qp;
    auto &v = regions_[flow];
    v.clear();
    for (const auto &r : q.regions)
        v.push_back(Region{r, false, 0, {}});
}

uint32_t Host::write_region(uint32_t flow, uint32_t rkey, uint64_t va, const uint8_t *data,
                            uint32_t len, cycle_t at)
{
    auto it = regions_.find(flow);
    if (it == regions_.end())
        return 0;
    for (Region &g : it->second) {
        if (g.r.rkey != rkey)
            continue;
        if (va < g.r.va || va - g.r.va > g.r.len || len > g.r.len - (va - g.r.va))
            return 0;
        if (!g.used) {
            g.used = true;
            g.base = va;
        }
        if (va < g.base) { // below the first write: the kept bytes start lower
            g.data.insert(g.data.begin(), g.base - va, 0);
            g.base = va;
        }
        uint64_t off = va - g.base;
        if (g.data.size() < off + len)
            g.data.resize(off + len, 0);
        std::memcpy(g.data.data() + off, data, len);
        smc_dma_write(s_, len, at); // through the SMC's memory channel
        written_ += len;
        return 1;
    }
    return 0;
}

void Host::write_regions()
{
    for (const auto &[flow, v] : regions_)
        for (const Region &g : v) {
            if (!g.used)
                continue;
            char tail[24];
            std::snprintf(tail, sizeof tail, ".write.%08x", g.r.rkey);
            std::string path = dir_ + "/" + qp_names_[flow] + tail;
            FILE *f = std::fopen(path.c_str(), "wb");
            if (!f || std::fwrite(g.data.data(), 1, g.data.size(), f) != g.data.size()) {
                if (error_.empty())
                    error_ = path + ": " + std::strerror(errno);
            }
            if (f)
                std::fclose(f);
        }
}

uint32_t Host::open_impl(uint32_t flow, uint32_t mss, uint32_t shift, bool roce, uint64_t t_ps)
{
    conns_++;
    if (!dir_.empty() && flow < conn_.size()) {
        for (auto it = open_.begin(); it != open_.end(); ++it)
            if (it->first == flow) {
                std::fclose(it->second);
                open_.erase(it);
                break;
            }
        const flow_key *k = disp_flow_key(names_, flow);
        auto qn = qp_names_.find(flow);
        std::string name = qn != qp_names_.end() ? qn->second + ".send"
                           : k                   ? file_name(k)
                                                 : "flow" + std::to_string(flow);
        unsigned n = ++seen_[name];
        conn_[flow].path = dir_ + "/" + name + (n > 1 ? "." + std::to_string(n) : "");
        FILE *f = std::fopen(conn_[flow].path.c_str(), "wb"); // an empty stream is a file too
        if (f)
            std::fclose(f);
        else if (error_.empty())
            error_ = conn_[flow].path + ": " + std::strerror(errno);
    }
    if (flow < roce_flow_.size())
        roce_flow_[flow] = roce;
    // a RoCE queue pair (open_roce): mss is its buffer hint
    uint32_t size = roce ? smc_open_roce(s_, flow, mss) : smc_open(s_, flow, mss, shift);
    if (flow < rcvbuf_.size()) {
        rcvbuf_[flow] = size;
        rcv_[flow] = 0;
    }
    if (!roce && flow < opened_.size() && opened_[flow]) // an active open: its buffer is here
        happ_space(flow, clk_.cycle_at(t_ps));
    if (flow < conn_.size()) {
        Conn &c = conn_[flow];
        c.open = true;
        c.bytes = 0;
        c.opened_ps = c.last_ps = t_ps;
    }
    if (flow_log_) {
        char key[160] = "?";
        if (const flow_key *k = disp_flow_key(names_, flow))
            flow_key_format(k, key, sizeof key);
        std::fprintf(flow_log_,
                     "{\"event\":\"open\",\"flow\":%u,\"key\":\"%s\",\"peer_mss\":%u,"
                     "\"shift\":%u,\"buffer_bytes\":%u,\"t_ps\":%llu}\n",
                     flow, key, mss, shift, size, static_cast<unsigned long long>(t_ps));
    }
    return size;
}

// A connection's figures: bytes delivered, its life so far and the goodput over it (from its
// opening to its last delivery).
void Host::log_close(const char *what, uint32_t flow, uint64_t t_ps)
{
    const Conn &c = conn_[flow];
    uint64_t span = c.last_ps > c.opened_ps ? c.last_ps - c.opened_ps : 0;
    std::fprintf(flow_log_,
                 "{\"event\":\"%s\",\"flow\":%u,\"delivered\":%llu,\"pages\":%u,"
                 "\"t_ps\":%llu,\"last_delivery_ps\":%llu,\"goodput_gbps\":%.6g}\n",
                 what, flow, static_cast<unsigned long long>(c.bytes), smc_pages_held(s_, flow),
                 static_cast<unsigned long long>(t_ps), static_cast<unsigned long long>(c.last_ps),
                 span ? static_cast<double>(c.bytes) * 8e3 / static_cast<double>(span) : 0.0);
}

uint32_t Host::window(uint32_t flow) const
{
    uint64_t space = smc_space(s_, flow);
    uint64_t pool_free = pool_bytes_ - static_cast<uint64_t>(smc_pages_in_use(s_)) * page_size_;
    return static_cast<uint32_t>(space < pool_free ? space : pool_free);
}

void Host::close(uint32_t flow, uint64_t t_ps)
{
    if (flow < opened_.size())
        opened_[flow] = 0;
    if (happ_close(app_, flow)) // unread data goes to the application before the buffer
        smc_consume(s_, flow, UINT32_MAX, clk_.cycle_at(t_ps));
    if (flow < conn_.size()) {
        if (flow_log_ && conn_[flow].open)
            log_close("close", flow, t_ps);
        conn_[flow].open = false;
    }
    smc_close(s_, flow);
}

void Host::finish(uint64_t t_ps)
{
    if (!dir_.empty())
        write_regions();
    if (!flow_log_)
        return;
    for (uint32_t f = 0; f < conn_.size(); f++)
        if (conn_[f].open)
            log_close("open_at_end", f, t_ps);
}

FILE *Host::file_of(uint32_t flow)
{
    for (auto it = open_.begin(); it != open_.end(); ++it)
        if (it->first == flow) {
            open_.splice(open_.begin(), open_, it);
            return it->second;
        }
    if (flow >= conn_.size() || conn_[flow].path.empty())
        return nullptr;
    FILE *f = std::fopen(conn_[flow].path.c_str(), "ab");
    if (!f) {
        if (error_.empty())
            error_ = conn_[flow].path + ": " + std::strerror(errno);
        return nullptr;
    }
    if (open_.size() == kMaxOpenFiles) {
        std::fclose(open_.back().second);
        open_.pop_back();
    }
    open_.emplace_front(flow, f);
    return f;
}

void Host::deliver_cb(void *ctx, uint32_t flow, uint64_t off, const uint8_t *data, uint32_t len,
                      cycle_t at)
{
    (void)off; // pieces arrive in stream order
    auto *h = static_cast<Host *>(ctx);
    if (!happ_immediate(h->app_)) // an echo keeps what it read
        happ_data(h->app_, flow, data, len, h->app_clk_.cycle_at(h->clk_.time_of(at)));
    h->delivered_ += len;
    h->delivered_proto_[flow < h->roce_flow_.size() && h->roce_flow_[flow] ? PROTO_ROCE
                                                                           : PROTO_TCP] += len;
    if (h->flow_log_ && flow < h->conn_.size()) { // only the flow log reads these (a cache
                                                  // miss per delivery on 10,000 flows)
        h->conn_[flow].bytes += len;
        h->conn_[flow].last_ps = h->clk_.time_of(at);
    }
    uint64_t t = h->clk_.time_of(at);
    if (t > h->last_ps_)
        h->last_ps_ = t;
    if (h->dir_.empty())
        return;
    FILE *f = h->file_of(flow);
    if (f && std::fwrite(data, 1, len, f) != len && h->error_.empty())
        h->error_ = h->conn_[flow].path + ": " + std::strerror(errno);
}

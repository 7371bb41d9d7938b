#include "chip.h"

#include "report.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace {
template <class T> void depth(std::ostringstream &o, const char *name, const TimedChannel<T> &c)
{
    o << "; " << name << " " << c.depth() << "/" << c.capacity();
}
} // namespace

Chip::Chip(const ChipConfig &c, const ProtoImages &images, const Feed &feed, const RunFiles &files,
           bool progress, const std::vector<RoceQp> &qps)
    : cfg(c), imgs(images), sp(c.scratchpad),
      ingress("ingress", c.chip.ingress_depth, c.chip.ingress_latency_ps),
      events("events", c.chip.event_depth, c.chip.event_latency_ps),
      timer_events("timer_events", c.chip.ctl_depth, c.chip.ctl_latency_ps),
      internal_events("internal_events", c.chip.ctl_depth, c.chip.ctl_latency_ps),
      host_events("host_events",
                  std::max<uint32_t>(c.chip.ctl_depth, static_cast<uint32_t>(qps.size())),
                  c.chip.ctl_latency_ps),
      disp_ctl("disp_ctl", c.chip.ctl_depth, c.chip.ctl_latency_ps),
      requests("requests", c.chip.ctl_depth, c.chip.ctl_latency_ps),
      luc_ctl("luc_ctl", c.chip.ctl_depth, c.chip.ctl_latency_ps),
      txq("tx", c.chip.ctl_depth, c.chip.ctl_latency_ps)
{
    auto open_log = [](const std::string &path, const char *what) -> FILE * {
        if (path.empty())
            return nullptr;
        FILE *f = std::fopen(path.c_str(), "w");
        if (!f)
            throw std::runtime_error(path + ": cannot write the " + what);
        return f;
    };
    event_log_ = open_log(files.event_log, "event log");
    ev_stats.log = event_log_;
    flow_log_ = open_log(files.flow_log, "flow log");
    uc_trace_ = open_log(files.uc_trace, "instruction trace");
    if (files.history >= 0) {
        history = std::make_unique<History>(static_cast<uint64_t>(files.history));
        ev_stats.history = history.get();
    }
    if (!files.timeline.empty()) {
        timeline_ = std::make_unique<Timeline>(files.timeline, files.timeline_from_ps,
                                               files.timeline_to_ps, files.timeline_max);
        ev_stats.timeline = timeline_.get();
    }
    const uint32_t flows = cfg.dispatcher.flows;
    const unsigned n = cfg.chip.clusters;
    std::vector<unsigned> cores(n, cfg.cluster.cores);
    std::vector<TimedChannel<luc_job> *> job_ptrs;
    for (unsigned i = 0; i < n; i++) {
        jobs.push_back(std::make_unique<TimedChannel<luc_job>>(
            "jobs" + std::to_string(i), cfg.chip.ctl_depth, cfg.chip.ctl_latency_ps));
        job_ptrs.push_back(jobs.back().get());
    }
    if (feed.remote) {
        auto r = std::make_unique<RemoteSource>("source", *feed.remote, ingress, files.gen_pcap,
                                                progress);
        remote = r.get();
        source = std::move(r);
    } else if (!feed.live.empty()) {
        auto l = std::make_unique<LiveSource>("source", cfg.live, cfg.chip.seed, feed.live, ingress,
                                              files.live_pcap, progress);
        live = l.get();
        live->set_settled([this] { return !active(true); });
        source = std::move(l);
    } else {
        source =
            std::make_unique<TraceSource>("source", *feed.reader, cfg.source, ingress, progress);
    }
    ipu = std::make_unique<IpuUnit>("ipu", cfg.ipu, sp, ingress, events);
    dispatcher = std::make_unique<DispatcherUnit>(
        "dispatcher", cfg.dispatcher, n, cores.data(), imgs, cfg.route.mask, sp, events,
        host_events, timer_events, internal_events, disp_ctl, requests);
    host = std::make_unique<Host>("host", cfg.smc, cfg.host, flows, dispatcher->model(),
                                  files.deliver_dir);
    host->set_flow_log(flow_log_);
    host->set_send_side(&host_events, feed.script);
    open_queue_pairs(qps);
    dispatcher->set_history(history.get());
    lookup = std::make_unique<LookupUnit>("lookup", cfg.lookup, flows, imgs, requests, luc_ctl,
                                          job_ptrs, timer_events, disp_ctl);
    // A dispatched event's flow state is fetched into the host's cache while the event crosses
    // the channel: with thousands of flows open, each unit's first touch of it would miss.
    dispatcher->set_go_hint(
        [](void *ctx, uint32_t flow) {
            auto *c = static_cast<Chip *>(ctx);
            luc_prefetch(c->lookup->model(), flow);
            smc_prefetch(c->host->model(), flow);
        },
        this);
    warmup.configured = cfg.chip.warmup_packets || cfg.chip.warmup_ps;
    source->set_warmup(cfg.chip.warmup_packets, cfg.chip.warmup_ps, [this] { end_warmup(); });
    Source *src = source.get();
    tx = std::make_unique<TxUnit>("tx", cfg.tx, flows, txq, files.tx_pcap,
                                  [src] { return src->epoch_ns(); });
    if (remote) // closed loop: what the chip sends crosses the link to the remote side
        tx->on_depart([r = remote](const uint8_t *f, uint32_t len, uint64_t t_ps) {
            r->from_chip(f, len, t_ps);
        });
    if (live) // live: what the chip sends goes to the TAP interface as it leaves
        tx->on_depart([l = live](const uint8_t *f, uint32_t len, uint64_t t_ps) {
            l->from_chip(f, len, t_ps);
        });
    for (unsigned i = 0; i < n; i++)
        clusters.push_back(
            std::make_unique<ClusterUnit>(("cluster" + std::to_string(i)).c_str(), i, cfg.cluster,
                                          cfg.core, imgs, cfg.chip.on_fault, sp, *host, tx->model(),
                                          *jobs[i], luc_ctl, internal_events, txq, ev_stats));
    if (!files.vcd.empty()) {
        std::string base = files.vcd;
        if (base.size() > 4 && base.compare(base.size() - 4, 4, ".vcd") == 0)
            base.resize(base.size() - 4); // SystemC adds the extension
        // SystemC opens the file only when the run starts, and reports a failure in three
        // lines of its own then: try it here, for the one-line error
        if (FILE *probe = std::fopen((base + ".vcd").c_str(), "w"))
            std::fclose(probe);
        else
            throw std::runtime_error(files.vcd +
                                     ": cannot write the waveform file: " + std::strerror(errno));
        vcd_ = sc_core::sc_create_vcd_trace_file(base.c_str());
        if (!vcd_)
            throw std::runtime_error(files.vcd + ": cannot write the waveform file");
        vcd_->set_time_unit(1, sc_core::SC_PS);
        vcd_path_ = base + ".vcd";
        trace_waveforms();
    }
    if (cfg.chip.sample_ps)
        sampler =
            std::make_unique<Sampler>("sampler", *this, cfg.chip.sample_ps, cfg.chip.max_samples);
    driver_ = std::make_unique<SchedDriver>("scheduler", files.lockstep || vcd_);
    if (uc_trace_) {
        if (files.trace_flow >= 0) {
            for (auto &cl : clusters)
                cl->trace_flow(uc_trace_, static_cast<uint32_t>(files.trace_flow));
        } else {
            if (files.trace_cluster < 0 || files.trace_cluster >= static_cast<int>(n) ||
                files.trace_core < 0 || files.trace_core >= static_cast<int>(cfg.cluster.cores))
                throw std::runtime_error("--uc-trace-core " + std::to_string(files.trace_cluster) +
                                         "." + std::to_string(files.trace_core) +
                                         ": no such core (chip.clusters = " + std::to_string(n) +
                                         ", cluster.cores = " + std::to_string(cfg.cluster.cores) +
                                         ")");
            clusters[files.trace_cluster]->trace_core(uc_trace_,
                                                      static_cast<unsigned>(files.trace_core));
        }
    }
}

// The queue pairs set up out of band: the dispatcher opens each one's flow (and knows the key
// of the packets the local side sends), the host knows its memory regions, and at time 0 the
// host channel gives the microcode one roce_connect each (docs/outputs.md: --roce-qps).
void Chip::open_queue_pairs(const std::vector<RoceQp> &qps)
{
    for (const RoceQp &q : qps) {
        uint32_t f = disp_open_flow(dispatcher->model(), &q.requests, &q.local_sends);
        if (f == UINT32_MAX)
            throw std::runtime_error(
                "queue pair " + q.remote + " -> " + q.local + " qp " + std::to_string(q.local_qp) +
                ": no flow proxy free (dispatcher.flows = " + std::to_string(cfg.dispatcher.flows) +
                ")");
        host->add_qp(f, q);
        event *e = host_events.push(0);
        event_clear(e);
        e->type = EV_ROCE_CONNECT;
        e->cls = static_cast<uint8_t>(ev_class_of(EV_ROCE_CONNECT));
        e->chan = CH_HOST;
        e->proto = PROTO_ROCE;
        e->flow = f;
        e->key = q.requests;
        e->qp = q.local_qp;
        e->arg = q.remote_qp;
        e->seq = q.start_psn;
        e->dma_len = q.buffer;
        e->pkt = UINT64_MAX;
    }
}

namespace {
// SystemC writes the wall-clock date into the VCD header; a run's outputs must depend on its
// inputs only (same trace, config and seed: the same bytes), so the date is blanked in place.
void fix_vcd_date(const std::string &path)
{
    FILE *f = std::fopen(path.c_str(), "r+");
    if (!f)
        return;
    char head[256] = {};
    size_t n = std::fread(head, 1, sizeof head - 1, f);
    std::string h(head, n);
    size_t a = h.find("$date\n"), b = h.find("\n$end", a == std::string::npos ? 0 : a);
    if (a != std::string::npos && b != std::string::npos) {
        a += 6;
        std::string blank(b - a, ' ');
        const char note[] = "     (simulated time)";
        blank.replace(0, std::min(blank.size(), sizeof note - 1), note,
                      std::min(blank.size(), sizeof note - 1));
        std::fseek(f, static_cast<long>(a), SEEK_SET);
        std::fwrite(blank.data(), 1, blank.size(), f);
    }
    std::fclose(f);
}
} // namespace

// What --vcd shows: every channel's depth, the IPU's and every core's busy signal, scratchpad
// cells, the dispatcher's flows and parked events, the timers armed. sc_trace follows the
// variables themselves, so nothing is added to the units' work.
void Chip::trace_waveforms()
{
    using sc_core::sc_trace;
    sc_trace(vcd_, ingress.depth_ref(), "ingress_fifo.depth");
    sc_trace(vcd_, ipu->model().busy, "ipu.busy");
    sc_trace(vcd_, sp.model()->st.cells_used, "scratchpad.cells_used");
    sc_trace(vcd_, events.depth_ref(), "events.depth");
    sc_trace(vcd_, dispatcher->flows_in_use(), "dispatcher.flows_in_use");
    sc_trace(vcd_, dispatcher->parked(), "dispatcher.parked");
    sc_trace(vcd_, requests.depth_ref(), "requests.depth");
    sc_trace(vcd_, lookup->timers_armed(), "lookup.timers_armed");
    for (size_t i = 0; i < jobs.size(); i++) {
        std::string c = "cluster" + std::to_string(i);
        sc_trace(vcd_, jobs[i]->depth_ref(), c + ".jobs.depth");
        const cluster &m = clusters[i]->model();
        for (unsigned k = 0; k < m.cfg.cores; k++)
            sc_trace(vcd_, m.slots[k].busy, c + ".core" + std::to_string(k) + ".busy");
    }
    sc_trace(vcd_, luc_ctl.depth_ref(), "luc_ctl.depth");
    sc_trace(vcd_, disp_ctl.depth_ref(), "disp_ctl.depth");
    sc_trace(vcd_, timer_events.depth_ref(), "timer_events.depth");
    sc_trace(vcd_, internal_events.depth_ref(), "internal_events.depth");
    sc_trace(vcd_, txq.depth_ref(), "tx.depth");
}

Chip::~Chip()
{
    sampler.reset();
    clusters.clear();
    tx.reset();
    lookup.reset();
    host.reset();
    dispatcher.reset();
    ipu.reset();
    source.reset();
    if (event_log_)
        std::fclose(event_log_);
    if (flow_log_)
        std::fclose(flow_log_);
    if (uc_trace_)
        std::fclose(uc_trace_);
}

uint64_t Chip::run()
{
    sc_core::sc_start();
    if (vcd_) {
        sc_core::sc_close_vcd_trace_file(vcd_);
        vcd_ = nullptr;
        fix_vcd_date(vcd_path_);
    }
    ev_stats.timeline = nullptr;
    timeline_.reset(); // complete the file now, whatever happens after
    // The kernel may have gone on to a timer wake-up whose timers were all cancelled: the run
    // ends at the last work any unit did, not there.
    uint64_t end =
        std::max({source->stats().last_arrival_ps, ipu->last_work_ps(), dispatcher->last_work_ps(),
                  lookup->last_work_ps(), tx->last_work_ps(), host->last_delivery_ps()});
    for (auto &c : clusters)
        end = std::max(end, c->last_work_ps());
    host->finish(end);
    return end;
}

void Chip::end_warmup()
{
    uint64_t now = now_ps();
    Summary s = summarize(*this, now);
    warmup.ended = true;
    warmup.end_ps = now;
    warmup.first_packet = source->next_index();
    warmup.in_flight = warmup.first_packet - s.processed - s.dropped_total;
    source->reset_stats();
    ingress.reset_stats();
    for (auto *c : {&events, &timer_events, &internal_events})
        c->reset_stats();
    disp_ctl.reset_stats();
    requests.reset_stats();
    luc_ctl.reset_stats();
    txq.reset_stats();
    for (auto &j : jobs)
        j->reset_stats();
    ipu->reset_stats();
    dispatcher->reset_stats();
    lookup->reset_stats();
    for (auto &c : clusters)
        c->reset_stats();
    host->reset_stats();
    tx_reset_stats(tx->model());
    sp_reset_stats(sp.model());
    ev_stats.reset();
}

bool Chip::active(bool open_ok)
{
    if (!source->finished() || ingress.depth() || events.depth() || timer_events.depth() ||
        internal_events.depth() || host_events.depth() || disp_ctl.depth() || requests.depth() ||
        luc_ctl.depth() || txq.depth() || !ipu_idle(&ipu->model()) ||
        !disp_idle(dispatcher->model()) || !luc_idle(lookup->model()) ||
        (!open_ok && (luc_timers_armed(lookup->model()) || host->busy())) || !tx_idle(tx->model()))
        return true;
    for (auto &j : jobs)
        if (j->depth())
            return true;
    for (auto &c : clusters)
        if (!cluster_idle(&c->model()))
            return true;
    return false;
}

std::string Chip::undrained(bool open_ok)
{
    std::ostringstream o;
    const struct ipu &u = ipu->model();
    const smc *m = host->model();
    bool stuck =
        active(open_ok) || !sp_empty(sp.model()) || smc_pages_in_use(m) != smc_pages_held_total(m);
    if (!stuck)
        return "";
    o << "source " << (source->finished() ? "done" : "waiting") << "; ingress FIFO "
      << ingress.depth() << "/" << ingress.capacity() << "; ipu in " << ring_count(&u.in) << "/"
      << u.in.cap << " engine " << (u.busy ? "busy" : "idle")
      << (u.blocked_sp ? " (waiting for scratchpad)" : "")
      << (u.blocked_out ? " (waiting for out-queue)" : "") << " out " << ring_count(&u.out) << "/"
      << u.out.cap;
    depth(o, "events", events);
    char buf[256];
    disp_describe(dispatcher->model(), buf, sizeof buf);
    o << "; dispatcher " << buf;
    depth(o, "requests", requests);
    luc_describe(lookup->model(), buf, sizeof buf);
    o << "; " << buf; // "lookup: ..."
    for (size_t i = 0; i < clusters.size(); i++) {
        depth(o, ("jobs" + std::to_string(i)).c_str(), *jobs[i]);
        o << "; cluster" << i << (cluster_idle(&clusters[i]->model()) ? " idle" : " busy");
    }
    depth(o, "luc_ctl", luc_ctl);
    depth(o, "disp_ctl", disp_ctl);
    depth(o, "timer_events", timer_events);
    depth(o, "internal_events", internal_events);
    depth(o, "tx", txq);
    o << "; tx queue " << tx_queued(tx->model()) << "; scratchpad " << sp.model()->st.cells_used
      << "/" << sp.model()->ncells << " cells; pages " << smc_pages_in_use(m) << " in use, "
      << smc_pages_held_total(m) << " in open flows' buffers; host reads pending "
      << happ_pending(host->app());
    return o.str();
}

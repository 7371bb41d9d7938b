#include "report.h"

#include <cstdio>

#include "json_writer.h"

namespace {

double per_s(uint64_t n, uint64_t ps) { return ps ? static_cast<double>(n) * 1e12 / ps : 0.0; }
double share(uint64_t a, uint64_t b) { return b ? static_cast<double>(a) / b : 0.0; }

std::string line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string line(const char *fmt, ...)
{
    char b[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    return std::string(b) + "\n";
}

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

template <class T>
void chan_json(JsonWriter &j, const char *name, TimedChannel<T> &c, uint64_t sim_ps)
{
    const chan_stats &st = c.stats();
    j.begin(name);
    j.kv("capacity", c.capacity());
    j.kv("pushes", st.pushes);
    j.kv("stall_full", st.stall_full);
    j.kv("max_depth", st.max_depth);
    j.kv("mean_depth", sim_ps ? static_cast<double>(st.depth_time) / sim_ps : 0.0);
    j.end();
}

template <class S> void stats_json(JsonWriter &j, const stat_def *defs, size_t n, const S *st)
{
    for (size_t i = 0; i < n; i++)
        j.kv(defs[i].name, stat_read(&defs[i], st));
}

void xmem_json(JsonWriter &j, const xmem_stats &m, uint64_t cycles)
{
    j.begin("memory");
    j.kv("reads", m.reads);
    j.kv("writes", m.writes);
    j.kv("bytes_read", m.bytes_read);
    j.kv("bytes_written", m.bytes_written);
    j.kv("bus_cycles", m.bus_cycles);
    j.kv("stall_cycles", m.stall_cycles);
    j.kv("bus_utilisation", share(m.bus_cycles, cycles));
    j.end();
}

uint64_t cycles_of(uint64_t sim_ps, const UnitClock &c) { return sim_ps / c.period_ps; }

// A latency histogram's figures (ps), the same keys wherever one is written.
void hist_json(JsonWriter &j, const char *name, const hist &h)
{
    j.begin(name);
    j.kv("count", h.count);
    j.kv("sum", h.sum);
    j.kv("min", h.count ? h.min : 0);
    j.kv("mean", hist_mean(&h));
    j.kv("p50", hist_quantile(&h, 0.5));
    j.kv("p90", hist_quantile(&h, 0.9));
    j.kv("p99", hist_quantile(&h, 0.99));
    j.kv("p999", hist_quantile(&h, 0.999));
    j.kv("max", h.max);
    j.end();
}

// A closed loop's table (--generate): the remote side's connections, requests and their
// latency, the bytes each way and what the link and the TCP on both ends made of loss.
void closed_loop_text(std::ostream &o, Chip &chip, const Summary &s)
{
    const rem_stats &r = *rem_get_stats(chip.remote->model());
    const hist &h = r.req_latency_ns;
    o << "closed loop (the generator's remote side, docs/generator.md)\n";
    o << line("  connections      opened %llu, accepted %llu, established %llu, completed %llu, "
              "incomplete %llu, failed %llu, reset %llu",
              ull(r.conns_opened), ull(r.conns_accepted), ull(r.conns_established),
              ull(r.conns_completed), ull(r.conns_incomplete), ull(r.conns_failed),
              ull(r.conns_reset));
    o << line("  requests         %llu completed (%s per second), %llu answered by the server "
              "side",
              ull(r.requests_completed), fmt_num(per_s(r.requests_completed, s.sim_ps)).c_str(),
              ull(r.requests_answered));
    if (h.count)
        o << line("  request latency  p50 %s us, p90 %s us, p99 %s us, p99.9 %s us, max %s us",
                  fmt_num(hist_quantile(&h, 0.5) / 1e3).c_str(),
                  fmt_num(hist_quantile(&h, 0.9) / 1e3).c_str(),
                  fmt_num(hist_quantile(&h, 0.99) / 1e3).c_str(),
                  fmt_num(hist_quantile(&h, 0.999) / 1e3).c_str(), fmt_num(h.max / 1e3).c_str());
    o << line("  bytes            remote sent %llu, received %llu (verified %llu, corrupt %llu, "
              "duplicate %llu)",
              ull(r.bytes_sent), ull(r.bytes_received), ull(r.bytes_verified), ull(r.bytes_corrupt),
              ull(r.bytes_duplicate));
    o << line("  retransmissions  remote: fast %llu, after timeout %llu (%llu timeouts), "
              "window probes %llu",
              ull(r.segs_retrans_fast), ull(r.segs_retrans_rto), ull(r.rto_expirations),
              ull(r.zero_window_probes));
    const uint64_t sent = tx_get_data_stats(chip.tx->model())->payload_bytes;
    const uint64_t wrote = happ_get_stats(chip.host->app())->bytes_written;
    o << line("  chip sent        %llu payload bytes for %llu its host wrote: %llu "
              "retransmitted",
              ull(sent), ull(wrote), ull(sent > wrote ? sent - wrote : 0));
    o << line("  link             frames to the chip %llu (lost %llu, reordered %llu), from the "
              "chip %llu (lost %llu, reordered %llu)",
              ull(r.frames_to_chip), ull(r.lost_to_chip), ull(r.reordered_to_chip),
              ull(r.frames_from_chip), ull(r.lost_from_chip), ull(r.reordered_from_chip));
    if (r.acks_unseen || r.rx_bad || r.bytes_corrupt)
        o << line("  chip errors seen ACKs of data never sent %llu, bad frames %llu, corrupt bytes "
                  "%llu",
                  ull(r.acks_unseen), ull(r.rx_bad), ull(r.bytes_corrupt));
}

} // namespace

void write_config_json(JsonWriter &j, const ChipConfig &cfg, const char *key)
{
    j.begin(key);
    for (auto &e : cfg.entries()) {
        j.begin(e.table->unit);
        for (size_t i = 0; i < e.table->n; i++) {
            const param_def &d = e.table->defs[i];
            if (d.kind == PARAM_ENUM)
                j.kv(d.name, d.names[param_get(&d, e.cfg)]);
            else if (d.kind == PARAM_BOOL)
                j.kv(d.name, param_get(&d, e.cfg) != 0);
            else
                j.kv(d.name, param_get(&d, e.cfg));
        }
        j.end();
    }
    j.end();
}

Summary summarize(Chip &chip, uint64_t sim_ps)
{
    Summary s;
    const SourceStats &src = chip.source->stats();
    const ipu_stats &ip = chip.ipu->model().st;
    s.sim_ps = sim_ps;
    s.packets_in = src.packets;
    s.bytes_in = src.bytes;
    const disp_stats &ds = *disp_get_stats(chip.dispatcher->model());
    s.processed = ds.packets_dispatched;
    for (unsigned r = 0; r < DROP_REASON_COUNT; r++)
        s.dropped[r] = ip.drops[r] + ds.packets_dropped[r];
    s.dropped[DROP_INGRESS_OVERFLOW] += src.drops_ingress;
    for (uint64_t d : s.dropped)
        s.dropped_total += d;
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++) {
        s.events[t] = chip.ev_stats.count[t];
        s.events_total += s.events[t];
    }
    s.ipu_cycles = sim_ps / chip.ipu->clock().period_ps;
    s.delivered_bytes = chip.host->bytes_delivered();
    return s;
}

void write_text_report(std::ostream &o, Chip &chip, const Summary &s, const RunInfo &info)
{
    const ipu_stats &ip = chip.ipu->model().st;
    const sp_stats &sp = chip.sp.model()->st;
    o << "sppsim report\n";
    o << line("  trace            %s (%s)%s", info.trace.c_str(), info.link.c_str(),
              info.truncated ? "  [TRUNCATED: ends in a partial record]" : "");
    for (const auto &m : info.microcode)
        o << line("  microcode        %-5s %s (%s)", m.protocol.c_str(), m.source.c_str(),
                  m.hash.c_str());
    if (!info.roce_qps.empty())
        o << line("  roce queue pairs %llu from %s%s",
                  static_cast<unsigned long long>(info.roce_qps_count), info.roce_qps.c_str(),
                  info.roce_qps_note.c_str());
    o << line("  simulated time   %.3f us%s", s.sim_ps / 1e6,
              chip.warmup.ended ? " (measured, after the warm-up)" : "");
    if (chip.warmup.ended)
        o << line("  warm-up          ended at %.3f us, at packet %llu; %llu packets were still in "
                  "the chip (in + those = processed + dropped)",
                  chip.warmup.end_ps / 1e6, ull(chip.warmup.first_packet),
                  ull(chip.warmup.in_flight));
    o << "packets\n";
    o << line("  in               %llu (%llu bytes)", ull(s.packets_in), ull(s.bytes_in));
    o << line("  processed        %llu", ull(s.processed));
    o << line("  dropped          %llu", ull(s.dropped_total));
    for (unsigned r = 0; r < DROP_REASON_COUNT; r++)
        if (s.dropped[r])
            o << line("    %-22s %llu", drop_reason_name(r), ull(s.dropped[r]));
    if (s.packets_in && s.dropped[DROP_BAD_CHECKSUM] * 10 >= s.packets_in)
        o << line("  note: %llu of %llu frames failed checksum verification. A capture taken on "
                  "the sending host holds checksums left to the NIC (offload); to replay it, "
                  "use --set ipu.verify_checksums=false",
                  ull(s.dropped[DROP_BAD_CHECKSUM]), ull(s.packets_in));
    if (s.packets_in && s.dropped[DROP_CAPTURE_TRUNCATED] * 10 >= s.packets_in)
        o << line("  note: %llu of %llu frames were cut by the capture's snaplen and dropped; "
                  "capture with a larger snaplen (tcpdump -s 0) to simulate them",
                  ull(s.dropped[DROP_CAPTURE_TRUNCATED]), ull(s.packets_in));
    o << line("  offered          %s Gb/s, %s Mpps",
              fmt_num(per_s(s.bytes_in * 8, s.sim_ps) / 1e9).c_str(),
              fmt_num(per_s(s.packets_in, s.sim_ps) / 1e6).c_str());
    o << "events\n";
    o << line("  %-16s %10s %12s %12s %12s %12s", "type", "count", "lat p50 ns", "p99 ns",
              "p99.9 ns", "max ns");
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++) {
        if (!s.events[t])
            continue;
        const hist &h = chip.ev_stats.latency[t];
        o << line("  %-16s %10llu %12s %12s %12s %12s", ev_type_name(t), ull(s.events[t]),
                  fmt_num(hist_quantile(&h, 0.5) / 1e3).c_str(),
                  fmt_num(hist_quantile(&h, 0.99) / 1e3).c_str(),
                  fmt_num(hist_quantile(&h, 0.999) / 1e3).c_str(), fmt_num(h.max / 1e3).c_str());
    }
    o << line("  %-16s %10llu", "total", ull(s.events_total));
    if (chip.ev_stats.segment.count) {
        const hist &h = chip.ev_stats.segment;
        o << line("  %-16s %10llu %12s %12s %12s %12s", "per segment", ull(h.count),
                  fmt_num(hist_quantile(&h, 0.5) / 1e3).c_str(),
                  fmt_num(hist_quantile(&h, 0.99) / 1e3).c_str(),
                  fmt_num(hist_quantile(&h, 0.999) / 1e3).c_str(), fmt_num(h.max / 1e3).c_str());
    }
    for (unsigned p = 0; p < PROTO_COUNT; p++) {
        const hist &h = chip.ev_stats.proto_latency[p];
        if (!h.count)
            continue;
        std::string name = std::string(ev_proto_name(p)) + " events";
        o << line("  %-16s %10llu %12s %12s %12s %12s", name.c_str(), ull(h.count),
                  fmt_num(hist_quantile(&h, 0.5) / 1e3).c_str(),
                  fmt_num(hist_quantile(&h, 0.99) / 1e3).c_str(),
                  fmt_num(hist_quantile(&h, 0.999) / 1e3).c_str(), fmt_num(h.max / 1e3).c_str());
    }
    if (chip.ev_stats.stage[STAGE_CORE].count) {
        o << "  where a network event's latency goes (mean, p99 ns; queueing included)\n";
        std::string l = "   ";
        for (unsigned k = 0; k < STAGE_COUNT; k++) {
            const hist &h = chip.ev_stats.stage[k];
            char b[96];
            std::snprintf(b, sizeof b, " %s %s/%s", stage_name(k),
                          fmt_num(hist_mean(&h) / 1e3).c_str(),
                          fmt_num(hist_quantile(&h, 0.99) / 1e3).c_str());
            l += b;
        }
        o << l << "\n";
    }
    o << "ipu\n";
    o << line("  utilisation      %s %%",
              fmt_num(100.0 * share(ip.busy_cycles, s.ipu_cycles)).c_str());
    if (ip.tso_frames)
        o << line("  TSO frames       %llu (IPv4 length 0: length from the frame, checksums not "
                  "verified)",
                  ull(ip.tso_frames));
    o << line("  checksum errors  ipv4 %llu, tcp %llu, udp %llu", ull(ip.checks[IPU_CK_IPV4_CSUM]),
              ull(ip.checks[IPU_CK_TCP_CSUM]), ull(ip.checks[IPU_CK_UDP_CSUM]));
    o << line("  stalls           scratchpad full %llu, out-queue full %llu",
              ull(ip.stall_scratchpad_full), ull(ip.stall_out_full));
    if (ip.processed != ip.frames)
        o << "  frames by the check that decided them (all but ok)\n";
    for (unsigned c = 1; c < IPU_CK_COUNT; c++)
        if (ip.checks[c])
            o << line("    %-22s %llu", ipu_check_name(c), ull(ip.checks[c]));
    o << "scratchpad\n";
    o << line("  peak             %llu bytes in %llu of %u cells; allocation refusals %llu",
              ull(sp.bytes_peak), ull(sp.cells_peak), chip.sp.model()->ncells, ull(sp.alloc_fail));
    o << "ingress FIFO\n";
    const chan_stats &in = chip.ingress.stats();
    o << line("  max depth        %llu of %u; refusals %llu", ull(in.max_depth),
              chip.ingress.capacity(), ull(in.stall_full));
    const disp *dm = chip.dispatcher->model();
    const disp_stats &ds = *disp_get_stats(dm);
    o << "flows\n";
    o << line("  opened           %llu (%llu picked up mid-stream); closed %llu",
              ull(ds.flows_opened), ull(ds.flows_picked_up), ull(ds.flows_closed));
    o << line("  table            peak %llu of %u proxies; %u open at the end", ull(ds.flows_peak),
              chip.cfg.dispatcher.flows, disp_flows_in_use(dm));
    o << "delivered to the host\n";
    o << line("  bytes            %llu in %llu connections", ull(s.delivered_bytes),
              ull(chip.host->connections()));
    o << line("  goodput          %s Gb/s over the simulated time",
              fmt_num(per_s(s.delivered_bytes * 8, s.sim_ps) / 1e9).c_str());
    if (chip.remote)
        closed_loop_text(o, chip, s);
    if (chip.live)
        chip.live->write_text(o);
    o << "by protocol (packets that derived events; bytes delivered in order, and by RDMA WRITE)\n";
    for (unsigned p = 0; p < PROTO_COUNT; p++) {
        uint64_t pk = chip.ipu->proto_packets()[p], dl = chip.host->bytes_delivered(p);
        uint64_t wr = p == PROTO_ROCE ? chip.host->bytes_written() : 0;
        if (pk || dl || wr)
            o << line("  %-16s %llu packets (%llu bytes), delivered %llu bytes, written %llu bytes",
                      ev_proto_name(p), ull(pk), ull(chip.ipu->proto_bytes()[p]), ull(dl), ull(wr));
    }
    o << "dispatcher\n";
    o << line("  utilisation      %s %%; events %llu, parked %llu; stalls: pending full %llu, "
              "out-queue full %llu",
              fmt_num(100.0 * share(ds.busy_cycles, cycles_of(s.sim_ps, chip.dispatcher->clock())))
                  .c_str(),
              ull(ds.events_in), ull(ds.events_parked), ull(ds.stall_pending_full),
              ull(ds.stall_out_full));
    const luc_stats &ls = *luc_get_stats(chip.lookup->model());
    const xmem_stats &lm = *luc_mem_stats(chip.lookup->model());
    o << "lookup controller\n";
    o << line("  requests         %llu (%llu new flows); cache hits %llu, misses %llu, "
              "evictions %llu",
              ull(ls.requests), ull(ls.fresh), ull(ls.cache_hits), ull(ls.cache_misses),
              ull(ls.evictions));
    o << line(
        "  memory           %llu bytes read, %llu written; bus %s %% busy", ull(lm.bytes_read),
        ull(lm.bytes_written),
        fmt_num(100.0 * share(lm.bus_cycles, cycles_of(s.sim_ps, chip.lookup->clock()))).c_str());
    o << line("  timers           set %llu, cancelled %llu, fired %llu, peak armed %llu",
              ull(ls.timers_set), ull(ls.timers_cancelled), ull(ls.timers_fired),
              ull(ls.timers_peak));
    o << "protocol cores\n";
    for (size_t i = 0; i < chip.clusters.size(); i++) {
        const cluster &c = chip.clusters[i]->model();
        uint64_t ev = 0, insns = 0, busy = 0, busy_max = 0;
        for (unsigned k = 0; k < c.cfg.cores; k++) {
            const cluster_core_stats *cs = cluster_stats(&c, k);
            ev += cs->events;
            insns += cs->insns;
            busy += cs->busy_cycles;
            busy_max = cs->busy_cycles > busy_max ? cs->busy_cycles : busy_max;
        }
        uint64_t cyc = cycles_of(s.sim_ps, chip.clusters[i]->clock());
        o << line("  cluster %zu        %u cores: events %llu, instructions %llu, busy mean %s %% "
                  "max %s %%",
                  i, c.cfg.cores, ull(ev), ull(insns),
                  fmt_num(100.0 * share(busy, cyc * c.cfg.cores)).c_str(),
                  fmt_num(100.0 * share(busy_max, cyc)).c_str());
    }
    if (chip.ev_stats.bad_appends || chip.ev_stats.bad_emits || chip.ev_stats.bad_tx_data)
        o << line("  microcode errors sock_append outside the frame %llu, ev_emit of an unknown "
                  "type %llu, tx_data outside the send buffer %llu (refused; a firmware bug)",
                  ull(chip.ev_stats.bad_appends), ull(chip.ev_stats.bad_emits),
                  ull(chip.ev_stats.bad_tx_data));
    if (chip.ev_stats.faults) {
        o << line("  faults           %llu", ull(chip.ev_stats.faults));
        for (const auto &f : chip.ev_stats.fault_lines)
            o << "    " << f << "\n";
    }
    const smc *sm = chip.host->model();
    const smc_stats &ss = *smc_get_stats(sm);
    o << "socket memory\n";
    o << line("  pages            peak %llu of %u (%u bytes each); allocations %llu; %u in use "
              "at the end",
              ull(ss.pages_peak), chip.cfg.smc.pages, chip.cfg.smc.page_size, ull(ss.page_allocs),
              smc_pages_in_use(sm));
    o << line("  appends          %llu (%llu bytes, %llu below data already placed); refused: "
              "window %llu, pool %llu",
              ull(ss.appends), ull(ss.bytes_appended), ull(ss.bytes_dup), ull(ss.refused_window),
              ull(ss.refused_pool));
    const happ_stats &hs = *happ_get_stats(chip.host->app());
    if (chip.cfg.host.consume_mbps)
        o << line("  application      reads %llu (%llu bytes) at %u Mb/s per flow; unread peak "
                  "%llu bytes in a flow; %llu bytes unread at close",
                  ull(hs.reads), ull(hs.bytes_read), chip.cfg.host.consume_mbps,
                  ull(hs.backlog_peak), ull(hs.bytes_at_close));
    const tx_stats &ts = *tx_get_stats(chip.tx->model());
    o << "transmit\n";
    o << line("  frames           %llu (%llu bytes); dropped: queue full %llu, no template %llu",
              ull(ts.frames), ull(ts.bytes), ull(ts.drops_queue_full), ull(ts.drops_no_template));
    const tx_data_stats &td = *tx_get_data_stats(chip.tx->model());
    if (td.data_frames || td.key_templates)
        o << line("  data segments    %llu (%llu payload bytes); too long %llu; templates from a "
                  "key (active opens) %llu",
                  ull(td.data_frames), ull(td.payload_bytes), ull(td.drops_too_long),
                  ull(td.key_templates));
    const smc_stats &sd = *smc_get_stats(chip.host->model());
    if (sd.snd_writes)
        o << line("  send buffers     host wrote %llu bytes in %llu writes (pool refusals %llu); "
                  "read for segments %llu bytes; acknowledged %llu; discarded at close %llu",
                  ull(sd.snd_bytes_written), ull(sd.snd_writes), ull(sd.snd_refused_pool),
                  ull(sd.snd_bytes_read), ull(sd.snd_bytes_acked), ull(sd.snd_bytes_discarded));
    if (chip.host->host_events())
        o << line("  host events      %llu (tcp_send, tcp_close, tcp_recv_credit)",
                  ull(chip.host->host_events()));
    for (const auto &e : chip.host->script_errors())
        o << line("  host script      %s", e.c_str());
    o << "host\n";
    o << line("  wall time        %.3f s", info.wall_s);
    o << line("  speed            %.3f M packets simulated per wall second",
              info.wall_s > 0 ? s.packets_in / info.wall_s / 1e6 : 0.0);
    const Sched &k = sched();
    o << line("  scheduler        %llu activations, %llu notifications (%.2f, %.2f per packet)",
              ull(k.activations()), ull(k.notifications()),
              s.packets_in ? static_cast<double>(k.activations()) / s.packets_in : 0.0,
              s.packets_in ? static_cast<double>(k.notifications()) / s.packets_in : 0.0);
}

void write_json_stats(std::ostream &o, Chip &chip, const Summary &s, const RunInfo &info)
{
    JsonWriter j(o);
    const ipu_stats &ip = chip.ipu->model().st;
    const SourceStats &src = chip.source->stats();
    j.begin();
    j.kv("schema", 1);
    j.begin("tool");
    j.kv("name", "sppsim");
    j.kv("version", SPPSIM_VERSION);
    j.end();
    j.begin("input");
    j.kv("trace", info.trace);
    j.kv("link_type", info.link);
    j.kv("truncated", info.truncated);
    j.kv("timestamps_backwards", src.ts_backwards);
    j.begin("microcode");
    for (const auto &m : info.microcode)
        j.kv(m.protocol.c_str(), m.source);
    j.end();
    j.begin("microcode_hash");
    for (const auto &m : info.microcode)
        j.kv(m.protocol.c_str(), m.hash);
    j.end();
    if (!info.roce_qps.empty()) {
        j.kv("roce_qps", info.roce_qps);
        j.kv("roce_qps_count", info.roce_qps_count);
    }
    j.end();
    write_config_json(j, chip.cfg, "config");
    j.kv("sim_time_ps", s.sim_ps);
    if (chip.warmup.configured) {
        j.begin("warmup");
        j.kv("ended", chip.warmup.ended);
        j.kv("end_ps", chip.warmup.end_ps);
        j.kv("first_packet", chip.warmup.first_packet);
        j.kv("packets_in_flight", chip.warmup.in_flight);
        j.end();
    }
    j.begin("packets");
    j.kv("in", s.packets_in);
    j.kv("processed", s.processed);
    j.begin("dropped");
    for (unsigned r = 0; r < DROP_REASON_COUNT; r++)
        j.kv(drop_reason_name(r), s.dropped[r]);
    j.end();
    j.end();
    j.begin("bytes");
    j.kv("in", s.bytes_in);
    j.kv("accepted", src.pushed_bytes);
    j.end();
    j.begin("delivered");
    j.kv("bytes", s.delivered_bytes);
    j.kv("connections", chip.host->connections());
    j.kv("goodput_gbps", per_s(s.delivered_bytes * 8, s.sim_ps) / 1e9);
    j.end();
    j.begin("protocols");
    for (unsigned p = 0; p < PROTO_COUNT; p++) {
        j.begin(ev_proto_name(p));
        j.kv("packets", chip.ipu->proto_packets()[p]);
        j.kv("bytes", chip.ipu->proto_bytes()[p]);
        j.kv("bytes_delivered", chip.host->bytes_delivered(p));
        j.kv("bytes_written", p == PROTO_ROCE ? chip.host->bytes_written() : uint64_t{0});
        j.end();
    }
    j.end();
    j.begin("faults");
    j.kv("count", chip.ev_stats.faults);
    j.kv("bad_appends", chip.ev_stats.bad_appends);
    j.kv("bad_emits", chip.ev_stats.bad_emits);
    j.kv("bad_tx_data", chip.ev_stats.bad_tx_data);
    j.begin_array("first");
    for (const auto &f : chip.ev_stats.fault_lines)
        j.value(f);
    j.end_array();
    j.end();
    j.begin("throughput");
    j.kv("offered_gbps", per_s(s.bytes_in * 8, s.sim_ps) / 1e9);
    j.kv("offered_mpps", per_s(s.packets_in, s.sim_ps) / 1e6);
    j.kv("processed_mpps", per_s(s.processed, s.sim_ps) / 1e6);
    j.end();
    j.begin("events");
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        j.kv(ev_type_name(t), s.events[t]);
    j.end();
    j.begin("latency_ps");
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        if (chip.ev_stats.latency[t].count)
            hist_json(j, ev_type_name(t), chip.ev_stats.latency[t]);
    j.end();
    hist_json(j, "latency_segment_ps", chip.ev_stats.segment);
    // by protocol: every event of it, and its segments end to end (protocols that occurred)
    j.begin("latency_protocol_ps");
    for (unsigned p = 0; p < PROTO_COUNT; p++)
        if (chip.ev_stats.proto_latency[p].count) {
            j.begin(ev_proto_name(p));
            hist_json(j, "events", chip.ev_stats.proto_latency[p]);
            if (chip.ev_stats.proto_segment[p].count)
                hist_json(j, "segment", chip.ev_stats.proto_segment[p]);
            j.end();
        }
    j.end();
    j.begin("latency_stages_ps");
    for (unsigned k = 0; k < STAGE_COUNT; k++)
        hist_json(j, stage_name(k), chip.ev_stats.stage[k]);
    j.end();
    if (chip.sampler) {
        const Sampler &sm = *chip.sampler;
        j.begin("timeseries");
        j.kv("interval_ps", sm.interval_ps());
        j.kv("t_ps", sm.times());
        for (size_t i = 0; i < sm.names().size(); i++)
            j.kv(sm.names()[i].c_str(), sm.columns()[i]);
        j.end();
    }
    if (chip.live)
        chip.live->write_json(j);
    if (chip.remote) {
        j.begin("closed_loop");
        const rem_stats *r = rem_get_stats(chip.remote->model());
        stats_json(j, rem_stat_defs, rem_stat_count, r);
        hist_json(j, "request_latency_ns", r->req_latency_ns);
        j.kv("requests_per_s", per_s(r->requests_completed, s.sim_ps));
        j.end();
    }
    j.begin("units");
    j.begin("source");
    j.kv("packets", src.packets);
    j.kv("pushed", src.pushed);
    j.kv("dropped_ingress", src.drops_ingress);
    j.kv("dropped_bytes", src.drop_bytes);
    j.kv("first_arrival_ps", src.first_arrival_ps);
    j.kv("last_arrival_ps", src.last_arrival_ps);
    j.end();
    chan_json(j, "ingress_fifo", chip.ingress, s.sim_ps);
    j.begin("ipu");
    for (size_t i = 0; i < ipu_stat_count; i++)
        j.kv(ipu_stat_defs[i].name, stat_read(&ipu_stat_defs[i], &ip));
    j.kv("cycles", s.ipu_cycles);
    j.kv("utilisation", share(ip.busy_cycles, s.ipu_cycles));
    j.begin("checks");
    for (unsigned c = 0; c < IPU_CK_COUNT; c++)
        j.kv(ipu_check_name(c), ip.checks[c]);
    j.end();
    j.begin("events_derived");
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        j.kv(ev_type_name(t), ip.ev_types[t]);
    j.end();
    j.end();
    chan_json(j, "event_channel", chip.events, s.sim_ps);
    chan_json(j, "tx_channel", chip.txq, s.sim_ps);
    {
        const disp *dm = chip.dispatcher->model();
        const disp_stats &ds = *disp_get_stats(dm);
        j.begin("dispatcher");
        stats_json(j, disp_stat_defs, disp_stat_count, &ds);
        j.kv("flows_in_use", disp_flows_in_use(dm));
        j.kv("utilisation", share(ds.busy_cycles, cycles_of(s.sim_ps, chip.dispatcher->clock())));
        j.end();
        j.begin("lookup");
        stats_json(j, luc_stat_defs, luc_stat_count, luc_get_stats(chip.lookup->model()));
        xmem_json(j, *luc_mem_stats(chip.lookup->model()),
                  cycles_of(s.sim_ps, chip.lookup->clock()));
        j.end();
        j.begin_array("clusters");
        for (size_t i = 0; i < chip.clusters.size(); i++) {
            const cluster &c = chip.clusters[i]->model();
            uint64_t cyc = cycles_of(s.sim_ps, chip.clusters[i]->clock());
            j.begin();
            j.begin_array("cores");
            for (unsigned k = 0; k < c.cfg.cores; k++) {
                j.begin();
                stats_json(j, cluster_stat_defs, cluster_stat_count, cluster_stats(&c, k));
                j.kv("ipc", cluster_ipc(&c, k));
                j.kv("busy_share", cluster_busy_share(&c, k, cyc));
                j.end();
            }
            j.end_array();
            j.end();
        }
        j.end_array();
        const smc *sm = chip.host->model();
        j.begin("smc");
        stats_json(j, smc_stat_defs, smc_stat_count, smc_get_stats(sm));
        j.kv("pages_in_use", smc_pages_in_use(sm));
        j.kv("flows_open", smc_flows_open(sm));
        xmem_json(j, *smc_mem_stats(sm), cycles_of(s.sim_ps, chip.host->clock()));
        j.end();
        j.begin("host_app");
        stats_json(j, happ_stat_defs, happ_stat_count, happ_get_stats(chip.host->app()));
        j.end();
        j.begin("tx");
        stats_json(j, tx_stat_defs, tx_stat_count, tx_get_stats(chip.tx->model()));
        stats_json(j, tx_data_stat_defs, tx_data_stat_count, tx_get_data_stats(chip.tx->model()));
        j.end();
    }

    j.begin("scratchpad");
    for (size_t i = 0; i < sp_stat_count; i++)
        j.kv(sp_stat_defs[i].name, stat_read(&sp_stat_defs[i], &chip.sp.model()->st));
    j.kv("cells", chip.sp.model()->ncells);
    j.end();
    j.end();
    j.end();
    j.finish();
}

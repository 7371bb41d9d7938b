#include "html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "json_writer.h"

namespace {

std::string esc(const std::string &s)
{
    std::string o;
    for (char c : s) {
        switch (c) {
        case '<':
            o += "&lt;";
            break;
        case '>':
            o += "&gt;";
            break;
        case '&':
            o += "&amp;";
            break;
        case '"':
            o += "&quot;";
            break;
        default:
            o += c;
        }
    }
    return o;
}

std::string num(double v) { return fmt_num(v); }
std::string num(uint64_t v) { return std::to_string(v); }

const char *const kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// A line chart of series over x, in a w x h SVG with axes labelled by their extremes.
struct Series {
    std::string name;
    std::vector<double> y;
};

void line_chart(std::ostream &o, const std::string &title, const std::vector<double> &x,
                const std::vector<Series> &series, const std::string &xunit, bool logx = false)
{
    const double W = 640, H = 220, L = 60, R = 150, T = 24, B = 30;
    double x0 = 1e300, x1 = -1e300, y1 = 0;
    auto fx = [&](double v) { return logx ? std::log10(std::max(v, 1.0)) : v; };
    for (double v : x) {
        x0 = std::min(x0, fx(v));
        x1 = std::max(x1, fx(v));
    }
    for (const Series &s : series)
        for (double v : s.y)
            y1 = std::max(y1, v);
    if (x.empty() || x1 <= x0)
        x1 = x0 + 1;
    if (y1 <= 0)
        y1 = 1;
    auto px = [&](double v) { return L + (fx(v) - x0) / (x1 - x0) * (W - L - R); };
    auto py = [&](double v) { return T + (1 - v / y1) * (H - T - B); };
    o << "<figure><svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H
      << "' role='img'><title>" << esc(title) << "</title>";
    o << "<text x='" << L << "' y='16' class='t'>" << esc(title) << "</text>";
    o << "<line x1='" << L << "' y1='" << H - B << "' x2='" << W - R << "' y2='" << H - B
      << "' class='ax'/><line x1='" << L << "' y1='" << T << "' x2='" << L << "' y2='" << H - B
      << "' class='ax'/>";
    o << "<text x='" << L - 4 << "' y='" << T + 4 << "' class='yl'>" << num(y1) << "</text>";
    o << "<text x='" << L - 4 << "' y='" << H - B << "' class='yl'>0</text>";
    o << "<text x='" << L << "' y='" << H - 10 << "' class='xl'>"
      << num(logx ? std::pow(10, x0) : x0) << " " << esc(xunit) << "</text>";
    o << "<text x='" << W - R << "' y='" << H - 10 << "' class='xr'>"
      << num(logx ? std::pow(10, x1) : x1) << " " << esc(xunit) << "</text>";
    for (size_t k = 0; k < series.size(); k++) {
        const char *c = kColours[k % 10];
        o << "<polyline fill='none' stroke='" << c << "' stroke-width='1.5' points='";
        for (size_t i = 0; i < x.size() && i < series[k].y.size(); i++)
            o << px(x[i]) << "," << py(series[k].y[i]) << " ";
        o << "'/>";
        o << "<text x='" << W - R + 8 << "' y='" << T + 14 * (k + 1) << "' fill='" << c
          << "' class='lg'>" << esc(series[k].name) << "</text>";
    }
    o << "</svg></figure>\n";
}

void table_head(std::ostream &o, std::initializer_list<const char *> cols)
{
    o << "<table><tr>";
    for (const char *c : cols)
        o << "<th>" << c << "</th>";
    o << "</tr>\n";
}

template <class S>
void stat_table(std::ostream &o, const char *title, const stat_def *defs, size_t n, const S *st)
{
    o << "<h3>" << title << "</h3>";
    table_head(o, {"counter", "value", "meaning"});
    for (size_t i = 0; i < n; i++)
        o << "<tr><td>" << defs[i].name << "</td><td class='n'>" << stat_read(&defs[i], st)
          << "</td><td>" << esc(defs[i].desc) << "</td></tr>\n";
    o << "</table>\n";
}

// The latency CDF of one histogram: (value, fraction at or below) at each non-empty bucket.
void cdf_points(const hist &h, std::vector<double> &x, std::vector<double> &y)
{
    uint64_t seen = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        if (!h.b[b].n)
            continue;
        seen += h.b[b].n;
        uint64_t lo, hi;
        hist_bucket_range(b, &lo, &hi);
        x.push_back(static_cast<double>(std::min(hi, h.max)) / 1e3);
        y.push_back(static_cast<double>(seen) / static_cast<double>(h.count));
    }
}

} // namespace

void write_html_report(std::ostream &o, Chip &chip, const Summary &s, const RunInfo &info)
{
    o << "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>sppsim report: "
      << esc(info.trace) << "</title><style>"
      << "body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}"
      << "h1{font-size:20px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}"
      << "h3{font-size:14px}table{border-collapse:collapse;margin:8px 0}"
      << "td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}td.n{text-align:right;"
      << "font-variant-numeric:tabular-nums}.cards{display:flex;gap:12px;flex-wrap:wrap}"
      << ".card{border:1px solid #ccc;border-radius:6px;padding:8px 14px}.card b{display:block;"
      << "font-size:18px}figure{margin:8px 0}.t{font-weight:600;font-size:13px}"
      << ".ax{stroke:#888}.yl{text-anchor:end;font-size:11px}.xl,.xr,.lg{font-size:11px}"
      << ".xr{text-anchor:end}</style></head><body>\n";
    o << "<h1>sppsim report</h1>\n<p>trace <code>" << esc(info.trace) << "</code> ("
      << esc(info.link) << "), microcode";
    for (const auto &m : info.microcode)
        o << " " << esc(m.protocol) << " <code>" << esc(m.source) << "</code> (" << esc(m.hash)
          << ")";
    o << ", sppsim " << SPPSIM_VERSION << "</p>\n";

    // summary
    o << "<div class='cards'>";
    auto card = [&](const std::string &label, const std::string &v) {
        o << "<div class='card'>" << esc(label) << "<b>" << esc(v) << "</b></div>";
    };
    card("simulated time", num(s.sim_ps / 1e6) + " µs");
    card("packets in", num(s.packets_in));
    card("processed", num(s.processed));
    card("dropped", num(s.dropped_total));
    card("offered", num(s.sim_ps ? s.bytes_in * 8e3 / s.sim_ps : 0.0) + " Gb/s");
    card("delivered", num(s.delivered_bytes) + " B");
    card("goodput", num(s.sim_ps ? s.delivered_bytes * 8e3 / s.sim_ps : 0.0) + " Gb/s");
    card("core faults", num(chip.ev_stats.faults));
    o << "</div>\n";

    o << "<h2>Drops by reason</h2>";
    table_head(o, {"reason", "packets"});
    for (unsigned r = 0; r < DROP_REASON_COUNT; r++)
        if (s.dropped[r])
            o << "<tr><td>" << drop_reason_name(r) << "</td><td class='n'>" << s.dropped[r]
              << "</td></tr>";
    o << "</table>\n";
    if (!chip.ev_stats.fault_lines.empty()) {
        o << "<h3>First faults</h3><ul>";
        for (const auto &f : chip.ev_stats.fault_lines)
            o << "<li><code>" << esc(f) << "</code></li>";
        o << "</ul>\n";
    }

    o << "<h2>Latency</h2>";
    table_head(o, {"event type", "count", "p50 ns", "p90 ns", "p99 ns", "p99.9 ns", "max ns"});
    std::vector<Series> cdfs;
    std::vector<double> cdf_x;
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++) {
        const hist &h = chip.ev_stats.latency[t];
        if (!h.count)
            continue;
        o << "<tr><td>" << ev_type_name(t) << "</td><td class='n'>" << h.count << "</td>";
        for (double q : {0.5, 0.9, 0.99, 0.999})
            o << "<td class='n'>" << num(hist_quantile(&h, q) / 1e3) << "</td>";
        o << "<td class='n'>" << num(h.max / 1e3) << "</td></tr>\n";
    }
    o << "</table>\n";
    // the CDFs on one axis: each series sampled at the union of the bucket edges
    std::vector<std::vector<double>> xs, ys;
    std::vector<std::string> names;
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++) {
        const hist &h = chip.ev_stats.latency[t];
        if (!h.count)
            continue;
        xs.emplace_back();
        ys.emplace_back();
        cdf_points(h, xs.back(), ys.back());
        names.emplace_back(ev_type_name(t));
        cdf_x.insert(cdf_x.end(), xs.back().begin(), xs.back().end());
    }
    std::sort(cdf_x.begin(), cdf_x.end());
    cdf_x.erase(std::unique(cdf_x.begin(), cdf_x.end()), cdf_x.end());
    for (size_t k = 0; k < xs.size(); k++) {
        Series ser{names[k], {}};
        size_t i = 0;
        double f = 0;
        for (double x : cdf_x) {
            while (i < xs[k].size() && xs[k][i] <= x)
                f = ys[k][i++];
            ser.y.push_back(f);
        }
        cdfs.push_back(std::move(ser));
    }
    if (!cdf_x.empty())
        line_chart(o, "latency CDF per event type (fraction of events at or below)", cdf_x, cdfs,
                   "ns", true);
    if (chip.ev_stats.stage[STAGE_CORE].count) {
        o << "<h3>Where a network event's latency goes</h3>";
        table_head(o, {"stage", "mean ns", "p50 ns", "p99 ns", "max ns"});
        for (unsigned k = 0; k < STAGE_COUNT; k++) {
            const hist &h = chip.ev_stats.stage[k];
            o << "<tr><td>" << stage_name(k) << "</td><td class='n'>" << num(hist_mean(&h) / 1e3)
              << "</td><td class='n'>" << num(hist_quantile(&h, 0.5) / 1e3) << "</td><td class='n'>"
              << num(hist_quantile(&h, 0.99) / 1e3) << "</td><td class='n'>" << num(h.max / 1e3)
              << "</td></tr>";
        }
        o << "</table>\n";
    }

    if (chip.sampler && !chip.sampler->times().empty()) {
        const Sampler &sm = *chip.sampler;
        o << "<h2>Over time</h2><p>every " << num(sm.interval_ps() / 1e6) << " µs</p>";
        std::vector<double> t;
        for (double v : sm.times())
            t.push_back(v / 1e6);
        auto pick = [&](std::initializer_list<const char *> want, bool prefix = false) {
            std::vector<Series> out;
            for (size_t i = 0; i < sm.names().size(); i++)
                for (const char *w : want)
                    if (prefix ? sm.names()[i].rfind(w, 0) == 0 : sm.names()[i] == w)
                        out.push_back({sm.names()[i], sm.columns()[i]});
            return out;
        };
        auto util = pick({"ipu_utilisation", "dispatcher_utilisation"});
        auto cl = pick({"cluster"}, true);
        util.insert(util.end(), cl.begin(), cl.end());
        line_chart(o, "utilisation (share of the interval busy)", t, util, "µs");
        line_chart(o, "throughput (Gb/s)", t, pick({"tx_gbps", "delivered_gbps"}), "µs");
        line_chart(o, "occupancy", t, pick({"flows_in_use", "pages_in_use", "scratchpad_cells"}),
                   "µs");
        line_chart(o, "queues", t,
                   pick({"ingress_depth", "parked_events", "lookup_slots", "timers_armed"}), "µs");
    }

    uint64_t max_cores = 0;
    double busiest = 0;
    for (auto &c : chip.clusters) {
        max_cores = std::max<uint64_t>(max_cores, c->model().cfg.cores);
        uint64_t cyc = s.sim_ps / c->clock().period_ps;
        for (unsigned k = 0; k < c->model().cfg.cores; k++)
            busiest = std::max(busiest, cluster_busy_share(&c->model(), k, cyc));
    }
    o << "<h2>Protocol cores</h2><p>busy share of the run per core, darkest = the busiest ("
      << num(100 * busiest) << " %); hover for figures</p>";
    const int cell = 26;
    o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << 90 + cell * max_cores << "' height='"
      << 10 + cell * chip.clusters.size() << "'>";
    for (size_t i = 0; i < chip.clusters.size(); i++) {
        const cluster &m = chip.clusters[i]->model();
        uint64_t cyc = s.sim_ps / chip.clusters[i]->clock().period_ps;
        o << "<text x='0' y='" << 5 + cell * i + 17 << "' font-size='12'>cluster " << i
          << "</text>";
        for (unsigned k = 0; k < m.cfg.cores; k++) {
            double b = cluster_busy_share(&m, k, cyc);
            int shade = 255 - static_cast<int>(std::lround(busiest > 0 ? b / busiest * 215 : 0));
            o << "<rect x='" << 80 + cell * k << "' y='" << 5 + cell * i << "' width='" << cell - 2
              << "' height='" << cell - 2 << "' fill='rgb(" << shade << "," << shade
              << ",255)'><title>core " << i << "." << k << ": " << num(100 * b) << " % busy, "
              << cluster_stats(&m, k)->events << " events</title></rect>";
        }
    }
    o << "</svg>\n";
    table_head(o, {"cluster", "core", "events", "instructions", "busy %", "IPC", "faults"});
    for (size_t i = 0; i < chip.clusters.size(); i++) {
        const cluster &m = chip.clusters[i]->model();
        uint64_t cyc = s.sim_ps / chip.clusters[i]->clock().period_ps;
        for (unsigned k = 0; k < m.cfg.cores; k++) {
            const cluster_core_stats *c = cluster_stats(&m, k);
            o << "<tr><td>" << i << "</td><td>" << k << "</td><td class='n'>" << c->events
              << "</td><td class='n'>" << c->insns << "</td><td class='n'>"
              << num(100 * cluster_busy_share(&m, k, cyc)) << "</td><td class='n'>"
              << num(cluster_ipc(&m, k)) << "</td><td class='n'>" << c->faults << "</td></tr>";
        }
    }
    o << "</table>\n";

    o << "<h2>Units</h2>";
    stat_table(o, "input processing unit", ipu_stat_defs, ipu_stat_count, &chip.ipu->model().st);
    stat_table(o, "dispatcher", disp_stat_defs, disp_stat_count,
               disp_get_stats(chip.dispatcher->model()));
    stat_table(o, "lookup controller", luc_stat_defs, luc_stat_count,
               luc_get_stats(chip.lookup->model()));
    stat_table(o, "socket memory controller", smc_stat_defs, smc_stat_count,
               smc_get_stats(chip.host->model()));
    stat_table(o, "host application", happ_stat_defs, happ_stat_count,
               happ_get_stats(chip.host->app()));
    stat_table(o, "transmit", tx_stat_defs, tx_stat_count, tx_get_stats(chip.tx->model()));
    stat_table(o, "scratchpad", sp_stat_defs, sp_stat_count, &chip.sp.model()->st);

    o << "<h2>Configuration</h2>";
    table_head(o, {"parameter", "value"});
    for (auto &e : chip.cfg.entries())
        for (size_t i = 0; i < e.table->n; i++) {
            char v[64];
            param_format(&e.table->defs[i], e.cfg, v, sizeof v);
            o << "<tr><td>" << e.table->unit << "." << e.table->defs[i].name << "</td><td>"
              << esc(v) << "</td></tr>";
        }
    o << "</table>\n</body></html>\n";
}

#include "sampler.h"

#include "chip.h"

Sampler::Sampler(sc_core::sc_module_name name, Chip &chip, uint64_t interval_ps,
                 uint32_t max_samples)
    : sc_module(name), chip_(chip), interval_(interval_ps), max_(max_samples & ~1u)
{
    names_ = {"ingress_depth", "ipu_utilisation", "dispatcher_utilisation",
              "parked_events", "lookup_slots",    "timers_armed"};
    for (unsigned c = 0; c < chip.clusters.size(); c++)
        names_.push_back("cluster" + std::to_string(c) + "_busy");
    for (const char *n :
         {"flows_in_use", "pages_in_use", "scratchpad_cells", "tx_gbps", "delivered_gbps"})
        names_.emplace_back(n);
    cols_.resize(names_.size());
    proc_.bind<&Sampler::run>(this, true);
    proc_ << wake_;
    wake_.trigger_first(); // a sample is the state as its time step begins
}

void Sampler::run()
{
    uint64_t now = now_ps();
    if (now > 0 || !t_.empty())
        take(now);
    // Only while something else can still happen: a chip with work pending and no event left to
    // make progress is deadlocked, and sampling on would keep the kernel from ever stopping (so
    // the run would hang instead of ending with the deadlock report).
    if (chip_.active() && sched().pending())
        wake_.notify(interval_);
}

void Sampler::take(uint64_t now)
{
    // counters whose change over the interval makes a rate or a share
    // cur_ and v_ are members, refilled each time: a sample allocates nothing
    std::vector<uint64_t> &cur = cur_;
    cur.assign({chip_.ipu->model().st.busy_cycles,
                disp_get_stats(chip_.dispatcher->model())->busy_cycles,
                tx_get_stats(chip_.tx->model())->bytes, chip_.host->bytes_delivered()});
    for (auto &c : chip_.clusters) {
        uint64_t busy = 0;
        for (unsigned k = 0; k < c->model().cfg.cores; k++)
            busy += cluster_busy_cycles(&c->model(), k);
        cur.push_back(busy);
    }
    if (prev_.empty())
        prev_.assign(cur.size(), 0);
    double span = static_cast<double>(now - last_ps_);
    auto share = [&](size_t i, uint64_t period_ps, double units) {
        return span > 0 ? static_cast<double>(cur[i] - prev_[i]) * period_ps / span / units : 0.0;
    };
    std::vector<double> &v = v_;
    v.assign({static_cast<double>(chip_.ingress.depth()), share(0, chip_.ipu->clock().period_ps, 1),
              share(1, chip_.dispatcher->clock().period_ps, 1),
              static_cast<double>(disp_pending_count(chip_.dispatcher->model())),
              static_cast<double>(luc_slots_in_use(chip_.lookup->model())),
              static_cast<double>(luc_timers_armed(chip_.lookup->model()))});
    for (size_t c = 0; c < chip_.clusters.size(); c++)
        v.push_back(share(4 + c, chip_.clusters[c]->clock().period_ps,
                          chip_.clusters[c]->model().cfg.cores));
    v.push_back(disp_flows_in_use(chip_.dispatcher->model()));
    v.push_back(smc_pages_in_use(chip_.host->model()));
    v.push_back(static_cast<double>(chip_.sp.model()->st.cells_used));
    v.push_back(span > 0 ? static_cast<double>(cur[2] - prev_[2]) * 8e3 / span : 0.0);
    v.push_back(span > 0 ? static_cast<double>(cur[3] - prev_[3]) * 8e3 / span : 0.0);
    prev_.swap(cur_); // cur_ is refilled at the next sample
    last_ps_ = now;
    t_.push_back(static_cast<double>(now));
    for (size_t i = 0; i < cols_.size(); i++)
        cols_[i].push_back(v[i]);
    if (t_.size() >= max_)
        halve();
}

void Sampler::halve()
{
    size_t n = t_.size() / 2;
    for (size_t k = 0; k < n; k++) {
        t_[k] = t_[2 * k + 1];
        for (auto &c : cols_)
            c[k] = (c[2 * k] + c[2 * k + 1]) / 2;
    }
    t_.resize(n);
    for (auto &c : cols_)
        c.resize(n);
    interval_ *= 2;
}

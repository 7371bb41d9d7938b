#include "config.h"

#define BOOST_BIND_GLOBAL_PLACEHOLDERS
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <cstddef>
#include <fstream>
#include <sstream>

namespace {

const char *const mode_names[] = {"timestamps", "rate", "saturate", nullptr};
const char *const fault_names[] = {"stop", "reset_flow", nullptr};

const param_def source_defs[] = {
    {"mode", PARAM_ENUM, offsetof(SourceCfg, mode), REPLAY_TIMESTAMPS, 0, 0, "",
     "replay at the capture's timestamps, at a fixed line rate, or as fast as the chip accepts",
     mode_names},
    {"rate_mbps", PARAM_U64, offsetof(SourceCfg, rate_mbps), 100000, 1, 100000000, "Mb/s",
     "line rate for mode=rate", nullptr},
    {"gap_bytes", PARAM_U32, offsetof(SourceCfg, gap_bytes), 20, 0, 1000, "bytes",
     "preamble and inter-frame gap added to each frame at a fixed line rate", nullptr},
};

const param_def top_defs[] = {
    {"ingress_depth", PARAM_U32, offsetof(TopCfg, ingress_depth), 256, 1, 1u << 20, "frames",
     "ingress FIFO between the port and the IPU; a frame arriving when it is full is dropped",
     nullptr},
    {"ingress_latency_ps", PARAM_U64, offsetof(TopCfg, ingress_latency_ps), 0, 0, 1000000000, "ps",
     "latency of the ingress FIFO", nullptr},
    {"event_depth", PARAM_U32, offsetof(TopCfg, event_depth), 64, 1, 1u << 20, "events",
     "capacity of the channel from the IPU to the next stage", nullptr},
    {"event_latency_ps", PARAM_U64, offsetof(TopCfg, event_latency_ps), 1000, 0, 1000000000, "ps",
     "latency of the channel from the IPU to the next stage", nullptr},
    {"seed", PARAM_U64, offsetof(TopCfg, seed), 1, 0, UINT64_MAX, "",
     "seed of every pseudo-random choice in the run", nullptr},
    {"clusters", PARAM_U32, offsetof(TopCfg, clusters), 2, 1, DISP_MAX_CLUSTERS, "clusters",
     "clusters of protocol cores, each of cluster.cores cores; route.* says which runs what",
     nullptr},
    {"ctl_depth", PARAM_U32, offsetof(TopCfg, ctl_depth), 64, 1, 1u << 20, "messages",
     "capacity of each channel of the stateful path (dispatcher, lookup, cores, transmit)",
     nullptr},
    {"ctl_latency_ps", PARAM_U64, offsetof(TopCfg, ctl_latency_ps), 1000, 0, 1000000000, "ps",
     "latency of each channel of the stateful path", nullptr},
    {"on_fault", PARAM_ENUM, offsetof(TopCfg, on_fault), FAULT_STOP, 0, 0, "",
     "on a core fault: stop the run (exit 3) or reset the flow and go on", fault_names},
};

// One entry per event type, named after it; built once from ev_type_name.
struct RouteTable {
    param_def defs[EV_TYPE_COUNT];
    RouteTable()
    {
        for (unsigned t = 0; t < EV_TYPE_COUNT; t++) {
            // network TCP types and TCP timers: cluster 0 (receive); host and core-generated
            // types: cluster 1 (send); UDP and other frames: no cluster (dropped as no_route)
            uint64_t def = t <= EV_TCP_KEEPALIVE ? 1 : t <= EV_TCP_INTERNAL ? 2 : 0;
            defs[t] = {ev_type_name(t),
                       PARAM_U32,
                       offsetof(RouteCfg, mask) + t * sizeof(uint32_t),
                       def,
                       0,
                       (1u << DISP_MAX_CLUSTERS) - 1,
                       "clusters",
                       "bit mask of the clusters whose cores run this event type (bit i = "
                       "cluster i); 0: dropped as no_route",
                       nullptr};
        }
    }
};
const RouteTable route_table;

} // namespace

const param_table source_params = {"source", source_defs,
                                   sizeof source_defs / sizeof source_defs[0]};
const param_table top_params = {"chip", top_defs, sizeof top_defs / sizeof top_defs[0]};
const param_table route_params = {"route", route_table.defs, EV_TYPE_COUNT};

ChipConfig::ChipConfig()
{
    for (auto &e : entries())
        param_defaults(e.table, e.cfg);
}

std::vector<ChipConfig::Entry> ChipConfig::entries()
{
    return {{&source_params, &source},   {&top_params, &chip},        {&ipu_params, &ipu},
            {&sp_params, &scratchpad},   {&disp_params, &dispatcher}, {&luc_params, &lookup},
            {&cluster_params, &cluster}, {&core_params, &core},       {&smc_params, &smc},
            {&tx_params, &tx},           {&route_params, &route}};
}

void ChipConfig::set(const std::string &unit, const std::string &key, const std::string &value)
{
    for (auto &e : entries()) {
        if (unit != e.table->unit)
            continue;
        sim_err err;
        if (param_set(e.table, e.cfg, key.c_str(), value.c_str(), &err))
            throw ConfigError(err.msg);
        return;
    }
    std::string units;
    for (auto &e : entries())
        units += std::string(units.empty() ? "" : ", ") + e.table->unit;
    throw ConfigError("unknown unit '" + unit + "' (units: " + units + ")");
}

void ChipConfig::set(const std::string &assignment)
{
    auto eq = assignment.find('=');
    auto dot = assignment.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot > eq)
        throw ConfigError("'" + assignment + "' is not of the form unit.key=value");
    set(assignment.substr(0, dot), assignment.substr(dot + 1, eq - dot - 1),
        assignment.substr(eq + 1));
}

void ChipConfig::load_json(const std::string &path)
{
    std::ifstream in(path);
    if (!in)
        throw ConfigError(path + ": cannot open config file");
    boost::property_tree::ptree root;
    try {
        boost::property_tree::read_json(in, root);
    } catch (const boost::property_tree::json_parser_error &e) {
        throw ConfigError(path + ":" + std::to_string(e.line()) + ": " + e.message());
    }
    for (const auto &unit : root) {
        if (unit.first.empty())
            throw ConfigError(path + ": the top level must be an object of units");
        if (unit.second.empty() && !unit.second.data().empty())
            throw ConfigError(path + ": " + unit.first + ": expected an object of parameters");
        for (const auto &kv : unit.second) {
            if (!kv.second.empty())
                throw ConfigError(path + ": " + unit.first + "." + kv.first +
                                  ": expected a number, boolean or string");
            try {
                set(unit.first, kv.first, kv.second.data());
            } catch (const ConfigError &e) {
                throw ConfigError(path + ": " + e.what());
            }
        }
    }
}

void ChipConfig::validate() const
{
    for (auto &e : entries()) {
        sim_err err;
        if (param_validate(e.table, e.cfg, &err))
            throw ConfigError(err.msg);
    }
    if (smc.buf_min > smc.buf_max)
        throw ConfigError("smc.buf_min: " + std::to_string(smc.buf_min) +
                          " is larger than smc.buf_max " + std::to_string(smc.buf_max));
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        if (route.mask[t] >> chip.clusters)
            throw ConfigError(std::string("route.") + ev_type_name(t) +
                              ": names a cluster beyond " + std::to_string(chip.clusters - 1) +
                              " (chip.clusters = " + std::to_string(chip.clusters) + ")");
    if (scratchpad.cell > scratchpad.capacity)
        throw ConfigError("scratchpad.cell: " + std::to_string(scratchpad.cell) +
                          " is larger than scratchpad.capacity " +
                          std::to_string(scratchpad.capacity));
}

std::string params_markdown()
{
    std::ostringstream o;
    ChipConfig c;
    for (auto &e : c.entries()) {
        o << "## `" << e.table->unit << "`\n\n";
        o << "| key | default | range | unit | meaning |\n|---|---|---|---|---|\n";
        for (size_t i = 0; i < e.table->n; i++) {
            const param_def &d = e.table->defs[i];
            char def[64];
            param_format(&d, e.cfg, def, sizeof def);
            std::string range;
            if (d.kind == PARAM_BOOL) {
                range = "true, false";
            } else if (d.kind == PARAM_ENUM) {
                for (const char *const *n = d.names; *n; n++)
                    range += std::string(n == d.names ? "" : ", ") + *n;
            } else {
                range = std::to_string(d.min) + " – " + std::to_string(d.max);
            }
            o << "| `" << d.name << "` | " << def << " | " << range << " | " << d.unit << " | "
              << d.doc << " |\n";
        }
        o << "\n";
    }
    return o.str();
}

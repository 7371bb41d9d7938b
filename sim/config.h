// ChipConfig: every unit's cfg struct plus the glue's own tables (source, chip), each declared
// once as a param_table. Loaded from defaults, then a JSON config file, then --set overrides.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "cluster.h"
#include "core.h"
#include "dispatcher.h"
#include "happ.h"
#include "ipu.h"
#include "lookup.h"
#include "netif.h"
#include "params.h"
#include "remote.h"
#include "scratchpad.h"
#include "smc.h"
#include "tx.h"

enum ReplayMode : uint32_t { REPLAY_TIMESTAMPS, REPLAY_RATE, REPLAY_SATURATE };
enum FaultPolicy : uint32_t { FAULT_STOP, FAULT_RESET_FLOW };

struct SourceCfg {
    uint32_t mode;      // ReplayMode
    uint64_t rate_mbps; // line rate for REPLAY_RATE
    uint32_t gap_bytes; // preamble + inter-frame gap per frame on the wire
};

struct TopCfg {
    uint32_t ingress_depth; // ingress FIFO (source -> IPU channel) capacity, frames
    uint64_t ingress_latency_ps;
    uint32_t event_depth; // IPU -> next stage channel capacity, events
    uint64_t event_latency_ps;
    uint64_t seed;
    uint32_t clusters;       // clusters of protocol cores (each of cluster.cores cores)
    uint32_t ctl_depth;      // capacity of the stateful path's internal channels
    uint64_t ctl_latency_ps; // their latency
    uint32_t on_fault;       // FaultPolicy
    uint64_t sample_ps;      // time series interval; 0: none
    uint32_t max_samples;    // time series length before it halves
    uint64_t warmup_packets; // the warm-up ends at this packet (index) ...
    uint64_t warmup_ps;      // ... or at the first packet arriving at or after this; 0: not
};

// Which clusters run each event type (claims 1, 5, 6): a bit mask per type, bit i = cluster i.
struct RouteCfg {
    uint32_t mask[EV_TYPE_COUNT];
};

struct ChipConfig {
    SourceCfg source;
    TopCfg chip;
    ipu_cfg ipu;
    sp_cfg scratchpad;
    disp_cfg dispatcher;
    luc_cfg lookup;
    cluster_cfg cluster;
    core_cfg core;
    smc_cfg smc;
    happ_cfg host;
    tx_cfg tx;
    RouteCfg route;
    rem_cfg remote; // the closed-loop generator's far side (--generate); not part of the chip
    netif_cfg live; // the port in live mode (--live): addresses, pacing, loss; not the chip

    struct Entry {
        const param_table *table;
        void *cfg;
    };
    ChipConfig();
    // The tables in report order, bound to this object's structs.
    std::vector<Entry> entries();
    std::vector<Entry> entries() const { return const_cast<ChipConfig *>(this)->entries(); }

    // "unit.key=value". Throws ConfigError naming the unit and key.
    void set(const std::string &assignment);
    void set(const std::string &unit, const std::string &key, const std::string &value);
    // A JSON object of objects: {"ipu": {"cycles_per_msg": 30}, ...}. Throws ConfigError
    // naming the file.
    void load_json(const std::string &path);
    // Cross-unit checks (after all sets). Throws ConfigError.
    void validate() const;
};

struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

extern const param_table source_params;
extern const param_table top_params;
extern const param_table route_params;

// docs/config.md body: one table per unit, from the param tables.
std::string params_markdown();

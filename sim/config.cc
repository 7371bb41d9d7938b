#include "config.h"

#define BOOST_BIND_GLOBAL_PLACEHOLDERS
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

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
    // At least what one event's end sends to one unit at once (its commands and the writeback
    // and close), which the cores send all or nothing: a smaller channel could never take it.
    {"ctl_depth", PARAM_U32, offsetof(TopCfg, ctl_depth), 64, CORE_MAX_CMDS + 2, 1u << 20,
     "messages",
     "capacity of each channel of the stateful path (dispatcher, lookup, cores, transmit); at "
     "least what one event's end may send at once",
     nullptr},
    {"ctl_latency_ps", PARAM_U64, offsetof(TopCfg, ctl_latency_ps), 1000, 0, 1000000000, "ps",
     "latency of each channel of the stateful path", nullptr},
    {"on_fault", PARAM_ENUM, offsetof(TopCfg, on_fault), FAULT_STOP, 0, 0, "",
     "on a core fault: stop the run (exit 3) or reset the flow and go on", fault_names},
    {"sample_ps", PARAM_U64, offsetof(TopCfg, sample_ps), 10000000, 0, 1000000000000ull, "ps",
     "interval of the stats' time series (utilisation, queues, occupancy); 0: none", nullptr},
    {"max_samples", PARAM_U32, offsetof(TopCfg, max_samples), 1000, 2, 1000000, "samples",
     "time series length; when full, samples merge in pairs and the interval doubles", nullptr},
    {"warmup_packets", PARAM_U64, offsetof(TopCfg, warmup_packets), 0, 0, 1000000000000ull,
     "packets", "warm-up: the stats restart when the packet of this index arrives; 0: not so",
     nullptr},
    {"warmup_ps", PARAM_U64, offsetof(TopCfg, warmup_ps), 0, 0, 1000000000000000ull, "ps",
     "warm-up: the stats restart at the first packet arriving at or after this time; 0: not so",
     nullptr},
};

// One entry per event type, named after it; built once from ev_type_name.
struct RouteTable {
    param_def defs[EV_TYPE_COUNT];
    RouteTable()
    {
        for (unsigned t = 0; t < EV_TYPE_COUNT; t++) {
            // cluster 0 (receive): network TCP types, the receive side's timers (delayed ACK,
            // TIME_WAIT), the host's receive credit and the send side's notes to the receive
            // side (tcp_notify); cluster 1 (send): the send side's timers (RTO, keepalive), the
            // host's send and close, and the receive side's notes to it (tcp_internal). The
            // same for RoCE (roce_connect and roce_internal: cluster 1); UDP and other frames:
            // no cluster (dropped as no_route)
            const bool rx = t <= EV_TCP_RST || t == EV_TCP_DELACK || t == EV_TCP_TIME_WAIT ||
                            t == EV_TCP_RECV_CREDIT || t == EV_TCP_NOTIFY;
            uint64_t def = rx                                                  ? 1
                           : t <= EV_TCP_INTERNAL                              ? 2
                           : t == EV_ROCE_INTERNAL || t == EV_ROCE_CONNECT     ? 2
                           : t >= EV_ROCE_SEND_FIRST && t <= EV_ROCE_ACK_TIMER ? 1
                                                                               : 0;
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
            {&happ_params, &host},       {&tx_params, &tx},           {&route_params, &route},
            {&rem_params, &remote},      {&netif_params, &live}};
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

namespace {

bool ends_with(const std::string &s, const std::string &suffix)
{
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The bundled Python config package (configs/sppsim_config) lives beside the microcode, whose
// path is fixed at build time: <source>/microcode/tcp.uc -> <source>/configs.
std::string configs_dir()
{
    std::string uc = SPPSIM_MICROCODE;
    auto cut = uc.rfind("/microcode/");
    return cut == std::string::npos ? std::string() : uc.substr(0, cut) + "/configs";
}

// Runs a Python config script (SPPSIM_PYTHON, else /usr/bin/python3, else python3 on PATH) with
// configs/ on PYTHONPATH and returns its stdout. Throws ConfigError naming the script and its
// last stderr line when it cannot start, fails, or is killed.
std::string run_config_script(const std::string &path)
{
    if (access(path.c_str(), R_OK) != 0)
        throw ConfigError(path + ": cannot open config file");
    std::string python;
    if (const char *env = std::getenv("SPPSIM_PYTHON"); env && *env)
        python = env;
    else if (access("/usr/bin/python3", X_OK) == 0)
        python = "/usr/bin/python3";
    else
        python = "python3";

    std::vector<std::string> env_strings;
    std::string pythonpath = configs_dir();
    if (const char *old = std::getenv("PYTHONPATH"); old && *old)
        pythonpath = pythonpath.empty() ? old : pythonpath + ":" + old;
    for (char **e = environ; *e; e++)
        if (std::strncmp(*e, "PYTHONPATH=", 11) != 0)
            env_strings.emplace_back(*e);
    if (!pythonpath.empty())
        env_strings.push_back("PYTHONPATH=" + pythonpath);
    std::vector<char *> envp;
    for (auto &e : env_strings)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    int out[2], err[2];
    if (pipe(out) != 0)
        throw ConfigError(path + ": cannot run the config script: " + std::strerror(errno));
    if (pipe(err) != 0) {
        close(out[0]);
        close(out[1]);
        throw ConfigError(path + ": cannot run the config script: " + std::strerror(errno));
    }
    for (int fd : {out[0], err[0]})
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawn_file_actions_addclose(&fa, out[1]);
    posix_spawn_file_actions_addclose(&fa, err[1]);
    std::string arg0 = python, arg1 = path;
    char *argv[] = {arg0.data(), arg1.data(), nullptr};
    pid_t pid;
    int rc = posix_spawnp(&pid, python.c_str(), &fa, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        close(out[0]);
        close(err[0]);
        throw ConfigError(path + ": cannot run " + python + ": " + std::strerror(rc));
    }

    // Read both pipes to the end (a script filling one while we block on the other would hang).
    std::string text[2];
    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[4096];
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                text[i].append(buf, static_cast<size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (auto &f : fds)
        if (f.fd >= 0)
            close(f.fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }

    std::string last; // the script's last non-empty stderr line
    std::istringstream lines(text[1]);
    for (std::string line; std::getline(lines, line);)
        if (line.find_first_not_of(" \t\r") != std::string::npos)
            last = line.substr(line.find_first_not_of(" \t"));
    if (WIFSIGNALED(status))
        throw ConfigError(path + ": the config script was killed by signal " +
                          std::to_string(WTERMSIG(status)) + (last.empty() ? "" : ": " + last));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw ConfigError(path + ": the config script failed (exit " +
                          std::to_string(WEXITSTATUS(status)) + ")" +
                          (last.empty() ? "" : ": " + last));
    if (text[0].find_first_not_of(" \t\r\n") == std::string::npos)
        throw ConfigError(path + ": the config script printed no config (call chip.emit())");
    return text[0];
}

// A JSON config object read from a stream; errors name the file (or script) it came from.
void load_json_stream(ChipConfig &cfg, std::istream &in, const std::string &name)
{
    boost::property_tree::ptree root;
    try {
        boost::property_tree::read_json(in, root);
    } catch (const boost::property_tree::json_parser_error &e) {
        throw ConfigError(name + ":" + std::to_string(e.line()) + ": " + e.message());
    }
    for (const auto &unit : root) {
        if (unit.first.empty())
            throw ConfigError(name + ": the top level must be an object of units");
        if (unit.second.empty() && !unit.second.data().empty())
            throw ConfigError(name + ": " + unit.first + ": expected an object of parameters");
        for (const auto &kv : unit.second) {
            if (!kv.second.empty())
                throw ConfigError(name + ": " + unit.first + "." + kv.first +
                                  ": expected a number, boolean or string");
            try {
                cfg.set(unit.first, kv.first, kv.second.data());
            } catch (const ConfigError &e) {
                throw ConfigError(name + ": " + e.what());
            }
        }
    }
}

} // namespace

void ChipConfig::load_json(const std::string &path)
{
    if (ends_with(path, ".py")) {
        std::istringstream in(run_config_script(path));
        load_json_stream(*this, in, path + " (its output)");
        return;
    }
    std::ifstream in(path);
    if (!in)
        throw ConfigError(path + ": cannot open config file");
    load_json_stream(*this, in, path);
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

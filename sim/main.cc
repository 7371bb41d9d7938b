// sppsim: replays a capture through the simulated chip (or runs it in a closed loop, or live
// against a TAP interface) and reports what it did.
// Exit status: 0 success; 1 bad usage, config or input; 2 the capture ended in a truncated
// record (everything before it was simulated and reported); 3 the chip did not drain or an
// invariant of SPEC §7 failed.
#include <systemc>

#include <boost/program_options.hpp>

#include <algorithm>
#include <array>
#include <memory>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "asm.h"
#include "chip.h"
#include "config.h"
#include "html_report.h"
#include "image.h"
#include "pcap_reader.h"
#include "report.h"

namespace po = boost::program_options;

namespace {

[[noreturn]] void fail(const std::string &msg, int code = 1)
{
    std::cerr << "sppsim: " << msg << "\n";
    std::exit(code);
}

// "100G", "25g", "400M", "1.5G", "10000000000" (b/s) -> Mb/s.
uint64_t parse_rate(const std::string &s)
{
    const std::string bad = "--rate: '" + s + "' is not a line rate (e.g. 100G, 25G, 400M)";
    if (s.empty())
        fail(bad);
    char *end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || !std::isfinite(v) || v <= 0)
        fail(bad);
    std::string unit(end);
    double mult = 1e-6; // plain number: bits per second
    if (unit == "G" || unit == "g" || unit == "Gb/s" || unit == "Gbps")
        mult = 1e3;
    else if (unit == "M" || unit == "m" || unit == "Mb/s" || unit == "Mbps")
        mult = 1;
    else if (unit == "K" || unit == "k" || unit == "Kb/s" || unit == "kbps")
        mult = 1e-3;
    else if (!unit.empty())
        fail(bad);
    double mbps = v * mult;
    if (mbps < 1 || mbps > 1e8)
        fail("--rate: '" + s + "' is outside 1M to 100T");
    return static_cast<uint64_t>(std::llround(mbps));
}

// Assembles a .uc source, or reads an image file (magic "SPPUCIMG"). Exits on an error.
void load_microcode(const std::string &path, uc_image &img)
{
    sim_err err;
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f)
        fail(path + ": cannot open the microcode: " + std::strerror(errno));
    char magic[8] = {};
    size_t n = std::fread(magic, 1, sizeof magic, f);
    int rc;
    if (n == sizeof magic && std::memcmp(magic, "SPPUCIMG", 8) == 0) {
        std::rewind(f);
        rc = uc_image_read(&img, f, path.c_str(), &err);
        std::fclose(f);
    } else {
        std::fclose(f);
        rc = uc_assemble_file(path.c_str(), &img, &err);
    }
    if (rc)
        fail(err.msg);
}

// What identifies an image's behaviour: its code and entry table (not its source map).
std::string image_hash(const uc_image &img)
{
    uint64_t h = 1469598103934665603ull;
    auto mix = [&h](const void *p, size_t n) {
        for (size_t i = 0; i < n; i++) {
            h ^= static_cast<const uint8_t *>(p)[i];
            h *= 1099511628211ull;
        }
    };
    mix(img.code, img.ncode * sizeof img.code[0]);
    mix(img.entry, sizeof img.entry);
    mix(img.class_portions, sizeof img.class_portions);
    mix(img.type_needs, sizeof img.type_needs);
    mix(img.type_portions, sizeof img.type_portions);
    char buf[24];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

void quiet_systemc()
{
    using namespace sc_core;
    sc_report_handler::set_actions(SC_INFO, SC_DO_NOTHING);
    sc_report_handler::set_actions(SC_WARNING, SC_DISPLAY);
}

} // namespace

int sc_main(int argc, char *argv[])
{
    quiet_systemc();
    po::options_description opts("Usage: sppsim --trace FILE [options]\nOptions");
    opts.add_options()("help,h", "print this help")("version", "print the version")(
        "trace,t", po::value<std::string>(),
        "capture to replay (pcap or pcapng; - for standard input)")(
        "generate,g", po::value<std::string>(),
        "closed loop instead of a trace: the generator's remote side (config section "
        "'remote', docs/generator.md) talks to the chip; FILE is a config like --config's, "
        "applied after it")("host-script", po::value<std::string>(),
                            "the host's commands at given times: connect, send, close, abort "
                            "(docs/outputs.md)")(
        "live", po::value<std::string>(),
        "live mode instead of a trace: the chip's port is the Linux TAP interface IFNAME (opened, "
        "or created; needs root or CAP_NET_ADMIN), simulated time follows the wall clock and "
        "real TCP clients talk to the chip (config section 'live', docs/live.md); ends after "
        "live.duration_s or on SIGINT/SIGTERM")(
        "live-pcap", po::value<std::string>(),
        "with --live: write every frame that crossed the port, both directions, to this pcap")(
        "gen-pcap", po::value<std::string>(),
        "with --generate: write the remote side's frames, as they reach the "
        "chip, to this pcap (the chip's own: --tx-pcap)")(
        "config,c", po::value<std::string>(),
        "chip config: JSON ({\"unit\": {\"key\": value}}) or a Python script that prints it "
        "(FILE.py, "
        "see configs/)")("set,s", po::value<std::vector<std::string>>()->composing(),
                         "override one parameter: unit.key=value (repeatable)")(
        "rate,r", po::value<std::string>(), "replay at a fixed line rate, e.g. 100G")(
        "saturate", "replay as fast as the chip accepts")("stats", po::value<std::string>(),
                                                          "write the stats as JSON to this file")(
        "microcode,m", po::value<std::vector<std::string>>()->composing(),
        "the cores' microcode for the protocol its .protocol names (none: tcp): a source file "
        "(.uc, assembled at start) or an image from sppasm; repeatable, one per protocol "
        "(default: the bundled microcode/tcp.uc and microcode/roce.uc)")(
        "roce-qps", po::value<std::string>(),
        "RoCE queue pairs set up out of band (JSON, docs/outputs.md); default: TRACE's "
        "NAME.qps.json beside it, when there is one")(
        "tx-pcap", po::value<std::string>(), "write the chip's transmitted frames to this pcap")(
        "deliver-dir", po::value<std::string>(),
        "write each connection's delivered byte stream to a file in this directory")(
        "event-log", po::value<std::string>(),
        "write one JSON line per event handled (where, when, what it did)")(
        "flow-log", po::value<std::string>(),
        "write one JSON line per connection opened and closed")(
        "uc-trace", po::value<std::string>(),
        "write an instruction trace (time, core, flow, pc, source line, register written) of "
        "the core or flow chosen by --uc-trace-core or --uc-trace-flow")(
        "uc-trace-core", po::value<std::string>(), "trace core K of cluster C, given as C.K")(
        "uc-trace-flow", po::value<uint32_t>(), "trace every event of flow proxy N, on any core")(
        "html", po::value<std::string>(),
        "write the report as one self-contained HTML page (tables and charts, no network)")(
        "vcd", po::value<std::string>(),
        "write waveforms (queue depths, core busy, occupancy) to this VCD file (GTKWave)")(
        "lockstep",
        "advance SystemC's time with every simulated time step (one kernel activation each, as "
        "--vcd does) instead of running the units' scheduler ahead; outputs are the same")(
        "history", po::value<uint64_t>(),
        "tell every step of packet N (its index in the trace) through the chip, with the "
        "microcode it ran")(
        "timeline", po::value<std::string>(),
        "write a Chrome/Perfetto trace-event timeline (open in ui.perfetto.dev)")(
        "timeline-from", po::value<double>(), "timeline: events arriving from this time (us)")(
        "timeline-to", po::value<double>(), "timeline: events arriving before this time (us)")(
        "timeline-max", po::value<uint64_t>(),
        "timeline: at most this many events (default 20000)")(
        "quiet,q", "no text report on stdout")("no-progress", "no progress line on stderr")(
        "print-config", "print the resolved config (defaults, --config, --set) as JSON and exit")(
        "list-params", "print every config parameter as a Markdown table and exit");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(opts).run(), vm);
        po::notify(vm);
    } catch (const po::error &e) {
        fail(std::string(e.what()) + " (see --help)");
    }
    if (vm.count("help")) {
        std::cout << opts << "\n";
        return 0;
    }
    if (vm.count("version")) {
        std::cout << "sppsim " << SPPSIM_VERSION << "\n";
        return 0;
    }
    if (vm.count("list-params")) {
        std::cout << params_markdown();
        return 0;
    }
    if (vm.count("rate") && vm.count("saturate"))
        fail("--rate and --saturate exclude each other");

    ChipConfig cfg;
    try {
        if (vm.count("config"))
            cfg.load_json(vm["config"].as<std::string>());
        if (vm.count("generate"))
            cfg.load_json(vm["generate"].as<std::string>());
        if (vm.count("set"))
            for (const auto &a : vm["set"].as<std::vector<std::string>>())
                try {
                    cfg.set(a);
                } catch (const ConfigError &e) {
                    throw ConfigError(std::string("--set: ") + e.what());
                }
        if (vm.count("rate")) {
            cfg.source.mode = REPLAY_RATE;
            cfg.source.rate_mbps = parse_rate(vm["rate"].as<std::string>());
        }
        if (vm.count("saturate"))
            cfg.source.mode = REPLAY_SATURATE;
        cfg.validate();
    } catch (const ConfigError &e) {
        fail(e.what());
    }

    if (vm.count("print-config")) {
        JsonWriter j(std::cout);
        write_config_json(j, cfg, nullptr);
        j.finish();
        return 0;
    }
    const bool generate = vm.count("generate") != 0;
    const bool live = vm.count("live") != 0;
    if (generate && vm.count("trace"))
        fail("--generate and --trace exclude each other (a closed loop has no trace)");
    if (live && (generate || vm.count("trace")))
        fail("--live excludes --trace and --generate (the TAP interface feeds the port)");
    if (!generate && !live && !vm.count("trace"))
        fail("no trace given: use --trace FILE, --generate CONFIG for a closed loop, or --live "
             "IFNAME (see --help)");
    if (!generate && vm.count("gen-pcap"))
        fail("--gen-pcap needs --generate CONFIG");
    if (!live && vm.count("live-pcap"))
        fail("--live-pcap needs --live IFNAME");
    if (generate && cfg.source.mode != REPLAY_TIMESTAMPS)
        fail("--rate and --saturate replay a trace; a closed loop runs at the link's own pace");
    if (live && cfg.source.mode != REPLAY_TIMESTAMPS)
        fail("--rate and --saturate replay a trace; a live run follows the wall clock");

    std::unique_ptr<PcapReader> reader;
    if (!generate && !live)
        try {
            reader = std::make_unique<PcapReader>(vm["trace"].as<std::string>());
        } catch (const InputError &e) {
            fail(e.what());
        }

    struct ScriptFree {
        void operator()(hscript *s) const { hscript_free(s); }
    };
    std::unique_ptr<hscript, ScriptFree> script;
    if (vm.count("host-script")) {
        sim_err err;
        script.reset(hscript_load(vm["host-script"].as<std::string>().c_str(), &err));
        if (!script)
            fail(err.msg);
    }

    std::ofstream html_out;
    if (vm.count("html")) {
        html_out.open(vm["html"].as<std::string>());
        if (!html_out)
            fail(vm["html"].as<std::string>() + ": cannot write the HTML report");
    }
    std::ofstream stats_out;
    if (vm.count("stats")) {
        stats_out.open(vm["stats"].as<std::string>());
        if (!stats_out)
            fail(vm["stats"].as<std::string>() + ": cannot write the stats file");
    }

    struct Image { // declared before the chip, so that it outlives it
        uc_image img{};
        std::string source; // as given, or "(bundled) NAME"
        Image() = default;
        Image(const Image &) = delete;
        Image &operator=(const Image &) = delete;
        ~Image() { uc_image_free(&img); }
    };
    // One image per protocol: the files given (each for its .protocol), then the bundled ones
    // for tcp and roce; the other protocols' events run the tcp image.
    std::array<std::unique_ptr<Image>, PROTO_COUNT> images;
    auto proto_of = [](const uc_image &img, const std::string &path) {
        const std::string name = img.protocol[0] ? img.protocol : "tcp";
        for (unsigned p = 0; p < PROTO_COUNT; p++)
            if (name == ev_proto_name(p))
                return p;
        fail(path + ": .protocol " + name + " is not a protocol the chip runs");
    };
    if (vm.count("microcode"))
        for (const auto &path : vm["microcode"].as<std::vector<std::string>>()) {
            auto im = std::make_unique<Image>();
            load_microcode(path, im->img);
            im->source = path;
            unsigned p = proto_of(im->img, path);
            if (images[p])
                fail("--microcode: " + images[p]->source + " and " + path +
                     " are both microcode for protocol " + ev_proto_name(p));
            images[p] = std::move(im);
        }
    const std::pair<unsigned, const char *> bundled[] = {{PROTO_TCP, SPPSIM_MICROCODE},
                                                         {PROTO_ROCE, SPPSIM_MICROCODE_ROCE}};
    for (const auto &[p, path] : bundled)
        if (!images[p]) {
            images[p] = std::make_unique<Image>();
            load_microcode(path, images[p]->img);
            std::string name = path;
            images[p]->source = "(bundled) " + name.substr(name.find_last_of('/') + 1);
            if (proto_of(images[p]->img, path) != p)
                fail(std::string(path) + ": the bundled microcode is not for protocol " +
                     ev_proto_name(p));
        }
    // RoCE queue pairs: --roce-qps, or the trace's NAME.qps.json beside it
    std::vector<RoceQp> qps;
    std::string qps_path, qps_note;
    if (vm.count("roce-qps")) {
        qps_path = vm["roce-qps"].as<std::string>();
    } else if (!generate && !live && vm["trace"].as<std::string>() != "-") {
        std::string t = vm["trace"].as<std::string>();
        size_t slash = t.find_last_of('/'), dot = t.find_last_of('.');
        std::string guess = (dot != std::string::npos && (slash == std::string::npos || dot > slash)
                                 ? t.substr(0, dot)
                                 : t) +
                            ".qps.json";
        if (FILE *f = std::fopen(guess.c_str(), "r")) {
            std::fclose(f);
            qps_path = guess;
            qps_note = " (found beside the trace)";
        }
    }
    if (!qps_path.empty()) {
        try {
            qps = load_roce_qps(qps_path);
        } catch (const std::exception &e) {
            fail(e.what());
        }
    }
    ProtoImages imgs{};
    for (unsigned p = 0; p < PROTO_COUNT; p++)
        imgs[p] = images[p] ? &images[p]->img : &images[PROTO_TCP]->img;
    RunFiles files;
    if (vm.count("tx-pcap"))
        files.tx_pcap = vm["tx-pcap"].as<std::string>();
    if (vm.count("deliver-dir"))
        files.deliver_dir = vm["deliver-dir"].as<std::string>();
    if (vm.count("event-log"))
        files.event_log = vm["event-log"].as<std::string>();
    if (vm.count("flow-log"))
        files.flow_log = vm["flow-log"].as<std::string>();
    if (vm.count("uc-trace")) {
        files.uc_trace = vm["uc-trace"].as<std::string>();
        if (vm.count("uc-trace-core") == vm.count("uc-trace-flow"))
            fail("--uc-trace needs one of --uc-trace-core C.K and --uc-trace-flow N");
        if (vm.count("uc-trace-flow")) {
            files.trace_flow = vm["uc-trace-flow"].as<uint32_t>();
        } else {
            const std::string &ck = vm["uc-trace-core"].as<std::string>();
            unsigned c = 0, k = 0;
            char extra = 0;
            if (std::sscanf(ck.c_str(), "%u.%u%c", &c, &k, &extra) != 2 || c > 1000 || k > 100000)
                fail("--uc-trace-core: '" + ck + "' is not CLUSTER.CORE (e.g. 0.3)");
            files.trace_cluster = static_cast<int>(c);
            files.trace_core = static_cast<int>(k);
        }
    } else if (vm.count("uc-trace-core") || vm.count("uc-trace-flow")) {
        fail("--uc-trace-core and --uc-trace-flow need --uc-trace FILE");
    }
    if (vm.count("vcd"))
        files.vcd = vm["vcd"].as<std::string>();
    files.lockstep = vm.count("lockstep") > 0;
    if (vm.count("gen-pcap"))
        files.gen_pcap = vm["gen-pcap"].as<std::string>();
    if (vm.count("live-pcap"))
        files.live_pcap = vm["live-pcap"].as<std::string>();
    if (vm.count("history")) {
        if (vm.count("uc-trace-flow"))
            fail("--history and --uc-trace-flow exclude each other (both trace one flow)");
        files.history = static_cast<int64_t>(vm["history"].as<uint64_t>());
    }
    if (vm.count("timeline")) {
        files.timeline = vm["timeline"].as<std::string>();
        auto us_to_ps = [](const char *opt, double us) {
            if (!(us >= 0) || us > 1.8e13)
                fail(std::string("--") + opt + ": " + std::to_string(us) +
                     " is not a time in microseconds >= 0");
            return static_cast<uint64_t>(std::llround(us * 1e6));
        };
        if (vm.count("timeline-from"))
            files.timeline_from_ps = us_to_ps("timeline-from", vm["timeline-from"].as<double>());
        if (vm.count("timeline-to"))
            files.timeline_to_ps = us_to_ps("timeline-to", vm["timeline-to"].as<double>());
        if (vm.count("timeline-max"))
            files.timeline_max = vm["timeline-max"].as<uint64_t>();
        if (files.timeline_to_ps <= files.timeline_from_ps)
            fail("--timeline-to must be later than --timeline-from");
    } else if (vm.count("timeline-from") || vm.count("timeline-to") || vm.count("timeline-max")) {
        fail("--timeline-from, --timeline-to and --timeline-max need --timeline FILE");
    }
    sc_core::sc_set_time_resolution(1, sc_core::SC_PS);
    auto wall0 = std::chrono::steady_clock::now();
    std::unique_ptr<Chip> chip;
    try {
        Feed feed;
        feed.reader = reader.get();
        feed.script = script.get();
        feed.remote = generate ? &cfg.remote : nullptr;
        if (live)
            feed.live = vm["live"].as<std::string>();
        chip = std::make_unique<Chip>(cfg, imgs, feed, files, !vm.count("no-progress"), qps);
    } catch (const std::exception &e) {
        fail(e.what());
    }
    uint64_t sim_ps = chip->run();
    if (chip->warmup.ended) // the stats cover the measure phase and the drain
        sim_ps -= std::min(sim_ps, chip->warmup.end_ps);
    else if (chip->warmup.configured)
        std::fprintf(stderr,
                     "sppsim: warning: the trace ended before the warm-up did "
                     "(chip.warmup_packets=%llu, chip.warmup_ps=%llu); the stats cover the whole "
                     "run\n",
                     static_cast<unsigned long long>(cfg.chip.warmup_packets),
                     static_cast<unsigned long long>(cfg.chip.warmup_ps));
    if (uint64_t back = chip->source->stats().ts_backwards) // docs/robustness.md
        std::fprintf(stderr,
                     "sppsim: warning: %s: %llu records have a timestamp earlier than the record "
                     "before; each was replayed at the time of the one before it\n",
                     reader->path().c_str(), static_cast<unsigned long long>(back));

    RunInfo info;
    if (reader) {
        info.trace = reader->path();
        info.link = reader->link_name();
        info.truncated = reader->truncated();
        info.input_error = reader->error();
    } else if (live) {
        info.trace = "(live: " + vm["live"].as<std::string>() + ")";
        info.link = link_type_name(LINK_ETHERNET);
    } else {
        info.trace = "(generated: " + vm["generate"].as<std::string>() + ")";
        info.link = link_type_name(LINK_ETHERNET);
        info.generated = true;
    }
    if (!qps_path.empty()) {
        info.roce_qps = qps_path;
        info.roce_qps_note = qps_note;
        info.roce_qps_count = qps.size();
    }
    for (unsigned p = 0; p < PROTO_COUNT; p++)
        if (images[p])
            info.microcode.push_back(
                {ev_proto_name(p), images[p]->source, image_hash(images[p]->img)});
    info.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    Summary s = summarize(*chip, sim_ps);
    if (chip->history)
        chip->history->print(std::cout);
    if (!vm.count("quiet"))
        write_text_report(std::cout, *chip, s, info);
    if (stats_out.is_open()) {
        write_json_stats(stats_out, *chip, s, info);
        stats_out.close();
        if (!stats_out)
            fail(vm["stats"].as<std::string>() + ": error while writing the stats file");
    }

    if (html_out.is_open()) {
        write_html_report(html_out, *chip, s, info);
        html_out.close();
        if (!html_out)
            fail(vm["html"].as<std::string>() + ": error while writing the HTML report");
    }
    if (chip->ev_stats.stop)
        fail("core fault stopped the run (chip.on_fault=stop): " + chip->ev_stats.fault_lines[0],
             3);
    if (!chip->host->error().empty())
        fail(chip->host->error() + " (--deliver-dir)");
    // a live run ends with connections open and their timers armed: that is no deadlock
    std::string stuck = chip->undrained(live);
    if (!stuck.empty())
        fail("deadlock: work is pending but no unit can progress: " + stuck, 3);
    // after a warm-up, the packets it left in the chip were processed or dropped in the measure
    // phase without being counted in it
    if (s.packets_in + chip->warmup.in_flight != s.processed + s.dropped_total)
        fail("invariant broken: packets in " + std::to_string(s.packets_in) +
                 (chip->warmup.in_flight ? " + in flight at the warm-up's end " +
                                               std::to_string(chip->warmup.in_flight)
                                         : std::string()) +
                 " != processed " + std::to_string(s.processed) + " + dropped " +
                 std::to_string(s.dropped_total),
             3);
    if (info.truncated)
        fail(info.trace + ": truncated capture: the last record is incomplete (" +
                 info.input_error + "); " + std::to_string(s.packets_in) +
                 " complete records were simulated",
             2);
    return 0;
}

// Our own entry point, so that SystemC's banner is switched off before the kernel starts.
int main(int argc, char *argv[])
{
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
    return sc_core::sc_elab_and_sim(argc, argv);
}

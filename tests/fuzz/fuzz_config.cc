// fuzz_config: the chip config loader (sim/config.cc). Each input is used twice:
//  1. as a JSON config file for ChipConfig::load_json (written to a memfd, opened by its path),
//     then validate();
//  2. line by line as "unit.key=value" assignments for ChipConfig::set, on a fresh config, then
//     validate().
// Checks: only ConfigError escapes (any other exception is a finding), its message is not
// empty; an accepted value is within its table's bounds (param_validate) and survives a round
// trip through param_format and set; a config that passes validate() holds in-range values.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "config.h"
#include "fuzz_check.h"

namespace {

int fd = -1;
std::string path;

void check_tables(const ChipConfig &c)
{
    for (auto &e : c.entries()) {
        sim_err err;
        FZ_CHECK(param_validate(e.table, e.cfg, &err) == 0);
    }
}

// unit.key was just set: its value formats to text that sets it to the same value.
void check_round_trip(const ChipConfig &c, const std::string &unit, const std::string &key)
{
    for (auto &e : c.entries()) {
        if (unit != e.table->unit)
            continue;
        const param_def *d = param_find(e.table, key.c_str());
        FZ_CHECK(d != nullptr);
        char buf[64];
        param_format(d, e.cfg, buf, sizeof buf);
        ChipConfig copy = c;
        copy.set(unit, key, buf);
        for (auto &f : copy.entries())
            if (f.table == e.table)
                FZ_CHECK(param_get(d, f.cfg) == param_get(d, e.cfg));
        return;
    }
    FZ_CHECK(!"set() accepted an unknown unit");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fd = memfd_create("fuzz_config", 0);
    FZ_CHECK(fd >= 0);
    path = "/proc/self/fd/" + std::to_string(fd); // not ".py": never a Python script
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FZ_CHECK(ftruncate(fd, 0) == 0);
    FZ_CHECK(pwrite(fd, data, size, 0) == static_cast<ssize_t>(size));
    FZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
    {
        ChipConfig c;
        try {
            c.load_json(path);
            check_tables(c);
            c.validate();
        } catch (const ConfigError &e) {
            FZ_CHECK(e.what()[0] != '\0');
        }
    }
    {
        ChipConfig c;
        std::string text(reinterpret_cast<const char *>(data), size);
        size_t p = 0;
        while (p <= text.size()) {
            size_t e = text.find('\n', p);
            if (e == std::string::npos)
                e = text.size();
            std::string line = text.substr(p, e - p);
            p = e + 1;
            try {
                c.set(line);
            } catch (const ConfigError &err) {
                FZ_CHECK(err.what()[0] != '\0');
                continue;
            }
            // accepted: it had the form unit.key=value
            size_t dot = line.find('.'), eq = line.find('=');
            FZ_CHECK(dot != std::string::npos && eq != std::string::npos && dot < eq);
            check_tables(c);
            check_round_trip(c, line.substr(0, dot), line.substr(dot + 1, eq - dot - 1));
        }
        try {
            c.validate();
            check_tables(c);
        } catch (const ConfigError &err) {
            FZ_CHECK(err.what()[0] != '\0');
        }
    }
    return 0;
}

// fuzz_pcap: PcapReader (sim/pcap_reader.cc, through libpcap) on an arbitrary file, then the
// IPU parser on every record it yields, framed as the reader says. The input is written to a
// memfd and opened by its /proc/self/fd path, as the simulator opens a capture.
// Checks: the constructor either succeeds or throws InputError naming the file (nothing else
// escapes); the link type is one the IPU knows; every record lies inside the file and its
// bytes are readable; fraction_read() stays in [0, 1]; a truncated end comes with libpcap's
// words; each record's parse keeps the contract of ipu.h (fuzz_check.h).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "fuzz_ipu_check.h"
#include "pcap_reader.h"

namespace {

int fd = -1;
std::string path;

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fd = memfd_create("fuzz_pcap", 0);
    FZ_CHECK(fd >= 0);
    path = "/proc/self/fd/" + std::to_string(fd);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FZ_CHECK(ftruncate(fd, 0) == 0);
    FZ_CHECK(pwrite(fd, data, size, 0) == static_cast<ssize_t>(size));
    try {
        PcapReader r(path);
        FZ_CHECK(r.link() < LINK_COUNT);
        FZ_CHECK(r.link_name()[0] != '\0');
        const uint8_t *d;
        uint32_t caplen, len;
        uint64_t ts;
        uint64_t n = 0;
        while (r.next(&d, &caplen, &len, &ts)) {
            FZ_CHECK(caplen <= size);
            FZ_CHECK(caplen == 0 || d != nullptr);
            double f = r.fraction_read();
            FZ_CHECK(f >= 0.0 && f <= 1.0);
            FZ_CHECK(++n <= size / 8); // a record costs at least 8 bytes of the file
            pkt p{};
            p.data = d;
            p.caplen = caplen;
            p.len = len;
            p.link = static_cast<uint8_t>(r.link());
            p.index = n - 1;
            ipu_parse_out o;
            memset(&o, 0, sizeof o);
            ipu_parse(&p, true, &o);
            fz_check_parse(&p, &o);
            if (caplen) // every byte readable (ASan reports it otherwise)
                (void)ipu_csum_add(0, d, caplen);
        }
        FZ_CHECK(!r.truncated() || !r.error().empty());
    } catch (const InputError &e) {
        FZ_CHECK(std::string(e.what()).rfind(path + ": ", 0) == 0);
    }
    return 0;
}

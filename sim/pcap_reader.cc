#include "pcap_reader.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

namespace {

// A mapped file that shrinks under the run makes a read past its new end a SIGBUS. For the map
// (one at a time: the trace being read) that becomes the one-line error and exit status 1 of
// any bad input; a SIGBUS anywhere else keeps its default action.
struct MappedTrace {
    const uint8_t *base = nullptr;
    size_t len = 0;
    char msg[512] = "";
    size_t msg_len = 0;
};
MappedTrace g_mapped;
struct sigaction g_old_bus;

void on_sigbus(int sig, siginfo_t *info, void *)
{
    const auto *a = static_cast<const uint8_t *>(info->si_addr);
    if (g_mapped.base && a >= g_mapped.base && a < g_mapped.base + g_mapped.len) {
        ssize_t w = write(STDERR_FILENO, g_mapped.msg, g_mapped.msg_len);
        (void)w;
        _exit(1);
    }
    sigaction(SIGBUS, &g_old_bus, nullptr);
    raise(sig);
}

void watch_map(const std::string &path, const uint8_t *base, size_t len)
{
    if (g_mapped.base)
        return; // another map is watched already
    int n = std::snprintf(g_mapped.msg, sizeof g_mapped.msg,
                          "sppsim: %s: the file shrank while it was read\n", path.c_str());
    g_mapped.msg_len = n < 0 ? 0 : std::min(static_cast<size_t>(n), sizeof g_mapped.msg - 1);
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &g_old_bus) == 0) {
        g_mapped.len = len;
        g_mapped.base = base;
    }
}

void unwatch_map(const uint8_t *base)
{
    if (!base || g_mapped.base != base)
        return;
    g_mapped.base = nullptr;
    sigaction(SIGBUS, &g_old_bus, nullptr);
}

bool map_dlt(int dlt, link_type *out)
{
    switch (dlt) {
    case DLT_EN10MB:
        *out = LINK_ETHERNET;
        return true;
    case DLT_LINUX_SLL:
        *out = LINK_SLL;
        return true;
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
        *out = LINK_SLL2;
        return true;
#endif
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4:
    case DLT_IPV6:
#endif
        *out = LINK_RAW;
        return true;
    case DLT_NULL:
    case DLT_LOOP:
        *out = LINK_NULL;
        return true;
    default:
        return false;
    }
}

} // namespace

PcapReader::PcapReader(const std::string &path, bool map_plain) : path_(path)
{
    // "-" is standard input; it and named pipes are read as a stream (no size: no fraction in
    // the progress line), so a generator can feed a capture too large to store (scripts/soak).
    FILE *fp = nullptr;
    if (path == "-") {
        fp = stdin;
    } else {
        struct stat sb;
        if (stat(path.c_str(), &sb) != 0)
            throw InputError(path + ": " + std::strerror(errno));
        if (S_ISDIR(sb.st_mode))
            throw InputError(path + ": is a directory, not a capture file");
        if (S_ISREG(sb.st_mode) && sb.st_size == 0)
            throw InputError(path + ": empty file (no pcap or pcapng header)");
        size_ = S_ISREG(sb.st_mode) ? static_cast<uint64_t>(sb.st_size) : 0;
        fp = std::fopen(path.c_str(), "rb");
        if (!fp)
            throw InputError(path + ": " + std::strerror(errno));
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    // Our own buffer: libpcap reads record by record through stdio, and the default 4 KiB
    // buffer costs a system call every few records. A file the map will serve needs stdio only
    // for its header (and after a hand-over, for the last records): 64 KiB, not filled with 1 MiB
    // of the trace that the map then reads again.
    const bool mappable = map_plain && size_ > 24 && plain_pcap_header(fileno(fp));
    std::setvbuf(fp, nullptr, _IOFBF, mappable ? 64u << 10 : 1u << 20);
    p_ = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!p_) {
        std::fclose(fp);
        std::string why = errbuf;
        if (why.find("unknown file format") != std::string::npos)
            why = "not a pcap or pcapng file (unknown file format)";
        else if (why.find("truncated") != std::string::npos)
            why = "truncated file header (" + why + ")";
        throw InputError(path + ": " + why);
    }
    int dlt = pcap_datalink(p_);
    const char *dn = pcap_datalink_val_to_name(dlt);
    dlt_name_ = dn ? dn : std::to_string(dlt);
    if (!map_dlt(dlt, &link_)) {
        std::string desc;
        const char *d = pcap_datalink_val_to_description(dlt);
        if (d)
            desc = std::string(" (") + d + ")";
        pcap_close(p_);
        p_ = nullptr;
        throw InputError(path + ": unsupported link type " + dlt_name_ + desc +
                         "; sppsim reads Ethernet, Linux cooked (SLL, SLL2), raw IP and BSD "
                         "loopback captures");
    }
    if (mappable)
        try_map(fileno(fp));
}

PcapReader::~PcapReader()
{
    if (p_)
        pcap_close(p_);
    if (map_base_) {
        unwatch_map(map_base_);
        munmap(const_cast<uint8_t *>(map_base_), map_len_);
    }
}

// True for a plain pcap file of this host's byte order, version 2.4 (see the header); notes
// its timestamps' unit.
bool PcapReader::plain_pcap_header(int fd)
{
    uint8_t hdr[24];
    if (fd < 0 || pread(fd, hdr, sizeof hdr, 0) != static_cast<ssize_t>(sizeof hdr))
        return false;
    uint32_t magic;
    uint16_t major, minor;
    std::memcpy(&magic, hdr, 4);
    std::memcpy(&major, hdr + 4, 2);
    std::memcpy(&minor, hdr + 6, 2);
    usec_ = magic == 0xa1b2c3d4u;
    return (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) && major == 2 && minor == 4;
}

// Maps such a file, once libpcap has read its header and stands at the first record.
void PcapReader::try_map(int fd)
{
    if (size_ > SIZE_MAX)
        return;
    FILE *f = pcap_file(p_);
    if (!f || std::ftell(f) != 24 || pcap_snapshot(p_) <= 0)
        return; // libpcap is not where a plain file's first record is: leave it the file
    void *m = mmap(nullptr, static_cast<size_t>(size_), PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED)
        return;
    madvise(m, static_cast<size_t>(size_), MADV_SEQUENTIAL);
    map_ = map_base_ = static_cast<const uint8_t *>(m);
    map_len_ = size_;
    watch_map(path_, map_base_, map_len_);
    pos_ = released_ = 24;
    snap_ = static_cast<uint32_t>(pcap_snapshot(p_));
}

// The record at pos_ is not one the map serves (or the map is read to its end): libpcap reads
// on from there. The map stays: records handed out from it may still be in use.
void PcapReader::leave_map()
{
    map_ = nullptr;
    FILE *f = pcap_file(p_);
    if (!f || fseeko(f, static_cast<off_t>(pos_), SEEK_SET) != 0) {
        truncated_ = true;
        error_ = std::string("cannot seek to offset ") + std::to_string(pos_) + ": " +
                 std::strerror(errno);
        pcap_close(p_);
        p_ = nullptr;
    }
}

// Gives back the mapped pages well behind the reading position (they are read again from the
// file, unchanged, should anything still look at them).
void PcapReader::release_behind()
{
    const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    const uint64_t upto = (pos_ - kKeepBehind) / page * page;
    const uint64_t from = released_ / page * page;
    if (upto > from) {
        madvise(const_cast<uint8_t *>(map_base_) + from, static_cast<size_t>(upto - from),
                MADV_DONTNEED);
        released_ = upto;
    }
}

bool PcapReader::next_pcap(const uint8_t **data, uint32_t *caplen, uint32_t *len, uint64_t *ts_ns)
{
    if (!p_)
        return false;
    struct pcap_pkthdr *h;
    const u_char *d;
    int r = pcap_next_ex(p_, &h, &d);
    if (r == 1) {
        *data = d;
        *caplen = h->caplen;
        *len = h->len;
        *ts_ns = static_cast<uint64_t>(h->ts.tv_sec) * 1000000000ull +
                 static_cast<uint64_t>(h->ts.tv_usec);
        return true;
    }
    if (r == PCAP_ERROR) {
        truncated_ = true;
        error_ = pcap_geterr(p_);
    }
    return false;
}

double PcapReader::fraction_read() const
{
    if (map_)
        return size_ == 0 ? 0.0 : static_cast<double>(pos_) / static_cast<double>(size_);
    FILE *f = p_ ? pcap_file(p_) : nullptr;
    long pos = f ? std::ftell(f) : -1;
    return pos < 0 || size_ == 0 ? 0.0 : static_cast<double>(pos) / static_cast<double>(size_);
}

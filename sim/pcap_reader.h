// PcapReader: reads pcap and pcapng records through libpcap and maps the capture's link type
// onto the IPU's framings. Errors are one line naming the file and what is wrong.
//
// Fast path for plain pcap files: libpcap opens every capture and checks its header (so every
// bad-input message is libpcap's), but a regular file in the classic pcap format of this host's
// byte order (magic a1b2c3d4 or a1b23c4d, version 2.4) is then read through a read-only memory
// map, a record header and its bytes at a time, with no copy: libpcap's per-record fread through
// stdio and its copy into its own buffer are the cost of a trace read that way. A record is
// taken from the map only when it is whole and no longer than the snapshot length libpcap
// settled on (the only cases where libpcap hands a record over unchanged); at anything else (the
// end of the map, a truncated record, an oversized one) the reader seeks libpcap's stream to
// that record and reads through libpcap from there on, so the end of a file, its errors and
// their messages are libpcap's. pcapng, other byte orders and versions, standard input and
// pipes are read through libpcap throughout. Behind the reading position the mapped pages are
// given back (madvise), so memory does not grow with the trace.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "event.h"

struct InputError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class PcapReader {
public:
    // Opens path; throws InputError ("FILE: no such file", "FILE: unsupported link type ...").
    // map_plain = false reads a plain pcap file through libpcap too (tests compare the paths).
    explicit PcapReader(const std::string &path, bool map_plain = true);
    ~PcapReader();
    PcapReader(const PcapReader &) = delete;
    PcapReader &operator=(const PcapReader &) = delete;

    // Reads the next record. Returns false at the end of the file or at a truncated record;
    // after false, truncated() tells which, and error() holds libpcap's words for it. The bytes
    // stay valid until the next call, or for the reader's lifetime when stable() says so.
    bool next(const uint8_t **data, uint32_t *caplen, uint32_t *len, uint64_t *ts_ns)
    {
        if (map_) {
            const uint64_t left = size_ - pos_;
            if (left >= kRecHdr) {
                const uint8_t *h = map_ + pos_;
                uint32_t w[4]; // seconds, fraction, caplen, len
                std::memcpy(w, h, sizeof w);
                if (w[2] <= snap_ && w[2] <= left - kRecHdr) {
                    // libpcap's on-file timestamp fields are signed 32-bit
                    const int64_t sec = static_cast<int32_t>(w[0]);
                    int64_t frac = static_cast<int32_t>(w[1]);
                    if (usec_)
                        frac *= 1000;
                    *data = h + kRecHdr;
                    *caplen = w[2];
                    *len = w[3];
                    *ts_ns =
                        static_cast<uint64_t>(sec) * 1000000000ull + static_cast<uint64_t>(frac);
                    pos_ += kRecHdr + w[2];
                    if (pos_ - released_ >= kReleaseEvery)
                        release_behind();
                    return true;
                }
            }
            leave_map();
        }
        return next_pcap(data, caplen, len, ts_ns);
    }
    // True when the last record next() returned came from the memory map: its bytes then stay
    // valid and unchanged until the reader is destroyed (the caller need not copy them).
    bool stable() const { return map_ != nullptr; }

    link_type link() const { return link_; }
    const char *link_name() const { return dlt_name_.c_str(); }
    bool truncated() const { return truncated_; }
    const std::string &error() const { return error_; }
    const std::string &path() const { return path_; }
    // Fraction of the file read so far, 0..1 (for progress lines).
    double fraction_read() const;

private:
    static constexpr uint64_t kRecHdr = 16;               // classic pcap record header
    static constexpr uint64_t kReleaseEvery = 1ull << 20; // give back mapped pages per 1 MiB
    static constexpr uint64_t kKeepBehind = 256ull << 10; // ... keeping the last 256 KiB

    bool next_pcap(const uint8_t **data, uint32_t *caplen, uint32_t *len, uint64_t *ts_ns);
    bool plain_pcap_header(int fd);
    void try_map(int fd);
    void leave_map();
    void release_behind();

    std::string path_;
    pcap_t *p_ = nullptr;
    link_type link_ = LINK_ETHERNET;
    std::string dlt_name_;
    bool truncated_ = false;
    uint64_t size_ = 0;
    std::string error_;
    // the memory map of a plain pcap file (nullptr: reading through libpcap)
    const uint8_t *map_ = nullptr;
    const uint8_t *map_base_ = nullptr; // kept mapped after leave_map: earlier records live there
    uint64_t map_len_ = 0;
    uint64_t pos_ = 0;      // offset of the next record in the map
    uint64_t released_ = 0; // pages before this offset have been given back
    uint32_t snap_ = 0;     // libpcap's snapshot length for the file
    bool usec_ = false;     // microsecond timestamps (scaled to ns, as libpcap does)
};

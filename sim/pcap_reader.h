// PcapReader: reads pcap and pcapng records through libpcap and maps the capture's link type
// onto the IPU's framings. Errors are one line naming the file and what is wrong.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "event.h"

struct InputError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class PcapReader {
public:
    // Opens path; throws InputError ("FILE: no such file", "FILE: unsupported link type ...").
    explicit PcapReader(const std::string &path);
    ~PcapReader();
    PcapReader(const PcapReader &) = delete;
    PcapReader &operator=(const PcapReader &) = delete;

    // Reads the next record. Returns false at the end of the file or at a truncated record;
    // after false, truncated() tells which, and error() holds libpcap's words for it.
    bool next(const uint8_t **data, uint32_t *caplen, uint32_t *len, uint64_t *ts_ns);

    link_type link() const { return link_; }
    const char *link_name() const { return dlt_name_.c_str(); }
    bool truncated() const { return truncated_; }
    const std::string &error() const { return error_; }
    const std::string &path() const { return path_; }
    // Fraction of the file read so far, 0..1 (for progress lines).
    double fraction_read() const;

private:
    std::string path_;
    pcap_t *p_ = nullptr;
    link_type link_ = LINK_ETHERNET;
    std::string dlt_name_;
    bool truncated_ = false;
    uint64_t size_ = 0;
    std::string error_;
};

// PcapWriter: an Ethernet capture with nanosecond timestamps, written frame by frame (the chip's
// transmitted frames, a closed loop's and a live port's). Owns libpcap's handles.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <stdexcept>
#include <string>

class PcapWriter {
public:
    PcapWriter() = default;
    ~PcapWriter() { close(); }
    PcapWriter(const PcapWriter &) = delete;
    PcapWriter &operator=(const PcapWriter &) = delete;

    // Creates path; throws std::runtime_error "PATH: cannot write the WHAT: reason".
    void open(const std::string &path, const char *what)
    {
        dead_ = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
        dump_ = dead_ ? pcap_dump_open(dead_, path.c_str()) : nullptr;
        if (!dump_) {
            std::string why = dead_ ? pcap_geterr(dead_) : "out of memory";
            close();
            throw std::runtime_error(path + ": cannot write the " + what + ": " + why);
        }
    }
    bool is_open() const { return dump_ != nullptr; }
    // One frame of len bytes, stamped ns nanoseconds after the epoch. Nothing when not open.
    void write(const uint8_t *frame, uint32_t len, uint64_t ns)
    {
        if (!dump_)
            return;
        pcap_pkthdr h{};
        h.ts.tv_sec = static_cast<time_t>(ns / 1000000000u);
        h.ts.tv_usec = static_cast<suseconds_t>(ns % 1000000000u); // nanoseconds in this format
        h.caplen = h.len = len;
        pcap_dump(reinterpret_cast<u_char *>(dump_), &h, frame);
    }
    void close()
    {
        if (dump_)
            pcap_dump_close(dump_);
        if (dead_)
            pcap_close(dead_);
        dump_ = nullptr;
        dead_ = nullptr;
    }

private:
    pcap_t *dead_ = nullptr;
    pcap_dumper_t *dump_ = nullptr;
};

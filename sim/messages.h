// The small messages the stateful path's units exchange through timed channels, besides events.
//
//   clusters --LucMsg--> lookup controller --DispMsg--> dispatcher
//   clusters --TxMsg---> transmit unit
//
// A core's end of an event goes to the lookup controller first (write-back of its portions),
// which then tells the dispatcher the portions are free: so the next event of the same flow
// and portion can never be fetched before the write-back.
#pragma once

#include <vector>

#include <array>
#include <cstdint>

#include "image.h"
#include "tx.h"

// The microcode image of each protocol's events (one may serve several; none is NULL).
using ProtoImages = std::array<const uc_image *, PROTO_COUNT>;

struct LucMsg {
    enum Kind : uint8_t { WRITEBACK, TIMER_SET, TIMER_CANCEL, CLOSE } kind;
    uint8_t cluster;  // WRITEBACK: where the event ran
    uint8_t portions; // WRITEBACK: the portions it held
    uint8_t timer;    // TIMER_*: the timer id
    uint16_t core;    // WRITEBACK
    uint32_t flow;
    uint32_t slot;      // WRITEBACK: the workspace slot
    uint64_t expiry_ps; // TIMER_SET: absolute simulated time
};

struct DispMsg {
    enum Kind : uint8_t { COMPLETE, CLOSE } kind;
    uint8_t cluster;
    uint8_t portions;
    uint16_t core;
    uint32_t flow;
};

// The payload bytes of tx_data segments on their way from a cluster to the transmit unit. A
// TimedChannel slot holds plain data only (it is raw memory, reused without constructors), so
// the bytes wait here and the message carries their index; the transmit unit releases them.
class PayloadStore {
public:
    // A buffer of n bytes; returns its index.
    uint32_t put(size_t n)
    {
        uint32_t i;
        if (!free_.empty()) {
            i = free_.back();
            free_.pop_back();
        } else {
            i = static_cast<uint32_t>(bufs_.size());
            bufs_.emplace_back();
        }
        bufs_[i].resize(n);
        return i;
    }
    std::vector<uint8_t> &at(uint32_t i) { return bufs_[i]; }
    void release(uint32_t i) { free_.push_back(i); }

private:
    std::vector<std::vector<uint8_t>> bufs_;
    std::vector<uint32_t> free_;
};

struct TxMsg {
    enum Kind : uint8_t { SEGMENT, ROCE, DATA } kind = SEGMENT;
    uint32_t flow;
    tx_seg seg;   // SEGMENT (tx_emit), DATA (tx_data: no options)
    tx_roce roce; // ROCE (tx_roce)
    // DATA: the payload, read from the flow's send buffer into store's buffer payload, in hand
    // at ready_ps (the SMC's read completes then: the segment is not built before)
    PayloadStore *store;
    uint32_t payload;
    uint64_t ready_ps;
};

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

struct TxMsg {
    enum Kind : uint8_t { SEGMENT, ROCE, DATA } kind = SEGMENT;
    uint32_t flow;
    tx_seg seg;   // SEGMENT (tx_emit), DATA (tx_data: no options)
    tx_roce roce; // ROCE (tx_roce)
    // DATA: the payload, read from the flow's send buffer, in hand at ready_ps (the SMC's read
    // completes then: the segment is not built before)
    std::vector<uint8_t> payload;
    uint64_t ready_ps = 0;
};

// RoCE queue pairs set up out of band (--roce-qps FILE, or TRACE's .qps.json beside it): what
// a host driver would have told the responder before the capture starts. docs/outputs.md
// describes the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flow_key.h"

struct RoceRegion { // a memory region registered for RDMA WRITE
    uint32_t rkey;
    uint64_t va, len;
};

struct RoceQp {
    std::string local, remote; // as written in the file
    flow_key requests;         // the requester's packets: remote -> local, qp = local_qp
    flow_key local_sends;      // the responder's: local -> remote, qp = remote_qp
    uint32_t local_qp, remote_qp, start_psn;
    uint32_t buffer; // the receive buffer hint (bytes)
    std::vector<RoceRegion> regions;
};

// Reads and checks the file; throws std::runtime_error "FILE: entry N: what is wrong".
std::vector<RoceQp> load_roce_qps(const std::string &path);

// ScratchpadPort: the scratchpad model shared by the units that store and free frames, with
// one event that tells a unit waiting for cells that some were freed. The event is notified
// only while a unit waits, so freeing costs no kernel activity on the common path.
#pragma once

#include <stdexcept>

#include "scheduler.h"
#include "scratchpad.h"

class ScratchpadPort {
public:
    explicit ScratchpadPort(const sp_cfg &cfg)
    {
        sim_err err;
        if (sp_init(&sp_, &cfg, &err))
            throw std::runtime_error(err.msg);
    }
    ~ScratchpadPort() { sp_fini(&sp_); }
    ScratchpadPort(const ScratchpadPort &) = delete;
    ScratchpadPort &operator=(const ScratchpadPort &) = delete;

    scratchpad *model() { return &sp_; }
    const scratchpad *model() const { return &sp_; }
    // Drops one reference to frame h; wakes a waiting unit when that freed the frame.
    void release(uint32_t h)
    {
        if (sp_release(&sp_, h) && waiting_) {
            waiting_ = false;
            freed_.notify_delta();
        }
    }
    // Called by a unit that could not get cells: the next free wakes it through freed().
    void wait_for_cells() { waiting_ = true; }
    SchedEvent &freed() { return freed_; }

private:
    scratchpad sp_;
    SchedEvent freed_;
    bool waiting_ = false;
};

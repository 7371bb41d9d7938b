/* harness: the microcode unit-test harness for firmware developers. It loads a program, sets
 * up one event (type and fields), a workspace and the frame bytes, runs the handler on a core
 * and lets the caller check the workspace, the registers and the commands it issued. Used from
 * GoogleTest directly and by `uctest`, which runs test files (microcode/tests/NAME.uct; format in
 * docs/isa.md). */
#ifndef SPPSIM_UC_HARNESS_H
#define SPPSIM_UC_HARNESS_H

#include "core.h"
#include "image.h"
#include "scratchpad.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uch {
    uc_image img;
    core_cfg cfg;
    core core;
    scratchpad sp;
    uint8_t *ws;
    uint32_t ws_len;
    event ev;
    core_result res;
    uint32_t answer[UC_CMD_COUNT]; /* r0 for each command (uch_answer); 0 by default */
    cycle_t start;                 /* the cycle a run starts at (uch_run); 0 by default */
    bool loaded;
} uch;

/* Assembles path and prepares a core with cfg (NULL: defaults) and a workspace of the image's
 * ws_size (at least 4 bytes). Returns 0, or -1 with err filled. */
int uch_load(uch *h, const char *path, const core_cfg *cfg, sim_err *err);
void uch_free(uch *h);
/* Clears the workspace, the event (type tcp_data, every field 0) and the frame. */
void uch_reset(uch *h);

/* Sets an event field by its ldev name ("seq", "pay_len" ...) or the type by name
 * ("type", "tcp_fin"). Returns 0, or -1 with err naming the field or value. */
int uch_event_set(uch *h, const char *field, const char *value, sim_err *err);
/* Replaces the event's frame with n bytes. Returns 0, or -1 (scratchpad full). */
int uch_set_frame(uch *h, const uint8_t *bytes, uint32_t n, sim_err *err);
/* Writes or reads a workspace field by symbol ("stats.bytes": its size, little-endian) or by
 * a numeric address (4 bytes). Returns 0, or -1 with err naming the symbol. */
int uch_ws_set(uch *h, const char *where, uint32_t value, sim_err *err);
int uch_ws_get(const uch *h, const char *where, uint32_t *value, sim_err *err);

/* Parses a 32-bit value as test files write it: decimal (negative allowed, two's complement)
 * or 0x hex. Returns 0, or -1 when s is not such a number. */
int uch_parse_u32(const char *s, uint32_t *v);

/* Every later cmd of command cmd (by name: "sock_space") answers value in r0, as the unit it
 * addresses would, until uch_reset. Returns 0, or -1 with err naming an
 * unknown command. */
int uch_answer(uch *h, const char *cmd, uint32_t value, sim_err *err);
/* Runs the handler from cycle h->start (0 unless the test set it: ldev now_us reads the
 * time); returns res.fault. */
int uch_run(uch *h);
/* "file:line: source text" of the instruction the run ended at (fin, or the fault). */
void uch_where(const uch *h, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif

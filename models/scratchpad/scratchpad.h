/* scratchpad: the on-chip memory that holds frames (headers and payload) in flight (claim 29).
 * Bounded: capacity is split into fixed-size cells and a frame takes whole cells, chained, as a
 * chip's buffer manager would store it. A full scratchpad refuses an allocation (the IPU then
 * stalls: back-pressure); the refusal is counted. Frames carry a reference count so that the
 * several events one frame derives can each release it. */
#ifndef SPPSIM_SCRATCHPAD_H
#define SPPSIM_SCRATCHPAD_H

#include "event.h"
#include "params.h"
#include "sim_types.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sp_cfg {
    uint32_t capacity; /* bytes */
    uint32_t cell;     /* bytes per cell */
} sp_cfg;

typedef struct sp_stats {
    uint64_t allocs;
    uint64_t frees;
    uint64_t alloc_fail; /* allocations refused for lack of cells */
    uint64_t bytes_in;   /* frame bytes written */
    uint64_t cells_used; /* now */
    uint64_t cells_peak;
    uint64_t bytes_used; /* frame bytes held now */
    uint64_t bytes_peak;
} sp_stats;

typedef struct scratchpad {
    sp_cfg cfg;
    uint32_t ncells;
    uint8_t *mem;   /* ncells * cell bytes */
    uint32_t *next; /* per cell: next cell of its frame, or free-list link */
    uint32_t *len;  /* per head cell: frame length */
    uint16_t *refs; /* per head cell: references left; 0 on free cells */
    uint8_t *whole; /* per head cell: 1 when the frame's cells are h, h+1, ... (the usual case),
                       so that its bytes are one block at mem + h * cell */
    uint32_t free_head;
    uint32_t free_count;
    /* Runs of the free list, so that taking a frame's cells (usually one run) needs no walk:
     * head_run is the number of cells free_head, free_head + 1, ... that follow each other in
     * the free list (0 when it is empty), and run[c], for a free cell c that follows a cell of
     * the list other than c - 1, is the same count from c (the free list below its head never
     * changes, so these stay true until c becomes the head). Bookkeeping only: the free list
     * and the cells it hands out are those of the plain list. */
    uint32_t head_run;
    uint32_t *run;
    sp_stats st;
} scratchpad;

extern const param_table sp_params;
extern const stat_def sp_stat_defs[];
extern const size_t sp_stat_count;

void sp_cfg_default(sp_cfg *c);
/* Returns 0, or -1 with err filled (bad cfg, no memory). */
int sp_init(scratchpad *s, const sp_cfg *c, sim_err *err);
void sp_fini(scratchpad *s);

/* Cells a frame of len bytes takes (an empty frame takes one: it still needs a handle).
 * Rounds up without computing len + cell - 1, which wraps for len near 2^32. */
static inline uint32_t sp_cells_for(const scratchpad *s, uint32_t len)
{
    return len == 0 ? 1u : len / s->cfg.cell + (len % s->cfg.cell != 0);
}
/* True when a frame of len bytes could never fit, even in an empty scratchpad. */
static inline bool sp_too_big(const scratchpad *s, uint32_t len)
{
    return sp_cells_for(s, len) > s->ncells;
}

/* Stores len bytes of data (may be NULL to reserve only) with refs references (>= 1).
 * Returns the handle, or SP_NONE when the free cells do not suffice (counted in alloc_fail). */
uint32_t sp_alloc(scratchpad *s, const uint8_t *data, uint32_t len, uint16_t refs);
/* Adds n references to a live frame. */
void sp_ref(scratchpad *s, uint32_t h, uint16_t n);
/* Drops one reference; the frame's cells return to the pool when none is left.
 * Returns true when it freed the frame. pre: h is live. */
bool sp_release(scratchpad *s, uint32_t h);
/* Length of a live frame. */
uint32_t sp_len(const scratchpad *s, uint32_t h);
/* Copies n bytes at offset off of frame h into dst. Returns 0, or -1 when [off, off+n) is not
 * inside the frame (nothing copied). */
int sp_read(const scratchpad *s, uint32_t h, uint32_t off, void *dst, uint32_t n);
/* The n bytes at offset off of frame h in place, for a consumer that would only copy them on
 * (the socket memory's pages): the address of byte off when bytes [off, off+n) lie in cells
 * that follow each other in memory (a frame's usually do: see copy in scratchpad.c), else NULL,
 * and NULL when [off, off+n) is not inside the frame; the caller then copies with sp_read.
 * n = 0 inside the frame gives a non-NULL address (of no bytes). The bytes stay there until
 * the frame is freed; sp_write changes them. pre: h is live. */
const uint8_t *sp_span(const scratchpad *s, uint32_t h, uint32_t off, uint32_t n);
/* Overwrites n bytes at offset off of frame h. Returns 0, or -1 when out of bounds. */
int sp_write(scratchpad *s, uint32_t h, uint32_t off, const void *src, uint32_t n);
static inline bool sp_empty(const scratchpad *s) { return s->free_count == s->ncells; }
/* The end of the warm-up (STYLE.md): zeroes the counters, except that the frames alive now count
 * as allocated in the new phase (so allocs = frees again once they are freed); the peaks restart
 * from the current level. */
void sp_reset_stats(scratchpad *s);

#ifdef __cplusplus
}
#endif
#endif

#include "scratchpad.h"

#include <stdlib.h>
#include <string.h>

static const param_def defs[] = {
    {"capacity", PARAM_U32, offsetof(sp_cfg, capacity), 1u << 20, 4096, 1u << 28, "bytes",
     "on-chip memory for frames in flight", NULL},
    {"cell", PARAM_U32, offsetof(sp_cfg, cell), 64, 16, 16384, "bytes",
     "allocation granule: a frame takes whole cells", NULL},
};
const param_table sp_params = {"scratchpad", defs, sizeof defs / sizeof defs[0]};

/* clang-format 14 takes a macro body that opens with a brace for a block and breaks it up */
// clang-format off
#define S(name, desc) {#name, desc, offsetof(sp_stats, name)}
// clang-format on
const stat_def sp_stat_defs[] = {
    S(allocs, "frames stored"),
    S(frees, "frames freed"),
    S(alloc_fail, "allocations refused because too few cells were free (back-pressure)"),
    S(bytes_in, "frame bytes written"),
    S(cells_used, "cells held at the end of the run"),
    S(cells_peak, "most cells held at once"),
    S(bytes_used, "frame bytes held at the end of the run"),
    S(bytes_peak, "most frame bytes held at once"),
};
const size_t sp_stat_count = sizeof sp_stat_defs / sizeof sp_stat_defs[0];

void sp_cfg_default(sp_cfg *c) { param_defaults(&sp_params, c); }

int sp_init(scratchpad *s, const sp_cfg *c, sim_err *err)
{
    memset(s, 0, sizeof *s);
    if (param_validate(&sp_params, c, err))
        return -1;
    if (c->cell > c->capacity)
        return sim_err_set(err, "scratchpad.cell: %u is larger than the capacity %u", c->cell,
                           c->capacity);
    s->cfg = *c;
    s->ncells = c->capacity / c->cell;
    s->mem = malloc((size_t)s->ncells * c->cell);
    s->next = malloc(sizeof *s->next * s->ncells);
    s->len = calloc(s->ncells, sizeof *s->len);
    s->refs = calloc(s->ncells, sizeof *s->refs);
    s->whole = calloc(s->ncells, sizeof *s->whole);
    s->run = malloc(sizeof *s->run * s->ncells);
    if (!s->mem || !s->next || !s->len || !s->refs || !s->whole || !s->run) {
        sp_fini(s);
        return sim_err_set(err, "scratchpad: out of memory for %u bytes", c->capacity);
    }
    for (uint32_t i = 0; i < s->ncells; i++)
        s->next[i] = i + 1 < s->ncells ? i + 1 : SP_NONE;
    s->free_head = 0;
    s->free_count = s->ncells;
    s->head_run = s->ncells;
    return 0;
}

void sp_fini(scratchpad *s)
{
    free(s->mem);
    free(s->next);
    free(s->len);
    free(s->refs);
    free(s->whole);
    free(s->run);
    s->run = NULL;
    s->mem = NULL;
    s->next = s->len = NULL;
    s->refs = NULL;
    s->whole = NULL;
}

/* Walks the chain of frame h to the cell holding byte off; *in is set to the offset in it. */
static uint32_t seek(const scratchpad *s, uint32_t h, uint32_t off, uint32_t *in)
{
    uint32_t c = h;
    while (off >= s->cfg.cell) {
        c = s->next[c];
        off -= s->cfg.cell;
    }
    *in = off;
    return c;
}

/* Copies between a frame and a flat buffer; to_frame chooses the direction. A frame's cells are
 * usually consecutive (the free list hands back whole chains in order): such a frame is copied
 * at once, and otherwise each run of consecutive cells is. */
static void copy(const scratchpad *s, uint32_t h, uint32_t off, uint8_t *buf, uint32_t n,
                 bool to_frame)
{
    const uint32_t cell = s->cfg.cell;
    if (!n)
        return; /* buf may be NULL then: memcpy wants a valid pointer even for no bytes */
    if (s->whole[h]) {
        uint8_t *at = s->mem + (size_t)h * cell + off;
        if (to_frame)
            memcpy(at, buf, n);
        else
            memcpy(buf, at, n);
        return;
    }
    uint32_t in;
    uint32_t c = seek(s, h, off, &in);
    while (n) {
        uint8_t *at = s->mem + (size_t)c * cell + in;
        uint32_t k = cell - in;
        while (k < n && s->next[c] == c + 1) {
            c++;
            k += cell;
        }
        if (k > n)
            k = n;
        if (to_frame)
            memcpy(at, buf, k);
        else
            memcpy(buf, at, k);
        buf += k;
        n -= k;
        in = 0;
        c = s->next[c];
    }
}

uint32_t sp_alloc(scratchpad *s, const uint8_t *data, uint32_t len, uint16_t refs)
{
    uint32_t need = sp_cells_for(s, len);
    if (need > s->free_count) {
        s->st.alloc_fail++;
        return SP_NONE;
    }
    const uint32_t h = s->free_head;
    uint32_t last, rem; /* rem: cells of last's run from last on */
    bool whole = true;
    if (need <= s->head_run) { /* the usual case: the cells h .. h + need - 1 */
        last = h + need - 1;
        rem = s->head_run - need + 1;
    } else { /* across runs: walk them */
        last = h;
        rem = s->head_run;
        for (uint32_t i = 1; i < need; i++) {
            if (rem > 1) {
                last++;
                rem--;
            } else {
                last = s->next[last];
                rem = s->run[last];
                whole = false;
            }
        }
    }
    if (rem > 1) { /* the rest of the run stays at the head */
        s->free_head = last + 1;
        s->head_run = rem - 1;
    } else {
        s->free_head = s->next[last];
        s->head_run = s->free_head == SP_NONE ? 0 : s->run[s->free_head];
    }
    s->next[last] = SP_NONE;
    s->free_count -= need;
    s->len[h] = len;
    s->refs[h] = refs ? refs : 1;
    s->whole[h] = whole;
    if (data && len) { /* (memcpy wants a valid pointer even for no bytes) */
        if (whole)     /* one block: the usual case, without copy's cell walk */
            memcpy(s->mem + (size_t)h * s->cfg.cell, data, len);
        else
            copy(s, h, 0, (uint8_t *)data, len, true);
    }
    s->st.allocs++;
    s->st.bytes_in += len;
    s->st.cells_used += need;
    s->st.bytes_used += len;
    if (s->st.cells_used > s->st.cells_peak)
        s->st.cells_peak = s->st.cells_used;
    if (s->st.bytes_used > s->st.bytes_peak)
        s->st.bytes_peak = s->st.bytes_used;
    return h;
}

void sp_ref(scratchpad *s, uint32_t h, uint16_t n) { s->refs[h] = (uint16_t)(s->refs[h] + n); }

bool sp_release(scratchpad *s, uint32_t h)
{
    if (--s->refs[h])
        return false;
    uint32_t need = sp_cells_for(s, s->len[h]);
    const uint32_t old = s->free_head;
    uint32_t last, first_run, seg = h;
    if (s->whole[h]) { /* its cells are h, h+1, ...: no chain to walk */
        last = h + need - 1;
        first_run = need;
    } else { /* note each run of the chain */
        last = h;
        first_run = 0;
        for (uint32_t i = 1; i < need; i++) {
            uint32_t c = s->next[last];
            if (c != last + 1) {
                if (seg == h)
                    first_run = last - seg + 1;
                else
                    s->run[seg] = last - seg + 1;
                seg = c;
            }
            last = c;
        }
        if (seg == h)
            first_run = last - h + 1;
    }
    /* the chain's last run goes on into the old head's when that is the next cell */
    uint32_t tail = last - seg + 1;
    if (old != SP_NONE && old == last + 1)
        tail += s->head_run;
    else if (old != SP_NONE)
        s->run[old] = s->head_run;
    if (seg == h)
        first_run = tail;
    else
        s->run[seg] = tail;
    s->head_run = first_run;
    s->next[last] = s->free_head;
    s->free_head = h;
    s->free_count += need;
    s->st.frees++;
    s->st.cells_used -= need;
    s->st.bytes_used -= s->len[h];
    s->len[h] = 0;
    return true;
}

uint32_t sp_len(const scratchpad *s, uint32_t h) { return s->len[h]; }

int sp_read(const scratchpad *s, uint32_t h, uint32_t off, void *dst, uint32_t n)
{
    if (off > s->len[h] || n > s->len[h] - off)
        return -1;
    copy(s, h, off, dst, n, false);
    return 0;
}

const uint8_t *sp_span(const scratchpad *s, uint32_t h, uint32_t off, uint32_t n)
{
    if (off > s->len[h] || n > s->len[h] - off)
        return NULL;
    const uint32_t cell = s->cfg.cell;
    if (s->whole[h])
        return s->mem + (size_t)h * cell + off;
    if (n == 0) /* off may be past the frame's last cell: any address of the frame will do */
        return s->mem + (size_t)h * cell;
    uint32_t in;
    uint32_t c = seek(s, h, off, &in);
    const uint8_t *at = s->mem + (size_t)c * cell + in;
    /* the cells holding bytes [off, off+n) must each be the one after the one before */
    for (uint32_t k = cell - in; k < n; k += cell) {
        if (s->next[c] != c + 1)
            return NULL;
        c++;
    }
    return at;
}

int sp_write(scratchpad *s, uint32_t h, uint32_t off, const void *src, uint32_t n)
{
    if (off > s->len[h] || n > s->len[h] - off)
        return -1;
    copy(s, h, off, (uint8_t *)src, n, true);
    return 0;
}

void sp_reset_stats(scratchpad *s)
{
    uint64_t live = s->st.allocs - s->st.frees;
    uint64_t cells = s->st.cells_used, bytes = s->st.bytes_used;
    memset(&s->st, 0, sizeof s->st);
    s->st.allocs = live;
    s->st.cells_used = s->st.cells_peak = cells;
    s->st.bytes_used = s->st.bytes_peak = bytes;
}

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asm.h"

/* The units' side of commands that answer at once: the value the test gave. */
static uint32_t answer_cmd(void *ctx, const event *ev, core_cmd_rec *rec)
{
    (void)ev;
    return ((const uch *)ctx)->answer[rec->cmd];
}

int uch_answer(uch *h, const char *cmd, uint32_t value, sim_err *err)
{
    for (unsigned c = 0; c < UC_CMD_COUNT; c++)
        if (!strcmp(uc_cmd_name(c), cmd)) {
            h->answer[c] = value;
            return 0;
        }
    return sim_err_set(err, "unknown command '%s'", cmd);
}

int uch_load(uch *h, const char *path, const core_cfg *cfg, sim_err *err)
{
    memset(h, 0, sizeof *h);
    h->ev.sp_handle = SP_NONE;
    if (uc_assemble_file(path, &h->img, err))
        return -1;
    if (cfg)
        h->cfg = *cfg;
    else
        core_cfg_default(&h->cfg);
    if (core_init(&h->core, &h->cfg, &h->img, err)) {
        uc_image_free(&h->img);
        return -1;
    }
    sp_cfg sc;
    sp_cfg_default(&sc);
    if (sp_init(&h->sp, &sc, err)) {
        core_fini(&h->core);
        uc_image_free(&h->img);
        return -1;
    }
    h->ws_len = h->img.ws_size < 4 ? 4 : h->img.ws_size;
    h->ws = calloc(1, h->ws_len);
    if (!h->ws) {
        uch_free(h);
        return sim_err_set(err, "%s: out of memory for the workspace", path);
    }
    core_set_cmd(&h->core, answer_cmd, h);
    h->loaded = true;
    uch_reset(h);
    return 0;
}

void uch_free(uch *h)
{
    if (h->ev.sp_handle != SP_NONE && h->sp.ncells)
        sp_release(&h->sp, h->ev.sp_handle);
    free(h->ws);
    sp_fini(&h->sp);
    core_fini(&h->core);
    uc_image_free(&h->img);
    memset(h, 0, sizeof *h);
}

void uch_reset(uch *h)
{
    memset(h->ws, 0, h->ws_len);
    if (h->ev.sp_handle != SP_NONE && h->loaded)
        sp_release(&h->sp, h->ev.sp_handle);
    event_clear(&h->ev);
    h->ev.type = EV_TCP_DATA;
    h->ev.flow = 0;
    memset(&h->res, 0, sizeof h->res);
    memset(h->answer, 0, sizeof h->answer);
    h->start = 0;
}

int uch_parse_u32(const char *s, uint32_t *v)
{
    char *end;
    if (!*s)
        return -1;
    long long x = strtoll(s, &end, 0);
    if (*end || x < -2147483648LL || x > 4294967295LL)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

int uch_event_set(uch *h, const char *field, const char *value, sim_err *err)
{
    event *e = &h->ev;
    if (!strcmp(field, "type")) {
        for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
            if (!strcmp(ev_type_name(t), value)) {
                e->type = (uint8_t)t;
                return 0;
            }
        return sim_err_set(err, "unknown event type '%s'", value);
    }
    unsigned f = 0;
    while (f < UC_EVF_COUNT && strcmp(uc_evf_name(f), field) != 0)
        f++;
    if (f == UC_EVF_COUNT)
        return sim_err_set(err, "unknown event field '%s'", field);
    uint32_t v;
    if (uch_parse_u32(value, &v))
        return sim_err_set(err, "event field %s: '%s' is not a 32-bit number", field, value);
    core_event_field_set(e, f, v);
    return 0;
}

int uch_set_frame(uch *h, const uint8_t *bytes, uint32_t n, sim_err *err)
{
    if (h->ev.sp_handle != SP_NONE)
        sp_release(&h->sp, h->ev.sp_handle);
    h->ev.sp_handle = sp_alloc(&h->sp, bytes, n, 1);
    if (h->ev.sp_handle == SP_NONE)
        return sim_err_set(err, "frame of %u bytes does not fit in the scratchpad", n);
    h->ev.frame_len = n;
    return 0;
}

/* Resolves a workspace location: a field symbol (its address and size) or a number. */
static int locate(const uch *h, const char *where, uint32_t *addr, uint32_t *size, sim_err *err)
{
    const uc_symbol *s = uc_image_find(&h->img, where);
    if (s && s->kind == UC_SYM_FIELD) {
        *addr = s->value;
        *size = s->size > 4 ? 4 : s->size;
    } else if (!uch_parse_u32(where, addr)) {
        *size = 4;
    } else {
        return sim_err_set(err, "'%s' is not a workspace field or address", where);
    }
    if (*addr > h->ws_len || *size > h->ws_len - *addr)
        return sim_err_set(err, "'%s' is outside the %u-byte workspace", where, h->ws_len);
    return 0;
}

int uch_ws_set(uch *h, const char *where, uint32_t value, sim_err *err)
{
    uint32_t a = 0, n = 0;
    if (locate(h, where, &a, &n, err))
        return -1;
    for (uint32_t i = 0; i < n; i++)
        h->ws[a + i] = (uint8_t)(value >> (8 * i));
    return 0;
}

int uch_ws_get(const uch *h, const char *where, uint32_t *value, sim_err *err)
{
    uint32_t a = 0, n = 0;
    if (locate(h, where, &a, &n, err))
        return -1;
    *value = 0;
    for (uint32_t i = 0; i < n; i++)
        *value |= (uint32_t)h->ws[a + i] << (8 * i);
    return 0;
}

int uch_run(uch *h)
{
    return core_run(&h->core, &h->ev, h->ws, h->ws_len, &h->sp, h->start, &h->res);
}

void uch_where(const uch *h, char *buf, size_t size)
{
    uc_image_where(&h->img, h->res.pc, true, buf, size);
}

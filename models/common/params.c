#include "params.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void param_defaults(const param_table *t, void *cfg)
{
    for (size_t i = 0; i < t->n; i++) {
        const param_def *d = &t->defs[i];
        uint8_t *p = (uint8_t *)cfg + d->off;
        if (d->kind == PARAM_U64) {
            uint64_t v = d->def;
            memcpy(p, &v, sizeof v);
        } else {
            uint32_t v = (uint32_t)d->def;
            memcpy(p, &v, sizeof v);
        }
    }
}

const param_def *param_find(const param_table *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->defs[i].name, key) == 0)
            return &t->defs[i];
    return NULL;
}

uint64_t param_get(const param_def *d, const void *cfg)
{
    const uint8_t *p = (const uint8_t *)cfg + d->off;
    if (d->kind == PARAM_U64) {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void put(const param_def *d, void *cfg, uint64_t v)
{
    uint8_t *p = (uint8_t *)cfg + d->off;
    if (d->kind == PARAM_U64) {
        memcpy(p, &v, sizeof v);
    } else {
        uint32_t w = (uint32_t)v;
        memcpy(p, &w, sizeof w);
    }
}

static int parse_uint(const char *s, uint64_t *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    /* Insist on a digit here: strtoull would itself skip other white space and accept a sign
     * ("\n-1" would wrap to 2^64-1). Base 0 would read a leading 0 as octal ("010" = 8), so
     * only an explicit 0x selects hex. */
    if (*s < '0' || *s > '9')
        return -1;
    int base = s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || end == s)
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static void enum_choices(const param_def *d, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (const char *const *n = d->names; *n && len < size; n++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", n == d->names ? "" : ", ", *n);
}

int param_set(const param_table *t, void *cfg, const char *key, const char *value, sim_err *err)
{
    const param_def *d = param_find(t, key);
    if (!d)
        return sim_err_set(err, "%s: unknown parameter '%s'", t->unit, key);
    uint64_t v = 0;
    switch (d->kind) {
    case PARAM_BOOL:
        if (!strcasecmp(value, "true") || !strcasecmp(value, "on") || !strcmp(value, "1"))
            v = 1;
        else if (!strcasecmp(value, "false") || !strcasecmp(value, "off") || !strcmp(value, "0"))
            v = 0;
        else
            return sim_err_set(err, "%s.%s: '%s' is not a boolean (true or false)", t->unit, key,
                               value);
        break;
    case PARAM_ENUM: {
        size_t i = 0;
        for (; d->names[i]; i++)
            if (!strcmp(d->names[i], value))
                break;
        if (!d->names[i]) {
            char choices[200];
            enum_choices(d, choices, sizeof choices);
            return sim_err_set(err, "%s.%s: '%s' is not one of: %s", t->unit, key, value, choices);
        }
        v = i;
        break;
    }
    case PARAM_U32:
    case PARAM_U64:
        if (parse_uint(value, &v))
            return sim_err_set(err, "%s.%s: '%s' is not a non-negative integer", t->unit, key,
                               value);
        if (v < d->min || v > d->max)
            return sim_err_set(err, "%s.%s: %s is out of range [%" PRIu64 ", %" PRIu64 "]", t->unit,
                               key, value, d->min, d->max);
        break;
    }
    put(d, cfg, v);
    return 0;
}

void param_format(const param_def *d, const void *cfg, char *buf, size_t size)
{
    uint64_t v = param_get(d, cfg);
    if (d->kind == PARAM_BOOL)
        snprintf(buf, size, "%s", v ? "true" : "false");
    else if (d->kind == PARAM_ENUM)
        snprintf(buf, size, "%s", d->names[v]);
    else
        snprintf(buf, size, "%" PRIu64, v);
}

int param_validate(const param_table *t, const void *cfg, sim_err *err)
{
    for (size_t i = 0; i < t->n; i++) {
        const param_def *d = &t->defs[i];
        uint64_t v = param_get(d, cfg);
        if (d->kind == PARAM_BOOL && v > 1)
            return sim_err_set(err, "%s.%s: %" PRIu64 " is not a boolean", t->unit, d->name, v);
        if (d->kind == PARAM_ENUM) {
            size_t n = 0;
            while (d->names[n])
                n++;
            if (v >= n)
                return sim_err_set(err, "%s.%s: %" PRIu64 " is not a valid choice", t->unit,
                                   d->name, v);
        }
        if ((d->kind == PARAM_U32 || d->kind == PARAM_U64) && (v < d->min || v > d->max))
            return sim_err_set(err, "%s.%s: %" PRIu64 " is out of range [%" PRIu64 ", %" PRIu64 "]",
                               t->unit, d->name, v, d->min, d->max);
    }
    return 0;
}

/* params: the one table per unit that declares each parameter once — name, kind, default,
 * bounds, unit, one line of doc, and where it lives in the unit's cfg struct. Defaults, parsing,
 * range checks, the resolved-config dump, docs/config.md and the Python config classes all come
 * from these tables, so they cannot drift. */
#ifndef SPPSIM_PARAMS_H
#define SPPSIM_PARAMS_H

#include "sim_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum param_kind { PARAM_U32, PARAM_U64, PARAM_BOOL, PARAM_ENUM } param_kind;

typedef struct param_def {
    const char *name;
    param_kind kind;
    size_t off;   /* offsetof(cfg struct, field); U32/BOOL/ENUM fields are uint32_t, U64 uint64_t */
    uint64_t def; /* default; for ENUM the index into names */
    uint64_t min; /* inclusive bounds (ignored for BOOL and ENUM) */
    uint64_t max;
    const char *unit;         /* "cycles", "bytes", "packets", "MHz", "" ... */
    const char *doc;          /* one line */
    const char *const *names; /* ENUM only: NULL-terminated value names */
} param_def;

typedef struct param_table {
    const char *unit; /* the hardware unit's name as used in configs: "ipu", "scratchpad" */
    const param_def *defs;
    size_t n;
} param_table;

/* Writes every default into cfg. */
void param_defaults(const param_table *t, void *cfg);

/* The definition named key, or NULL. */
const param_def *param_find(const param_table *t, const char *key);

/* Parses value (decimal or 0x hex integer; true/false/on/off/1/0; an enum name) into cfg.
 * Errors name unit and key: "ipu.cycles_per_msg: 0 is out of range [1, 100000]",
 * "ipu: unknown parameter 'foo'". Returns 0, or -1 with err filled and cfg unchanged. */
int param_set(const param_table *t, void *cfg, const char *key, const char *value, sim_err *err);

/* Reads a parameter's current value as an integer (enum index, bool 0/1). pre: d from t. */
uint64_t param_get(const param_def *d, const void *cfg);

/* Formats the current value as a config would spell it ("64", "true", "round_robin"). */
void param_format(const param_def *d, const void *cfg, char *buf, size_t size);

/* Checks that every value in cfg is within bounds (for cfgs built by code, not by param_set). */
int param_validate(const param_table *t, const void *cfg, sim_err *err);

#ifdef __cplusplus
}
#endif
#endif

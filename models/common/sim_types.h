/* Basic types shared by every unit model: cycle counts and error reports.
 * C11; included unchanged by the C++ glue and tests. */
#ifndef SPPSIM_SIM_TYPES_H
#define SPPSIM_SIM_TYPES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A count of clock cycles of one unit's clock. Models never see wall time or sc_time. */
typedef uint64_t cycle_t;
#define CYCLE_NEVER UINT64_MAX

/* Picoseconds of simulated time: the one unit that crosses clock domains (event timestamps). */
typedef uint64_t simtime_ps;

/* An error report: one line, no trailing newline, naming the input and what is wrong. */
typedef struct sim_err {
    char msg[256];
} sim_err;

/* Fills err (when not NULL) with a printf-style message and returns -1, so callers can write
 * `return sim_err_set(err, "...")`. */
int sim_err_set(sim_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif

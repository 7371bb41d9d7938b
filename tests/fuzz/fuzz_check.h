/* fuzz_check: FZ_CHECK aborts (a finding, with the failed condition and its line) when an
 * invariant of a fuzz target breaks. C and C++. */
#ifndef SPPSIM_FUZZ_CHECK_H
#define SPPSIM_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif

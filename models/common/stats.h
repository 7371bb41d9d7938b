/* stats: named counters and log-linear histograms. A unit keeps its counters as plain uint64_t
 * fields of a stats struct and declares them once in a stat_def table (name, description,
 * offset), from which the text report and the JSON are written. */
#ifndef SPPSIM_STATS_H
#define SPPSIM_STATS_H

#include "sim_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stat_def {
    const char *name;
    const char *desc;
    size_t off; /* offsetof(stats struct, uint64_t field) */
} stat_def;

static inline uint64_t stat_read(const stat_def *d, const void *stats)
{
    return *(const uint64_t *)((const uint8_t *)stats + d->off);
}

/* Log-linear histogram of non-negative integers (HDR style): values below 256 are exact; above,
 * each power of two is split into 128 equal buckets, so a bucket is at most 1/128 of its values
 * wide and a reported percentile (the mean of the values in its bucket, clamped to [min, max])
 * is within 0.8 % of the exact one, and exact where the bucket holds a single distinct value (the
 * usual case for latencies that are whole clock cycles). Fixed size, no allocation after init. */
#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS) /* 128 buckets per power of two */
#define HIST_LINEAR (2u * HIST_SUB)    /* values below 256 are exact */
#define HIST_BUCKETS (HIST_LINEAR + (64u - HIST_SUB_BITS - 1u) * HIST_SUB) /* 7424 */

/* One bucket: its count and the sum of its values (a percentile reports its bucket's mean, exact
 * when the bucket holds one value), side by side so that an add touches one cache line. */
typedef struct hist_cell {
    uint64_t n;
    double sum;
} hist_cell;

typedef struct hist {
    uint64_t count;
    uint64_t sum; /* wraps only past 1.8e19 */
    uint64_t min; /* UINT64_MAX while empty */
    uint64_t max;
    hist_cell b[HIST_BUCKETS];
} hist;

void hist_clear(hist *h);
/* Bucket index of v (exposed for tests). */
static inline unsigned hist_bucket(uint64_t v)
{
    if (v < (uint64_t)HIST_LINEAR)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v); /* >= 8 */
    unsigned shift = msb - HIST_SUB_BITS;              /* v >> shift in [128, 256) */
    return HIST_LINEAR + (shift - 1u) * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
}
/* Inline: the glue adds about ten samples per event. */
static inline void hist_add(hist *h, uint64_t v)
{
    h->count++;
    h->sum += v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    hist_cell *c = &h->b[hist_bucket(v)];
    c->n++;
    c->sum += (double)v;
}
/* hist_add(a, v) and hist_add(b, v), the bucket found once (the glue adds each latency to its
 * event type's histogram and to its protocol's). */
static inline void hist_add2(hist *a, hist *b, uint64_t v)
{
    unsigned k = hist_bucket(v);
    hist *h[2] = {a, b};
    for (unsigned i = 0; i < 2; i++) {
        h[i]->count++;
        h[i]->sum += v;
        if (v < h[i]->min)
            h[i]->min = v;
        if (v > h[i]->max)
            h[i]->max = v;
        h[i]->b[k].n++;
        h[i]->b[k].sum += (double)v;
    }
}
/* The value at quantile q in [0, 1] (0 -> min, 1 -> max); 0 when empty. */
uint64_t hist_quantile(const hist *h, double q);
double hist_mean(const hist *h);
/* Adds every sample of src into dst. */
void hist_merge(hist *dst, const hist *src);

/* The inclusive range of values bucket b holds (exposed for tests). */
void hist_bucket_range(unsigned b, uint64_t *lo, uint64_t *hi);

#ifdef __cplusplus
}
#endif
#endif

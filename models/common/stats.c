#include "stats.h"

#include <float.h>
#include <string.h>

void hist_clear(hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void hist_bucket_range(unsigned b, uint64_t *lo, uint64_t *hi)
{
    if (b < HIST_LINEAR) {
        *lo = *hi = b;
        return;
    }
    unsigned shift = (b - HIST_LINEAR) / HIST_SUB + 1u;
    uint64_t top = (b - HIST_LINEAR) % HIST_SUB + HIST_SUB;
    *lo = top << shift;
    *hi = *lo + ((uint64_t)1 << shift) - 1u;
}

uint64_t hist_quantile(const hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q <= 0.0)
        return h->min;
    if (q >= 1.0)
        return h->max;
    /* rank of the sample wanted, 1-based: the smallest r with r >= q * count. The product is
     * rounded (0.07 * 100000 gives 7000.000000000001, which means rank 7000, not 7001), so an
     * excess of a few ulps over a whole number is rounding error, not a fraction. */
    double want = q * (double)h->count;
    uint64_t rank = (uint64_t)want;
    if (want - (double)rank > want * 4 * DBL_EPSILON)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i].n;
        if (seen >= rank) {
            uint64_t lo, hi;
            hist_bucket_range(i, &lo, &hi);
            /* the mean of the bucket's values: within [lo, hi], and exact when they are equal */
            double m = h->b[i].sum / (double)h->b[i].n + 0.5;
            uint64_t mid = m <= (double)lo ? lo : m >= (double)hi ? hi : (uint64_t)m;
            if (mid < h->min)
                mid = h->min;
            if (mid > h->max)
                mid = h->max;
            return mid;
        }
    }
    return h->max;
}

double hist_mean(const hist *h) { return h->count ? (double)h->sum / (double)h->count : 0.0; }

void hist_merge(hist *dst, const hist *src)
{
    if (!src->count)
        return;
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        dst->b[i].n += src->b[i].n;
        dst->b[i].sum += src->b[i].sum;
    }
}

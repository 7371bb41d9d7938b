/* pattern: see pattern.h. */
#include "pattern.h"

/* "pattern1": keeps pattern keys apart from the flow table's hashes of the same keys */
#define PAT_SEED 0x7061747465726e31ULL

static uint64_t pat_word(uint64_t key, uint64_t w)
{
    uint64_t z = key + (w + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t pat_key(const flow_key *k) { return flow_key_hash(k, PAT_SEED); }

void pat_fill(uint64_t key, uint64_t off, uint8_t *out, uint32_t len)
{
    uint32_t i = 0;
    while (i < len) {
        uint64_t o = off + i;
        uint64_t v = pat_word(key, o >> 3) >> (8 * (o & 7));
        for (unsigned b = (unsigned)(o & 7); b < 8 && i < len; b++, i++, v >>= 8)
            out[i] = (uint8_t)v;
    }
}

uint32_t pat_check(uint64_t key, uint64_t off, const uint8_t *data, uint32_t len)
{
    uint32_t bad = 0, i = 0;
    while (i < len) {
        uint64_t o = off + i;
        uint64_t v = pat_word(key, o >> 3) >> (8 * (o & 7));
        for (unsigned b = (unsigned)(o & 7); b < 8 && i < len; b++, i++, v >>= 8)
            bad += data[i] != (uint8_t)v;
    }
    return bad;
}

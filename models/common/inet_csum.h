/* inet_csum: the Internet checksum (RFC 1071) over big-endian 16-bit words, for the units and
 * testbenches that build frames (the transmit unit, the closed-loop remote, the live port). The
 * IPU verifies with its own wider, byte-order-free sum (ipu_parse.c), kept apart for speed. */
#ifndef SPPSIM_INET_CSUM_H
#define SPPSIM_INET_CSUM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* s plus the n bytes at p as big-endian 16-bit words, an odd last byte as the high half of a
 * word; not folded (chain calls: only the last chunk may have an odd length). */
static inline uint32_t inet_csum_add(uint32_t s, const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < n)
        s += (uint32_t)p[i] << 8;
    return s;
}

/* The 16-bit one's-complement sum of s (carries folded in), not complemented: a checksum field
 * is its complement, and a received segment checks out when this is 0xffff. */
static inline uint16_t inet_csum_fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffffu) + (s >> 16);
    return (uint16_t)s;
}

#ifdef __cplusplus
}
#endif
#endif

/* flow_key: the flow identification key the IPU extracts (claim 7). For TCP and UDP it is the
 * 5-tuple over IPv4 or IPv6, oriented as the packet travels (src = sender). */
#ifndef SPPSIM_FLOW_KEY_H
#define SPPSIM_FLOW_KEY_H

#include "sim_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flow_key {
    uint8_t src[16]; /* IPv4 addresses in the first 4 bytes, the rest zero */
    uint8_t dst[16];
    uint16_t sport; /* host byte order */
    uint16_t dport;
    uint8_t af;     /* 4 or 6; 0 for "no key" (non-IP frames) */
    uint8_t proto;  /* IP protocol number */
    uint8_t pad[2]; /* always zero, so that equality and hashing may read whole bytes */
} flow_key;

/* Zeroes every byte, padding included. */
void flow_key_clear(flow_key *k);
bool flow_key_eq(const flow_key *a, const flow_key *b);
/* A well-mixed 64-bit hash of the key; the same key and seed always give the same value. */
uint64_t flow_key_hash(const flow_key *k, uint64_t seed);
/* The key of the opposite direction (addresses and ports swapped). */
void flow_key_reverse(flow_key *out, const flow_key *in);
/* Writes "10.0.0.1:1234>10.0.0.2:80/tcp" or "[2001:db8::1]:1234>[...]:80/udp" into buf
 * (always NUL-terminated); returns the length it needed, like snprintf. */
int flow_key_format(const flow_key *k, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif

/* flow_key: the flow identification key the IPU extracts (claim 7). For TCP and UDP it is the
 * 5-tuple over IPv4 or IPv6, oriented as the packet travels (src = sender), with qp 0.
 *
 * A RoCEv2 packet is keyed differently: {src IP, dst IP, af, proto 17, sport 0, dport 4791,
 * qp = the BTH's destination QP}. Its UDP source port is not part of the key: senders vary it
 * per QP (or per packet) as ECMP entropy. A RoCE key is thus recognised by proto 17, sport 0
 * and dport ROCE_UDP_PORT (flow_key_is_roce); the IPU parses every UDP datagram to port 4791
 * as RoCE, so no plain UDP key has that form. */
#ifndef SPPSIM_FLOW_KEY_H
#define SPPSIM_FLOW_KEY_H

#include "sim_types.h"

#include <string.h>

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
    uint32_t qp;    /* RoCE: destination QP (24 bits); 0 for every other key */
} flow_key;

#define ROCE_UDP_PORT 4791 /* IANA: RoCEv2 */

/* Zeroes every byte, padding included. */
void flow_key_clear(flow_key *k);
/* Inline (a constant-size compare the compiler expands): the dispatcher compares keys on every
 * lookup. */
static inline bool flow_key_eq(const flow_key *a, const flow_key *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}
/* A well-mixed 64-bit hash of the whole key; the same key and seed always give the same value.
 * A key with qp 0 (TCP, UDP) hashes as it did before the qp field existed. */
uint64_t flow_key_hash(const flow_key *k, uint64_t seed);
/* True for the key of a RoCEv2 packet (see above). */
bool flow_key_is_roce(const flow_key *k);
/* The key of the opposite direction: addresses and ports swapped. For a RoCE key only the
 * addresses are swapped (sport stays 0, dport 4791) and qp is kept as it is: the packet names
 * only its destination QP, and the QP number on the other side (where the reverse direction's
 * packets go) is not derivable from it. The reversed key therefore matches the other
 * direction's packets only when both ends happen to use the same QP number; whoever needs
 * the pairing must learn it elsewhere (e.g. from the connection's setup). */
void flow_key_reverse(flow_key *out, const flow_key *in);
/* Writes "10.0.0.1:1234>10.0.0.2:80/tcp", "[2001:db8::1]:1234>[...]:80/udp" or, for a RoCE
 * key, "10.0.0.1>10.0.0.2/roce qp 0x000012" into buf (always NUL-terminated); returns the
 * length it needed, like snprintf. */
int flow_key_format(const flow_key *k, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif

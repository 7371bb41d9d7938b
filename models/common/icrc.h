/* icrc: the RoCEv2 invariant CRC (InfiniBand's ICRC as the RoCEv2 annex carries it over UDP),
 * shared by the IPU, which checks it on received packets, and the transmit unit, which writes it
 * into the ACKs it builds. A pure function of the bytes: no state, no allocation.
 *
 * The ICRC covers the IP header (options and IPv6 extension headers included) to the end of the
 * pad, after 8 bytes of 0xff standing for InfiniBand's LRH, with the fields that routers may
 * change read as all ones: IPv4 ToS, TTL and header checksum; IPv6 traffic class, flow label and
 * hop limit; the UDP checksum; the BTH's reserved byte 4 (resv8a). It is the complement of the
 * reflected CRC-32 (polynomial 0x04c11db7, initial value all ones: Ethernet's FCS) over those
 * bytes, and goes on the wire least significant byte first. */
#ifndef SPPSIM_ICRC_H
#define SPPSIM_ICRC_H

#include "sim_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The ICRC of a packet whose IP header starts at ip: af 4 or 6, the UDP header at udp_off from
 * ip (>= 20 for IPv4, >= 40 for IPv6), the ICRC field at end from ip. pre: end >= udp_off + 20
 * (UDP header and BTH present) and [ip, ip + end) is readable. Returns the value a little-endian
 * read of the 4 ICRC bytes gives, so a sender writes it byte by byte from the least significant.
 * The ICRC field itself is not read. */
uint32_t icrc_compute(const uint8_t *ip, unsigned af, uint32_t udp_off, uint32_t end);

#ifdef __cplusplus
}
#endif
#endif

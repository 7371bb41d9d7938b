/* pattern: the deterministic data that both ends of a generated connection send (issue 5). Every
 * byte a sender writes is a function of the stream's key and the byte's offset in the stream, so
 * a receiver checks what it gets without a copy of what was sent, and a sender regenerates any
 * byte it must retransmit without keeping a send buffer.
 *
 * The key of a stream is pat_key of the flow key as its SENDER sees it (src = the sender): the
 * two directions of one connection have different keys, hence different data. Byte i of a stream
 * is byte (i mod 8) (least significant first) of a splitmix64-style mix of (key, i / 8). */
#ifndef SPPSIM_PATTERN_H
#define SPPSIM_PATTERN_H

#include "flow_key.h"
#include "sim_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The pattern key of the stream that the sender of k (k->src, k->sport) writes. */
uint64_t pat_key(const flow_key *k);

/* Writes the len bytes of stream key at offsets off .. off + len - 1 into out. */
void pat_fill(uint64_t key, uint64_t off, uint8_t *out, uint32_t len);

/* Compares data (len bytes at stream offset off) with the pattern; returns how many differ. */
uint32_t pat_check(uint64_t key, uint64_t off, const uint8_t *data, uint32_t len);

#ifdef __cplusplus
}
#endif
#endif

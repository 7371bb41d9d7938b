/* fuzz_ipu: ipu_parse on arbitrary bytes. Input: one control byte, then the frame.
 *   bits 0-2 of the control byte: link type (mod LINK_COUNT + 1; LINK_COUNT itself is an
 *            unknown link type, which must be dropped as malformed)
 *   bit 3:   verify checksums
 *   bit 4:   the wire length is one byte longer than the capture (snaplen)
 * Checks: the contract of ipu.h (fuzz_check.h), the same result with and without checksum
 * verification for a frame that passes verification, and ipu_csum_add against a plain
 * RFC 1071 sum. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_ipu_check.h"

static uint16_t ref_csum(const uint8_t *b, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)b[i] << 8 | b[i + 1];
    if (n & 1)
        s += (uint32_t)b[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned ctl = data[0];
    pkt p;
    memset(&p, 0, sizeof p);
    p.data = size > 1 ? data + 1 : NULL; /* the contract allows NULL with caplen 0 */
    p.caplen = (uint32_t)(size - 1);
    p.len = p.caplen + (ctl >> 4 & 1);
    p.link = (uint8_t)((ctl & 7) % (LINK_COUNT + 1));
    p.index = 12345;
    p.t_arrival = 678;
    bool verify = ctl >> 3 & 1;

    ipu_parse_out a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    ipu_parse(&p, verify, &a);
    fz_check_parse(&p, &a);
    if (p.link == LINK_COUNT)
        FZ_CHECK(a.drop == DROP_MALFORMED || a.drop == DROP_CAPTURE_TRUNCATED);

    ipu_parse(&p, !verify, &b);
    fz_check_parse(&p, &b);
    const ipu_parse_out *with = verify ? &a : &b, *without = verify ? &b : &a;
    if (with->drop == -1)
        FZ_CHECK(memcmp(with, without, sizeof *with) == 0);
    FZ_CHECK(without->drop != DROP_BAD_CHECKSUM);

    /* the checksum unit, whole and chained at an even split */
    if (p.caplen) {
        uint16_t want = ref_csum(p.data, p.caplen);
        FZ_CHECK(ipu_csum_fold(ipu_csum_add(0, p.data, p.caplen)) == want ||
                 (want == 0xffff && ipu_csum_fold(ipu_csum_add(0, p.data, p.caplen)) == 0));
        size_t half = (p.caplen / 2) & ~(size_t)1;
        FZ_CHECK(ipu_csum_fold(
                     ipu_csum_add(ipu_csum_add(0, p.data, half), p.data + half, p.caplen - half)) ==
                 ipu_csum_fold(ipu_csum_add(0, p.data, p.caplen)));
    }
    return 0;
}

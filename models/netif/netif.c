/* netif: see netif.h. */
#include "netif.h"

#include "inet_csum.h"

#include <inttypes.h>
#include <string.h>

#define P32(name, def, lo, hi, unit, doc)                                                          \
    {                                                                                              \
#name, PARAM_U32, offsetof(netif_cfg, name), def, lo, hi, unit, doc, NULL                  \
    }
#define P64(name, def, lo, hi, unit, doc)                                                          \
    {                                                                                              \
#name, PARAM_U64, offsetof(netif_cfg, name), def, lo, hi, unit, doc, NULL                  \
    }

static const param_def defs[] = {
    P64(chip_mac, 0x020000000001ULL, 1, 0xffffffffffffULL, "",
        "the chip's MAC address as an integer (0x020000000001 = 02:00:00:00:00:01); unicast"),
    P32(chip_ip, 0x0a000001u, 1, 0xffffffffu, "",
        "the chip's IPv4 address as an integer (10.0.0.1 = 167772161); ARP for it is answered"),
    P64(chip_ip6_hi, 0xfd00000000000000ULL, 0, UINT64_MAX, "",
        "the chip's IPv6 address, first 64 bits (fd00::1: 0xfd00000000000000); with chip_ip6_lo "
        "both 0: no IPv6 address"),
    P64(chip_ip6_lo, 1, 0, UINT64_MAX, "",
        "the chip's IPv6 address, last 64 bits; neighbour solicitations for it are answered"),
    P32(tick_us, 20, 1, 1000000, "us",
        "simulated time between two looks at the TAP: the pacing against the wall clock and the "
        "reads happen then"),
    P32(rate_mbps, 10000, 0, 4000000000u, "Mb/s",
        "the port's rate for frames from the TAP (they enter back to back at it); 0: at once"),
    P32(rx_loss_ppm, 0, 0, 1000000, "ppm",
        "frames for the chip lost before the port, per million (seeded; a substitute for netem)"),
    P64(seed, 0, 0, UINT64_MAX, "", "seed of the loss decisions; 0: chip.seed"),
    P32(duration_s, 0, 0, 4000000000u, "s",
        "simulated seconds the run lasts; 0: until SIGINT or SIGTERM"),
    P32(drain_ms, 1000, 1, 1000000, "ms",
        "after the end, the simulated time the chip gets to finish what it holds"),
    P32(max_pending, 65536, 1, 1000000, "frames",
        "frames read from the TAP and waiting for the port; beyond, the TAP is not read"),
    P32(max_lag_ms, 50, 0, 1000000, "ms",
        "how far simulated time may fall behind the wall clock: beyond, it gives the lag up "
        "(slips) instead of catching up, so the chip never runs through quiet time faster than "
        "real time; 0: never slips"),
};
#undef P32
#undef P64

const param_table netif_params = {"live", defs, sizeof defs / sizeof defs[0]};

#define S(name, desc)                                                                              \
    {                                                                                              \
#name, desc, offsetof(netif_stats, name)                                                   \
    }
const stat_def netif_stat_defs[] = {
    S(frames_from_tap, "frames read from the TAP, all kinds"),
    S(bytes_from_tap, "their bytes"),
    S(frames_for_chip, "frames for the chip's addresses (before rx_loss)"),
    S(dropped_rx_loss, "frames for the chip dropped by live.rx_loss_ppm"),
    S(arp_answered, "ARP requests for the chip's IPv4 address answered by the port"),
    S(nd_answered, "neighbour solicitations for the chip's IPv6 address answered by the port"),
    S(ignored, "frames from the TAP neither for the chip nor answered"),
    S(frames_to_tap, "frames the chip transmitted, written to the TAP"),
    S(bytes_to_tap, "their bytes"),
    S(write_errors, "writes to the TAP that failed"),
    S(read_pauses, "ticks without a read: max_pending frames were waiting for the port"),
    S(ticks, "looks at the TAP"),
    S(ticks_behind, "ticks at which simulated time was behind the wall clock"),
    S(idle_waits, "quiet spells (nothing to read, the chip idle) spent waiting on the TAP"),
    S(slips, "ticks at which simulated time, behind the wall clock by more than max_lag_ms, "
             "gave the lag up"),
    S(slipped_us, "the wall-clock time given up so, in all (us)"),
};
#undef S
const size_t netif_stat_count = sizeof netif_stat_defs / sizeof netif_stat_defs[0];

void netif_cfg_default(netif_cfg *c) { param_defaults(&netif_params, c); }

int netif_validate(const netif_cfg *c, sim_err *err)
{
    if (param_validate(&netif_params, c, err))
        return -1;
    if ((c->chip_mac >> 40) & 1)
        return sim_err_set(err,
                           "live.chip_mac: 0x%012" PRIx64 " is a multicast address (the "
                           "first byte's lowest bit is set)",
                           c->chip_mac);
    return 0;
}

/* ---- byte helpers ---- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void wr_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static void mac_bytes(const netif_cfg *c, uint8_t out[6]) { wr_be(out, c->chip_mac, 6); }
static void ip6_bytes(const netif_cfg *c, uint8_t out[16])
{
    wr_be(out, c->chip_ip6_hi, 8);
    wr_be(out + 8, c->chip_ip6_lo, 8);
}
static bool has_ip6(const netif_cfg *c) { return c->chip_ip6_hi || c->chip_ip6_lo; }

uint32_t netif_csum_add(uint32_t sum, const uint8_t *p, uint32_t len)
{
    return inet_csum_fold(inet_csum_add(sum, p, len));
}

uint16_t netif_csum_fold(uint32_t sum) { return (uint16_t)~inet_csum_fold(sum); }

/* ICMPv6 checksum over the pseudo-header (src, dst, length, next header 58) and the message. */
static uint16_t icmp6_csum(const uint8_t *src, const uint8_t *dst, const uint8_t *msg, uint32_t len)
{
    uint8_t ph[8] = {0};
    ph[0] = (uint8_t)(len >> 24);
    ph[1] = (uint8_t)(len >> 16);
    ph[2] = (uint8_t)(len >> 8);
    ph[3] = (uint8_t)len;
    ph[7] = 58;
    uint32_t s = netif_csum_add(0, src, 16);
    s = netif_csum_add(s, dst, 16);
    s = netif_csum_add(s, ph, 8);
    s = netif_csum_add(s, msg, len);
    return netif_csum_fold(s);
}

/* ---- classification ---- */

#define ETH_HDR 14
#define ET_IPV4 0x0800
#define ET_ARP 0x0806
#define ET_IPV6 0x86dd
#define ARP_LEN 28
#define IP6_HDR 40
#define ND_NS 135
#define ND_NA 136

static bool is_arp_request(const netif_cfg *c, const uint8_t *f, uint32_t len)
{
    if (len < ETH_HDR + ARP_LEN || rd16(f + 12) != ET_ARP)
        return false;
    const uint8_t *a = f + ETH_HDR;
    return rd16(a) == 1 && rd16(a + 2) == ET_IPV4 && a[4] == 6 && a[5] == 4 && rd16(a + 6) == 1 &&
           rd32(a + 24) == c->chip_ip;
}

/* An IPv6 neighbour solicitation for the chip's address, valid per RFC 4861 7.1.1, from a
 * specified source (DAD probes, from ::, are not answered). */
static bool is_ns_for_chip(const netif_cfg *c, const uint8_t *f, uint32_t len)
{
    if (!has_ip6(c) || len < ETH_HDR + IP6_HDR + 24 || rd16(f + 12) != ET_IPV6)
        return false;
    const uint8_t *ip = f + ETH_HDR;
    uint32_t plen = rd16(ip + 4);
    if ((ip[0] >> 4) != 6 || ip[6] != 58 || ip[7] != 255 || plen < 24 ||
        ETH_HDR + IP6_HDR + plen > len)
        return false;
    const uint8_t *m = ip + IP6_HDR;
    uint8_t me[16];
    ip6_bytes(c, me);
    static const uint8_t unspec[16] = {0};
    if (m[0] != ND_NS || m[1] != 0 || memcmp(m + 8, me, 16) != 0 || memcmp(ip + 8, unspec, 16) == 0)
        return false;
    return icmp6_csum(ip + 8, ip + 24, m, plen) == 0; /* a right checksum sums to 0 */
}

netif_kind netif_classify(const netif_cfg *c, const uint8_t *f, uint32_t len)
{
    if (len < ETH_HDR)
        return NETIF_OTHER;
    if (is_arp_request(c, f, len))
        return NETIF_ARP;
    if (is_ns_for_chip(c, f, len))
        return NETIF_ND;
    uint8_t mac[6];
    mac_bytes(c, mac);
    if (memcmp(f, mac, 6) != 0)
        return NETIF_OTHER;
    uint16_t et = rd16(f + 12);
    if (et == ET_IPV4 && len >= ETH_HDR + 20 && (f[ETH_HDR] >> 4) == 4 &&
        rd32(f + ETH_HDR + 16) == c->chip_ip)
        return NETIF_CHIP;
    if (et == ET_IPV6 && has_ip6(c) && len >= ETH_HDR + IP6_HDR && (f[ETH_HDR] >> 4) == 6) {
        uint8_t me[16];
        ip6_bytes(c, me);
        if (memcmp(f + ETH_HDR + 24, me, 16) == 0)
            return NETIF_CHIP;
    }
    return NETIF_OTHER;
}

/* ---- answers ---- */

static uint32_t arp_reply(const netif_cfg *c, const uint8_t *f, uint8_t *out)
{
    const uint8_t *a = f + ETH_HDR;
    uint8_t mac[6];
    mac_bytes(c, mac);
    memset(out, 0, 60);    /* the minimum frame (without FCS): padded with zeros */
    memcpy(out, a + 8, 6); /* to the requester's hardware address */
    memcpy(out + 6, mac, 6);
    wr16(out + 12, ET_ARP);
    uint8_t *r = out + ETH_HDR;
    wr16(r, 1);
    wr16(r + 2, ET_IPV4);
    r[4] = 6;
    r[5] = 4;
    wr16(r + 6, 2);        /* reply */
    memcpy(r + 8, mac, 6); /* sender: the chip */
    wr_be(r + 14, c->chip_ip, 4);
    memcpy(r + 18, a + 8, 6); /* target: the requester */
    memcpy(r + 24, a + 14, 4);
    return 60;
}

static uint32_t nd_advert(const netif_cfg *c, const uint8_t *f, uint8_t *out)
{
    const uint8_t *ip = f + ETH_HDR;
    uint8_t mac[6], me[16];
    mac_bytes(c, mac);
    ip6_bytes(c, me);
    const uint32_t mlen = 24 + 8; /* NA + the target link-layer address option */
    memset(out, 0, ETH_HDR + IP6_HDR + mlen);
    memcpy(out, f + 6, 6); /* to the solicitor's MAC */
    memcpy(out + 6, mac, 6);
    wr16(out + 12, ET_IPV6);
    uint8_t *o = out + ETH_HDR;
    o[0] = 0x60;
    wr16(o + 4, (uint16_t)mlen);
    o[6] = 58;
    o[7] = 255;
    memcpy(o + 8, me, 16);
    memcpy(o + 24, ip + 8, 16); /* to the solicitor's address */
    uint8_t *m = o + IP6_HDR;
    m[0] = ND_NA;
    m[4] = 0x60; /* solicited, override (not a router) */
    memcpy(m + 8, me, 16);
    m[24] = 2; /* target link-layer address, 8 bytes */
    m[25] = 1;
    memcpy(m + 26, mac, 6);
    wr16(m + 2, icmp6_csum(o + 8, o + 24, m, mlen));
    return ETH_HDR + IP6_HDR + mlen;
}

uint32_t netif_answer(const netif_cfg *c, const uint8_t *f, uint32_t len, uint8_t *out)
{
    switch (netif_classify(c, f, len)) {
    case NETIF_ARP:
        return arp_reply(c, f, out);
    case NETIF_ND:
        return nd_advert(c, f, out);
    default:
        return 0;
    }
}

/* ---- loss and the wire ---- */

void netif_rng_init(netif_rng *r, uint64_t seed) { r->s = seed; }

uint64_t netif_rng_next(netif_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

bool netif_lose(netif_rng *r, uint32_t ppm) { return netif_rng_next(r) % 1000000u < ppm; }

uint64_t netif_wire_ps(uint32_t len, uint32_t rate_mbps)
{
    if (!rate_mbps)
        return 0;
    uint64_t bits = ((uint64_t)len + 24) * 8;
    return (bits * 1000000ULL + rate_mbps - 1) / rate_mbps; /* bits / (Mb/s) = us; in ps */
}

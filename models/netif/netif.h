/* netif: the chip's network port in live mode (--live IFNAME, docs/live.md), the pure part. A
 * testbench model outside the chip, like the generator's remote side: what the port does with a
 * frame the Linux TAP interface gives it, and the answers the port gives on its own.
 *
 * Classification (netif_classify) of an Ethernet II frame (no 802.1Q tag):
 *   NETIF_ARP    an ARP request (Ethernet, IPv4) whose target is the chip's IPv4 address;
 *   NETIF_ND     an ICMPv6 neighbour solicitation for the chip's IPv6 address that passes
 *                RFC 4861 7.1.1 (hop limit 255, code 0, checksum right, target not multicast,
 *                from a specified source: duplicate address detection of our address is not
 *                answered);
 *   NETIF_CHIP   an IPv4 or IPv6 packet to the chip's address, unicast to the chip's MAC: the
 *                chip's ingress port takes it (whatever its protocol: the IPU decides);
 *   NETIF_OTHER  anything else (router solicitations, MLD, frames for other hosts ...).
 * The port answers NETIF_ARP and NETIF_ND itself (netif_answer), so that Linux clients need no
 * static neighbour entries: an ARP reply, or a neighbour advertisement (solicited, override,
 * with the target link-layer address option), with the chip's MAC and correct checksums.
 *
 * Also: the seeded loss decision of live.rx_loss_ppm (a splitmix64 stream), and the time a frame
 * takes on the port at live.rate_mbps (its bytes + 4 FCS + 20 preamble and gap).
 *
 * Addresses in the cfg are integers, most significant byte first on the wire: MAC
 * 02:00:00:00:00:01 = 0x020000000001; IPv4 10.0.0.1 = 0x0a000001 = 167772161; IPv6 fd00::1 =
 * chip_ip6_hi 0xfd00000000000000, chip_ip6_lo 1 (both 0: the chip has no IPv6 address).
 * No globals, no printing, no system calls. */
#ifndef SPPSIM_NETIF_H
#define SPPSIM_NETIF_H

#include "params.h"
#include "sim_types.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters (netif_params documents each; unit "live"). */
typedef struct netif_cfg {
    uint64_t chip_mac;
    uint32_t chip_ip;
    uint64_t chip_ip6_hi;
    uint64_t chip_ip6_lo;
    uint32_t tick_us;     /* simulated time between two looks at the TAP (and pacing checks) */
    uint32_t rate_mbps;   /* the port's rate for frames from the TAP; 0: they arrive at once */
    uint32_t rx_loss_ppm; /* frames for the chip lost before the port, per million */
    uint64_t seed;        /* of the loss decisions; 0: chip.seed */
    uint32_t duration_s;  /* simulated seconds the run lasts; 0: until SIGINT or SIGTERM */
    uint32_t drain_ms;    /* after the end: simulated time the chip gets to settle */
    uint32_t max_pending; /* frames read and waiting for the port; beyond, the TAP is not read */
    uint32_t max_lag_ms;  /* lag beyond which simulated time gives the lag up (slips); 0: never */
} netif_cfg;

typedef enum netif_kind { NETIF_OTHER, NETIF_ARP, NETIF_ND, NETIF_CHIP } netif_kind;

/* The largest answer netif_answer writes (a neighbour advertisement: 86 bytes). */
#define NETIF_ANSWER_MAX 128

/* Counters of the live port (the glue keeps them; the table names them for the report). */
typedef struct netif_stats {
    uint64_t frames_from_tap; /* frames read from the TAP, all kinds */
    uint64_t bytes_from_tap;
    uint64_t frames_for_chip; /* of those, for the chip (before rx_loss) */
    uint64_t dropped_rx_loss; /* frames for the chip dropped by live.rx_loss_ppm */
    uint64_t arp_answered;    /* ARP requests for the chip's IPv4 address answered */
    uint64_t nd_answered;     /* neighbour solicitations for its IPv6 address answered */
    uint64_t ignored;         /* frames neither for the chip nor answered */
    uint64_t frames_to_tap;   /* frames the chip transmitted, written to the TAP */
    uint64_t bytes_to_tap;    /* their bytes */
    uint64_t write_errors;    /* writes to the TAP that failed (the frame is lost) */
    uint64_t read_pauses;     /* ticks the TAP was not read: max_pending frames waiting */
    uint64_t ticks;           /* looks at the TAP */
    uint64_t ticks_behind;    /* of those, with simulated time behind the wall clock */
    uint64_t idle_waits;      /* quiet spells spent waiting on the TAP instead of ticking */
    uint64_t slips;           /* ticks at which a lag beyond max_lag_ms was given up */
    uint64_t slipped_us;      /* the wall-clock time given up so, in all */
} netif_stats;

extern const param_table netif_params;
extern const stat_def netif_stat_defs[];
extern const size_t netif_stat_count;

void netif_cfg_default(netif_cfg *c);
/* The rules beyond each parameter's range: chip_mac unicast. Returns 0, or -1 with err naming
 * live.KEY. */
int netif_validate(const netif_cfg *c, sim_err *err);

/* What the port does with frame f of len bytes (see the top). */
netif_kind netif_classify(const netif_cfg *c, const uint8_t *f, uint32_t len);

/* The port's answer to f (an ARP or ND frame netif_classify accepted) into out (at least
 * NETIF_ANSWER_MAX bytes). Returns its length, or 0 when f is not a request the port answers. */
uint32_t netif_answer(const netif_cfg *c, const uint8_t *f, uint32_t len, uint8_t *out);

/* The loss decisions: a splitmix64 stream from seed. netif_lose consumes one number and says
 * whether the frame is lost (probability ppm / 1e6; 0 never, 1000000 always). */
typedef struct netif_rng {
    uint64_t s;
} netif_rng;
void netif_rng_init(netif_rng *r, uint64_t seed);
uint64_t netif_rng_next(netif_rng *r);
bool netif_lose(netif_rng *r, uint32_t ppm);

/* Picoseconds frame of len bytes takes on a port of rate_mbps (len + 4 FCS + 20 preamble and
 * gap, in bits, rounded up); 0 when rate_mbps is 0. */
uint64_t netif_wire_ps(uint32_t len, uint32_t rate_mbps);

/* The Internet checksum (RFC 1071) of len bytes, starting from the partial sum sum (0 at
 * first); netif_csum_fold gives the 16-bit one's complement result. */
uint32_t netif_csum_add(uint32_t sum, const uint8_t *p, uint32_t len);
uint16_t netif_csum_fold(uint32_t sum);

#ifdef __cplusplus
}
#endif
#endif

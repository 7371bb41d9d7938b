#include "flow_key.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

void flow_key_clear(flow_key *k) { memset(k, 0, sizeof *k); }

static uint64_t mix64(uint64_t x)
{
    /* splitmix64 finaliser: cheap and passes avalanche tests */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t flow_key_hash(const flow_key *k, uint64_t seed)
{
    uint64_t w[5]; /* everything before qp: addresses, ports, af, proto, padding */
    _Static_assert(offsetof(flow_key, qp) == sizeof w, "the words end where qp starts");
    _Static_assert(sizeof(flow_key) == sizeof w + sizeof(uint32_t), "qp is the last field");
    memcpy(w, k, sizeof w);
    uint64_t h = seed ^ 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 5; i++)
        h = mix64(h ^ w[i]);
    if (k->qp) /* keeps the hash of TCP and UDP keys as it was */
        h = mix64(h ^ k->qp);
    return h;
}

bool flow_key_is_roce(const flow_key *k)
{
    return k->af != 0 && k->proto == 17 && k->sport == 0 && k->dport == ROCE_UDP_PORT;
}

void flow_key_reverse(flow_key *out, const flow_key *in)
{
    flow_key t = *in;
    memcpy(t.src, in->dst, 16);
    memcpy(t.dst, in->src, 16);
    if (!flow_key_is_roce(in)) {
        t.sport = in->dport;
        t.dport = in->sport;
    }
    *out = t;
}

/* Writes an address into b (at least 48 bytes: the longest IPv6 form is 41 with brackets). */
static void fmt_addr(char *b, const uint8_t *a, int af)
{
    if (af != 6) {
        sprintf(b, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
        return;
    }
    uint16_t g[8];
    for (size_t i = 0; i < 8; i++)
        g[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
    int best = -1, bestlen = 1; /* RFC 5952: compress the longest run of two or more zeros */
    for (int i = 0; i < 8; i++) {
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > bestlen) {
            best = i;
            bestlen = j - i;
        }
    }
    char *p = b;
    *p++ = '[';
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            p += sprintf(p, "::");
            i += bestlen - 1;
            continue;
        }
        p += sprintf(p, "%s%x", (i > 0 && i != best + bestlen) ? ":" : "", g[i]);
    }
    *p++ = ']';
    *p = 0;
}

int flow_key_format(const flow_key *k, char *buf, size_t size)
{
    char s[64], d[64];
    fmt_addr(s, k->src, k->af);
    fmt_addr(d, k->dst, k->af);
    if (flow_key_is_roce(k))
        return snprintf(buf, size, "%s>%s/roce qp 0x%06x", s, d, (unsigned)k->qp);
    const char *p = k->proto == 6 ? "tcp" : k->proto == 17 ? "udp" : "ip";
    return snprintf(buf, size, "%s:%u>%s:%u/%s", s, k->sport, d, k->dport, p);
}

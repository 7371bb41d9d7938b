/* soak_gen: writes a long, valid TCP capture to standard output, fast, for the soak test
 * (scripts/soak, ctest soak.short): pipe it into `sppsim --trace -`, so that a capture of tens of
 * millions of packets (gigabytes) never has to be stored.
 *
 *   soak_gen PACKETS [CONCURRENT [SEGMENTS [PAYLOAD [GAP_NS]]]]
 *
 * Exactly PACKETS records (nanosecond pcap, Ethernet). CONCURRENT connections (default 64) run
 * side by side, one packet each in turn; each is the exchange of traces/tcp_basic.pcap: the
 * client's SYN, the server's SYN-ACK, the client's ACK, SEGMENTS (default 16) data segments of
 * PAYLOAD bytes (default 512) each acknowledged by the server, the client's FIN (on its last
 * segment), the server's FIN and the client's last ACK; then its slot starts a new connection
 * (a new client address, so no 5-tuple repeats within 16 M connections). Records are GAP_NS
 * (default 1000) apart. Checksums are correct; the output depends on the arguments only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ETH = 14, IP = 20, TCPH = 20, MAX_PAYLOAD = 1460 };
enum { F_FIN = 0x01, F_SYN = 0x02, F_PSH = 0x08, F_ACK = 0x10 };

typedef struct {
    uint32_t id;   /* connection number: the client's address */
    uint32_t step; /* next packet of the exchange */
    uint32_t cseq; /* client's next sequence number */
    uint32_t sseq; /* server's next sequence number */
} conn;

static unsigned segments = 16, payload = 512;
static uint8_t frame[ETH + IP + TCPH + MAX_PAYLOAD];

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Builds one segment into frame[]; returns its length. */
static size_t segment(const conn *c, int from_client, uint8_t flags, uint32_t seq, uint32_t ack,
                      unsigned len)
{
    uint8_t *e = frame, *ip = frame + ETH, *t = ip + IP;
    const uint8_t cmac[6] = {2, 0, 0, 0, 0, 1}, smac[6] = {2, 0, 0, 0, 0, 2};
    memcpy(e, from_client ? smac : cmac, 6);
    memcpy(e + 6, from_client ? cmac : smac, 6);
    put16(e + 12, 0x0800);
    uint8_t caddr[4] = {10, (uint8_t)(c->id >> 16), (uint8_t)(c->id >> 8), (uint8_t)c->id};
    const uint8_t saddr[4] = {198, 51, 100, 20};
    memset(ip, 0, IP);
    ip[0] = 0x45;
    put16(ip + 2, IP + TCPH + len);
    ip[6] = 0x40; /* DF */
    ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, from_client ? caddr : saddr, 4);
    memcpy(ip + 16, from_client ? saddr : caddr, 4);
    put16(ip + 10, fold(sum16(ip, IP, 0)));
    uint16_t cport = (uint16_t)(1024 + c->id % 60000);
    put16(t, from_client ? cport : 80);
    put16(t + 2, from_client ? 80 : cport);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 65535);
    put16(t + 16, 0);
    put16(t + 18, 0);
    for (unsigned i = 0; i < len; i++)
        t[TCPH + i] = (uint8_t)(c->id * 7u + seq + i);
    uint32_t s = sum16(ip + 12, 8, 0) + 6 + TCPH + len;
    put16(t + 16, fold(sum16(t, TCPH + len, s)));
    return ETH + IP + TCPH + len;
}

/* The next packet of connection c (and advances it); returns its length, 0 when c is done. */
static size_t next_packet(conn *c)
{
    uint32_t s = c->step++;
    if (s == 0)
        return segment(c, 1, F_SYN, c->cseq++, 0, 0);
    if (s == 1)
        return segment(c, 0, F_SYN | F_ACK, c->sseq++, c->cseq, 0);
    if (s == 2)
        return segment(c, 1, F_ACK, c->cseq, c->sseq, 0);
    s -= 3;
    if (s < 2 * segments) {
        unsigned k = s / 2;
        if (s % 2 == 0) {
            uint8_t fl = F_ACK | F_PSH | (k + 1 == segments ? F_FIN : 0);
            size_t n = segment(c, 1, fl, c->cseq, c->sseq, payload);
            c->cseq += payload + (k + 1 == segments ? 1 : 0);
            return n;
        }
        if (k + 1 == segments) /* the server's FIN, acknowledging the client's */
            return segment(c, 0, F_ACK | F_FIN, c->sseq++, c->cseq, 0);
        return segment(c, 0, F_ACK, c->sseq, c->cseq, 0);
    }
    if (s == 2 * segments)
        return segment(c, 1, F_ACK, c->cseq, c->sseq, 0);
    return 0;
}

static void start(conn *c, uint32_t id)
{
    c->id = id & 0xffffff;
    c->step = 0;
    c->cseq = 0x10000000u + id * 2654435761u;
    c->sseq = 0x80000000u + id * 40503u;
}

static unsigned long long arg(int argc, char **argv, int i, unsigned long long dflt,
                              unsigned long long lo, unsigned long long hi)
{
    if (i >= argc)
        return dflt;
    char *end = NULL;
    unsigned long long v = strtoull(argv[i], &end, 10);
    if (!*argv[i] || *end || v < lo || v > hi) {
        fprintf(stderr, "soak_gen: argument %d: '%s' is not a number in [%llu, %llu]\n", i, argv[i],
                lo, hi);
        exit(1);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 6) {
        fprintf(stderr, "usage: soak_gen PACKETS [CONCURRENT [SEGMENTS [PAYLOAD [GAP_NS]]]]\n");
        return 1;
    }
    unsigned long long total = arg(argc, argv, 1, 0, 1, 1ull << 40);
    unsigned conc = (unsigned)arg(argc, argv, 2, 64, 1, 65536);
    segments = (unsigned)arg(argc, argv, 3, 16, 1, 1000000);
    payload = (unsigned)arg(argc, argv, 4, 512, 1, MAX_PAYLOAD);
    unsigned long long gap = arg(argc, argv, 5, 1000, 1, 1000000000);

    static char buf[1 << 20];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    uint8_t gh[24];
    memset(gh, 0, sizeof gh);
    const uint32_t magic = 0xa1b23c4d; /* nanosecond timestamps; host byte order, as the records */
    memcpy(gh, &magic, 4);
    gh[4] = 2;
    gh[6] = 4;
    gh[16] = 0xff;
    gh[17] = 0xff; /* snaplen 65535 */
    gh[20] = 1;    /* Ethernet */
    fwrite(gh, 1, sizeof gh, stdout);

    conn *cs = calloc(conc, sizeof *cs);
    if (!cs)
        return 1;
    uint32_t next_id = 0;
    for (unsigned i = 0; i < conc; i++)
        start(&cs[i], next_id++);
    unsigned long long t = 1000000000ull; /* 1 s */
    for (unsigned long long n = 0, i = 0; n < total; i = (i + 1) % conc) {
        size_t len = next_packet(&cs[i]);
        if (!len) {
            start(&cs[i], next_id++);
            len = next_packet(&cs[i]);
        }
        uint32_t rh[4] = {(uint32_t)(t / 1000000000ull), (uint32_t)(t % 1000000000ull),
                          (uint32_t)len, (uint32_t)len};
        fwrite(rh, 1, sizeof rh, stdout);
        if (fwrite(frame, 1, len, stdout) != len)
            return 1; /* the reader went away */
        t += gap;
        n++;
    }
    free(cs);
    return fflush(stdout) == 0 ? 0 : 1;
}

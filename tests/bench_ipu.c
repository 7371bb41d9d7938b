/* bench_ipu: wall-clock speed of the IPU model. Builds a set of ~512-byte TCP/IPv4 frames over
 * Ethernet (a few templates, varied in ports and sequence numbers, with correct checksums),
 * then pushes N of them through ipu_push/ipu_advance/ipu_pop_out with a consumer that releases
 * each event's scratchpad handle, and separately times ipu_parse alone.
 *
 * usage: bench_ipu [N]   (default 2000000) */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipu.h"

#define FRAME_LEN 512u
#define NFRAMES 256u /* distinct frames cycled through: they stay in the cache, as a FIFO would */

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}
static void put32(uint8_t *b, uint32_t v)
{
    put16(b, (uint16_t)(v >> 16));
    put16(b + 2, (uint16_t)v);
}

/* Ethernet + IPv4 (20) + TCP with timestamps (32) + payload, FRAME_LEN bytes in all. */
static void build(uint8_t *f, unsigned tmpl, unsigned variant)
{
    memset(f, 0, FRAME_LEN);
    static const uint8_t mac[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    memcpy(f, mac, sizeof mac);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14, *t = ip + 20;
    const uint32_t l4len = FRAME_LEN - 14 - 20;
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + l4len));
    put16(ip + 4, (uint16_t)variant);
    put16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = 6;
    put32(ip + 12, 0x0a000001u + tmpl);       /* 10.0.0.1 + template */
    put32(ip + 16, 0xc0a80001u + tmpl * 256); /* 192.168.x.1 */
    put16(ip + 10, (uint16_t)~ipu_csum_fold(ipu_csum_add(0, ip, 20)));
    put16(t, (uint16_t)(40000 + variant));
    put16(t + 2, (uint16_t)(tmpl % 2 ? 443 : 80));
    put32(t + 4, 1000000u * tmpl + 1448u * variant);
    put32(t + 8, 77777u * variant);
    t[12] = 8 << 4; /* 32-byte header */
    t[13] = TCPF_ACK | TCPF_PSH;
    put16(t + 14, 501);
    const uint8_t opts[12] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
    memcpy(t + 20, opts, sizeof opts);
    for (uint32_t i = 32; i < l4len; i++)
        t[i] = (uint8_t)(i * 31 + variant);
    uint32_t ps = ipu_csum_add(0, ip + 12, 8) + 6 + l4len;
    put16(t + 16, (uint16_t)~ipu_csum_fold(ipu_csum_add(ps, t, l4len)));
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000u;
    if (n == 0) {
        fprintf(stderr, "bench_ipu: N must be a positive integer\n");
        return 2;
    }
    uint8_t *buf = malloc((size_t)NFRAMES * FRAME_LEN);
    pkt *frames = malloc(sizeof *frames * NFRAMES);
    if (!buf || !frames) {
        free(buf);
        free(frames);
        fprintf(stderr, "bench_ipu: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < NFRAMES; i++) {
        build(buf + (size_t)i * FRAME_LEN, i % 4, i / 4);
        frames[i] = (pkt){buf + (size_t)i * FRAME_LEN, FRAME_LEN, FRAME_LEN, LINK_ETHERNET, i, 0};
    }

    sim_err err;
    scratchpad sp;
    sp_cfg sc;
    sp_cfg_default(&sc);
    ipu u;
    ipu_cfg c;
    ipu_cfg_default(&c);
    if (sp_init(&sp, &sc, &err) || ipu_init(&u, &c, &sp, &err)) {
        fprintf(stderr, "bench_ipu: %s\n", err.msg);
        return 1;
    }

    /* ---- the whole model, saturated ---- */
    uint64_t sent = 0, got = 0;
    cycle_t now = 0;
    double t0 = wall();
    while (sent < n || !ipu_idle(&u)) {
        unsigned work = 0;
        while (sent < n && ipu_can_accept(&u)) {
            pkt p = frames[sent % NFRAMES];
            p.index = sent;
            ipu_push(&u, &p, now);
            sent++;
            work++;
        }
        work += ipu_advance(&u, now);
        for (const event *e; (e = ipu_front_out(&u));) {
            sp_release(&sp, e->sp_handle);
            ipu_pop_out(&u);
            got++;
            work++;
        }
        if (work)
            continue;
        cycle_t next = ipu_next_cycle(&u);
        if (next == CYCLE_NEVER) {
            fprintf(stderr, "bench_ipu: stuck at cycle %llu\n", (unsigned long long)now);
            return 1;
        }
        now = next;
    }
    double t1 = wall();
    if (u.st.processed != n || got != n || !sp_empty(&sp)) {
        fprintf(stderr, "bench_ipu: %llu frames processed, %llu events, expected %llu\n",
                (unsigned long long)u.st.processed, (unsigned long long)got, (unsigned long long)n);
        return 1;
    }
    printf("ipu_model: %llu frames in %.3f s = %.2f Mframes/s (%llu simulated cycles)\n",
           (unsigned long long)n, t1 - t0, (double)n / (t1 - t0) / 1e6, (unsigned long long)now);

    /* ---- the parser alone ---- */
    ipu_parse_out out;
    uint64_t acc = 0;
    t0 = wall();
    for (uint64_t i = 0; i < n; i++) {
        ipu_parse(&frames[i % NFRAMES], true, &out);
        acc += out.nev + out.ev.seq;
    }
    t1 = wall();
    printf("ipu_parse: %llu frames in %.3f s = %.2f Mframes/s (check %llu)\n",
           (unsigned long long)n, t1 - t0, (double)n / (t1 - t0) / 1e6, (unsigned long long)acc);

    ipu_fini(&u);
    sp_fini(&sp);
    free(frames);
    free(buf);
    return 0;
}

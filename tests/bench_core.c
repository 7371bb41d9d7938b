/* bench_core: wall-clock speed of the microcode engine, in retired instructions per second.
 *   loop       a counted loop of ALU ops and a branch (LOOP_ITERS iterations per event, the
 *              budget raised to fit), trace off
 *   loop+trace the same with a trace callback installed (it folds each record into a checksum)
 *   realistic  a ~40-instruction receive handler (ldev of several fields, workspace loads and
 *              stores, sequence compares, frame loads, a command, fin) over many events that
 *              vary in their sequence numbers, so that its branches go both ways
 * Cycle accounting is always on (it is part of the model); the trace is the only switch.
 *
 * Each figure is measured REPS times and printed as the best and the median run: the host is
 * shared, and a single run can be half as fast as the next.
 *
 * usage: bench_core [SCALE]   (default 1: per run 40 M loop instructions, 10 M traced, 400 k
 *                              handler events) */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"

#define LOOP_ITERS 1000000u
#define NFRAMES 64u /* distinct frames cycled through by the realistic handler */
#define REPS 5      /* runs of each measurement */

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A hand-built image: code only, no source map, one entry. */
typedef struct prog {
    uint64_t code[64];
    uint32_t n;
} prog;

static uint32_t emit(prog *p, unsigned op, unsigned dst, unsigned src, uint16_t off, uint32_t imm)
{
    p->code[p->n] = uc_encode(op, dst, src, off, imm);
    return p->n++;
}
/* patches the branch at pc to jump to the next instruction to be emitted */
static void land(prog *p, uint32_t pc)
{
    uint64_t w = p->code[pc];
    p->code[pc] = uc_encode(uc_op_of(w), uc_dst_of(w), uc_src_of(w), (uint16_t)p->n, uc_imm_of(w));
}

static void image_of(uc_image *img, prog *p, unsigned type)
{
    memset(img, 0, sizeof *img);
    img->code = p->code;
    img->ncode = p->n;
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        img->entry[t] = UC_NO_ENTRY;
    img->entry[type] = 0;
}

/* r1 counts down from iters; the body is four ALU ops and the loop branch. */
static void build_loop(prog *p, uint32_t iters)
{
    p->n = 0;
    emit(p, UC_MOV | UC_K, 1, 0, 0, iters);
    uint32_t top = emit(p, UC_ADD, 2, 1, 0, 0);
    emit(p, UC_XOR, 3, 2, 0, 0);
    emit(p, UC_ADD | UC_K, 4, 0, 0, 7);
    emit(p, UC_SUB | UC_K, 1, 0, 0, 1);
    emit(p, UC_JNE | UC_K, 1, 0, (uint16_t)top, 0);
    emit(p, UC_FIN, 0, 0, 0, 0);
}

/* Workspace layout of the realistic handler. */
enum {
    W_RCV_NXT = 0,
    W_SND_UNA = 4,
    W_SND_NXT = 8,
    W_WND = 12,
    W_WSCALE = 14,
    W_SND_WND = 16,
    W_SEGS = 20,
    W_BYTES = 24,
    W_DUP = 28,
    W_SIZE = 64
};

static void build_handler(prog *p)
{
    p->n = 0;
    const unsigned A = UC_ABS, K = UC_K;
    emit(p, UC_LDEV, 1, 0, 0, UC_EVF_SEQ);
    emit(p, UC_LDEV, 2, 0, 0, UC_EVF_ACK);
    emit(p, UC_LDEV, 3, 0, 0, UC_EVF_WIN);
    emit(p, UC_LDEV, 4, 0, 0, UC_EVF_FLAGS);
    emit(p, UC_LDEV, 5, 0, 0, UC_EVF_PAY_LEN);
    emit(p, UC_LDW | A, 6, 0, W_RCV_NXT, 0);
    emit(p, UC_LDW | A, 7, 0, W_SND_UNA, 0);
    emit(p, UC_LDW | A, 8, 0, W_SND_NXT, 0);
    uint32_t j_old = emit(p, UC_JSEQLT, 1, 6, 0, 0);   /* seq before rcv_nxt: old data */
    uint32_t j_bad = emit(p, UC_JSEQGT, 2, 8, 0, 0);   /* ack beyond snd_nxt */
    uint32_t j_noack = emit(p, UC_JSEQLE, 2, 7, 0, 0); /* no new data acked */
    emit(p, UC_STW | A, 0, 2, W_SND_UNA, 0);
    land(p, j_noack);
    emit(p, UC_MOV, 9, 1, 0, 0);
    emit(p, UC_ADD, 9, 5, 0, 0);
    uint32_t j_skip = emit(p, UC_JSEQLE, 9, 6, 0, 0);
    emit(p, UC_STW | A, 0, 9, W_RCV_NXT, 0);
    land(p, j_skip);
    emit(p, UC_LDB | A, 10, 0, W_WSCALE, 0);
    emit(p, UC_MOV, 11, 3, 0, 0);
    emit(p, UC_SHL, 11, 10, 0, 0);
    emit(p, UC_STW | A, 0, 11, W_SND_WND, 0);
    emit(p, UC_LDEV, 12, 0, 0, UC_EVF_L4_OFF);
    emit(p, UC_LDPH, 13, 12, 14, 0); /* the window again, from the frame */
    emit(p, UC_LDPB, 14, 12, 13, 0); /* the flags byte */
    emit(p, UC_AND | K, 14, 0, 0, 0x3f);
    emit(p, UC_LDW | A, 15, 0, W_SEGS, 0);
    emit(p, UC_ADD | K, 15, 0, 0, 1);
    emit(p, UC_STW | A, 0, 15, W_SEGS, 0);
    emit(p, UC_LDW | A, 15, 0, W_BYTES, 0);
    emit(p, UC_ADD, 15, 5, 0, 0);
    emit(p, UC_STW | A, 0, 15, W_BYTES, 0);
    uint32_t j_fin = emit(p, UC_JSET | K, 4, 0, 0, TCPF_FIN);
    /* acknowledge: tx_emit(template 0, seq snd_nxt, ack rcv_nxt, window, flags ACK) */
    emit(p, UC_LDW | A, 3, 0, W_RCV_NXT, 0);
    emit(p, UC_MOV, 2, 8, 0, 0);
    emit(p, UC_MOV | K, 1, 0, 0, 0);
    emit(p, UC_LDH | A, 4, 0, W_WND, 0);
    emit(p, UC_MOV | K, 5, 0, 0, TCPF_ACK);
    emit(p, UC_CMD, 0, 0, 0, UC_CMD_TX_EMIT);
    emit(p, UC_FIN, 0, 0, 0, 0);
    land(p, j_fin);
    emit(p, UC_MOV | K, 1, 0, 0, 1);
    emit(p, UC_CMD, 0, 0, 0, UC_CMD_EV_EMIT);
    emit(p, UC_FIN, 0, 0, 0, 0);
    land(p, j_old);
    land(p, j_bad);
    emit(p, UC_LDW | A, 15, 0, W_DUP, 0);
    emit(p, UC_ADD | K, 15, 0, 0, 1);
    emit(p, UC_STW | A, 0, 15, W_DUP, 0);
    emit(p, UC_MOV | K, 1, 0, 0, 0);
    emit(p, UC_CMD, 0, 0, 0, UC_CMD_TX_EMIT);
    emit(p, UC_FIN, 0, 0, 0, 0);
}

static void sum_trace(void *ctx, const core_trace_rec *r)
{
    *(uint64_t *)ctx += r->cycle ^ r->pc ^ r->wval;
}

/* Runs the loop image `events` times; returns the instructions retired per second. */
static double bench_loop(core *c, unsigned events, uint64_t *insns)
{
    uint8_t ws[16] = {0};
    event ev;
    event_clear(&ev);
    ev.type = EV_TCP_ACK;
    core_result res;
    *insns = 0;
    double t0 = wall();
    for (unsigned i = 0; i < events; i++) {
        if (core_run(c, &ev, ws, sizeof ws, NULL, 0, &res) != CORE_OK) {
            fprintf(stderr, "bench_core: loop faulted: %s at pc %u\n",
                    core_fault_name((unsigned)res.fault), res.pc);
            exit(1);
        }
        *insns += res.insns;
    }
    return (double)*insns / (wall() - t0);
}

/* The realistic handler's world: a workspace, a scratchpad of frames, an event. */
typedef struct rx_world {
    scratchpad sp;
    uint32_t handles[NFRAMES];
    uint8_t ws[W_SIZE];
} rx_world;

/* Runs the realistic handler over `events` events; returns the instructions retired per
 * second and the instructions and commands in *insns and *cmds. */
static double bench_handler(core *c, rx_world *w, uint64_t events, uint64_t *insns, uint64_t *cmds)
{
    memset(w->ws, 0, sizeof w->ws);
    w->ws[W_WND] = 0xff;
    w->ws[W_WSCALE] = 7;
    event ev;
    event_clear(&ev);
    ev.type = EV_TCP_DATA;
    ev.l4_off = 34;
    ev.frame_len = 128;
    ev.pay_len = 1448;
    ev.win = 501;
    core_result res;
    uint32_t seq = 1000, ack = 0;
    *insns = *cmds = 0;
    double t0 = wall();
    for (uint64_t i = 0; i < events; i++) {
        /* mostly in-order data; every 16th a retransmission, every 64th a FIN */
        ev.seq = i % 16 == 15 ? seq - 2896 : seq;
        ev.ack = ack;
        ev.tcp_flags = (uint8_t)(TCPF_ACK | (i % 64 == 63 ? TCPF_FIN : 0));
        ev.sp_handle = w->handles[i % NFRAMES];
        if (i % 16 != 15)
            seq += 1448;
        ack += (uint32_t)(i & 1) * 1000;
        for (unsigned b = 0; b < 4; b++) /* snd_nxt = ack, little-endian: never "bad" */
            w->ws[W_SND_NXT + b] = (uint8_t)(ack >> 8 * b);
        if (core_run(c, &ev, w->ws, sizeof w->ws, &w->sp, i * 100, &res) != CORE_OK) {
            fprintf(stderr, "bench_core: handler faulted: %s at pc %u\n",
                    core_fault_name((unsigned)res.fault), res.pc);
            exit(1);
        }
        *insns += res.insns;
        *cmds += res.ncmds;
    }
    return (double)*insns / (wall() - t0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Prints the best and the median of REPS figures (the host is shared: runs vary). */
static void report(const char *name, double *ips, const char *what)
{
    qsort(ips, REPS, sizeof *ips, cmp_double);
    printf("%-11s best %6.1f, median %6.1f M instructions/s  (%s)\n", name, ips[REPS - 1] / 1e6,
           ips[REPS / 2] / 1e6, what);
}

int main(int argc, char **argv)
{
    unsigned scale = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1u;
    if (scale == 0) {
        fprintf(stderr, "bench_core: SCALE must be a positive integer\n");
        return 2;
    }
    sim_err err;
    core_cfg cfg;
    core_cfg_default(&cfg);
    cfg.max_cycles = 1000000000u;
    char what[160];
    double ips[REPS];
    uint64_t insns = 0, cmds = 0;

    /* ---- the loop, trace off and on ---- */
    prog lp;
    build_loop(&lp, LOOP_ITERS);
    uc_image limg;
    image_of(&limg, &lp, EV_TCP_ACK);
    core c;
    if (core_init(&c, &cfg, &limg, &err)) {
        fprintf(stderr, "bench_core: %s\n", err.msg);
        return 1;
    }
    for (unsigned r = 0; r < REPS; r++)
        ips[r] = bench_loop(&c, 8 * scale, &insns);
    snprintf(what, sizeof what, "%llu per run, trace off", (unsigned long long)insns);
    report("loop:", ips, what);
    uint64_t check = 0;
    core_set_trace(&c, sum_trace, &check);
    for (unsigned r = 0; r < REPS; r++)
        ips[r] = bench_loop(&c, 2 * scale, &insns);
    snprintf(what, sizeof what, "%llu per run, trace callback; check %llu",
             (unsigned long long)insns, (unsigned long long)check);
    report("loop+trace:", ips, what);
    core_fini(&c);

    /* ---- the realistic handler over many events ---- */
    prog hp;
    build_handler(&hp);
    uc_image himg;
    image_of(&himg, &hp, EV_TCP_DATA);
    core_cfg_default(&cfg);
    static rx_world w;
    sp_cfg sc;
    sp_cfg_default(&sc);
    if (core_init(&c, &cfg, &himg, &err) || sp_init(&w.sp, &sc, &err)) {
        fprintf(stderr, "bench_core: %s\n", err.msg);
        return 1;
    }
    for (unsigned i = 0; i < NFRAMES; i++) {
        uint8_t f[128];
        for (unsigned j = 0; j < sizeof f; j++)
            f[j] = (uint8_t)(i * 7 + j);
        w.handles[i] = sp_alloc(&w.sp, f, sizeof f, 1);
    }
    uint64_t events = 400000ull * scale;
    double t = 0;
    for (unsigned r = 0; r < REPS; r++) {
        double t0 = wall();
        ips[r] = bench_handler(&c, &w, events, &insns, &cmds);
        t += wall() - t0;
    }
    snprintf(what, sizeof what, "%.1f per event, %llu commands per run, %.2f M events/s overall",
             (double)insns / (double)events, (unsigned long long)cmds,
             (double)events * REPS / t / 1e6);
    report("realistic:", ips, what);

    for (unsigned i = 0; i < NFRAMES; i++)
        sp_release(&w.sp, w.handles[i]);
    core_fini(&c);
    sp_fini(&w.sp);
    return 0;
}

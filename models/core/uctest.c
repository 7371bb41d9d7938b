/* uctest: runs microcode test files (microcode/tests/NAME.uct; format in docs/isa.md).
 * Usage: uctest FILE.uct...  Prints one line per failure ("FILE:LINE: test NAME: expected ...,
 * got ... (ended at SOURCE:LINE: TEXT)") and a summary line; exits 0 when every test passed,
 * 1 when one failed, 2 when a file could not be read or has a bad line. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MAX_WORDS 16
#define MAX_FRAME 65536

typedef struct runner {
    const char *file;
    unsigned line;
    uch h;
    bool have_prog;
    core_cfg cfg;
    char test[64];
    bool ran;
    bool failed_this;
    unsigned tests, failed;
    uint8_t frame[MAX_FRAME];
    uint32_t frame_len;
} runner;

static int split(char *s, char **w)
{
    int n = 0;
    for (char *p = strtok(s, " \t\r\n"); p && n < MAX_WORDS; p = strtok(NULL, " \t\r\n")) {
        if (*p == '#' || *p == ';')
            break;
        w[n++] = p;
    }
    return n;
}

static int bad(runner *r, const char *msg, const char *what)
{
    fprintf(stderr, "uctest: %s:%u: %s%s%s\n", r->file, r->line, msg, what ? ": " : "",
            what ? what : "");
    return -1;
}

static void fail(runner *r, const char *fmt, unsigned long long want, unsigned long long got,
                 const char *what)
{
    char where[256];
    uch_where(&r->h, where, sizeof where);
    printf("%s:%u: test %s: expected %s%s", r->file, r->line, r->test, fmt, what ? what : "");
    printf(" = %llu, got %llu (ended at %s)\n", want, got, where);
    r->failed_this = true;
}

static int num(runner *r, const char *s, uint32_t *v)
{
    return uch_parse_u32(s, v) ? bad(r, "not a 32-bit number", s) : 0;
}

static void end_test(runner *r)
{
    if (!r->test[0])
        return;
    r->tests++;
    if (r->failed_this || !r->ran) {
        if (!r->ran)
            printf("%s:%u: test %s: no 'run' line\n", r->file, r->line, r->test);
        r->failed++;
    }
    r->test[0] = 0;
}

static int expect(runner *r, char **w, int n)
{
    const core_result *res = &r->h.res;
    if (!r->ran)
        return bad(r, "'expect' before 'run'", NULL);
    sim_err err;
    uint32_t v = 0;
    if (n == 3 && !strcmp(w[1], "fault")) {
        const char *got = core_fault_name((unsigned)res->fault);
        if (strcmp(got, w[2]) != 0) {
            char where[256];
            uch_where(&r->h, where, sizeof where);
            printf("%s:%u: test %s: expected fault %s, got %s (ended at %s)\n", r->file, r->line,
                   r->test, w[2], got, where);
            r->failed_this = true;
        }
        return 0;
    }
    if (n == 4 && !strcmp(w[1], "ws")) {
        uint32_t got = 0;
        if (num(r, w[3], &v))
            return -1;
        if (uch_ws_get(&r->h, w[2], &got, &err))
            return bad(r, err.msg, NULL);
        if (got != v)
            fail(r, "ws ", v, got, w[2]);
        return 0;
    }
    if (n == 4 && !strcmp(w[1], "reg")) {
        unsigned reg = 0;
        if (sscanf(w[2], "r%u", &reg) != 1 || reg >= UC_NREGS)
            return bad(r, "not a register", w[2]);
        if (num(r, w[3], &v))
            return -1;
        if (res->regs[reg] != v)
            fail(r, "reg ", v, res->regs[reg], w[2]);
        return 0;
    }
    if (n == 3 && (!strcmp(w[1], "cycles") || !strcmp(w[1], "insns") || !strcmp(w[1], "cmds"))) {
        if (num(r, w[2], &v))
            return -1;
        unsigned long long got = !strcmp(w[1], "cycles")  ? res->end - res->start
                                 : !strcmp(w[1], "insns") ? res->insns
                                                          : res->ncmds;
        if (got != v)
            fail(r, w[1], v, got, NULL);
        return 0;
    }
    if (n >= 4 && !strcmp(w[1], "cmd")) {
        uint32_t idx = 0;
        if (num(r, w[2], &idx))
            return -1;
        if (idx >= res->ncmds) {
            fail(r, "a command at index ", idx, res->ncmds, " (commands issued)");
            return 0;
        }
        const core_cmd_rec *c = &res->cmds[idx];
        if (strcmp(uc_cmd_name(c->cmd), w[3]) != 0) {
            printf("%s:%u: test %s: expected cmd %u to be %s, got %s\n", r->file, r->line, r->test,
                   idx, w[3], uc_cmd_name(c->cmd));
            r->failed_this = true;
            return 0;
        }
        for (int i = 4; i < n && i < 9; i++) {
            if (num(r, w[i], &v))
                return -1;
            if (c->arg[i - 4] != v) {
                char what[32];
                snprintf(what, sizeof what, " argument r%d", i - 3);
                fail(r, "cmd", v, c->arg[i - 4], what);
            }
        }
        return 0;
    }
    return bad(r, "unknown expectation (fault, ws, reg, cycles, insns, cmds, cmd)", w[1]);
}

static int line(runner *r, char *s, const char *dir)
{
    char *w[MAX_WORDS];
    int n = split(s, w);
    if (n == 0)
        return 0;
    sim_err err;
    uint32_t v = 0;
    if (!strcmp(w[0], "program") && n == 2) {
        char path[4096];
        snprintf(path, sizeof path, "%s%s", w[1][0] == '/' ? "" : dir, w[1]);
        if (r->have_prog)
            uch_free(&r->h);
        r->have_prog = false;
        if (uch_load(&r->h, path, &r->cfg, &err))
            return bad(r, err.msg, NULL);
        r->have_prog = true;
        return 0;
    }
    if (!strcmp(w[0], "config") && n == 3) {
        if (r->have_prog)
            return bad(r, "'config' must come before 'program'", NULL);
        if (param_set(&core_params, &r->cfg, w[1], w[2], &err))
            return bad(r, err.msg, NULL);
        return 0;
    }
    if (!strcmp(w[0], "test") && n >= 2) {
        if (!r->have_prog)
            return bad(r, "'test' before 'program'", NULL);
        end_test(r);
        snprintf(r->test, sizeof r->test, "%s", w[1]);
        r->ran = r->failed_this = false;
        r->frame_len = 0;
        uch_reset(&r->h);
        return 0;
    }
    if (!r->test[0])
        return bad(r, "expected 'program', 'config' or 'test'", w[0]);
    if (!strcmp(w[0], "event") && n == 3) {
        if (uch_event_set(&r->h, w[1], w[2], &err))
            return bad(r, err.msg, NULL);
        return 0;
    }
    if (!strcmp(w[0], "ws") && n == 3) {
        if (num(r, w[2], &v))
            return -1;
        if (uch_ws_set(&r->h, w[1], v, &err))
            return bad(r, err.msg, NULL);
        return 0;
    }
    if (!strcmp(w[0], "frame")) {
        for (int i = 1; i < n; i++) {
            char *end;
            unsigned long b = strtoul(w[i], &end, 16);
            if (*end || b > 255 || !isxdigit((unsigned char)w[i][0]))
                return bad(r, "not a hex byte", w[i]);
            if (r->frame_len == MAX_FRAME)
                return bad(r, "frame longer than 65536 bytes", NULL);
            r->frame[r->frame_len++] = (uint8_t)b;
        }
        return 0;
    }
    if (!strcmp(w[0], "answer") && n == 3) {
        if (num(r, w[2], &v))
            return -1;
        if (uch_answer(&r->h, w[1], v, &err))
            return bad(r, err.msg, NULL);
        return 0;
    }
    if (!strcmp(w[0], "at") && n == 2) { /* the next runs start at this time, in microseconds */
        if (num(r, w[1], &v))
            return -1;
        r->h.start = (cycle_t)v * r->h.cfg.clock_mhz;
        return 0;
    }
    if (!strcmp(w[0], "run") && n == 1) {
        if (r->frame_len && uch_set_frame(&r->h, r->frame, r->frame_len, &err))
            return bad(r, err.msg, NULL);
        uch_run(&r->h);
        r->ran = true;
        return 0;
    }
    if (!strcmp(w[0], "expect") && n >= 2)
        return expect(r, w, n);
    return bad(r, "unknown line (program, config, test, event, ws, frame, answer, at, run, expect)",
               w[0]);
}

static int run_file(runner *r, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "uctest: %s: cannot open\n", path);
        return -1;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = 0;
    else
        dir[0] = 0;
    r->file = path;
    r->line = 0;
    char buf[4096];
    int rc = 0;
    while (fgets(buf, sizeof buf, f)) {
        r->line++;
        if (line(r, buf, dir)) {
            rc = -1;
            break;
        }
    }
    fclose(f);
    end_test(r);
    if (r->have_prog)
        uch_free(&r->h);
    r->have_prog = false;
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: uctest FILE.uct...\n");
        return 2;
    }
    static runner r;
    int status = 0;
    unsigned tests = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        memset(&r, 0, sizeof r);
        core_cfg_default(&r.cfg);
        if (run_file(&r, argv[i]))
            status = 2;
        tests += r.tests;
        failed += r.failed;
    }
    printf("uctest: %u passed, %u failed\n", tests - failed, failed);
    return status ? status : failed ? 1 : 0;
}

/* fuzz_asm: the microcode assembler (models/core/asm.c) on arbitrary source, then the core's
 * loader on what it accepts. Runs in a scratch directory holding two include files, inc.uc (a
 * few valid statements) and self.uc (which includes itself).
 * Checks:
 *  - a failed assembly fills err and leaves the image zeroed;
 *  - an accepted image is consistent: code, source map and entries inside the code, portions
 *    and fields inside the workspace record, file indices inside the file table;
 *  - core_init either loads it or fails with a message, and loads every non-empty image
 *    (the assembler must not accept what the core rejects);
 *  - a loaded image runs each handler to an end (fin or a fault, within the cycle budget);
 *  - the image survives uc_image_write/uc_image_read, and its disassembly (sppasm -d)
 *    reassembles to the same code, entries and layout; listing and disassembly do not crash. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asm.h"
#include "core.h"
#include "fuzz_check.h"
#include "scratchpad.h"

static FILE *devnull;
static scratchpad sp;
static uint32_t frame;

static void put_file(const char *name, const char *text)
{
    FILE *f = fopen(name, "w");
    FZ_CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* the inputs and corpus directories named on the command line, made absolute before the
     * chdir below (libFuzzer reads its arguments after this returns) */
    for (int i = 1; i < *argc; i++) {
        char *abs = (*argv)[i][0] != '-' ? realpath((*argv)[i], NULL) : NULL;
        if (abs)
            (*argv)[i] = abs; /* lives as long as the process */
    }
    char tmpl[] = "/tmp/fuzz_asm.XXXXXX";
    FZ_CHECK(mkdtemp(tmpl) && chdir(tmpl) == 0);
    put_file("inc.uc", ".const INC_K = 7\n.portion incp 16\n.field x 4\nincl: mov r1, INC_K\n"
                       "        fin\n");
    put_file("self.uc", ".include \"self.uc\"\n");
    devnull = fopen("/dev/null", "w");
    FZ_CHECK(devnull);
    sp_cfg sc;
    sp_cfg_default(&sc);
    sim_err err;
    FZ_CHECK(sp_init(&sp, &sc, &err) == 0);
    uint8_t bytes[64];
    for (unsigned i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(i * 37 + 1);
    frame = sp_alloc(&sp, bytes, sizeof bytes, 1);
    FZ_CHECK(frame != SP_NONE);
    return 0;
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void check_image(const uc_image *img)
{
    FZ_CHECK(img->ncode <= UC_MAX_CODE);
    FZ_CHECK(img->nfiles >= 1 && img->nfiles <= UC_MAX_FILES && img->files && img->files[0]);
    FZ_CHECK(img->ncode == 0 || (img->code && img->line && img->file && img->text));
    for (uint32_t pc = 0; pc < img->ncode; pc++) {
        FZ_CHECK(img->file[pc] < img->nfiles);
        FZ_CHECK(img->line[pc] >= 1);
    }
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        FZ_CHECK(img->entry[t] == UC_NO_ENTRY || img->entry[t] < img->ncode);
    FZ_CHECK(img->nportions <= UC_MAX_PORTIONS && img->ws_size <= UC_MAX_WS);
    uint32_t at = 0;
    for (uint32_t i = 0; i < img->nportions; i++) {
        FZ_CHECK(img->portions[i].off == at);
        at += img->portions[i].size;
        FZ_CHECK(at <= img->ws_size);
    }
    for (unsigned c = 0; c < EVC_COUNT; c++)
        FZ_CHECK(img->nportions >= 8 || (img->class_portions[c] >> img->nportions) == 0);
    FZ_CHECK(img->nsyms <= UC_MAX_SYMS);
    for (uint32_t i = 0; i < img->nsyms; i++) {
        const uc_symbol *s = &img->syms[i];
        FZ_CHECK(memchr(s->name, 0, sizeof s->name) != NULL);
        switch (s->kind) {
        case UC_SYM_LABEL:
            FZ_CHECK(s->value <= img->ncode);
            break;
        case UC_SYM_FIELD:
            FZ_CHECK((uint64_t)s->value + s->size <= img->ws_size);
            break;
        case UC_SYM_PORTION:
            FZ_CHECK(s->value < img->nportions);
            break;
        case UC_SYM_CONST:
            break;
        default:
            FZ_CHECK(!"unknown symbol kind");
        }
    }
}

static void check_same(const uc_image *a, const uc_image *b, int symbols)
{
    FZ_CHECK(a->ncode == b->ncode);
    FZ_CHECK(a->ncode == 0 || memcmp(a->code, b->code, a->ncode * sizeof *a->code) == 0);
    FZ_CHECK(memcmp(a->entry, b->entry, sizeof a->entry) == 0);
    FZ_CHECK(a->ws_size == b->ws_size && a->nportions == b->nportions);
    FZ_CHECK(memcmp(a->portions, b->portions, sizeof a->portions) == 0);
    FZ_CHECK(memcmp(a->class_portions, b->class_portions, sizeof a->class_portions) == 0);
    FZ_CHECK(strcmp(a->protocol, b->protocol) == 0);
    if (symbols)
        FZ_CHECK(a->nsyms == b->nsyms);
}

static void run_handlers(const uc_image *img)
{
    core_cfg cfg;
    core_cfg_default(&cfg);
    cfg.max_cycles = 5000; /* keeps each input fast; the budget fault still ends every loop */
    core c;
    memset(&c, 0, sizeof c);
    sim_err err;
    memset(&err, 0, sizeof err);
    int rc = core_init(&c, &cfg, img, &err);
    if (rc != 0) {
        FZ_CHECK(rc == -1 && err.msg[0] != '\0' && c.code == NULL);
        FZ_CHECK(img->ncode == 0); /* the assembler accepted it: the core must load it */
        core_fini(&c);
        return;
    }
    uint32_t ws_len = img->ws_size < 4 ? 4 : img->ws_size;
    uint8_t *ws = calloc(ws_len, 1);
    FZ_CHECK(ws);
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++) {
        event ev;
        event_clear(&ev);
        ev.type = (uint8_t)t;
        ev.cls = (uint8_t)ev_class_of(t);
        ev.sp_handle = frame;
        ev.frame_len = 64;
        ev.l3_off = 14;
        ev.l4_off = 34;
        ev.pay_off = 54;
        ev.pay_len = 10;
        core_result res;
        memset(&res, 0, sizeof res);
        int f = core_run(&c, &ev, ws, ws_len, &sp, 100, &res);
        FZ_CHECK(f == res.fault && f >= 0 && f < CORE_FAULT_COUNT);
        FZ_CHECK(res.start == 100 && res.end >= res.start && res.end - res.start <= cfg.max_cycles);
        FZ_CHECK(res.ncmds <= CORE_MAX_CMDS);
        if (img->entry[t] == UC_NO_ENTRY)
            FZ_CHECK(f == CORE_FAULT_NO_ENTRY);
        else
            FZ_CHECK(f != CORE_FAULT_NO_ENTRY && res.pc < img->ncode);
    }
    free(ws);
    core_fini(&c);
}

static void round_trips(const uc_image *img)
{
    /* binary image file */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    FZ_CHECK(f);
    sim_err err;
    FZ_CHECK(uc_image_write(img, f, &err) == 0);
    FZ_CHECK(fclose(f) == 0);
    f = fmemopen(buf, len, "rb");
    FZ_CHECK(f);
    uc_image back;
    memset(&back, 0, sizeof back);
    FZ_CHECK(uc_image_read(&back, f, "mem", &err) == 0);
    fclose(f);
    free(buf);
    check_same(img, &back, 1);
    uc_image_free(&back);

    /* disassembly -> source -> the same program */
    buf = NULL;
    len = 0;
    f = open_memstream(&buf, &len);
    FZ_CHECK(f);
    uc_write_disassembly(img, f);
    FZ_CHECK(fclose(f) == 0);
    uc_image again;
    memset(&again, 0, sizeof again);
    if (uc_assemble_string("disassembly", buf, &again, &err) != 0) {
        fprintf(stderr, "disassembly does not reassemble: %s\n---\n%s---\n", err.msg, buf);
        FZ_CHECK(!"the disassembly reassembles");
    }
    free(buf);
    check_same(img, &again, 0);
    uc_image_free(&again);

    uc_write_listing(img, devnull);
    char small[12], big[256];
    for (uint32_t pc = 0; pc <= img->ncode; pc++) {
        uc_disassemble(img, pc, small, sizeof small);
        uc_disassemble(img, pc, big, sizeof big);
        FZ_CHECK(strlen(small) < sizeof small && strlen(big) < sizeof big);
        uc_image_where(img, pc, true, big, sizeof big);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = malloc(size + 1);
    FZ_CHECK(src);
    memcpy(src, data, size);
    src[size] = '\0';
    uc_image img;
    memset(&img, 0x5a, sizeof img); /* assembly overwrites whatever the image held */
    sim_err err;
    memset(&err, 0, sizeof err);
    int rc = uc_assemble_string("fuzz.uc", src, &img, &err);
    free(src);
    if (rc != 0) {
        FZ_CHECK(rc == -1 && err.msg[0] != '\0');
        FZ_CHECK(all_zero(&img, sizeof img));
        return 0;
    }
    check_image(&img);
    run_handlers(&img);
    round_trips(&img);
    uc_image_free(&img);
    FZ_CHECK(all_zero(&img, sizeof img));
    return 0;
}

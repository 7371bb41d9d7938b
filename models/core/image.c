/* image: the assembled program's life after the assembler: freeing, the "SPPUCIMG" v2 file
 * format, symbol look-up.
 *
 * File format, every integer little-endian, every string a u32 byte count then the bytes (no
 * NUL):
 *
 *     "SPPUCIMG"  u32 version (2)
 *     u32 ncode, nfiles, nsyms, nportions, ws_size, ntypes (EV_TYPE_COUNT), nclasses (EVC_COUNT)
 *     str protocol
 *     u32 entry[ntypes]            u8 class_portions[nclasses]
 *     ntypes x (u8 type_needs, u8 type_portions)
 *     nportions x (str name, u32 off, u32 size)
 *     nfiles x str
 *     ncode x (u64 word, u32 line, u16 file, str text)
 *     nsyms x (str name, u32 value, u32 size, u8 kind)
 *     u32 CRC-32 (IEEE) of every byte before it
 *
 * The reader trusts nothing: every count and length is checked against the UC_MAX_* limits
 * before use, arrays grow only as their elements actually arrive (a 40-byte file claiming a
 * million symbols allocates nothing large), and the checksum catches flipped bytes. */
#include "image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define IMG_MAGIC "SPPUCIMG"
#define IMG_VERSION 2u

uint8_t uc_image_portions(const uc_image *img, unsigned type, unsigned cls)
{
    if (type < EV_TYPE_COUNT && img->type_needs[type])
        return img->type_portions[type];
    return cls < EVC_COUNT ? img->class_portions[cls] : 0;
}

void uc_image_free(uc_image *img)
{
    if (img->text)
        for (uint32_t i = 0; i < img->ncode; i++)
            free(img->text[i]);
    if (img->files)
        for (uint32_t i = 0; i < img->nfiles; i++)
            free(img->files[i]);
    free(img->code);
    free(img->line);
    free(img->file);
    free(img->text);
    free(img->files);
    free(img->syms);
    memset(img, 0, sizeof *img);
}

const uc_symbol *uc_image_find(const uc_image *img, const char *name)
{
    for (uint32_t i = 0; i < img->nsyms; i++)
        if (strcmp(img->syms[i].name, name) == 0)
            return &img->syms[i];
    return NULL;
}

/* CRC-32 (IEEE 802.3, reflected, as zlib computes it), bitwise: images are small. */
static uint32_t crc_update(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *b = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= b[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* ---- writing ---- */

typedef struct wr {
    FILE *f;
    uint32_t crc;
} wr;

static void put_bytes(wr *w, const void *p, size_t n)
{
    if (n == 0)
        return;
    fwrite(p, 1, n, w->f);
    w->crc = crc_update(w->crc, p, n);
}
static void put_u8(wr *w, uint8_t v) { put_bytes(w, &v, 1); }
static void put_u16(wr *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    put_bytes(w, b, 2);
}
static void put_u32(wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put_bytes(w, b, 4);
}
static void put_u64(wr *w, uint64_t v)
{
    put_u32(w, (uint32_t)v);
    put_u32(w, (uint32_t)(v >> 32));
}
static void put_str(wr *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    put_u32(w, (uint32_t)n);
    put_bytes(w, s, n);
}

int uc_image_write(const uc_image *img, FILE *f, sim_err *err)
{
    if (img->ncode > UC_MAX_CODE || img->nfiles > UC_MAX_FILES || img->nsyms > UC_MAX_SYMS ||
        img->nportions > UC_MAX_PORTIONS)
        return sim_err_set(err, "image: too large to write (%u instructions, %u files, %u symbols)",
                           img->ncode, img->nfiles, img->nsyms);
    wr w = {f, 0};
    put_bytes(&w, IMG_MAGIC, 8);
    put_u32(&w, IMG_VERSION);
    put_u32(&w, img->ncode);
    put_u32(&w, img->nfiles);
    put_u32(&w, img->nsyms);
    put_u32(&w, img->nportions);
    put_u32(&w, img->ws_size);
    put_u32(&w, EV_TYPE_COUNT);
    put_u32(&w, EVC_COUNT);
    put_str(&w, img->protocol);
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        put_u32(&w, img->entry[t]);
    for (unsigned c = 0; c < EVC_COUNT; c++)
        put_u8(&w, img->class_portions[c]);
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++) {
        put_u8(&w, img->type_needs[t]);
        put_u8(&w, img->type_portions[t]);
    }
    for (uint32_t i = 0; i < img->nportions; i++) {
        put_str(&w, img->portions[i].name);
        put_u32(&w, img->portions[i].off);
        put_u32(&w, img->portions[i].size);
    }
    for (uint32_t i = 0; i < img->nfiles; i++)
        put_str(&w, img->files[i]);
    for (uint32_t i = 0; i < img->ncode; i++) {
        put_u64(&w, img->code[i]);
        put_u32(&w, img->line ? img->line[i] : 0);
        put_u16(&w, img->file ? img->file[i] : 0);
        put_str(&w, img->text ? img->text[i] : NULL);
    }
    for (uint32_t i = 0; i < img->nsyms; i++) {
        put_str(&w, img->syms[i].name);
        put_u32(&w, img->syms[i].value);
        put_u32(&w, img->syms[i].size);
        put_u8(&w, img->syms[i].kind);
    }
    put_u32(&w, w.crc);
    if (fflush(f) != 0 || ferror(f))
        return sim_err_set(err, "image: write failed: %s", strerror(errno));
    return 0;
}

/* ---- reading ---- */

typedef struct rd {
    FILE *f;
    const char *name;
    sim_err *err;
    uint32_t crc;
} rd;

static int get_bytes(rd *r, void *p, size_t n, const char *what)
{
    if (n == 0)
        return 0;
    if (fread(p, 1, n, r->f) != n) {
        if (ferror(r->f))
            return sim_err_set(r->err, "%s: read error in %s: %s", r->name, what, strerror(errno));
        return sim_err_set(r->err, "%s: truncated (the file ends inside %s)", r->name, what);
    }
    r->crc = crc_update(r->crc, p, n);
    return 0;
}
static int get_u8(rd *r, uint8_t *v, const char *what) { return get_bytes(r, v, 1, what); }
static int get_u16(rd *r, uint16_t *v, const char *what)
{
    uint8_t b[2];
    if (get_bytes(r, b, 2, what))
        return -1;
    *v = (uint16_t)(b[0] | b[1] << 8);
    return 0;
}
static int get_u32(rd *r, uint32_t *v, const char *what)
{
    uint8_t b[4];
    if (get_bytes(r, b, 4, what))
        return -1;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}
static int get_u64(rd *r, uint64_t *v, const char *what)
{
    uint32_t lo, hi;
    if (get_u32(r, &lo, what) || get_u32(r, &hi, what))
        return -1;
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}
/* A string of at most max bytes into a fresh NUL-terminated buffer (*out, caller frees). */
static int get_str(rd *r, char **out, uint32_t max, const char *what)
{
    uint32_t n;
    *out = NULL;
    if (get_u32(r, &n, what))
        return -1;
    if (n > max)
        return sim_err_set(r->err, "%s: corrupt (%s is %u bytes long, at most %u)", r->name, what,
                           n, max);
    char *s = malloc((size_t)n + 1);
    if (!s)
        return sim_err_set(r->err, "%s: out of memory", r->name);
    if (get_bytes(r, s, n, what)) {
        free(s);
        return -1;
    }
    s[n] = '\0';
    if (strlen(s) != n) {
        free(s);
        return sim_err_set(r->err, "%s: corrupt (NUL byte inside %s)", r->name, what);
    }
    *out = s;
    return 0;
}
/* A name into a fixed UC_NAME_MAX buffer. */
static int get_name(rd *r, char *dst, const char *what)
{
    char *s = NULL;
    if (get_str(r, &s, UC_NAME_MAX - 1, what) || !s)
        return -1;
    memcpy(dst, s, strlen(s) + 1);
    free(s);
    return 0;
}

/* Grows *p (elements of size elem) so that index i fits; capacity doubles. */
static int grow(void **p, uint32_t *cap, uint32_t i, size_t elem)
{
    if (i < *cap)
        return 0;
    uint32_t n = *cap ? *cap * 2 : 64;
    while (n <= i)
        n *= 2;
    void *q = realloc(*p, (size_t)n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int read_body(rd *r, uc_image *img)
{
    char magic[8];
    uint32_t version, ncode, nfiles, nsyms, nportions, ntypes, nclasses;
    if (get_bytes(r, magic, 8, "the header"))
        return -1;
    if (memcmp(magic, IMG_MAGIC, 8) != 0)
        return sim_err_set(r->err, "%s: not a microcode image (bad magic)", r->name);
    if (get_u32(r, &version, "the header"))
        return -1;
    if (version != IMG_VERSION)
        return sim_err_set(r->err, "%s: image version %u, this build reads version %u", r->name,
                           version, IMG_VERSION);
    if (get_u32(r, &ncode, "the header") || get_u32(r, &nfiles, "the header") ||
        get_u32(r, &nsyms, "the header") || get_u32(r, &nportions, "the header") ||
        get_u32(r, &img->ws_size, "the header") || get_u32(r, &ntypes, "the header") ||
        get_u32(r, &nclasses, "the header"))
        return -1;
    if (ncode > UC_MAX_CODE)
        return sim_err_set(r->err, "%s: corrupt (%u instructions, at most %u)", r->name, ncode,
                           UC_MAX_CODE);
    if (nfiles > UC_MAX_FILES)
        return sim_err_set(r->err, "%s: corrupt (%u source files, at most %u)", r->name, nfiles,
                           UC_MAX_FILES);
    if (ncode > 0 && nfiles == 0)
        return sim_err_set(r->err, "%s: corrupt (%u instructions but no source file)", r->name,
                           ncode);
    if (nsyms > UC_MAX_SYMS)
        return sim_err_set(r->err, "%s: corrupt (%u symbols, at most %u)", r->name, nsyms,
                           UC_MAX_SYMS);
    if (nportions > UC_MAX_PORTIONS)
        return sim_err_set(r->err, "%s: corrupt (%u portions, at most %u)", r->name, nportions,
                           UC_MAX_PORTIONS);
    if (img->ws_size > UC_MAX_WS)
        return sim_err_set(r->err, "%s: corrupt (workspace of %u bytes, at most %u)", r->name,
                           img->ws_size, UC_MAX_WS);
    if (ntypes != EV_TYPE_COUNT || nclasses != EVC_COUNT)
        return sim_err_set(r->err,
                           "%s: built for %u event types and %u classes, this build has %u and %u",
                           r->name, ntypes, nclasses, (unsigned)EV_TYPE_COUNT, (unsigned)EVC_COUNT);
    if (get_name(r, img->protocol, "the protocol name"))
        return -1;
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++) {
        if (get_u32(r, &img->entry[t], "the entry table"))
            return -1;
        if (img->entry[t] != UC_NO_ENTRY && img->entry[t] >= ncode)
            return sim_err_set(r->err, "%s: corrupt (entry for %s at pc %u, past the code)",
                               r->name, ev_type_name(t), img->entry[t]);
    }
    for (unsigned c = 0; c < EVC_COUNT; c++) {
        if (get_u8(r, &img->class_portions[c], "the class table"))
            return -1;
        if (nportions < 8 && img->class_portions[c] >> nportions)
            return sim_err_set(r->err, "%s: corrupt (class %s needs an undeclared portion)",
                               r->name, ev_class_name(c));
    }
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++) {
        if (get_u8(r, &img->type_needs[t], "the type table") ||
            get_u8(r, &img->type_portions[t], "the type table"))
            return -1;
        if (img->type_needs[t] > 1 || (nportions < 8 && img->type_portions[t] >> nportions))
            return sim_err_set(r->err, "%s: corrupt (event type %s: bad portion override)", r->name,
                               ev_type_name(t));
    }
    for (uint32_t i = 0; i < nportions; i++) {
        uc_portion *p = &img->portions[i];
        if (get_name(r, p->name, "the portions") || get_u32(r, &p->off, "the portions") ||
            get_u32(r, &p->size, "the portions"))
            return -1;
        img->nportions = i + 1;
        if (p->off > img->ws_size || p->size > img->ws_size - p->off)
            return sim_err_set(r->err, "%s: corrupt (portion '%s' lies outside the workspace)",
                               r->name, p->name);
    }
    uint32_t cap = 0;
    for (uint32_t i = 0; i < nfiles; i++) {
        if (grow((void **)&img->files, &cap, i, sizeof *img->files))
            return sim_err_set(r->err, "%s: out of memory", r->name);
        if (get_str(r, &img->files[i], UC_MAX_PATH, "the file names"))
            return -1;
        img->nfiles = i + 1;
    }
    uint32_t ccap = 0, lcap = 0, fcap = 0, tcap = 0;
    for (uint32_t i = 0; i < ncode; i++) {
        if (grow((void **)&img->code, &ccap, i, sizeof *img->code) ||
            grow((void **)&img->line, &lcap, i, sizeof *img->line) ||
            grow((void **)&img->file, &fcap, i, sizeof *img->file) ||
            grow((void **)&img->text, &tcap, i, sizeof *img->text))
            return sim_err_set(r->err, "%s: out of memory", r->name);
        img->text[i] = NULL;
        img->ncode = i + 1; /* from here on uc_image_free frees text[i] */
        if (get_u64(r, &img->code[i], "the code") || get_u32(r, &img->line[i], "the code") ||
            get_u16(r, &img->file[i], "the code") ||
            get_str(r, &img->text[i], UC_MAX_TEXT, "the code"))
            return -1;
        if (img->file[i] >= nfiles)
            return sim_err_set(r->err, "%s: corrupt (instruction %u names source file %u of %u)",
                               r->name, i, img->file[i], nfiles);
    }
    cap = 0;
    for (uint32_t i = 0; i < nsyms; i++) {
        if (grow((void **)&img->syms, &cap, i, sizeof *img->syms))
            return sim_err_set(r->err, "%s: out of memory", r->name);
        uc_symbol *s = &img->syms[i];
        memset(s, 0, sizeof *s);
        if (get_name(r, s->name, "the symbols") || get_u32(r, &s->value, "the symbols") ||
            get_u32(r, &s->size, "the symbols") || get_u8(r, &s->kind, "the symbols"))
            return -1;
        img->nsyms = i + 1;
        if (s->kind > UC_SYM_PORTION)
            return sim_err_set(r->err, "%s: corrupt (symbol '%s' of unknown kind %u)", r->name,
                               s->name, s->kind);
    }
    uint32_t want = r->crc, crc;
    if (get_u32(r, &crc, "the checksum"))
        return -1;
    if (crc != want)
        return sim_err_set(r->err, "%s: corrupt (checksum mismatch)", r->name);
    if (fgetc(r->f) != EOF)
        return sim_err_set(r->err, "%s: corrupt (data after the checksum)", r->name);
    return 0;
}

int uc_image_read(uc_image *img, FILE *f, const char *name, sim_err *err)
{
    memset(img, 0, sizeof *img);
    rd r = {f, name, err, 0};
    if (read_body(&r, img)) {
        uc_image_free(img);
        return -1;
    }
    return 0;
}

void uc_image_where(const uc_image *img, uint32_t pc, bool with_text, char *buf, size_t size)
{
    if (pc >= img->ncode || !img->line || !img->file || !img->files ||
        img->file[pc] >= img->nfiles || !img->files[img->file[pc]]) {
        snprintf(buf, size, "pc %u", pc);
        return;
    }
    const char *file = img->files[img->file[pc]];
    const char *text = with_text && img->text && img->text[pc] ? img->text[pc] : NULL;
    if (!text) {
        snprintf(buf, size, "%s:%u", file, img->line[pc]);
        return;
    }
    while (*text == ' ' || *text == '\t')
        text++;
    /* the statement without its comment and trailing blanks (';' only starts comments) */
    const char *semi = strchr(text, ';');
    size_t n = semi ? (size_t)(semi - text) : strlen(text);
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\t'))
        n--;
    snprintf(buf, size, "%s:%u: %.*s", file, img->line[pc], (int)n, text);
}

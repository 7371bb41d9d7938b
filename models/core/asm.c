/* asm: the microcode assembler (syntax and semantics in docs/isa.md).
 *
 * Two passes over the statements. Pass 1 reads the source line by line, following .include
 * and expanding macros as it goes; it handles every directive, defines labels, checks each
 * instruction's syntax completely and gives it its pc, and keeps a copy of every instruction
 * and .entry statement (already macro-expanded). Pass 2 re-parses those copies with the whole
 * symbol table known, so labels, constants and fields may be used before they are defined,
 * and encodes them. The first error stops the assembly: pass 1's errors come in source order,
 * then pass 2's (undefined labels and symbols, values out of range), then missing entries.
 *
 * Errors point at the offending token: "file:line:col: message". A line produced by a macro
 * reports the body line of the macro's definition (columns in that line's text) and appends
 * "(in macro 'm' invoked at file:line)". */
#include "asm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INCLUDE_DEPTH 16
#define MAX_MACRO_DEPTH 16
#define MAX_MACRO_ARGS 16
/* Lines that macro expansion may produce in one assembly: nested macros multiply (ten
 * invocations per level over 16 levels would be 10^16 lines), so the total is bounded, at four
 * times the most instructions a program may have. */
#define MAX_MACRO_LINES (4u * (UC_MAX_CODE + 1))
#define MAX_SRC_BYTES (16u << 20)
#define NUM_CAP (1ull << 40) /* numbers saturate here: out of every range, no overflow */
#define USAGE_MAX 64         /* an instruction's syntax, for errors */

/* ---- characters, strings, arrays ---- */

static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_idch(int c) { return is_alpha(c) || is_digit(c) || c == '.'; }
static bool is_blank(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }
static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

static char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}
static char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

/* Makes room for need elements of size elem in *p (capacity *cap); 0, or -1 out of memory. */
static int reserve(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    uint32_t n = *cap ? *cap : 16;
    while (n < need)
        n = n > UINT32_MAX / 2 ? UINT32_MAX : n * 2;
    void *q = realloc(*p, (size_t)n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static bool tok_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* Optimal-string-alignment distance, case-insensitive (a transposition costs 1), for the
 * "did you mean" suggestions. Long words are never close. */
static unsigned edit_distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    unsigned d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            unsigned cost = lower(a[i - 1]) != lower(b[j - 1]);
            unsigned v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

typedef struct suggest {
    const char *word; /* what was written */
    size_t len;
    const char *best; /* nearest candidate so far */
    unsigned dist;
} suggest;

static void consider(suggest *s, const char *cand)
{
    if (!cand)
        return;
    unsigned d = edit_distance(s->word, s->len, cand);
    if (!s->best || d < s->dist) {
        s->best = cand;
        s->dist = d;
    }
}
/* " (did you mean 'x'?)" when a candidate is close enough, else "". */
static const char *suggestion(const suggest *s, char *buf, size_t size)
{
    buf[0] = '\0';
    if (s->best && s->dist <= 2 && s->dist < s->len)
        snprintf(buf, size, " (did you mean '%s'?)", s->best);
    return buf;
}

/* 1: a register r0..r15 (*r set); -1: spelled like one ('r' and digits) but no such register;
 * 0: not a register name. */
static int reg_of(const char *s, size_t len, unsigned *r)
{
    if (len < 2 || s[0] != 'r')
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!is_digit(s[i]))
            return 0;
    if (len > 3 || (len == 3 && s[1] == '0'))
        return -1;
    unsigned v = 0;
    for (size_t i = 1; i < len; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    if (v >= UC_NREGS)
        return -1;
    *r = v;
    return 1;
}

/* ---- paths ---- */

/* The directory part of path ("" for a bare name), as a new string. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup("");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

/* dir/path (path alone when absolute or dir is empty) with "." and "x/.." removed. */
static char *join_path(const char *dir, const char *path)
{
    size_t ld = strlen(dir), lp = strlen(path);
    char *tmp = malloc(ld + lp + 2);
    char *out = malloc(ld + lp + 3);
    if (!tmp || !out) {
        free(tmp);
        free(out);
        return NULL;
    }
    if (path[0] == '/' || ld == 0)
        memcpy(tmp, path, lp + 1);
    else
        snprintf(tmp, ld + lp + 2, "%s/%s", dir, path);
    bool abs = tmp[0] == '/';
    size_t o = 0, keep = 0; /* keep: length of out that ".." may not remove */
    if (abs)
        out[o++] = '/', keep = 1;
    for (char *p = tmp; *p;) {
        while (*p == '/')
            p++;
        char *e = p;
        while (*e && *e != '/')
            e++;
        size_t n = (size_t)(e - p);
        bool dot = n == 1 && p[0] == '.', dotdot = n == 2 && p[0] == '.' && p[1] == '.';
        if (dotdot && o > keep) {
            while (o > keep && out[o - 1] != '/')
                o--;
            if (o > keep)
                o--;                                    /* the '/' before the removed component */
        } else if (n > 0 && !dot && !(dotdot && abs)) { /* "/.." is "/" */
            if (o > 0 && out[o - 1] != '/')
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
            if (dotdot)
                keep = o; /* a leading "../" stays */
        }
        p = e;
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
    free(tmp);
    return out;
}

/* Reads a whole file; 0, or -1 with errno set (EFBIG when too large). */
static int slurp(const char *path, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 0, n = 0;
    char *b = NULL;
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_SRC_BYTES) {
                free(b);
                fclose(f);
                errno = EFBIG;
                return -1;
            }
            cap = cap ? cap * 2 : 4096;
            char *nb = realloc(b, cap + 1);
            if (!nb) {
                free(b);
                fclose(f);
                errno = ENOMEM;
                return -1;
            }
            b = nb;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f), e = errno;
    fclose(f);
    if (bad) {
        free(b);
        errno = e ? e : EIO;
        return -1;
    }
    if (!b) {
        b = malloc(1);
        if (!b)
            return -1;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

/* ---- assembler state ---- */

enum { T_END, T_ID, T_DIR, T_NUM, T_STR, T_PUNCT };

typedef struct tok {
    uint8_t kind;
    char c;       /* T_PUNCT: the character */
    uint32_t pos; /* byte index in the line; T_END: the line's length */
    uint32_t len;
    uint64_t num; /* T_NUM: the value, saturated at NUM_CAP */
} tok;

/* One line as the parser sees it, and where it came from. */
typedef struct src_line {
    const char *text; /* NUL-terminated, trailing blanks removed */
    uint32_t len;
    const uint32_t *colmap; /* macro lines: per byte (len + 1), the column in the body line */
    uint16_t file;          /* where errors point */
    uint32_t line;
    uint16_t map_file; /* the source map: the line itself, or the outermost macro call */
    uint32_t map_line;
    const char *mctx; /* "" or " (in macro 'm' invoked at f:12)" */
    unsigned mdepth;  /* macro expansion depth */
    unsigned idepth;  /* include depth */
} src_line;

typedef struct sym_info { /* parallel to img->syms */
    int64_t ival;         /* constants keep their sign */
    uint16_t file;
    uint32_t line;
} sym_info;

typedef struct macro {
    char name[UC_NAME_MAX];
    char args[MAX_MACRO_ARGS][UC_NAME_MAX];
    unsigned nargs;
    char **body;
    uint32_t nbody, cap;
    uint16_t file; /* body line i is line + 1 + i of file */
    uint32_t line;
} macro;

typedef struct rec { /* a statement pass 2 parses again */
    char *text;
    uint32_t len;
    uint32_t *colmap;
    uint16_t file;
    uint32_t line;
    char *mctx;
    bool entry; /* .entry, else an instruction */
    uint32_t pc;
} rec;

typedef struct assembler {
    uc_image *img;
    sim_err *err;
    sym_info *si;
    uint32_t sicap;
    uint32_t *hash; /* open addressing over img->syms: index + 1, 0 = empty */
    uint32_t hcap;
    macro *macros;
    uint32_t nmacros, mcap;
    int collecting; /* index of the macro whose body is being read, or -1 */
    uint32_t collect_col;
    rec *recs;
    uint32_t nrecs, rcap;
    uint32_t codecap, filecap, symcap;
    char **dirs; /* per file: the directory its includes are relative to */
    uint16_t incstack[MAX_INCLUDE_DEPTH + 1];
    unsigned nincs;
    uint32_t expansions;  /* the \@ counter */
    uint32_t macro_lines; /* lines produced by macro expansion so far (MAX_MACRO_LINES) */
    bool have_protocol;
    uint16_t proto_file;
    uint32_t proto_line;
    uint16_t entry_file[EV_TYPE_COUNT];
    uint32_t entry_line[EV_TYPE_COUNT];
    int cur_portion; /* the portion .field adds to, or -1 */
    uint32_t field_off;
} assembler;

static const char *const directives[] = {".protocol", ".include", ".const", ".portion", ".field",
                                         ".needs",    ".entry",   ".macro", ".endm"};

static uint32_t col_of(const src_line *l, uint32_t pos)
{
    if (pos > l->len)
        pos = l->len;
    return l->colmap ? l->colmap[pos] : pos + 1;
}

__attribute__((format(printf, 4, 5))) static int err_at(assembler *a, const src_line *l,
                                                        uint32_t pos, const char *fmt, ...)
{
    char msg[224];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sim_err_set(a->err, "%s:%u:%u: %s%s", a->img->files[l->file], l->line, col_of(l, pos), msg,
                l->mctx);
    return -1;
}

static int oom(assembler *a)
{
    sim_err_set(a->err, "%s: out of memory", a->img->files[0]);
    return -1;
}

/* "'text'" of a token (shortened), or "end of line". */
static const char *describe(const src_line *l, const tok *t, char *buf, size_t size)
{
    if (t->kind == T_END)
        snprintf(buf, size, "end of line");
    else if (t->len > 32)
        snprintf(buf, size, "'%.29s...'", l->text + t->pos);
    else
        snprintf(buf, size, "'%.*s'", (int)t->len, l->text + t->pos);
    return buf;
}

/* ---- symbols ---- */

static uint32_t name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* Index of the symbol spelled s[0..n), or -1. */
static int sym_find(const assembler *a, const char *s, size_t n)
{
    if (!a->hcap)
        return -1;
    for (uint32_t h = name_hash(s, n) & (a->hcap - 1);; h = (h + 1) & (a->hcap - 1)) {
        uint32_t v = a->hash[h];
        if (!v)
            return -1;
        if (tok_is(s, n, a->img->syms[v - 1].name))
            return (int)(v - 1);
    }
}

static int hash_insert(assembler *a, uint32_t idx)
{
    if (2 * (a->img->nsyms + 1) > a->hcap) {
        uint32_t ncap = a->hcap ? a->hcap * 2 : 256;
        uint32_t *nh = calloc(ncap, sizeof *nh);
        if (!nh)
            return -1;
        free(a->hash);
        a->hash = nh;
        a->hcap = ncap;
        for (uint32_t i = 0; i < idx; i++) {
            const char *nm = a->img->syms[i].name;
            uint32_t h = name_hash(nm, strlen(nm)) & (ncap - 1);
            while (nh[h])
                h = (h + 1) & (ncap - 1);
            nh[h] = i + 1;
        }
    }
    const char *nm = a->img->syms[idx].name;
    uint32_t h = name_hash(nm, strlen(nm)) & (a->hcap - 1);
    while (a->hash[h])
        h = (h + 1) & (a->hcap - 1);
    a->hash[h] = idx + 1;
    return 0;
}

static const char *kind_name(unsigned k)
{
    static const char *const names[] = {"label", "constant", "field", "portion"};
    return k < 4 ? names[k] : "symbol";
}

/* Checks a name a directive or label is about to define (spelled s[0..n), at token t). */
static int check_new_name(assembler *a, const src_line *l, const tok *t, const char *s, size_t n)
{
    unsigned r;
    if (n >= UC_NAME_MAX)
        return err_at(a, l, t->pos, "name '%.*s...' is too long (at most %u characters)", 20, s,
                      UC_NAME_MAX - 1);
    if (reg_of(s, n, &r))
        return err_at(a, l, t->pos, "'%.*s' is a register name", (int)n, s);
    return 0;
}

/* Defines a symbol named name (its token t); 0, or -1 on a duplicate or a limit. */
static int sym_define(assembler *a, const src_line *l, const tok *t, const char *name, uint8_t kind,
                      uint32_t value, uint32_t size, int64_t ival)
{
    uc_image *img = a->img;
    size_t n = strlen(name);
    if (check_new_name(a, l, t, name, n))
        return -1;
    int old = sym_find(a, name, n);
    if (old >= 0) {
        const sym_info *o = &a->si[old];
        if (kind == UC_SYM_LABEL && img->syms[old].kind == UC_SYM_LABEL)
            return err_at(a, l, t->pos, "duplicate label '%s' (first defined at %s:%u)", name,
                          img->files[o->file], o->line);
        return err_at(a, l, t->pos, "duplicate symbol '%s' (already a %s, defined at %s:%u)", name,
                      kind_name(img->syms[old].kind), img->files[o->file], o->line);
    }
    if (img->nsyms >= UC_MAX_SYMS)
        return err_at(a, l, t->pos, "too many symbols (at most %u)", UC_MAX_SYMS);
    if (reserve((void **)&img->syms, &a->symcap, img->nsyms + 1, sizeof *img->syms) ||
        reserve((void **)&a->si, &a->sicap, img->nsyms + 1, sizeof *a->si))
        return oom(a);
    uc_symbol *s = &img->syms[img->nsyms];
    memset(s, 0, sizeof *s);
    memcpy(s->name, name, n + 1);
    s->value = value;
    s->size = size;
    s->kind = kind;
    a->si[img->nsyms] = (sym_info){ival, l->file, l->line};
    if (hash_insert(a, img->nsyms))
        return oom(a);
    img->nsyms++;
    return 0;
}

/* ---- tokens ---- */

/* Splits l into tokens (*out, n + 1 of them, the last T_END; caller frees). */
static int tokenize(assembler *a, const src_line *l, tok **out, uint32_t *count)
{
    const char *s = l->text;
    uint32_t len = l->len, n = 0, i = 0;
    tok *t = malloc(sizeof *t * ((size_t)len + 1));
    *out = t;
    if (!t)
        return oom(a);
    while (i < len) {
        char c = s[i];
        if (is_blank(c)) {
            i++;
            continue;
        }
        if (c == ';')
            break;
        tok *k = &t[n++];
        memset(k, 0, sizeof *k);
        k->pos = i;
        if (is_alpha(c)) {
            while (i < len && is_idch(s[i]))
                i++;
            k->kind = T_ID;
        } else if (c == '.' && i + 1 < len && is_alpha(s[i + 1])) {
            i++;
            while (i < len && is_idch(s[i]))
                i++;
            k->kind = T_DIR;
        } else if (is_digit(c)) {
            while (i < len && (is_alpha(s[i]) || is_digit(s[i])))
                i++;
            k->kind = T_NUM;
            const char *p = s + k->pos;
            uint32_t pl = i - k->pos;
            uint64_t v = 0;
            bool ok = true;
            if (pl > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
                for (uint32_t j = 2; j < pl && ok; j++) {
                    int d = is_digit(p[j])                             ? p[j] - '0'
                            : lower(p[j]) >= 'a' && lower(p[j]) <= 'f' ? lower(p[j]) - 'a' + 10
                                                                       : -1;
                    ok = d >= 0;
                    v = v * 16 + (uint64_t)(ok ? d : 0);
                    if (v > NUM_CAP)
                        v = NUM_CAP;
                }
            } else {
                for (uint32_t j = 0; j < pl && ok; j++) {
                    ok = is_digit(p[j]);
                    v = v * 10 + (uint64_t)(ok ? p[j] - '0' : 0);
                    if (v > NUM_CAP)
                        v = NUM_CAP;
                }
            }
            if (!ok)
                return err_at(a, l, k->pos, "bad number '%.*s'", (int)(pl > 32 ? 32 : pl), p);
            k->num = v;
        } else if (c == '"') {
            i++;
            while (i < len && s[i] != '"')
                i++;
            if (i == len)
                return err_at(a, l, k->pos, "unterminated string");
            i++;
            k->kind = T_STR;
        } else if (c && strchr(",[]+-:=", c)) {
            i++;
            k->kind = T_PUNCT;
            k->c = c;
        } else if (c == '\\') {
            return err_at(a, l, i, "'\\' outside a macro body");
        } else if ((unsigned char)c > ' ' && (unsigned char)c < 127) {
            return err_at(a, l, i, "unexpected character '%c'", c);
        } else {
            return err_at(a, l, i, "unexpected character (byte 0x%02x)", (unsigned char)c);
        }
        k->len = i - k->pos;
    }
    memset(&t[n], 0, sizeof t[n]);
    t[n].kind = T_END;
    t[n].pos = len;
    *count = n;
    return 0;
}

/* A cursor over one line's tokens, for the operand parsers. */
typedef struct cur {
    assembler *a;
    const src_line *l;
    const tok *t;
    uint32_t n, i;
    const char *usage; /* appended to "expected ..." errors, or NULL */
    bool defer;        /* pass 1: symbols and labels not defined yet are resolved later */
    unsigned usage_op; /* 1 + the instruction whose syntax is appended instead (written out only
                        * for an error); 0: none */
} cur;

static bool is_alu(unsigned op) { return op >= UC_MOV && op <= UC_SEQMAX; }
static bool is_jcc(unsigned op) { return op >= UC_JEQ && op <= UC_JSET; }
static bool is_load(unsigned op)
{
    return (op >= UC_LDW && op <= UC_LDB) || (op >= UC_LDPW && op <= UC_LDPB);
}
static bool is_store(unsigned op) { return op >= UC_STW && op <= UC_STB; }

/* The syntax of instruction op, for errors, in buf (USAGE_MAX bytes). */
static const char *insn_usage(unsigned op, char *buf)
{
    const char *mn = uc_op_name(op);
    buf[0] = '\0';
    if (op == UC_NOP || op == UC_FIN || op == UC_RET)
        ;
    else if (op == UC_NEG || op == UC_NOT)
        snprintf(buf, USAGE_MAX, "%s rD", mn);
    else if (is_alu(op))
        snprintf(buf, USAGE_MAX, "%s rD, rS|IMM", mn);
    else if (op == UC_JA || op == UC_CALL)
        snprintf(buf, USAGE_MAX, "%s LABEL", mn);
    else if (is_jcc(op))
        snprintf(buf, USAGE_MAX, "%s rD, rS|IMM, LABEL", mn);
    else if (is_load(op))
        snprintf(buf, USAGE_MAX, "%s rD, [rS + N]|[%s]", mn, op >= UC_LDPW ? "N" : "ADDR");
    else if (is_store(op))
        snprintf(buf, USAGE_MAX, "%s [rD + N]|[ADDR], rS|IMM", mn);
    else if (op == UC_LDEV)
        snprintf(buf, USAGE_MAX, "ldev rD, FIELD");
    else if (op == UC_CMD)
        snprintf(buf, USAGE_MAX, "cmd NAME");
    else /* UC_TRAP */
        snprintf(buf, USAGE_MAX, "trap IMM");
    return buf;
}

static const tok *peek(const cur *c) { return &c->t[c->i]; }
static const char *tok_text(const cur *c, const tok *t) { return c->l->text + t->pos; }
static bool at_punct(const cur *c, char ch) { return peek(c)->kind == T_PUNCT && peek(c)->c == ch; }

static int expected(cur *c, const char *what)
{
    char got[48], ubuf[USAGE_MAX];
    describe(c->l, peek(c), got, sizeof got);
    const char *usage = c->usage_op ? insn_usage(c->usage_op - 1, ubuf) : c->usage;
    if (usage)
        return err_at(c->a, c->l, peek(c)->pos, "expected %s, got %s (usage: %s)", what, got,
                      usage);
    return err_at(c->a, c->l, peek(c)->pos, "expected %s, got %s", what, got);
}

static int expect_punct(cur *c, char ch)
{
    if (!at_punct(c, ch)) {
        char what[8] = {'\'', ch, '\'', '\0'};
        return expected(c, what);
    }
    c->i++;
    return 0;
}

static int expect_end(cur *c, const char *what)
{
    if (peek(c)->kind == T_END)
        return 0;
    char got[48];
    describe(c->l, peek(c), got, sizeof got);
    return err_at(c->a, c->l, peek(c)->pos, "unexpected %s after %s", got, what);
}

static int parse_reg(cur *c, unsigned *r)
{
    const tok *t = peek(c);
    if (t->kind == T_ID) {
        int k = reg_of(tok_text(c, t), t->len, r);
        if (k == 1) {
            c->i++;
            return 0;
        }
        if (k == -1)
            return err_at(c->a, c->l, t->pos, "no register '%.*s' (r0..r15)", (int)t->len,
                          tok_text(c, t));
    }
    return expected(c, "a register (r0..r15)");
}

/* An expression: [sign] term {(+|-) term}, terms being numbers, constants and fields. sign0 is
 * the sign of the first term when the caller has consumed it (+1/-1), or 0 to allow one here.
 * *known is false when it names a symbol not yet defined and c->defer is set. *pos is where
 * the expression starts (its sign, or its first term after a caller's operator). */
static int parse_expr(cur *c, int sign0, int64_t *val, bool *known, uint32_t *pos)
{
    assembler *a = c->a;
    int sign = sign0 ? sign0 : 1;
    int64_t v = 0;
    *known = true;
    *pos = peek(c)->pos;
    if (!sign0 && (at_punct(c, '+') || at_punct(c, '-'))) {
        sign = at_punct(c, '-') ? -1 : 1;
        c->i++;
    }
    for (;;) {
        const tok *t = peek(c);
        int64_t term = 0;
        if (t->kind == T_NUM) {
            term = (int64_t)t->num;
        } else if (t->kind == T_ID) {
            const char *s = tok_text(c, t);
            unsigned r;
            if (reg_of(s, t->len, &r))
                return err_at(a, c->l, t->pos,
                              "register '%.*s' in an expression (expected a number, constant or "
                              "field)",
                              (int)t->len, s);
            int k = sym_find(a, s, t->len);
            if (k < 0) {
                if (!c->defer)
                    return err_at(a, c->l, t->pos, "undefined symbol '%.*s'", (int)t->len, s);
                *known = false;
            } else {
                const uc_symbol *sy = &a->img->syms[k];
                if (sy->kind == UC_SYM_CONST)
                    term = a->si[k].ival;
                else if (sy->kind == UC_SYM_FIELD)
                    term = sy->value;
                else if (sy->kind == UC_SYM_LABEL)
                    return err_at(a, c->l, t->pos,
                                  "'%s' is a label; an expression takes numbers, constants and "
                                  "fields",
                                  sy->name);
                else
                    return err_at(a, c->l, t->pos,
                                  "'%s' is a portion; an expression takes numbers, constants and "
                                  "fields (name a field of it)",
                                  sy->name);
            }
        } else {
            return expected(c, "a number, constant or field");
        }
        c->i++;
        v += sign * term;
        if (at_punct(c, '+') || at_punct(c, '-')) {
            sign = at_punct(c, '-') ? -1 : 1;
            c->i++;
            continue;
        }
        break;
    }
    *val = v;
    return 0;
}

/* An immediate that must fit in bits (32: signed or unsigned 32-bit). */
static int parse_imm(cur *c, unsigned bits, uint32_t *imm)
{
    int64_t v = 0;
    bool known;
    uint32_t pos;
    if (parse_expr(c, 0, &v, &known, &pos))
        return -1;
    if (!known) {
        *imm = 0;
        return 0;
    }
    int64_t lo = -((int64_t)1 << (bits - 1)), hi = ((int64_t)1 << bits) - 1;
    if (v < lo || v > hi)
        return err_at(c->a, c->l, pos, "immediate out of range (%lld does not fit in %u bits)",
                      (long long)v, bits);
    *imm = (uint32_t)v;
    return 0;
}

/* rS or IMM: a register sets *src, an immediate sets *imm and UC_K in *flags. */
static int parse_src(cur *c, unsigned bits, unsigned *src, uint32_t *imm, unsigned *flags)
{
    const tok *t = peek(c);
    unsigned r;
    if (t->kind == T_ID && reg_of(tok_text(c, t), t->len, &r))
        return parse_reg(c, src);
    if (t->kind != T_NUM && t->kind != T_ID && !at_punct(c, '-') && !at_punct(c, '+'))
        return expected(c, "a register or an immediate");
    *flags |= UC_K;
    return parse_imm(c, bits, imm);
}

/* A memory operand: [rB], [rB + N], [rB - N] (base register, signed 16-bit offset) or [ADDR]
 * (UC_ABS, unsigned 16-bit). */
static int parse_mem(cur *c, unsigned *base, uint16_t *off, unsigned *flags)
{
    if (!at_punct(c, '['))
        return expected(c, "a memory operand ('[')");
    c->i++;
    const tok *t = peek(c);
    unsigned r;
    int64_t v = 0;
    bool known;
    uint32_t pos;
    if (t->kind == T_ID && reg_of(tok_text(c, t), t->len, &r)) {
        if (parse_reg(c, base))
            return -1;
        if (at_punct(c, ']')) {
            c->i++;
            *off = 0;
            return 0;
        }
        if (!at_punct(c, '+') && !at_punct(c, '-'))
            return expected(c, "'+', '-' or ']' after the base register");
        int sign = at_punct(c, '-') ? -1 : 1;
        c->i++;
        if (parse_expr(c, sign, &v, &known, &pos))
            return -1;
        if (known && (v < -32768 || v > 32767))
            return err_at(c->a, c->l, pos, "offset out of range (%lld is not in -32768..32767)",
                          (long long)v);
        *off = known ? (uint16_t)(int16_t)v : 0;
    } else {
        if (t->kind != T_NUM && t->kind != T_ID && !at_punct(c, '-') && !at_punct(c, '+'))
            return expected(c, "a base register or an address");
        if (parse_expr(c, 0, &v, &known, &pos))
            return -1;
        if (known && (v < 0 || v > 65535))
            return err_at(c->a, c->l, pos, "offset out of range (%lld is not in 0..65535)",
                          (long long)v);
        *off = known ? (uint16_t)v : 0;
        *flags |= UC_ABS;
        *base = 0;
    }
    return expect_punct(c, ']');
}

/* A branch target: a label defined somewhere in the program. */
static int parse_label(cur *c, uint16_t *pc)
{
    const tok *t = peek(c);
    unsigned r;
    *pc = 0;
    if (t->kind != T_ID || reg_of(tok_text(c, t), t->len, &r))
        return expected(c, "a label");
    c->i++;
    if (c->defer)
        return 0;
    assembler *a = c->a;
    int k = sym_find(a, tok_text(c, t), t->len);
    if (k < 0)
        return err_at(a, c->l, t->pos, "undefined label '%.*s'", (int)t->len, tok_text(c, t));
    const uc_symbol *s = &a->img->syms[k];
    if (s->kind != UC_SYM_LABEL)
        return err_at(a, c->l, t->pos, "'%s' is a %s, not a label", s->name, kind_name(s->kind));
    if (s->value >= a->img->ncode)
        return err_at(a, c->l, t->pos, "label '%s' is past the last instruction", s->name);
    *pc = (uint16_t)s->value;
    return 0;
}

/* A name from a table (event fields, commands): *idx, or an "unknown" error. */
static int parse_name(cur *c, const char *what, const char *(*name_of)(unsigned), unsigned count,
                      uint32_t *idx)
{
    const tok *t = peek(c);
    if (t->kind != T_ID) {
        char exp[64];
        snprintf(exp, sizeof exp, "%s %s name", strchr("aeiou", what[0]) ? "an" : "a", what);
        return expected(c, exp);
    }
    for (unsigned i = 0; i < count; i++) {
        if (tok_is(tok_text(c, t), t->len, name_of(i))) {
            *idx = i;
            c->i++;
            return 0;
        }
    }
    /* Only an unknown name pays for the suggestion (every name is compared again). */
    suggest sg = {tok_text(c, t), t->len, NULL, 0};
    for (unsigned i = 0; i < count; i++)
        consider(&sg, name_of(i));
    char sug[80];
    return err_at(c->a, c->l, t->pos, "unknown %s '%.*s'%s", what, (int)t->len, tok_text(c, t),
                  suggestion(&sg, sug, sizeof sug));
}

static const char *evf_name_of(unsigned i) { return uc_evf_name(i); }
static const char *cmd_name_of(unsigned i) { return uc_cmd_name(i); }

/* ---- instructions ---- */

/* The mnemonic s[0..n) (n >= 1), or -1; the first letters are compared before the lengths. */
static int op_find(const char *s, size_t n)
{
    for (unsigned op = 0; op < UC_OP_COUNT; op++) {
        const char *name = uc_op_name(op);
        if (name[0] == s[0] && tok_is(s, n, name))
            return (int)op;
    }
    return -1;
}

/* Parses the instruction whose mnemonic is the current token into *word; an "expected" error
 * appends the instruction's syntax (insn_usage). */
static int parse_operands(cur *c, unsigned op, uint64_t *word)
{
    const char *mn = uc_op_name(op);
    unsigned dst = 0, src = 0, flags = 0;
    uint16_t off = 0;
    uint32_t imm = 0;
    c->i++;
    c->usage_op = op + 1;
    if (op == UC_NOP || op == UC_FIN || op == UC_RET) {
        if (peek(c)->kind != T_END) {
            char got[48];
            return err_at(c->a, c->l, peek(c)->pos, "'%s' takes no operands, got %s", mn,
                          describe(c->l, peek(c), got, sizeof got));
        }
    } else if (op == UC_NEG || op == UC_NOT) {
        if (parse_reg(c, &dst))
            return -1;
    } else if (is_alu(op)) {
        if (parse_reg(c, &dst) || expect_punct(c, ',') || parse_src(c, 32, &src, &imm, &flags))
            return -1;
    } else if (op == UC_JA || op == UC_CALL) {
        if (parse_label(c, &off))
            return -1;
    } else if (is_jcc(op)) {
        if (parse_reg(c, &dst) || expect_punct(c, ',') || parse_src(c, 32, &src, &imm, &flags) ||
            expect_punct(c, ',') || parse_label(c, &off))
            return -1;
    } else if (is_load(op)) {
        if (parse_reg(c, &dst) || expect_punct(c, ',') || parse_mem(c, &src, &off, &flags))
            return -1;
    } else if (is_store(op)) {
        unsigned bits = op == UC_STW ? 32 : op == UC_STH ? 16 : 8;
        if (parse_mem(c, &dst, &off, &flags) || expect_punct(c, ',') ||
            parse_src(c, bits, &src, &imm, &flags))
            return -1;
    } else if (op == UC_LDEV) {
        if (parse_reg(c, &dst) || expect_punct(c, ',') ||
            parse_name(c, "event field", evf_name_of, UC_EVF_COUNT, &imm))
            return -1;
    } else if (op == UC_CMD) {
        if (parse_name(c, "command", cmd_name_of, UC_CMD_COUNT, &imm))
            return -1;
    } else { /* UC_TRAP */
        if (parse_imm(c, 32, &imm))
            return -1;
    }
    if (peek(c)->kind != T_END) {
        char what[64];
        snprintf(what, sizeof what, "the operands of '%s'", mn);
        return expect_end(c, what);
    }
    *word = uc_encode(op | flags, dst, src, off, imm);
    return 0;
}

static int parse_insn(cur *c, unsigned op, uint64_t *word)
{
    int rc = parse_operands(c, op, word);
    c->usage_op = 0;
    return rc;
}

static int add_rec(assembler *a, const src_line *l, bool entry, uint32_t pc)
{
    if (reserve((void **)&a->recs, &a->rcap, a->nrecs + 1, sizeof *a->recs))
        return oom(a);
    rec *r = &a->recs[a->nrecs];
    memset(r, 0, sizeof *r);
    r->text = xstrndup(l->text, l->len);
    r->mctx = xstrdup(l->mctx);
    if (l->colmap) {
        r->colmap = malloc(sizeof *r->colmap * ((size_t)l->len + 1));
        if (r->colmap)
            memcpy(r->colmap, l->colmap, sizeof *r->colmap * ((size_t)l->len + 1));
    }
    a->nrecs++;
    if (!r->text || !r->mctx || (l->colmap && !r->colmap))
        return oom(a);
    r->len = l->len;
    r->file = l->file;
    r->line = l->line;
    r->entry = entry;
    r->pc = pc;
    return 0;
}

static int add_insn(assembler *a, const src_line *l, const tok *mn, uint64_t word)
{
    uc_image *img = a->img;
    if (img->ncode >= UC_MAX_CODE)
        return err_at(a, l, mn->pos, "program too large (more than %u instructions)", UC_MAX_CODE);
    uint32_t need = img->ncode + 1, c1 = a->codecap, c2 = a->codecap, c3 = a->codecap;
    if (reserve((void **)&img->code, &a->codecap, need, sizeof *img->code) ||
        reserve((void **)&img->line, &c1, need, sizeof *img->line) ||
        reserve((void **)&img->file, &c2, need, sizeof *img->file) ||
        reserve((void **)&img->text, &c3, need, sizeof *img->text))
        return oom(a);
    /* all four grow to the same capacity: reserve() doubles from the same start */
    uint32_t pc = img->ncode;
    img->code[pc] = word;
    img->line[pc] = l->map_line;
    img->file[pc] = l->map_file;
    img->text[pc] = xstrndup(l->text, l->len);
    img->ncode++;
    if (!img->text[pc])
        return oom(a);
    return add_rec(a, l, false, pc);
}

/* ---- directives ---- */

static int process_file(assembler *a, uint16_t file, const char *buf, size_t n, unsigned idepth);

/* A value a directive needs now (sizes, constants): every symbol must be defined already. */
static int parse_value(cur *c, int64_t *v, uint32_t *pos)
{
    bool known;
    bool defer = c->defer;
    c->defer = false;
    int r = parse_expr(c, 0, v, &known, pos);
    c->defer = defer;
    return r;
}

static int parse_ident(cur *c, const char *what, const tok **t)
{
    *t = peek(c);
    unsigned r;
    if ((*t)->kind != T_ID || reg_of(tok_text(c, *t), (*t)->len, &r))
        return expected(c, what);
    c->i++;
    return 0;
}

static int no_dot(cur *c, const tok *t, const char *what)
{
    if (memchr(tok_text(c, t), '.', t->len))
        return err_at(c->a, c->l, t->pos, "%s name '%.*s' must not contain '.'", what, (int)t->len,
                      tok_text(c, t));
    return 0;
}

static int add_file(assembler *a, const char *path, const char *dir, uint16_t *idx)
{
    uc_image *img = a->img;
    for (uint32_t i = 1; i < img->nfiles; i++)
        if (strcmp(img->files[i], path) == 0) {
            *idx = (uint16_t)i;
            return 0;
        }
    if (img->nfiles >= UC_MAX_FILES)
        return sim_err_set(a->err, "%s: too many source files (at most %u)", img->files[0],
                           UC_MAX_FILES);
    uint32_t cap = a->filecap;
    if (reserve((void **)&img->files, &a->filecap, img->nfiles + 1, sizeof *img->files) ||
        reserve((void **)&a->dirs, &cap, img->nfiles + 1, sizeof *a->dirs))
        return oom(a);
    img->files[img->nfiles] = xstrdup(path);
    a->dirs[img->nfiles] = xstrdup(dir);
    img->nfiles++;
    if (!img->files[img->nfiles - 1] || !a->dirs[img->nfiles - 1])
        return oom(a);
    *idx = (uint16_t)(img->nfiles - 1);
    return 0;
}

static int dir_include(cur *c)
{
    assembler *a = c->a;
    const src_line *l = c->l;
    const tok *t = peek(c);
    if (t->kind != T_STR)
        return expected(c, "a file name in quotes");
    c->i++;
    if (expect_end(c, "the file name"))
        return -1;
    char *rel = xstrndup(tok_text(c, t) + 1, t->len - 2);
    if (!rel)
        return oom(a);
    if (!rel[0] || strlen(rel) >= UC_MAX_PATH) {
        free(rel);
        return err_at(a, l, t->pos, "bad include file name");
    }
    char *path = join_path(a->dirs[l->file], rel);
    if (!path) {
        free(rel);
        return oom(a);
    }
    int rc = -1;
    for (unsigned i = 0; i < a->nincs; i++)
        if (strcmp(a->img->files[a->incstack[i]], path) == 0) {
            char chain[200] = "";
            size_t o = 0;
            for (unsigned j = i; j < a->nincs && o < sizeof chain; j++)
                o += (size_t)snprintf(chain + o, sizeof chain - o, "%s -> ",
                                      a->img->files[a->incstack[j]]);
            if (o < sizeof chain)
                snprintf(chain + o, sizeof chain - o, "%s", path);
            rc = err_at(a, l, t->pos, "include cycle: %s", chain);
            goto out;
        }
    if (l->idepth + 1 > MAX_INCLUDE_DEPTH) {
        rc = err_at(a, l, t->pos, "includes nested too deeply (more than %u levels)",
                    MAX_INCLUDE_DEPTH);
        goto out;
    }
    char *buf;
    size_t n;
    if (slurp(path, &buf, &n)) {
        if (errno == ENOENT)
            rc = err_at(a, l, t->pos, "include file '%s' not found (looked for '%s')", rel, path);
        else
            rc = err_at(a, l, t->pos, "cannot read include file '%s': %s", path,
                        errno == EFBIG ? "larger than 16 MiB" : strerror(errno));
        goto out;
    }
    char *dir = dir_of(path);
    uint16_t idx = 0;
    if (!dir || add_file(a, path, dir, &idx)) {
        free(dir);
        free(buf);
        rc = dir ? -1 : oom(a);
        goto out;
    }
    free(dir);
    a->incstack[a->nincs++] = idx;
    rc = process_file(a, idx, buf, n, l->idepth + 1);
    a->nincs--;
    free(buf);
out:
    free(rel);
    free(path);
    return rc;
}

static int dir_protocol(cur *c, const tok *d)
{
    assembler *a = c->a;
    const tok *t;
    if (parse_ident(c, "a protocol name (tcp, udp or roce)", &t))
        return -1;
    const char *s = tok_text(c, t);
    if (!tok_is(s, t->len, "tcp") && !tok_is(s, t->len, "udp") && !tok_is(s, t->len, "roce"))
        return err_at(a, c->l, t->pos, "unknown protocol '%.*s' (expected tcp, udp or roce)",
                      (int)t->len, s);
    if (a->have_protocol)
        return err_at(a, c->l, d->pos, "duplicate .protocol (first at %s:%u)",
                      a->img->files[a->proto_file], a->proto_line);
    if (expect_end(c, "the protocol name"))
        return -1;
    memcpy(a->img->protocol, s, t->len);
    a->img->protocol[t->len] = '\0';
    a->have_protocol = true;
    a->proto_file = c->l->file;
    a->proto_line = c->l->line;
    return 0;
}

static int dir_const(cur *c)
{
    const tok *t;
    int64_t v = 0;
    uint32_t pos;
    if (parse_ident(c, "a constant name", &t) || expect_punct(c, '=') || parse_value(c, &v, &pos))
        return -1;
    if (v < INT32_MIN || v > (int64_t)UINT32_MAX)
        return err_at(c->a, c->l, pos, "value out of range (%lld does not fit in 32 bits)",
                      (long long)v);
    if (expect_end(c, "the value"))
        return -1;
    char name[UC_NAME_MAX + 1];
    snprintf(name, sizeof name, "%.*s", (int)(t->len < UC_NAME_MAX ? t->len : UC_NAME_MAX),
             tok_text(c, t));
    return sym_define(c->a, c->l, t, name, UC_SYM_CONST, (uint32_t)v, 0, v);
}

/* A size operand (1..max). */
static int parse_size(cur *c, uint32_t max, uint32_t *size)
{
    int64_t v = 0;
    uint32_t pos;
    if (peek(c)->kind == T_END)
        return expected(c, "a size in bytes");
    if (parse_value(c, &v, &pos))
        return -1;
    if (v < 1 || v > max)
        return err_at(c->a, c->l, pos, "size out of range (%lld is not in 1..%u)", (long long)v,
                      max);
    *size = (uint32_t)v;
    return 0;
}

static int dir_portion(cur *c, const tok *d)
{
    assembler *a = c->a;
    uc_image *img = a->img;
    const tok *t;
    uint32_t size;
    if (img->nportions >= UC_MAX_PORTIONS)
        return err_at(a, c->l, d->pos, "too many portions (at most %u)", UC_MAX_PORTIONS);
    if (parse_ident(c, "a portion name", &t) || no_dot(c, t, "portion"))
        return -1;
    const tok *st = peek(c);
    if (parse_size(c, UC_MAX_WS, &size) || expect_end(c, "the size"))
        return -1;
    if (size > UC_MAX_WS - img->ws_size)
        return err_at(a, c->l, st->pos,
                      "portion '%.*s' would end at byte %u, beyond the %u-byte workspace",
                      (int)t->len, tok_text(c, t), img->ws_size + size, UC_MAX_WS);
    char name[UC_NAME_MAX + 1];
    snprintf(name, sizeof name, "%.*s", (int)(t->len < UC_NAME_MAX ? t->len : UC_NAME_MAX),
             tok_text(c, t));
    if (sym_define(a, c->l, t, name, UC_SYM_PORTION, img->nportions, size, img->nportions))
        return -1;
    uc_portion *p = &img->portions[img->nportions];
    memcpy(p->name, name, strlen(name) + 1);
    p->off = img->ws_size;
    p->size = size;
    a->cur_portion = (int)img->nportions++;
    a->field_off = 0;
    img->ws_size += size;
    return 0;
}

static int dir_field(cur *c, const tok *d)
{
    assembler *a = c->a;
    const tok *t;
    uint32_t size;
    if (a->cur_portion < 0)
        return err_at(a, c->l, d->pos, ".field before any .portion");
    const uc_portion *p = &a->img->portions[a->cur_portion];
    if (parse_ident(c, "a field name", &t) || no_dot(c, t, "field") ||
        parse_size(c, UC_MAX_WS, &size) || expect_end(c, "the size"))
        return -1;
    char name[2 * UC_NAME_MAX + 2];
    snprintf(name, sizeof name, "%s.%.*s", p->name,
             (int)(t->len < UC_NAME_MAX ? t->len : UC_NAME_MAX), tok_text(c, t));
    if (strlen(name) >= UC_NAME_MAX)
        return err_at(a, c->l, t->pos, "field name '%s' is too long (at most %u characters)", name,
                      UC_NAME_MAX - 1);
    uint32_t align = size >= 4 ? 4 : size >= 2 ? 2 : 1;
    uint32_t off = (a->field_off + align - 1) / align * align;
    if (off > p->size || size > p->size - off)
        return err_at(a, c->l, t->pos,
                      "field '%s' (%u byte%s at offset %u) overflows portion '%s' (%u bytes)", name,
                      size, size == 1 ? "" : "s", off, p->name, p->size);
    if (sym_define(a, c->l, t, name, UC_SYM_FIELD, p->off + off, size, p->off + off))
        return -1;
    a->field_off = off + size;
    return 0;
}

/* The index of the name s[0..n) in a table, or -1. */
static int find_name(const char *s, size_t n, const char *(*name_of)(unsigned), unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        if (tok_is(s, n, name_of(i)))
            return (int)i;
    return -1;
}

/* Offers every name of a table to a suggestion; called only once a name is known to be
 * unknown, so that a correct source never pays for the edit distances. */
static void consider_all(suggest *sg, const char *(*name_of)(unsigned), unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        consider(sg, name_of(i));
}
static const char *type_name_of(unsigned i) { return ev_type_name(i); }
static const char *class_name_of(unsigned i) { return ev_class_name(i); }

static int dir_needs(cur *c)
{
    assembler *a = c->a;
    uc_image *img = a->img;
    const tok *t;
    char sug[80];
    if (parse_ident(c, "an event class or type", &t))
        return -1;
    int cls = find_name(tok_text(c, t), t->len, class_name_of, EVC_COUNT);
    int type = cls < 0 ? find_name(tok_text(c, t), t->len, type_name_of, EV_TYPE_COUNT) : -1;
    if (cls < 0 && type < 0) {
        suggest sg = {tok_text(c, t), t->len, NULL, 0};
        consider_all(&sg, class_name_of, EVC_COUNT);
        consider_all(&sg, type_name_of, EV_TYPE_COUNT);
        suggestion(&sg, sug, sizeof sug);
        if (!sug[0])
            snprintf(sug, sizeof sug, " (expected %s, %s, %s, %s, %s or an event type)",
                     ev_class_name(0), ev_class_name(1), ev_class_name(2), ev_class_name(3),
                     ev_class_name(4));
        return err_at(a, c->l, t->pos, "unknown event class or type '%.*s'%s", (int)t->len,
                      tok_text(c, t), sug);
    }
    uint8_t mask = 0;
    for (;;) {
        if (parse_ident(c, "a portion name", &t))
            return -1;
        int p = -1;
        for (uint32_t i = 0; i < img->nportions && p < 0; i++)
            if (tok_is(tok_text(c, t), t->len, img->portions[i].name))
                p = (int)i;
        if (p < 0) {
            suggest sp = {tok_text(c, t), t->len, NULL, 0};
            for (uint32_t i = 0; i < img->nportions; i++)
                consider(&sp, img->portions[i].name);
            return err_at(a, c->l, t->pos, "unknown portion '%.*s'%s", (int)t->len, tok_text(c, t),
                          suggestion(&sp, sug, sizeof sug));
        }
        mask |= (uint8_t)(1u << p);
        if (peek(c)->kind == T_END)
            break;
        if (expect_punct(c, ','))
            return -1;
    }
    if (type >= 0) {
        img->type_needs[type] = 1;
        img->type_portions[type] |= mask;
    } else {
        img->class_portions[cls] |= mask;
    }
    return 0;
}

/* .entry TYPE LABEL; pass 1 checks the type (and duplicates), pass 2 the label. */
static int dir_entry(cur *c, bool pass2)
{
    assembler *a = c->a;
    const tok *t, *lt;
    char sug[80];
    if (parse_ident(c, "an event type", &t))
        return -1;
    int ty = find_name(tok_text(c, t), t->len, type_name_of, EV_TYPE_COUNT);
    if (ty < 0) {
        suggest sg = {tok_text(c, t), t->len, NULL, 0};
        consider_all(&sg, type_name_of, EV_TYPE_COUNT);
        return err_at(a, c->l, t->pos, "unknown event type '%.*s'%s", (int)t->len, tok_text(c, t),
                      suggestion(&sg, sug, sizeof sug));
    }
    if (!pass2 && a->entry_line[ty])
        return err_at(a, c->l, t->pos, "duplicate .entry for %s (first at %s:%u)",
                      ev_type_name((unsigned)ty), a->img->files[a->entry_file[ty]],
                      a->entry_line[ty]);
    uint16_t pc = 0;
    lt = peek(c);
    if (lt->kind == T_ID && !pass2) {
        unsigned r;
        if (reg_of(tok_text(c, lt), lt->len, &r))
            return expected(c, "a label");
        c->i++;
    } else if (parse_label(c, &pc)) {
        return -1;
    }
    if (expect_end(c, "the label"))
        return -1;
    if (pass2) {
        a->img->entry[ty] = pc;
    } else {
        a->entry_file[ty] = c->l->file;
        a->entry_line[ty] = c->l->line;
    }
    return 0;
}

static int dir_macro(cur *c, const tok *d)
{
    assembler *a = c->a;
    const tok *t;
    if (c->l->mdepth > 0)
        return err_at(a, c->l, d->pos, ".macro inside a macro");
    if (parse_ident(c, "a macro name", &t) || no_dot(c, t, "macro"))
        return -1;
    const char *s = tok_text(c, t);
    if (t->len >= UC_NAME_MAX)
        return err_at(a, c->l, t->pos, "name '%.20s...' is too long (at most %u characters)", s,
                      UC_NAME_MAX - 1);
    if (op_find(s, t->len) >= 0)
        return err_at(a, c->l, t->pos, "macro name '%.*s' is an instruction mnemonic", (int)t->len,
                      s);
    for (uint32_t i = 0; i < a->nmacros; i++)
        if (tok_is(s, t->len, a->macros[i].name))
            return err_at(a, c->l, t->pos, "duplicate macro '%s' (first defined at %s:%u)",
                          a->macros[i].name, a->img->files[a->macros[i].file], a->macros[i].line);
    macro m;
    memset(&m, 0, sizeof m);
    memcpy(m.name, s, t->len);
    m.file = c->l->file;
    m.line = c->l->line;
    c->usage = ".macro NAME [ARG, ...]";
    while (peek(c)->kind != T_END) {
        if (m.nargs > 0 && expect_punct(c, ','))
            return -1;
        const tok *at;
        if (parse_ident(c, "an argument name", &at) || no_dot(c, at, "argument"))
            return -1;
        if (m.nargs >= MAX_MACRO_ARGS)
            return err_at(a, c->l, at->pos, "too many macro arguments (at most %u)",
                          MAX_MACRO_ARGS);
        if (at->len >= UC_NAME_MAX)
            return err_at(a, c->l, at->pos, "argument name is too long (at most %u characters)",
                          UC_NAME_MAX - 1);
        for (unsigned i = 0; i < m.nargs; i++)
            if (tok_is(tok_text(c, at), at->len, m.args[i]))
                return err_at(a, c->l, at->pos, "duplicate macro argument '%s'", m.args[i]);
        memcpy(m.args[m.nargs++], tok_text(c, at), at->len);
    }
    if (reserve((void **)&a->macros, &a->mcap, a->nmacros + 1, sizeof *a->macros))
        return oom(a);
    a->macros[a->nmacros] = m;
    a->collecting = (int)a->nmacros++;
    a->collect_col = col_of(c->l, d->pos);
    return 0;
}

static int directive(cur *c)
{
    assembler *a = c->a;
    const tok *d = peek(c);
    const char *s = tok_text(c, d);
    c->i++;
    if (tok_is(s, d->len, ".include")) {
        c->usage = ".include \"FILE\"";
        return dir_include(c);
    }
    if (tok_is(s, d->len, ".protocol")) {
        c->usage = ".protocol tcp|udp|roce";
        return dir_protocol(c, d);
    }
    if (tok_is(s, d->len, ".const")) {
        c->usage = ".const NAME = EXPR";
        return dir_const(c);
    }
    if (tok_is(s, d->len, ".portion")) {
        c->usage = ".portion NAME SIZE";
        return dir_portion(c, d);
    }
    if (tok_is(s, d->len, ".field")) {
        c->usage = ".field NAME SIZE";
        return dir_field(c, d);
    }
    if (tok_is(s, d->len, ".needs")) {
        c->usage = ".needs CLASS PORTION[, PORTION...]";
        return dir_needs(c);
    }
    if (tok_is(s, d->len, ".entry")) {
        c->usage = ".entry EVENT_TYPE LABEL";
        if (dir_entry(c, false))
            return -1;
        return add_rec(a, c->l, true, 0);
    }
    if (tok_is(s, d->len, ".macro"))
        return dir_macro(c, d);
    if (tok_is(s, d->len, ".endm"))
        return err_at(a, c->l, d->pos, ".endm without .macro");
    suggest sg = {s, d->len, NULL, 0};
    for (size_t i = 0; i < sizeof directives / sizeof directives[0]; i++)
        consider(&sg, directives[i]);
    char sug[80];
    return err_at(a, c->l, d->pos, "unknown directive '%.*s'%s", (int)d->len, s,
                  suggestion(&sg, sug, sizeof sug));
}

/* ---- macros ---- */

static int process_line(assembler *a, const src_line *l);

/* Appends n bytes of s, each mapped to column col, to the expansion being built. */
static bool put_text(char *out, uint32_t *cmap, uint32_t *o, const char *s, size_t n, uint32_t col)
{
    if (*o + n > UC_MAX_TEXT)
        return false;
    for (size_t i = 0; i < n; i++) {
        out[*o] = s[i];
        cmap[*o] = col;
        (*o)++;
    }
    return true;
}

static int expand_macro(assembler *a, const src_line *l, const tok *t, uint32_t n, uint32_t at)
{
    const macro *m = &a->macros[at];
    const tok *name = &t[0];
    /* the arguments: token runs separated by commas */
    const char *arg[MAX_MACRO_ARGS] = {NULL};
    uint32_t alen[MAX_MACRO_ARGS] = {0};
    unsigned nargs = 0;
    for (uint32_t i = 1; i < n;) {
        uint32_t s = i;
        while (i < n && !(t[i].kind == T_PUNCT && t[i].c == ','))
            i++;
        if (i == s)
            return err_at(a, l, t[i].pos, "empty macro argument");
        if (nargs < MAX_MACRO_ARGS) {
            arg[nargs] = l->text + t[s].pos;
            alen[nargs] = t[i - 1].pos + t[i - 1].len - t[s].pos;
        }
        nargs++;
        if (i == n)
            break;
        if (++i == n)
            return err_at(a, l, t[n].pos, "empty macro argument");
    }
    if (nargs != m->nargs)
        return err_at(a, l, name->pos, "macro '%s' takes %u argument%s, got %u", m->name, m->nargs,
                      m->nargs == 1 ? "" : "s", nargs);
    if (l->mdepth + 1 > MAX_MACRO_DEPTH)
        return err_at(a, l, name->pos,
                      "macros nested too deeply (more than %u levels; is '%s' recursive?)",
                      MAX_MACRO_DEPTH, m->name);
    char mctx[UC_NAME_MAX + UC_MAX_PATH + 64];
    snprintf(mctx, sizeof mctx, " (in macro '%s' invoked at %s:%u)", m->name,
             a->img->files[l->file], l->line);
    char counter[16];
    snprintf(counter, sizeof counter, "%u", a->expansions++);
    char *out = malloc(UC_MAX_TEXT + 1);
    uint32_t *cmap = malloc(sizeof *cmap * (UC_MAX_TEXT + 1));
    int rc = 0;
    if (!out || !cmap)
        rc = oom(a);
    for (uint32_t b = 0; rc == 0 && b < m->nbody; b++) {
        if (++a->macro_lines > MAX_MACRO_LINES) {
            rc = err_at(a, l, name->pos,
                        "macro expansion too large (more than %u lines; nested macros multiply)",
                        MAX_MACRO_LINES);
            break;
        }
        const char *body = m->body[b];
        size_t blen = strlen(body);
        uint32_t o = 0;
        src_line bl = {body, (uint32_t)blen, NULL,          m->file,  m->line + 1 + b, m->file,
                       0,    mctx,           l->mdepth + 1, l->idepth};
        bool fits = true;
        for (size_t j = 0; j < blen && fits && rc == 0;) {
            uint32_t col = (uint32_t)j + 1;
            if (body[j] == ';') {
                fits = put_text(out, cmap, &o, body + j, blen - j, col);
                break;
            }
            if (body[j] != '\\') {
                fits = put_text(out, cmap, &o, body + j, 1, col);
                j++;
                continue;
            }
            if (j + 1 < blen && body[j + 1] == '@') {
                fits = put_text(out, cmap, &o, counter, strlen(counter), col);
                j += 2;
                continue;
            }
            size_t e = j + 1;
            while (e < blen && (is_alpha(body[e]) || is_digit(body[e])))
                e++;
            unsigned k = 0;
            while (k < m->nargs && !tok_is(body + j + 1, e - j - 1, m->args[k]))
                k++;
            if (e == j + 1 || k == m->nargs) {
                rc = err_at(a, &bl, (uint32_t)j, "unknown macro argument '\\%.*s' in macro '%s'",
                            (int)(e - j - 1 > 40 ? 40 : e - j - 1), body + j + 1, m->name);
                break;
            }
            fits = put_text(out, cmap, &o, arg[k], alen[k], col);
            j = e;
        }
        if (rc)
            break;
        if (!fits) {
            rc = err_at(a, &bl, 0, "line too long after macro expansion (more than %u bytes)",
                        UC_MAX_TEXT);
            break;
        }
        while (o > 0 && is_blank(out[o - 1]))
            o--;
        out[o] = '\0';
        cmap[o] = (uint32_t)blen + 1;
        src_line x = {out,         o,           cmap, m->file,       m->line + 1 + b,
                      l->map_file, l->map_line, mctx, l->mdepth + 1, l->idepth};
        rc = process_line(a, &x);
        m = &a->macros[at]; /* a file the line included may have defined macros: a->macros moved */
    }
    free(out);
    free(cmap);
    return rc;
}

/* While a macro is being defined: collects the line, or ends the definition at .endm. */
static int collect_line(assembler *a, const src_line *l)
{
    const char *s = l->text;
    uint32_t i = 0;
    while (i < l->len && is_blank(s[i]))
        i++;
    uint32_t w = i;
    while (i < l->len && (is_idch(s[i]) || (i == w && s[i] == '.')))
        i++;
    if (tok_is(s + w, i - w, ".endm")) {
        while (i < l->len && is_blank(s[i]))
            i++;
        if (i < l->len && s[i] != ';')
            return err_at(a, l, i, "unexpected '%c' after .endm", s[i]);
        a->collecting = -1;
        return 0;
    }
    if (tok_is(s + w, i - w, ".macro"))
        return err_at(a, l, w, ".macro inside a macro definition (missing .endm?)");
    macro *m = &a->macros[a->collecting];
    if (reserve((void **)&m->body, &m->cap, m->nbody + 1, sizeof *m->body))
        return oom(a);
    m->body[m->nbody] = xstrndup(s, l->len);
    if (!m->body[m->nbody])
        return oom(a);
    m->nbody++;
    return 0;
}

/* ---- lines and files ---- */

static int process_line(assembler *a, const src_line *l)
{
    tok *t;
    uint32_t n = 0;
    int rc = tokenize(a, l, &t, &n);
    if (rc) {
        free(t);
        return rc;
    }
    cur c = {a, l, t, n, 0, NULL, true, 0};
    if (n >= 2 && t[0].kind == T_ID && t[1].kind == T_PUNCT && t[1].c == ':') {
        char name[UC_NAME_MAX + 1];
        snprintf(name, sizeof name, "%.*s", (int)(t[0].len < UC_NAME_MAX ? t[0].len : UC_NAME_MAX),
                 l->text + t[0].pos);
        if (t[0].len >= UC_NAME_MAX)
            rc = check_new_name(a, l, &t[0], l->text + t[0].pos, t[0].len);
        else
            rc = sym_define(a, l, &t[0], name, UC_SYM_LABEL, a->img->ncode, 0, a->img->ncode);
        c.i = 2;
    }
    if (rc == 0 && c.i < n) {
        const tok *h = &t[c.i];
        const char *s = l->text + h->pos;
        if (h->kind == T_DIR) {
            rc = directive(&c);
        } else if (h->kind == T_ID) {
            int op = op_find(s, h->len);
            uint32_t m = 0;
            while (op < 0 && m < a->nmacros && !tok_is(s, h->len, a->macros[m].name))
                m++;
            if (op >= 0) {
                uint64_t word = 0;
                rc = parse_insn(&c, (unsigned)op, &word);
                if (rc == 0)
                    rc = add_insn(a, l, h, word);
            } else if (m < a->nmacros) {
                rc = expand_macro(a, l, t + c.i, n - c.i, m);
            } else {
                suggest sg = {s, h->len, NULL, 0};
                for (unsigned k = 0; k < UC_OP_COUNT; k++)
                    consider(&sg, uc_op_name(k));
                for (uint32_t k = 0; k < a->nmacros; k++)
                    consider(&sg, a->macros[k].name);
                char sug[80];
                rc = err_at(a, l, h->pos, "unknown mnemonic '%.*s'%s", (int)(h->len), s,
                            suggestion(&sg, sug, sizeof sug));
            }
        } else {
            rc = expected(&c, "a mnemonic, directive or label");
        }
    }
    free(t);
    return rc;
}

static int process_file(assembler *a, uint16_t file, const char *buf, size_t n, unsigned idepth)
{
    char *lb = malloc(UC_MAX_TEXT + 1);
    if (!lb)
        return oom(a);
    int rc = 0;
    uint32_t lineno = 0, macro_line = 0;
    size_t p = 0;
    /* a macro definition starts and ends in one file: .include lines inside it are collected */
    while (rc == 0 && p < n) {
        size_t e = p;
        while (e < n && buf[e] != '\n' && buf[e] != '\0')
            e++;
        lineno++;
        src_line l = {lb, 0, NULL, file, lineno, file, lineno, "", 0, idepth};
        if (e < n && buf[e] == '\0') {
            l.len = (uint32_t)(e - p < UC_MAX_TEXT ? e - p : UC_MAX_TEXT);
            memcpy(lb, buf + p, l.len);
            lb[l.len] = '\0';
            rc = err_at(a, &l, l.len, "NUL byte in source");
            break;
        }
        if (e - p > UC_MAX_TEXT) {
            l.len = 0;
            lb[0] = '\0';
            rc = sim_err_set(a->err, "%s:%u:%u: line too long (more than %u characters)",
                             a->img->files[file], lineno, UC_MAX_TEXT + 1, UC_MAX_TEXT);
            break;
        }
        size_t len = e - p;
        while (len > 0 && is_blank(buf[p + len - 1]))
            len--;
        memcpy(lb, buf + p, len);
        lb[len] = '\0';
        l.len = (uint32_t)len;
        if (a->collecting >= 0) {
            rc = collect_line(a, &l);
        } else {
            rc = process_line(a, &l);
            if (a->collecting >= 0)
                macro_line = lineno;
        }
        p = e + 1;
    }
    if (rc == 0 && a->collecting >= 0)
        rc = sim_err_set(a->err,
                         "%s:%u:%u: unterminated macro '%s' (no .endm before the end of "
                         "the file)",
                         a->img->files[file], macro_line, a->collect_col,
                         a->macros[a->collecting].name);
    free(lb);
    return rc;
}

/* ---- pass 2 and the whole ---- */

static int pass2(assembler *a)
{
    for (uint32_t r = 0; r < a->nrecs; r++) {
        const rec *x = &a->recs[r];
        src_line l = {x->text, x->len,  x->colmap, x->file, x->line,
                      x->file, x->line, x->mctx,   0,       0};
        tok *t;
        uint32_t n = 0;
        if (tokenize(a, &l, &t, &n)) {
            free(t);
            return -1;
        }
        cur c = {a, &l, t, n, 0, NULL, false, 0};
        if (n >= 2 && t[0].kind == T_ID && t[1].kind == T_PUNCT && t[1].c == ':')
            c.i = 2;
        int rc;
        if (x->entry) {
            c.i++; /* .entry */
            c.usage = ".entry EVENT_TYPE LABEL";
            rc = dir_entry(&c, true);
        } else {
            uint64_t word = 0;
            const tok *h = &t[c.i];
            rc = parse_insn(&c, (unsigned)op_find(l.text + h->pos, h->len), &word);
            a->img->code[x->pc] = word;
        }
        free(t);
        if (rc)
            return rc;
    }
    return 0;
}

/* The core refuses code that can run past its end (core_init); say so here, at the line. */
static int check_last(assembler *a)
{
    const uc_image *img = a->img;
    if (img->ncode == 0)
        return 0;
    unsigned op = uc_op_of(img->code[img->ncode - 1]) & UC_OPMASK;
    if (op == UC_JA || op == UC_RET || op == UC_FIN || op == UC_TRAP)
        return 0;
    const rec *x = NULL;
    for (uint32_t r = a->nrecs; r-- > 0 && !x;)
        if (!a->recs[r].entry)
            x = &a->recs[r];
    if (!x) /* every instruction has its record */
        return 0;
    src_line l = {x->text, x->len, x->colmap, x->file, x->line, x->file, x->line, x->mctx, 0, 0};
    tok *t;
    uint32_t n = 0;
    if (tokenize(a, &l, &t, &n)) {
        free(t);
        return -1;
    }
    uint32_t pos = n >= 2 && t[0].kind == T_ID && t[1].kind == T_PUNCT ? t[2].pos : t[0].pos;
    free(t);
    return err_at(a, &l, pos,
                  "the last instruction, '%s', can run past the end of the code (end with ja, "
                  "ret, fin or trap)",
                  uc_op_name(op));
}

static int check_entries(assembler *a)
{
    static const struct {
        const char *proto;
        uint8_t types[EV_TYPE_COUNT];
        unsigned n;
    } need[] = {
        {"tcp", {EV_TCP_SYN, EV_TCP_SYNACK, EV_TCP_ACK, EV_TCP_DATA, EV_TCP_FIN, EV_TCP_RST}, 6},
        {"udp", {EV_UDP_DATAGRAM}, 1},
        {"roce",
         {EV_ROCE_SEND_FIRST, EV_ROCE_SEND_MIDDLE, EV_ROCE_SEND_LAST, EV_ROCE_SEND_ONLY,
          EV_ROCE_WRITE_FIRST, EV_ROCE_WRITE_MIDDLE, EV_ROCE_WRITE_LAST, EV_ROCE_WRITE_ONLY,
          EV_ROCE_ACK, EV_ROCE_NAK, EV_ROCE_ACK_TIMER, EV_ROCE_INTERNAL, EV_ROCE_CONNECT},
         13},
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        if (strcmp(a->img->protocol, need[i].proto) != 0)
            continue;
        for (unsigned k = 0; k < need[i].n; k++)
            if (a->img->entry[need[i].types[k]] == UC_NO_ENTRY)
                return sim_err_set(a->err,
                                   "%s:1:1: missing .entry for %s (required by .protocol %s)",
                                   a->img->files[0], ev_type_name(need[i].types[k]), need[i].proto);
    }
    return 0;
}

static void assembler_fini(assembler *a)
{
    for (uint32_t i = 0; i < a->nmacros; i++) {
        for (uint32_t k = 0; k < a->macros[i].nbody; k++)
            free(a->macros[i].body[k]);
        free(a->macros[i].body);
    }
    free(a->macros);
    for (uint32_t i = 0; i < a->nrecs; i++) {
        free(a->recs[i].text);
        free(a->recs[i].colmap);
        free(a->recs[i].mctx);
    }
    free(a->recs);
    if (a->dirs)
        for (uint32_t i = 0; i < a->img->nfiles; i++)
            free(a->dirs[i]);
    free(a->dirs);
    free(a->si);
    free(a->hash);
}

static int assemble(const char *name, const char *dir, const char *src, size_t n, uc_image *img,
                    sim_err *err)
{
    memset(img, 0, sizeof *img);
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        img->entry[t] = UC_NO_ENTRY;
    assembler a;
    memset(&a, 0, sizeof a);
    a.img = img;
    a.err = err;
    a.collecting = -1;
    a.cur_portion = -1;
    uint16_t idx = 0;
    int rc;
    if (reserve((void **)&img->files, &a.filecap, 1, sizeof *img->files) ||
        !(img->files[0] = xstrdup(name))) {
        rc = sim_err_set(err, "%s: out of memory", name);
    } else {
        img->nfiles = 1;
        uint32_t cap = 0;
        if (reserve((void **)&a.dirs, &cap, a.filecap, sizeof *a.dirs) ||
            !(a.dirs[0] = xstrdup(dir))) {
            rc = oom(&a);
            /* dirs[0] may be unset: make fini safe */
            if (a.dirs)
                a.dirs[0] = NULL;
        } else {
            a.incstack[a.nincs++] = idx;
            rc = process_file(&a, idx, src, n, 0);
            if (rc == 0)
                rc = pass2(&a);
            if (rc == 0)
                rc = check_last(&a);
            if (rc == 0)
                rc = check_entries(&a);
        }
    }
    assembler_fini(&a);
    if (rc)
        uc_image_free(img);
    return rc;
}

int uc_assemble_string(const char *name, const char *src, uc_image *img, sim_err *err)
{
    return assemble(name, "", src, strlen(src), img, err);
}

int uc_assemble_file(const char *path, uc_image *img, sim_err *err)
{
    memset(img, 0, sizeof *img);
    char *buf;
    size_t n;
    if (slurp(path, &buf, &n))
        return sim_err_set(err, "%s: cannot read: %s", path,
                           errno == EFBIG ? "larger than 16 MiB" : strerror(errno));
    char *norm = join_path("", path);
    char *dir = norm ? dir_of(norm) : NULL;
    int rc = norm && dir ? assemble(norm, dir, buf, n, img, err)
                         : sim_err_set(err, "%s: out of memory", path);
    free(norm);
    free(dir);
    free(buf);
    return rc;
}

/* ---- disassembly and listings ---- */

/* Lookup tables for symbolic operands; built once for a whole listing. */
typedef struct names {
    const uc_image *img;
    const uint32_t *label_at; /* per pc (ncode + 1): symbol index + 1 of its first label, or 0 */
} names;

static const char *label_name(const names *nm, uint32_t pc, char *buf, size_t size)
{
    const uc_image *img = nm->img;
    if (nm->label_at) {
        if (pc <= img->ncode && nm->label_at[pc])
            return img->syms[nm->label_at[pc] - 1].name;
    } else {
        for (uint32_t i = 0; i < img->nsyms; i++)
            if (img->syms[i].kind == UC_SYM_LABEL && img->syms[i].value == pc)
                return img->syms[i].name;
    }
    snprintf(buf, size, "L%u", pc);
    return buf;
}

static const char *field_at(const uc_image *img, uint32_t addr)
{
    for (uint32_t i = 0; i < img->nsyms; i++)
        if (img->syms[i].kind == UC_SYM_FIELD && img->syms[i].value == addr)
            return img->syms[i].name;
    return NULL;
}

static void fmt_imm(uint32_t v, char *buf, size_t size)
{
    int32_t s = (int32_t)v;
    if (s < 0 && s >= -65536)
        snprintf(buf, size, "%d", s);
    else if (v <= 65535)
        snprintf(buf, size, "%u", v);
    else
        snprintf(buf, size, "0x%x", v);
}

static void fmt_mem(const uc_image *img, uint64_t w, bool ws, unsigned base, char *buf, size_t size)
{
    unsigned op = uc_op_of(w);
    uint16_t off = uc_off_of(w);
    if (op & UC_ABS) {
        const char *f = ws ? field_at(img, off) : NULL;
        if (f)
            snprintf(buf, size, "[%s]", f);
        else
            snprintf(buf, size, "[%u]", off);
    } else if (off == 0) {
        snprintf(buf, size, "[r%u]", base);
    } else {
        int16_t s = (int16_t)off;
        snprintf(buf, size, "[r%u %c %d]", base, s < 0 ? '-' : '+', s < 0 ? -(int)s : (int)s);
    }
}

static void disasm(const names *nm, uint32_t pc, char *buf, size_t size)
{
    const uc_image *img = nm->img;
    if (size == 0)
        return;
    buf[0] = '\0';
    if (pc >= img->ncode) {
        snprintf(buf, size, "<no instruction at %u>", pc);
        return;
    }
    uint64_t w = img->code[pc];
    unsigned op = uc_op_of(w) & UC_OPMASK, k = uc_op_of(w) & UC_K;
    unsigned d = uc_dst_of(w), s = uc_src_of(w);
    const char *mn = uc_op_name(op);
    char src[24], tgt[UC_NAME_MAX + 16], mem[UC_NAME_MAX + 16], lb[24];
    if (!mn) {
        snprintf(buf, size, "<bad opcode 0x%02x>", uc_op_of(w));
        return;
    }
    if (k)
        fmt_imm(uc_imm_of(w), src, sizeof src);
    else
        snprintf(src, sizeof src, "r%u", s);
    snprintf(tgt, sizeof tgt, "%s", label_name(nm, uc_off_of(w), lb, sizeof lb));
    if (op == UC_NOP || op == UC_FIN || op == UC_RET) {
        snprintf(buf, size, "%s", mn);
    } else if (op == UC_NEG || op == UC_NOT) {
        snprintf(buf, size, "%s r%u", mn, d);
    } else if (is_alu(op)) {
        snprintf(buf, size, "%s r%u, %s", mn, d, src);
    } else if (op == UC_JA || op == UC_CALL) {
        snprintf(buf, size, "%s %s", mn, tgt);
    } else if (is_jcc(op)) {
        snprintf(buf, size, "%s r%u, %s, %s", mn, d, src, tgt);
    } else if (is_load(op)) {
        fmt_mem(img, w, op < UC_LDPW, s, mem, sizeof mem);
        snprintf(buf, size, "%s r%u, %s", mn, d, mem);
    } else if (is_store(op)) {
        fmt_mem(img, w, true, d, mem, sizeof mem);
        snprintf(buf, size, "%s %s, %s", mn, mem, src);
    } else if (op == UC_LDEV) {
        const char *f = uc_evf_name(uc_imm_of(w));
        if (f)
            snprintf(buf, size, "ldev r%u, %s", d, f);
        else
            snprintf(buf, size, "ldev r%u, <bad field %u>", d, uc_imm_of(w));
    } else if (op == UC_CMD) {
        const char *f = uc_cmd_name(uc_imm_of(w));
        if (f)
            snprintf(buf, size, "cmd %s", f);
        else
            snprintf(buf, size, "cmd <bad command %u>", uc_imm_of(w));
    } else { /* UC_TRAP */
        fmt_imm(uc_imm_of(w), src, sizeof src);
        snprintf(buf, size, "trap %s", src);
    }
}

void uc_disassemble(const uc_image *img, uint32_t pc, char *buf, size_t size)
{
    names nm = {img, NULL};
    disasm(&nm, pc, buf, size);
}

/* label_at for a whole image (NULL when out of memory: the slow path then serves). */
static uint32_t *label_table(const uc_image *img)
{
    uint32_t *t = calloc((size_t)img->ncode + 1, sizeof *t);
    if (!t)
        return NULL;
    for (uint32_t i = img->nsyms; i-- > 0;) /* backwards: the first label wins */
        if (img->syms[i].kind == UC_SYM_LABEL && img->syms[i].value <= img->ncode)
            t[img->syms[i].value] = i + 1;
    return t;
}

static const char *file_name(const uc_image *img, uint32_t pc)
{
    uint32_t f = img->file ? img->file[pc] : 0;
    return f < img->nfiles ? img->files[f] : "?";
}

static void fmt_const(const uc_symbol *s, char *buf, size_t size)
{
    if ((int32_t)s->value < 0)
        snprintf(buf, size, "%d", (int32_t)s->value);
    else
        snprintf(buf, size, "%u", s->value);
}

void uc_write_listing(const uc_image *img, FILE *out)
{
    names nm = {img, NULL};
    uint32_t *lt = label_table(img);
    nm.label_at = lt;
    char buf[256];
    fprintf(out, "listing of %s\n", img->nfiles ? img->files[0] : "?");
    fprintf(out, "protocol   %s\n", img->protocol[0] ? img->protocol : "(none)");
    fprintf(out, "workspace  %u bytes\n", img->ws_size);
    for (uint32_t i = 0; i < img->nportions; i++)
        fprintf(out, "portion    %-24s offset %5u  size %5u\n", img->portions[i].name,
                img->portions[i].off, img->portions[i].size);
    for (uint32_t i = 0; i < img->nsyms; i++)
        if (img->syms[i].kind == UC_SYM_FIELD)
            fprintf(out, "field      %-24s addr   %5u  size %5u\n", img->syms[i].name,
                    img->syms[i].value, img->syms[i].size);
    for (uint32_t i = 0; i < img->nsyms; i++)
        if (img->syms[i].kind == UC_SYM_CONST) {
            fmt_const(&img->syms[i], buf, sizeof buf);
            fprintf(out, "const      %-24s %s (0x%x)\n", img->syms[i].name, buf,
                    img->syms[i].value);
        }
    for (unsigned i = 0; i < EVC_COUNT + EV_TYPE_COUNT; i++) {
        bool cls = i < EVC_COUNT;
        unsigned t = cls ? 0 : i - EVC_COUNT;
        if (cls ? !img->class_portions[i] : !img->type_needs[t])
            continue;
        uint8_t mask = cls ? img->class_portions[i] : img->type_portions[t];
        fprintf(out, "needs      %-24s", cls ? ev_class_name(i) : ev_type_name(t));
        const char *sep = " ";
        for (uint32_t p = 0; p < UC_MAX_PORTIONS; p++)
            if (mask >> p & 1) {
                fprintf(out, "%s%s", sep, p < img->nportions ? img->portions[p].name : "?");
                sep = ", ";
            }
        fprintf(out, "\n");
    }
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        if (img->entry[t] != UC_NO_ENTRY)
            fprintf(out, "entry      %-24s %s (pc %u)\n", ev_type_name(t),
                    label_name(&nm, img->entry[t], buf, sizeof buf), img->entry[t]);
    for (uint32_t i = 0; i < img->nsyms; i++)
        if (img->syms[i].kind == UC_SYM_LABEL)
            fprintf(out, "label      %-24s pc %u\n", img->syms[i].name, img->syms[i].value);
    int w = 9; /* "file:line" */
    for (uint32_t pc = 0; pc < img->ncode; pc++) {
        int n =
            snprintf(buf, sizeof buf, "%s:%u", file_name(img, pc), img->line ? img->line[pc] : 0);
        if (n > w)
            w = n;
    }
    fprintf(out, "\n%5s  %-16s  %-*s  %s\n", "pc", "encoding", w, "file:line", "source");
    for (uint32_t pc = 0; pc < img->ncode; pc++) {
        char loc[UC_MAX_PATH + 16];
        snprintf(loc, sizeof loc, "%s:%u", file_name(img, pc), img->line ? img->line[pc] : 0);
        const char *text = img->text ? img->text[pc] : NULL;
        if (!text) {
            disasm(&nm, pc, buf, sizeof buf);
            text = buf;
        }
        fprintf(out, "%5u  %016llx  %-*s  %s\n", pc, (unsigned long long)img->code[pc], w, loc,
                text);
    }
    free(lt);
}

void uc_write_disassembly(const uc_image *img, FILE *out)
{
    names nm = {img, NULL};
    uint32_t *lt = label_table(img);
    nm.label_at = lt;
    char buf[256];
    fprintf(out, "; disassembly of %s: %u instructions, workspace %u bytes\n",
            img->nfiles ? img->files[0] : "?", img->ncode, img->ws_size);
    if (img->protocol[0])
        fprintf(out, ".protocol %s\n", img->protocol);
    for (uint32_t i = 0; i < img->nsyms; i++)
        if (img->syms[i].kind == UC_SYM_CONST) {
            fmt_const(&img->syms[i], buf, sizeof buf);
            fprintf(out, ".const %s = %s\n", img->syms[i].name, buf);
        }
    for (uint32_t p = 0; p < img->nportions; p++) {
        const uc_portion *po = &img->portions[p];
        size_t pl = strlen(po->name);
        fprintf(out, ".portion %s %u\n", po->name, po->size);
        uint32_t at = po->off;
        for (;;) { /* the portion's fields in address order */
            const uc_symbol *f = NULL;
            for (uint32_t i = 0; i < img->nsyms; i++) {
                const uc_symbol *s = &img->syms[i];
                if (s->kind == UC_SYM_FIELD && s->value >= at &&
                    strncmp(s->name, po->name, pl) == 0 && s->name[pl] == '.' &&
                    (!f || s->value < f->value))
                    f = s;
            }
            if (!f)
                break;
            uint32_t align = f->size >= 4 ? 4 : f->size >= 2 ? 2 : 1;
            uint32_t expect = po->off + ((at - po->off + align - 1) / align * align);
            if (f->value != expect)
                fprintf(out, "; note: the field below is at address %u, not %u\n", f->value,
                        expect);
            fprintf(out, ".field %s %u\n", f->name + pl + 1, f->size);
            at = f->value + (f->size ? f->size : 1);
        }
    }
    for (unsigned i = 0; i < EVC_COUNT + EV_TYPE_COUNT; i++) {
        bool cls = i < EVC_COUNT;
        unsigned t = cls ? 0 : i - EVC_COUNT;
        uint8_t mask = cls ? img->class_portions[i] : img->type_portions[t];
        if (cls ? !mask : !img->type_needs[t] || !mask)
            continue; /* the assembler never makes an empty override (.needs names a portion) */
        fprintf(out, ".needs %s", cls ? ev_class_name(i) : ev_type_name(t));
        const char *sep = " ";
        for (uint32_t p = 0; p < img->nportions; p++)
            if (mask >> p & 1) {
                fprintf(out, "%s%s", sep, img->portions[p].name);
                sep = ", ";
            }
        fprintf(out, "\n");
    }
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        if (img->entry[t] != UC_NO_ENTRY)
            fprintf(out, ".entry %s %s\n", ev_type_name(t),
                    label_name(&nm, img->entry[t], buf, sizeof buf));
    /* pcs that need a made-up label: branch targets and entries with none of their own */
    uint8_t *synth = calloc((size_t)img->ncode + 1, 1);
    for (uint32_t pc = 0; synth && pc < img->ncode; pc++) {
        unsigned op = uc_op_of(img->code[pc]) & UC_OPMASK;
        if (op == UC_JA || op == UC_CALL || is_jcc(op)) {
            uint32_t tg = uc_off_of(img->code[pc]);
            if (tg <= img->ncode)
                synth[tg] = 1;
        }
    }
    for (unsigned t = 0; synth && t < EV_TYPE_COUNT; t++)
        if (img->entry[t] < img->ncode)
            synth[img->entry[t]] = 1;
    /* every label of each pc, in definition order: lt holds the first, next[] chains the rest */
    uint32_t *next = calloc((size_t)img->nsyms + 1, sizeof *next);
    uint32_t *last = calloc((size_t)img->ncode + 1, sizeof *last);
    for (uint32_t i = 0; next && last && lt && i < img->nsyms; i++) {
        const uc_symbol *s = &img->syms[i];
        if (s->kind != UC_SYM_LABEL || s->value > img->ncode)
            continue;
        if (last[s->value])
            next[last[s->value]] = i + 1;
        last[s->value] = i + 1;
    }
    fprintf(out, "\n");
    for (uint32_t pc = 0; pc <= img->ncode; pc++) {
        bool labelled = false;
        if (next && last && lt) {
            for (uint32_t i = lt[pc]; i; i = next[i]) {
                fprintf(out, "%s:\n", img->syms[i - 1].name);
                labelled = true;
            }
        } else {
            for (uint32_t i = 0; i < img->nsyms; i++)
                if (img->syms[i].kind == UC_SYM_LABEL && img->syms[i].value == pc) {
                    fprintf(out, "%s:\n", img->syms[i].name);
                    labelled = true;
                }
        }
        if (!labelled && synth && synth[pc])
            fprintf(out, "L%u:\n", pc);
        if (pc == img->ncode)
            break;
        disasm(&nm, pc, buf, sizeof buf);
        fprintf(out, "        %-36s ; %5u  %016llx  %s:%u\n", buf, pc,
                (unsigned long long)img->code[pc], file_name(img, pc),
                img->line ? img->line[pc] : 0);
    }
    free(next);
    free(last);
    free(synth);
    free(lt);
}

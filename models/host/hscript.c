/* hscript: the host command file. See hscript.h for the format.
 *
 * Parsed line by line into an array in file order, then sorted stably by time (a merge sort:
 * qsort is not stable). Addresses are parsed here rather than with inet_pton, so that the models
 * stay plain C11. */
#include "hscript.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HS_MAX_US 1000000000000ull /* 10^12 us */
#define HS_MAX_BYTES (1ull << 40)

typedef struct parser {
    const char *name;
    uint32_t line;
    sim_err *err;
    hs_event *ev;
    size_t n, cap;
    uint32_t connects;
    size_t *conn_ev; /* index in ev of each connect, by number - 1 */
} parser;

static int fail(parser *p, const char *fmt, const char *arg)
{
    char msg[200];
    snprintf(msg, sizeof msg, fmt, arg);
    return sim_err_set(p->err, "%s:%" PRIu32 ": %s", p->name, p->line, msg);
}

/* Decimal digits only, value <= max; 0 or -1. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!*s)
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* "12", "12.5", "0.000001": microseconds to picoseconds, exactly. */
static int parse_time(const char *s, simtime_ps *out)
{
    char ip[32];
    const char *dot = strchr(s, '.');
    size_t il = dot ? (size_t)(dot - s) : strlen(s);
    if (il == 0 || il >= sizeof ip)
        return -1;
    memcpy(ip, s, il);
    ip[il] = 0;
    uint64_t us, frac = 0;
    if (parse_u64(ip, HS_MAX_US, &us))
        return -1;
    if (dot) {
        const char *f = dot + 1;
        size_t fl = strlen(f);
        if (fl == 0 || fl > 6 || parse_u64(f, 999999, &frac))
            return -1;
        for (size_t i = fl; i < 6; i++)
            frac *= 10;
    }
    *out = us * 1000000u + frac; /* 10^-6 us = 1 ps */
    return 0;
}

static int parse_ipv4(const char *s, size_t len, uint8_t out[4])
{
    size_t i = 0;
    for (int k = 0; k < 4; k++) {
        if (k && (i >= len || s[i++] != '.'))
            return -1;
        unsigned v = 0, nd = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9' && nd < 4) {
            v = v * 10 + (unsigned)(s[i++] - '0');
            nd++;
        }
        if (!nd || nd > 3 || v > 255)
            return -1;
        out[k] = (uint8_t)v;
    }
    return i == len ? 0 : -1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 4291 text: groups of 1-4 hex digits, one "::" at most, a dotted IPv4 tail allowed. */
static int parse_ipv6(const char *s, size_t len, uint8_t out[16])
{
    uint16_t g[8];
    int ng = 0, gap = -1;
    size_t i = 0;
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (len && s[0] == ':') {
        return -1;
    }
    while (i < len) {
        size_t j = i;
        unsigned v = 0;
        while (j < len && hexval(s[j]) >= 0 && j - i < 5)
            v = v * 16 + (unsigned)hexval(s[j++]);
        if (j < len && s[j] == '.') { /* an IPv4 tail */
            uint8_t v4[4];
            if (ng > 6 || parse_ipv4(s + i, len - i, v4))
                return -1;
            g[ng++] = (uint16_t)(v4[0] << 8 | v4[1]);
            g[ng++] = (uint16_t)(v4[2] << 8 | v4[3]);
            break;
        }
        if (j == i || j - i > 4 || ng == 8)
            return -1;
        g[ng++] = (uint16_t)v;
        i = j;
        if (i == len)
            break;
        if (s[i] != ':')
            return -1;
        i++;
        if (i < len && s[i] == ':') {
            if (gap >= 0)
                return -1;
            gap = ng;
            i++;
        } else if (i == len) {
            return -1; /* a trailing single colon */
        }
    }
    if (gap < 0 ? ng != 8 : ng > 7)
        return -1;
    memset(out, 0, 16);
    int tail = gap < 0 ? 0 : ng - gap;
    for (int k = 0; k < ng; k++) {
        size_t at = (size_t)(gap >= 0 && k >= gap ? 8 - tail + (k - gap) : k);
        out[2 * at] = (uint8_t)(g[k] >> 8);
        out[2 * at + 1] = (uint8_t)g[k];
    }
    return 0;
}

/* "IP:PORT" or "[IPV6]:PORT" of len bytes. */
static int parse_endpoint(const char *s, size_t len, uint8_t *af, uint8_t ip[16], uint16_t *port)
{
    size_t colon;
    memset(ip, 0, 16);
    if (len && s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        if (!rb)
            return -1;
        size_t al = (size_t)(rb - s) - 1;
        if (parse_ipv6(s + 1, al, ip))
            return -1;
        colon = al + 2;
        if (colon >= len || s[colon] != ':')
            return -1;
        *af = 6;
    } else {
        const char *c = memchr(s, ':', len);
        if (!c)
            return -1;
        colon = (size_t)(c - s);
        if (parse_ipv4(s, colon, ip))
            return -1;
        *af = 4;
    }
    char pb[8];
    size_t pl = len - colon - 1;
    uint64_t v;
    if (pl == 0 || pl >= sizeof pb)
        return -1;
    memcpy(pb, s + colon + 1, pl);
    pb[pl] = 0;
    if (parse_u64(pb, 65535, &v) || v == 0)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* The key of local -> remote addresses, as the remote sends. */
static int make_key(parser *p, const char *local, size_t ll, const char *remote, size_t rl,
                    flow_key *k)
{
    uint8_t laf, raf, lip[16], rip[16];
    uint16_t lport, rport;
    char what[128];
    if (parse_endpoint(local, ll, &laf, lip, &lport)) {
        snprintf(what, sizeof what, "%.*s", (int)(ll > 100 ? 100 : ll), local);
        return fail(p, "bad address '%s' (expected IP:PORT or [IPV6]:PORT, port 1..65535)", what);
    }
    if (parse_endpoint(remote, rl, &raf, rip, &rport)) {
        snprintf(what, sizeof what, "%.*s", (int)(rl > 100 ? 100 : rl), remote);
        return fail(p, "bad address '%s' (expected IP:PORT or [IPV6]:PORT, port 1..65535)", what);
    }
    if (laf != raf)
        return fail(p, "%s", "the two addresses are of different IP versions");
    flow_key_clear(k);
    memcpy(k->src, rip, 16);
    memcpy(k->dst, lip, 16);
    k->sport = rport;
    k->dport = lport;
    k->af = laf;
    k->proto = 6;
    return 0;
}

/* FLOWREF into e (key, conn). */
static int parse_ref(parser *p, const char *s, hs_event *e)
{
    if (s[0] == '#') {
        uint64_t n;
        if (parse_u64(s + 1, UINT32_MAX, &n) || n == 0)
            return fail(p, "bad connection reference '%s' (expected #N, N from 1)", s);
        if (n > p->connects)
            return fail(p, "'%s' names a connect line that does not come before it", s);
        const hs_event *c = &p->ev[p->conn_ev[n - 1]];
        if (c->t_ps > e->t_ps)
            return fail(p, "'%s' names a connect line of a later time", s);
        e->key = c->key;
        e->conn = (uint32_t)n;
        return 0;
    }
    /* LOCAL-REMOTE: split at the '-' that follows a port */
    const char *dash = NULL;
    for (const char *q = s; (q = strchr(q, '-')) != NULL; q++)
        if (q > s && q[-1] >= '0' && q[-1] <= '9' && strchr(s, ':') < q) {
            dash = q;
            break;
        }
    if (!dash)
        return fail(p, "bad connection reference '%s' (expected LOCALIP:PORT-REMOTEIP:PORT or #N)",
                    s);
    e->conn = 0;
    return make_key(p, s, (size_t)(dash - s), dash + 1, strlen(dash + 1), &e->key);
}

static hs_event *push(parser *p)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        hs_event *v = realloc(p->ev, cap * sizeof *v);
        if (!v)
            return NULL;
        p->ev = v;
        p->cap = cap;
    }
    hs_event *e = &p->ev[p->n];
    memset(e, 0, sizeof *e);
    return e;
}

/* One line (NUL-terminated, comment cut): 0, or -1 with the error set. */
static int parse_line(parser *p, char *text)
{
    char *tok[5] = {NULL};
    int nt = 0;
    for (char *c = text;;) { /* fields split at blanks */
        while (*c == ' ' || *c == '\t' || *c == '\r')
            *c++ = 0;
        if (!*c)
            break;
        if (nt == 5)
            return fail(p, "%s", "too many fields");
        tok[nt++] = c;
        while (*c && *c != ' ' && *c != '\t' && *c != '\r')
            c++;
    }
    if (!nt)
        return 0;
    hs_event *e = push(p);
    if (!e)
        return sim_err_set(p->err, "%s: out of memory", p->name);
    e->line = p->line;
    if (parse_time(tok[0], &e->t_ps))
        return fail(p, "bad time '%s' (microseconds, e.g. 12 or 12.5, at most 6 decimals)", tok[0]);
    if (nt < 2)
        return fail(p, "%s", "a time without a command");
    const char *v = tok[1];
    int want;
    if (!strcmp(v, "connect")) {
        e->verb = HS_CONNECT;
        want = 4;
    } else if (!strcmp(v, "send")) {
        e->verb = HS_SEND;
        want = 4;
    } else if (!strcmp(v, "close")) {
        e->verb = HS_CLOSE;
        want = 3;
    } else if (!strcmp(v, "abort")) {
        e->verb = HS_ABORT;
        want = 3;
    } else {
        return fail(p, "unknown command '%s' (connect, send, close, abort)", v);
    }
    if (nt != want) {
        static const char *const usage[] = {"connect takes LOCALIP:PORT REMOTEIP:PORT",
                                            "send takes FLOWREF BYTES", "close takes FLOWREF",
                                            "abort takes FLOWREF"};
        return fail(p, "%s", usage[e->verb]);
    }
    if (e->verb == HS_CONNECT) {
        if (make_key(p, tok[2], strlen(tok[2]), tok[3], strlen(tok[3]), &e->key))
            return -1;
        for (uint32_t i = 0; i < p->connects; i++) {
            const hs_event *c = &p->ev[p->conn_ev[i]];
            if (flow_key_eq(&c->key, &e->key)) {
                char l[16];
                snprintf(l, sizeof l, "%" PRIu32, c->line);
                return fail(p, "connect repeats the addresses of line %s", l);
            }
        }
        size_t *ce = realloc(p->conn_ev, (p->connects + 1) * sizeof *ce);
        if (!ce)
            return sim_err_set(p->err, "%s: out of memory", p->name);
        p->conn_ev = ce;
        ce[p->connects++] = p->n;
        e->conn = p->connects;
    } else {
        if (parse_ref(p, tok[2], e))
            return -1;
        if (e->verb == HS_SEND && (parse_u64(tok[3], HS_MAX_BYTES, &e->bytes) || e->bytes == 0))
            return fail(p, "bad byte count '%s' (1 .. 2^40)", tok[3]);
    }
    p->n++;
    return 0;
}

/* Stable merge sort of v[0..n) by time, using tmp. */
static void sort_events(hs_event *v, hs_event *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_events(v, tmp, h);
    sort_events(v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = v[j].t_ps < v[i].t_ps ? v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

hscript *hscript_parse(const char *text, size_t len, const char *name, sim_err *err)
{
    parser p = {.name = name, .err = err};
    char buf[1024];
    size_t i = 0;
    int rc = 0;
    while (i < len && !rc) {
        p.line++;
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        size_t l = j - i;
        if (l >= sizeof buf) {
            rc = fail(&p, "%s", "line too long (1023 characters at most)");
            break;
        }
        memcpy(buf, text + i, l);
        buf[l] = 0;
        if (memchr(buf, 0, l)) {
            rc = fail(&p, "%s", "a NUL byte (not a text file?)");
            break;
        }
        /* cut the comment: from a '#' that is the line's first non-blank or is not followed by
         * a digit (#3 is a connection reference) */
        char *first = buf + strspn(buf, " \t\r");
        for (char *c = first; *c; c++)
            if (*c == '#' && (c == first || !(c[1] >= '0' && c[1] <= '9'))) {
                *c = 0;
                break;
            }
        rc = parse_line(&p, buf);
        i = j + 1;
    }
    free(p.conn_ev);
    if (rc) {
        free(p.ev);
        return NULL;
    }
    hscript *s = calloc(1, sizeof *s);
    hs_event *tmp = p.n ? malloc(p.n * sizeof *tmp) : NULL;
    if (!s || (p.n && !tmp)) {
        free(s);
        free(tmp);
        free(p.ev);
        sim_err_set(err, "%s: out of memory", name);
        return NULL;
    }
    sort_events(p.ev, tmp, p.n);
    free(tmp);
    s->ev = p.ev;
    s->n = p.n;
    s->connects = p.connects;
    return s;
}

hscript *hscript_load(const char *path, sim_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sim_err_set(err, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 65536;
            char *t = realloc(text, nc);
            if (!t) {
                free(text);
                fclose(f);
                sim_err_set(err, "%s: out of memory", path);
                return NULL;
            }
            text = t;
            cap = nc;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        sim_err_set(err, "%s: cannot read: I/O error", path);
        return NULL;
    }
    hscript *s = hscript_parse(text, len, path, err);
    free(text);
    return s;
}

void hscript_free(hscript *s)
{
    if (!s)
        return;
    free(s->ev);
    free(s);
}

bool hscript_names(const hscript *s, const flow_key *k)
{
    for (size_t i = 0; i < s->n; i++)
        if (flow_key_eq(&s->ev[i].key, k))
            return true;
    return false;
}

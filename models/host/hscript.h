/* hscript: the host command file (--host-script FILE, issue 5): what the host does at given
 * times, beside (or instead of) the host application of the config. One command a line:
 *
 *     T_US VERB ARGS          # a comment; blank lines and lines of only a comment are skipped
 *
 * A comment runs from a '#' that is the line's first non-blank character, or that is not
 * followed by a digit (#3 is a connection reference), to the end of the line. Fields are
 * separated by blanks (spaces, tabs; a CR before the newline is ignored); lines are at most
 * 1023 characters.
 *
 *   T_US     the simulated time in microseconds: a decimal number with at most 6 digits after
 *            the point (exact to the picosecond), at most 10^12 us.
 *   connect LOCALIP:PORT REMOTEIP:PORT   an active open from the chip's address and port to the
 *            remote's (the caller allocates a flow and has the chip send the SYN). IPv6
 *            addresses in brackets: [2001:db8::1]:443. Both of one family; ports 1..65535.
 *   send FLOWREF BYTES       the host writes BYTES (1 .. 2^40) of the pattern on the connection.
 *   close FLOWREF            the host closes it (FIN after what it wrote).
 *   abort FLOWREF            the host resets it (RST).
 *
 * FLOWREF names a connection: by its addresses, LOCALIP:PORT-REMOTEIP:PORT (the chip's side
 * first, as connect writes them: 10.0.0.1:80-10.0.0.2:40000), which may be a connection the
 * remote side opened; or #N, the N-th connect line of the file (from 1), whose time must not be
 * later than the referring line's. A connect may not repeat the addresses of an earlier connect.
 *
 * Events come out sorted by time, lines of the same time in file order. Every malformed line
 * is an error "FILE:LINE: message" (the first one found). */
#ifndef SPPSIM_HSCRIPT_H
#define SPPSIM_HSCRIPT_H

#include "flow_key.h"
#include "sim_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hs_verb { HS_CONNECT, HS_SEND, HS_CLOSE, HS_ABORT } hs_verb;

typedef struct hs_event {
    simtime_ps t_ps;
    uint32_t verb;  /* hs_verb */
    uint32_t line;  /* in the file, from 1 */
    uint32_t conn;  /* connect: its number (from 1); a #N reference: N; by addresses: 0 */
    uint64_t bytes; /* send */
    /* the connection: the key as the remote sends (src = remote, dst = the chip, proto TCP),
     * the dispatcher's orientation */
    flow_key key;
} hs_event;

typedef struct hscript {
    hs_event *ev; /* n events in time order */
    size_t n;
    uint32_t connects;
} hscript;

/* Parses text (len bytes; need not be NUL-terminated) named name in errors. Returns the script,
 * or NULL with err filled ("name:line: message", or out of memory). */
hscript *hscript_parse(const char *text, size_t len, const char *name, sim_err *err);
/* Reads and parses the file at path ("path: cannot read: reason" when it cannot). */
hscript *hscript_load(const char *path, sim_err *err);
void hscript_free(hscript *s);
/* True when some event of s names k's connection (k as the remote sends). */
bool hscript_names(const hscript *s, const flow_key *k);

#ifdef __cplusplus
}
#endif
#endif

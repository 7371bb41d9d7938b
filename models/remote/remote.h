/* remote: the closed-loop traffic generator's far side (issue 5). A testbench model, not a chip
 * unit: the network link between the chip's port and a set of remote TCP endpoints, and those
 * endpoints themselves: N clients that open connections to the chip at a rate, send requests
 * and read responses (or send or receive in bulk), and close; and/or a server that accepts the
 * chip's active opens and answers them. docs/generator.md describes it in full.
 *
 * Link: in each direction one store-and-forward hop: a frame whose last bit enters it at t
 * leaves after max(t, the end of the previous frame) + its serialisation at rate_mbps (frame
 * + 4 FCS + 20 preamble and gap), and arrives delay_us later. Each frame is lost with
 * probability loss_ppm / 1e6, and otherwise delayed reorder_us more with probability
 * reorder_ppm / 1e6 (so later frames may overtake it), each direction with its own seeded
 * generator. No queue limit: the link loses only at random.
 *
 * TCP: three-way handshake with MSS and window scale, sequence numbers modulo 2^32, ISNs from
 * the seeded generator, immediate cumulative ACKs (no delayed ACK), reassembly of out-of-order
 * segments within the advertised window (the bytes are checked on arrival against the pattern
 * and not stored: only the intervals are kept), a sender bounded by the peer's window and a
 * NewReno congestion window (slow start, congestion avoidance, fast retransmit on the third
 * duplicate ACK, fast recovery with partial ACKs), RTO per RFC 6298 with back-off and Karn's
 * rule, zero-window probing, FIN in both directions, TIME_WAIT (time_wait_us), RST for
 * segments of unknown connections and RST handling. Frames: Ethernet II (02:00:00:00:00:02
 * remote -> 02:00:00:00:00:01 chip), IPv4 (no options, DF, TTL 64) and TCP, checksums right.
 * No SACK, no timestamps, no IPv6.
 *
 * Data: every byte either side sends is pat_fill(pat_key(key as its sender sees it), offset);
 * the remote generates what it sends (retransmissions regenerate it: no send buffer) and checks
 * every byte it receives once, when it first arrives (bytes_verified / bytes_corrupt).
 *
 * Time is picoseconds of simulated time. Usage (the caller owns the clock):
 *   t = min(rem_next_ps(r), arrival of rem_peek_frame, the chip's own next event);
 *   rem_advance(r, t); deliver every peeked frame with arrive <= t to the chip, rem_pop_frame;
 *   give each frame the chip transmits to rem_from_chip with the time its last bit left.
 * rem_next_ps does not include the frames waiting in the to-chip queue: the caller sees them
 * with rem_peek_frame. Same cfg and same inputs give the same frames at the same times.
 * No globals, no printing. */
#ifndef SPPSIM_REMOTE_H
#define SPPSIM_REMOTE_H

#include "flow_key.h"
#include "params.h"
#include "sim_types.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

#define REM_NEVER UINT64_MAX /* rem_next_ps when nothing is scheduled */

typedef enum rem_role { REM_ROLE_CLIENTS, REM_ROLE_SERVER, REM_ROLE_BOTH } rem_role;
typedef enum rem_closer { REM_CLOSE_CLIENT, REM_CLOSE_SERVER } rem_closer;
/* What a client expects back: the server's own data (pattern), or its own bytes (an echo). */
typedef enum rem_expect { REM_EXPECT_PATTERN, REM_EXPECT_ECHO } rem_expect;

/* Parameters (rem_params documents each; unit "remote"). Addresses are IPv4 as 32-bit integers,
 * most significant byte first on the wire: 10.0.0.1 = 0x0a000001 = 167772161. */
typedef struct rem_cfg {
    uint64_t seed;
    uint32_t role; /* rem_role */
    uint32_t clients;
    uint32_t open_rate; /* connections per second of simulated time; 0: all at start_us */
    uint32_t start_us;
    uint32_t concurrency; /* most client connections open at once; 0: no limit */
    uint32_t requests;
    uint32_t req_bytes;
    uint32_t resp_bytes;
    uint32_t close_first; /* rem_closer */
    uint32_t expect;      /* rem_expect */
    uint32_t delay_us;
    uint32_t rate_mbps; /* 0: infinitely fast */
    uint32_t loss_ppm;
    uint32_t reorder_ppm;
    uint32_t reorder_us;
    uint32_t chip_ip;
    uint32_t chip_port;
    uint32_t client_ip;
    uint32_t listen_port;
    uint32_t mss;
    uint32_t wscale; /* 255: no window-scale option */
    uint32_t rcv_buf;
    uint32_t read_mbps; /* the remote application's read rate per connection; 0: at once */
    uint32_t init_cwnd; /* segments */
    uint32_t rto_init_us;
    uint32_t rto_min_us;
    uint32_t rto_max_us;
    uint32_t max_retries;
    uint32_t time_wait_us;
    uint32_t fin_timeout_us;
    uint32_t idle_timeout_us;
} rem_cfg;

typedef struct rem_stats {
    uint64_t conns_opened;       /* client connections started (first SYN sent) */
    uint64_t conns_accepted;     /* server connections started (a SYN from the chip taken) */
    uint64_t conns_established;  /* handshakes completed, both kinds */
    uint64_t conns_completed;    /* closed gracefully with their work done */
    uint64_t conns_incomplete;   /* closed gracefully by the peer before their requests were done */
    uint64_t conns_failed;       /* given up: max_retries, idle_timeout_us */
    uint64_t conns_reset;        /* ended by a RST from the chip */
    uint64_t requests_completed; /* client requests whose response was read (bulk: acknowledged) */
    uint64_t requests_answered;  /* server: requests received and answered */
    uint64_t bytes_sent;         /* payload bytes sent for the first time */
    uint64_t bytes_received;     /* payload bytes received in order (delivered) */
    uint64_t bytes_verified;     /* received bytes equal to the pattern (each byte once) */
    uint64_t bytes_corrupt;      /* received bytes different from the pattern */
    uint64_t bytes_duplicate;    /* received payload bytes already held (retransmitted twice) */
    uint64_t segs_sent;          /* TCP segments sent, all kinds */
    uint64_t segs_received;      /* TCP segments received with valid checksums */
    uint64_t segs_retrans_fast;  /* segments retransmitted by fast retransmit / recovery */
    uint64_t segs_retrans_rto;   /* segments retransmitted after a retransmission timeout */
    uint64_t rto_expirations;    /* retransmission timeouts */
    uint64_t zero_window_probes; /* window probes sent */
    uint64_t window_updates;     /* pure ACKs sent because the reader opened the window */
    uint64_t acks_unseen;        /* segments from the chip that ACKed data never sent */
    uint64_t out_of_window;      /* segments from the chip outside the receive window (ACKed) */
    uint64_t rst_sent;
    uint64_t rst_received;
    uint64_t frames_to_chip;   /* frames put on the link toward the chip (lost ones too) */
    uint64_t frames_from_chip; /* frames the chip gave the link */
    uint64_t lost_to_chip;     /* frames the link lost, by direction */
    uint64_t lost_from_chip;
    uint64_t reordered_to_chip; /* frames the link delayed by reorder_us, by direction */
    uint64_t reordered_from_chip;
    uint64_t rx_bad;     /* frames from the chip with a bad IPv4 or TCP header or checksum */
    uint64_t rx_ignored; /* frames from the chip that are not IPv4 TCP */
    hist req_latency_ns; /* request latency: its first byte written -> its response's last byte
                            received in order (bulk sender: -> its last byte acknowledged) */
} rem_stats;

/* One connection, for the lead's per-connection listing (rem_conn_get). */
typedef struct rem_conn_info {
    flow_key key;            /* as the remote sends: src = the remote endpoint, dst = the chip */
    bool active;             /* opened by the remote (a client); false: accepted (server role) */
    const char *state;       /* "SYN_SENT" .. "TIME_WAIT", or how it ended: "completed",
                                "incomplete", "failed", "reset" */
    simtime_ps opened;       /* its SYN sent or received */
    simtime_ps ended;        /* closed, or REM_NEVER while open */
    uint64_t bytes_sent;     /* payload sent (first transmissions) */
    uint64_t bytes_received; /* payload received in order */
    uint64_t retransmits;    /* segments retransmitted, fast and after RTO */
    uint32_t requests_done;  /* client: requests completed; server: requests answered */
} rem_conn_info;

typedef struct rem rem; /* opaque */

extern const param_table rem_params;
extern const stat_def rem_stat_defs[];
extern const size_t rem_stat_count;

void rem_cfg_default(rem_cfg *c);
/* Checks cfg (bounds and the rules between parameters, errors naming remote.KEY) and builds the
 * model at time 0. Returns it, or NULL with err filled. */
rem *rem_new(const rem_cfg *cfg, sim_err *err);
void rem_free(rem *r);

/* The next time it has work of its own (a connection to open, a timer, a frame from the chip
 * arriving), or REM_NEVER. */
simtime_ps rem_next_ps(const rem *r);
/* Does, in time order, everything due at or before now. Returns the number of items handled
 * (0: nothing was due). */
unsigned rem_advance(rem *r, simtime_ps now);

/* The frame toward the chip that arrives first (its last bit at the chip's port at *arrive);
 * data stays valid until rem_pop_frame. False when none is in flight. */
bool rem_peek_frame(const rem *r, const uint8_t **data, uint32_t *len, simtime_ps *arrive);
void rem_pop_frame(rem *r);

/* A frame the chip transmitted, its last bit leaving the chip at t: it crosses the link toward
 * the remote and is handled at its arrival, inside a later rem_advance. The frame is copied. A t
 * earlier than the model's current time is taken as the current time. */
void rem_from_chip(rem *r, const uint8_t *frame, uint32_t len, simtime_ps t);

/* True when every client connection has been opened and has ended (or failed), no connection
 * is open (server ones included) and no frame is in flight either way. */
bool rem_done(const rem *r);

const rem_stats *rem_get_stats(const rem *r);
/* Zeroes the counters and the histogram (end of a warm-up); connections are unaffected. */
void rem_reset_stats(rem *r);

/* Connections in the order they started (clients and accepted ones alike). */
uint32_t rem_conn_count(const rem *r);
/* Fills info for connection i < rem_conn_count; false otherwise. */
bool rem_conn_get(const rem *r, uint32_t i, rem_conn_info *info);

#ifdef __cplusplus
}
#endif
#endif

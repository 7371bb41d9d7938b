/* remote_int: what remote.c (link, scheduling, frames, connection table) and rtcp.c (the TCP
 * endpoint and its application) share. Not a public header. */
#ifndef SPPSIM_REMOTE_INT_H
#define SPPSIM_REMOTE_INT_H

#include "heap.h"
#include "remote.h"

#define REM_PS_PER_US 1000000ULL

/* TCP states, and the ends a connection can come to (state REM_ST_CLOSED + end). */
enum {
    REM_ST_SYN_SENT,
    REM_ST_SYN_RCVD,
    REM_ST_ESTABLISHED,
    REM_ST_FIN_WAIT_1,
    REM_ST_FIN_WAIT_2,
    REM_ST_CLOSING,
    REM_ST_TIME_WAIT,
    REM_ST_CLOSE_WAIT,
    REM_ST_LAST_ACK,
    REM_ST_CLOSED
};
enum { REM_END_NONE, REM_END_COMPLETED, REM_END_INCOMPLETE, REM_END_FAILED, REM_END_RESET };

typedef struct rem_ival {
    uint64_t a, b; /* [a, b) in receive sequence offsets */
} rem_ival;

/* One connection. Sequence numbers are kept as 64-bit offsets from the ISN ("so" for the send
 * side: 0 = our SYN, 1 + i = data byte i, 1 + data length = our FIN; "ro" likewise from the
 * peer's ISN for the receive side) and turned into 32-bit wire values only in frames. */
typedef struct rem_conn {
    uint32_t lip, rip; /* local (the remote endpoint) and remote (the chip) IPv4 addresses */
    uint16_t lport, rport;
    uint8_t state, end;
    bool active;      /* a client: we sent the SYN */
    bool app_done;    /* the application has done its work (it closes or waits for the peer) */
    bool slot;        /* holds one of the clients' concurrency slots */
    bool fin_queued;  /* the application closed: FIN after all written data */
    bool fin_seen;    /* the peer's FIN arrived (perhaps out of order) at fin_ro */
    bool fin_rcvd;    /* ... and every byte before it: rcv_nxt is past it */
    bool ack_pending; /* the segment being handled wants an ACK */
    bool rtt_on;      /* an RTT measurement is running (Karn: first transmissions only) */
    bool have_rtt;
    bool in_recovery; /* NewReno fast recovery until snd_una >= recover */
    bool req_out;     /* client: the current request has been written */
    bool started;     /* bulk modes: the bulk write has been made */
    bool ws_ok;       /* window scaling agreed (both SYNs carried the option) */
    uint8_t snd_ws, rcv_ws;
    uint16_t mss; /* effective send MSS */
    uint16_t ip_id;
    uint64_t key_tx, key_rx; /* pattern keys: what we send, what the chip sends */
    uint32_t iss, irs;
    /* send side */
    uint64_t snd_una, snd_nxt, snd_max, app_end, recover;
    uint64_t wl2; /* ack (so) of the segment that last updated the window */
    uint32_t wl1; /* seq (wire) of that segment */
    uint32_t snd_wnd, cwnd, ssthresh, dupacks;
    uint32_t max_sndwnd; /* the largest window the peer offered (sender silly-window rule) */
    uint64_t rtt_so;
    simtime_ps rtt_t, srtt, rttvar, rto;
    uint32_t retries;         /* RTOs in a row without progress */
    uint32_t probes;          /* window probes without an answer */
    uint32_t persist_backoff; /* doublings of the probe interval */
    /* receive side */
    uint64_t rcv_nxt, rcv_edge, fin_ro;
    rem_ival *ooo; /* out-of-order intervals above rcv_nxt, sorted, disjoint */
    uint32_t nooo, cooo;
    simtime_ps read_free; /* read_mbps > 0: when the reader will have read every byte so far */
    /* timers (0: not armed) and the one entry of this connection in the timer heap */
    simtime_ps rto_at, persist_at, tw_at, idle_at, wupd_at, sched;
    /* application */
    uint32_t req_done;
    simtime_ps req_start, opened, ended;
    uint64_t bytes_sent, bytes_rcvd, retrans;
} rem_conn;

typedef struct rem_frame {
    simtime_ps arrive;
    uint64_t order; /* ties at equal arrive: in the order they entered the link */
    uint32_t len;
    uint8_t data[];
} rem_frame;

typedef struct rem_tent {
    simtime_ps t;
    uint32_t conn;
} rem_tent;

typedef struct rem_link {
    simtime_ps free; /* the end of the last frame's serialisation */
    uint64_t rng;
} rem_link;

struct rem {
    rem_cfg cfg;
    simtime_ps now;
    uint64_t rng_isn;
    uint64_t order;
    rem_link to_chip, from_chip;
    heap out;    /* rem_frame *, toward the chip, by arrival */
    heap in;     /* rem_frame *, from the chip, by arrival at the remote */
    heap timers; /* rem_tent */
    rem_conn *conns;
    uint32_t nconns, cconns;
    uint32_t *table; /* open addressing: conn index + 1, 0 = empty */
    uint32_t tcap;
    uint32_t next_client;  /* clients opened so far */
    uint32_t slots_used;   /* client connections holding a concurrency slot */
    simtime_ps slot_freed; /* when a slot was last given back */
    uint32_t live;         /* connections not closed (TIME_WAIT included) */
    bool oom;              /* an allocation failed: stops opening, counted as failures */
    rem_stats st;
};

/* remote.c */
rem_conn *rem_conn_add(rem *r, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport);
uint32_t rem_rand32(uint64_t *state);
void rem_conn_resched(rem *r, rem_conn *c);
/* Builds one segment of c and puts it on the link toward the chip. payload_len bytes of c's
 * send stream from offset data_off (pattern key_tx). */
void rem_emit(rem *r, rem_conn *c, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
              bool opt_mss, bool opt_ws, uint64_t data_off, uint32_t payload_len);
/* A RST for a segment that has no connection (RFC 793 "reset generation"). */
void rem_emit_rst(rem *r, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport, uint32_t seq,
                  uint32_t ack, bool with_ack);
void rem_slot_free(rem *r, rem_conn *c);

/* rtcp.c: a parsed segment from the chip */
typedef struct rem_seg {
    uint32_t sip, dip;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    uint16_t opt_mss; /* 0: absent */
    uint8_t opt_ws;   /* 0xff: absent */
    const uint8_t *payload;
    uint32_t len;
} rem_seg;

void rtcp_open(rem *r, rem_conn *c, simtime_ps now);
void rtcp_accept(rem *r, uint32_t ci, const rem_seg *s, simtime_ps now);
void rtcp_input(rem *r, rem_conn *c, const rem_seg *s, simtime_ps now);
void rtcp_timers(rem *r, rem_conn *c, simtime_ps now);
simtime_ps rtcp_deadline(const rem_conn *c);

#endif

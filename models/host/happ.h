/* happ: the host application model — the reader on the host side of each flow's receive buffer
 * (SPEC §1: goodput is counted at the host). It is outside the chip: it decides when the bytes
 * the socket memory controller has put in order (smc_deliver) are read (smc_consume), which frees
 * their pages and reopens the flow's advertised window.
 *
 * With consume_mbps = 0 (the default) the application reads everything at once, so a buffer never
 * holds read-ready data and the window stays the buffer size. Otherwise each flow has a reader
 * that takes at most read_bytes per read and then needs read_bytes * 8 / consume_mbps to process
 * them before its next read: a backlog builds up when data arrives faster, and the window shrinks
 * by it (issue 4: "configurable consumption rate, which shrinks the window").
 *
 * Timing: a read of r bytes at cycle t consumes them at t; the flow's next read may start at
 * t + ceil(r * 8 * clock_mhz / consume_mbps) cycles (r bits at consume_mbps Mb/s, in this unit's
 * cycles). Reads of different flows are independent (one reader per flow). Reads due at the same
 * cycle come out in flow order, so runs are deterministic.
 *
 * Lifecycle (STYLE.md): happ_ready tells it bytes became readable; happ_next_cycle says when the
 * next read is due; happ_pop_read hands out the reads due, which the caller carries out on the
 * SMC. happ_close forgets a flow's backlog (the caller decides what becomes of it).
 *
 * Applications (issue 5; cfg.app, for the flows whose local port is cfg.port, or all when 0;
 * other flows get none):
 *   none     today's reader: reads, never writes, never closes; the chip's microcode closes the
 *            flow when the peer does (sock_event answers 0). happ_immediate holds when every
 *            flow is none and consume_mbps is 0: the caller then reads at once and need not
 *            call the rest.
 *   sink     reads (paced by consume_mbps as above); closes once the peer has closed and every
 *            byte delivered has been read.
 *   echo     writes back every byte it reads, in order. It reads only what it can write back:
 *            a read takes at most space - owed bytes (space: the flow's send-buffer space as
 *            last told; owed: bytes read and not yet written), so the bytes it holds never
 *            exceed the send buffer's free space, and a full send buffer stops the reads (the
 *            receive window then closes: back-pressure to the peer). Closes after the peer
 *            closed, everything delivered was read and everything read was written.
 *   reqresp  after each req_bytes read (counted across reads), owes resp_bytes of the pattern
 *            (pattern.h; key = pat_key of the flow key as the chip sends: src = the chip);
 *            writes them in order as space allows; closes after the peer closed and every
 *            response owed was written (a partial request at the peer's close is dropped).
 * With cfg.close = never, no application closes on its own; with close = response, a reqresp
 * flow closes as soon as its first response is written (the chip closes first; later requests
 * are read and not answered), and the others as with peer. A flow the host script drives
 * (happ_open with scripted set: a connect, or a connection the script names) has no
 * application: it reads as sink, writes what happ_send asks (pattern), and closes when
 * happ_shutdown asks (after its writes) or, with close = peer, as sink does.
 *
 * Commands (happ_pop_cmd), each due at a cycle, come out in (cycle, flow) order; within a
 * flow, the earlier due first, and on a tie ABORT, WRITE, CLOSE before READ:
 *   READ(flow, bytes)   the caller consumes bytes from the SMC (smc_consume) and, for every
 *                       piece its deliver callback gets, calls happ_data (echo keeps them).
 *   WRITE(flow, bytes, src, off)  the caller gets the bytes with happ_fill, writes them into
 *                       the send buffer (smc_snd_write), reports with happ_wrote (bytes taken,
 *                       space now), and raises tcp_send (seq = the new written end). Until
 *                       happ_wrote the flow issues nothing. A write cut short (the pool) blocks
 *                       the flow's writes until the next happ_snd_space.
 *   CLOSE(flow)         tcp_close arg 0 (FIN after the data written). Once per flow; no write
 *                       after it.
 *   ABORT(flow)         tcp_close arg 1 (RST). Nothing after it.
 * WRITE sizes: min(owed, space, write_bytes). Commands are timed in this unit's clock; a
 * command due at cycle c carries at = c (the caller uses it as the time of the action).
 * Connects are not commands: the caller turns the script's connect lines into flows itself
 * (hscript.h) and calls happ_open(scripted = true). */
#ifndef SPPSIM_HAPP_H
#define SPPSIM_HAPP_H

#include "flow_key.h"
#include "params.h"
#include "sim_types.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum happ_app { HAPP_NONE, HAPP_SINK, HAPP_ECHO, HAPP_REQRESP, HAPP_APP_COUNT } happ_app;
typedef enum happ_close_policy {
    HAPP_CLOSE_PEER,
    HAPP_CLOSE_NEVER,
    HAPP_CLOSE_RESPONSE
} happ_close_policy;

typedef struct happ_cfg {
    uint32_t clock_mhz;
    uint32_t consume_mbps; /* per flow; 0: every byte is read at once */
    uint32_t read_bytes;   /* the most one read takes */
    uint32_t app;          /* happ_app */
    uint32_t req_bytes;    /* reqresp: bytes of one request */
    uint32_t resp_bytes;   /* reqresp: bytes of one response */
    uint32_t port;         /* the local port the app serves; 0: every port */
    uint32_t write_bytes;  /* the most one write takes */
    uint32_t close;        /* happ_close_policy */
} happ_cfg;

typedef struct happ_stats {
    uint64_t reads;          /* reads done */
    uint64_t bytes_read;     /* bytes they took */
    uint64_t backlog_peak;   /* most read-ready bytes waiting in one flow's buffer */
    uint64_t bytes_at_close; /* read-ready bytes still waiting when their flow closed */
    /* issue 5: the applications that write */
    uint64_t opens;         /* happ_open of flows an application or the script serves */
    uint64_t writes;        /* WRITE commands completed (happ_wrote) */
    uint64_t bytes_written; /* bytes they got into send buffers */
    uint64_t writes_short;  /* writes cut short by the page pool */
    uint64_t requests;      /* reqresp: requests read in full */
    uint64_t closes;        /* CLOSE commands */
    uint64_t aborts;        /* ABORT commands */
    uint64_t echo_peak;     /* most bytes an echo flow held read and not yet written */
    uint64_t sends_refused; /* happ_send on a flow that cannot take it */
} happ_stats;

typedef enum happ_cmd_kind { HAPP_READ, HAPP_WRITE, HAPP_CLOSE, HAPP_ABORT } happ_cmd_kind;
typedef enum happ_src { HAPP_SRC_PATTERN, HAPP_SRC_ECHO } happ_src;

typedef struct happ_cmd {
    uint32_t kind; /* happ_cmd_kind */
    uint32_t flow;
    uint32_t bytes; /* READ, WRITE */
    uint32_t src;   /* WRITE: happ_src */
    uint64_t off;   /* WRITE: stream offset of its first byte (the flow's written end) */
    cycle_t at;     /* the cycle it was due */
} happ_cmd;

typedef struct happ happ; /* opaque */

extern const param_table happ_params;
extern const stat_def happ_stat_defs[];
extern const size_t happ_stat_count;

void happ_cfg_default(happ_cfg *c);
/* For flow proxies 0 .. flows-1. Returns it, or NULL with err filled. */
happ *happ_new(const happ_cfg *cfg, uint32_t flows, sim_err *err);
void happ_free(happ *h);

/* True when every byte is read at once (consume_mbps = 0) and the app is none: the caller
 * consumes as it delivers and need not call happ_ready or pop reads (it still may drive
 * scripted flows through happ_open, happ_send ... and happ_pop_cmd). */
bool happ_immediate(const happ *h);
/* bytes more of flow's stream became readable at cycle at. Ignored for flow >= flows. */
void happ_ready(happ *h, uint32_t flow, uint32_t bytes, cycle_t at);
/* The cycle of the next read due, or CYCLE_NEVER. */
cycle_t happ_next_cycle(const happ *h);
/* Takes the next read due at or before now: its flow, bytes and cycle (the cycle it was due,
 * which the caller uses as the time of the read). Returns false when none is due, or when the
 * next command due is not a READ (only with an app or a script: use happ_pop_cmd then). */
bool happ_pop_read(happ *h, cycle_t now, uint32_t *flow, uint32_t *bytes, cycle_t *at);
/* Takes the next command due at or before now (see Commands). False when none is due. */
bool happ_pop_cmd(happ *h, cycle_t now, happ_cmd *c);
/* The bytes of the WRITE c just popped (c->bytes of them) into out. pre: c is that WRITE and
 * happ_wrote has not been called for it. */
void happ_fill(const happ *h, const happ_cmd *c, uint8_t *out);
/* The WRITE of flow popped last took `taken` bytes (smc_snd_write's answer); space: the send
 * buffer's space now (smc_snd_space). at: the cycle of the write. */
void happ_wrote(happ *h, uint32_t flow, uint32_t taken, uint32_t space, cycle_t at);
/* A piece of the data a READ of flow consumed (the SMC's deliver callback), at cycle at. Only
 * echo flows keep it; others ignore it. */
void happ_data(happ *h, uint32_t flow, const uint8_t *data, uint32_t len, cycle_t at);

/* The connection of flow exists (sock_event established, or a connect): k as the peer sends
 * (src = the peer, dst = the chip: the dispatcher's key); space: its send buffer's space now
 * (0 when not open yet: happ_snd_space tells it later); scripted: the host script drives it.
 * Chooses its application (cfg.app when cfg.port is 0 or k->dport, else none) and starts its
 * send stream at offset 0. The read backlog is kept. Ignored for flow >= flows. */
void happ_open(happ *h, uint32_t flow, const flow_key *k, uint32_t space, bool scripted,
               cycle_t at);
/* The application that serves k's connection (k as in happ_open), scripts aside. */
happ_app happ_app_for(const happ *h, const flow_key *k);
/* 1 when an application or the script drives flow's send side (sock_event's answer), else 0. */
uint32_t happ_answers(const happ *h, uint32_t flow);
/* The peer's FIN is in order (sock_event peer closed), at cycle at. */
void happ_peer_closed(happ *h, uint32_t flow, cycle_t at);
/* The peer reset the connection: the flow issues nothing more (its bytes owed are dropped). */
void happ_reset(happ *h, uint32_t flow, cycle_t at);
/* flow's send-buffer space is now space bytes (an ack freed some; the smc's snd_acked
 * callback, or sock_open), at cycle at. Unblocks a flow whose write was cut short. */
void happ_snd_space(happ *h, uint32_t flow, uint32_t space, cycle_t at);
/* The host script: write bytes more of the pattern on flow (0), or -1 (counted sends_refused:
 * flow not opened, not scripted, closed or aborted). */
int happ_send(happ *h, uint32_t flow, uint64_t bytes, cycle_t at);
/* The host script: close flow once its writes are done (CLOSE). */
void happ_shutdown(happ *h, uint32_t flow, cycle_t at);
/* The host script: abort flow (ABORT at once; bytes owed are dropped). */
void happ_abort(happ *h, uint32_t flow, cycle_t at);
/* Bytes flow still owes (to write), and of those the echo bytes held. */
uint64_t happ_owed(const happ *h, uint32_t flow);
uint64_t happ_echo_held(const happ *h, uint32_t flow);
/* Read-ready bytes of flow waiting (its backlog). */
uint64_t happ_backlog(const happ *h, uint32_t flow);
/* Forgets flow's backlog (counted in bytes_at_close), any command scheduled for it and its
 * application state; returns the backlog bytes forgotten. The flow starts afresh at its next
 * happ_ready or happ_open. */
uint64_t happ_close(happ *h, uint32_t flow);
/* Flows with a command scheduled. */
uint32_t happ_pending(const happ *h);

const happ_stats *happ_get_stats(const happ *h);
void happ_reset_stats(happ *h);

#ifdef __cplusplus
}
#endif
#endif

/* dispatcher: turns each event's flow key into a local flow-ID proxy, keeps per-flow order per
 * workspace portion, and selects the core that runs each event (claims 1, 5, 6, 9, 10, 21, 30).
 *
 * Inputs arrive on logical channels (claims 9, 10): network events from the IPU (they carry a
 * flow key, no proxy), timer events from the lookup controller and internal events raised by
 * cores (both carry the proxy in ev.flow). One engine serves the channels in fixed priority
 * order internal, timer, host, network, one event per lookup_cycles.
 *
 * Flow table (claim 7): a hash table of cfg.flows entries keyed by the flow key oriented from
 * the remote side to the local side (the side the chip terminates). A network event is looked
 * up under its own key, then under the reversed key:
 *   - found under its own key: the flow's event;
 *   - found under the reversed key: sent by the local side -> dropped, DROP_SENT_BY_LOCAL_SIDE
 *     (SPEC §5: those packets are the reference the chip's own output is compared with);
 *   - not found, and the event type opens flows (disp_set_opens; default: tcp_syn, and tcp_data
 *     when cfg.pickup, i.e. mid-stream pickup): a proxy is allocated and the event's destination
 *     becomes the local side; no proxy free -> dropped, DROP_FLOW_TABLE_FULL;
 *   - otherwise dropped, DROP_NO_FLOW.
 * An event whose type no cluster runs (disp_set_route) is dropped with DROP_NO_ROUTE before the
 * lookup. All events of one packet (same ev.pkt, consecutive on the network channel) share the
 * first one's fate, so packets are counted once: packets_in = packets_dispatched + sum of
 * packets_dropped.
 *
 * Portions (claims 1, 11, 23): the image says which portions each event class needs
 * (uc_image.class_portions). At most one event per (flow, portion) is in flight: an event whose
 * portions are all free, and which no earlier parked event of its flow shares a portion with,
 * is dispatched; otherwise it is parked in its flow's pending list (in arrival order) until
 * disp_complete frees its portions. Parked events hold a slot of a shared pool of cfg.pending;
 * when the pool is full the engine stops taking input (back-pressure, counted as
 * stall_pending_full) until a completion frees a slot.
 *
 * Core selection (claims 5, 6, 30), among the cores of the clusters routed for the event's
 * type, at the moment the event is dispatched:
 *   round_robin  - the next core after the last one chosen for that type's cluster set;
 *   least_loaded - the core with the fewest events dispatched and not yet completed; ties go
 *                  round robin: the first such core after the last one chosen for that route
 *                  (so an idle cluster spreads its events over its cores);
 *   affinity     - ((proxy * 2654435761) mod 2^32 >> 16) modulo the number of routed cores,
 *                  so all events of one flow and one route go to one core.
 * Cores are numbered per cluster; a route is a bit mask of clusters.
 *
 * Flow close: disp_flow_close (the microcode's flow_close command) removes the key from the
 * table at once (a new SYN of the same 5-tuple opens a new flow); the proxy returns to the free
 * list when its last parked and in-flight event has completed. Timer, internal and host events
 * for a proxy that is closed or free are dropped (counted in events_dropped_closed; they are
 * not packets), and so is a host event whose ev.key is not the proxy's key (its connection
 * closed and the proxy serves another now).
 *
 * Timing: an event pushed at cycle t is taken by the engine at max(t, engine free) and leaves at
 * that + lookup_cycles into the out-queue (if the out-queue is full it waits in the engine,
 * counted once as stall_out_full). A parked event released by disp_complete at cycle t goes
 * through the engine again (priority over all channels) and costs lookup_cycles again. */
#ifndef SPPSIM_DISPATCHER_H
#define SPPSIM_DISPATCHER_H

#include "event.h"
#include "params.h"
#include "ring.h"
#include "sim_types.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DISP_MAX_CLUSTERS 8
#define DISP_MAX_CORES 64 /* per cluster */

typedef enum disp_policy { DISP_ROUND_ROBIN, DISP_LEAST_LOADED, DISP_AFFINITY } disp_policy;

typedef struct disp_cfg {
    uint32_t clock_mhz;
    uint32_t flows;         /* flow-table capacity: proxies 0 .. flows-1 */
    uint32_t lookup_cycles; /* per event through the engine */
    uint32_t in_depth;      /* per input channel */
    uint32_t out_depth;
    uint32_t pending; /* parked events, all flows together */
    uint32_t policy;  /* disp_policy */
    uint32_t pickup;  /* bool: tcp_data of an unknown flow opens it (mid-stream pickup) */
    uint64_t seed;    /* hash seed */
} disp_cfg;

/* What leaves the dispatcher. */
typedef enum disp_kind {
    DISP_GO,   /* run ev on (cluster, core) with the portions in mask */
    DISP_DROP, /* ev is dropped with reason (a drop_reason); the caller frees its frame */
} disp_kind;

typedef struct disp_out {
    event ev; /* ev.flow holds the proxy for DISP_GO */
    uint8_t kind;
    uint8_t reason;          /* DISP_DROP: drop_reason */
    uint8_t cluster;         /* DISP_GO */
    uint8_t portions;        /* DISP_GO: bit i = portion i (uc_image.class_portions[ev.cls]) */
    uint16_t core;           /* DISP_GO: core index within the cluster */
    uint8_t opened;          /* DISP_GO: this event allocated the proxy (its state is all zero) */
    uint8_t first_of_packet; /* the first event of its packet leaving the dispatcher */
} disp_out;

typedef struct disp_stats {
    uint64_t events_in;
    uint64_t events_dispatched;
    uint64_t events_parked;
    uint64_t events_dropped_closed; /* timer/internal/host events of a closed flow */
    uint64_t packets_in;            /* distinct network packets seen */
    uint64_t packets_dispatched;
    uint64_t packets_dropped[DROP_REASON_COUNT];
    uint64_t flows_opened;
    uint64_t flows_closed;
    uint64_t flows_picked_up; /* opened by a data segment (mid-stream pickup) */
    uint64_t flows_peak;      /* most proxies in use at once */
    uint64_t stall_in_full;   /* pushes refused, all channels */
    uint64_t stall_out_full;
    uint64_t stall_pending_full;
    uint64_t busy_cycles;
} disp_stats;

typedef struct disp disp; /* opaque: its layout is dispatcher.c's business */

extern const param_table disp_params;
extern const stat_def disp_stat_defs[]; /* the scalar fields of disp_stats */
extern const size_t disp_stat_count;

void disp_cfg_default(disp_cfg *c);
/* Creates a dispatcher for ncluster clusters of cores[i] cores each, with the image's portion
 * needs per event class (class_portions[EVC_COUNT], bit i = portion i). Routes start empty and
 * the default openers are set. Returns it, or NULL with err filled (cfg out of range, a count
 * out of range, no memory). */
disp *disp_new(const disp_cfg *cfg, unsigned ncluster, const unsigned *cores,
               const uint8_t *class_portions, sim_err *err);
void disp_free(disp *d);

/* The portion needs per event class of protocol proto's image (events pick by ev.proto); until
 * set, a protocol uses disp_new's. */
void disp_set_portions(disp *d, unsigned proto, const uint8_t *class_portions);
/* Per event type overrides of protocol proto's image (uc_image.type_needs/type_portions: an
 * event of type t needs type_portions[t] instead of its class's when type_needs[t] is set;
 * arrays of EV_TYPE_COUNT). Until set, no type overrides its class. */
void disp_set_type_portions(disp *d, unsigned proto, const uint8_t *type_needs,
                            const uint8_t *type_portions);
/* Opens a flow from outside (a connection set up out of band, e.g. a RoCE queue pair): enters
 * key (remote -> local) in the table and, when local_sends is not NULL, remembers it as the key
 * of the packets the local side sends (dropped as sent_by_local_side; for a RoCE key it is not
 * the reverse of key, the QP numbers differ). Counted in flows_opened; the flow's first event
 * goes out as opened (its state starts zeroed). Returns the proxy, or
 * UINT32_MAX when the key is already open or no proxy (or memory) is free. */
uint32_t disp_open_flow(disp *d, const flow_key *key, const flow_key *local_sends);
/* Clusters (bit mask) whose cores run events of type t; 0 (the default) drops them. */
void disp_set_route(disp *d, unsigned type, uint32_t cluster_mask);
/* Whether a network event of type t of an unknown flow opens one. */
void disp_set_opens(disp *d, unsigned type, bool opens);

bool disp_can_accept(const disp *d, unsigned chan);
/* pre: disp_can_accept(d, e->chan); e->chan < CH_COUNT. */
void disp_push(disp *d, const event *e, cycle_t now);
void disp_refuse(disp *d, unsigned chan); /* counts a push the caller could not make */

/* The events of ev.flow that used the portions in mask have finished on (cluster, core) at cycle
 * now: frees those portions, the core's load count, and releases parked events that may now go.
 * pre: matches an earlier DISP_GO. */
void disp_complete(disp *d, uint32_t flow, uint8_t portions, unsigned cluster, unsigned core,
                   cycle_t now);
/* The microcode closed the flow (see above). Idempotent. */
void disp_flow_close(disp *d, uint32_t flow, cycle_t now);

cycle_t disp_next_cycle(const disp *d);
/* Moves the engine up to cycle now; returns how many items it took or finished. A call with the
 * same now as the last one, with no push, completion, close or (while a record waited for room)
 * pop since, does nothing and returns 0 at once. */
unsigned disp_advance(disp *d, cycle_t now);
/* True when disp_advance(d, now) would do nothing (the case above). */
bool disp_settled(const disp *d, cycle_t now);
bool disp_peek_out(const disp *d, disp_out *o);
/* The oldest result in place (saves peek's copy), or NULL when the out-queue is empty; valid
 * until the next disp_pop_out or disp_advance. */
const disp_out *disp_front(const disp *d);
void disp_pop_out(disp *d);
/* No event queued, in the engine, parked or in the out-queue (in-flight events do not count). */
bool disp_idle(const disp *d);

const disp_stats *disp_get_stats(const disp *d);
/* The end of the warm-up (STYLE.md: warm-up, measure, drain): zeroes the counters; the peaks
 * restart from the current level. */
void disp_reset_stats(disp *d);
uint32_t disp_flows_in_use(const disp *d);
uint32_t disp_pending_count(const disp *d);
/* disp_next_cycle, and disp_flows_in_use and disp_pending_count into *flows and *parked, in one
 * call (the glue reads all three after every activation). */
cycle_t disp_next_cycle_levels(const disp *d, uint32_t *flows, uint32_t *parked);
/* Events dispatched to (cluster, core) and not yet completed. */
uint32_t disp_load(const disp *d, unsigned cluster, unsigned core);
/* The flow key (remote -> local) of an open proxy, or NULL when the proxy is free. */
const flow_key *disp_flow_key(const disp *d, uint32_t flow);
/* The proxy of the open flow whose key (remote -> local) is key, or UINT32_MAX (the host
 * script names connections by their addresses). */
uint32_t disp_find_flow(const disp *d, const flow_key *key);
/* The flow table's hash of key (open addressing, linear probing; the home slot is the hash's
 * low bits). It is symmetric: key and flow_key_reverse(key) hash alike. For tests. */
uint64_t disp_key_hash(const disp *d, const flow_key *key);
/* Queue depths for the deadlock report: "in 3/64/0/0 parked 5/4096 out 1/64". */
void disp_describe(const disp *d, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif

#include "event.h"

#include <string.h>

#define NAME_OF(table, i) ((i) < sizeof(table) / sizeof((table)[0]) ? (table)[i] : "?")

static const char *const type_names[EV_TYPE_COUNT] = {
    "tcp_syn",         "tcp_synack",   "tcp_ack",       "tcp_data",      "tcp_fin",  "tcp_rst",
    "tcp_rto",         "tcp_delack",   "tcp_time_wait", "tcp_keepalive", "tcp_send", "tcp_close",
    "tcp_recv_credit", "tcp_internal", "udp_datagram",  "other",
};
static const char *const class_names[EVC_COUNT] = {"receive", "send", "timer", "host", "internal"};
static const char *const chan_names[CH_COUNT] = {"network", "host", "timer", "internal"};
static const char *const proto_names[PROTO_COUNT] = {"tcp", "udp", "other"};
static const char *const drop_names[DROP_REASON_COUNT] = {
    "ingress_overflow", "capture_truncated", "malformed", "bad_checksum",    "ip_fragment",
    "oversize",         "no_route",          "no_flow",   "flow_table_full", "sent_by_local_side",
};
static const char *const link_names[LINK_COUNT] = {"ethernet", "linux_sll", "linux_sll2", "raw_ip",
                                                   "bsd_null"};

const char *ev_type_name(unsigned t) { return NAME_OF(type_names, t); }
const char *ev_class_name(unsigned c) { return NAME_OF(class_names, c); }
const char *ev_chan_name(unsigned c) { return NAME_OF(chan_names, c); }
const char *ev_proto_name(unsigned p) { return NAME_OF(proto_names, p); }
const char *drop_reason_name(unsigned r) { return NAME_OF(drop_names, r); }
const char *link_type_name(unsigned l) { return NAME_OF(link_names, l); }

unsigned ev_class_of(unsigned t)
{
    if (t >= EV_TCP_RTO && t <= EV_TCP_KEEPALIVE)
        return EVC_TIMER;
    if (t >= EV_TCP_SEND && t <= EV_TCP_RECV_CREDIT)
        return EVC_HOST;
    if (t == EV_TCP_INTERNAL)
        return EVC_INTERNAL;
    return EVC_RECEIVE;
}

void event_clear(event *e)
{
    memset(e, 0, sizeof *e);
    e->flow = FLOW_NONE;
    e->sp_handle = SP_NONE;
    e->wscale = WSCALE_NONE;
}

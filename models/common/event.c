#include "event.h"

#include <string.h>

#define NAME_OF(table, i) ((i) < sizeof(table) / sizeof((table)[0]) ? (table)[i] : "?")

static const char *const type_names[EV_TYPE_COUNT] = {
    [EV_TCP_SYN] = "tcp_syn",
    [EV_TCP_SYNACK] = "tcp_synack",
    [EV_TCP_ACK] = "tcp_ack",
    [EV_TCP_DATA] = "tcp_data",
    [EV_TCP_FIN] = "tcp_fin",
    [EV_TCP_RST] = "tcp_rst",
    [EV_TCP_RTO] = "tcp_rto",
    [EV_TCP_DELACK] = "tcp_delack",
    [EV_TCP_TIME_WAIT] = "tcp_time_wait",
    [EV_TCP_KEEPALIVE] = "tcp_keepalive",
    [EV_TCP_SEND] = "tcp_send",
    [EV_TCP_CLOSE] = "tcp_close",
    [EV_TCP_RECV_CREDIT] = "tcp_recv_credit",
    [EV_TCP_INTERNAL] = "tcp_internal",
    [EV_TCP_NOTIFY] = "tcp_notify",
    [EV_ROCE_SEND_FIRST] = "roce_send_first",
    [EV_ROCE_SEND_MIDDLE] = "roce_send_middle",
    [EV_ROCE_SEND_LAST] = "roce_send_last",
    [EV_ROCE_SEND_ONLY] = "roce_send_only",
    [EV_ROCE_WRITE_FIRST] = "roce_write_first",
    [EV_ROCE_WRITE_MIDDLE] = "roce_write_middle",
    [EV_ROCE_WRITE_LAST] = "roce_write_last",
    [EV_ROCE_WRITE_ONLY] = "roce_write_only",
    [EV_ROCE_ACK] = "roce_ack",
    [EV_ROCE_NAK] = "roce_nak",
    [EV_ROCE_ACK_TIMER] = "roce_ack_timer",
    [EV_ROCE_INTERNAL] = "roce_internal",
    [EV_ROCE_CONNECT] = "roce_connect",
    [EV_UDP_DATAGRAM] = "udp_datagram",
    [EV_OTHER] = "other",
};
static const char *const class_names[EVC_COUNT] = {"receive", "send", "timer", "host", "internal"};
static const char *const chan_names[CH_COUNT] = {"network", "host", "timer", "internal"};
static const char *const proto_names[PROTO_COUNT] = {"tcp", "roce", "udp", "other"};
static const char *const drop_names[DROP_REASON_COUNT] = {
    [DROP_INGRESS_OVERFLOW] = "ingress_overflow",
    [DROP_CAPTURE_TRUNCATED] = "capture_truncated",
    [DROP_MALFORMED] = "malformed",
    [DROP_BAD_CHECKSUM] = "bad_checksum",
    [DROP_BAD_ICRC] = "bad_icrc",
    [DROP_IP_FRAGMENT] = "ip_fragment",
    [DROP_OVERSIZE] = "oversize",
    [DROP_NO_ROUTE] = "no_route",
    [DROP_NO_FLOW] = "no_flow",
    [DROP_FLOW_TABLE_FULL] = "flow_table_full",
    [DROP_SENT_BY_LOCAL_SIDE] = "sent_by_local_side",
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
    if ((t >= EV_TCP_SEND && t <= EV_TCP_RECV_CREDIT) || t == EV_ROCE_CONNECT)
        return EVC_HOST;
    if (t == EV_TCP_INTERNAL || t == EV_TCP_NOTIFY || t == EV_ROCE_INTERNAL)
        return EVC_INTERNAL;
    if (t == EV_ROCE_ACK_TIMER)
        return EVC_TIMER;
    return EVC_RECEIVE;
}

void event_clear(event *e)
{
    memset(e, 0, sizeof *e);
    e->flow = FLOW_NONE;
    e->sp_handle = SP_NONE;
    e->wscale = WSCALE_NONE;
}

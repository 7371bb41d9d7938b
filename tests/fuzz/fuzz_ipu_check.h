/* fuzz_ipu_check: fz_check_parse holds one IPU parse result to the contract of ipu.h (used by
 * fuzz_ipu and fuzz_pcap). C and C++. */
#ifndef SPPSIM_FUZZ_IPU_CHECK_H
#define SPPSIM_FUZZ_IPU_CHECK_H

#include "fuzz_check.h"
#include "ipu.h"

static inline int fz_is_network_type(unsigned t)
{
    return t <= EV_TCP_RST || (t >= EV_ROCE_SEND_FIRST && t <= EV_ROCE_NAK) ||
           t == EV_UDP_DATAGRAM || t == EV_OTHER;
}

/* The drop reason each check implies (ipu_parse never decides IPU_CK_OVERSIZE). */
static inline int fz_reason_of(unsigned check)
{
    switch (check) {
    case IPU_CK_CAPLEN:
        return DROP_CAPTURE_TRUNCATED;
    case IPU_CK_IPV4_CSUM:
    case IPU_CK_TCP_CSUM:
    case IPU_CK_UDP_CSUM:
        return DROP_BAD_CHECKSUM;
    case IPU_CK_ROCE_ICRC:
        return DROP_BAD_ICRC;
    case IPU_CK_IPV4_FRAG:
    case IPU_CK_IPV6_FRAG:
        return DROP_IP_FRAGMENT;
    default:
        return DROP_MALFORMED;
    }
}

/* Holds o (ipu_parse(p, verify, o)) to ipu.h: a drop has a reason matching its check and no
 * events; a processed frame has 1..IPU_MAX_EVENTS network events and every offset inside the
 * captured frame. */
static inline void fz_check_parse(const pkt *p, const ipu_parse_out *o)
{
    const event *e = &o->ev;
    FZ_CHECK(o->nev <= IPU_MAX_EVENTS);
    FZ_CHECK(o->check < IPU_CK_COUNT && o->check != IPU_CK_OVERSIZE);
    FZ_CHECK(e->frame_len == p->caplen);
    FZ_CHECK(e->link == p->link);
    FZ_CHECK(e->pkt == p->index);
    FZ_CHECK(e->chan == CH_NETWORK && e->cls == EVC_RECEIVE && e->proto < PROTO_COUNT);
    FZ_CHECK(e->wscale <= 14 || e->wscale == WSCALE_NONE);
    FZ_CHECK(e->nsack <= EV_MAX_SACK);
    FZ_CHECK(e->flow == FLOW_NONE && e->sp_handle == SP_NONE);
    if (p->caplen < p->len)
        FZ_CHECK(o->drop == DROP_CAPTURE_TRUNCATED && o->check == IPU_CK_CAPLEN);
    if (o->drop >= 0) {
        FZ_CHECK(o->drop < DROP_REASON_COUNT);
        FZ_CHECK(o->nev == 0 && !o->tso);
        FZ_CHECK(o->check != IPU_CK_OK && o->check != IPU_CK_NULL_FAMILY);
        FZ_CHECK(o->drop == fz_reason_of(o->check));
        return;
    }
    FZ_CHECK(o->drop == -1);
    FZ_CHECK(o->nev >= 1);
    FZ_CHECK(o->check == IPU_CK_OK || (o->check == IPU_CK_NULL_FAMILY && p->link == LINK_NULL));
    for (unsigned i = 0; i < IPU_MAX_EVENTS; i++)
        FZ_CHECK(i < o->nev ? fz_is_network_type(o->types[i]) : o->types[i] == 0);
    FZ_CHECK(e->l3_off <= e->l4_off && e->l4_off <= e->pay_off);
    FZ_CHECK((uint64_t)e->pay_off + e->pay_len <= p->caplen);
    if (e->proto == PROTO_TCP) {
        FZ_CHECK(e->key.proto == 6 && (e->key.af == 4 || e->key.af == 6));
        FZ_CHECK(e->pay_off >= (uint32_t)e->l4_off + 20 && e->pay_off <= (uint32_t)e->l4_off + 60);
        int data = 0;
        for (unsigned i = 0; i < o->nev; i++)
            data |= o->types[i] == EV_TCP_DATA;
        if (!(e->tcp_flags & TCPF_RST))
            FZ_CHECK(data == (e->pay_len > 0));
        else
            FZ_CHECK(o->nev == 1 && o->types[0] == EV_TCP_RST);
    } else if (e->proto == PROTO_UDP) {
        FZ_CHECK(e->key.proto == 17 && (e->key.af == 4 || e->key.af == 6));
        FZ_CHECK(e->pay_off == (uint32_t)e->l4_off + 8);
        FZ_CHECK(e->key.dport != ROCE_UDP_PORT);
        FZ_CHECK(o->nev == 1 && o->types[0] == EV_UDP_DATAGRAM);
    } else if (e->proto == PROTO_ROCE) {
        FZ_CHECK(e->key.proto == 17 && (e->key.af == 4 || e->key.af == 6));
        FZ_CHECK(flow_key_is_roce(&e->key) && e->key.qp == e->qp && e->qp <= 0xffffff);
        FZ_CHECK(e->pay_off >= (uint32_t)e->l4_off + 8 + 12 && e->seq <= 0xffffff);
        FZ_CHECK(o->nev == 1 && o->types[0] != EV_UDP_DATAGRAM && o->types[0] > EV_TCP_RST);
    } else {
        FZ_CHECK(o->nev == 1 && o->types[0] == EV_OTHER);
        FZ_CHECK(e->l4_off == e->pay_off);
    }
}

#endif

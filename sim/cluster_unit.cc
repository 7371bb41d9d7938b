#include "cluster_unit.h"

#include "config.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

const char *stage_name(unsigned s)
{
    static const char *const names[STAGE_COUNT] = {"ipu",    "to_dispatcher", "dispatcher",
                                                   "lookup", "core_queue",    "core"};
    return s < STAGE_COUNT ? names[s] : "?";
}

namespace {
constexpr size_t kFaultLines = 20;

template <class T> uint32_t room(const TimedChannel<T> &c) { return c.capacity() - c.depth(); }

// What each command makes when its event ends: bits 0-7 lookup-controller messages, 8-15
// internal events, 16-23 transmit messages (at most CORE_MAX_CMDS of each: no carry).
constexpr std::array<uint32_t, 256> cmd_needs()
{
    std::array<uint32_t, 256> t{};
    t[UC_CMD_TIMER_SET] = t[UC_CMD_TIMER_CANCEL] = t[UC_CMD_FLOW_CLOSE] = 1u;
    t[UC_CMD_EV_EMIT] = 1u << 8;
    t[UC_CMD_TX_EMIT] = t[UC_CMD_TX_ROCE] = t[UC_CMD_TX_DATA] = 1u << 16;
    return t;
}
constexpr std::array<uint32_t, 256> kCmdNeeds = cmd_needs();
static_assert(CORE_MAX_CMDS < 256, "the packed counts of cmd_needs must not carry");
} // namespace

ClusterUnit::ClusterUnit(sc_core::sc_module_name name, unsigned index, const cluster_cfg &cfg,
                         const core_cfg &ccfg, const ProtoImages &imgs, uint32_t on_fault,
                         ScratchpadPort &sp, Host &host, tx *txm, TimedChannel<luc_job> &jobs,
                         TimedChannel<LucMsg> &luc, TimedChannel<event> &internal,
                         TimedChannel<TxMsg> &txq, EventStats &st)
    : sc_module(name), index_(index), clk_(ccfg.clock_mhz), on_fault_(on_fault), sp_(sp),
      host_(host), tx_(txm), jobs_(jobs), luc_(luc), internal_(internal), txq_(txq), st_(st),
      imgs_(imgs)
{
    sim_err err;
    if (cluster_init(&c_, &cfg, &ccfg, imgs[PROTO_TCP], sp.model(), &err))
        throw std::runtime_error(err.msg);
    for (unsigned p = 0; p < PROTO_COUNT; p++) // the cores switch image per event (ev.proto)
        if (imgs[p] != imgs[PROTO_TCP] && cluster_add_image(&c_, p, imgs[p], &err)) {
            cluster_fini(&c_);
            throw std::runtime_error(err.msg);
        }
    cluster_set_cmd(&c_, answer, this);
    proc_.bind<&ClusterUnit::run>(this);
    proc_ << jobs.data_event() << luc.space_event() << internal.space_event() << txq.space_event()
          << wake_;
}

// One line per instruction retired: time, cluster.core, flow, pc, source line and text, and
// the register it wrote.
void ClusterUnit::trace_line(void *ctx, const core_trace_rec *r)
{
    auto *u = static_cast<ClusterUnit *>(ctx);
    const cluster_trace_rec *t = cluster_trace_of(r);
    char where[UC_MAX_TEXT + 64];
    uc_image_where(u->c_.slots[t->core].core.img, r->pc, true, where, sizeof where);
    std::fprintf(u->trace_, "%llu c%u.%u flow %u pc %u %s",
                 static_cast<unsigned long long>(u->clk_.time_of(r->cycle)), u->index_, t->core,
                 t->flow, r->pc, where);
    if (r->wreg >= 0)
        std::fprintf(u->trace_, "  ; r%d = 0x%x", r->wreg, r->wval);
    std::fputc('\n', u->trace_);
}

void ClusterUnit::history_line(void *ctx, const core_trace_rec *r)
{
    auto *u = static_cast<ClusterUnit *>(ctx);
    const cluster_trace_rec *t = cluster_trace_of(r);
    char where[UC_MAX_TEXT + 64];
    uc_image_where(u->c_.slots[t->core].core.img, r->pc, true, where, sizeof where);
    u->st_.history->instruction(u->index_, *cluster_trace_of(r), u->clk_.time_of(r->cycle), where);
}

void ClusterUnit::trace_core(FILE *f, unsigned core)
{
    trace_ = f;
    cluster_trace_core(&c_, core, trace_line, this);
}

void ClusterUnit::trace_flow(FILE *f, uint32_t flow)
{
    trace_ = f;
    cluster_trace_flow(&c_, flow, trace_line, this);
}

// The answering commands (isa.h), carried out when they issue.
// Whether the len bytes at off lie inside the event's frame; when not, counts a firmware error.
bool ClusterUnit::in_frame(const event &ev, uint32_t off, uint32_t len)
{
    if (ev.sp_handle == SP_NONE || len > ev.frame_len || off > ev.frame_len - len) {
        st_.bad_appends++;
        return false;
    }
    return true;
}

// The len bytes at off of the event's frame for host_write: in the scratchpad itself when they
// lie in consecutive cells, else copied into buf_ (valid until the next call); nullptr (counted
// as a firmware error) when they are not inside the frame.
const uint8_t *ClusterUnit::frame_bytes(const event &ev, uint32_t off, uint32_t len)
{
    if (!in_frame(ev, off, len))
        return nullptr;
    const scratchpad *sp = sp_.model();
    if (const uint8_t *p = sp_span(sp, ev.sp_handle, off, len))
        return p;
    if (buf_.size() < len)
        buf_.resize(len);
    if (sp_read(sp, ev.sp_handle, off, buf_.data(), len) != 0) {
        st_.bad_appends++;
        return nullptr;
    }
    return buf_.data();
}

namespace {
// Where smc_append_with takes the bytes of a frame in scattered cells from.
struct FrameFill {
    const scratchpad *sp;
    uint32_t h, off;
    static void fill(void *ctx, uint32_t from, uint8_t *dst, uint32_t n)
    {
        auto *f = static_cast<const FrameFill *>(ctx);
        sp_read(f->sp, f->h, f->off + from, dst, n);
    }
};
} // namespace

// sock_append: the payload goes from the scratchpad straight into the socket memory's pages,
// copied once (the frame's bytes in place, or page by page where its cells are scattered).
uint32_t ClusterUnit::append(const event &ev, uint32_t off, uint32_t len, uint32_t to, cycle_t at)
{
    if (!in_frame(ev, off, len))
        return 0;
    const scratchpad *sp = sp_.model();
    if (const uint8_t *p = sp_span(sp, ev.sp_handle, off, len))
        return smc_append(host_.model(), ev.flow, to, p, len, at);
    uint32_t n = sp_len(sp, ev.sp_handle);
    if (len > n || off > n - len) { // as sp_read would refuse
        st_.bad_appends++;
        return 0;
    }
    FrameFill f{sp, ev.sp_handle, off};
    return smc_append_with(host_.model(), ev.flow, to, len, &FrameFill::fill, &f, at);
}

uint32_t ClusterUnit::answer(void *ctx, const event *ev, core_cmd_rec *rec)
{
    auto *u = static_cast<ClusterUnit *>(ctx);
    const uint32_t *a = rec->arg;
    // when the command issued, and that on the SMC's clock: only for the commands that use them
    auto t_ps = [u, rec] { return u->clk_.time_of(rec->cycle); };
    auto at = [u, rec] { return u->host_.clock().cycle_at(u->clk_.time_of(rec->cycle)); };
    switch (rec->cmd) {
    case UC_CMD_SOCK_OPEN:
        return ev->proto == PROTO_ROCE ? u->host_.open_roce(ev->flow, a[0], t_ps())
                                       : u->host_.open(ev->flow, a[0], a[1], t_ps());
    case UC_CMD_SOCK_SPACE:
        return u->host_.window(ev->flow);
    case UC_CMD_SOCK_APPEND:
        return u->append(*ev, a[0], a[1], a[2], at());
    case UC_CMD_SOCK_DELIVER:
        return u->host_.deliver(ev->flow, a[0], at());
    case UC_CMD_HOST_WRITE: { // RDMA WRITE: the frame's bytes into a registered region
        const uint8_t *p = u->frame_bytes(*ev, a[0], a[1]);
        if (!p)
            return 0;
        uint64_t va = static_cast<uint64_t>(a[4]) << 32 | a[3];
        return u->host_.write_region(ev->flow, a[2], va, p, a[1], at());
    }
    case UC_CMD_SND_ACK:
        return smc_snd_ack(u->host_.model(), ev->flow, a[0], at());
    case UC_CMD_SND_SPACE:
        return smc_snd_pending(u->host_.model(), ev->flow, a[0]);
    case UC_CMD_SOCK_EVENT:
        return u->host_.sock_event(ev->flow, a[0], t_ps());
    case UC_CMD_SOCK_RCV:
        return u->host_.rcv_offset(ev->flow);
    case UC_CMD_TX_ACK_SENT:
        return tx_ack_sent(u->tx_, ev->flow, a[0], a[1]) ? 1 : 0;
    case UC_CMD_TX_KEY_TEMPLATE: // an active open: the key as the peer sends (src = peer)
        tx_set_template_key(u->tx_, ev->flow, &ev->key, nullptr, nullptr);
        return 0;
    case UC_CMD_TX_TEMPLATE: {
        if (ev->sp_handle == SP_NONE)
            return 0;
        u->buf_.resize(ev->frame_len);
        if (sp_read(u->sp_.model(), ev->sp_handle, 0, u->buf_.data(), ev->frame_len) == 0)
            tx_set_template(u->tx_, ev->flow, u->buf_.data(), ev->frame_len, ev->link, ev->l3_off,
                            ev->l4_off);
        return 0;
    }
    default:
        return 0;
    }
}

bool ClusterUnit::finish(const cluster_done &d, uint64_t now)
{
    const core_result &r = d.res;
    bool ok = r.fault == CORE_OK;
    bool close = !ok && on_fault_ == FAULT_RESET_FLOW;
    // room for everything this end sends, so that it is all or nothing
    // (one table look-up per command: the entries each command makes, packed 8 bits a channel)
    uint32_t need = 0;
    if (ok)
        for (uint32_t i = 0; i < r.ncmds; i++)
            need += kCmdNeeds[r.cmds[i].cmd];
    uint32_t need_luc = 1 + (close ? 1 : 0) + (need & 0xffu), need_int = (need >> 8) & 0xffu,
             need_tx = need >> 16;
    if (room(luc_) < need_luc) {
        luc_.refuse(true);
        return false;
    }
    if (room(internal_) < need_int) {
        internal_.refuse(true);
        return false;
    }
    if (room(txq_) < need_tx) {
        txq_.refuse(true);
        return false;
    }
    const event &ev = d.ev;
    unsigned t = ev.type < EV_TYPE_COUNT ? ev.type : unsigned{EV_OTHER};
    st_.count[t]++;
    uint64_t end = clk_.time_of(r.end);
    const unsigned proto = ev.proto < PROTO_COUNT ? ev.proto : unsigned{PROTO_OTHER};
    hist_add2(&st_.latency[t], &st_.proto_latency[proto],
              end > ev.t_arrival ? end - ev.t_arrival : 0);
    if (st_.log)
        log_event(d, end);
    uint64_t start = clk_.time_of(r.start);
    if (ev.chan == CH_NETWORK && ev.t_ipu_out) {
        // each stage from the end of the one before (unrolled: six adds per network event)
        auto span = [](uint64_t from, uint64_t to) { return to > from ? to - from : 0; };
        static_assert(STAGE_COUNT == 6, "one add per stage below");
        hist_add(&st_.stage[STAGE_IPU], span(ev.t_arrival, ev.t_ipu_out));
        hist_add(&st_.stage[STAGE_TO_DISPATCHER], span(ev.t_ipu_out, ev.t_disp_in));
        hist_add(&st_.stage[STAGE_DISPATCHER], span(ev.t_disp_in, ev.t_disp_out));
        hist_add(&st_.stage[STAGE_LOOKUP], span(ev.t_disp_out, ev.t_luc_out));
        hist_add(&st_.stage[STAGE_CORE_QUEUE], span(ev.t_luc_out, start));
        hist_add(&st_.stage[STAGE_CORE], span(start, end));
        // the segment is done when the last of its events is
        uint64_t seg_end = end;
        bool done = ev.pkt_nev <= 1;
        if (!done) {
            auto it = st_.open_segments.find(ev.pkt);
            if (it == st_.open_segments.end()) {
                st_.open_segments.emplace(ev.pkt,
                                          EventStats::Open{ev.pkt_nev - 1u, ev.t_arrival, end});
            } else {
                seg_end = std::max(it->second.end, end);
                it->second.end = seg_end;
                if (--it->second.left == 0) {
                    st_.open_segments.erase(it);
                    done = true;
                }
            }
        }
        if (done) {
            hist_add2(&st_.segment, &st_.proto_segment[proto],
                      seg_end > ev.t_arrival ? seg_end - ev.t_arrival : 0);
        }
    }
    if (st_.timeline)
        st_.timeline->record(ev, index_, d.core, start, end, r);
    if (st_.history && ev.pkt == st_.history->packet()) {
        char where[UC_MAX_TEXT + 64];
        uc_image_where(imgs_[ev.proto < PROTO_COUNT ? ev.proto : unsigned{PROTO_TCP}], r.pc, true,
                       where, sizeof where);
        st_.history->ended(ev, index_, d, start, end, r.pc == UC_NO_ENTRY ? "no handler" : where);
        if (history_jobs_ && --history_jobs_ == 0)
            cluster_trace_flow(&c_, FLOW_NONE, nullptr, nullptr);
    }
    if (!ok) {
        st_.faults++;
        if (st_.fault_lines.size() < kFaultLines) {
            char line[512];
            cluster_fault_report(&c_, &d, line, sizeof line);
            st_.fault_lines.push_back("cluster " + std::to_string(index_) + " " + line);
        }
        if (on_fault_ == FAULT_STOP && !st_.stop) {
            st_.stop = true;
            sched().stop();
        }
    }
    // (need is 0 when every command answered as it issued: nothing is left to carry out)
    for (uint32_t i = 0; need && i < r.ncmds; i++) {
        const core_cmd_rec &c = r.cmds[i];
        const uint32_t *a = c.arg;
        switch (c.cmd) {
        case UC_CMD_TX_ROCE: {
            TxMsg *m = txq_.push(now);
            m->kind = TxMsg::ROCE;
            m->flow = ev.flow;
            m->roce.opcode = static_cast<uint8_t>(a[0]);
            m->roce.psn = a[1] & 0xffffffu;
            m->roce.syndrome = static_cast<uint8_t>(a[2]);
            m->roce.msn = (a[2] >> 8) & 0xffffffu;
            m->roce.dest_qp = a[3] & 0xffffffu;
            break;
        }
        case UC_CMD_TX_EMIT: {
            TxMsg *m = txq_.push(now);
            m->kind = TxMsg::SEGMENT;
            m->flow = ev.flow;
            tx_seg &s = m->seg;
            s.seq = a[1];
            s.ack = a[2];
            s.win = static_cast<uint16_t>(a[3]);
            s.flags = static_cast<uint8_t>(a[4]);
            s.mss = static_cast<uint16_t>(a[0] & UC_TXO_MSS_MASK);
            s.wscale = a[0] & UC_TXO_WS ? (a[0] >> UC_TXO_WS_SHIFT) & 15u : WSCALE_NONE;
            s.sack_ok = (a[0] & UC_TXO_SACK_OK) != 0;
            s.nsack = static_cast<uint8_t>((a[0] >> UC_TXO_NSACK_SHIFT) & 7u);
            memcpy(s.sack, c.sack, sizeof s.sack);
            break;
        }
        case UC_CMD_TX_DATA: { // the payload is read from the send buffer as the command issues
            TxMsg *m = txq_.push(now);
            m->kind = TxMsg::DATA;
            m->flow = ev.flow;
            tx_seg &s = m->seg;
            s = tx_seg{};
            s.flags = static_cast<uint8_t>(a[0]);
            s.win = static_cast<uint16_t>(a[0] >> 16);
            s.seq = a[1];
            s.ack = a[2];
            s.wscale = WSCALE_NONE;
            m->store = &payloads_;
            m->payload = payloads_.put(a[4]);
            std::vector<uint8_t> &pl = payloads_.at(m->payload);
            const UnitClock &hc = host_.clock();
            cycle_t at = hc.cycle_at(clk_.time_of(c.cycle)), done = at;
            if (a[4] && // a FIN or RST alone names no bytes (its offset may be past the end)
                smc_snd_read(host_.model(), ev.flow, a[3], pl.data(), a[4], at, &done)) {
                st_.bad_tx_data++; // outside what the host wrote and the peer has not acked
                pl.clear();
            }
            m->ready_ps = hc.time_of(done);
            break;
        }
        case UC_CMD_TIMER_SET:
        case UC_CMD_TIMER_CANCEL: {
            LucMsg *m = luc_.push(now);
            m->kind = c.cmd == UC_CMD_TIMER_SET ? LucMsg::TIMER_SET : LucMsg::TIMER_CANCEL;
            m->flow = ev.flow;
            m->timer = static_cast<uint8_t>(a[0] < LUC_TIMERS ? a[0] : LUC_TIMERS - 1);
            m->expiry_ps = clk_.time_of(c.cycle) + static_cast<uint64_t>(a[1]) * 1000000u;
            break;
        }
        case UC_CMD_EV_EMIT: {
            if (a[0] >= EV_TYPE_COUNT) {
                st_.bad_emits++;
                break;
            }
            event *e = internal_.push(now);
            event_clear(e);
            e->type = static_cast<uint8_t>(a[0]);
            e->cls = static_cast<uint8_t>(ev_class_of(a[0]));
            e->chan = CH_INTERNAL;
            e->chain = static_cast<uint16_t>(ev.chain + 1); // <= core.max_chain (at most 60000)
            e->proto = ev.proto;
            e->flow = ev.flow;
            e->key = ev.key;
            e->arg = a[1];
            e->seq = a[2];
            e->ack = a[3];
            e->dma_len = a[4];
            e->pkt = UINT64_MAX;
            e->t_arrival = clk_.time_of(c.cycle);
            break;
        }
        case UC_CMD_FLOW_CLOSE:
            close = true;
            break;
        default:
            break;
        }
    }
    LucMsg *w = luc_.push(now);
    *w = LucMsg{};
    w->kind = LucMsg::WRITEBACK;
    w->cluster = static_cast<uint8_t>(index_);
    w->portions = tag_portions(d.tag);
    w->core = static_cast<uint16_t>(d.core);
    w->flow = ev.flow;
    w->slot = tag_slot(d.tag);
    if (close) {
        host_.close(ev.flow, clk_.time_of(r.end));
        LucMsg *m = luc_.push(now);
        *m = LucMsg{};
        m->kind = LucMsg::CLOSE;
        m->flow = ev.flow;
    }
    if (ev.sp_handle != SP_NONE)
        sp_.release(ev.sp_handle);
    return true;
}

// One line of --event-log (docs/outputs.md): where and when the event ran, what it did.
void ClusterUnit::log_event(const cluster_done &d, uint64_t end_ps)
{
    const event &ev = d.ev;
    const core_result &r = d.res;
    char cmds[CORE_MAX_CMDS * 16] = "";
    size_t n = 0;
    for (uint32_t i = 0; i < r.ncmds && n < sizeof cmds; i++)
        n += std::snprintf(cmds + n, sizeof cmds - n, "%s\"%s\"", i ? "," : "",
                           uc_cmd_name(r.cmds[i].cmd));
    std::fprintf(st_.log,
                 "{\"pkt\":%lld,\"type\":\"%s\",\"class\":\"%s\",\"chan\":\"%s\",\"flow\":%lld,"
                 "\"cluster\":%u,\"core\":%u,\"portions\":%u,\"arrival_ps\":%llu,"
                 "\"start_ps\":%llu,\"end_ps\":%llu,\"insns\":%llu,\"fault\":\"%s\","
                 "\"cmds\":[%s]}\n",
                 ev.pkt == UINT64_MAX ? -1LL : static_cast<long long>(ev.pkt),
                 ev_type_name(ev.type), ev_class_name(ev.cls), ev_chan_name(ev.chan),
                 ev.flow == FLOW_NONE ? -1LL : static_cast<long long>(ev.flow), index_, d.core,
                 tag_portions(d.tag), static_cast<unsigned long long>(ev.t_arrival),
                 static_cast<unsigned long long>(clk_.time_of(r.start)),
                 static_cast<unsigned long long>(end_ps), static_cast<unsigned long long>(r.insns),
                 core_fault_name(r.fault), cmds);
}

void ClusterUnit::run()
{
    auto step = [this](cycle_t cyc) {
        const uint64_t now = clk_.time_of(cyc); // run_until_idle steps on clock edges
        unsigned progress = 0;
        while (luc_job *j = jobs_.peek(now)) {
            if (!cluster_can_accept(&c_, j->core)) {
                cluster_refuse(&c_, j->core);
                break; // in order: the next job waits behind this one
            }
            if (st_.history && j->ev.pkt == st_.history->packet() && history_jobs_++ == 0)
                cluster_trace_flow(&c_, j->ev.flow, history_line, this);
            cluster_job *cj = cluster_push_slot(&c_, j->core, cyc);
            cj->ev = j->ev;
            cj->ws = j->ws;
            cj->ws_len = j->ws_len;
            cj->tag = tag_of(j->slot, j->portions);
            jobs_.pop(now);
            progress++;
        }
        progress += cluster_advance(&c_, cyc);
        while (const cluster_done *d = cluster_front(&c_)) {
            if (!finish(*d, now))
                break;
            cluster_pop_out(&c_);
            progress++;
        }
        return progress;
    };
    if (!run_until_idle(clk_, wake_, last_work_ps_, step))
        return;
    uint64_t now = now_ps();
    wake_at_cycle(clk_, wake_, cluster_next_cycle(&c_), now);
}

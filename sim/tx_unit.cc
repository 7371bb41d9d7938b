#include "tx_unit.h"

#include <stdexcept>

TxUnit::TxUnit(sc_core::sc_module_name name, const tx_cfg &cfg, uint32_t flows,
               TimedChannel<TxMsg> &in, const std::string &path, std::function<uint64_t()> epoch)
    : sc_module(name), clk_(cfg.clock_mhz), depth_(cfg.depth), in_(in), epoch_(std::move(epoch))
{
    sim_err err;
    t_.reset(tx_new(&cfg, flows, &err));
    if (!t_)
        throw std::runtime_error(err.msg);
    if (!path.empty())
        pcap_.open(path, "transmit capture");
    proc_.bind<&TxUnit::run>(this);
    proc_ << in.data_event() << wake_;
}

void TxUnit::run()
{
    auto step = [this](cycle_t cyc) {
        const uint64_t now = clk_.time_of(cyc); // run_until_idle steps on clock edges
        unsigned progress = 0;
        // a full queue takes nothing more: the channel fills and the cores wait (back-pressure)
        while (TxMsg *m = tx_queued(t_.get()) < depth_ ? in_.peek(now) : nullptr) {
            if (m->kind == TxMsg::DATA && m->ready_ps > now) { // its payload is still being read
                wake_.notify(m->ready_ps - now);
                break; // in order: the frames behind it wait too
            }
            if (m->kind == TxMsg::ROCE) // a refusal is counted by the model
                tx_emit_roce(t_.get(), m->flow, &m->roce, cyc);
            else if (m->kind == TxMsg::DATA) {
                std::vector<uint8_t> &pl = m->store->at(m->payload);
                tx_emit_data(t_.get(), m->flow, &m->seg, pl.data(),
                             static_cast<uint32_t>(pl.size()), cyc);
                m->store->release(m->payload);
            } else
                tx_emit(t_.get(), m->flow, &m->seg, cyc);
            in_.pop(now);
            progress++;
        }
        progress += tx_advance(t_.get(), cyc);
        const tx_out *o;
        while (tx_peek_out(t_.get(), &o)) {
            uint64_t t = clk_.time_of(o->depart);
            last_ps_ = t > last_ps_ ? t : last_ps_;
            if (pcap_.is_open())
                pcap_.write(o->frame, o->len, epoch_() + t / 1000);
            if (depart_)
                depart_(o->frame, o->len, t);
            tx_pop_out(t_.get());
            progress++;
        }
        return progress;
    };
    if (!run_until_idle(clk_, wake_, last_work_ps_, step))
        return;
    uint64_t now = now_ps();
    wake_at_cycle(clk_, wake_, tx_next_cycle(t_.get()), now);
}

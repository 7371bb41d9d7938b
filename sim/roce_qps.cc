#include "roce_qps.h"

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>
#include <tuple>

namespace {
using boost::property_tree::ptree;

uint64_t number(const ptree &t, const std::string &key, uint64_t max, const std::string &where)
{
    auto v = t.get_child_optional(key);
    if (!v)
        throw std::runtime_error(where + ": no \"" + key + "\"");
    const std::string s = v->data();
    char *end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || !v->empty() || *end || errno || s[0] == '-' || n > max)
        throw std::runtime_error(where + ": \"" + key + "\" is '" + s +
                                 "', not an integer in [0, " + std::to_string(max) + "]");
    return n;
}

uint8_t address(const ptree &t, const std::string &key, uint8_t *out, const std::string &where)
{
    auto v = t.get_child_optional(key);
    if (!v || !v->empty())
        throw std::runtime_error(where + ": no \"" + key + "\" address");
    const std::string s = v->data();
    if (inet_pton(AF_INET, s.c_str(), out) == 1)
        return 4;
    if (inet_pton(AF_INET6, s.c_str(), out) == 1)
        return 6;
    throw std::runtime_error(where + ": \"" + key + "\" is '" + s + "', not an IP address");
}

void check_keys(const ptree &t, std::initializer_list<const char *> known, const std::string &where)
{
    for (const auto &kv : t) {
        bool ok = false;
        for (const char *k : known)
            ok = ok || kv.first == k;
        if (!ok)
            throw std::runtime_error(where + ": unknown key \"" + kv.first + "\"");
    }
}
} // namespace

std::vector<RoceQp> load_roce_qps(const std::string &path)
{
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error(path + ": cannot open the queue pair file");
    ptree root;
    try {
        boost::property_tree::read_json(in, root);
    } catch (const boost::property_tree::json_parser_error &e) {
        throw std::runtime_error(path + ": line " + std::to_string(e.line()) + ": " + e.message());
    }
    if (!root.data().empty() || (!root.empty() && !root.front().first.empty()))
        throw std::runtime_error(path + ": not a JSON list of queue pairs");
    std::vector<RoceQp> qps;
    std::set<std::tuple<std::string, std::string, uint32_t>> seen;
    unsigned i = 0;
    for (const auto &e : root) {
        const std::string where = path + ": entry " + std::to_string(i++);
        const ptree &t = e.second;
        if (t.empty())
            throw std::runtime_error(where + ": not an object");
        check_keys(t,
                   {"local", "remote", "local_qp", "remote_qp", "start_psn", "buffer", "regions"},
                   where);
        RoceQp q{};
        uint8_t l[16] = {}, r[16] = {};
        uint8_t af = address(t, "local", l, where);
        if (address(t, "remote", r, where) != af)
            throw std::runtime_error(where + ": \"local\" and \"remote\" are not of one family");
        q.local = t.get<std::string>("local");
        q.remote = t.get<std::string>("remote");
        q.local_qp = static_cast<uint32_t>(number(t, "local_qp", 0xffffff, where));
        q.remote_qp = static_cast<uint32_t>(number(t, "remote_qp", 0xffffff, where));
        q.start_psn = static_cast<uint32_t>(number(t, "start_psn", 0xffffff, where));
        q.buffer = static_cast<uint32_t>(number(t, "buffer", 0x7fffffff, where));
        if (q.buffer == 0)
            throw std::runtime_error(where + ": \"buffer\" is 0");
        for (flow_key *k : {&q.requests, &q.local_sends}) {
            flow_key_clear(k);
            k->af = af;
            k->proto = 17;
            k->dport = ROCE_UDP_PORT;
        }
        std::memcpy(q.requests.src, r, 16);
        std::memcpy(q.requests.dst, l, 16);
        q.requests.qp = q.local_qp;
        std::memcpy(q.local_sends.src, l, 16);
        std::memcpy(q.local_sends.dst, r, 16);
        q.local_sends.qp = q.remote_qp;
        if (!seen.insert({q.remote, q.local, q.local_qp}).second)
            throw std::runtime_error(where + ": a second queue pair " + q.remote + " -> " +
                                     q.local + " qp " + std::to_string(q.local_qp));
        if (auto regs = t.get_child_optional("regions")) {
            if (!regs->data().empty())
                throw std::runtime_error(where + ": \"regions\" is not a list");
            unsigned j = 0;
            for (const auto &rv : *regs) {
                const std::string rw = where + ": region " + std::to_string(j++);
                if (!rv.first.empty() || rv.second.empty())
                    throw std::runtime_error(rw + ": not an object in a list");
                check_keys(rv.second, {"rkey", "va", "len"}, rw);
                RoceRegion g{};
                g.rkey = static_cast<uint32_t>(number(rv.second, "rkey", 0xffffffffu, rw));
                g.va = number(rv.second, "va", UINT64_MAX, rw);
                g.len = number(rv.second, "len", 1ull << 40, rw);
                if (g.len == 0 || g.va + g.len < g.va)
                    throw std::runtime_error(rw + ": empty, or past the end of the address space");
                for (const auto &o : q.regions)
                    if (o.rkey == g.rkey)
                        throw std::runtime_error(rw + ": a second region with rkey " +
                                                 std::to_string(g.rkey));
                q.regions.push_back(g);
            }
        }
        qps.push_back(std::move(q));
    }
    return qps;
}

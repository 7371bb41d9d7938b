// frame_builder: builds link/IP/transport frames for the IPU tests, with correct lengths and
// checksums by default and knobs to break each of them. The checksum here is a deliberately
// plain 16-bit-word RFC 1071 sum, independent of the model's optimised one.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "event.h"

namespace fb {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes &b, size_t off, uint16_t v)
{
    b[off] = uint8_t(v >> 8);
    b[off + 1] = uint8_t(v);
}
inline void put32(Bytes &b, size_t off, uint32_t v)
{
    put16(b, off, uint16_t(v >> 16));
    put16(b, off + 2, uint16_t(v));
}
inline void app8(Bytes &b, uint8_t v) { b.push_back(v); }
inline void app16(Bytes &b, uint16_t v)
{
    b.push_back(uint8_t(v >> 8));
    b.push_back(uint8_t(v));
}
inline void app32(Bytes &b, uint32_t v)
{
    app16(b, uint16_t(v >> 16));
    app16(b, uint16_t(v));
}
inline void app(Bytes &b, const Bytes &x) { b.insert(b.end(), x.begin(), x.end()); }

// Reference RFC 1071 sum: big-endian 16-bit words, odd byte padded with zero, 64-bit total.
inline uint64_t ref_sum(const uint8_t *p, size_t n, uint64_t s = 0)
{
    for (size_t i = 0; i < n; i += 2)
        s += uint32_t(p[i]) << 8 | (i + 1 < n ? p[i + 1] : 0);
    return s;
}
inline uint16_t ref_fold(uint64_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return uint16_t(s);
}
inline uint16_t ref_csum(const uint8_t *p, size_t n, uint64_t s = 0)
{
    return uint16_t(~ref_fold(ref_sum(p, n, s)));
}

// ---- TCP options (raw bytes; the builder pads the option area with EOL to 4-byte words) ----
inline Bytes opt_eol() { return {0}; }
inline Bytes opt_nop() { return {1}; }
inline Bytes opt_mss(uint16_t mss) { return {2, 4, uint8_t(mss >> 8), uint8_t(mss)}; }
inline Bytes opt_ws(uint8_t shift) { return {3, 3, shift}; }
inline Bytes opt_sack_ok() { return {4, 2}; }
inline Bytes opt_sack(const std::vector<std::pair<uint32_t, uint32_t>> &blocks)
{
    Bytes b{5, uint8_t(2 + 8 * blocks.size())};
    for (auto &bl : blocks) {
        app32(b, bl.first);
        app32(b, bl.second);
    }
    return b;
}
inline Bytes opt_ts(uint32_t val, uint32_t ecr)
{
    Bytes b{8, 10};
    app32(b, val);
    app32(b, ecr);
    return b;
}
// Any kind with an explicit length byte and body (for wrong lengths and unknown kinds).
inline Bytes opt_raw(uint8_t kind, uint8_t len, Bytes body = {})
{
    Bytes b{kind, len};
    app(b, body);
    return b;
}
inline Bytes cat(std::initializer_list<Bytes> parts)
{
    Bytes b;
    for (auto &p : parts)
        app(b, p);
    return b;
}

// An IPv6 extension header: type (0, 43, 44, 60, ...) and the bytes after its next-header and
// length bytes. The builder pads the body with zeros to a multiple of 8 bytes overall and sets
// the length field, unless len_field overrides it.
struct Ext6 {
    uint8_t type;
    Bytes body;
    std::optional<uint8_t> len_field;
};

struct Spec {
    // ---- link ----
    uint8_t link = LINK_ETHERNET;
    std::vector<uint16_t> vlans;         // TPIDs of the VLAN tags, outermost first (Ethernet)
    std::optional<uint16_t> ethertype;   // default: from ip (also SLL/SLL2 protocol)
    size_t eth_pad = 0;                  // zero bytes after the IP packet (Ethernet padding)
    std::optional<uint32_t> null_family; // LINK_NULL; default 2 (IPv4) or 30 (IPv6)
    bool null_big_endian = false;        // LINK_NULL: write the family big-endian
    // ---- network ----
    int ip = 4; // 4, 6, or 0: l3_raw is the whole network layer (e.g. ARP)
    Bytes l3_raw;
    std::array<uint8_t, 4> src4{10, 0, 0, 1}, dst4{10, 0, 0, 2};
    std::array<uint8_t, 16> src6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    std::array<uint8_t, 16> dst6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    std::optional<uint8_t> version; // overrides the version nibble
    unsigned ip_opt_words = 0;      // IPv4 options (NOPs), in 32-bit words
    std::optional<uint8_t> ihl;     // overrides the IPv4 IHL field
    std::optional<uint16_t> totlen; // overrides the IPv4 total length
    uint16_t frag = 0x4000;         // IPv4 flags + fragment offset (0x4000 = DF only)
    bool bad_ip_csum = false;
    std::vector<Ext6> ext;             // IPv6 extension headers in order
    std::optional<uint16_t> plen;      // overrides the IPv6 payload length
    bool jumbo = false;                // IPv6: hop-by-hop Jumbo Payload option first, plen 0
    std::optional<uint32_t> jumbo_len; // overrides the jumbo length (default: the true one)
    uint8_t proto = 6;                 // transport protocol number
    // ---- transport ----
    uint16_t sport = 40000, dport = 80;
    uint32_t seq = 1000, ack = 2000;
    uint8_t flags = TCPF_ACK;
    uint16_t win = 65535;
    Bytes tcp_opts;
    std::optional<uint8_t> doff;     // overrides the TCP data offset field
    std::optional<uint16_t> udp_len; // overrides the UDP length field
    bool udp_zero_csum = false;      // send UDP checksum 0 ("none")
    bool bad_l4_csum = false;
    Bytes l4_raw; // the whole transport layer for other protocols (ICMP...)
    Bytes payload;
};

struct Frame {
    Bytes bytes;
    uint8_t link = LINK_ETHERNET;
    uint32_t l3_off = 0, l4_off = 0, pay_off = 0, pay_len = 0;

    pkt as_pkt(uint64_t index = 0, simtime_ps t = 0) const
    {
        pkt p;
        p.data = bytes.data();
        p.caplen = uint32_t(bytes.size());
        p.len = uint32_t(bytes.size());
        p.link = link;
        p.index = index;
        p.t_arrival = t;
        return p;
    }
};

inline Bytes build_l4(const Spec &s, size_t *hdr_len)
{
    Bytes b;
    if (s.proto == 6) {
        Bytes opts = s.tcp_opts;
        while (opts.size() % 4)
            opts.push_back(0);
        app16(b, s.sport);
        app16(b, s.dport);
        app32(b, s.seq);
        app32(b, s.ack);
        uint8_t doff = s.doff ? *s.doff : uint8_t(5 + opts.size() / 4);
        app8(b, uint8_t(doff << 4));
        app8(b, s.flags);
        app16(b, s.win);
        app16(b, 0); // checksum
        app16(b, 0); // urgent pointer
        app(b, opts);
        *hdr_len = b.size();
    } else if (s.proto == 17) {
        app16(b, s.sport);
        app16(b, s.dport);
        app16(b, s.udp_len ? *s.udp_len : uint16_t(8 + s.payload.size()));
        app16(b, 0);
        *hdr_len = 8;
    } else {
        b = s.l4_raw;
        *hdr_len = 0;
        return b;
    }
    app(b, s.payload);
    return b;
}

// Fills the TCP/UDP checksum of l4 given the pseudo-header sum.
inline void fill_l4_csum(const Spec &s, Bytes &l4, uint64_t pseudo_wo_len, uint32_t tcp_len)
{
    if (s.proto == 6) {
        uint64_t ps = pseudo_wo_len + (tcp_len >> 16) + (tcp_len & 0xffff);
        uint16_t c = ref_csum(l4.data(), l4.size(), ps);
        put16(l4, 16, uint16_t(s.bad_l4_csum ? c ^ 0x5a5a : c));
    } else if (s.proto == 17) {
        if (s.udp_zero_csum)
            return;
        size_t ulen = s.udp_len && *s.udp_len <= l4.size() ? *s.udp_len : l4.size();
        uint64_t ps = pseudo_wo_len + ulen;
        uint16_t c = ref_csum(l4.data(), ulen, ps);
        if (c == 0)
            c = 0xffff; // RFC 768: a computed zero is sent as all ones
        put16(l4, 6, uint16_t(s.bad_l4_csum ? c ^ 0x5a5a : c));
    }
}

inline Bytes build_l3(const Spec &s, uint32_t *l4_rel, uint32_t *pay_rel, uint32_t *pay_len)
{
    size_t hl = 0;
    Bytes l4 = build_l4(s, &hl);
    Bytes b;
    if (s.ip == 0) {
        *l4_rel = *pay_rel = 0;
        *pay_len = uint32_t(s.l3_raw.size());
        return s.l3_raw;
    }
    if (s.ip == 4) {
        uint8_t ihl = s.ihl ? *s.ihl : uint8_t(5 + s.ip_opt_words);
        uint8_t ver = s.version ? *s.version : 4;
        app8(b, uint8_t(ver << 4 | (ihl & 15)));
        app8(b, 0);
        app16(b, s.totlen ? *s.totlen : uint16_t(20 + 4 * s.ip_opt_words + l4.size()));
        app16(b, 0x1234);
        app16(b, s.frag);
        app8(b, 64);
        app8(b, s.proto);
        app16(b, 0);
        b.insert(b.end(), s.src4.begin(), s.src4.end());
        b.insert(b.end(), s.dst4.begin(), s.dst4.end());
        for (unsigned i = 0; i < 4 * s.ip_opt_words; i++)
            app8(b, 1);
        uint16_t c = ref_csum(b.data(), b.size());
        put16(b, 10, uint16_t(s.bad_ip_csum ? c ^ 0x0101 : c));
        uint64_t ps = ref_sum(b.data() + 12, 8) + s.proto;
        fill_l4_csum(s, l4, ps, uint32_t(l4.size()));
        *l4_rel = uint32_t(b.size());
    } else {
        std::vector<Ext6> ext = s.ext;
        if (s.jumbo)
            ext.insert(ext.begin(), Ext6{0, {0xc2, 4, 0, 0, 0, 0}, std::nullopt});
        Bytes eb;
        size_t jumbo_at = 0;
        for (size_t i = 0; i < ext.size(); i++) {
            Bytes h;
            app8(h, i + 1 < ext.size() ? ext[i + 1].type : s.proto);
            app8(h, 0);
            app(h, ext[i].body);
            while (h.size() % 8)
                h.push_back(0);
            h[1] = ext[i].len_field ? *ext[i].len_field : uint8_t(h.size() / 8 - 1);
            if (s.jumbo && i == 0)
                jumbo_at = eb.size() + 4; // the option's value, after nh, len, type, optlen
            app(eb, h);
        }
        uint32_t total = uint32_t(eb.size() + l4.size());
        if (s.jumbo)
            put32(eb, jumbo_at, s.jumbo_len ? *s.jumbo_len : total);
        uint8_t ver = s.version ? *s.version : 6;
        app8(b, uint8_t(ver << 4));
        app8(b, 0);
        app16(b, 0);
        app16(b, s.plen ? *s.plen : s.jumbo ? 0 : uint16_t(total));
        app8(b, ext.empty() ? s.proto : ext[0].type);
        app8(b, 64);
        b.insert(b.end(), s.src6.begin(), s.src6.end());
        b.insert(b.end(), s.dst6.begin(), s.dst6.end());
        uint64_t ps = ref_sum(b.data() + 8, 32) + s.proto;
        fill_l4_csum(s, l4, ps, uint32_t(l4.size()));
        app(b, eb);
        *l4_rel = uint32_t(b.size());
    }
    *pay_rel = uint32_t(*l4_rel + hl);
    *pay_len = uint32_t(s.proto == 6 || s.proto == 17 ? s.payload.size() : l4.size());
    app(b, l4);
    return b;
}

inline Frame build(const Spec &s)
{
    Frame f;
    f.link = s.link;
    uint32_t l4_rel = 0, pay_rel = 0, pay_len = 0;
    Bytes l3 = build_l3(s, &l4_rel, &pay_rel, &pay_len);
    uint16_t et = s.ethertype ? *s.ethertype : s.ip == 6 ? 0x86dd : 0x0800;
    Bytes &b = f.bytes;
    switch (s.link) {
    case LINK_ETHERNET:
        for (uint8_t m : {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01})
            app8(b, m);
        for (size_t i = 0; i < s.vlans.size(); i++) {
            app16(b, s.vlans[i]);
            app16(b, uint16_t(100 + i)); // TCI: VLAN id
        }
        app16(b, et);
        break;
    case LINK_SLL:
        app16(b, 0); // packet type: to us
        app16(b, 1); // ARPHRD_ETHER
        app16(b, 6); // address length
        for (int i = 0; i < 8; i++)
            app8(b, uint8_t(i < 6 ? 0x02 : 0));
        app16(b, et);
        break;
    case LINK_SLL2:
        app16(b, et);
        app16(b, 0); // reserved
        app32(b, 3); // interface index
        app16(b, 1); // ARPHRD_ETHER
        app8(b, 0);  // packet type
        app8(b, 6);  // address length
        for (int i = 0; i < 8; i++)
            app8(b, uint8_t(i < 6 ? 0x02 : 0));
        break;
    case LINK_RAW:
        break;
    case LINK_NULL: {
        uint32_t fam = s.null_family ? *s.null_family : s.ip == 6 ? 30 : 2;
        if (s.null_big_endian)
            app32(b, fam);
        else
            for (int i = 0; i < 4; i++)
                app8(b, uint8_t(fam >> (8 * i)));
        break;
    }
    }
    f.l3_off = uint32_t(b.size());
    f.l4_off = f.l3_off + l4_rel;
    f.pay_off = f.l3_off + pay_rel;
    f.pay_len = pay_len;
    app(b, l3);
    b.resize(b.size() + s.eth_pad, 0);
    return f;
}

// A well-formed TCP segment over Ethernet/IPv4 with the given flags and payload size.
inline Spec tcp4(uint8_t flags = TCPF_ACK, size_t payload = 0)
{
    Spec s;
    s.flags = flags;
    s.payload.resize(payload);
    for (size_t i = 0; i < payload; i++)
        s.payload[i] = uint8_t(i * 7 + 3);
    return s;
}

// ---- RoCEv2 (UDP destination port 4791) ----
// Reference CRC-32 (reflected, polynomial 0xedb88320), bit by bit: independent of the model's
// table-driven one. crc is the running register (start with 0xffffffff; complement at the end).
inline uint32_t ref_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return crc;
}

// A RoCEv2 transport packet: BTH, the extension headers as given, payload, pad bytes and a
// 4-byte ICRC field (zero until roce_seal fills it).
struct Roce {
    uint8_t opcode = 0x04; // RC SEND only
    bool se = false, mig = false, ackreq = false;
    std::optional<uint8_t> pad;      // the BTH's pad count; default: to a multiple of 4
    std::optional<size_t> pad_bytes; // pad bytes written; default: the pad count
    uint8_t tver = 0;
    uint16_t pkey = 0xffff;
    uint8_t resv8a = 0;
    uint32_t qp = 0x12, psn = 0;
    Bytes ext; // RETH, AETH, ImmDt... in order
    Bytes payload;
    bool icrc = true; // roce_seal appends the ICRC field (false: a packet cut before it)
};
inline Bytes reth(uint64_t va, uint32_t rkey, uint32_t len)
{
    Bytes b;
    app32(b, uint32_t(va >> 32));
    app32(b, uint32_t(va));
    app32(b, rkey);
    app32(b, len);
    return b;
}
inline Bytes aeth(uint8_t syndrome, uint32_t msn)
{
    Bytes b;
    app32(b, uint32_t(syndrome) << 24 | (msn & 0xffffff));
    return b;
}
inline Bytes roce_body(const Roce &r)
{
    uint8_t pad = r.pad ? *r.pad : uint8_t(-r.payload.size() & 3);
    Bytes b;
    app8(b, r.opcode);
    app8(b, uint8_t(r.se << 7 | r.mig << 6 | (pad & 3) << 4 | (r.tver & 15)));
    app16(b, r.pkey);
    app32(b, uint32_t(r.resv8a) << 24 | (r.qp & 0xffffff));
    app32(b, uint32_t(r.ackreq) << 31 | (r.psn & 0xffffff));
    app(b, r.ext);
    app(b, r.payload);
    b.resize(b.size() + (r.pad_bytes ? *r.pad_bytes : pad), 0);
    if (r.icrc)
        b.resize(b.size() + 4, 0);
    return b;
}
// A Spec for a RoCEv2 packet over IPv4 or IPv6 (UDP source port sport).
inline Spec roce_spec(const Roce &r, int ipver = 4, uint16_t sport = 49152)
{
    Spec s;
    s.ip = ipver;
    s.proto = 17;
    s.sport = sport;
    s.dport = 4791;
    s.payload = roce_body(r);
    return s;
}
// The ICRC the RoCEv2 annex defines for the built frame f (IP header at f.l3_off, UDP header at
// f.l4_off, no IPv6 extension headers, the ICRC in the last 4 bytes of the UDP datagram):
// CRC-32 over 8 bytes of 0xff and the packet with IPv4 ToS/TTL/checksum or IPv6 traffic class,
// flow label and hop limit, the UDP checksum and BTH byte 4 set to all ones.
inline uint32_t ref_icrc(const Frame &f)
{
    const uint8_t *ip = f.bytes.data() + f.l3_off;
    const uint8_t *udp = f.bytes.data() + f.l4_off;
    size_t ulen = size_t(udp[4]) << 8 | udp[5];
    Bytes m(ip, udp + ulen - 4);
    size_t u = f.l4_off - f.l3_off;
    if ((m[0] >> 4) == 4) {
        m[1] = m[8] = m[10] = m[11] = 0xff;
    } else {
        m[0] |= 0x0f;
        m[1] = m[2] = m[3] = m[7] = 0xff;
    }
    m[u + 6] = m[u + 7] = 0xff;
    m[u + 8 + 4] = 0xff;
    const uint8_t ones[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint32_t c = ref_crc32(0xffffffffu, ones, 8);
    return ~ref_crc32(c, m.data(), m.size());
}
// Recomputes the UDP checksum of f in place (unless it is 0: "none").
inline void udp_recsum(Frame &f)
{
    uint8_t *ip = f.bytes.data() + f.l3_off;
    uint8_t *udp = f.bytes.data() + f.l4_off;
    if (udp[6] == 0 && udp[7] == 0)
        return;
    size_t ulen = size_t(udp[4]) << 8 | udp[5];
    uint64_t ps = (ip[0] >> 4) == 4 ? ref_sum(ip + 12, 8) : ref_sum(ip + 8, 32);
    ps += 17 + ulen;
    udp[6] = udp[7] = 0;
    uint16_t c = ref_csum(udp, ulen, ps);
    if (c == 0)
        c = 0xffff;
    udp[6] = uint8_t(c >> 8);
    udp[7] = uint8_t(c);
}
// Recomputes the IPv4 header checksum of f in place (after a test changed a header field).
inline void ipv4_recsum(Frame &f)
{
    uint8_t *ip = f.bytes.data() + f.l3_off;
    ip[10] = ip[11] = 0;
    uint16_t c = ref_csum(ip, size_t(ip[0] & 15) * 4);
    ip[10] = uint8_t(c >> 8);
    ip[11] = uint8_t(c);
}
// Writes the ICRC (least significant byte first) into the last 4 bytes of f's UDP datagram,
// XORed with flip (non-zero: a wrong ICRC), then the UDP checksum.
inline void roce_seal(Frame &f, uint32_t flip = 0)
{
    uint8_t *udp = f.bytes.data() + f.l4_off;
    size_t ulen = size_t(udp[4]) << 8 | udp[5];
    uint32_t c = ref_icrc(f) ^ flip;
    for (int i = 0; i < 4; i++)
        udp[ulen - 4 + i] = uint8_t(c >> (8 * i));
    udp_recsum(f);
}
inline Frame roce_frame(const Roce &r, int ipver = 4, uint16_t sport = 49152)
{
    Frame f = build(roce_spec(r, ipver, sport));
    roce_seal(f);
    return f;
}

} // namespace fb

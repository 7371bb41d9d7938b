#include "json_writer.h"

#include <cmath>
#include <cstdint>
#include <cstdio>

std::string fmt_num(double v)
{
    if (!std::isfinite(v))
        return "0";
    // %.6g of a whole number below 10^6 in magnitude is its decimal digits (-0.0, "-0", is left
    // to snprintf): written here, as snprintf costs ~20 times as much and the time series are
    // mostly counts
    if (v > -1e6 && v < 1e6 && v == static_cast<double>(static_cast<int64_t>(v)) &&
        !(v == 0 && std::signbit(v))) {
        char d[8];
        char *p = d + sizeof d;
        int64_t n = static_cast<int64_t>(v);
        uint64_t u = static_cast<uint64_t>(n < 0 ? -n : n);
        do {
            *--p = static_cast<char>('0' + u % 10);
            u /= 10;
        } while (u);
        if (n < 0)
            *--p = '-';
        return std::string(p, d + sizeof d);
    }
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", v);
    return b;
}

void JsonWriter::item(const char *key)
{
    if (!first_.empty()) {
        o_ << (first_.back() ? "\n" : ",\n");
        first_.back() = false;
    }
    o_ << std::string(2 * first_.size(), ' ');
    if (key) {
        str(key);
        o_ << ": ";
    }
}

void JsonWriter::open(const char *key, char c)
{
    item(key);
    o_ << c;
    first_.push_back(true);
}

void JsonWriter::close(char c)
{
    bool empty = first_.back();
    first_.pop_back();
    if (!empty)
        o_ << "\n" << std::string(2 * first_.size(), ' ');
    o_ << c;
}

void JsonWriter::kv(const char *key, double v)
{
    item(key);
    o_ << fmt_num(v);
}

void JsonWriter::kv(const char *key, const std::vector<double> &v)
{
    item(key);
    o_ << '[';
    for (size_t i = 0; i < v.size(); i++)
        o_ << (i ? ", " : "") << fmt_num(v[i]);
    o_ << ']';
}

void JsonWriter::str(const std::string &s)
{
    o_ << '"';
    for (unsigned char c : s) {
        switch (c) {
        case '"':
            o_ << "\\\"";
            break;
        case '\\':
            o_ << "\\\\";
            break;
        case '\n':
            o_ << "\\n";
            break;
        case '\t':
            o_ << "\\t";
            break;
        case '\r':
            o_ << "\\r";
            break;
        default:
            if (c < 0x20) {
                char b[8];
                std::snprintf(b, sizeof b, "\\u%04x", c);
                o_ << b;
            } else {
                o_ << c;
            }
        }
    }
    o_ << '"';
}

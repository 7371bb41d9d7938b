// JsonWriter: a small streaming JSON emitter with stable formatting (2-space indent, numbers
// printed the same way on every run), so that identical runs give byte-identical files.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

class JsonWriter {
public:
    explicit JsonWriter(std::ostream &o) : o_(o) {}
    void begin(const char *key = nullptr) { open(key, '{'); }
    void end() { close('}'); }
    void begin_array(const char *key = nullptr) { open(key, '['); }
    void end_array() { close(']'); }
    void kv(const char *key, uint64_t v)
    {
        item(key);
        o_ << v;
    }
    void kv(const char *key, int v)
    {
        item(key);
        o_ << v;
    }
    void kv(const char *key, unsigned v)
    {
        item(key);
        o_ << v;
    }
    void kv(const char *key, bool v)
    {
        item(key);
        o_ << (v ? "true" : "false");
    }
    void kv(const char *key, double v);
    // A numeric array on one line (time series): [1, 2.5, 3]
    void kv(const char *key, const std::vector<double> &v);
    void kv(const char *key, const std::string &v)
    {
        item(key);
        str(v);
    }
    void kv(const char *key, const char *v)
    {
        item(key);
        str(v);
    }
    // An array element.
    void value(const std::string &v)
    {
        item(nullptr);
        str(v);
    }
    void finish() { o_ << "\n"; }

private:
    void open(const char *key, char c);
    void close(char c);
    void item(const char *key);
    void str(const std::string &s);

    std::ostream &o_;
    std::vector<bool> first_; // per open container: no item written yet
};

// A double as the JSON and the text report print it: up to 6 significant digits.
std::string fmt_num(double v);

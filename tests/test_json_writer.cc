#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "json_writer.h"

namespace {

std::string printf_g6(double v)
{
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", v);
    return b;
}

// fmt_num writes whole numbers below 10^6 itself: every number must come out as %.6g prints it.
TEST(FmtNum, IsPrintfG6)
{
    for (double v : {0.0,
                     -0.0,
                     1.0,
                     -1.0,
                     9.0,
                     10.0,
                     99.0,
                     100.0,
                     12345.0,
                     999999.0,
                     -999999.0,
                     1e6,
                     -1e6,
                     1000001.0,
                     999999.5,
                     0.5,
                     -0.5,
                     1e-7,
                     123456.7,
                     2.5e9,
                     1e300,
                     -1e300,
                     4503599627370496.0,
                     9.2e18,
                     -9.3e18})
        EXPECT_EQ(fmt_num(v), printf_g6(v)) << v;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v = i % 4 == 0   ? static_cast<double>(static_cast<int64_t>(x % 4000000) - 2000000)
                   : i % 4 == 1 ? static_cast<double>(x % 1000) / 8.0
                   : i % 4 == 2
                       ? static_cast<double>(x >> (x % 64))
                       : std::ldexp(static_cast<double>(x >> 11), static_cast<int>(x % 80) - 60);
        ASSERT_EQ(fmt_num(v), printf_g6(v)) << v;
    }
}

TEST(FmtNum, NotFiniteIsZero)
{
    EXPECT_EQ(fmt_num(std::numeric_limits<double>::infinity()), "0");
    EXPECT_EQ(fmt_num(-std::numeric_limits<double>::infinity()), "0");
    EXPECT_EQ(fmt_num(std::numeric_limits<double>::quiet_NaN()), "0");
}

} // namespace

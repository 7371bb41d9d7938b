// Tests of the microcode assembler and image format (models/core/asm.c, image.c, sppasm.c):
// golden listings, the encoding of every instruction form, one test per error message, includes,
// macros, the entry and class tables, the image file format (round trip, truncation, corruption),
// disassembly that reassembles, the command line, and robustness against random and mutated
// sources.
//
// Goldens live in tests/golden/asm/; SPPSIM_UPDATE_GOLDEN=1 rewrites them from the current
// output (then review the diff).
#include "asm.h"
#include "core.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

const std::string kSrc = SPPSIM_SOURCE_DIR;

std::string read_text(const std::string &path)
{
    std::ifstream f(path, std::ios::binary);
    EXPECT_TRUE(f.good()) << "cannot read " << path;
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void write_text(const std::string &path, const std::string &s)
{
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream f(path, std::ios::binary);
    f << s;
}

// Everything a FILE* writer produced, through a temporary file.
template <class F> std::string capture(F fn)
{
    FILE *f = tmpfile();
    EXPECT_NE(f, nullptr);
    fn(f);
    fflush(f);
    std::string out;
    rewind(f);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
    fclose(f);
    return out;
}

// An image that frees itself.
struct Image {
    uc_image img{};
    sim_err err{};
    int rc = -1;
    Image() = default;
    Image(const Image &) = delete;
    Image &operator=(const Image &) = delete;
    ~Image() { uc_image_free(&img); }
};

// Assembles src (named "t.uc" in errors); rc and err as the assembler left them.
void assemble(Image &im, const std::string &src, const char *name = "t.uc")
{
    uc_image_free(&im.img);
    im.err.msg[0] = '\0';
    im.rc = uc_assemble_string(name, src.c_str(), &im.img, &im.err);
}

bool image_is_empty(const uc_image &img)
{
    static const uc_image zero{};
    return memcmp(&img, &zero, sizeof img) == 0;
}

// The first error of src, checking that the image was left empty.
std::string error_of(const std::string &src)
{
    Image im;
    assemble(im, src);
    EXPECT_EQ(im.rc, -1) << "assembled without error:\n" << src;
    EXPECT_TRUE(image_is_empty(im.img));
    return im.err.msg;
}

uint64_t word_of(const std::string &src, uint32_t pc)
{
    Image im;
    assemble(im, src);
    EXPECT_EQ(im.rc, 0) << im.err.msg << "\n" << src;
    if (im.rc != 0 || pc >= im.img.ncode)
        return ~0ull;
    return im.img.code[pc];
}

std::string listing_of(const uc_image &img)
{
    return capture([&](FILE *f) { uc_write_listing(&img, f); });
}
std::string disassembly_of(const uc_image &img)
{
    return capture([&](FILE *f) { uc_write_disassembly(&img, f); });
}

void check_golden(const std::string &golden, const std::string &actual)
{
    std::string path = kSrc + "/tests/golden/asm/" + golden;
    if (getenv("SPPSIM_UPDATE_GOLDEN")) {
        write_text(path, actual);
        return;
    }
    std::string want = read_text(path);
    EXPECT_EQ(want, actual) << "listing differs from " << path
                            << " (SPPSIM_UPDATE_GOLDEN=1 rewrites it)";
}

// A fresh, empty scratch directory for tests that need files.
std::string scratch_dir(const std::string &name)
{
    fs::path p = fs::temp_directory_path() /
                 ("sppasm_test_" + std::to_string(static_cast<long>(getpid())) + "_" + name);
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

std::vector<uint8_t> image_bytes(const uc_image &img)
{
    std::string s = capture([&](FILE *f) {
        sim_err err{};
        EXPECT_EQ(uc_image_write(&img, f, &err), 0) << err.msg;
    });
    return std::vector<uint8_t>(s.begin(), s.end());
}

// Reads an image from bytes; returns rc, fills msg on failure.
int read_image(const std::vector<uint8_t> &b, uc_image *img, std::string *msg)
{
    FILE *f = tmpfile();
    if (!b.empty())
        fwrite(b.data(), 1, b.size(), f);
    rewind(f);
    sim_err err{};
    int rc = uc_image_read(img, f, "img.bin", &err);
    fclose(f);
    if (msg)
        *msg = err.msg;
    return rc;
}

// Sorted (kind, name, value, size) of an image's symbols.
std::vector<std::tuple<int, std::string, uint32_t, uint32_t>> symbol_set(const uc_image &img)
{
    std::vector<std::tuple<int, std::string, uint32_t, uint32_t>> v;
    for (uint32_t i = 0; i < img.nsyms; i++)
        v.emplace_back(img.syms[i].kind, img.syms[i].name, img.syms[i].value, img.syms[i].size);
    std::sort(v.begin(), v.end());
    return v;
}

// What the program means, source map aside: code, entries, layout, symbols.
void expect_same_program(const uc_image &a, const uc_image &b)
{
    ASSERT_EQ(a.ncode, b.ncode);
    for (uint32_t i = 0; i < a.ncode; i++)
        EXPECT_EQ(a.code[i], b.code[i]) << "pc " << i;
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        EXPECT_EQ(a.entry[t], b.entry[t]) << ev_type_name(t);
    EXPECT_STREQ(a.protocol, b.protocol);
    ASSERT_EQ(a.nportions, b.nportions);
    for (uint32_t i = 0; i < a.nportions; i++) {
        EXPECT_STREQ(a.portions[i].name, b.portions[i].name);
        EXPECT_EQ(a.portions[i].off, b.portions[i].off);
        EXPECT_EQ(a.portions[i].size, b.portions[i].size);
    }
    EXPECT_EQ(a.ws_size, b.ws_size);
    EXPECT_EQ(0, memcmp(a.class_portions, b.class_portions, sizeof a.class_portions));
    EXPECT_EQ(0, memcmp(a.type_needs, b.type_needs, sizeof a.type_needs));
    EXPECT_EQ(0, memcmp(a.type_portions, b.type_portions, sizeof a.type_portions));
    EXPECT_EQ(symbol_set(a), symbol_set(b));
}

// Disassembles img to source, reassembles it, and expects the same program.
void expect_reassembles(const uc_image &img)
{
    std::string src = disassembly_of(img);
    Image again;
    assemble(again, src, "disassembly.uc");
    ASSERT_EQ(again.rc, 0) << again.err.msg << "\n" << src;
    expect_same_program(img, again.img);
}

// ---------------------------------------------------------------------------------------------
// Golden listings

TEST(AsmGolden, CountBytesListing)
{
    std::string src = read_text(kSrc + "/microcode/examples/count_bytes.uc");
    Image im;
    assemble(im, src, "count_bytes.uc");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    check_golden("count_bytes.lst", listing_of(im.img));

    // From the file, the code is the same (only the file name in the source map differs).
    Image f;
    f.rc = uc_assemble_file((kSrc + "/microcode/examples/count_bytes.uc").c_str(), &f.img, &f.err);
    ASSERT_EQ(f.rc, 0) << f.err.msg;
    expect_same_program(im.img, f.img);
    EXPECT_EQ(std::string(f.img.files[0]), kSrc + "/microcode/examples/count_bytes.uc");
}

TEST(AsmGolden, AllFormsListing)
{
    std::string src = read_text(kSrc + "/tests/golden/asm/all_forms.uc");
    Image im;
    assemble(im, src, "all_forms.uc");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    check_golden("all_forms.lst", listing_of(im.img));
    // every base opcode appears at least once, with and without UC_K where it has both forms
    std::vector<int> seen(256);
    for (uint32_t i = 0; i < im.img.ncode; i++)
        seen[uc_op_of(im.img.code[i])]++;
    for (unsigned op = 0; op < UC_OP_COUNT; op++) {
        bool any = false;
        for (unsigned f = 0; f < 4; f++)
            any |= seen[op | (f & 1 ? UC_K : 0) | (f & 2 ? UC_ABS : 0)] > 0;
        EXPECT_TRUE(any) << uc_op_name(op);
    }
}

TEST(AsmGolden, CountBytesCounts)
{
    Image im;
    im.rc =
        uc_assemble_file((kSrc + "/microcode/examples/count_bytes.uc").c_str(), &im.img, &im.err);
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    EXPECT_STREQ(im.img.protocol, "tcp");
    ASSERT_EQ(im.img.nportions, 1u);
    EXPECT_STREQ(im.img.portions[0].name, "stats");
    EXPECT_EQ(im.img.portions[0].size, 8u);
    EXPECT_EQ(im.img.ws_size, 8u);
    EXPECT_EQ(im.img.class_portions[EVC_RECEIVE], 1u);
    const uc_symbol *bytes = uc_image_find(&im.img, "stats.bytes");
    const uc_symbol *segs = uc_image_find(&im.img, "stats.segs");
    ASSERT_TRUE(bytes && segs);
    EXPECT_EQ(bytes->value, 0u);
    EXPECT_EQ(segs->value, 4u);
    const uc_symbol *data = uc_image_find(&im.img, "data");
    const uc_symbol *done = uc_image_find(&im.img, "done");
    ASSERT_TRUE(data && done);
    for (unsigned t = EV_TCP_SYN; t <= EV_TCP_RST; t++)
        EXPECT_EQ(im.img.entry[t], t == EV_TCP_DATA ? data->value : done->value);
    EXPECT_EQ(im.img.entry[EV_UDP_DATAGRAM], UC_NO_ENTRY);
    EXPECT_EQ(uc_op_of(im.img.code[done->value]), unsigned(UC_FIN));
}

// ---------------------------------------------------------------------------------------------
// Encodings, field by field

struct Form {
    std::string text;
    unsigned op, dst, src;
    uint16_t off;
    uint32_t imm;
};

// The prelude puts "t0:" at pc 0 and the instruction under test at pc 1; "t2:" follows it.
const char *kPrelude = ".const K = 5\n"
                       ".const NEG = -3\n"
                       ".portion p 12\n"
                       ".field x 4\n"
                       ".field y 2\n"
                       ".field z 4\n"
                       "t0: nop\n";

std::vector<Form> all_forms()
{
    std::vector<Form> v;
    for (unsigned op = UC_MOV; op <= UC_SEQMAX; op++) {
        std::string m = uc_op_name(op);
        v.push_back({m + " r3, r12", op, 3, 12, 0, 0});
        v.push_back({m + " r15, 0x12345678", op | UC_K, 15, 0, 0, 0x12345678});
        v.push_back({m + " r0, -1", op | UC_K, 0, 0, 0, 0xffffffffu});
        v.push_back({m + " r1, K + p.y - 1", op | UC_K, 1, 0, 0, 8});
    }
    v.push_back({"neg r7", UC_NEG, 7, 0, 0, 0});
    v.push_back({"not r8", UC_NOT, 8, 0, 0, 0});
    for (unsigned op = UC_JEQ; op <= UC_JSET; op++) {
        std::string m = uc_op_name(op);
        v.push_back({m + " r2, r9, t0", op, 2, 9, 0, 0});
        v.push_back({m + " r4, 4000000000, t2", op | UC_K, 4, 0, 2, 4000000000u});
        v.push_back({m + " r5, NEG, t2", op | UC_K, 5, 0, 2, 0xfffffffdu});
    }
    v.push_back({"ja t2", UC_JA, 0, 0, 2, 0});
    v.push_back({"call t0", UC_CALL, 0, 0, 0, 0});
    v.push_back({"ret", UC_RET, 0, 0, 0, 0});
    unsigned loads[] = {UC_LDW, UC_LDH, UC_LDB, UC_LDPW, UC_LDPH, UC_LDPB};
    for (unsigned op : loads) {
        std::string m = uc_op_name(op);
        v.push_back({m + " r1, [r2]", op, 1, 2, 0, 0});
        v.push_back({m + " r1, [r2 + 10]", op, 1, 2, 10, 0});
        v.push_back({m + " r1, [r2 - 10]", op, 1, 2, 0xfff6, 0});
        v.push_back({m + " r1, [r2 + K - 1]", op, 1, 2, 4, 0});
        v.push_back({m + " r1, [r2 - 32768]", op, 1, 2, 0x8000, 0});
        v.push_back({m + " r1, [r2 + 32767]", op, 1, 2, 0x7fff, 0});
        v.push_back({m + " r14, [p.z]", op | UC_ABS, 14, 0, 8, 0});
        v.push_back({m + " r14, [p.z + 2]", op | UC_ABS, 14, 0, 10, 0});
        v.push_back({m + " r14, [65535]", op | UC_ABS, 14, 0, 65535, 0});
    }
    unsigned stores[] = {UC_STW, UC_STH, UC_STB};
    for (unsigned op : stores) {
        std::string m = uc_op_name(op);
        v.push_back({m + " [r3], r4", op, 3, 4, 0, 0});
        v.push_back({m + " [r3 + 6], r4", op, 3, 4, 6, 0});
        v.push_back({m + " [r3 - 6], r4", op, 3, 4, 0xfffa, 0});
        v.push_back({m + " [p.y], r4", op | UC_ABS, 0, 4, 4, 0});
        v.push_back({m + " [r3 + 1], 127", op | UC_K, 3, 0, 1, 127});
        v.push_back({m + " [r3], -1", op | UC_K, 3, 0, 0, 0xffffffffu});
        v.push_back({m + " [p.x], K", op | UC_K | UC_ABS, 0, 0, 0, 5});
    }
    v.push_back({"stw [p.x], 0xffffffff", UC_STW | UC_K | UC_ABS, 0, 0, 0, 0xffffffffu});
    v.push_back({"sth [p.x], 65535", UC_STH | UC_K | UC_ABS, 0, 0, 0, 65535});
    v.push_back({"stb [p.x], 255", UC_STB | UC_K | UC_ABS, 0, 0, 0, 255});
    for (unsigned f = 0; f < UC_EVF_COUNT; f++)
        v.push_back({std::string("ldev r6, ") + uc_evf_name(f), UC_LDEV, 6, 0, 0, f});
    for (unsigned c = 0; c < UC_CMD_COUNT; c++)
        v.push_back({std::string("cmd ") + uc_cmd_name(c), UC_CMD, 0, 0, 0, c});
    v.push_back({"fin", UC_FIN, 0, 0, 0, 0});
    v.push_back({"nop", UC_NOP, 0, 0, 0, 0});
    v.push_back({"trap 42", UC_TRAP, 0, 0, 0, 42});
    v.push_back({"trap -2147483648", UC_TRAP, 0, 0, 0, 0x80000000u});
    return v;
}

TEST(AsmEncoding, EveryFormFieldByField)
{
    for (const Form &f : all_forms()) {
        SCOPED_TRACE(f.text);
        uint64_t w = word_of(std::string(kPrelude) + "   " + f.text + "\nt2: fin\n", 1);
        EXPECT_EQ(w, uc_encode(f.op, f.dst, f.src, f.off, f.imm));
        EXPECT_EQ(uc_op_of(w), f.op);
        EXPECT_EQ(uc_op_of(w) & UC_OPMASK, f.op & UC_OPMASK);
        EXPECT_EQ(uc_dst_of(w), f.dst);
        EXPECT_EQ(uc_src_of(w), f.src);
        EXPECT_EQ(uc_off_of(w), f.off);
        EXPECT_EQ(uc_imm_of(w), f.imm);
    }
}

TEST(AsmEncoding, DisassemblyOfEveryForm)
{
    // uc_disassemble's text of each form assembles back to the same word
    for (const Form &f : all_forms()) {
        SCOPED_TRACE(f.text);
        Image im;
        assemble(im, std::string(kPrelude) + "   " + f.text + "\nt2: fin\n");
        ASSERT_EQ(im.rc, 0) << im.err.msg;
        char buf[128];
        uc_disassemble(&im.img, 1, buf, sizeof buf);
        EXPECT_EQ(word_of(std::string(kPrelude) + "   " + buf + "\nt2: fin\n", 1), im.img.code[1])
            << buf;
    }
}

TEST(AsmEncoding, DisassemblyText)
{
    Image im;
    assemble(im, std::string(kPrelude) + "  jseqlt r1, r2, t0\n"  // 1
                                         "  ldw r3, [p.z]\n"      // 2
                                         "  ldw r3, [9]\n"        // 3 no field at 9
                                         "  ldpw r3, [8]\n"       // 4 frame: never a field name
                                         "  stb [r4 - 3], -5\n"   // 5
                                         "  mov r1, 0x12345678\n" // 6
                                         "  ldev r2, pay_len\n"   // 7
                                         "  cmd tx_emit\n"        // 8
                                         "  trap 7\n"             // 9
                                         "  ja t0\n");            // 10
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    const char *want[] = {"nop",
                          "jseqlt r1, r2, t0",
                          "ldw r3, [p.z]",
                          "ldw r3, [9]",
                          "ldpw r3, [8]",
                          "stb [r4 - 3], -5",
                          "mov r1, 0x12345678",
                          "ldev r2, pay_len",
                          "cmd tx_emit",
                          "trap 7",
                          "ja t0"};
    for (uint32_t pc = 0; pc < 11; pc++) {
        char buf[64];
        uc_disassemble(&im.img, pc, buf, sizeof buf);
        EXPECT_STREQ(buf, want[pc]) << "pc " << pc;
    }
    char small[8];
    uc_disassemble(&im.img, 1, small, sizeof small);
    EXPECT_EQ(strlen(small), 7u); // truncated, terminated
    char buf[64];
    uc_disassemble(&im.img, 99, buf, sizeof buf);
    EXPECT_STREQ(buf, "<no instruction at 99>");
    im.img.code[0] = uc_encode(0x3f, 0, 0, 0, 0);
    uc_disassemble(&im.img, 0, buf, sizeof buf);
    EXPECT_STREQ(buf, "<bad opcode 0x3f>");
    im.img.code[0] = uc_encode(UC_JA, 0, 0, 10, 0); // a target with no label
    uc_disassemble(&im.img, 0, buf, sizeof buf);
    EXPECT_STREQ(buf, "ja L10");
}

TEST(AsmEncoding, ForwardReferences)
{
    // labels, constants and fields may be used before they are defined
    Image im;
    assemble(im, "  ja end\n"
                 "  mov r1, LATER\n"
                 "  ldw r2, [q.f]\n"
                 "end: fin\n"
                 ".const LATER = 77\n"
                 ".portion q 4\n"
                 ".field f 4\n");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    EXPECT_EQ(im.img.code[0], uc_encode(UC_JA, 0, 0, 3, 0));
    EXPECT_EQ(im.img.code[1], uc_encode(UC_MOV | UC_K, 1, 0, 0, 77));
    EXPECT_EQ(im.img.code[2], uc_encode(UC_LDW | UC_ABS, 2, 0, 0, 0));
}

TEST(AsmEncoding, FieldLayout)
{
    Image im;
    assemble(im, ".portion a 3\n"
                 ".field b1 1\n"
                 ".field b2 1\n"
                 ".portion s 32\n"
                 ".field c 1\n"    // 0
                 ".field h 2\n"    // 2
                 ".field w 4\n"    // 4
                 ".field c2 1\n"   // 8
                 ".field t 3\n"    // 10 (3-byte fields align to 2)
                 ".field big 12\n" // 16 (larger ones to 4)
                 ".field last 4\n" // 28
                 "  fin\n");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    EXPECT_EQ(im.img.portions[1].off, 3u);
    EXPECT_EQ(im.img.ws_size, 35u);
    const char *names[] = {"a.b1", "a.b2", "s.c", "s.h", "s.w", "s.c2", "s.t", "s.big", "s.last"};
    uint32_t addr[] = {0, 1, 3, 5, 7, 11, 13, 19, 31};
    for (int i = 0; i < 9; i++) {
        const uc_symbol *s = uc_image_find(&im.img, names[i]);
        ASSERT_NE(s, nullptr) << names[i];
        EXPECT_EQ(s->kind, UC_SYM_FIELD);
        EXPECT_EQ(s->value, addr[i]) << names[i];
    }
    const uc_symbol *p = uc_image_find(&im.img, "s");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->kind, UC_SYM_PORTION);
    EXPECT_EQ(p->value, 1u);
    EXPECT_EQ(p->size, 32u);
}

TEST(AsmEncoding, SyntaxDetails)
{
    Image im;
    assemble(im, "; comment only\n"
                 "\n"
                 "\t  \n"
                 "a:\n"
                 "b: c: nop\n");
    EXPECT_EQ(im.rc, -1); // one label per line: "c" is taken for a mnemonic
    EXPECT_STREQ(im.err.msg, "t.uc:5:4: unknown mnemonic 'c'");
    assemble(im, "A.b_1:  mov r1, 010   ; decimal, not octal\n"
                 "        add r1, 0XfF\n"
                 "        sub r1, +4 - -3\n" // a leading sign on each term is not allowed
    );
    EXPECT_EQ(im.rc, -1);
    EXPECT_STREQ(im.err.msg, "t.uc:3:22: expected a number, constant or field, got '-' "
                             "(usage: sub rD, rS|IMM)");
    assemble(im, "A.b_1:  mov r1, 010\n"
                 "        add r1, 0XfF\n"
                 "        sub r1, +4 - 3 + 0x10\n"
                 "        Mov: fin\n");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    EXPECT_EQ(im.img.code[0], uc_encode(UC_MOV | UC_K, 1, 0, 0, 10));
    EXPECT_EQ(im.img.code[1], uc_encode(UC_ADD | UC_K, 1, 0, 0, 255));
    EXPECT_EQ(im.img.code[2], uc_encode(UC_SUB | UC_K, 1, 0, 0, 17));
    EXPECT_NE(uc_image_find(&im.img, "A.b_1"), nullptr);
    EXPECT_NE(uc_image_find(&im.img, "Mov"), nullptr); // case-sensitive: not the mnemonic
    EXPECT_STREQ(im.img.text[0], "A.b_1:  mov r1, 010");
    EXPECT_EQ(im.img.line[3], 4u);
}

TEST(AsmEncoding, CrLfAndNoFinalNewline)
{
    Image im;
    assemble(im, "a: mov r1, 1\r\n  ja a\r\n  fin");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    ASSERT_EQ(im.img.ncode, 3u);
    EXPECT_STREQ(im.img.text[1], "  ja a");
    EXPECT_EQ(im.img.line[2], 3u);
}

// ---------------------------------------------------------------------------------------------
// One test per error message

struct ErrCase {
    const char *name;
    std::string src;
    std::string msg;
};

std::string many(const std::string &line, int n)
{
    std::string s;
    for (int i = 0; i < n; i++)
        s += line;
    return s;
}

const std::string kTcpEntries = ".entry tcp_syn h\n.entry tcp_synack h\n.entry tcp_ack h\n"
                                ".entry tcp_data h\n.entry tcp_rst h\nh: fin\n";
// Every entry .protocol roce requires but roce_connect.
const std::string kRoceEntries =
    ".entry roce_send_first h\n.entry roce_send_middle h\n.entry roce_send_last h\n"
    ".entry roce_send_only h\n.entry roce_write_first h\n.entry roce_write_middle h\n"
    ".entry roce_write_last h\n.entry roce_write_only h\n.entry roce_ack h\n.entry roce_nak h\n"
    ".entry roce_ack_timer h\n.entry roce_internal h\nh: fin\n";

std::vector<ErrCase> error_cases()
{
    return {
        {"UnknownMnemonic", "  jseqtl r1, r2, x\n",
         "t.uc:1:3: unknown mnemonic 'jseqtl' (did you mean 'jseqlt'?)"},
        {"UnknownMnemonicCase", "ADD r1, r2\n",
         "t.uc:1:1: unknown mnemonic 'ADD' (did you mean 'add'?)"},
        {"UnknownMnemonicNoSuggestion", "frobnicate r1\n",
         "t.uc:1:1: unknown mnemonic 'frobnicate'"},
        {"UnknownMnemonicSuggestsMacro", ".macro push2 a\n.endm\n  pushh2 r1\n",
         "t.uc:3:3: unknown mnemonic 'pushh2' (did you mean 'push2'?)"},
        {"ExpectedComma", "add r1\n",
         "t.uc:1:7: expected ',', got end of line (usage: add rD, rS|IMM)"},
        {"ExpectedRegister", "neg 5\n",
         "t.uc:1:5: expected a register (r0..r15), got '5' (usage: neg rD)"},
        {"ExpectedRegisterOrImmediate", "mov r1, [r2]\n",
         "t.uc:1:9: expected a register or an immediate, got '[' (usage: mov rD, rS|IMM)"},
        {"ExpectedMemory", "ldw r1, r2\n",
         "t.uc:1:9: expected a memory operand ('['), got 'r2' (usage: ldw rD, [rS + N]|[ADDR])"},
        {"ExpectedFrameMemory", "ldpb r1, 4\n",
         "t.uc:1:10: expected a memory operand ('['), got '4' (usage: ldpb rD, [rS + N]|[N])"},
        {"ExpectedOffsetOperator", "stw [r2 4], r1\n",
         "t.uc:1:9: expected '+', '-' or ']' after the base register, got '4' (usage: stw "
         "[rD + N]|[ADDR], rS|IMM)"},
        {"ExpectedCloseBracket", "ldw r1, [r2 + 4\n",
         "t.uc:1:16: expected ']', got end of line (usage: ldw rD, [rS + N]|[ADDR])"},
        {"ExpectedLabel", "jeq r1, r2, 5\n",
         "t.uc:1:13: expected a label, got '5' (usage: jeq rD, rS|IMM, LABEL)"},
        {"ExpectedLabelNotRegister", "call r1\n",
         "t.uc:1:6: expected a label, got 'r1' (usage: call LABEL)"},
        {"ExpectedCommandName", "cmd 5\n",
         "t.uc:1:5: expected a command name, got '5' (usage: cmd NAME)"},
        {"ExpectedTrapCode", "trap\n",
         "t.uc:1:5: expected a number, constant or field, got end of line (usage: trap IMM)"},
        {"ExpectedCommaAfterStoreAddress", "sth [r1] r2\n",
         "t.uc:1:10: expected ',', got 'r2' (usage: sth [rD + N]|[ADDR], rS|IMM)"},
        {"ExpectedEventField", "ldev r1, 5\n",
         "t.uc:1:10: expected an event field name, got '5' (usage: ldev rD, FIELD)"},
        {"ExpectedStatement", "5\n", "t.uc:1:1: expected a mnemonic, directive or label, got '5'"},
        {"NoSuchRegister", "add r16, 1\n", "t.uc:1:5: no register 'r16' (r0..r15)"},
        {"NoSuchRegisterLeadingZero", "add r1, r01\n", "t.uc:1:9: no register 'r01' (r0..r15)"},
        {"TakesNoOperands", "fin r1\n", "t.uc:1:5: 'fin' takes no operands, got 'r1'"},
        {"TrailingOperand", "add r1, r2, r3\n",
         "t.uc:1:11: unexpected ',' after the operands of 'add'"},
        {"RegisterInExpression", "mov r1, 4 + r2\n",
         "t.uc:1:13: register 'r2' in an expression (expected a number, constant or field)"},
        {"UndefinedLabel", "x: nop\n  ja nowhere\n", "t.uc:2:6: undefined label 'nowhere'"},
        {"NotALabel", ".const c = 1\n  ja c\n", "t.uc:2:6: 'c' is a constant, not a label"},
        {"LabelPastTheEnd", "  ja end\nend:\n",
         "t.uc:1:6: label 'end' is past the last instruction"},
        {"DuplicateLabel", "x: nop\n\nx: fin\n",
         "t.uc:3:1: duplicate label 'x' (first defined at t.uc:1)"},
        {"DuplicateSymbol", ".const a = 1\n.portion a 4\n",
         "t.uc:2:10: duplicate symbol 'a' (already a constant, defined at t.uc:1)"},
        {"RegisterNameAsLabel", "r3: nop\n", "t.uc:1:1: 'r3' is a register name"},
        {"NameTooLong", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij: nop\n",
         "t.uc:1:1: name 'abcdefghijabcdefghij...' is too long (at most 47 characters)"},
        {"UndefinedSymbol", "  mov r1, FOO\n", "t.uc:1:11: undefined symbol 'FOO'"},
        {"UndefinedSymbolInConst", ".const A = B + 1\n.const B = 2\n",
         "t.uc:1:12: undefined symbol 'B'"},
        {"LabelInExpression", "x: mov r1, x\n",
         "t.uc:1:12: 'x' is a label; an expression takes numbers, constants and fields"},
        {"PortionInExpression", ".portion p 4\n  ldw r1, [p]\n",
         "t.uc:2:12: 'p' is a portion; an expression takes numbers, constants and fields (name "
         "a field of it)"},
        {"ImmediateOutOfRange", "add r1, 4294967296\n",
         "t.uc:1:9: immediate out of range (4294967296 does not fit in 32 bits)"},
        {"ImmediateOutOfRangeNegative", "jeq r1, -2147483649, x\nx: fin\n",
         "t.uc:1:9: immediate out of range (-2147483649 does not fit in 32 bits)"},
        {"ImmediateOutOfRangeHuge", "trap 99999999999999999999999\n",
         "t.uc:1:6: immediate out of range (1099511627776 does not fit in 32 bits)"},
        {"ImmediateOutOfRangeByte", "stb [r1], 256\n",
         "t.uc:1:11: immediate out of range (256 does not fit in 8 bits)"},
        {"ImmediateOutOfRangeHalf", "sth [r1], -32769\n",
         "t.uc:1:11: immediate out of range (-32769 does not fit in 16 bits)"},
        {"ImmediateOutOfRangeLate", "  mov r1, BIG + 1\n.const BIG = 0xffffffff\n",
         "t.uc:1:11: immediate out of range (4294967296 does not fit in 32 bits)"},
        {"OffsetOutOfRange", "ldw r1, [r2 + 32768]\n",
         "t.uc:1:15: offset out of range (32768 is not in -32768..32767)"},
        {"OffsetOutOfRangeNegative", "stw [r2 - 32769], r1\n",
         "t.uc:1:11: offset out of range (-32769 is not in -32768..32767)"},
        {"OffsetOutOfRangeAbsolute", "ldpw r1, [65536]\n",
         "t.uc:1:11: offset out of range (65536 is not in 0..65535)"},
        {"OffsetOutOfRangeAbsoluteNegative", "ldw r1, [-1]\n",
         "t.uc:1:10: offset out of range (-1 is not in 0..65535)"},
        {"UnknownEventField", "ldev r1, sq\n",
         "t.uc:1:10: unknown event field 'sq' (did you mean 'seq'?)"},
        {"UnknownCommand", "cmd tx_emt\n",
         "t.uc:1:5: unknown command 'tx_emt' (did you mean 'tx_emit'?)"},
        {"UnknownEventType", ".entry tcp_dat x\nx: fin\n",
         "t.uc:1:8: unknown event type 'tcp_dat' (did you mean 'tcp_data'?)"},
        {"UnknownEventClass", ".portion p 4\n.needs recieve p\n",
         "t.uc:2:8: unknown event class or type 'recieve' (did you mean 'receive'?)"},
        {"UnknownEventTypeInNeeds", ".portion p 4\n.needs tcp_rtoo p\n",
         "t.uc:2:8: unknown event class or type 'tcp_rtoo' (did you mean 'tcp_rto'?)"},
        {"UnknownPortionAfterKnownOne", ".portion rx 4\n.portion tx 4\n.needs send rx, tz\n",
         "t.uc:3:17: unknown portion 'tz' (did you mean 'tx'?)"},
        {"UnknownEventClassFar", ".portion p 4\n.needs rx p\n",
         "t.uc:2:8: unknown event class or type 'rx' (expected receive, send, timer, host, "
         "internal or an event type)"},
        {"UnknownPortion", ".portion stats 4\n.needs receive stat\n",
         "t.uc:2:16: unknown portion 'stat' (did you mean 'stats'?)"},
        {"NeedsExpectsComma", ".portion a 4\n.portion b 4\n.needs send a b\n",
         "t.uc:3:15: expected ',', got 'b' (usage: .needs CLASS PORTION[, PORTION...])"},
        {"DuplicateEntry", ".entry other x\nx: nop\n.entry other x\n",
         "t.uc:3:8: duplicate .entry for other (first at t.uc:1)"},
        {"EntryUndefinedLabel", ".entry other nowhere\n", "t.uc:1:14: undefined label 'nowhere'"},
        {"MissingEntry", ".protocol tcp\n" + kTcpEntries,
         "t.uc:1:1: missing .entry for tcp_fin (required by .protocol tcp)"},
        {"MissingEntryUdp", "  fin\n.protocol udp\n",
         "t.uc:1:1: missing .entry for udp_datagram (required by .protocol udp)"},
        {"MissingEntryRoce", ".protocol roce\n" + kRoceEntries,
         "t.uc:1:1: missing .entry for roce_connect (required by .protocol roce)"},
        {"MissingEntryRoceFirst", ".protocol roce\n  fin\n",
         "t.uc:1:1: missing .entry for roce_send_first (required by .protocol roce)"},
        {"UnknownProtocol", ".protocol tpc\n",
         "t.uc:1:11: unknown protocol 'tpc' (expected tcp, udp or roce)"},
        {"DuplicateProtocol", ".protocol roce\n.protocol roce\n",
         "t.uc:2:1: duplicate .protocol (first at t.uc:1)"},
        {"UnknownDirective", ".portoin a 4\n",
         "t.uc:1:1: unknown directive '.portoin' (did you mean '.portion'?)"},
        {"TooManyPortions",
         ".portion p0 1\n.portion p1 1\n"
         ".portion p2 1\n.portion p3 1\n"
         ".portion p4 1\n.portion p5 1\n"
         ".portion p6 1\n.portion p7 1\n"
         ".portion p8 1\n",
         "t.uc:9:1: too many portions (at most 8)"},
        {"FieldOverflowsPortion", ".portion p 6\n.field x 4\n.field y 2\n.field z 1\n",
         "t.uc:4:8: field 'p.z' (1 byte at offset 6) overflows portion 'p' (6 bytes)"},
        {"FieldOverflowsByAlignment", ".portion p 6\n.field x 1\n.field y 4\n",
         "t.uc:3:8: field 'p.y' (4 bytes at offset 4) overflows portion 'p' (6 bytes)"},
        {"FieldOutsidePortion", ".field x 4\n", "t.uc:1:1: .field before any .portion"},
        {"FieldNameWithDot", ".portion p 4\n.field a.b 4\n",
         "t.uc:2:8: field name 'a.b' must not contain '.'"},
        {"SizeOutOfRange", ".portion p 0\n", "t.uc:1:12: size out of range (0 is not in 1..65536)"},
        {"WorkspaceTooLarge", ".portion a 65000\n.portion b 600\n",
         "t.uc:2:12: portion 'b' would end at byte 65600, beyond the 65536-byte workspace"},
        {"ConstOutOfRange", ".const X = 0x100000000\n",
         "t.uc:1:12: value out of range (4294967296 does not fit in 32 bits)"},
        {"ConstExpectsEquals", ".const X 5\n",
         "t.uc:1:10: expected '=', got '5' (usage: .const NAME = EXPR)"},
        {"UnterminatedMacro", "  nop\n  .macro m a\n  add \\a, 1\n",
         "t.uc:2:3: unterminated macro 'm' (no .endm before the end of the file)"},
        {"EndmWithoutMacro", "  .endm\n", "t.uc:1:3: .endm without .macro"},
        {"MacroInsideMacro", ".macro a\n.macro b\n.endm\n",
         "t.uc:2:1: .macro inside a macro definition (missing .endm?)"},
        {"MacroNamedLikeMnemonic", ".macro add x\n.endm\n",
         "t.uc:1:8: macro name 'add' is an instruction mnemonic"},
        {"DuplicateMacro", ".macro m\n.endm\n.macro m\n.endm\n",
         "t.uc:3:8: duplicate macro 'm' (first defined at t.uc:1)"},
        {"MacroArgumentCount", ".macro m a, b\n  add \\a, \\b\n.endm\n  m r1\n",
         "t.uc:4:3: macro 'm' takes 2 arguments, got 1"},
        {"MacroEmptyArgument", ".macro m a, b\n  add \\a, \\b\n.endm\n  m r1, , r2\n",
         "t.uc:4:9: empty macro argument"},
        {"MacroUnknownArgument", ".macro m a\n  add \\b, 1\n.endm\n  m r1\n",
         "t.uc:2:7: unknown macro argument '\\b' in macro 'm' (in macro 'm' invoked at t.uc:4)"},
        {"ErrorInsideMacro", ".macro m a\n  add \\a, 1\n  sub r99, 1\n.endm\n\n  m r1\n",
         "t.uc:3:7: no register 'r99' (r0..r15) (in macro 'm' invoked at t.uc:6)"},
        {"MacroRecursion", ".macro m\n  m\n.endm\n  m\n",
         "t.uc:2:3: macros nested too deeply (more than 16 levels; is 'm' recursive?) (in macro "
         "'m' invoked at t.uc:2)"},
        {"BackslashOutsideMacro", "  add \\a, 1\n", "t.uc:1:7: '\\' outside a macro body"},
        {"BadNumber", "  mov r1, 12ab\n", "t.uc:1:11: bad number '12ab'"},
        {"BadHexNumber", "  mov r1, 0x\n", "t.uc:1:11: bad number '0x'"},
        {"UnexpectedCharacter", "  mov r1, 2 * 3\n", "t.uc:1:13: unexpected character '*'"},
        {"UnexpectedByte", "  mov r1, \x01\n", "t.uc:1:11: unexpected character (byte 0x01)"},
        {"UnterminatedString", ".include \"abc\n", "t.uc:1:10: unterminated string"},
        {"IncludeNeedsString", ".include abc\n",
         "t.uc:1:10: expected a file name in quotes, got 'abc' (usage: .include \"FILE\")"},
        {"IncludeNotFound", "\n.include \"no/such/file.uc\"\n",
         "t.uc:2:10: include file 'no/such/file.uc' not found (looked for 'no/such/file.uc')"},
        {"FallsOffTheEnd", "  fin\n  add r1, 1 ; no fin after this\n.const X = 1\n",
         "t.uc:2:3: the last instruction, 'add', can run past the end of the code (end with ja, "
         "ret, fin or trap)"},
        {"FallsOffTheEndLabelled", "  ja x\nx:  call x\n",
         "t.uc:2:5: the last instruction, 'call', can run past the end of the code (end with ja, "
         "ret, fin or trap)"},
        {"ProgramTooLarge", many("  nop\n", 65536),
         "t.uc:65536:3: program too large (more than 65535 instructions)"},
        {"LineTooLong", "  nop\n  nop ;" + std::string(5000, 'x') + "\n",
         "t.uc:2:4097: line too long (more than 4096 characters)"},
    };
}

class AsmError : public ::testing::TestWithParam<ErrCase> {};

TEST_P(AsmError, Message)
{
    const ErrCase &c = GetParam();
    EXPECT_EQ(error_of(c.src), c.msg);
}

INSTANTIATE_TEST_SUITE_P(Messages, AsmError, ::testing::ValuesIn(error_cases()),
                         [](const ::testing::TestParamInfo<ErrCase> &i) { return i.param.name; });

TEST(AsmErrors, FirstErrorWins)
{
    // pass 1 errors in source order; the undefined label of line 1 is a pass-2 error, reported
    // only when pass 1 found nothing
    EXPECT_EQ(error_of("  ja nowhere\n  add r1\n  frob\n"),
              "t.uc:2:9: expected ',', got end of line (usage: add rD, rS|IMM)");
    EXPECT_EQ(error_of("  ja nowhere\n  ja elsewhere\n"), "t.uc:1:6: undefined label 'nowhere'");
}

TEST(AsmErrors, MissingFile)
{
    Image im;
    im.rc = uc_assemble_file("/nonexistent/dir/x.uc", &im.img, &im.err);
    EXPECT_EQ(im.rc, -1);
    EXPECT_STREQ(im.err.msg, "/nonexistent/dir/x.uc: cannot read: No such file or directory");
    EXPECT_TRUE(image_is_empty(im.img));
}

TEST(AsmErrors, NulByteInFile)
{
    std::string dir = scratch_dir("nul");
    write_text(dir + "/nul.uc", std::string("  nop\n  fi\0n\n", 13));
    Image im;
    im.rc = uc_assemble_file((dir + "/nul.uc").c_str(), &im.img, &im.err);
    EXPECT_EQ(im.rc, -1);
    EXPECT_EQ(std::string(im.err.msg), dir + "/nul.uc:2:5: NUL byte in source");
    fs::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------
// Includes

TEST(AsmInclude, RelativeToTheIncludingFile)
{
    std::string d = scratch_dir("inc");
    write_text(d + "/main.uc", "; main\n"
                               ".include \"lib/common.uc\"\n"
                               "start: mov r1, ANSWER\n"
                               "  INC2 r1\n"
                               "  ldw r2, [st.n]\n"
                               ".include \"lib/../defs.uc\"  ; again: no cycle, same file index\n"
                               "  fin\n");
    write_text(d + "/lib/common.uc", ".include \"../defs.uc\"\n"
                                     ".portion st 4\n"
                                     ".field n 4\n"
                                     ".macro INC2 r\n"
                                     "  add \\r, 2\n"
                                     ".endm\n"
                                     "common: nop\n");
    write_text(d + "/defs.uc", "  nop ; from defs\n.const ANSWER\\\n");
    // defs.uc is broken on purpose first: the error names the included file
    Image im;
    im.rc = uc_assemble_file((d + "/main.uc").c_str(), &im.img, &im.err);
    EXPECT_EQ(im.rc, -1);
    EXPECT_EQ(std::string(im.err.msg), d + "/defs.uc:2:14: '\\' outside a macro body");

    write_text(d + "/defs.uc", "  nop ; from defs\n.const ANSWER = 42\n");
    im.rc = uc_assemble_file((d + "/main.uc").c_str(), &im.img, &im.err);
    EXPECT_EQ(im.rc, -1); // the second .include of defs.uc redefines ANSWER
    EXPECT_EQ(std::string(im.err.msg),
              d + "/defs.uc:2:8: duplicate symbol 'ANSWER' (already a constant, defined at " + d +
                  "/defs.uc:2)");

    write_text(d + "/defs.uc", "  nop ; from defs\n");
    write_text(d + "/lib/common.uc", ".include \"../defs.uc\"\n"
                                     ".const ANSWER = 42\n"
                                     ".portion st 4\n"
                                     ".field n 4\n"
                                     ".macro INC2 r\n"
                                     "  add \\r, 2\n"
                                     ".endm\n"
                                     "common: nop\n");
    im.rc = uc_assemble_file((d + "/main.uc").c_str(), &im.img, &im.err);
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    ASSERT_EQ(im.img.nfiles, 3u);
    EXPECT_EQ(std::string(im.img.files[0]), d + "/main.uc");
    EXPECT_EQ(std::string(im.img.files[1]), d + "/lib/common.uc");
    EXPECT_EQ(std::string(im.img.files[2]), d + "/defs.uc");
    ASSERT_EQ(im.img.ncode, 7u);
    // pc: file, line
    uint16_t file[] = {2, 1, 0, 0, 0, 2, 0};
    uint32_t line[] = {1, 8, 3, 4, 5, 1, 7};
    for (uint32_t pc = 0; pc < 7; pc++) {
        EXPECT_EQ(im.img.file[pc], file[pc]) << pc;
        EXPECT_EQ(im.img.line[pc], line[pc]) << pc;
    }
    EXPECT_STREQ(im.img.text[0], "  nop ; from defs");
    EXPECT_STREQ(im.img.text[3], "  add r1, 2"); // the macro's expansion, at the call's line
    EXPECT_EQ(im.img.code[2], uc_encode(UC_MOV | UC_K, 1, 0, 0, 42));
    fs::remove_all(d);
}

TEST(AsmInclude, StringSourcesIncludeFromTheCurrentDirectory)
{
    std::string d = scratch_dir("cwd");
    write_text(d + "/x.uc", ".const X = 3\n");
    fs::path old = fs::current_path();
    fs::current_path(d);
    Image im;
    assemble(im, ".include \"x.uc\"\n  mov r1, X\n  fin\n");
    fs::current_path(old);
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    EXPECT_EQ(im.img.code[0], uc_encode(UC_MOV | UC_K, 1, 0, 0, 3));
    EXPECT_STREQ(im.img.files[1], "x.uc");
    fs::remove_all(d);
}

TEST(AsmInclude, MissingFromAnIncludedFile)
{
    std::string d = scratch_dir("missing");
    write_text(d + "/main.uc", "  nop\n.include \"sub/a.uc\"\n");
    write_text(d + "/sub/a.uc", "\n\n  .include \"gone.uc\"\n");
    Image im;
    im.rc = uc_assemble_file((d + "/main.uc").c_str(), &im.img, &im.err);
    EXPECT_EQ(im.rc, -1);
    EXPECT_EQ(std::string(im.err.msg), d +
                                           "/sub/a.uc:3:12: include file 'gone.uc' not found "
                                           "(looked for '" +
                                           d + "/sub/gone.uc')");
    EXPECT_TRUE(image_is_empty(im.img));
    fs::remove_all(d);
}

TEST(AsmInclude, Cycle)
{
    std::string d = scratch_dir("cycle");
    write_text(d + "/a.uc", "  nop\n.include \"b.uc\"\n");
    write_text(d + "/b.uc", ".include \"./a.uc\"\n");
    Image im;
    im.rc = uc_assemble_file((d + "/a.uc").c_str(), &im.img, &im.err);
    EXPECT_EQ(im.rc, -1);
    EXPECT_EQ(std::string(im.err.msg),
              d + "/b.uc:1:10: include cycle: " + d + "/a.uc -> " + d + "/b.uc -> " + d + "/a.uc");
    write_text(d + "/self.uc", ".include \"self.uc\"\n");
    im.rc = uc_assemble_file((d + "/self.uc").c_str(), &im.img, &im.err);
    EXPECT_EQ(im.rc, -1);
    EXPECT_EQ(std::string(im.err.msg),
              d + "/self.uc:1:10: include cycle: " + d + "/self.uc -> " + d + "/self.uc");
    fs::remove_all(d);
}

TEST(AsmInclude, DepthLimit)
{
    std::string d = scratch_dir("depth");
    for (int i = 0; i < 20; i++)
        write_text(d + "/f" + std::to_string(i) + ".uc",
                   ".include \"f" + std::to_string(i + 1) + ".uc\"\n");
    write_text(d + "/f20.uc", "  fin\n");
    Image im;
    im.rc = uc_assemble_file((d + "/f4.uc").c_str(), &im.img, &im.err); // 16 levels: fine
    EXPECT_EQ(im.rc, 0) << im.err.msg;
    uc_image_free(&im.img);
    im.rc = uc_assemble_file((d + "/f3.uc").c_str(), &im.img, &im.err);
    EXPECT_EQ(im.rc, -1);
    EXPECT_EQ(std::string(im.err.msg),
              d + "/f19.uc:1:10: includes nested too deeply (more than 16 levels)");
    fs::remove_all(d);
}

// ---------------------------------------------------------------------------------------------
// Macros

TEST(AsmMacro, ArgumentsUniqueLabelsAndNesting)
{
    Image im;
    assemble(im, ".portion s 8\n"
                 ".field a 4\n"
                 ".field b 4\n"
                 ".macro bump p, f, n   ; add n to field p.f\n"
                 "  ldw r1, [\\p.\\f]\n"
                 "  add r1, \\n\n"
                 "  stw [\\p.\\f], r1\n"
                 ".endm\n"
                 ".macro clamp r, max\n"
                 "  jle \\r, \\max, ok\\@\n"
                 "  mov \\r, \\max\n"
                 "ok\\@:\n"
                 ".endm\n"
                 ".macro both\n"
                 "  bump s, a, 1\n"
                 "  bump s, b, 2 + 3\n"
                 ".endm\n"
                 "start: both\n"
                 "  clamp r2, 100\n"
                 "  clamp r3, 7\n"
                 "  fin\n");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    ASSERT_EQ(im.img.ncode, 11u);
    EXPECT_EQ(im.img.code[0], uc_encode(UC_LDW | UC_ABS, 1, 0, 0, 0));
    EXPECT_EQ(im.img.code[1], uc_encode(UC_ADD | UC_K, 1, 0, 0, 1));
    EXPECT_EQ(im.img.code[3], uc_encode(UC_LDW | UC_ABS, 1, 0, 4, 0));
    EXPECT_EQ(im.img.code[4], uc_encode(UC_ADD | UC_K, 1, 0, 0, 5));
    EXPECT_EQ(im.img.code[5], uc_encode(UC_STW | UC_ABS, 0, 1, 4, 0));
    // each expansion of clamp got its own label: ok<n> with distinct n
    EXPECT_EQ(uc_off_of(im.img.code[6]), 8u);
    EXPECT_EQ(uc_off_of(im.img.code[8]), 10u);
    int oks = 0;
    for (uint32_t i = 0; i < im.img.nsyms; i++)
        oks += strncmp(im.img.syms[i].name, "ok", 2) == 0;
    EXPECT_EQ(oks, 2);
    // the source map points at the outermost call, with the expanded text
    for (uint32_t pc = 0; pc < 6; pc++)
        EXPECT_EQ(im.img.line[pc], 18u) << pc;
    EXPECT_EQ(im.img.line[6], 19u);
    EXPECT_EQ(im.img.line[8], 20u);
    EXPECT_STREQ(im.img.text[0], "  ldw r1, [s.a]");
    EXPECT_STREQ(im.img.text[4], "  add r1, 2 + 3");
    EXPECT_STREQ(im.img.text[6], "  jle r2, 100, ok3"); // expansions 0..2: both, bump, bump
}

TEST(AsmMacro, DefinedInAnIncludeUsedInAMacroBody)
{
    std::string d = scratch_dir("macinc");
    write_text(d + "/m.uc", ".macro twice x\n  \\x\n  \\x\n.endm\n");
    write_text(d + "/main.uc", ".include \"m.uc\"\ntwice nop\ntwice fin\n");
    Image im;
    im.rc = uc_assemble_file((d + "/main.uc").c_str(), &im.img, &im.err);
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    ASSERT_EQ(im.img.ncode, 4u);
    EXPECT_EQ(uc_op_of(im.img.code[1]), unsigned(UC_NOP));
    EXPECT_EQ(uc_op_of(im.img.code[2]), unsigned(UC_FIN));
    EXPECT_EQ(im.img.file[2], 0u);
    EXPECT_EQ(im.img.line[2], 3u);
    fs::remove_all(d);
}

TEST(AsmMacro, DepthLimitAllowsSixteenLevels)
{
    std::string src;
    for (int i = 0; i < 16; i++)
        src += ".macro m" + std::to_string(i) + "\n  " +
               (i == 15 ? std::string("fin") : "m" + std::to_string(i + 1)) + "\n.endm\n";
    Image im;
    assemble(im, src + "  m0\n");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    EXPECT_EQ(im.img.ncode, 1u);
    src += ".macro mm\n  m0\n.endm\n";
    EXPECT_EQ(error_of(src + "  mm\n"),
              "t.uc:44:3: macros nested too deeply (more than 16 levels; is 'm15' recursive?) (in "
              "macro 'm14' invoked at t.uc:41)");
}

// ---------------------------------------------------------------------------------------------
// Entry table and class portions

TEST(AsmTables, EntriesAndClassPortions)
{
    Image im;
    assemble(im, ".protocol tcp\n"
                 ".portion rx 8\n"
                 ".portion tx 8\n"
                 ".portion common 4\n"
                 ".needs receive rx, common\n"
                 ".needs send tx\n"
                 ".needs send common\n"
                 ".needs timer tx, rx, common\n"
                 ".entry tcp_syn syn\n"
                 ".entry tcp_synack syn\n"
                 ".entry tcp_ack ack\n"
                 ".entry tcp_data data\n"
                 ".entry tcp_fin fin_\n"
                 ".entry tcp_rst fin_\n"
                 ".entry other fin_\n"
                 "syn: nop\n"
                 "ack: nop\n"
                 "data: nop\n"
                 "fin_: fin\n");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    uint32_t want[EV_TYPE_COUNT];
    std::fill(std::begin(want), std::end(want), UC_NO_ENTRY);
    want[EV_TCP_SYN] = want[EV_TCP_SYNACK] = 0;
    want[EV_TCP_ACK] = 1;
    want[EV_TCP_DATA] = 2;
    want[EV_TCP_FIN] = want[EV_TCP_RST] = want[EV_OTHER] = 3;
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        EXPECT_EQ(im.img.entry[t], want[t]) << ev_type_name(t);
    EXPECT_EQ(im.img.class_portions[EVC_RECEIVE], 0x5u);
    EXPECT_EQ(im.img.class_portions[EVC_SEND], 0x6u);
    EXPECT_EQ(im.img.class_portions[EVC_TIMER], 0x7u);
    EXPECT_EQ(im.img.class_portions[EVC_HOST], 0u);
    EXPECT_EQ(im.img.class_portions[EVC_INTERNAL], 0u);
    EXPECT_EQ(im.img.ws_size, 20u);
    EXPECT_EQ(im.img.portions[2].off, 16u);

    // no protocol: nothing is required
    assemble(im, "  fin\n");
    ASSERT_EQ(im.rc, 0);
    EXPECT_STREQ(im.img.protocol, "");
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        EXPECT_EQ(im.img.entry[t], UC_NO_ENTRY);
    // roce: the thirteen RoCE types, and nothing else (no TCP type, no udp_datagram)
    assemble(im, ".protocol roce\n" + kRoceEntries + ".entry roce_connect h\n");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    EXPECT_STREQ(im.img.protocol, "roce");
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        EXPECT_EQ(im.img.entry[t],
                  t >= EV_ROCE_SEND_FIRST && t <= EV_ROCE_CONNECT ? 0u : UC_NO_ENTRY)
            << ev_type_name(t);
}

// The bundled RoCE firmware assembles, with the layout and class needs its header documents.
TEST(AsmTables, BundledRoceFirmware)
{
    Image im;
    const std::string path = kSrc + "/microcode/roce.uc";
    im.rc = uc_assemble_file(path.c_str(), &im.img, &im.err);
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    EXPECT_STREQ(im.img.protocol, "roce");
    ASSERT_EQ(im.img.nportions, 2u);
    EXPECT_STREQ(im.img.portions[0].name, "qp");
    EXPECT_EQ(im.img.portions[0].size, 72u);
    EXPECT_STREQ(im.img.portions[1].name, "conn");
    EXPECT_EQ(im.img.portions[1].off, 72u);
    EXPECT_EQ(im.img.ws_size, 80u);
    EXPECT_EQ(im.img.class_portions[EVC_RECEIVE], 1u);
    EXPECT_EQ(im.img.class_portions[EVC_TIMER], 1u);
    EXPECT_EQ(im.img.class_portions[EVC_HOST], 3u);
    EXPECT_EQ(im.img.class_portions[EVC_INTERNAL], 1u);
    EXPECT_EQ(im.img.class_portions[EVC_SEND], 0u);
    for (unsigned t = EV_ROCE_SEND_FIRST; t <= EV_ROCE_CONNECT; t++)
        EXPECT_NE(im.img.entry[t], UC_NO_ENTRY) << ev_type_name(t);
    const uc_symbol *epsn = uc_image_find(&im.img, "qp.epsn");
    ASSERT_TRUE(epsn);
    EXPECT_EQ(epsn->value, 8u);
    core c;
    core_cfg cfg;
    core_cfg_default(&cfg);
    sim_err err;
    ASSERT_EQ(core_init(&c, &cfg, &im.img, &err), 0) << err.msg; // the loader's checks
    core_fini(&c);
}

// ---------------------------------------------------------------------------------------------
// The image file

TEST(AsmImage, RoundTripIsByteIdentical)
{
    std::string src = read_text(kSrc + "/tests/golden/asm/all_forms.uc");
    Image im;
    assemble(im, src, "all_forms.uc");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    std::vector<uint8_t> b1 = image_bytes(im.img);
    Image back;
    std::string msg;
    ASSERT_EQ(read_image(b1, &back.img, &msg), 0) << msg;
    expect_same_program(im.img, back.img);
    ASSERT_EQ(back.img.nfiles, 1u);
    EXPECT_STREQ(back.img.files[0], "all_forms.uc");
    for (uint32_t i = 0; i < im.img.ncode; i++) {
        EXPECT_EQ(back.img.line[i], im.img.line[i]);
        EXPECT_EQ(back.img.file[i], im.img.file[i]);
        EXPECT_STREQ(back.img.text[i], im.img.text[i]);
    }
    for (uint32_t i = 0; i < im.img.nsyms; i++) {
        EXPECT_STREQ(back.img.syms[i].name, im.img.syms[i].name);
        EXPECT_EQ(back.img.syms[i].kind, im.img.syms[i].kind);
    }
    EXPECT_EQ(listing_of(back.img), listing_of(im.img));
    EXPECT_EQ(image_bytes(back.img), b1);
}

// `.needs TYPE` gives one event type its own portions (docs/isa.md): the class keeps its
// own, the override survives the image file, the listing and the disassembly show it.
TEST(AsmImage, TypeNeedsOverrideTheClassAndRoundTrip)
{
    Image im;
    assemble(im,
             ".portion rx 4\n.portion tx 4\n.needs timer rx\n.needs tcp_rto tx\n"
             ".needs tcp_keepalive rx, tx\n.entry tcp_rto h\nh: fin\n",
             "t.uc");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    EXPECT_EQ(im.img.class_portions[EVC_TIMER], 1u);
    EXPECT_EQ(im.img.type_needs[EV_TCP_RTO], 1u);
    EXPECT_EQ(im.img.type_portions[EV_TCP_RTO], 2u);
    EXPECT_EQ(im.img.type_portions[EV_TCP_KEEPALIVE], 3u);
    EXPECT_EQ(im.img.type_needs[EV_TCP_DELACK], 0u);
    EXPECT_EQ(uc_image_portions(&im.img, EV_TCP_RTO, EVC_TIMER), 2u);
    EXPECT_EQ(uc_image_portions(&im.img, EV_TCP_DELACK, EVC_TIMER), 1u);
    Image back;
    std::string msg;
    ASSERT_EQ(read_image(image_bytes(im.img), &back.img, &msg), 0) << msg;
    expect_same_program(im.img, back.img);
    EXPECT_NE(listing_of(im.img).find("needs      tcp_rto                  tx\n"),
              std::string::npos)
        << listing_of(im.img);
    EXPECT_NE(disassembly_of(im.img).find(".needs tcp_keepalive rx, tx\n"), std::string::npos);
    expect_reassembles(im.img);
}

TEST(AsmImage, EmptyImageRoundTrips)
{
    Image im;
    assemble(im, "");
    ASSERT_EQ(im.rc, 0);
    std::vector<uint8_t> b = image_bytes(im.img);
    Image back;
    std::string msg;
    ASSERT_EQ(read_image(b, &back.img, &msg), 0) << msg;
    EXPECT_EQ(back.img.ncode, 0u);
    EXPECT_EQ(image_bytes(back.img), b);
}

TEST(AsmImage, EveryTruncationFailsCleanly)
{
    Image im;
    assemble(im, read_text(kSrc + "/microcode/examples/count_bytes.uc"), "count_bytes.uc");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    std::vector<uint8_t> b = image_bytes(im.img);
    for (size_t n = 0; n < b.size(); n++) {
        std::vector<uint8_t> cut(b.begin(), b.begin() + static_cast<long>(n));
        uc_image img;
        memset(&img, 0x5a, sizeof img); // read must not trust what img held
        std::string msg;
        ASSERT_EQ(read_image(cut, &img, &msg), -1) << n;
        EXPECT_EQ(msg.rfind("img.bin: ", 0), 0u) << msg;
        if (n >= 12) {
            EXPECT_NE(msg.find("truncated"), std::string::npos) << n << ": " << msg;
        }
        EXPECT_TRUE(image_is_empty(img)) << n;
    }
    std::string msg;
    uc_image img;
    ASSERT_EQ(read_image({}, &img, &msg), -1);
    EXPECT_EQ(msg, "img.bin: truncated (the file ends inside the header)");
}

TEST(AsmImage, EveryFlippedByteFailsCleanly)
{
    Image im;
    assemble(im, read_text(kSrc + "/microcode/examples/count_bytes.uc"), "count_bytes.uc");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    std::vector<uint8_t> b = image_bytes(im.img);
    std::mt19937 rng(7);
    for (size_t i = 0; i < b.size(); i++) {
        for (uint8_t x : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xff), uint8_t(1 + rng() % 255)}) {
            std::vector<uint8_t> c = b;
            c[i] ^= x;
            uc_image img;
            std::string msg;
            ASSERT_EQ(read_image(c, &img, &msg), -1) << "byte " << i;
            EXPECT_EQ(msg.rfind("img.bin: ", 0), 0u) << msg;
            EXPECT_TRUE(image_is_empty(img));
        }
    }
    std::vector<uint8_t> extra = b;
    extra.push_back(0);
    uc_image img;
    std::string msg;
    EXPECT_EQ(read_image(extra, &img, &msg), -1);
    EXPECT_EQ(msg, "img.bin: corrupt (data after the checksum)");
}

// A header with the given counts, then nothing.
std::vector<uint8_t> header(uint32_t version, std::vector<uint32_t> counts)
{
    std::vector<uint8_t> b = {'S', 'P', 'P', 'U', 'C', 'I', 'M', 'G'};
    auto put = [&](uint32_t v) {
        for (int k = 0; k < 4; k++)
            b.push_back(uint8_t(v >> (8 * k)));
    };
    put(version);
    for (uint32_t c : counts)
        put(c);
    return b;
}

TEST(AsmImage, CraftedHeadersAreRefused)
{
    struct {
        std::vector<uint8_t> bytes;
        std::string msg;
    } cases[] = {
        {{'N', 'O', 'T', 'A', 'N', 'I', 'M', 'G', 1, 0, 0, 0},
         "img.bin: not a microcode image (bad magic)"},
        {header(1, {}), "img.bin: image version 1, this build reads version 2"},
        {header(2, {0xffffffffu, 1, 0, 0, 0, EV_TYPE_COUNT, EVC_COUNT}),
         "img.bin: corrupt (4294967295 instructions, at most 65535)"},
        {header(2, {1, 0, 0, 0, 0, EV_TYPE_COUNT, EVC_COUNT}),
         "img.bin: corrupt (1 instructions but no source file)"},
        {header(2, {0, 0, 0xffffffffu, 0, 0, EV_TYPE_COUNT, EVC_COUNT}),
         "img.bin: corrupt (4294967295 symbols, at most 1048576)"},
        {header(2, {0, 0, 0, 9, 0, EV_TYPE_COUNT, EVC_COUNT}),
         "img.bin: corrupt (9 portions, at most 8)"},
        {header(2, {0, 0, 0, 0, 70000, EV_TYPE_COUNT, EVC_COUNT}),
         "img.bin: corrupt (workspace of 70000 bytes, at most 65536)"},
        {header(2, {0, 0, 0, 0, 0, EV_TYPE_COUNT + 1, EVC_COUNT}),
         "img.bin: built for " + std::to_string(EV_TYPE_COUNT + 1) +
             " event types and 5 classes, this build has " + std::to_string(EV_TYPE_COUNT) +
             " and 5"},
        {header(2, {0, 0, 0, 0, 0, EV_TYPE_COUNT, EVC_COUNT, 0xfffffff0u}),
         "img.bin: corrupt (the protocol name is 4294967280 bytes long, at most 47)"},
        // a million symbols claimed, none present: fails on truncation without allocating them
        {header(2, {0, 0, UC_MAX_SYMS, 0, 0, EV_TYPE_COUNT, EVC_COUNT, 0}),
         "img.bin: truncated (the file ends inside the entry table)"},
    };
    for (auto &c : cases) {
        uc_image img;
        std::string msg;
        EXPECT_EQ(read_image(c.bytes, &img, &msg), -1);
        EXPECT_EQ(msg, c.msg);
        EXPECT_TRUE(image_is_empty(img));
    }
}

// ---------------------------------------------------------------------------------------------
// Disassembly reassembles

TEST(AsmDisassembly, ReassemblesToTheSameProgram)
{
    for (const char *f : {"/tests/golden/asm/all_forms.uc", "/microcode/examples/count_bytes.uc",
                          "/microcode/roce.uc"}) {
        SCOPED_TRACE(f);
        Image im;
        assemble(im, read_text(kSrc + f), "x.uc");
        ASSERT_EQ(im.rc, 0) << im.err.msg;
        expect_reassembles(im.img);
    }
}

TEST(AsmDisassembly, MadeUpLabelsForUnlabelledTargets)
{
    Image im;
    assemble(im, ".entry other e\n"
                 "a:\nb: nop\n"
                 "  jeq r1, 3, a\n"
                 "e: ja e2\n"
                 "e2: fin\n");
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    // strip every label: the image then names targets L<pc>
    uint32_t k = 0;
    for (uint32_t i = 0; i < im.img.nsyms; i++)
        if (im.img.syms[i].kind != UC_SYM_LABEL)
            im.img.syms[k++] = im.img.syms[i];
    im.img.nsyms = k;
    std::string d = disassembly_of(im.img);
    EXPECT_NE(d.find(".entry other L2\n"), std::string::npos) << d;
    EXPECT_NE(d.find("\nL0:\n"), std::string::npos) << d;
    EXPECT_NE(d.find("jeq r1, 3, L0"), std::string::npos) << d;
    Image again;
    assemble(again, d);
    ASSERT_EQ(again.rc, 0) << again.err.msg << "\n" << d;
    for (uint32_t pc = 0; pc < im.img.ncode; pc++)
        EXPECT_EQ(again.img.code[pc], im.img.code[pc]);
    EXPECT_EQ(again.img.entry[EV_OTHER], 2u);
}

// ---------------------------------------------------------------------------------------------
// The command line

struct CliRun {
    int status;
    std::string out, err;
};

CliRun run_sppasm(const std::string &args)
{
    std::string d = scratch_dir("cli_out");
    std::string cmd = std::string(SPPASM_PATH) + " " + args + " >" + d + "/out 2>" + d + "/err";
    int st = std::system(cmd.c_str());
    CliRun r{WIFEXITED(st) ? WEXITSTATUS(st) : -1, read_text(d + "/out"), read_text(d + "/err")};
    fs::remove_all(d);
    return r;
}

TEST(AsmCli, AssembleListWriteAndDisassemble)
{
    std::string d = scratch_dir("cli");
    std::string uc = kSrc + "/microcode/examples/count_bytes.uc";
    CliRun r = run_sppasm(uc + " -l -o " + d + "/cb.img");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
    Image im;
    im.rc = uc_assemble_file(uc.c_str(), &im.img, &im.err);
    ASSERT_EQ(im.rc, 0);
    EXPECT_EQ(r.out, listing_of(im.img));
    std::string img = read_text(d + "/cb.img");
    std::vector<uint8_t> want = image_bytes(im.img);
    EXPECT_EQ(std::vector<uint8_t>(img.begin(), img.end()), want);

    r = run_sppasm("-d " + d + "/cb.img");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, disassembly_of(im.img));

    r = run_sppasm(uc); // no -o, no -l: checks only
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, "");
    fs::remove_all(d);
}

TEST(AsmCli, ErrorsAreOneLineAndExitOne)
{
    std::string d = scratch_dir("clierr");
    write_text(d + "/bad.uc", "  nop\n  jseqtl r1, r2, x\n");
    CliRun r = run_sppasm(d + "/bad.uc -o " + d + "/bad.img");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, d + "/bad.uc:2:3: unknown mnemonic 'jseqtl' (did you mean 'jseqlt'?)\n");
    EXPECT_FALSE(fs::exists(d + "/bad.img"));

    write_text(d + "/junk.img", "SPPUCIMG\x01");
    r = run_sppasm("-d " + d + "/junk.img");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, d + "/junk.img: truncated (the file ends inside the header)\n");

    r = run_sppasm("-d " + d + "/none.img");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, d + "/none.img: cannot open: No such file or directory\n");

    r = run_sppasm("");
    EXPECT_EQ(r.status, 2);
    r = run_sppasm("a.uc b.uc");
    EXPECT_EQ(r.status, 2);
    fs::remove_all(d);
}

// ---------------------------------------------------------------------------------------------
// docs/isa.md stays in step with the assembler

TEST(AsmDocs, ManualCoversEveryNameAndShowsTheCurrentListing)
{
    std::string doc = read_text(kSrc + "/docs/isa.md");
    for (unsigned op = 0; op < UC_OP_COUNT; op++)
        EXPECT_NE(doc.find(std::string("`") + uc_op_name(op)), std::string::npos) << uc_op_name(op);
    for (unsigned f = 0; f < UC_EVF_COUNT; f++)
        EXPECT_NE(doc.find(std::string("`") + uc_evf_name(f) + "`"), std::string::npos)
            << uc_evf_name(f);
    for (unsigned c = 0; c < UC_CMD_COUNT; c++)
        EXPECT_NE(doc.find(std::string("| `") + uc_cmd_name(c) + "` |"), std::string::npos)
            << uc_cmd_name(c);
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++)
        EXPECT_NE(doc.find(std::string("`") + ev_type_name(t) + "`"), std::string::npos)
            << ev_type_name(t);
    // the worked example's listing and source, as sppasm prints them from the repo's root
    const char *path = "microcode/examples/count_bytes.uc";
    std::string src = read_text(kSrc + "/" + path);
    Image im;
    assemble(im, src, path);
    ASSERT_EQ(im.rc, 0) << im.err.msg;
    EXPECT_NE(doc.find(listing_of(im.img)), std::string::npos)
        << "docs/isa.md does not show the current listing of " << path;
    EXPECT_NE(doc.find(disassembly_of(im.img)), std::string::npos)
        << "docs/isa.md does not show the current disassembly of " << path;
    std::istringstream lines(src);
    std::string line, numbered;
    for (int n = 1; std::getline(lines, line); n++) {
        char num[16];
        snprintf(num, sizeof num, "%2d  ", n);
        std::string l = num + line;
        l.erase(l.find_last_not_of(' ') + 1);
        numbered += l + "\n";
    }
    EXPECT_NE(doc.find(numbered), std::string::npos)
        << "docs/isa.md does not show the current text of " << path;
}

// ---------------------------------------------------------------------------------------------
// Robustness: random and mutated sources never crash, and every outcome is well-formed

void check_outcome(const Image &im, const std::string &src)
{
    if (im.rc != 0) {
        ASSERT_EQ(im.rc, -1);
        ASSERT_TRUE(image_is_empty(im.img));
        // "fuzz.uc:LINE:COL: message"
        const char *m = im.err.msg;
        ASSERT_EQ(strncmp(m, "fuzz.uc:", 8), 0) << m;
        char *end;
        long line = strtol(m + 8, &end, 10);
        ASSERT_TRUE(line >= 1 && *end == ':') << m;
        long col = strtol(end + 1, &end, 10);
        ASSERT_TRUE(col >= 1 && *end == ':' && end[1] == ' ' && end[2]) << m;
        ASSERT_EQ(strchr(m, '\n'), nullptr) << m;
        return;
    }
    const uc_image &img = im.img;
    ASSERT_LE(img.ncode, UC_MAX_CODE);
    for (uint32_t pc = 0; pc < img.ncode; pc++) {
        ASSERT_NE(img.text[pc], nullptr);
        ASSERT_LT(img.file[pc], img.nfiles);
        unsigned op = uc_op_of(img.code[pc]) & UC_OPMASK;
        ASSERT_LT(op, unsigned(UC_OP_COUNT));
        if (op == UC_JA || op == UC_CALL || (op >= UC_JEQ && op <= UC_JSET)) {
            ASSERT_LT(uc_off_of(img.code[pc]), img.ncode);
        }
    }
    for (unsigned t = 0; t < EV_TYPE_COUNT; t++) {
        ASSERT_TRUE(img.entry[t] == UC_NO_ENTRY || img.entry[t] < img.ncode);
    }
    ASSERT_LE(img.ws_size, UC_MAX_WS);
    listing_of(img);
    expect_reassembles(img);
    (void)src;
}

TEST(AsmRobustness, RandomAndMutatedSources)
{
    std::mt19937 rng(20240611);
    std::vector<std::string> seeds = {
        read_text(kSrc + "/tests/golden/asm/all_forms.uc"),
        read_text(kSrc + "/microcode/examples/count_bytes.uc"),
        ".macro m a, b\n  add \\a, \\b\nl\\@: jne \\a, 0, l\\@\n.endm\n  m r1, 2\n  m r2, r3\n  "
        "fin\n",
    };
    std::vector<std::string> pieces = {
        "add",    "ldw",      "stb",        "jseqlt", "ja",       "call",      "ret",
        "fin",    "ldev",     "cmd",        "trap",   "r0",       "r15",       "r16",
        "[",      "]",        ",",          "+",      "-",        ":",         "=",
        "0x",     "0xff",     "4294967296", "-1",     "65536",    "x",         "x:",
        "\\",     "\\@",      ";",          "\"",     ".macro",   ".endm",     ".portion",
        ".field", ".entry",   ".needs",     ".const", ".include", ".protocol", "tcp",
        "udp",    "receive",  "tcp_data",   "seq",    "tx_emit",  "p",         "p.f",
        "\n",     "\n",       "\n",         " ",      "\t",       "\r\n",      "m",
        "\x7f",   "\xc3\xa9",
    };
    const int kRuns = 3000;
    int ok = 0;
    for (int run = 0; run < kRuns; run++) {
        std::string src;
        if (run % 3 == 0) { // token soup
            int n = 1 + int(rng() % 60);
            for (int i = 0; i < n; i++) {
                src += pieces[rng() % pieces.size()];
                if (rng() % 3)
                    src += ' ';
            }
        } else { // a seed with up to three mutations, of lines or of characters
            src = seeds[rng() % seeds.size()];
            int n = int(rng() % 4);
            for (int i = 0; i < n && !src.empty(); i++) {
                size_t at = rng() % src.size();
                size_t b = src.rfind('\n', at), e = src.find('\n', at);
                b = b == std::string::npos ? 0 : b + 1;
                e = e == std::string::npos ? src.size() : e + 1;
                switch (rng() % 8) {
                case 0:
                    src[at] = char(' ' + rng() % 95);
                    break;
                case 1:
                    src.erase(at, 1 + rng() % 8);
                    break;
                case 2:
                    src.insert(at, pieces[rng() % pieces.size()]);
                    break;
                case 3:
                    src[at] = char(rng() % 255 + 1);
                    break;
                case 4:
                    src.insert(e, src.substr(b, e - b));
                    break; // duplicate a line
                case 5:
                    src.erase(b, e - b);
                    break; // delete a line
                case 6:
                    src.insert(b, "  ; comment\n\n");
                    break;
                default: { // move a line elsewhere
                    std::string line = src.substr(b, e - b);
                    src.erase(b, e - b);
                    src.insert(src.empty() ? 0 : src.rfind('\n', rng() % src.size()) + 1, line);
                    break;
                }
                }
            }
        }
        SCOPED_TRACE("run " + std::to_string(run) + ":\n" + src);
        Image im;
        assemble(im, src, "fuzz.uc");
        ok += im.rc == 0;
        check_outcome(im, src);
        if (HasFatalFailure())
            return;
    }
    // the mutations must leave enough programs valid for the success path to be exercised
    EXPECT_GT(ok, kRuns / 5);
    RecordProperty("assembled", ok);
}

} // namespace

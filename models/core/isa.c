#include "isa.h"

#include <stddef.h>

#define NAME_OF(table, i) ((i) < sizeof(table) / sizeof((table)[0]) ? (table)[i] : NULL)

static const char *const op_names[UC_OP_COUNT] = {
    [UC_NOP] = "nop",       [UC_MOV] = "mov",       [UC_ADD] = "add",       [UC_SUB] = "sub",
    [UC_MUL] = "mul",       [UC_AND] = "and",       [UC_OR] = "or",         [UC_XOR] = "xor",
    [UC_SHL] = "shl",       [UC_SHR] = "shr",       [UC_SAR] = "sar",       [UC_MIN] = "min",
    [UC_MAX] = "max",       [UC_SEQMIN] = "seqmin", [UC_SEQMAX] = "seqmax", [UC_NEG] = "neg",
    [UC_NOT] = "not",       [UC_JA] = "ja",         [UC_JEQ] = "jeq",       [UC_JNE] = "jne",
    [UC_JLT] = "jlt",       [UC_JLE] = "jle",       [UC_JGT] = "jgt",       [UC_JGE] = "jge",
    [UC_JSLT] = "jslt",     [UC_JSLE] = "jsle",     [UC_JSGT] = "jsgt",     [UC_JSGE] = "jsge",
    [UC_JSEQLT] = "jseqlt", [UC_JSEQLE] = "jseqle", [UC_JSEQGT] = "jseqgt", [UC_JSEQGE] = "jseqge",
    [UC_JSET] = "jset",     [UC_CALL] = "call",     [UC_RET] = "ret",       [UC_LDW] = "ldw",
    [UC_LDH] = "ldh",       [UC_LDB] = "ldb",       [UC_STW] = "stw",       [UC_STH] = "sth",
    [UC_STB] = "stb",       [UC_LDPW] = "ldpw",     [UC_LDPH] = "ldph",     [UC_LDPB] = "ldpb",
    [UC_LDEV] = "ldev",     [UC_CMD] = "cmd",       [UC_FIN] = "fin",       [UC_TRAP] = "trap",
};

static const char *const evf_names[UC_EVF_COUNT] = {
    [UC_EVF_TYPE] = "type",
    [UC_EVF_CLASS] = "class",
    [UC_EVF_CHAN] = "chan",
    [UC_EVF_PROTO] = "proto",
    [UC_EVF_FLOW] = "flow",
    [UC_EVF_SEQ] = "seq",
    [UC_EVF_ACK] = "ack",
    [UC_EVF_WIN] = "win",
    [UC_EVF_FLAGS] = "flags",
    [UC_EVF_MSS] = "mss",
    [UC_EVF_WSCALE] = "wscale",
    [UC_EVF_SACK_OK] = "sack_ok",
    [UC_EVF_HAS_TS] = "has_ts",
    [UC_EVF_TS_VAL] = "ts_val",
    [UC_EVF_TS_ECR] = "ts_ecr",
    [UC_EVF_NSACK] = "nsack",
    [UC_EVF_SACK0_L] = "sack0_l",
    [UC_EVF_SACK0_R] = "sack0_r",
    [UC_EVF_SACK1_L] = "sack1_l",
    [UC_EVF_SACK1_R] = "sack1_r",
    [UC_EVF_SACK2_L] = "sack2_l",
    [UC_EVF_SACK2_R] = "sack2_r",
    [UC_EVF_SACK3_L] = "sack3_l",
    [UC_EVF_SACK3_R] = "sack3_r",
    [UC_EVF_FRAME_LEN] = "frame_len",
    [UC_EVF_L3_OFF] = "l3_off",
    [UC_EVF_L4_OFF] = "l4_off",
    [UC_EVF_PAY_OFF] = "pay_off",
    [UC_EVF_PAY_LEN] = "pay_len",
    [UC_EVF_SPORT] = "sport",
    [UC_EVF_DPORT] = "dport",
    [UC_EVF_AF] = "af",
    [UC_EVF_ARG] = "arg",
    [UC_EVF_PSN] = "psn",
    [UC_EVF_MSN] = "msn",
    [UC_EVF_QP] = "qp",
    [UC_EVF_OPCODE] = "opcode",
    [UC_EVF_BTH_FLAGS] = "bth_flags",
    [UC_EVF_SYNDROME] = "syndrome",
    [UC_EVF_RKEY] = "rkey",
    [UC_EVF_DMA_LEN] = "dma_len",
    [UC_EVF_VA_LO] = "va_lo",
    [UC_EVF_VA_HI] = "va_hi",
    [UC_EVF_NOW_US] = "now_us",
};

static const char *const cmd_names[UC_CMD_COUNT] = {
    [UC_CMD_SOCK_APPEND] = "sock_append",
    [UC_CMD_TX_EMIT] = "tx_emit",
    [UC_CMD_TIMER_SET] = "timer_set",
    [UC_CMD_TIMER_CANCEL] = "timer_cancel",
    [UC_CMD_EV_EMIT] = "ev_emit",
    [UC_CMD_LOG] = "log",
    [UC_CMD_SOCK_OPEN] = "sock_open",
    [UC_CMD_SOCK_SPACE] = "sock_space",
    [UC_CMD_SOCK_DELIVER] = "sock_deliver",
    [UC_CMD_TX_TEMPLATE] = "tx_template",
    [UC_CMD_FLOW_CLOSE] = "flow_close",
    [UC_CMD_HOST_WRITE] = "host_write",
    [UC_CMD_TX_ROCE] = "tx_roce",
    [UC_CMD_TX_DATA] = "tx_data",
    [UC_CMD_SND_ACK] = "snd_ack",
    [UC_CMD_SND_SPACE] = "snd_space",
    [UC_CMD_TX_KEY_TEMPLATE] = "tx_key_template",
    [UC_CMD_SOCK_EVENT] = "sock_event",
    [UC_CMD_SOCK_RCV] = "sock_rcv",
    [UC_CMD_TX_ACK_SENT] = "tx_ack_sent",
};

const char *uc_op_name(unsigned base_op) { return NAME_OF(op_names, base_op); }
const char *uc_evf_name(unsigned f) { return NAME_OF(evf_names, f); }
const char *uc_cmd_name(unsigned c) { return NAME_OF(cmd_names, c); }

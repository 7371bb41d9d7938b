/* isa: the protocol cores' instruction set (docs/isa.md is its manual). Shared by the
 * assembler (asm.h), the core engine (core.h) and the tests.
 *
 * Every instruction is one 64-bit word, eBPF-like:
 *
 *     bits 63..56  op    base opcode (bits 5..0) | UC_K (bit 7) | UC_ABS (bit 6)
 *     bits 55..52  dst   register r0..r15
 *     bits 51..48  src   register r0..r15
 *     bits 47..32  off   16-bit field: branch/call target (instruction index), or a memory
 *                        offset (signed with a base register, unsigned with UC_ABS)
 *     bits 31..0   imm   32-bit immediate
 *
 * Registers are 32 bits; arithmetic wraps modulo 2^32. */
#ifndef SPPSIM_ISA_H
#define SPPSIM_ISA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UC_NREGS 16
#define UC_K 0x80u   /* the source operand is imm, not register src */
#define UC_ABS 0x40u /* memory operand: address = off (no base register) */
#define UC_OPMASK 0x3fu

/* Base opcodes (op & UC_OPMASK). "src" below means reg[src], or imm with UC_K. */
typedef enum uc_op {
    UC_NOP = 0,
    /* ALU: dst = dst OP src */
    UC_MOV, /* dst = src */
    UC_ADD,
    UC_SUB,
    UC_MUL,
    UC_AND,
    UC_OR,
    UC_XOR,
    UC_SHL,    /* shift counts use src & 31 */
    UC_SHR,    /* logical */
    UC_SAR,    /* arithmetic */
    UC_MIN,    /* unsigned */
    UC_MAX,    /* unsigned */
    UC_SEQMIN, /* the earlier of two sequence numbers (modulo 2^32) */
    UC_SEQMAX, /* the later of two sequence numbers */
    UC_NEG,    /* dst = -dst (src unused) */
    UC_NOT,    /* dst = ~dst (src unused) */
    /* compare and branch to off when the condition holds: dst COND src */
    UC_JA, /* always */
    UC_JEQ,
    UC_JNE,
    UC_JLT, /* unsigned */
    UC_JLE,
    UC_JGT,
    UC_JGE,
    UC_JSLT, /* signed */
    UC_JSLE,
    UC_JSGT,
    UC_JSGE,
    UC_JSEQLT, /* sequence numbers, RFC 1982 / RFC 793: (int32_t)(dst - src) < 0 */
    UC_JSEQLE,
    UC_JSEQGT,
    UC_JSEQGE,
    UC_JSET, /* (dst & src) != 0 */
    UC_CALL, /* push the return address, jump to off (return stack of UC_CALL_DEPTH) */
    UC_RET,
    /* workspace (core-local memory), little-endian; address = reg[src] + (int16)off, or off
     * with UC_ABS */
    UC_LDW, /* dst = 32 bits */
    UC_LDH, /* dst = 16 bits, zero-extended */
    UC_LDB, /* dst = 8 bits, zero-extended */
    /* stores: address = reg[dst] + (int16)off, or off with UC_ABS; value = reg[src] or imm */
    UC_STW,
    UC_STH,
    UC_STB,
    /* the event's frame in the scratchpad, network byte order; address as for loads */
    UC_LDPW,
    UC_LDPH,
    UC_LDPB,
    /* a field of the event descriptor: dst = field imm (uc_evf) */
    UC_LDEV,
    /* a command to another unit (uc_cmd in imm); arguments r1..r5, result in r0 */
    UC_CMD,
    UC_FIN,  /* the event is handled */
    UC_TRAP, /* deliberate fault with code imm (assertions in microcode) */
    UC_OP_COUNT
} uc_op;

#define UC_CALL_DEPTH 8

/* Event descriptor fields readable by UC_LDEV. */
typedef enum uc_evf {
    UC_EVF_TYPE,
    UC_EVF_CLASS,
    UC_EVF_CHAN,
    UC_EVF_PROTO,
    UC_EVF_FLOW,
    UC_EVF_SEQ,
    UC_EVF_ACK,
    UC_EVF_WIN,
    UC_EVF_FLAGS,
    UC_EVF_MSS,
    UC_EVF_WSCALE,
    UC_EVF_SACK_OK,
    UC_EVF_HAS_TS,
    UC_EVF_TS_VAL,
    UC_EVF_TS_ECR,
    UC_EVF_NSACK,
    UC_EVF_SACK0_L,
    UC_EVF_SACK0_R,
    UC_EVF_SACK1_L,
    UC_EVF_SACK1_R,
    UC_EVF_SACK2_L,
    UC_EVF_SACK2_R,
    UC_EVF_SACK3_L,
    UC_EVF_SACK3_R,
    UC_EVF_FRAME_LEN,
    UC_EVF_L3_OFF,
    UC_EVF_L4_OFF,
    UC_EVF_PAY_OFF,
    UC_EVF_PAY_LEN,
    UC_EVF_SPORT,
    UC_EVF_DPORT,
    UC_EVF_AF,
    UC_EVF_ARG, /* timer and internal events: the argument (timer id; ev_emit's r2) */
    /* RoCEv2 (event.h): */
    UC_EVF_PSN, /* BTH PSN: the descriptor's seq */
    UC_EVF_MSN, /* AETH MSN: the descriptor's ack */
    UC_EVF_QP,  /* BTH destination QP */
    UC_EVF_OPCODE,
    UC_EVF_BTH_FLAGS, /* ROCE_F_* */
    UC_EVF_SYNDROME,  /* AETH */
    UC_EVF_RKEY,      /* RETH */
    UC_EVF_DMA_LEN,   /* RETH */
    UC_EVF_VA_LO,     /* RETH virtual address, low 32 bits */
    UC_EVF_VA_HI,     /* and high 32 bits */
    UC_EVF_NOW_US,    /* not a descriptor field: the core's time when the ldev issues, in
                         microseconds (issue cycle / clock MHz), low 32 bits: for RTT samples */
    UC_EVF_COUNT
} uc_evf;

/* Commands to the other units (UC_CMD imm); arguments in r1..r5, the answer in r0. The core
 * records each with its arguments and the cycle it was issued. Commands marked "answers" are
 * carried out at once by the unit they address (the socket memory controller; for host_write
 * the host's memory), through the core's command callback (core.h), which gives r0; the others
 * are carried out by the caller when the event has finished, in issue order, and r0 receives 0.
 * Without a callback (a core alone, as in unit tests) every command leaves r0 = 0 unless the
 * harness answers it. */
typedef enum uc_cmd {
    UC_CMD_SOCK_APPEND,     /* answers: r1 frame offset, r2 length, r3 stream offset (32-bit):
                               place payload in the receive buffer; r0 = 1 placed, 0 refused */
    UC_CMD_TX_EMIT,         /* r1 options, r2 seq, r3 ack, r4 window, r5 flags | sack address << 16:
                               send a segment from the flow's header template (see UC_TXO_*) */
    UC_CMD_TIMER_SET,       /* r1 timer id (0..3), r2 delay in microseconds */
    UC_CMD_TIMER_CANCEL,    /* r1 timer id */
    UC_CMD_EV_EMIT,         /* r1 event type, r2 argument, r3..r5 the new event's seq, ack and
                               dma_len: a new event for this flow (claim 15) */
    UC_CMD_LOG,             /* r1..r5 into the instruction trace (firmware debugging) */
    UC_CMD_SOCK_OPEN,       /* answers: r1 peer MSS, r2 receive window shift in use: size the
                               flow's receive buffer (claim 16); r0 = its size in bytes */
    UC_CMD_SOCK_SPACE,      /* answers: r0 = bytes free in the receive buffer (the window) */
    UC_CMD_SOCK_DELIVER,    /* answers: r1 stream offset: every byte below it is in order, hand it
                               to the host; r0 = bytes delivered */
    UC_CMD_TX_TEMPLATE,     /* this event's frame, reversed, becomes the flow's header template */
    UC_CMD_FLOW_CLOSE,      /* the flow is finished: free its proxy, buffers and timers */
    UC_CMD_HOST_WRITE,      /* answers: r1 frame offset, r2 length, r3 rkey, r4 VA low 32 bits,
                               r5 VA high 32 bits: DMA the frame's bytes [r1, r1 + r2) into the
                               queue pair's memory region rkey at VA (RDMA WRITE); r0 = 1 written,
                               0 refused (no such region, or [VA, VA + r2) outside it) */
    UC_CMD_TX_ROCE,         /* r1 BTH opcode, r2 PSN (24 bits), r3 AETH syndrome (bits 0..7) |
                               MSN << 8 (24 bits), r4 destination QP (24 bits): send a RoCEv2
                               packet (an ACK or NAK) from the flow's header template */
    UC_CMD_TX_DATA,         /* r1 TCP flags (bits 0..7) | window as sent << 16, r2 seq, r3 ack,
                               r4 stream offset (32-bit) in the send buffer, r5 length: send a
                               segment from the header template with that payload (no options) */
    UC_CMD_SND_ACK,         /* answers: r1 stream offset: every byte of the send stream below it
                               is acknowledged: its pages return to the pool; r0 = bytes freed */
    UC_CMD_SND_SPACE,       /* answers: r1 stream offset: r0 = bytes the host has written at or
                               beyond it (0 when it is at or past the end of what was written) */
    UC_CMD_TX_KEY_TEMPLATE, /* the flow's header template is built from its flow key (an active
                               open: no frame was received yet) */
    UC_CMD_SOCK_EVENT,      /* answers: r1 what happened (UC_SOCKEV_*), for the host application;
                               r0 = 1 when the host application drives the flow's send side (it
                               answers with tcp_send / tcp_close events), 0 when it does not */
    UC_CMD_SOCK_RCV,        /* answers: r0 = the receive stream offset (32-bit) below which every
                               byte is in order (what sock_deliver was last given): with the
                               peer's ISN, the ACK number a send-side core puts in its segments */
    UC_CMD_TX_ACK_SENT,     /* answers: r1 ACK number, r2 window as sent: r0 = 1 when the flow's
                               last segment with ACK (either core's, in transmit order) carried
                               r1 or a later ACK number and the window r2, else 0 (models/tx) */
    UC_CMD_COUNT
} uc_cmd;

/* sock_event's r1. */
enum {
    UC_SOCKEV_ESTABLISHED = 1, /* the handshake completed */
    UC_SOCKEV_PEER_CLOSED = 2, /* the peer's FIN is in order: no more data will come */
    UC_SOCKEV_RESET = 3,       /* the peer reset the connection */
    UC_SOCKEV_CLOSED = 4       /* the connection is closed (both FINs acknowledged, or aborted) */
};

/* tx_emit's option word (r1). The SACK blocks are nsack pairs of 32-bit words (left, right
 * edge) in the workspace at the address in r5's upper 16 bits; the core copies them into the
 * command record when the command issues (an address outside the workspace, or nsack > 4, is a
 * ws_bounds fault). */
#define UC_TXO_MSS_MASK 0xffffu    /* MSS option value; 0: no MSS option */
#define UC_TXO_WS_SHIFT 16         /* bits 16..19: window scale value */
#define UC_TXO_WS 0x00100000u      /* send the window-scale option */
#define UC_TXO_SACK_OK 0x00200000u /* send the SACK-permitted option */
#define UC_TXO_NSACK_SHIFT 24      /* bits 24..26: SACK blocks to send */

/* Encoding helpers. */
static inline uint64_t uc_encode(unsigned op, unsigned dst, unsigned src, uint16_t off,
                                 uint32_t imm)
{
    return (uint64_t)(op & 0xffu) << 56 | (uint64_t)(dst & 15u) << 52 |
           (uint64_t)(src & 15u) << 48 | (uint64_t)off << 32 | imm;
}
static inline unsigned uc_op_of(uint64_t w) { return (unsigned)(w >> 56); }
static inline unsigned uc_dst_of(uint64_t w) { return (unsigned)(w >> 52) & 15u; }
static inline unsigned uc_src_of(uint64_t w) { return (unsigned)(w >> 48) & 15u; }
static inline uint16_t uc_off_of(uint64_t w) { return (uint16_t)(w >> 32); }
static inline uint32_t uc_imm_of(uint64_t w) { return (uint32_t)w; }

/* Mnemonics ("add", "jseqlt", "ldpw" ...), field and command names ("seq", "sock_append"),
 * as the assembler and disassembler spell them; NULL out of range. */
const char *uc_op_name(unsigned base_op);
const char *uc_evf_name(unsigned f);
const char *uc_cmd_name(unsigned c);

#ifdef __cplusplus
}
#endif
#endif

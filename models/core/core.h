/* core: one microcoded protocol processing core (claims 1-4, 15, 18-20, 23). It runs one
 * event's handler to completion in one call, against the event descriptor, the flow's
 * workspace in its local memory, and the event's frame in the scratchpad, adding up each
 * instruction's cycle cost and each memory access's modelled latency. Commands to other units
 * are recorded with the cycle they were issued at; the caller carries them out.
 *
 * The image is checked once at load (core_init): every opcode, register, branch target, event
 * field and command must be valid, so the run loop decodes nothing it has not pre-decoded. */
#ifndef SPPSIM_CORE_H
#define SPPSIM_CORE_H

#include "event.h"
#include "image.h"
#include "params.h"
#include "scratchpad.h"
#include "sim_types.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CORE_MAX_CMDS 32 /* commands one event may issue */

typedef struct core_cfg {
    uint32_t clock_mhz;
    uint32_t alu_cycles; /* ALU ops except mul */
    uint32_t mul_cycles;
    uint32_t branch_cycles; /* a branch not taken */
    uint32_t taken_cycles;  /* a branch taken, ja, call, ret; >= 1, so that loops end */
    uint32_t ws_cycles;     /* workspace load or store (core-local memory) */
    uint32_t sp_cycles;     /* frame load from the scratchpad */
    uint32_t ev_cycles;     /* event-descriptor field load */
    uint32_t cmd_cycles;    /* issuing a command */
    uint32_t fin_cycles;
    uint32_t max_cycles; /* cycle budget per event: exceeding it is a fault */
    uint32_t max_chain;  /* ev_emit by an event whose chain is this deep is a fault */
} core_cfg;

typedef enum core_fault {
    CORE_OK,
    CORE_FAULT_NO_ENTRY,   /* the image has no handler for the event's type */
    CORE_FAULT_WS_BOUNDS,  /* workspace access outside [0, ws_len) */
    CORE_FAULT_PKT_BOUNDS, /* frame access outside the frame, or no frame */
    CORE_FAULT_BUDGET,     /* max_cycles exceeded */
    CORE_FAULT_STACK,      /* call deeper than UC_CALL_DEPTH, or ret with an empty stack */
    CORE_FAULT_CMDS,       /* more than CORE_MAX_CMDS commands */
    CORE_FAULT_TRAP,       /* a trap instruction */
    CORE_FAULT_CHAIN,      /* ev_emit from an internal event already max_chain emits deep */
    CORE_FAULT_COUNT
} core_fault;

typedef struct core_cmd_rec {
    uint8_t cmd;                   /* uc_cmd */
    cycle_t cycle;                 /* cycle at which it was issued */
    uint32_t arg[5];               /* r1..r5 */
    uint32_t sack[EV_MAX_SACK][2]; /* tx_emit: the SACK blocks read from the workspace */
} core_cmd_rec;

/* Carries out a command that answers at once (isa.h) and returns r0; ev is the running event,
 * rec the command just recorded (it may be changed, e.g. to mark it done). Called for every
 * command as it issues, from inside core_run; it must not run the core again. */
typedef uint32_t (*core_cmd_fn)(void *ctx, const event *ev, core_cmd_rec *rec);

typedef struct core_result {
    cycle_t start;  /* the cycle the event started */
    cycle_t end;    /* the cycle it finished (or faulted) */
    uint64_t insns; /* instructions retired */
    int fault;      /* core_fault */
    uint32_t pc;    /* the faulting pc, or the pc of the fin */
    uint32_t trap_code;
    uint32_t regs[UC_NREGS];
    uint32_t ncmds;
    core_cmd_rec cmds[CORE_MAX_CMDS];
} core_result;

/* One retired instruction, for the instruction trace (delivered through a callback: models
 * never print). */
typedef struct core_trace_rec {
    cycle_t cycle; /* issue cycle */
    uint32_t pc;
    uint64_t word;
    int wreg; /* register written, or -1 */
    uint32_t wval;
} core_trace_rec;
typedef void (*core_trace_fn)(void *ctx, const core_trace_rec *r);

typedef struct core_stats {
    uint64_t events;
    uint64_t insns;
    uint64_t busy_cycles;
    uint64_t stall_ws; /* cycles spent waiting on workspace accesses beyond one */
    uint64_t stall_sp; /* cycles waiting on scratchpad loads */
    uint64_t faults;
} core_stats;

typedef struct core_insn { /* pre-decoded at load (core.c) for the run loop */
    uint8_t xop; /* what the run loop dispatches on: the encoded op byte (op | UC_K | UC_ABS),
                    but for ldev one handler per width of the field it reads */
    uint8_t op;  /* base opcode */
    uint8_t dst;
    uint8_t src;
    int8_t wreg;    /* the register it writes (dst, or r0 for cmd), or -1: for the trace */
    uint16_t off;   /* the encoded off; ldev: the field's byte offset in the event */
    uint16_t cost;  /* its cycles from the core's cfg (a conditional branch: not taken) */
    uint16_t tcost; /* a conditional branch taken: cfg.taken_cycles */
    uint32_t imm;
} core_insn;

typedef struct core_image { /* an image checked and pre-decoded */
    const uc_image *img;    /* not owned; must outlive the core */
    core_insn *code;
    uint32_t ncode;
    uint32_t abs_end; /* the highest offset + width of its absolute workspace accesses */
    bool owned;       /* code is this core's to free (false: another core's, see core_share) */
} core_image;

typedef struct core {
    core_cfg cfg;
    const uc_image *img; /* the image of the last event run (core_init's until then) */
    core_insn *code;
    uint32_t ncode;
    uint32_t abs_end;                 /* of img: see core_image */
    core_image base;                  /* core_init's image */
    core_image by_proto[PROTO_COUNT]; /* core_add_image's, img NULL: none (base runs) */
    core_trace_fn trace;              /* NULL: no trace */
    void *trace_ctx;
    core_cmd_fn cmd_fn; /* NULL: every command answers 0 */
    void *cmd_ctx;
    core_stats st;
} core;

extern const param_table core_params;
extern const stat_def core_stat_defs[];
extern const size_t core_stat_count;
const char *core_fault_name(unsigned f);

void core_cfg_default(core_cfg *c);
/* Checks cfg against core_params, then checks and pre-decodes img (which must outlive the
 * core), with cfg's cycle costs: the core keeps a copy of cfg, and the pre-decoded code the
 * costs it had here (core_add_image uses c->cfg's). The check: every base opcode exists; UC_K only
 * on ALU ops with a source operand, conditional branches and stores; UC_ABS only on loads, stores
 * and frame loads; branch and call targets, and every entry, inside the code; ldev fields and cmd
 * numbers known; the code not empty and its last instruction one that cannot fall through (ja, ret,
 * fin, trap), so that no run leaves the code. Returns 0, or -1 with err naming the first bad
 * instruction as "file:line: message" from the image's source map ("pc N: message" when the image
 * has none); c is then empty and core_fini is safe on it. */
int core_init(core *c, const core_cfg *cfg, const uc_image *img, sim_err *err);
/* Checks and pre-decodes img as core_init does, as the image of the events of protocol proto
 * (ev.proto): core_run switches to it (a pointer) per event; events of a protocol without one
 * run core_init's image. Returns 0, or -1 with err filled (the core is unchanged). */
int core_add_image(core *c, unsigned proto, const uc_image *img, sim_err *err);
/* Makes c (zeroed, failed or initialised) run exactly as src does: src's cfg, and src's checked
 * and pre-decoded images, shared rather than checked and decoded again (a cluster's cores all
 * run the same images). src must outlive c and keep those images while c runs them; after a
 * core_add_image on src, call core_share again. The command callback and the trace are c's own
 * (kept); the counters are c's own (kept when c was initialised, else zero). */
void core_share(core *c, const core *src);
/* Frees the pre-decoded code this core owns. Safe on a zeroed or failed core. */
void core_fini(core *c);
/* Installs fn (NULL: none) to answer commands as they issue (see core_cmd_fn). */
void core_set_cmd(core *c, core_cmd_fn fn, void *ctx);
/* Installs fn (NULL: none), called once per retired instruction of every later core_run, with
 * ctx; a record is valid for the call only. */
void core_set_trace(core *c, core_trace_fn fn, void *ctx);

/* Runs the handler for ev->type from cycle start. ws is the flow's workspace (ws_len bytes,
 * read and written in place); sp and ev->sp_handle give the frame (sp may be NULL when the
 * event has none). Fills res; returns res->fault (0 when the handler finished with fin).
 *
 * Timing: an instruction issues at start + the summed costs of the instructions before it;
 * res->end = start + the summed costs of every instruction that issued. An instruction that
 * faults (bounds, stack, cmds, trap) issues and is charged its cost, but does not retire: it
 * is not counted in res->insns nor traced, and changes no register, workspace byte or command
 * list. The budget fault is the exception: it is raised by the instruction whose cost would
 * take the event past cfg.max_cycles, which therefore does not issue (res->end stays within the
 * budget). Every unbounded run takes branches, and a taken branch costs at least one cycle
 * (taken_cycles >= 1), so every handler ends.
 * On a fault res->pc is the faulting instruction, res->regs, the workspace and res->cmds hold
 * what the instructions before it did; with no handler (CORE_FAULT_NO_ENTRY) res->pc is
 * UC_NO_ENTRY and nothing ran. Entries of res->cmds past res->ncmds are left as they were.
 * Adds the event to c->st. */
/* The event-descriptor field that `ldev` reads for f (uc_evf), and its setter (the value is
 * truncated to the field's width). Out-of-range f reads 0 and sets nothing. */
uint32_t core_event_field(const event *e, unsigned f);
void core_event_field_set(event *e, unsigned f, uint32_t v);

int core_run(core *c, const event *ev, uint8_t *ws, uint32_t ws_len, const scratchpad *sp,
             cycle_t start, core_result *res);

#ifdef __cplusplus
}
#endif
#endif

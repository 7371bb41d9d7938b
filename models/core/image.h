/* uc_image: an assembled microcode program as the core loads it: code, the entry table (one
 * handler per event type), the flow-state layout and its portions, the symbol table and the
 * source map. Produced by the assembler (asm.h), read by the core (core.h). */
#ifndef SPPSIM_UC_IMAGE_H
#define SPPSIM_UC_IMAGE_H

#include <stdio.h>

#include "event.h"
#include "isa.h"
#include "sim_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UC_MAX_PORTIONS 8
#define UC_NAME_MAX 48
#define UC_NO_ENTRY UINT32_MAX
/* Limits the assembler enforces and the image reader checks, so that a corrupt file cannot make
 * the reader allocate without bound. */
#define UC_MAX_CODE 65535u     /* instructions: a pc must fit in the 16-bit off field */
#define UC_MAX_FILES 65535u    /* source files: indices are 16-bit */
#define UC_MAX_SYMS (1u << 20) /* symbols */
#define UC_MAX_TEXT 4096u      /* bytes of one source line (after macro expansion) */
#define UC_MAX_PATH 4096u      /* bytes of one source file name */
#define UC_MAX_WS 65536u       /* bytes of the flow-state record: UC_ABS addresses are 16-bit */

/* A workspace portion (claim 11): a named slice of the flow-state record. Portions are laid
 * out one after the other in declaration order; a field's address is portion offset + its
 * offset inside the portion. */
typedef struct uc_portion {
    char name[UC_NAME_MAX];
    uint32_t off;
    uint32_t size;
} uc_portion;

typedef enum uc_sym_kind { UC_SYM_LABEL, UC_SYM_CONST, UC_SYM_FIELD, UC_SYM_PORTION } uc_sym_kind;

typedef struct uc_symbol {
    char name[UC_NAME_MAX]; /* fields as "portion.field" */
    uint32_t value;         /* label: pc; const: value; field: workspace address; portion: index */
    uint32_t size;          /* field: bytes (1, 2, 4 or more); portion: bytes; else 0 */
    uint8_t kind;           /* uc_sym_kind */
} uc_symbol;

typedef struct uc_image {
    uint64_t *code; /* ncode encoded instructions */
    uint32_t ncode;
    uint32_t *line; /* per instruction: source line (1-based) */
    uint16_t *file; /* per instruction: index into files */
    char **text;    /* per instruction: the source line's text (for listings and traces) */
    char **files;   /* source file names, [0] the main file */
    uint32_t nfiles;
    uint32_t entry[EV_TYPE_COUNT]; /* handler pc per event type, UC_NO_ENTRY when none */
    char protocol[UC_NAME_MAX];    /* ".protocol tcp" */
    uc_portion portions[UC_MAX_PORTIONS];
    uint32_t nportions;
    uint32_t ws_size;                  /* bytes of the whole flow-state record */
    uint8_t class_portions[EVC_COUNT]; /* per event class: bit i = needs portion i */
    /* per event type: type_needs[t] = 1 when `.needs TYPE` gave type t its own portions,
     * type_portions[t], which then override its class's (a timer of the send side and one of
     * the receive side, say) */
    uint8_t type_needs[EV_TYPE_COUNT];
    uint8_t type_portions[EV_TYPE_COUNT];
    uc_symbol *syms;
    uint32_t nsyms;
} uc_image;

/* The portions an event of type type and class cls needs (claim 11): the type's own when the
 * image gives it some, else its class's. */
uint8_t uc_image_portions(const uc_image *img, unsigned type, unsigned cls);
/* Frees everything the image owns and zeroes it. Safe on a zeroed image. */
void uc_image_free(uc_image *img);
/* Serialises to / from a binary file ("SPPUCIMG" v2, format in image.c). read overwrites img
 * (free an image it held first) and returns 0, or -1 with err naming the file and what is wrong
 * (bad magic, version, truncated, corrupt, checksum) and img left empty; it never allocates more
 * than the data actually read calls for. write returns 0, or -1 with err filled. */
int uc_image_write(const uc_image *img, FILE *f, sim_err *err);
int uc_image_read(uc_image *img, FILE *f, const char *name, sim_err *err);
/* The symbol named name, or NULL (the first one when several share it). */
const uc_symbol *uc_image_find(const uc_image *img, const char *name);
/* Where instruction pc came from, for fault reports and traces: "file:line", or with
 * with_text "file:line: source text" (the statement: leading blanks, comment and trailing
 * blanks trimmed); "pc N" when the image has no
 * source map for pc. Writes into buf (NUL-terminated). */
void uc_image_where(const uc_image *img, uint32_t pc, bool with_text, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif

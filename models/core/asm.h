/* asm: the microcode assembler. Source (the .uc files under microcode/, syntax in docs/isa.md)
 * -> uc_image. Errors are reported as "file:line:col: message" (the first error; the image is
 * left empty). */
#ifndef SPPSIM_UC_ASM_H
#define SPPSIM_UC_ASM_H

#include <stdio.h>

#include "image.h"
#include "sim_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Assembles the file at path, following .include directives relative to the including file.
 * Overwrites img (free an image it held first). Returns 0, or -1 with err filled and img left
 * empty (zeroed). */
int uc_assemble_file(const char *path, uc_image *img, sim_err *err);
/* As uc_assemble_file, for source held in memory; name is used in errors and the source map;
 * .include paths are relative to the current directory. */
int uc_assemble_string(const char *name, const char *src, uc_image *img, sim_err *err);

/* One instruction in assembler syntax, with symbolic targets where the image has labels
 * ("jseqlt r1, r2, old_data"; "L<pc>" where it has none) and field names for absolute
 * workspace addresses ("ldw r2, [stats.bytes]"). Writes into buf, NUL-terminated and cut to
 * size; a pc past the code gives "<no instruction at N>". */
void uc_disassemble(const uc_image *img, uint32_t pc, char *buf, size_t size);
/* The listing: the layout (portions, fields, constants, class needs, entries, labels) then one
 * line per instruction: pc, encoding, file:line, source text. */
void uc_write_listing(const uc_image *img, FILE *out);
/* The whole image as assembler source that reassembles to the same code, entry table, layout
 * and symbols (sppasm -d): directives, then labels and one instruction per line, each with a
 * comment giving its pc, encoding and source line. A branch target or entry with no label of
 * its own gets a made-up one, "L<pc>" (as uc_disassemble names it). */
void uc_write_disassembly(const uc_image *img, FILE *out);

#ifdef __cplusplus
}
#endif
#endif

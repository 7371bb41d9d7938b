/* sppasm: the microcode assembler's command line (docs/isa.md, "The assembler").
 *
 *   sppasm FILE.uc [-o OUT.img] [-l]   assemble; -o writes the image, -l prints the listing
 *   sppasm -d FILE.img                 disassemble an image into source that reassembles
 *
 * Errors: one line on stderr ("file:line:col: message" for source errors), exit status 1;
 * usage errors exit 2. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "asm.h"

static int usage(void)
{
    fprintf(stderr, "usage: sppasm FILE.uc [-o OUT.img] [-l]\n"
                    "       sppasm -d FILE.img\n");
    return 2;
}

static int disassemble(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
        return 1;
    }
    uc_image img;
    sim_err err;
    int rc = uc_image_read(&img, f, path, &err);
    fclose(f);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    uc_write_disassembly(&img, stdout);
    uc_image_free(&img);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "sppasm: write error on stdout: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *src = NULL, *out = NULL, *dis = NULL;
    int listing = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
            dis = argv[++i];
        else if (strcmp(argv[i], "-l") == 0)
            listing = 1;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage();
            return 0;
        } else if (argv[i][0] == '-' || src)
            return usage();
        else
            src = argv[i];
    }
    if (dis)
        return src || out || listing ? usage() : disassemble(dis);
    if (!src)
        return usage();

    uc_image img;
    sim_err err;
    if (uc_assemble_file(src, &img, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int rc = 0;
    if (out) {
        FILE *f = fopen(out, "wb");
        if (!f) {
            fprintf(stderr, "%s: cannot create: %s\n", out, strerror(errno));
            rc = 1;
        } else {
            if (uc_image_write(&img, f, &err)) {
                fprintf(stderr, "%s: %s\n", out, err.msg);
                rc = 1;
            }
            if (fclose(f) != 0 && rc == 0) {
                fprintf(stderr, "%s: write failed: %s\n", out, strerror(errno));
                rc = 1;
            }
            if (rc)
                remove(out);
        }
    }
    if (rc == 0 && listing) {
        uc_write_listing(&img, stdout);
        if (fflush(stdout) != 0) {
            fprintf(stderr, "sppasm: write error on stdout: %s\n", strerror(errno));
            rc = 1;
        }
    }
    uc_image_free(&img);
    return rc;
}

/* pyrepr.c - Python's repr(bytes) (see pyrepr.h). */
#include "pyrepr.h"

#include <string.h>

void fprint_bytes(FILE *out, const void *buf, size_t len)
{
    const unsigned char *bytes = buf;
    /* Python quotes with ' unless the bytes hold a ' and no ", then it uses ". */
    int quote = '\'';
    if (len > 0 && memchr(bytes, '\'', len) != NULL && memchr(bytes, '"', len) == NULL)
        quote = '"';

    putc('b', out);
    putc(quote, out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = bytes[i];
        if (c == quote || c == '\\') {
            putc('\\', out);
            putc(c, out);
        } else if (c == '\t') {
            fputs("\\t", out);
        } else if (c == '\n') {
            fputs("\\n", out);
        } else if (c == '\r') {
            fputs("\\r", out);
        } else if (c < 0x20 || c >= 0x7f) {
            fprintf(out, "\\x%02x", c); /* other control and non-ASCII bytes: lowercase hex */
        } else {
            putc(c, out);
        }
    }
    putc(quote, out);
}

void print_bytes(const char *label, const void *buf, size_t len)
{
    fputs(label, stdout);
    fprint_bytes(stdout, buf, len);
    putchar('\n');
}

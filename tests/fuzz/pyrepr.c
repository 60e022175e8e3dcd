/*
 * tests/fuzz/pyrepr.c - libFuzzer target for common/pyrepr.c (`make fuzz`).
 *
 * For any bytes, fprint_bytes() must write exactly what Python's repr(bytes) writes. This file
 * checks that without Python, with a decoder of its own written from the language reference
 * ("String and Bytes literals"), not from pyrepr.c:
 *   1. the output is one valid Python bytes literal: b, a quote, ASCII only, no raw newline,
 *      only escapes Python knows, the closing quote last;
 *   2. decoding it gives back exactly the input bytes (the round trip);
 *   3. it is the form repr() chooses: ' unless the bytes hold a ' and no ", printable ASCII
 *      as itself, \t \n \r \\ and the quote escaped, every other byte as \xHH in lowercase.
 * Any violation aborts, and libFuzzer saves the input under build/fuzz/artifacts/.
 *
 * Run:    make fuzz                   (FUZZ_SECONDS=60 per target; 0: only replay the corpus)
 *         build/fuzz/pyrepr CRASH     (replay one saved input)
 */
#include "pyrepr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stop with a message naming the broken property; abort() makes libFuzzer keep the input. */
static void fail(const char *what, const char *literal, size_t literal_len)
{
    int shown = literal_len > 4096 ? 4096 : (int)literal_len;
    fprintf(stderr, "pyrepr fuzz: %s\n  literal: %.*s\n", what, shown, literal);
    abort();
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_octal(char c)
{
    return c >= '0' && c <= '7';
}

/*
 * Decode the Python bytes literal s[0..len) into out (room for len bytes: a literal is never
 * shorter than what it stands for). Returns the decoded length; fails on anything Python
 * would reject, or would accept with a different meaning (an unknown escape such as \q keeps
 * its backslash in Python, but a repr never writes one, so it is refused here).
 * Also checks rule 3 (the canonical repr form) as it goes.
 */
static size_t decode_literal(const char *s, size_t len, unsigned char *out, bool *has_single,
                             bool *has_double)
{
    if (len < 3 || s[0] != 'b' || (s[1] != '\'' && s[1] != '"'))
        fail("does not start with b' or b\"", s, len);
    char quote = s[1];
    size_t n = 0;
    size_t i = 2;
    for (;;) {
        if (i >= len)
            fail("no closing quote", s, len);
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80)
            fail("non-ASCII character in a bytes literal (SyntaxError in Python)", s, len);
        if (c == '\n' || c == '\r')
            fail("raw line break inside a one-line literal", s, len);
        if (c == (unsigned char)quote) {
            if (i != len - 1)
                fail("text after the closing quote", s, len);
            break;
        }
        if (c != '\\') {
            /* rule 3: a byte written as itself must be printable ASCII */
            if (c < 0x20 || c == 0x7f)
                fail("unprintable byte written as itself", s, len);
            out[n++] = c;
            i++;
            continue;
        }
        if (i + 1 >= len)
            fail("backslash at the end", s, len);
        char e = s[i + 1];
        i += 2;
        switch (e) {
        case '\\':
            out[n++] = '\\';
            break;
        case '\'':
        case '"':
            if (e != quote)
                fail("escaped quote that is not the literal's quote (repr never does that)", s,
                     len);
            out[n++] = (unsigned char)e;
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 'x': {
            int hi = i < len ? hex_value(s[i]) : -1;
            int lo = i + 1 < len ? hex_value(s[i + 1]) : -1;
            if (hi < 0 || lo < 0)
                fail("\\x not followed by two hex digits (SyntaxError in Python)", s, len);
            if ((s[i] >= 'A' && s[i] <= 'F') || (s[i + 1] >= 'A' && s[i + 1] <= 'F'))
                fail("uppercase hex digit (repr writes lowercase)", s, len);
            unsigned char b = (unsigned char)(hi * 16 + lo);
            /* rule 3: \x only for bytes that have no shorter form */
            if ((b >= 0x20 && b < 0x7f) || b == '\t' || b == '\n' || b == '\r')
                fail("\\x used for a byte repr writes another way", s, len);
            out[n++] = b;
            i += 2;
            break;
        }
        case 'a':
        case 'b':
        case 'f':
        case 'v':
        case '\n':
            /* valid Python, but never produced by repr(bytes) */
            fail("escape that repr(bytes) never writes", s, len);
            break;
        default:
            if (is_octal(e))
                fail("octal escape (valid Python, but repr writes \\x)", s, len);
            fail("unknown escape (Python would keep the backslash)", s, len);
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (out[k] == '\'')
            *has_single = true;
        if (out[k] == '"')
            *has_double = true;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *literal = NULL;
    size_t literal_len = 0;
    FILE *out = open_memstream(&literal, &literal_len);
    if (out == NULL) {
        perror("open_memstream");
        abort();
    }
    fprint_bytes(out, data, size);
    if (fclose(out) != 0) {
        perror("fclose");
        abort();
    }

    /* The longest form of a byte is \xHH: four characters, plus b and two quotes. */
    if (literal_len > 4 * size + 3)
        fail("literal longer than 4 characters per byte", literal, literal_len);
    unsigned char *decoded = malloc(literal_len);
    if (decoded == NULL)
        abort();
    bool has_single = false;
    bool has_double = false;
    size_t decoded_len = decode_literal(literal, literal_len, decoded, &has_single, &has_double);
    if (decoded_len != size || (size > 0 && memcmp(decoded, data, size) != 0))
        fail("decoding the literal does not give back the input", literal, literal_len);
    char expected_quote = has_single && !has_double ? '"' : '\'';
    if (literal[1] != expected_quote)
        fail("quote differs from Python's choice (' unless the bytes hold ' and no \")", literal,
             literal_len);

    free(decoded);
    free(literal);
    return 0;
}

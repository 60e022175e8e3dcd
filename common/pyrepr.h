/*
 * pyrepr.h - print bytes exactly as Python's repr(bytes) does, so a stage's output can be held
 * next to the documents' "Salida" blocks: b'Ho', b'\r\n', b'\x00\xff', b"it's".
 */
#ifndef WORKBOOK_PYREPR_H
#define WORKBOOK_PYREPR_H

#include <stddef.h>
#include <stdio.h>

/* Write the Python bytes literal for buf[0..len) to out. */
void fprint_bytes(FILE *out, const void *buf, size_t len);

/* print(f"{label}{data}") in Python: label, the bytes literal, newline, on stdout. */
void print_bytes(const char *label, const void *buf, size_t len);

#endif

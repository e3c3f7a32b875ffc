/*
 * doc_vector.h - the byte vectors of the docs, for the tests that keep
 * them true: a "```hex NAME" block's bytes (each line's hex digits up to
 * any '#'), and a check that prints the computed bytes when they differ.
 */
#ifndef DRT_TESTS_DOC_VECTOR_H
#define DRT_TESTS_DOC_VECTOR_H

#include <stddef.h>
#include <stdint.h>

/* The whole file, NUL-terminated (asserts on failure). */
char *doc_read(const char *path);
/* The block's bytes, malloc'ed, or NULL when there is no such block. */
uint8_t *doc_vector(const char *doc, const char *name, size_t *len);
/* Fails the test, printing `got` in the docs' layout, unless the block
 * `name` of the file at `path` holds exactly those bytes. */
void doc_vector_check(const char *path, const char *name, const uint8_t *got, size_t len);

#endif

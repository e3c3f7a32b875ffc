/*
 * result_text.h - HRESULT codes in words, for messages a person reads:
 * "DRT_E_DUPLICATE_KEY (0x80622009): key already registered".
 */
#ifndef DRT_UTIL_RESULT_TEXT_H
#define DRT_UTIL_RESULT_TEXT_H

#include <stddef.h>

#include <drt.h>

/* The symbolic name of hr ("DRT_E_DUPLICATE_KEY"), or NULL if unknown. */
const char *result_name(HRESULT hr);

/* A one-line explanation of hr, or NULL if unknown. */
const char *result_meaning(HRESULT hr);

/* Writes "NAME (0xXXXXXXXX): meaning" (or "0xXXXXXXXX" alone for unknown
 * codes) into buf; returns buf. */
char *result_describe(HRESULT hr, char *buf, size_t len);

#endif

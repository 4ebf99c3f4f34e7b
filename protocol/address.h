/*
 * address.h - Sealpost addresses and their canonical form.
 *
 * An address is local@domain.  The canonical form is lower-case ASCII:
 *   local   1..64 characters from a-z 0-9 . _ -, starting and ending with
 *           a letter or digit, no two punctuation characters in a row;
 *   domain  2..127 labels joined by dots, 1..253 characters in all; each
 *           label 1..63 characters from a-z 0-9 -, not starting or ending
 *           with '-', no "--" in the third and fourth place (which would
 *           make it an IDNA/punycode label); the last label not all digits;
 *   whole   at most SP_ADDR_MAX (254) characters.
 * Upper-case ASCII letters are folded to lower case.  Everything else is
 * refused, in particular any byte above 0x7f, control characters, spaces,
 * quotes, '+', a trailing dot and IP literals: non-ASCII and punycode forms
 * invite look-alike confusion between addresses.
 */
#ifndef SP_ADDRESS_H
#define SP_ADDRESS_H

#include <stddef.h>

#include "wire.h"

/*
 * Canonicalise the len bytes at in into out (NUL-terminated).
 * Returns SP_OK or SP_E_ADDRESS; on error *why (if why is not NULL)
 * points to a static English reason such as "domain has one label".
 */
int sp_addr_canon(const char *in, size_t len, char out[SP_ADDR_MAX + 1],
    const char **why);

/* The same for a bare domain. */
int sp_domain_canon(const char *in, size_t len,
    char out[SP_DOMAIN_MAX + 1], const char **why);

/* True when the NUL-terminated s is already a canonical address. */
int sp_addr_is_canonical(const char *s);

/* True when the NUL-terminated s is already a canonical domain. */
int sp_domain_is_canonical(const char *s);

/* Domain part of a canonical address (the text after '@'). */
const char *sp_addr_domain(const char *canon);

#endif /* SP_ADDRESS_H */

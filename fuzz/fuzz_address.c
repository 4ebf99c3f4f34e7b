/*
 * fuzz_address.c - address and domain canonicalisation.
 *
 * Input: the bytes of an address (or a domain) as a peer or a user
 * typed them.
 *
 * Properties:
 *  - sp_addr_canon and sp_domain_canon accept exactly what the rules
 *    in address.h allow, and produce the same canonical form as a
 *    model written from those rules alone;
 *  - a canonical form is accepted as canonical, canonicalising it again
 *    changes nothing, and the _is_canonical tests agree with both;
 *  - a refusal comes with a reason.
 */
#include <string.h>

#include "address.h"
#include "fuzz.h"

/* --- the rules of address.h, written out plainly --- */

static int
m_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static int
m_punct(char ch)
{
	return ch == '.' || ch == '_' || ch == '-';
}

/* Fold ASCII upper case; 0 for any byte no address may hold. */
static char
m_fold(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return (char)(ch - 'A' + 'a');
	if (m_alnum((char)ch) || m_punct((char)ch) || ch == '@')
		return (char)ch;
	return 0;
}

static int
m_label(const char *s, size_t n, int last)
{
	size_t i;
	int digits = 1;

	if (n < 1 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		if (!m_alnum(s[i]) && s[i] != '-')
			return 0;
		if (s[i] < '0' || s[i] > '9')
			digits = 0;
	}
	if (s[0] == '-' || s[n - 1] == '-')
		return 0;
	if (n >= 4 && s[2] == '-' && s[3] == '-')
		return 0;
	return !(last && digits);
}

/* s is already folded. */
static int
m_domain(const char *s, size_t n)
{
	size_t start = 0, i, labels = 0;

	if (n < 1 || n > SP_DOMAIN_MAX)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!m_label(s + start, i - start, i == n))
			return 0;
		labels++;
		start = i + 1;
	}
	return labels >= 2 && labels <= 127;
}

static int
m_local(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > SP_LOCAL_MAX)
		return 0;
	if (!m_alnum(s[0]) || !m_alnum(s[n - 1]))
		return 0;
	for (i = 0; i < n; i++) {
		if (m_alnum(s[i]))
			continue;
		if (!m_punct(s[i]) || m_punct(s[i - 1]))
			return 0;
	}
	return 1;
}

/* Fold in into out (n + 1 bytes); 0 when a byte is not allowed. */
static int
m_fold_all(const uint8_t *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((out[i] = m_fold(in[i])) == 0)
			return 0;
	out[n] = '\0';
	return 1;
}

static int
m_addr_canon(const uint8_t *in, size_t n, char *out)
{
	const char *at;

	if (n > SP_ADDR_MAX || !m_fold_all(in, n, out))
		return 0;
	if ((at = strchr(out, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return 0;
	return m_local(out, at - out) &&
	    m_domain(at + 1, n - (at - out) - 1);
}

static int
m_domain_canon(const uint8_t *in, size_t n, char *out)
{
	if (n > SP_DOMAIN_MAX || !m_fold_all(in, n, out))
		return 0;
	return strchr(out, '@') == NULL && m_domain(out, n);
}

/* --- the target --- */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char a[SP_ADDR_MAX + 1], b[SP_ADDR_MAX + 1];
	char d[SP_DOMAIN_MAX + 1], d2[SP_DOMAIN_MAX + 1];
	char model[SP_ADDR_MAX + 2], text[SP_ADDR_MAX + 2];
	const char *why;
	int rc, ok;

	/* The same bytes as a C string, when they fit one. */
	ok = size <= SP_ADDR_MAX + 1 && memchr(data, '\0', size) == NULL;
	if (ok) {
		memcpy(text, data, size);
		text[size] = '\0';
	}

	why = NULL;
	rc = sp_addr_canon((const char *)data, size, a, &why);
	FUZZ_ASSERT(rc == SP_OK || rc == SP_E_ADDRESS);
	FUZZ_ASSERT((rc == SP_OK) == m_addr_canon(data, size, model));
	if (rc == SP_OK) {
		FUZZ_ASSERT(strcmp(a, model) == 0);
		FUZZ_ASSERT(sp_addr_is_canonical(a));
		FUZZ_ASSERT(sp_addr_canon(a, strlen(a), b, NULL) == SP_OK);
		FUZZ_ASSERT(strcmp(a, b) == 0);
		FUZZ_ASSERT(sp_domain_is_canonical(sp_addr_domain(a)));
		FUZZ_ASSERT(strcmp(sp_addr_domain(a),
		    strchr(a, '@') + 1) == 0);
	} else {
		FUZZ_ASSERT(why != NULL && why[0] != '\0');
	}
	if (ok)
		FUZZ_ASSERT(sp_addr_is_canonical(text) ==
		    (rc == SP_OK && strcmp(a, text) == 0));

	why = NULL;
	rc = sp_domain_canon((const char *)data, size, d, &why);
	FUZZ_ASSERT(rc == SP_OK || rc == SP_E_ADDRESS);
	FUZZ_ASSERT((rc == SP_OK) == m_domain_canon(data, size, model));
	if (rc == SP_OK) {
		FUZZ_ASSERT(strcmp(d, model) == 0);
		FUZZ_ASSERT(sp_domain_is_canonical(d));
		FUZZ_ASSERT(sp_domain_canon(d, strlen(d), d2, NULL) == SP_OK);
		FUZZ_ASSERT(strcmp(d, d2) == 0);
	} else {
		FUZZ_ASSERT(why != NULL && why[0] != '\0');
	}
	if (ok)
		FUZZ_ASSERT(sp_domain_is_canonical(text) ==
		    (rc == SP_OK && strcmp(d, text) == 0));
	return 0;
}

/*
 * address.c - Sealpost addresses and their canonical form.
 *
 * Canonicalisation only folds ASCII case; anything that would need more
 * (Unicode, punycode, quoting) is refused, so that two addresses that
 * look alike are the same bytes.
 */
#include <stddef.h>
#include <string.h>

#include "address.h"
#include "wire.h"

#define LABEL_MAX	63

static int
is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* Fold an ASCII upper-case letter; leave every other byte alone. */
static char
fold(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A' + 'a';
	return ch;
}

static int
refuse(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return SP_E_ADDRESS;
}

/* Check and copy one label of len bytes; last is set for the TLD. */
static int
label_canon(const char *in, size_t len, char *out, int last,
    const char **why)
{
	size_t	 i;
	int	 digits = 1;

	if (len == 0)
		return refuse(why, "domain has an empty label");
	if (len > LABEL_MAX)
		return refuse(why, "domain label longer than 63");

	for (i = 0; i < len; i++) {
		out[i] = fold(in[i]);
		if (!is_alnum(out[i]) && out[i] != '-')
			return refuse(why, "bad character in domain");
		if (out[i] < '0' || out[i] > '9')
			digits = 0;
	}

	if (out[0] == '-' || out[len - 1] == '-')
		return refuse(why, "domain label starts or ends with '-'");
	if (len >= 4 && out[2] == '-' && out[3] == '-')
		return refuse(why, "domain label in punycode form");
	if (last && digits)
		return refuse(why, "top-level label is all digits");
	return SP_OK;
}

int
sp_domain_canon(const char *in, size_t len, char out[SP_DOMAIN_MAX + 1],
    const char **why)
{
	size_t	 start, end, labels = 0;
	int	 rc;

	out[0] = '\0';
	if (in == NULL || len == 0)
		return refuse(why, "domain is empty");
	if (len > SP_DOMAIN_MAX)
		return refuse(why, "domain longer than 253");
	if (in[len - 1] == '.')
		return refuse(why, "domain ends with a dot");

	for (start = 0; start <= len; start = end + 1) {
		end = start;
		while (end < len && in[end] != '.')
			end++;
		rc = label_canon(in + start, end - start, out + start,
		    end == len, why);
		if (rc != SP_OK) {
			out[0] = '\0';
			return rc;
		}
		if (end < len)
			out[end] = '.';
		labels++;
	}

	out[len] = '\0';
	if (labels < 2) {
		out[0] = '\0';
		return refuse(why, "domain has one label");
	}
	return SP_OK;
}

/* Check and copy the local part of len bytes. */
static int
local_canon(const char *in, size_t len, char *out, const char **why)
{
	size_t	 i;
	int	 punct = 0;

	if (len == 0)
		return refuse(why, "local part is empty");
	if (len > SP_LOCAL_MAX)
		return refuse(why, "local part longer than 64");

	for (i = 0; i < len; i++) {
		out[i] = fold(in[i]);
		if (is_alnum(out[i])) {
			punct = 0;
			continue;
		}
		if (out[i] != '.' && out[i] != '_' && out[i] != '-')
			return refuse(why, "bad character in local part");
		if (i == 0 || i == len - 1)
			return refuse(why,
			    "local part starts or ends with punctuation");
		if (punct)
			return refuse(why,
			    "two punctuation characters in a row");
		punct = 1;
	}
	return SP_OK;
}

int
sp_addr_canon(const char *in, size_t len, char out[SP_ADDR_MAX + 1],
    const char **why)
{
	char		 dom[SP_DOMAIN_MAX + 1];
	const char	*at;
	size_t		 llen;
	int		 rc;

	out[0] = '\0';
	if (in == NULL || len == 0)
		return refuse(why, "address is empty");
	if (len > SP_ADDR_MAX)
		return refuse(why, "address too long");
	if ((at = memchr(in, '@', len)) == NULL)
		return refuse(why, "address has no '@'");
	llen = at - in;

	if ((rc = local_canon(in, llen, out, why)) != SP_OK)
		goto fail;
	rc = sp_domain_canon(at + 1, len - llen - 1, dom, why);
	if (rc != SP_OK)
		goto fail;

	/* len bounded the whole address above, and canonicalising never
	 * lengthens it, so this always fits. */
	out[llen] = '@';
	memcpy(out + llen + 1, dom, strlen(dom) + 1);
	return SP_OK;

fail:
	out[0] = '\0';
	return rc;
}

int
sp_addr_is_canonical(const char *s)
{
	char	 out[SP_ADDR_MAX + 1];
	size_t	 len;

	if (s == NULL)
		return 0;
	len = strnlen(s, SP_ADDR_MAX + 1);
	if (sp_addr_canon(s, len, out, NULL) != SP_OK)
		return 0;
	return strcmp(s, out) == 0;
}

int
sp_domain_is_canonical(const char *s)
{
	char	 out[SP_DOMAIN_MAX + 1];
	size_t	 len;

	if (s == NULL)
		return 0;
	len = strnlen(s, SP_DOMAIN_MAX + 1);
	if (sp_domain_canon(s, len, out, NULL) != SP_OK)
		return 0;
	return strcmp(s, out) == 0;
}

const char *
sp_addr_domain(const char *canon)
{
	const char	*at;

	if (canon == NULL)
		return "";
	if ((at = strchr(canon, '@')) == NULL)
		return canon + strlen(canon);
	return at + 1;
}

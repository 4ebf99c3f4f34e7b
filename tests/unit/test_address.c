/*
 * test_address.c - addresses, domains and their canonical form.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"
#include "wire.h"

struct addr_case {
	const char	*in;
	const char	*out;		/* NULL: refused */
};

static const struct addr_case addr_cases[] = {
	{ "alice@acme.test",		"alice@acme.test" },
	{ "Alice@ACME.Test",		"alice@acme.test" },
	{ "a@b.co",			"a@b.co" },
	{ "a.b_c-d@x-y.example.org",	"a.b_c-d@x-y.example.org" },
	{ "0@0.a",			"0@0.a" },
	{ "bob@1.2.3.com",		"bob@1.2.3.com" },
	{ "bob@a1",			NULL },		/* one label */
	{ "bob@localhost",		NULL },
	{ "bob@1.2.3.4",		NULL },		/* IP literal */
	{ "bob@[1.2.3.4]",		NULL },
	{ "bob@[::1]",			NULL },
	{ "bob@acme.123",		NULL },		/* all-digit TLD */
	{ "bob@acme.test.",		NULL },		/* trailing dot */
	{ "bob@.acme.test",		NULL },
	{ "bob@acme..test",		NULL },
	{ "bob@-acme.test",		NULL },
	{ "bob@acme-.test",		NULL },
	{ "bob@xn--bcher-kva.test",	NULL },		/* punycode */
	{ "bob@ab--c.test",		NULL },
	{ "bob@acme.xn--p1ai",		NULL },
	{ "bob@a--b.test",		"bob@a--b.test" },
	{ "bob@acme_x.test",		NULL },
	{ "b\xc3\xb6" "b@acme.test",	NULL },		/* unicode */
	{ "bob@b\xc3\xbc" "cher.test",	NULL },
	{ "bob+tag@acme.test",		NULL },
	{ "bob smith@acme.test",	NULL },
	{ "\"bob\"@acme.test",		NULL },
	{ "bob\t@acme.test",		NULL },
	{ "bob\x7f@acme.test",		NULL },
	{ "bob@acme.test\n",		NULL },
	{ "bob",			NULL },
	{ "@acme.test",			NULL },
	{ "bob@",			NULL },
	{ "",				NULL },
	{ "bob@@acme.test",		NULL },
	{ "bob@acme@test.org",		NULL },
	{ ".bob@acme.test",		NULL },
	{ "bob.@acme.test",		NULL },
	{ "_bob@acme.test",		NULL },
	{ "bob-@acme.test",		NULL },
	{ "bo..b@acme.test",		NULL },
	{ "bo._b@acme.test",		NULL },
	{ "bo-_b@acme.test",		NULL },
	{ "b.o-b_b@acme.test",		"b.o-b_b@acme.test" },
};

static void
test_addr_table(void **state)
{
	char		 out[SP_ADDR_MAX + 1];
	const char	*why;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
		why = NULL;
		rc = sp_addr_canon(addr_cases[i].in,
		    strlen(addr_cases[i].in), out, &why);
		if (addr_cases[i].out == NULL) {
			if (rc != SP_E_ADDRESS)
				fail_msg("accepted \"%s\"", addr_cases[i].in);
			assert_non_null(why);
			assert_string_equal(out, "");
			assert_false(sp_addr_is_canonical(addr_cases[i].in));
			continue;
		}
		if (rc != SP_OK)
			fail_msg("refused \"%s\": %s", addr_cases[i].in, why);
		assert_string_equal(out, addr_cases[i].out);
		assert_int_equal(sp_addr_is_canonical(addr_cases[i].in),
		    strcmp(addr_cases[i].in, addr_cases[i].out) == 0);
		assert_true(sp_addr_is_canonical(out));
	}
}

static void
test_addr_reasons(void **state)
{
	char		 out[SP_ADDR_MAX + 1];
	const char	*why = NULL;

	assert_int_equal(sp_addr_canon("bob@acme", 8, out, &why),
	    SP_E_ADDRESS);
	assert_string_equal(why, "domain has one label");

	/* why may be NULL. */
	assert_int_equal(sp_addr_canon("bob", 3, out, NULL), SP_E_ADDRESS);
}

static void
test_addr_embedded_nul(void **state)
{
	const char	 in[] = "bob@acme.test\0evil.test";
	char		 out[SP_ADDR_MAX + 1];

	assert_int_equal(sp_addr_canon(in, sizeof(in) - 1, out, NULL),
	    SP_E_ADDRESS);
	assert_int_equal(sp_addr_canon("bob\0@acme.test", 14, out, NULL),
	    SP_E_ADDRESS);

	/* The length, not a NUL, ends the input. */
	assert_int_equal(sp_addr_canon(in, 13, out, NULL), SP_OK);
	assert_string_equal(out, "bob@acme.test");
	assert_int_equal(sp_addr_canon("bob@acme.testXX", 13, out, NULL),
	    SP_OK);
	assert_string_equal(out, "bob@acme.test");
}

static void
test_local_length(void **state)
{
	char	 in[128], out[SP_ADDR_MAX + 1];

	memset(in, 'a', 64);
	memcpy(in + 64, "@acme.test", 11);
	assert_int_equal(sp_addr_canon(in, strlen(in), out, NULL), SP_OK);
	assert_string_equal(out, in);

	memset(in, 'a', 65);
	memcpy(in + 65, "@acme.test", 11);
	assert_int_equal(sp_addr_canon(in, strlen(in), out, NULL),
	    SP_E_ADDRESS);
	assert_false(sp_addr_is_canonical(in));
}

static void
test_label_length(void **state)
{
	char	 in[128], out[SP_ADDR_MAX + 1];

	memcpy(in, "bob@", 4);
	memset(in + 4, 'x', 63);
	memcpy(in + 67, ".test", 6);
	assert_int_equal(sp_addr_canon(in, strlen(in), out, NULL), SP_OK);

	memset(in + 4, 'x', 64);
	memcpy(in + 68, ".test", 6);
	assert_int_equal(sp_addr_canon(in, strlen(in), out, NULL),
	    SP_E_ADDRESS);

	/* A 64-character TLD too. */
	memcpy(in, "bob@a.", 6);
	memset(in + 6, 'x', 64);
	in[70] = '\0';
	assert_int_equal(sp_addr_canon(in, strlen(in), out, NULL),
	    SP_E_ADDRESS);
}

/* Build a domain of exactly len characters from 63-character labels. */
static void
long_domain(char *d, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		d[i] = (i + 1) % 64 == 0 ? '.' : 'a';
	d[len] = '\0';
}

static void
test_domain_length(void **state)
{
	char	 d[300], out[SP_DOMAIN_MAX + 1];
	char	 addr[400], aout[SP_ADDR_MAX + 1];

	long_domain(d, 253);
	assert_int_equal(sp_domain_canon(d, 253, out, NULL), SP_OK);
	assert_true(sp_domain_is_canonical(d));

	long_domain(d, 254);
	assert_int_equal(sp_domain_canon(d, 254, out, NULL), SP_E_ADDRESS);
	assert_false(sp_domain_is_canonical(d));

	/* A longest local part and a longest domain are each fine, but
	 * a whole address holds at most SP_ADDR_MAX characters. */
	memset(addr, 'b', 64);
	addr[64] = '@';
	long_domain(addr + 65, SP_ADDR_MAX - 65);
	assert_int_equal(strlen(addr), SP_ADDR_MAX);
	assert_int_equal(sp_addr_canon(addr, SP_ADDR_MAX, aout, NULL), SP_OK);
	assert_string_equal(aout, addr);
	assert_true(sp_addr_is_canonical(addr));
	assert_string_equal(sp_addr_domain(aout), addr + 65);

	long_domain(addr + 65, SP_ADDR_MAX - 64);
	assert_int_equal(sp_domain_canon(addr + 65, strlen(addr + 65), out,
	    NULL), SP_OK);
	assert_int_equal(sp_addr_canon(addr, strlen(addr), aout, NULL),
	    SP_E_ADDRESS);
	assert_false(sp_addr_is_canonical(addr));

	long_domain(addr + 65, 253);
	assert_int_equal(sp_addr_canon(addr, strlen(addr), aout, NULL),
	    SP_E_ADDRESS);
	assert_false(sp_addr_is_canonical(addr));
}

static void
test_domain(void **state)
{
	char		 out[SP_DOMAIN_MAX + 1];
	const char	*why = NULL;

	assert_int_equal(sp_domain_canon("Partner.TEST", 12, out, NULL),
	    SP_OK);
	assert_string_equal(out, "partner.test");
	assert_false(sp_domain_is_canonical("Partner.TEST"));
	assert_true(sp_domain_is_canonical("partner.test"));

	assert_int_equal(sp_domain_canon("test", 4, out, &why),
	    SP_E_ADDRESS);
	assert_string_equal(why, "domain has one label");
	assert_int_equal(sp_domain_canon("10.0.0.1", 8, out, NULL),
	    SP_E_ADDRESS);
	assert_int_equal(sp_domain_canon("a.b.", 4, out, NULL),
	    SP_E_ADDRESS);
	assert_int_equal(sp_domain_canon("", 0, out, NULL), SP_E_ADDRESS);
	assert_int_equal(sp_domain_canon("a@b.test", 8, out, NULL),
	    SP_E_ADDRESS);
	assert_int_equal(sp_domain_canon("a.b\0.test", 9, out, NULL),
	    SP_E_ADDRESS);
	assert_false(sp_domain_is_canonical("bob@acme.test"));
	assert_false(sp_domain_is_canonical(NULL));
	assert_false(sp_addr_is_canonical(NULL));
}

static void
test_addr_domain(void **state)
{
	assert_string_equal(sp_addr_domain("bob@acme.test"), "acme.test");
	assert_string_equal(sp_addr_domain("nobody"), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_table),
		cmocka_unit_test(test_addr_reasons),
		cmocka_unit_test(test_addr_embedded_nul),
		cmocka_unit_test(test_local_length),
		cmocka_unit_test(test_label_length),
		cmocka_unit_test(test_domain_length),
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_addr_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_log.c - log lines: format, level filtering, escaping, hex.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/sslerr.h>

#include "log.h"

static char	out[8192];	/* what reached fd 2 */
static int	capture_fd = -1, saved_fd = -1;

static void
capture_start(void)
{
	char	tmpl[] = "/tmp/sp-log-XXXXXX";

	assert_true((capture_fd = mkstemp(tmpl)) != -1);
	unlink(tmpl);
	assert_true((saved_fd = dup(2)) != -1);
	assert_int_equal(dup2(capture_fd, 2), 2);
}

static const char *
capture_end(void)
{
	ssize_t	n;

	assert_int_equal(dup2(saved_fd, 2), 2);
	close(saved_fd);
	n = pread(capture_fd, out, sizeof(out) - 1, 0);
	assert_true(n >= 0);
	out[n] = '\0';
	close(capture_fd);
	return out;
}

static int	calls;

/* A format argument whose evaluation shows up. */
static int
side_effect(void)
{
	return ++calls;
}

static void
test_format(void **state)
{
	log_init(LOG_LEVEL_INFO);
	capture_start();
	log_info("store", "put failed: %s id=%d", "full", 7);
	log_error("relay", "x");
	assert_string_equal(capture_end(),
	    "info: store: put failed: full id=7\n"
	    "error: relay: x\n");
}

static void
test_levels(void **state)
{
	log_init(LOG_LEVEL_WARN);
	calls = 0;
	capture_start();
	log_info("t", "%d", side_effect());
	log_debug("t", "%d", side_effect());
	log_warn("t", "%d", side_effect());
	log_error("t", "%d", side_effect());
	assert_string_equal(capture_end(), "warn: t: 1\nerror: t: 2\n");
	assert_int_equal(calls, 2);

	/* Called directly, log_emit filters too. */
	capture_start();
	log_emit(LOG_LEVEL_DEBUG, "t", "hidden");
	assert_string_equal(capture_end(), "");

	log_init(LOG_LEVEL_DEBUG);
	calls = 0;
	capture_start();
	log_debug("t", "%d", side_effect());
	assert_string_equal(capture_end(), "debug: t: 1\n");

	log_init(LOG_LEVEL_ERROR);
	capture_start();
	log_warn("t", "%d", side_effect());
	assert_string_equal(capture_end(), "");
	assert_int_equal(calls, 1);
	log_init(LOG_LEVEL_INFO);
}

static void
test_level_parse(void **state)
{
	assert_int_equal(log_level_parse("error"), LOG_LEVEL_ERROR);
	assert_int_equal(log_level_parse("warn"), LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("info"), LOG_LEVEL_INFO);
	assert_int_equal(log_level_parse("debug"), LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("INFO"), -1);
	assert_int_equal(log_level_parse("warning"), -1);
	assert_int_equal(log_level_parse(""), -1);
}

static void
test_one_line(void **state)
{
	static char	big[5000];
	const char	*s;

	/* A newline in a message cannot start a forged line. */
	log_init(LOG_LEVEL_INFO);
	capture_start();
	log_info("t", "a\nerror: fake: b\r");
	assert_string_equal(capture_end(), "info: t: a error: fake: b \n");

	/* An overlong message is cut, marked, and still one line. */
	memset(big, 'x', sizeof(big) - 1);
	capture_start();
	log_info("t", "%s", big);
	s = capture_end();
	assert_true(strlen(s) < sizeof(big));
	assert_int_equal(strncmp(s, "info: t: xxx", 12), 0);
	assert_string_equal(s + strlen(s) - 5, "x...\n");
	assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1);
}

static void
test_escape(void **state)
{
	char	buf[64];

	assert_string_equal(log_escape(buf, sizeof(buf), "plain text", 10),
	    "plain text");
	assert_string_equal(log_escape(buf, sizeof(buf),
	    "a\x01" "b\n\x7f\x80\xff", 7), "a\\x01b\\x0a\\x7f\\x80\\xff");
	assert_string_equal(log_escape(buf, sizeof(buf), "a\\x41", 5),
	    "a\\\\x41");
	assert_string_equal(log_escape(buf, sizeof(buf), "a\0b", 3),
	    "a\\x00b");

	/* Only len bytes are read. */
	assert_string_equal(log_escape(buf, sizeof(buf), "abcdef", 3),
	    "abc");
	assert_string_equal(log_escape(buf, sizeof(buf), "", 0), "");
}

static void
test_escape_truncate(void **state)
{
	char	buf[8];

	/* Exactly fits: no marker. */
	assert_string_equal(log_escape(buf, sizeof(buf), "abcdefg", 7),
	    "abcdefg");

	/* One more: cut and marked, within outlen. */
	assert_string_equal(log_escape(buf, sizeof(buf), "abcdefgh", 8),
	    "abcd...");

	/* Never half an escape. */
	assert_string_equal(log_escape(buf, sizeof(buf), "ab\x01" "cdefgh",
	    9), "ab...");
	assert_string_equal(log_escape(buf, sizeof(buf), "abc\x01", 4),
	    "abc\\x01");
	assert_string_equal(log_escape(buf, sizeof(buf), "abcd\x01", 5),
	    "abcd...");

	/* Tiny buffers stay terminated. */
	buf[0] = 'z';
	assert_string_equal(log_escape(buf, 1, "abc", 3), "");
	assert_string_equal(log_escape(buf, 3, "abc", 3), "..");
	assert_string_equal(log_escape(buf, 4, "abc", 3), "abc");
	assert_string_equal(log_escape(buf, 4, "abcd", 4), "...");
}

static void
test_hex(void **state)
{
	static const unsigned char	 b[] = { 0x00, 0x0f, 0xab, 0xff };
	char				 buf[2 * sizeof(b) + 1];

	assert_string_equal(log_hex(buf, b, sizeof(b)), "000fabff");
	assert_string_equal(log_hex(buf, b, 1), "00");
	assert_string_equal(log_hex(buf, b, 0), "");
}

static void
test_ssl_errors(void **state)
{
	log_init(LOG_LEVEL_INFO);
	ERR_raise_data(ERR_LIB_SSL, SSL_R_CERTIFICATE_VERIFY_FAILED,
	    "subject=evil\nerror: x");
	capture_start();
	log_ssl_errors("tls", "handshake");
	assert_non_null(strstr(capture_end(), "warn: tls: handshake: "));
	assert_non_null(strstr(out, "error:0A000086:"));
	assert_non_null(strstr(out, "(subject=evil\\x0aerror: x)\n"));
	assert_int_equal(ERR_peek_error(), 0);

	/* Nothing queued still says something. */
	capture_start();
	log_ssl_errors("tls", "handshake");
	assert_string_equal(capture_end(),
	    "warn: tls: handshake: no detail from OpenSSL\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test(test_one_line),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_truncate),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_ssl_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_config.c - the relay's config file: values, defaults, and that
 * every problem is reported with the right file:line.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"

static char		dir[PATH_MAX];	/* absolute, symlinks resolved */
static char		conf[PATH_MAX + 16];	/* dir/relay.conf */
static char		errs[16384];	/* what config_load printed */
static struct config	cfg;		/* too large for the stack */

static void
write_file(const char *name, mode_t mode, const char *text)
{
	char	 path[PATH_MAX + 64];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Run config_load on path with fd 2 captured into errs. */
static int
load_path(const char *path)
{
	char	tmpl[] = "/tmp/sp-config-err-XXXXXX";
	ssize_t	n;
	int	fd, saved, rc;

	assert_true((fd = mkstemp(tmpl)) != -1);
	unlink(tmpl);
	fflush(stderr);
	assert_true((saved = dup(2)) != -1);
	assert_int_equal(dup2(fd, 2), 2);

	rc = config_load(&cfg, path);

	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);

	n = pread(fd, errs, sizeof(errs) - 1, 0);
	assert_true(n >= 0);
	errs[n] = '\0';
	close(fd);
	return rc;
}

/* Write text as relay.conf and load it. */
static int
load(const char *text)
{
	write_file("relay.conf", 0644, text);
	return load_path(conf);
}

/* errs holds the line "relay.conf:LINE: msg" (the file as given). */
static void
expect_err(int line, const char *msg)
{
	char	want[PATH_MAX + 512];

	if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: %s\n", conf, line, msg);
	else
		snprintf(want, sizeof(want), "%s: %s\n", conf, msg);
	if (strstr(errs, want) == NULL)
		fail_msg("expected \"%s\" in:\n%s", want, errs);
}

static int
count_lines(const char *s)
{
	int	n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static int
setup(void **state)
{
	char	tmpl[] = "/tmp/sp-config-XXXXXX", path[PATH_MAX + 8];

	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, dir));
	snprintf(conf, sizeof(conf), "%s/relay.conf", dir);

	write_file("relay.crt", 0644, "cert\n");
	write_file("relay.key", 0600, "key\n");
	snprintf(path, sizeof(path), "%s/peers", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	write_file("peers/partner.test.crt", 0644, "ca\n");
	write_file("peers/other.test.crt", 0644, "ca\n");
	return 0;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(path);
}

static int
teardown(void **state)
{
	return nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

#define MINIMAL							\
	"domain = \"acme.test\";\n"				\
	"tls = { cert = \"relay.crt\"; key = \"relay.key\"; };\n"

static void
test_full(void **state)
{
	const struct config_peer	*p;
	char				 want[PATH_MAX + 64];

	assert_int_equal(load(
	    "domain = \"acme.test\";\n"
	    "state_dir = \"/srv/sealpost\";\n"
	    "map_size = 64;\n"
	    "log_level = \"debug\";\n"
	    "tls = { cert = \"relay.crt\"; key = \"relay.key\"; };\n"
	    "client = { listen = \"127.0.0.1\"; port = 7420;\n"
	    "    idle_timeout = 30; max_connections = 50; };\n"
	    "federation = { listen = \"127.0.0.2\"; port = 7421;\n"
	    "    retry_min = 2; retry_max = 60; connect_timeout = 5; };\n"
	    "limits = { max_lifetime = 3600; code_ttl = 600; };\n"
	    "peers = (\n"
	    "  { domain = \"partner.test\"; host = \"127.0.0.1\";\n"
	    "    port = 7441; ca = \"peers/partner.test.crt\"; },\n"
	    "  { domain = \"other.test\"; host = \"other.example\";\n"
	    "    ca = \"peers/other.test.crt\"; }\n"
	    ");\n"), 0);
	assert_string_equal(errs, "");

	assert_string_equal(cfg.path, conf);
	assert_string_equal(cfg.domain, "acme.test");
	assert_string_equal(cfg.state_dir, "/srv/sealpost");
	assert_int_equal(cfg.map_size, (size_t)64 << 20);
	assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
	snprintf(want, sizeof(want), "%s/relay.crt", dir);
	assert_string_equal(cfg.tls_cert, want);
	snprintf(want, sizeof(want), "%s/relay.key", dir);
	assert_string_equal(cfg.tls_key, want);

	assert_string_equal(cfg.client.host, "127.0.0.1");
	assert_int_equal(cfg.client.port, 7420);
	assert_int_equal(cfg.client_idle_timeout, 30);
	assert_int_equal(cfg.client_max_connections, 50);
	assert_string_equal(cfg.federation.host, "127.0.0.2");
	assert_int_equal(cfg.federation.port, 7421);
	assert_int_equal(cfg.retry_min, 2);
	assert_int_equal(cfg.retry_max, 60);
	assert_int_equal(cfg.connect_timeout, 5);
	assert_int_equal(cfg.max_lifetime, 3600);
	assert_int_equal(cfg.code_ttl, 600);

	assert_int_equal(cfg.npeers, 2);
	assert_non_null(p = config_peer_find(&cfg, "partner.test"));
	assert_ptr_equal(p, &cfg.peers[0]);
	assert_string_equal(p->host, "127.0.0.1");
	assert_int_equal(p->port, 7441);
	snprintf(want, sizeof(want), "%s/peers/partner.test.crt", dir);
	assert_string_equal(p->ca, want);
	assert_non_null(p = config_peer_find(&cfg, "other.test"));
	assert_string_equal(p->host, "other.example");
	assert_int_equal(p->port, 7401);
	assert_null(config_peer_find(&cfg, "acme.test"));
	assert_null(config_peer_find(&cfg, "nobody.test"));
}

static void
test_defaults(void **state)
{
	assert_int_equal(load(MINIMAL), 0);
	assert_string_equal(errs, "");

	assert_string_equal(cfg.state_dir, "/var/lib/sealpost");
	assert_int_equal(cfg.map_size, (size_t)1024 << 20);
	assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
	assert_string_equal(cfg.client.host, "0.0.0.0");
	assert_int_equal(cfg.client.port, 7400);
	assert_int_equal(cfg.client_idle_timeout, 300);
	assert_int_equal(cfg.client_max_connections, 10000);
	assert_string_equal(cfg.federation.host, "0.0.0.0");
	assert_int_equal(cfg.federation.port, 7401);
	assert_int_equal(cfg.retry_min, 1);
	assert_int_equal(cfg.retry_max, 300);
	assert_int_equal(cfg.connect_timeout, 10);
	assert_int_equal(cfg.max_lifetime, SP_LIFETIME_MAX);
	assert_int_equal(cfg.code_ttl, 86400);
	assert_int_equal(cfg.npeers, 0);

	/* Empty groups and an empty peer list change nothing. */
	assert_int_equal(load(MINIMAL "client = {};\nlimits = {};\n"
	    "peers = ();\n"), 0);
	assert_int_equal(cfg.client.port, 7400);
	assert_int_equal(cfg.npeers, 0);
}

static void
test_syntax_error(void **state)
{
	assert_int_equal(load(MINIMAL "\nclient = { port = ; };\n"), -1);
	expect_err(4, "syntax error");
	assert_int_equal(count_lines(errs), 1);
}

static void
test_missing_file(void **state)
{
	char	path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/nope.conf", dir);
	assert_int_equal(load_path(path), -1);
	assert_non_null(strstr(errs, path));
	assert_non_null(strstr(errs, "No such file or directory"));
}

static void
test_unknown_keys(void **state)
{
	assert_int_equal(load(MINIMAL
	    "colour = \"blue\";\n"
	    "client = {\n"
	    "  prot = 7400;\n"
	    "};\n"
	    "peers = ( { domain = \"partner.test\"; host = \"h\";\n"
	    "  ca = \"peers/partner.test.crt\"; cert = \"x\"; } );\n"), -1);
	expect_err(3, "unknown setting 'colour'");
	expect_err(5, "unknown setting 'client.prot'");
	expect_err(8, "unknown setting 'peers[0].cert'");
	assert_int_equal(count_lines(errs), 3);
}

static void
test_domain(void **state)
{
	assert_int_equal(load(
	    "tls = { cert = \"relay.crt\"; key = \"relay.key\"; };\n"
	    "domain = \"Acme.Test\";\n"), -1);
	expect_err(2, "'domain': 'Acme.Test' is not in canonical form "
	    "(write 'acme.test')");

	/* The reason comes from the address module; check the frame. */
	assert_int_equal(load(
	    "tls = { cert = \"relay.crt\"; key = \"relay.key\"; };\n"
	    "domain = \"acme\";\n"), -1);
	assert_non_null(strstr(errs, ":2: 'domain': 'acme' is not a valid "
	    "domain: "));
	assert_int_equal(count_lines(errs), 1);

	assert_int_equal(load(
	    "tls = { cert = \"relay.crt\"; key = \"relay.key\"; };\n"
	    "domain = 42;\n"), -1);
	expect_err(2, "'domain' must be a string, not an integer");

	assert_int_equal(load(
	    "tls = { cert = \"relay.crt\"; key = \"relay.key\"; };\n"), -1);
	expect_err(0, "missing required setting 'domain'");
}

#define PEER(d, ca)							\
	"  { domain = \"" d "\"; host = \"127.0.0.1\"; ca = \"" ca "\"; }"

static void
test_peer_own_domain(void **state)
{
	assert_int_equal(load(MINIMAL
	    "peers = (\n"
	    PEER("acme.test", "peers/partner.test.crt") "\n"
	    ");\n"), -1);
	expect_err(4, "peer 'acme.test' is our own domain");
	assert_int_equal(count_lines(errs), 1);

	/* Also when the domain comes after the peers. */
	assert_int_equal(load(
	    "tls = { cert = \"relay.crt\"; key = \"relay.key\"; };\n"
	    "peers = (\n"
	    PEER("acme.test", "peers/partner.test.crt") "\n"
	    ");\n"
	    "domain = \"acme.test\";\n"), -1);
	expect_err(3, "peer 'acme.test' is our own domain");
}

static void
test_peer_duplicate(void **state)
{
	assert_int_equal(load(MINIMAL
	    "peers = (\n"
	    PEER("partner.test", "peers/partner.test.crt") ",\n"
	    PEER("other.test", "peers/other.test.crt") ",\n"
	    PEER("partner.test", "peers/partner.test.crt") "\n"
	    ");\n"), -1);
	expect_err(6, "peer 'partner.test' is listed twice "
	    "(first on line 4)");
	assert_int_equal(count_lines(errs), 1);
}

static void
test_peer_missing(void **state)
{
	assert_int_equal(load(MINIMAL
	    "peers = (\n"
	    "  { domain = \"partner.test\";\n"
	    "    port = 0; }\n"
	    ");\n"), -1);
	expect_err(4, "missing required setting 'peers[0].host'");
	expect_err(4, "missing required setting 'peers[0].ca'");
	expect_err(5, "'peers[0].port' must be between 1 and 65535, "
	    "not 0");
	assert_int_equal(count_lines(errs), 3);
}

static void
test_key_readable(void **state)
{
	char	msg[PATH_MAX + 64];

	write_file("open.key", 0644, "key\n");
	assert_int_equal(load(
	    "domain = \"acme.test\";\n"
	    "tls = {\n"
	    "  cert = \"relay.crt\";\n"
	    "  key = \"open.key\";\n"
	    "};\n"), -1);
	snprintf(msg, sizeof(msg), "key file %s/open.key is readable by "
	    "others (chmod 600)", dir);
	expect_err(4, msg);
	assert_int_equal(count_lines(errs), 1);

	write_file("open.key", 0640, "key\n");
	assert_int_equal(load_path(conf), -1);
	expect_err(4, msg);

	write_file("open.key", 0600, "key\n");
	assert_int_equal(load_path(conf), 0);
}

static void
test_missing_cert(void **state)
{
	char	msg[PATH_MAX + 64];

	assert_int_equal(load(
	    "domain = \"acme.test\";\n"
	    "tls = { cert = \"nope.crt\";\n"
	    "  key = \"relay.key\"; };\n"), -1);
	snprintf(msg, sizeof(msg), "tls.cert file %s/nope.crt: "
	    "No such file or directory", dir);
	expect_err(2, msg);

	assert_int_equal(load(
	    "domain = \"acme.test\";\n"
	    "tls = { key = \"relay.key\"; };\n"), -1);
	expect_err(2, "missing required setting 'tls.cert'");

	assert_int_equal(load("domain = \"acme.test\";\n"), -1);
	expect_err(0, "missing required group 'tls'");
}

static void
test_relative_paths(void **state)
{
	char	cwd[PATH_MAX], want[PATH_MAX + 64];

	assert_int_equal(load(MINIMAL "state_dir = \"state\";\n"
	    "peers = (" PEER("partner.test", "peers/partner.test.crt")
	    ");\n"), 0);
	snprintf(want, sizeof(want), "%s/state", dir);
	assert_string_equal(cfg.state_dir, want);
	snprintf(want, sizeof(want), "%s/peers/partner.test.crt", dir);
	assert_string_equal(cfg.peers[0].ca, want);

	/* A config named relative to the working directory gives
	 * absolute paths all the same. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(load_path("relay.conf"), 0);
	assert_int_equal(chdir(cwd), 0);
	snprintf(want, sizeof(want), "%s/relay.key", dir);
	assert_string_equal(cfg.tls_key, want);
	snprintf(want, sizeof(want), "%s/state", dir);
	assert_string_equal(cfg.state_dir, want);
	assert_string_equal(cfg.path, "relay.conf");
}

static void
test_retry(void **state)
{
	assert_int_equal(load(MINIMAL
	    "federation = {\n"
	    "  retry_max = 5;\n"
	    "  retry_min = 10;\n"
	    "};\n"), -1);
	expect_err(4, "'federation.retry_max' (5) is below "
	    "'federation.retry_min' (10)");

	/* Only retry_min set: the default maximum is the one too low. */
	assert_int_equal(load(MINIMAL
	    "federation = { retry_min = 600; };\n"), -1);
	expect_err(3, "'federation.retry_max' (300) is below "
	    "'federation.retry_min' (600)");

	assert_int_equal(load(MINIMAL
	    "federation = { retry_min = 7; retry_max = 7; };\n"), 0);
}

/* Two listeners on one address and port cannot both bind. */
static void
test_port_clash(void **state)
{
	assert_int_equal(load(MINIMAL
	    "client = { port = 7500; };\n"
	    "federation = { port = 7500; };\n"), -1);
	assert_non_null(strstr(errs, "'client.port' and 'federation.port' "
	    "are both 7500 on the same address"));

	/* Different addresses may share a port number. */
	assert_int_equal(load(MINIMAL
	    "client = { listen = \"127.0.0.1\"; port = 7500; };\n"
	    "federation = { listen = \"127.0.0.2\"; port = 7500; };\n"), 0);
}

static void
test_bounds_and_types(void **state)
{
	char	msg[128];

	assert_int_equal(load(MINIMAL
	    "map_size = 0;\n"
	    "client = { port = 70000; idle_timeout = 1.5; };\n"
	    "limits = { max_lifetime = 2592001; };\n"
	    "log_level = \"loud\";\n"
	    "federation = \"127.0.0.1\";\n"
	    "peers = { };\n"), -1);
	expect_err(3, "'map_size' must be between 1 and 1048576, not 0");
	expect_err(4, "'client.port' must be between 1 and 65535, "
	    "not 70000");
	expect_err(4, "'client.idle_timeout' must be an integer, "
	    "not a number with a fraction");
	snprintf(msg, sizeof(msg), "'limits.max_lifetime' must be between "
	    "%d and %d, not 2592001", SP_LIFETIME_MIN, SP_LIFETIME_MAX);
	expect_err(5, msg);
	expect_err(6, "'log_level' must be one of error, warn, info, debug");
	expect_err(7, "'federation' must be a group, not a string");
	expect_err(8, "'peers' must be a list, not a group");
	assert_int_equal(count_lines(errs), 7);

	/* The largest map size still fits size_t. */
	assert_int_equal(load(MINIMAL "map_size = 1048576;\n"), 0);
	assert_int_equal(cfg.map_size, (size_t)1 << 40);
}

static void
test_several_errors(void **state)
{
	char	msg[PATH_MAX + 64];

	assert_int_equal(load(
	    "domain = \"ACME.test\";\n"
	    "tls = { cert = \"relay.crt\"; key = \"missing.key\"; };\n"
	    "client = { port = 0; };\n"
	    "federation = { retry_min = 9; retry_max = 3; };\n"
	    "peers = (\n"
	    PEER("partner.test", "peers/none.crt") "\n"
	    ");\n"
	    "typo = 1;\n"), -1);
	expect_err(1, "'domain': 'ACME.test' is not in canonical form "
	    "(write 'acme.test')");
	snprintf(msg, sizeof(msg), "tls.key file %s/missing.key: "
	    "No such file or directory", dir);
	expect_err(2, msg);
	expect_err(3, "'client.port' must be between 1 and 65535, not 0");
	expect_err(4, "'federation.retry_max' (3) is below "
	    "'federation.retry_min' (9)");
	snprintf(msg, sizeof(msg), "peers[0].ca file %s/peers/none.crt: "
	    "No such file or directory", dir);
	expect_err(6, msg);
	expect_err(8, "unknown setting 'typo'");
	assert_int_equal(count_lines(errs), 6);
}

static void
test_include(void **state)
{
	char	want[PATH_MAX + 64];

	/* An included file's errors name that file (as written), and
	 * its relative paths still start from the main file's
	 * directory. */
	write_file("peers.inc", 0644,
	    "peers = (\n"
	    PEER("partner.test", "peers/partner.test.crt") "\n"
	    ");\n"
	    "bogus = 1;\n");
	assert_int_equal(load(MINIMAL "@include \"peers.inc\"\n"), -1);
	assert_string_equal(errs, "peers.inc:4: unknown setting "
	    "'bogus'\n");
	snprintf(want, sizeof(want), "%s/peers/partner.test.crt", dir);
	assert_string_equal(cfg.peers[0].ca, want);
}

/*
 * libconfig's scanner exits the whole process when an included name is
 * a directory; the loader must refuse such names itself, with a line.
 */
static void
test_include_not_a_file(void **state)
{
	char	want[3 * PATH_MAX];

	assert_int_equal(load(MINIMAL "@include \".\"\n"), -1);
	snprintf(want, sizeof(want), "%s/.: not a regular file\n"
	    "%s:%d: in this @include\n", dir, conf,
	    count_lines(MINIMAL) + 1);
	assert_string_equal(errs, want);

	assert_int_equal(load(MINIMAL "@include \"\"\n"), -1);
	assert_non_null(strstr(errs, "@include needs a plain, non-empty "
	    "file name"));

	/* A directory given as the config file itself. */
	assert_int_equal(load_path(dir), -1);
	assert_non_null(strstr(errs, "not a regular file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_peer_own_domain),
		cmocka_unit_test(test_peer_duplicate),
		cmocka_unit_test(test_peer_missing),
		cmocka_unit_test(test_key_readable),
		cmocka_unit_test(test_missing_cert),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_port_clash),
		cmocka_unit_test(test_bounds_and_types),
		cmocka_unit_test(test_several_errors),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_include_not_a_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * commands.c - the enrol, send and lookup commands.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "address.h"
#include "client.h"
#include "envelope.h"

static const char enrol_help[] =
"usage: sealpost [-i IDENTITY] enrol ADDR CODE --relay HOST[:PORT]\n"
"                --ca CAFILE\n"
"\n"
"Make new keys for this device, enrol them at ADDR's relay with the one-time\n"
"CODE from its operator, and write the identity file (mode 0600).  An\n"
"existing identity file is never overwritten.  Prints\n"
"\"enrolled ADDR dev=N\".  The code may be typed in any case, with or\n"
"without its dashes; white space in it is dropped.\n"
"\n"
"  -r, --relay HOST[:PORT]  the relay's client listener (port 7400 if none)\n"
"  -c, --ca CAFILE          the CA certificate of ADDR's organisation\n"
"  -i, --identity FILE      the identity file to write\n"
"  -h, --help               show this help\n";

#define STR(x)	STR_(x)
#define STR_(x)	#x

static const char send_help[] =
"usage: sealpost [-i IDENTITY] send ADDR [--text TEXT | --file PATH]\n"
"                [--ttl SECONDS]\n"
"\n"
"Look up ADDR's devices, seal one envelope to each and hand them to the\n"
"relay.  Without --text or --file the text is read from standard input.\n"
"Prints \"accepted ID dev=N\" for each device once the relay has stored it.\n"
"A text or file may hold at most " STR(CLIENT_BODY_MAX) " bytes (511 KiB).  "
"When ADDR has no\n"
"enrolled device, nothing is sent and the exit status is 3.\n"
"\n"
"  -t, --text TEXT      send TEXT (text/plain)\n"
"  -f, --file PATH      send the file (application/octet-stream, with its\n"
"                       name)\n"
"  -T, --ttl SECONDS    how long the relays keep it (default 7 days,\n"
"                       60 to 2592000)\n"
"  -i, --identity FILE  the identity file\n"
"  -h, --help           show this help\n";

static const char lookup_help[] =
"usage: sealpost [-i IDENTITY] lookup ADDR\n"
"\n"
"Ask the relay for ADDR's devices and their public keys.  Prints one line\n"
"per device: \"dev=N sign=HEX box=HEX\".  A user without any enrolled\n"
"device prints nothing (a note on standard error) and exits 0.\n"
"\n"
"  -i, --identity FILE  the identity file\n"
"  -h, --help           show this help\n";

int
cmd_usage(const char *help, int ok)
{
	const char	*end;

	if (ok) {
		fputs(help, stdout);
		return EXIT_OK;
	}
	if ((end = strstr(help, "\n\n")) == NULL)
		end = help + strlen(help) - 1;
	fprintf(stderr, "%.*s\n", (int)(end - help), help);
	fprintf(stderr, "Try the --help option.\n");
	return EXIT_LOCAL;
}

int
cmd_number(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long	 v;
	char			*end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
cmd_connect(struct identity *id, struct conn *c)
{
	char	 path[PATH_MAX], err[PATH_MAX + 128];
	int	 is_default, rc;

	if (identity_path(path, sizeof(path), client_identity_opt,
	    &is_default, err, sizeof(err)) == -1 ||
	    identity_load(id, path, err, sizeof(err)) == -1) {
		client_warnx("%s", err);
		return EXIT_LOCAL;
	}
	if ((rc = conn_open(c, id, NULL)) != EXIT_OK)
		identity_wipe(id);
	return rc;
}

static int
canon_arg(const char *arg, char out[SP_ADDR_MAX + 1])
{
	const char	*why = "";

	if (sp_addr_canon(arg, strlen(arg), out, &why) != SP_OK) {
		client_warnx("%s: not an address: %s", arg,
		    why != NULL ? why : "");
		return -1;
	}
	return 0;
}

/* HOST, HOST:PORT, [V6]:PORT or a bare IPv6 address. */
static int
parse_relay(const char *arg, struct identity *id)
{
	const char	*host = arg, *port = NULL, *end;
	size_t		 len;
	uint64_t	 num = SP_PORT_CLIENT;

	if (*arg == '[') {
		host = arg + 1;
		if ((end = strchr(host, ']')) == NULL ||
		    (end[1] != '\0' && end[1] != ':'))
			return -1;
		len = (size_t)(end - host);
		if (end[1] == ':')
			port = end + 2;
	} else if ((end = strchr(arg, ':')) != NULL &&
	    strchr(end + 1, ':') == NULL) {
		len = (size_t)(end - arg);
		port = end + 1;
	} else
		len = strlen(arg);

	if (len == 0 || len > IDENTITY_HOST_MAX)
		return -1;
	if (port != NULL && cmd_number(port, 1, 65535, &num) == -1)
		return -1;
	memcpy(id->host, host, len);
	id->host[len] = '\0';
	id->port = (uint16_t)num;
	return 0;
}

static int
enrol_run(struct identity *id, const char *code)
{
	struct conn	 c;
	char		 path[PATH_MAX], err[PATH_MAX + 128];
	int		 fd, is_default, rc;

	if (identity_path(path, sizeof(path), client_identity_opt,
	    &is_default, err, sizeof(err)) == -1 ||
	    (fd = identity_create(path, is_default, err, sizeof(err))) == -1) {
		client_warnx("%s", err);
		return EXIT_LOCAL;
	}

	/* The file is reserved before the one-time code is spent. */
	crypto_sign_keypair(id->keys.spk, id->keys.ssk);
	crypto_box_keypair(id->keys.bpk, id->keys.bsk);
	if ((rc = conn_open(&c, id, code)) != EXIT_OK) {
		close(fd);
		unlink(path);
		return rc;
	}
	conn_close(&c);

	if (identity_write(fd, id, err, sizeof(err)) == -1) {
		client_warnx("%s: %s (device %u is enrolled but its keys are "
		    "lost; ask for a new code)", path, err, id->keys.dev);
		unlink(path);
		return EXIT_LOCAL;
	}
	printf("enrolled %s dev=%u\n", id->keys.addr, id->keys.dev);
	return EXIT_OK;
}

/*
 * The code as the relay wants it on the wire: what the user typed, in
 * one argument or several, without white space.  The relay ignores case
 * and dashes itself.  The code is a secret: never printed.
 */
static int
enrol_code(int argc, char **argv, char code[SP_CODE_MAX + 1])
{
	const char	*p;
	size_t		 n = 0;
	int		 i;

	for (i = 0; i < argc; i++) {
		for (p = argv[i]; *p != '\0'; p++) {
			if (*p == ' ' || (*p >= '\t' && *p <= '\r'))
				continue;
			if (*p < 0x21 || *p > 0x7e) {
				client_warnx("the enrolment code holds a "
				    "character other than ASCII letters, "
				    "digits and punctuation");
				return -1;
			}
			if (n == SP_CODE_MAX) {
				client_warnx("the enrolment code is longer "
				    "than %d characters", SP_CODE_MAX);
				return -1;
			}
			code[n++] = *p;
		}
	}
	code[n] = '\0';
	if (n == 0) {
		client_warnx("the enrolment code is empty");
		return -1;
	}
	return 0;
}

int
cmd_enrol(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "relay",	required_argument,	NULL, 'r' },
		{ "ca",		required_argument,	NULL, 'c' },
		{ "identity",	required_argument,	NULL, 'i' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct identity	 id;
	const char	*relay = NULL, *ca = NULL;
	char		 code[SP_CODE_MAX + 1];
	int		 ch, rc;

	memset(&id, 0, sizeof(id));
	while ((ch = getopt_long(argc, argv, ":r:c:i:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			relay = optarg;
			break;
		case 'c':
			ca = optarg;
			break;
		case 'i':
			client_identity_opt = optarg;
			break;
		case 'h':
			return cmd_usage(enrol_help, 1);
		default:
			return cmd_badopt(enrol_help, ch, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		return cmd_misuse(enrol_help, "enrol needs ADDR and CODE");
	if (relay == NULL)
		return cmd_misuse(enrol_help, "enrol needs --relay");
	if (ca == NULL)
		return cmd_misuse(enrol_help, "enrol needs --ca");

	if (canon_arg(argv[0], id.keys.addr) == -1)
		return EXIT_LOCAL;
	/* "ABCDE FGHIJ ..." unquoted is several arguments: one code. */
	if (enrol_code(argc - 1, argv + 1, code) == -1) {
		sodium_memzero(code, sizeof(code));
		return EXIT_LOCAL;
	}
	if (parse_relay(relay, &id) == -1) {
		client_warnx("%s: not HOST[:PORT]", relay);
		rc = EXIT_LOCAL;
	} else if (realpath(ca, id.ca) == NULL) {
		/* Absolute, so the identity works from any directory. */
		client_warnx("%s: %s", ca, strerror(errno));
		rc = EXIT_LOCAL;
	} else
		rc = enrol_run(&id, code);

	sodium_memzero(code, sizeof(code));
	identity_wipe(&id);
	return rc;
}

/* Read all of fd into b, refusing more than max bytes. */
static int
read_all(int fd, struct sp_buf *b, size_t max, const char *what)
{
	ssize_t	 n;

	for (;;) {
		if (sp_buf_reserve(b, 65536) != SP_OK) {
			client_warnx("out of memory");
			return -1;
		}
		n = read(fd, b->data + b->len, b->cap - b->len);
		if (n == 0)
			return 0;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			client_warnx("%s: %s", what, strerror(errno));
			return -1;
		}
		b->len += (size_t)n;
		if (b->len > max) {
			client_warnx("%s: larger than %zu bytes", what, max);
			return -1;
		}
	}
}

static int
read_file(const char *path, struct sp_buf *b)
{
	int	 fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		client_warnx("%s: %s", path, strerror(errno));
		return -1;
	}
	rc = read_all(fd, b, CLIENT_BODY_MAX, path);
	close(fd);
	return rc;
}

struct outgoing {
	int64_t		 rid;
	uint32_t	 dev;
	uint8_t		 id[SP_ID_LEN];
};

/* Seal c to every device in keys and queue the sends. */
static int
send_seal(struct conn *c, const struct identity *id, const char *to,
    const struct sp_event *keys, const struct sp_content *content,
    uint64_t ttl, struct outgoing *out)
{
	struct sp_envelope	 env;
	struct sp_sender	 me;
	struct sp_buf		 b = SP_BUF_INIT;
	size_t			 i;
	int			 rc = EXIT_OK, r;

	memset(&me, 0, sizeof(me));
	strcpy(me.addr, id->keys.addr);
	me.dev = id->keys.dev;
	memcpy(me.spk, id->keys.spk, sizeof(me.spk));
	memcpy(me.ssk, id->keys.ssk, sizeof(me.ssk));

	for (i = 0; i < keys->ndevs; i++) {
		memset(&env, 0, sizeof(env));
		randombytes_buf(env.id, sizeof(env.id));
		strcpy(env.to, to);
		env.dev = keys->devs[i].dev;
		strcpy(env.org, sp_addr_domain(id->keys.addr));
		env.ts = (uint64_t)time(NULL);
		env.exp = env.ts + ttl;

		sp_buf_reset(&b);
		r = sp_env_seal(&env, content, &me, keys->devs[i].bpk, &b);
		if (r != SP_OK) {
			client_warnx("cannot seal: %s", r == SP_E_TOO_LARGE ?
			    "content too large" : sp_strerror(r));
			rc = EXIT_LOCAL;
			break;
		}
		out[i].dev = env.dev;
		memcpy(out[i].id, env.id, sizeof(env.id));
		if ((out[i].rid = sp_session_send(c->s, b.data,
		    b.len)) < 0) {
			client_warnx("cannot send: %s",
			    sp_strerror((int)out[i].rid));
			rc = EXIT_LOCAL;
			break;
		}
	}
	sp_buf_free(&b);
	sodium_memzero(&me, sizeof(me));
	return rc;
}

/* Wait until every queued send is accepted or refused. */
static int
send_wait(struct conn *c, struct outgoing *out, size_t n)
{
	struct sp_event	 ev;
	char		 hex[SP_ID_LEN * 2 + 1];
	size_t		 i;
	int		 rc = EXIT_OK, r;

	for (i = 0; i < n; i++) {
		if ((r = conn_reply(c, out[i].rid, &ev)) != EXIT_OK) {
			rc = r;
			if (r != EXIT_REFUSED)
				break;
			continue;
		}
		if (ev.type != SP_EV_ACCEPTED ||
		    memcmp(ev.id, out[i].id, SP_ID_LEN) != 0) {
			client_warnx("relay accepted something else for "
			    "dev=%u", out[i].dev);
			rc = EXIT_NET;
			break;
		}
		sodium_bin2hex(hex, sizeof(hex), out[i].id, SP_ID_LEN);
		printf("accepted %s dev=%u\n", hex, out[i].dev);
	}
	fflush(stdout);
	return rc;
}

static int
send_run(const char *to, const struct sp_content *content, uint64_t ttl)
{
	struct outgoing	 out[SP_DEVICES_MAX];
	struct identity	 id;
	struct conn	 c;
	struct sp_event	 ev;
	int		 rc;

	if ((rc = cmd_connect(&id, &c)) != EXIT_OK)
		return rc;

	rc = conn_reply(&c, sp_session_lookup(c.s, to), &ev);
	if (rc == EXIT_OK && ev.type != SP_EV_KEYS) {
		client_warnx("unexpected answer to lookup");
		rc = EXIT_NET;
	} else if (rc == EXIT_OK && ev.ndevs == 0) {
		/* The user exists at its relay but cannot read anything
		 * yet: the cause lies there, not here. */
		client_warnx("%s has no enrolled device; nothing sent", to);
		rc = EXIT_REFUSED;
	}

	/* ev.devs is valid only until the next call on the session. */
	if (rc == EXIT_OK)
		rc = send_seal(&c, &id, to, &ev, content, ttl, out);
	if (rc == EXIT_OK)
		rc = send_wait(&c, out, ev.ndevs);

	conn_close(&c);
	identity_wipe(&id);
	return rc;
}

int
cmd_send(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "text",	required_argument,	NULL, 't' },
		{ "file",	required_argument,	NULL, 'f' },
		{ "ttl",	required_argument,	NULL, 'T' },
		{ "identity",	required_argument,	NULL, 'i' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct sp_content	 content;
	struct sp_buf		 body = SP_BUF_INIT;
	const char		*text = NULL, *file = NULL;
	char			 to[SP_ADDR_MAX + 1], *name;
	uint64_t		 ttl = SP_LIFETIME_DEFAULT;
	int			 ch, rc;

	while ((ch = getopt_long(argc, argv, ":t:f:T:i:h", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 't':
			text = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'T':
			if (cmd_number(optarg, SP_LIFETIME_MIN,
			    SP_LIFETIME_MAX, &ttl) == -1) {
				client_warnx("--ttl: %s: not %u to %u seconds",
				    optarg, SP_LIFETIME_MIN, SP_LIFETIME_MAX);
				return EXIT_LOCAL;
			}
			break;
		case 'i':
			client_identity_opt = optarg;
			break;
		case 'h':
			return cmd_usage(send_help, 1);
		default:
			return cmd_badopt(send_help, ch, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return cmd_misuse(send_help, "send needs ADDR");
	if (argc > 1)
		return cmd_misuse(send_help, "send takes one ADDR, not %d "
		    "arguments", argc);
	if (text != NULL && file != NULL)
		return cmd_misuse(send_help, "--text and --file cannot be "
		    "used together");
	if (canon_arg(argv[0], to) == -1)
		return EXIT_LOCAL;

	memset(&content, 0, sizeof(content));
	strcpy(content.type, "text/plain");
	if (text != NULL)
		rc = sp_buf_append(&body, text, strlen(text)) == SP_OK ? 0 : -1;
	else if (file != NULL) {
		strcpy(content.type, "application/octet-stream");
		name = basename((char *)file);
		if (strlen(name) > SP_NAME_MAX) {
			client_warnx("%s: file name too long", file);
			return EXIT_LOCAL;
		}
		strcpy(content.name, name);
		rc = read_file(file, &body);
	} else
		rc = read_all(STDIN_FILENO, &body, CLIENT_BODY_MAX, "stdin");

	if (rc == 0) {
		content.body = body.data;
		content.body_len = body.len;
		rc = send_run(to, &content, ttl);
	} else
		rc = EXIT_LOCAL;
	sp_buf_free(&body);
	return rc;
}

int
cmd_lookup(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "identity",	required_argument,	NULL, 'i' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct identity	 id;
	struct conn	 c;
	struct sp_event	 ev;
	char		 addr[SP_ADDR_MAX + 1];
	char		 spk[SP_SIGN_PK_LEN * 2 + 1];
	char		 bpk[SP_BOX_PK_LEN * 2 + 1];
	size_t		 i;
	int		 ch, rc;

	while ((ch = getopt_long(argc, argv, ":i:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			client_identity_opt = optarg;
			break;
		case 'h':
			return cmd_usage(lookup_help, 1);
		default:
			return cmd_badopt(lookup_help, ch, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return cmd_misuse(lookup_help, "lookup needs ADDR");
	if (argc > 1)
		return cmd_misuse(lookup_help, "lookup takes one ADDR, not %d "
		    "arguments", argc);
	if (canon_arg(argv[0], addr) == -1)
		return EXIT_LOCAL;

	if ((rc = cmd_connect(&id, &c)) != EXIT_OK)
		return rc;
	rc = conn_reply(&c, sp_session_lookup(c.s, addr), &ev);
	if (rc == EXIT_OK && ev.type != SP_EV_KEYS) {
		client_warnx("unexpected answer to lookup");
		rc = EXIT_NET;
	}
	for (i = 0; rc == EXIT_OK && i < ev.ndevs; i++) {
		sodium_bin2hex(spk, sizeof(spk), ev.devs[i].spk,
		    SP_SIGN_PK_LEN);
		sodium_bin2hex(bpk, sizeof(bpk), ev.devs[i].bpk,
		    SP_BOX_PK_LEN);
		printf("dev=%u sign=%s box=%s\n", ev.devs[i].dev, spk, bpk);
	}
	if (rc == EXIT_OK && ev.ndevs == 0)
		client_warnx("%s has no enrolled device", addr);
	conn_close(&c);
	identity_wipe(&id);
	return rc;
}

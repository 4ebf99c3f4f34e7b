/*
 * main.c - sealpost, the reference command-line client.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "client.h"

const char *client_identity_opt;

static const struct {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*summary;
} commands[] = {
	{ "enrol",	cmd_enrol,	"make keys and enrol this device" },
	{ "send",	cmd_send,	"seal and send a text or a file" },
	{ "recv",	cmd_recv,	"fetch, verify and print messages" },
	{ "lookup",	cmd_lookup,	"show an address's devices and keys" },
};

void
client_warnx(const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	fputs("sealpost: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Name what getopt_long did not like ('?' or ':'). */
static void
badopt(int ch, char **argv)
{
	const char	*arg = argv[optind - 1];

	if (strncmp(arg, "--", 2) == 0) {
		if (ch == ':')
			client_warnx("option %.*s needs a value",
			    (int)strcspn(arg, "="), arg);
		else if (optopt != 0)
			client_warnx("option %.*s takes no value",
			    (int)strcspn(arg, "="), arg);
		else
			client_warnx("unknown option %.*s",
			    (int)strcspn(arg, "="), arg);
	} else if (ch == ':')
		client_warnx("option -%c needs a value", optopt);
	else
		client_warnx("unknown option -%c", optopt);
}

int
cmd_badopt(const char *help, int ch, char **argv)
{
	badopt(ch, argv);
	return cmd_usage(help, 0);
}

int
cmd_misuse(const char *help, const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	fputs("sealpost: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return cmd_usage(help, 0);
}

static int
usage(FILE *fp)
{
	size_t	 i;

	fprintf(fp,
	    "usage: sealpost [-i IDENTITY] COMMAND [ARGS...]\n"
	    "       sealpost --version\n"
	    "\n"
	    "  -i, --identity FILE  the identity file (default "
	    "$SEALPOST_IDENTITY,\n"
	    "                       else ~/.sealpost/identity); may also "
	    "follow\n"
	    "                       the command\n"
	    "  -V, --version        show the version\n"
	    "  -h, --help           show this help\n"
	    "\n"
	    "Commands (\"sealpost COMMAND --help\" for more):\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-8s %s\n", commands[i].name,
		    commands[i].summary);
	fprintf(fp,
	    "\n"
	    "Exit codes: 0 ok, 1 usage or local error, 2 cannot connect or "
	    "TLS failure,\n"
	    "3 the relay refused (or the recipient has no device), 4 recv "
	    "got fewer\nthan --count.\n");
	return fp == stdout ? EXIT_OK : EXIT_LOCAL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "identity",	required_argument,	NULL, 'i' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	size_t	 i;
	int	 ch;

	/* We word the complaints ourselves (cmd_badopt). */
	opterr = 0;

	/* '+': options after the command belong to the command. */
	while ((ch = getopt_long(argc, argv, "+:i:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			client_identity_opt = optarg;
			break;
		case 'V':
			printf("sealpost %s (protocol %d)\n", CLIENT_VERSION,
			    SP_PROTOCOL_VERSION);
			return EXIT_OK;
		case 'h':
			return usage(stdout);
		default:
			badopt(ch, argv);
			return usage(stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		client_warnx("no command given");
		return usage(stderr);
	}

	if (sodium_init() < 0) {
		client_warnx("libsodium failed to initialise");
		return EXIT_LOCAL;
	}
	/* A relay that hangs up must not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name) != 0)
			continue;
		optind = 0;	/* fresh getopt state for the command */
		return commands[i].fn(argc, argv);
	}
	client_warnx("unknown command: %s", argv[0]);
	return usage(stderr);
}

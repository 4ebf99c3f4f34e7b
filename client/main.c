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

static int
usage(FILE *fp)
{
	size_t	 i;

	fprintf(fp,
	    "usage: sealpost [-i IDENTITY] COMMAND [ARGS...]\n"
	    "\n"
	    "  -i, --identity FILE  the identity file (default "
	    "$SEALPOST_IDENTITY,\n"
	    "                       else ~/.sealpost/identity)\n"
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
	    "3 the relay refused, 4 recv got fewer than --count.\n");
	return fp == stdout ? EXIT_OK : EXIT_LOCAL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "identity",	required_argument,	NULL, 'i' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	size_t	 i;
	int	 ch;

	/* '+': options after the command belong to the command. */
	while ((ch = getopt_long(argc, argv, "+i:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			client_identity_opt = optarg;
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage(stderr);

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

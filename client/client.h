/*
 * client.h - the sealpost command-line client's internal interfaces.
 *
 * Every command returns one of the exit codes below after printing its
 * own errors as "sealpost: ..." on stderr.
 */
#ifndef SEALPOST_CLIENT_H
#define SEALPOST_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "session.h"
#include "wire.h"

enum client_exit {
	EXIT_OK		= 0,
	EXIT_LOCAL	= 1,	/* usage, files, a message that failed */
	EXIT_NET	= 2,	/* cannot connect, TLS, connection lost */
	EXIT_REFUSED	= 3,	/* the relay answered with an error */
	EXIT_SHORT	= 4,	/* recv got fewer than --count */
};

/* How long to wait for the relay's answer to any request. */
#define CLIENT_IO_TIMEOUT_MS	30000

#define CLIENT_VERSION		"0.1.0"

/*
 * The inner map of a seal at its largest as this client builds it
 * (envelope.h), msgpack bytes without the body itself: a map of 7, each
 * key, then a 254-byte address (str8), a device id (uint32), the public
 * key (bin8), the type "application/octet-stream" (fixstr), a 255-byte
 * file name (str8), the body's bin32 header and the signature (bin8).
 */
#define CLIENT_INNER_MAX	(1 +					\
	    5 + 2 + SP_ADDR_MAX +	/* from */			\
	    5 + 5 +			/* fdev */			\
	    4 + 2 + SP_SIGN_PK_LEN +	/* spk */			\
	    5 + 1 + 24 +		/* type */			\
	    5 + 2 + SP_NAME_MAX +	/* name */			\
	    5 + 5 +			/* body */			\
	    4 + 2 + SP_SIG_LEN)		/* sig */

/*
 * The largest text or file send takes: what the largest padding bucket
 * holds beside the padding marker and the rest of the inner map.  A
 * literal, so that the help can quote it; the assertion keeps it true.
 */
#define CLIENT_BODY_MAX		523605
_Static_assert(CLIENT_BODY_MAX == SP_PLAINTEXT_MAX - 1 - CLIENT_INNER_MAX,
    "CLIENT_BODY_MAX does not match the largest bucket");

/* The identity file chosen by the global -i option. */
extern const char *client_identity_opt;

void client_warnx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ---- conn.c: a session with the relay over TLS ---- */

struct conn {
	struct net		*net;
	struct sp_session	*s;
	char			 where[IDENTITY_HOST_MAX + 8];
	int			 quiet;	/* keep a lost connection's
					 * reason in lost, unprinted */
	char			 lost[IDENTITY_HOST_MAX + 8 + 520];
};

/*
 * Connect to the relay named in id and authenticate, or enrol when code
 * is not NULL (id->keys.dev is then set to the new device id).  Returns
 * EXIT_OK with c ready for requests, or another exit code after
 * printing why (c is then closed).
 */
int conn_open(struct conn *c, struct identity *id, const char *code);

/*
 * Next event from the session, flushing queued requests and reading
 * from the relay until one comes or the monotonic deadline (ms, see
 * net_now_ms) passes.  Returns 1 with ev filled, 0 at the deadline, or
 * a negative exit code (-EXIT_NET, -EXIT_REFUSED) after printing why:
 * a dead session never comes back as an event.
 */
int conn_wait(struct conn *c, struct sp_event *ev, int64_t deadline);

/*
 * Wait for the answer to request rid (as returned by sp_session_*;
 * a negative rid is reported as a local error).  Returns EXIT_OK with
 * ev holding the answer, or an exit code after printing why:
 * EXIT_REFUSED when the answer is an error, EXIT_NET when nothing came
 * within CLIENT_IO_TIMEOUT_MS or the connection broke.
 */
int conn_reply(struct conn *c, int64_t rid, struct sp_event *ev);

/* Print a refused request ("sealpost: relay refused: NAME: text");
 * returns EXIT_REFUSED. */
int conn_refused(const struct sp_event *ev);

/* Close the connection and wipe the session. */
void conn_close(struct conn *c);

/* ---- commands.c and recv.c: one function per command ---- */

int cmd_enrol(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_lookup(int argc, char **argv);
int cmd_recv(int argc, char **argv);

/*
 * Load the identity chosen by -i / $SEALPOST_IDENTITY and open an
 * authenticated connection.  Returns EXIT_OK or an exit code after
 * printing why (id wiped).
 */
int cmd_connect(struct identity *id, struct conn *c);

/* The whole help on stdout for --help (ok set), else the usage lines
 * on stderr.  Returns the exit code (EXIT_OK or EXIT_LOCAL). */
int cmd_usage(const char *help, int ok);

/* Say what is wrong with the command line, then the usage lines on
 * stderr.  Returns EXIT_LOCAL. */
int cmd_misuse(const char *help, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * After getopt_long returned '?' or ':' (option strings start with ':'
 * and opterr is 0, so getopt itself prints nothing): name the unknown
 * option, or the one missing its value, then the usage lines.  Returns
 * EXIT_LOCAL.
 */
int cmd_badopt(const char *help, int ch, char **argv);

/* Parse a decimal number in [min, max]: 0, or -1 when it is not one. */
int cmd_number(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif /* SEALPOST_CLIENT_H */

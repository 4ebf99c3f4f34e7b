/*
 * conn.c - drive the protocol session over the TLS connection.
 *
 * The session (protocol/session.h) knows the protocol and nothing of
 * sockets; net.c knows TLS and nothing of the protocol.  This file moves
 * bytes between the two and turns a dead session into a printed reason
 * and an exit code.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "address.h"
#include "client.h"
#include "net.h"

#define CONN_CONNECT_TIMEOUT_MS	10000

int
conn_refused(const struct sp_event *ev)
{
	client_warnx("relay refused: %s: %s", sp_wire_error_name(ev->err),
	    ev->text != NULL ? ev->text : "");
	return EXIT_REFUSED;
}

static int
conn_failed(struct conn *c, const struct sp_event *ev)
{
	struct sp_event	 refusal;
	char		 prefix[64];
	size_t		 len;

	if (ev->err != 0) {
		/* The session words it "relay: NAME: text"; say it once. */
		refusal = *ev;
		len = (size_t)snprintf(prefix, sizeof(prefix), "relay: %s: ",
		    sp_wire_error_name(ev->err));
		if (ev->text != NULL && strncmp(ev->text, prefix, len) == 0)
			refusal.text = ev->text + len;
		return conn_refused(&refusal);
	}
	client_warnx("%s: session failed: %s", c->where,
	    ev->text != NULL ? ev->text : "unknown reason");
	return EXIT_NET;
}

int
conn_open(struct conn *c, struct identity *id, const char *code)
{
	struct sp_event	 ev;
	const char	*domain;
	char		 err[512];
	int64_t		 deadline;
	int		 rc;

	memset(c, 0, sizeof(*c));
	snprintf(c->where, sizeof(c->where), strchr(id->host, ':') != NULL ?
	    "[%s]:%u" : "%s:%u", id->host, id->port);
	domain = sp_addr_domain(id->keys.addr);

	rc = net_connect(&c->net, id->host, id->port, id->ca, domain,
	    CONN_CONNECT_TIMEOUT_MS, err, sizeof(err));
	if (rc == -2) {
		client_warnx("%s", err);
		return EXIT_LOCAL;
	}
	if (rc == -1) {
		client_warnx("%s: %s", c->where, err);
		return EXIT_NET;
	}
	if ((c->s = sp_session_new(&id->keys, code, domain)) == NULL) {
		client_warnx("out of memory");
		conn_close(c);
		return EXIT_LOCAL;
	}

	deadline = net_now_ms() + CLIENT_IO_TIMEOUT_MS;
	for (;;) {
		if ((rc = conn_wait(c, &ev, deadline)) < 0) {
			conn_close(c);
			return -rc;
		}
		if (rc == 0) {
			client_warnx("%s: no answer from the relay",
			    c->where);
			conn_close(c);
			return EXIT_NET;
		}
		if (ev.type == SP_EV_READY)
			break;
		if (ev.type == SP_EV_ERROR) {
			conn_close(c);
			return conn_refused(&ev);
		}
	}
	if (code != NULL)
		id->keys.dev = ev.dev;
	return EXIT_OK;
}

int
conn_wait(struct conn *c, struct sp_event *ev, int64_t deadline)
{
	uint8_t		 buf[16384];
	const uint8_t	*out;
	char		 err[512];
	size_t		 outlen;
	ssize_t		 r;
	int64_t		 left;

	for (;;) {
		if (sp_session_event(c->s, ev))
			return ev->type == SP_EV_FAILED ?
			    -conn_failed(c, ev) : 1;

		/* Requests go out before we sit down to wait for answers. */
		sp_session_output(c->s, &out, &outlen);
		if (outlen > 0) {
			if (net_write(c->net, out, outlen,
			    CLIENT_IO_TIMEOUT_MS, err, sizeof(err)) == -1) {
				client_warnx("%s: %s", c->where, err);
				return -EXIT_NET;
			}
			sp_session_consume(c->s, outlen);
			continue;
		}

		if ((left = deadline - net_now_ms()) <= 0)
			return 0;
		r = net_read(c->net, buf, sizeof(buf),
		    left > INT_MAX ? INT_MAX : (int)left, err, sizeof(err));
		if (r == -1) {
			snprintf(c->lost, sizeof(c->lost), "%s: %s",
			    c->where, err);
			if (!c->quiet)
				client_warnx("%s", c->lost);
			return -EXIT_NET;
		}
		/* A broken stream queues SP_EV_FAILED, seen next turn. */
		if (r > 0)
			(void)sp_session_input(c->s, buf, (size_t)r);
	}
}

int
conn_reply(struct conn *c, int64_t rid, struct sp_event *ev)
{
	int64_t	 deadline;
	int	 rc;

	if (rid < 0) {
		client_warnx("request not made: %s", sp_strerror((int)rid));
		return EXIT_LOCAL;
	}

	deadline = net_now_ms() + CLIENT_IO_TIMEOUT_MS;
	for (;;) {
		if ((rc = conn_wait(c, ev, deadline)) < 0)
			return -rc;
		if (rc == 0) {
			client_warnx("%s: no answer from the relay",
			    c->where);
			return EXIT_NET;
		}
		if (ev->type == SP_EV_DELIVER || ev->rid != (uint32_t)rid)
			continue;
		return ev->type == SP_EV_ERROR ? conn_refused(ev) : EXIT_OK;
	}
}

void
conn_close(struct conn *c)
{
	net_close(c->net);
	c->net = NULL;
	if (c->s != NULL)
		sp_session_free(c->s);
	c->s = NULL;
}

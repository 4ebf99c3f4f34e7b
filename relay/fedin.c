/*
 * fedin.c - a peer relay's session on the federation listener.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/address.h"
#include "../protocol/envelope.h"
#include "../protocol/msg.h"
#include "../protocol/wire.h"
#include "conn.h"
#include "fedin.h"
#include "log.h"
#include "relay_int.h"
#include "store.h"
#include "tls.h"

struct fedin {
	TAILQ_ENTRY(fedin)	 entry;		/* r->fedins */
	struct relay		*r;
	struct conn		*conn;
	const struct config_peer *peer;		/* NULL until verified */
	struct tls_verdict	 verdict;
	char			 name[64];
};

static void	fedin_ready(void *);
static void	fedin_msg(void *, struct sp_msg *);
static void	fedin_closed(void *, const char *);

static const struct conn_ops fedin_ops = {
	.ready = fedin_ready,
	.msg = fedin_msg,
	.closed = fedin_closed,
};

static void	fedin_relay(struct fedin *, const struct sp_msg *);
static void	fedin_lookup(struct fedin *, const struct sp_msg *);

int
fedin_accept(struct relay *r, evutil_socket_t fd, const char *name)
{
	struct fedin	*fi;

	if ((fi = calloc(1, sizeof(*fi))) == NULL) {
		evutil_closesocket(fd);
		log_warn("fedin", "%s: refused: out of memory", name);
		return -1;
	}
	fi->r = r;
	snprintf(fi->name, sizeof(fi->name), "%s", name);

	fi->conn = conn_accept(r, fd, r->fed_ctx, SP_ALPN_FEDERATION,
	    &fi->verdict, &fedin_ops, fi, "fedin", name);
	if (fi->conn == NULL) {
		log_warn("fedin", "%s: refused: out of memory", name);
		free(fi);
		return -1;
	}
	TAILQ_INSERT_TAIL(&r->fedins, fi, entry);
	r->nfedins++;
	return 0;
}

void
fedin_free(struct fedin *fi)
{
	TAILQ_REMOVE(&fi->r->fedins, fi, entry);
	fi->r->nfedins--;
	conn_free(fi->conn);
	free(fi);
}

static void
fedin_ready(void *arg)
{
	struct fedin	*fi = arg;
	const struct config *cfg = fi->r->cfg;

	/* The handshake cannot succeed without a verified peer; this is
	 * a second lock on the same door. */
	if (fi->verdict.peer < 0 || (size_t)fi->verdict.peer >= cfg->npeers) {
		conn_close(fi->conn, "refused: no verified peer");
		return;
	}
	fi->peer = &cfg->peers[fi->verdict.peer];

	/* A little longer than the initiator's own idle close, so that
	 * it is the one that hangs up. */
	conn_set_idle(fi->conn, cfg->client_idle_timeout + 30);
	log_info("fedin", "%s: peer=%s connected", fi->name,
	    fi->peer->domain);
}

static void
fedin_msg(void *arg, struct sp_msg *m)
{
	struct fedin	*fi = arg;

	switch (m->type) {
	case SP_MSG_RELAY:
		fedin_relay(fi, m);
		break;
	case SP_MSG_LOOKUP:
		fedin_lookup(fi, m);
		break;
	case SP_MSG_PING:
		{
			struct sp_msg ok;

			memset(&ok, 0, sizeof(ok));
			ok.type = SP_MSG_OK;
			ok.rid = m->rid;
			conn_send(fi->conn, &ok);
		}
		break;
	default:
		log_warn("fedin", "%s: peer=%s refused: unexpected %s; "
		    "closing", fi->name, fi->peer->domain,
		    sp_msg_type_name(m->type));
		conn_send_error(fi->conn, m->rid, SP_WERR_BAD_MESSAGE,
		    "unexpected message type");
		conn_finish(fi->conn, "unexpected message");
		break;
	}
}

/* Refuse one envelope with a warn line and an error reply. */
static void
fedin_refuse(struct fedin *fi, const struct sp_msg *m,
    const struct sp_envelope *env, enum sp_wire_error err, const char *text)
{
	char	hex[SP_ID_LEN * 2 + 1];

	if (env != NULL)
		log_warn("fedin", "%s: peer=%s refused id=%s to=%s dev=%u: "
		    "%s: %s", fi->name, fi->peer->domain,
		    log_hex(hex, env->id, sizeof(env->id)), env->to,
		    env->dev, sp_wire_error_name(err), text);
	else
		log_warn("fedin", "%s: peer=%s refused envelope: %s: %s",
		    fi->name, fi->peer->domain, sp_wire_error_name(err),
		    text);
	conn_send_error(fi->conn, m->rid, err, text);
}

static void
fedin_relay(struct fedin *fi, const struct sp_msg *m)
{
	struct relay		*r = fi->r;
	struct sp_envelope	 env;
	struct store_device	 d;
	struct conn_later	 l;
	char			 text[SP_ERRMSG_MAX + SP_DOMAIN_MAX];
	char			 hex[SP_ID_LEN * 2 + 1];
	uint64_t		 now = relay_now(), seq;
	int			 rc;

	if ((rc = sp_env_decode(&env, m->env, m->env_len)) != SP_OK) {
		fedin_refuse(fi, m, NULL, rc == SP_E_TOO_LARGE ?
		    SP_WERR_TOO_LARGE : SP_WERR_BAD_ENVELOPE, sp_strerror(rc));
		return;
	}

	/* The origin is whoever the certificate says, nothing else. */
	if (strcmp(env.org, fi->peer->domain) != 0) {
		log_warn("fedin", "peer=%s forged origin=%s refused id=%s",
		    fi->peer->domain, env.org,
		    log_hex(hex, env.id, sizeof(env.id)));
		snprintf(text, sizeof(text), "origin must be %s",
		    fi->peer->domain);
		conn_send_error(fi->conn, m->rid, SP_WERR_NOT_ALLOWED, text);
		return;
	}
	if (strcmp(sp_addr_domain(env.to), r->cfg->domain) != 0) {
		fedin_refuse(fi, m, &env, SP_WERR_NOT_ALLOWED,
		    "recipient not in this relay's domain");
		return;
	}
	if (sp_env_check_time(&env, now) != SP_OK) {
		fedin_refuse(fi, m, &env, env.exp <= now ? SP_WERR_EXPIRED :
		    SP_WERR_BAD_ENVELOPE, env.exp <= now ? "envelope expired" :
		    "envelope created in the future");
		return;
	}
	if (env.exp - env.ts > r->cfg->max_lifetime) {
		snprintf(text, sizeof(text), "lifetime over %u seconds",
		    r->cfg->max_lifetime);
		fedin_refuse(fi, m, &env, SP_WERR_NOT_ALLOWED, text);
		return;
	}

	rc = store_device_get(r->st, env.to, env.dev, &d);
	if (rc == STORE_NOTFOUND) {
		fedin_refuse(fi, m, &env, SP_WERR_NO_SUCH_USER,
		    "no such recipient device");
		return;
	}
	if (rc == STORE_OK)
		rc = store_mailbox_put(r->st, env.dev, env.id, env.exp,
		    m->env, m->env_len, &seq);
	if (rc != STORE_OK && rc != STORE_DUP) {
		log_warn("fedin", "%s: peer=%s store: %s", fi->name,
		    fi->peer->domain, store_strerror(r->st));
		conn_send_error(fi->conn, m->rid, SP_WERR_TRY_LATER,
		    "store unavailable, try later");
		return;
	}

	log_info("receive", "id=%s to=%s dev=%u from=%s result=%s",
	    log_hex(hex, env.id, sizeof(env.id)), env.to, env.dev,
	    fi->peer->domain, rc == STORE_DUP ? "duplicate" : "queued");
	if (rc == STORE_OK)
		relay_touch_dev(r, env.dev);

	memset(&l, 0, sizeof(l));
	l.type = SP_MSG_ACCEPTED;
	l.rid = m->rid;
	memcpy(l.id, env.id, sizeof(l.id));
	conn_after_commit(fi->conn, &l);
}

static void
fedin_lookup(struct fedin *fi, const struct sp_msg *m)
{
	struct relay		*r = fi->r;

	if (strcmp(sp_addr_domain(m->addr), r->cfg->domain) != 0) {
		log_warn("fedin", "%s: peer=%s lookup refused addr=%s: "
		    "not our domain", fi->name, fi->peer->domain, m->addr);
		conn_send_error(fi->conn, m->rid, SP_WERR_NOT_ALLOWED,
		    "address not in this relay's domain");
		return;
	}

	relay_answer_keys(r, fi->conn, m->rid, m->addr);
}

static void
fedin_closed(void *arg, const char *why)
{
	struct fedin	*fi = arg;

	/* Whoever never got through the handshake is anyone; a flood of
	 * them must not become a flood of lines. */
	if (fi->peer == NULL) {
		if (strcmp(why, CONN_WHY_HANDSHAKE) == 0)
			log_debug("fedin", "%s: %s", fi->name, why);
		else if (relay_log_ok(fi->r))
			log_warn("fedin", "%s: %s", fi->name, why);
	} else
		log_info("fedin", "%s: peer=%s closed: %s", fi->name,
		    fi->peer->domain, why);
	fedin_free(fi);
}

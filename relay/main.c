/*
 * main.c - sealpost-relay: the command line, and the daemon's event loop.
 */
#define _GNU_SOURCE		/* getresuid(2) and friends */

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "../protocol/address.h"
#include "config.h"
#include "log.h"
#include "relay.h"
#include "store.h"
#include "tls.h"

#ifndef SEALPOST_VERSION
#define SEALPOST_VERSION	"0.1.0"
#endif

#define PROG			"sealpost-relay"
#define EXPIRE_INTERVAL		60	/* seconds between expiry sweeps */
#define EXPIRE_BATCH		10000	/* entries per sweep and loop turn */

/* Everything the running daemon's callbacks share. */
struct daemon {
	struct event_base	*base;
	struct store		*st;
	struct relay		*relay;
	struct event		*commit_ev;	/* group commit when idle */
	struct event		*commit_late_ev; /* ... or when overdue */
	struct event		*expire_ev;	/* periodic sweep */
	struct event		*sweep_ev;	/* sweep again: more is due */
	struct event		*sigterm_ev;
	struct event		*sigint_ev;
	struct event		*sighup_ev;
	int			 stopping;
};

/* Large (every peer inline), so never on the stack. */
static struct config	cfg;

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: " PROG " [-v] [-c file]\n"
"       " PROG " [-c file] -n\n"
"       " PROG " [-c file] user add address [--ttl seconds]\n"
"       " PROG " [-c file] user code address [--ttl seconds]\n"
"       " PROG " [-c file] user list\n"
"       " PROG " [-c file] user revoke address device\n"
"       " PROG " [-c file] user remove address\n");
}

static void
help(void)
{
	printf(
"NAME\n"
"     " PROG " - Sealpost relay for one organisation\n"
"\n"
"SYNOPSIS\n"
"     " PROG " [-v] [-c file]\n"
"     " PROG " [-c file] -n\n"
"     " PROG " [-c file] user add address [--ttl seconds]\n"
"     " PROG " [-c file] user code address [--ttl seconds]\n"
"     " PROG " [-c file] user list\n"
"     " PROG " [-c file] user revoke address device\n"
"     " PROG " [-c file] user remove address\n"
"\n"
"DESCRIPTION\n"
"     Without a command, the relay runs in the foreground: it accepts\n"
"     devices of its organisation on the client listener, exchanges\n"
"     sealed envelopes with the partner relays named in its\n"
"     configuration on the federation listener, and logs to standard\n"
"     error, one line per event: \"level: subsystem: message\".\n"
"\n"
"     Started as root with user (and group) set in the configuration,\n"
"     it binds its listeners, reads its key and opens its store, then\n"
"     runs as that user for good; the commands below switch too.  With\n"
"     user set, it refuses to start as anyone but root or that user.\n"
"\n"
"OPTIONS\n"
"     -c, --config file\n"
"             Read the configuration from file (default\n"
"             " CONFIG_PATH_DEFAULT ").\n"
"     -n, --check\n"
"             Check the configuration, print \"config ok: file\" and\n"
"             exit; every problem is reported as file:line: message.\n"
"     -v, --verbose\n"
"             Log at level debug, whatever log_level says.\n"
"     -h, --help\n"
"             Print this text and exit.\n"
"     -V, --version\n"
"             Print the version and exit.\n"
"\n"
"COMMANDS\n"
"     user add address [--ttl seconds]\n"
"             Create a user of this relay's domain and print a one-time\n"
"             enrolment code, alone on one line.  The code is valid for\n"
"             seconds (default: limits.code_ttl of the configuration).\n"
"     user code address [--ttl seconds]\n"
"             Print another enrolment code for an existing user, e.g.\n"
"             for a second device.\n"
"     user list\n"
"             Print one line per user, in address order:\n"
"             \"address devices=N\".\n"
"     user revoke address device\n"
"             Remove one device (its number is the dev= of the\n"
"             client's enrolment) and the envelopes waiting for it.\n"
"     user remove address\n"
"             Remove the user with every device, waiting envelope\n"
"             and unspent enrolment code.\n"
"     All may run while the relay does; they share its store.  A\n"
"     session a revoked device has open goes on until it ends; the\n"
"     device cannot authenticate again.\n"
"\n"
"EXIT STATUS\n"
"     0 on success (for the daemon: stopped by a signal), 1 on a\n"
"     configuration, usage or operational error, explained in one\n"
"     message on standard error.\n"
"\n"
"FILES\n"
"     " CONFIG_PATH_DEFAULT "\n"
"             Default configuration file.\n"
"     state_dir (default /var/lib/sealpost)\n"
"             The LMDB store, created with mode 0700 if missing (and\n"
"             given to user).  It must belong to the user the relay\n"
"             runs as, and its group and others may not write to it.\n"
"\n"
"SIGNALS\n"
"     SIGTERM, SIGINT\n"
"             Stop accepting, close every session, commit what is\n"
"             pending and exit 0.\n"
"     SIGHUP\n"
"             Ignored, with a warning: the configuration is read only\n"
"             at start-up, so a change needs a restart.\n"
"     SIGPIPE\n"
"             Ignored.\n");
}

/* --- the account the relay runs as --- */

/* Set by priv_check: root with 'user' set, so the relay switches. */
static int	switching;

/* "name (uid N)" for messages, or "uid N" when it has no name. */
static const char *
uid_name(uid_t uid, char *out, size_t outlen)
{
	struct passwd	*pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(out, outlen, "%s (uid %u)", pw->pw_name,
		    (unsigned)uid);
	else
		snprintf(out, outlen, "uid %u", (unsigned)uid);
	return out;
}

/*
 * May this process run with the loaded config?  With 'user' set it must
 * be root, which switches to that user once the listeners, keys and
 * store are open, or be that user already (a supervisor started it so).
 * daemon: warn when the relay would keep root.  0, or -1 after saying
 * why.
 */
static int
priv_check(int daemon)
{
	char	who[300];

	switching = 0;
	if (cfg.user[0] == '\0') {
		if (daemon && geteuid() == 0)
			log_warn("relay", "running as root: set 'user' in "
			    "%s to drop root once the listeners, keys and "
			    "store are open", cfg.path);
		return 0;
	}

	if (geteuid() == 0) {
		switching = 1;
		return 0;
	}
	if (getuid() == cfg.uid && geteuid() == cfg.uid &&
	    getgid() == cfg.gid && getegid() == cfg.gid)
		return 0;

	fprintf(stderr, PROG ": 'user' is %s, but this runs as %s, group "
	    "%u: start it as root, which switches to %s, or as %s with "
	    "group %u\n", cfg.user, uid_name(geteuid(), who, sizeof(who)),
	    (unsigned)getegid(), cfg.user, cfg.user, (unsigned)cfg.gid);
	return -1;
}

/*
 * For a while, act as the target user (file access follows the
 * effective ids): what the store creates then belongs to that user,
 * and a link planted in its directory opens nothing root could.
 * Root's saved ids let priv_leave return.
 */
static int
priv_enter(void)
{
	if (setgroups(1, &cfg.gid) == -1 || setegid(cfg.gid) == -1 ||
	    seteuid(cfg.uid) == -1) {
		fprintf(stderr, PROG ": cannot act as user %s: %s\n",
		    cfg.user, strerror(errno));
		return -1;
	}
	return 0;
}

static int
priv_leave(void)
{
	if (seteuid(0) == -1 || setegid(0) == -1) {
		fprintf(stderr, PROG ": cannot return to root after acting "
		    "as %s: %s\n", cfg.user, strerror(errno));
		return -1;
	}
	return 0;
}

/* The process's ids are all exactly the target's, for good. */
static int
priv_verify(void)
{
	uid_t	ru, eu, su;
	gid_t	rg, eg, sg, groups[2];
	int	n;

	/* Each must fail now; one that works means root is still here. */
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1 ||
	    setegid(0) != -1) {
		fprintf(stderr, PROG ": root could be regained after "
		    "switching to %s\n", cfg.user);
		return -1;
	}

	n = getgroups(2, groups);
	if (getresuid(&ru, &eu, &su) == -1 ||
	    getresgid(&rg, &eg, &sg) == -1 ||
	    ru != cfg.uid || eu != cfg.uid || su != cfg.uid ||
	    rg != cfg.gid || eg != cfg.gid || sg != cfg.gid ||
	    n != 1 || groups[0] != cfg.gid) {
		fprintf(stderr, PROG ": ids are not all %s's after "
		    "switching\n", cfg.user);
		return -1;
	}
	return 0;
}

/*
 * Give up root for good: supplementary groups first (only the target
 * group is kept), then the group, then the user, as each step needs
 * the privilege the next one takes away.  daemon: log the result at
 * info rather than debug.  0 (also when there is nothing to do), or -1
 * after saying why: the caller must then exit.
 */
static int
priv_drop(int daemon)
{
	if (cfg.user[0] == '\0')
		return 0;

	if (switching) {
		if (setgroups(1, &cfg.gid) == -1) {
			fprintf(stderr, PROG ": setgroups: %s\n",
			    strerror(errno));
			return -1;
		}
		if (setresgid(cfg.gid, cfg.gid, cfg.gid) == -1) {
			fprintf(stderr, PROG ": setresgid %u: %s\n",
			    (unsigned)cfg.gid, strerror(errno));
			return -1;
		}
		if (setresuid(cfg.uid, cfg.uid, cfg.uid) == -1) {
			fprintf(stderr, PROG ": setresuid %u: %s\n",
			    (unsigned)cfg.uid, strerror(errno));
			return -1;
		}
		if (priv_verify() == -1)
			return -1;
		switching = 0;
	}

	log_at(daemon ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG, "relay",
	    "running as user=%s uid=%u gid=%u", cfg.user,
	    (unsigned)cfg.uid, (unsigned)cfg.gid);
	return 0;
}

/* --- the state directory and the store --- */

/* A directory we just made as root goes to the target user.  Opened
 * without following links, so a swap after mkdir gives nothing away. */
static int
state_dir_give(const char *dir)
{
	struct stat	sb;
	int		fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(fd, &sb) == -1) {
		fprintf(stderr, PROG ": cannot open state directory %s: %s\n",
		    dir, strerror(errno));
		goto fail;
	}

	/* Not ours: someone replaced it between mkdir and open. */
	if (sb.st_uid != geteuid()) {
		fprintf(stderr, PROG ": state directory %s changed hands "
		    "while it was being created\n", dir);
		goto fail;
	}
	if (fchown(fd, cfg.uid, cfg.gid) == -1) {
		fprintf(stderr, PROG ": cannot give state directory %s to "
		    "%s: %s\n", dir, cfg.user, strerror(errno));
		goto fail;
	}
	close(fd);
	return 0;

 fail:
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * Create the state directory, or check the one that is there.  It must
 * belong to the user the relay runs as (whoever owns it can swap the
 * store's files for links) and give its group and others no write.
 */
static int
state_dir_ready(const char *dir)
{
	struct stat	 sb;
	uid_t		 want = switching ? cfg.uid : geteuid();
	char		 owner[300], runner[300];

	if (mkdir(dir, 0700) == 0) {
		if (switching && state_dir_give(dir) == -1)
			return -1;
	} else if (errno != EEXIST) {
		fprintf(stderr, PROG ": cannot create state directory %s: "
		    "%s\n", dir, strerror(errno));
		return -1;
	}

	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, PROG ": state directory %s is not a "
		    "directory\n", dir);
		return -1;
	}

	if (sb.st_uid != want) {
		fprintf(stderr, PROG ": state directory %s belongs to %s, "
		    "not to %s, who runs the relay (chown -R, or run it as "
		    "its owner)\n", dir, uid_name(sb.st_uid, owner,
		    sizeof(owner)), uid_name(want, runner, sizeof(runner)));
		return -1;
	}
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		fprintf(stderr, PROG ": state directory %s is writable by "
		    "its group or others (chmod 700)\n", dir);
		return -1;
	}

	/* It holds no secret key, but mailboxes are nobody else's. */
	if (sb.st_mode & (S_IRWXG | S_IRWXO))
		log_warn("store", "state directory %s is open to others "
		    "(chmod 700)", dir);
	return 0;
}

static int
store_ready(struct store **st)
{
	char	err[256];
	int	s;

	if (state_dir_ready(cfg.state_dir) == -1)
		return -1;

	if (switching && priv_enter() == -1)
		return -1;
	s = store_open(st, cfg.state_dir, cfg.map_size, err, sizeof(err));
	if (switching && priv_leave() == -1) {
		if (s == STORE_OK)
			store_close(*st);
		*st = NULL;
		return -1;
	}

	if (s != STORE_OK) {
		if (switching)
			fprintf(stderr, PROG ": cannot open the store in %s "
			    "as user %s (who must own its files): %s\n",
			    cfg.state_dir, cfg.user, err);
		else
			fprintf(stderr, PROG ": cannot open the store in "
			    "%s: %s\n", cfg.state_dir, err);
		return -1;
	}
	return 0;
}

/* --- the daemon --- */

/*
 * Group commit.  Every write waits in one open batch until the loop has
 * no more input ready (the commit event runs at the lowest priority, so
 * libevent reaches it only after every ready socket was served), or
 * until the batch is COMMIT_MAX_DELAY_US old, whichever comes first.
 * An fsync costs about the same for one envelope as for a thousand, and
 * the loop is blocked while it runs, so committing after every small
 * read would make each commit carry only what one TLS record held.
 */
#define EVENT_PRIORITIES	3	/* 0 unused, 1 default, 2 commit */
#define COMMIT_PRIORITY		2
#define COMMIT_MAX_DELAY_US	2000

/* XXX: the commit and its fsync run on the event-loop thread, so every
 * session waits about a millisecond per commit; a writer thread would
 * let the loop go on reading meanwhile. */
static void
commit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;

	event_del(d->commit_ev);
	event_del(d->commit_late_ev);
	if (store_commit(d->st) != STORE_OK)
		log_error("store", "commit failed: %s",
		    store_strerror(d->st));
}

/* A batch opened: commit it when the loop runs dry, or soon anyway. */
static void
wakeup_cb(void *arg)
{
	struct daemon	*d = arg;
	struct timeval	 late = { 0, COMMIT_MAX_DELAY_US };

	event_active(d->commit_ev, EV_TIMEOUT, 1);
	evtimer_add(d->commit_late_ev, &late);
}

static void
sweep(struct daemon *d)
{
	struct timeval	 soon = { 0, 0 };
	size_t		 dropped = 0;
	int		 more = 0;

	if (store_expire(d->st, (uint64_t)time(NULL), EXPIRE_BATCH,
	    &dropped, &more) != STORE_OK) {
		log_warn("store", "expiry sweep failed: %s",
		    store_strerror(d->st));
		return;
	}
	if (dropped > 0)
		log_info("store", "expired envelopes dropped=%zu", dropped);

	/* Go on next turn rather than holding the loop up now. */
	if (more)
		evtimer_add(d->sweep_ev, &soon);
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	sweep(arg);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon	*d = arg;

	if (d->stopping)
		return;
	d->stopping = 1;
	log_info("relay", "shutting down signal=%s",
	    sig == SIGTERM ? "TERM" : "INT");

	relay_free(d->relay);
	d->relay = NULL;
	if (store_commit(d->st) != STORE_OK)
		log_error("store", "final commit failed: %s",
		    store_strerror(d->st));
	event_base_loopexit(d->base, NULL);
}

/* Without a handler SIGHUP would end the relay silently. */
static void
sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	log_warn("relay", "SIGHUP ignored: the configuration is read only "
	    "at start-up; restart the relay to apply changes");
}

static int
daemon_events(struct daemon *d)
{
	struct timeval	 every = { EXPIRE_INTERVAL, 0 };

	d->commit_ev = event_new(d->base, -1, 0, commit_cb, d);
	d->commit_late_ev = evtimer_new(d->base, commit_cb, d);
	d->sweep_ev = evtimer_new(d->base, sweep_cb, d);
	d->expire_ev = event_new(d->base, -1, EV_PERSIST, sweep_cb, d);
	d->sigterm_ev = evsignal_new(d->base, SIGTERM, signal_cb, d);
	d->sigint_ev = evsignal_new(d->base, SIGINT, signal_cb, d);
	d->sighup_ev = evsignal_new(d->base, SIGHUP, sighup_cb, d);
	if (d->commit_ev == NULL || d->commit_late_ev == NULL ||
	    event_priority_set(d->commit_ev, COMMIT_PRIORITY) == -1 ||
	    d->sweep_ev == NULL ||
	    d->expire_ev == NULL || d->sigterm_ev == NULL ||
	    d->sigint_ev == NULL || d->sighup_ev == NULL)
		return -1;

	if (event_add(d->expire_ev, &every) == -1 ||
	    evsignal_add(d->sigterm_ev, NULL) == -1 ||
	    evsignal_add(d->sigint_ev, NULL) == -1 ||
	    evsignal_add(d->sighup_ev, NULL) == -1)
		return -1;
	return 0;
}

static void
daemon_free(struct daemon *d)
{
	struct event	*evs[] = { d->commit_ev, d->commit_late_ev,
			    d->sweep_ev, d->expire_ev,
			    d->sigterm_ev, d->sigint_ev, d->sighup_ev };
	size_t		 i;

	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	if (d->base != NULL)
		event_base_free(d->base);
}

static int
run(int verbose)
{
	struct daemon	d;
	int		rc = 1;

	memset(&d, 0, sizeof(d));
	log_init(verbose ? LOG_LEVEL_DEBUG : (enum log_level)cfg.log_level);

	/* A peer closing mid-write must cost a session, not the relay. */
	signal(SIGPIPE, SIG_IGN);

	if (priv_check(1) == -1 || store_ready(&d.st) == -1)
		return 1;

	if ((d.base = event_base_new()) == NULL ||
	    event_base_priority_init(d.base, EVENT_PRIORITIES) == -1 ||
	    daemon_events(&d) == -1) {
		log_error("relay", "cannot set up the event loop");
		goto done;
	}
	store_set_wakeup(d.st, wakeup_cb, &d);

	if ((d.relay = relay_new(d.base, &cfg, d.st)) == NULL)
		goto done;

	/* Listeners bound and keys read: root has nothing left to do.
	 * The loop has not run yet, so no peer was ever served as root. */
	if (priv_drop(1) == -1)
		goto done;

	/* Drop what expired while the relay was down before serving. */
	sweep(&d);

	if (event_base_dispatch(d.base) == -1) {
		log_error("relay", "event loop failed");
		goto done;
	}
	rc = 0;

 done:
	if (d.relay != NULL)
		relay_free(d.relay);
	if (store_commit(d.st) != STORE_OK) {
		log_error("store", "final commit failed: %s",
		    store_strerror(d.st));
		rc = 1;
	}
	store_close(d.st);
	daemon_free(&d);
	return rc;
}

/* --- user commands --- */

static int
user_cmd(int add, const char *arg, unsigned ttl)
{
	struct store	*st = NULL;
	char		 addr[SP_ADDR_MAX + 1], code[SP_CODE_MAX + 1];
	const char	*why = NULL;
	int		 rc = 1, s;

	if (sp_addr_canon(arg, strlen(arg), addr, &why) != SP_OK) {
		fprintf(stderr, PROG ": %s: not a valid address: %s\n",
		    arg, why != NULL ? why : "refused");
		return 1;
	}
	if (strcmp(sp_addr_domain(addr), cfg.domain) != 0) {
		fprintf(stderr, PROG ": %s: not in this relay's domain %s\n",
		    addr, cfg.domain);
		return 1;
	}

	/* Nothing here needs root once the store is open. */
	log_init((enum log_level)cfg.log_level);
	if (priv_check(0) == -1 || store_ready(&st) == -1)
		return 1;
	if (priv_drop(0) == -1)
		goto done;

	if (add && (s = store_user_add(st, addr)) != STORE_OK) {
		if (s == STORE_EXISTS)
			fprintf(stderr, PROG ": user %s already exists "
			    "(\"user code\" issues another code)\n", addr);
		else
			fprintf(stderr, PROG ": cannot add %s: %s\n", addr,
			    store_strerror(st));
		goto done;
	}

	s = store_code_issue(st, addr, (uint64_t)time(NULL) + ttl, code);
	if (s == STORE_NOTFOUND) {
		fprintf(stderr, PROG ": no such user %s\n", addr);
		goto done;
	}
	if (s != STORE_OK) {
		fprintf(stderr, PROG ": cannot issue a code for %s: %s\n",
		    addr, store_strerror(st));
		goto done;
	}

	/* Only a committed code may be handed out. */
	if (store_commit(st) != STORE_OK) {
		fprintf(stderr, PROG ": cannot commit: %s\n",
		    store_strerror(st));
		goto done;
	}
	printf("%s\n", code);
	if (fflush(stdout) == EOF) {
		fprintf(stderr, PROG ": stdout: %s\n", strerror(errno));
		goto done;
	}
	rc = 0;

 done:
	sodium_memzero(code, sizeof(code));
	store_close(st);
	return rc;
}

static int
user_list_cb(void *arg, const char *addr, size_t ndevs)
{
	int	*failed = arg;

	if (printf("%s devices=%zu\n", addr, ndevs) < 0) {
		*failed = 1;
		return 1;
	}
	return 0;
}

static int
user_list(void)
{
	struct store	*st = NULL;
	int		 rc = 1, failed = 0;

	/* Nothing here needs root once the store is open. */
	log_init((enum log_level)cfg.log_level);
	if (priv_check(0) == -1 || store_ready(&st) == -1)
		return 1;
	if (priv_drop(0) == -1)
		goto done;

	if (store_users_scan(st, user_list_cb, &failed) != STORE_OK) {
		fprintf(stderr, PROG ": cannot list the users: %s\n",
		    store_strerror(st));
		goto done;
	}

	/* A listing cut short (say, by a full disk) must not pass for
	 * the whole list. */
	if (fflush(stdout) == EOF || failed) {
		fprintf(stderr, PROG ": stdout: %s\n", strerror(errno));
		goto done;
	}
	rc = 0;

 done:
	store_close(st);
	return rc;
}

/*
 * "user revoke ADDR DEV" (devarg set) removes one device and its
 * mailbox; "user remove ADDR" removes the user with every device and
 * unspent code.  A session the device has open at that moment goes on
 * until it ends; it cannot authenticate again.
 */
static int
user_delete(const char *arg, const char *devarg)
{
	struct store	*st = NULL;
	char		 addr[SP_ADDR_MAX + 1], *end;
	const char	*why = NULL;
	unsigned long	 dev = 0;
	int		 rc = 1, s;

	if (sp_addr_canon(arg, strlen(arg), addr, &why) != SP_OK) {
		fprintf(stderr, PROG ": %s: not a valid address: %s\n",
		    arg, why != NULL ? why : "refused");
		return 1;
	}
	if (devarg != NULL) {
		errno = 0;
		dev = strtoul(devarg, &end, 10);
		if (*devarg < '1' || *devarg > '9' || *end != '\0' ||
		    errno != 0 || dev > UINT32_MAX) {
			fprintf(stderr, PROG ": %s: not a device number\n",
			    devarg);
			return 1;
		}
	}

	log_init((enum log_level)cfg.log_level);
	if (priv_check(0) == -1 || store_ready(&st) == -1)
		return 1;
	if (priv_drop(0) == -1)
		goto done;

	if (devarg != NULL)
		s = store_device_remove(st, addr, (uint32_t)dev);
	else
		s = store_user_remove(st, addr);
	if (s == STORE_NOTFOUND) {
		if (devarg != NULL)
			fprintf(stderr, PROG ": %s has no device %lu\n", addr,
			    dev);
		else
			fprintf(stderr, PROG ": no such user %s\n", addr);
		goto done;
	}
	if (s != STORE_OK || store_commit(st) != STORE_OK) {
		fprintf(stderr, PROG ": cannot remove: %s\n",
		    store_strerror(st));
		goto done;
	}
	if (devarg != NULL)
		printf("revoked %s device %lu\n", addr, dev);
	else
		printf("removed %s\n", addr);
	rc = fflush(stdout) == EOF;

 done:
	store_close(st);
	return rc;
}

static int
parse_ttl(const char *s, unsigned *out)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 ||
	    v < 1 || v > SP_LIFETIME_MAX) {
		fprintf(stderr, PROG ": --ttl: expected 1..%d seconds, "
		    "not '%s'\n", SP_LIFETIME_MAX, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* "user add|code ADDR [--ttl S]" or "user list"; argv[0] is "user". */
static int
user_main(const char *path, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "ttl",	required_argument,	NULL, 't' },
		{ NULL,		0,			NULL, 0 },
	};
	const char	*ttl_arg = NULL;
	unsigned	 ttl;
	int		 ch, add;

	/* glibc starts over on a new vector with optind 0; its own
	 * messages would name "user" as the program, so ours speak. */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:t:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			ttl_arg = optarg;
			break;
		default:
			fprintf(stderr, PROG ": user: bad option or missing "
			    "argument near '%s'\n", argv[optind - 1]);
			usage(stderr);
			return 1;
		}
	}
	argc -= optind;
	argv += optind;

	if (argc >= 1 && strcmp(argv[0], "list") == 0) {
		if (argc != 1 || ttl_arg != NULL) {
			usage(stderr);
			return 1;
		}
		if (config_load(&cfg, path) == -1)
			return 1;
		return user_list();
	}
	if (argc >= 1 && (strcmp(argv[0], "revoke") == 0 ||
	    strcmp(argv[0], "remove") == 0)) {
		int revoke = strcmp(argv[0], "revoke") == 0;

		if (argc != (revoke ? 3 : 2) || ttl_arg != NULL) {
			usage(stderr);
			return 1;
		}
		if (config_load(&cfg, path) == -1)
			return 1;
		return user_delete(argv[1], revoke ? argv[2] : NULL);
	}
	if (argc != 2 || (strcmp(argv[0], "add") != 0 &&
	    strcmp(argv[0], "code") != 0)) {
		usage(stderr);
		return 1;
	}
	add = strcmp(argv[0], "add") == 0;

	if (config_load(&cfg, path) == -1)
		return 1;
	ttl = cfg.code_ttl;
	if (ttl_arg != NULL && parse_ttl(ttl_arg, &ttl) == -1)
		return 1;

	return user_cmd(add, argv[1], ttl);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "check",	no_argument,		NULL, 'n' },
		{ "config",	required_argument,	NULL, 'c' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 },
	};
	const char	*path = CONFIG_PATH_DEFAULT;
	int		 ch, check = 0, verbose = 0;

	/* "+": options after the command belong to the command. */
	while ((ch = getopt_long(argc, argv, "+c:hnvV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			help();
			return 0;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf(PROG " " SEALPOST_VERSION " (protocol %d)\n",
			    SP_PROTOCOL_VERSION);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	argc -= optind;
	argv += optind;

	if (sodium_init() == -1) {
		fprintf(stderr, PROG ": libsodium failed to initialise\n");
		return 1;
	}

	if (argc > 0) {
		if (strcmp(argv[0], "user") != 0) {
			fprintf(stderr, PROG ": unknown command '%s'\n",
			    argv[0]);
			usage(stderr);
			return 1;
		}
		if (check) {
			fprintf(stderr, PROG ": -n takes no command\n");
			return 1;
		}
		return user_main(path, argc, argv);
	}

	if (config_load(&cfg, path) == -1)
		return 1;
	if (check) {
		char	err[1024];

		/* The certificate's name and usages too: a mismatch would
		 * otherwise only show when the relay starts. */
		if (tls_check_identity(cfg.tls_cert, cfg.tls_key, cfg.domain,
		    err, sizeof(err)) == -1) {
			fprintf(stderr, "%s: tls: %s\n", path, err);
			return 1;
		}
		printf("config ok: %s\n", path);
		return 0;
	}
	return run(verbose);
}

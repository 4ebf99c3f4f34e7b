/*
 * store.c - the relay's durable state over one LMDB environment.
 *
 * A batch is one LMDB write transaction.  It stays open from the first
 * write until store_commit(), so every envelope accepted during one
 * event-loop turn shares a single fsync.  Any LMDB failure inside a
 * batch aborts the whole transaction at once: LMDB poisons a
 * transaction after an error, and a half-written batch must never be
 * committed anyway.
 *
 * Record layouts (integers big-endian):
 *   meta     "seq" -> be64 next sequence number (first is 1)
 *            "dev" -> be32 next device id (first is 1)
 *   users    addr -> be64 creation time
 *   devices  addr NUL be32 dev -> spk[32] bpk[32] be64 created
 *   codes    BLAKE2b-256(code) -> be64 expires || addr
 *   mailbox  be32 dev || be64 seq -> envelope
 *   outbound peer NUL be64 seq -> envelope
 *   seen     id -> be64 expiry
 *   expiry   be64 exp || id -> kind || queue key
 * where kind is QUEUE_MAILBOX or QUEUE_OUTBOUND and the queue key is
 * the envelope's key in that database.
 */
#define _GNU_SOURCE		/* fallocate(2) */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "store.h"

enum {
	DB_META,
	DB_USERS,
	DB_DEVICES,
	DB_CODES,
	DB_MAILBOX,
	DB_OUTBOUND,
	DB_SEEN,
	DB_EXPIRY,
	DB_COUNT
};

static const char *const db_names[DB_COUNT] = {
	"meta", "users", "devices", "codes", "mailbox", "outbound", "seen",
	"expiry",
};

#define QUEUE_MAILBOX	'm'
#define QUEUE_OUTBOUND	'o'
/* Longest queue key: an outbound one. */
#define QKEY_MAX	(SP_DOMAIN_MAX + 1 + 8)
#define DEVKEY_MAX	(SP_ADDR_MAX + 1 + 4)
#define DEVREC_LEN	(SP_SIGN_PK_LEN + SP_BOX_PK_LEN + 8)
#define EXPKEY_LEN	(8 + SP_ID_LEN)

/*
 * Enrolment codes: 20 symbols of Crockford's base32 (no I, L, O, U, so
 * nothing reads as another symbol), 100 bits, shown as four groups of
 * five.  Redeeming folds case and the look-alikes back and ignores
 * dashes and spaces, so a code read aloud or retyped still works.
 */
#define CODE_GROUPS	4
#define CODE_GROUP_LEN	5
#define CODE_SYMBOLS	(CODE_GROUPS * CODE_GROUP_LEN)
#define CODE_HASH_LEN	32
static const char code_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

struct store_reg {
	void		*owner;
	store_done_cb	*cb;		/* NULL once forgotten */
	void		*arg;
};

/* A list of registrations whose callbacks are being run. */
struct store_run {
	struct store_reg *v;
	size_t		  n;
	struct store_run *prev;
};

struct store {
	MDB_env		*env;
	MDB_dbi		 dbi[DB_COUNT];
	MDB_txn		*txn;		/* the open batch, or NULL */
	MDB_txn		*rtxn;		/* cached read txn, reset when idle */
	int		 rtxn_busy;
	int		 closing;

	/* The sequence counter, read once per batch and written back
	 * just before the commit. */
	uint64_t	 seq_next;
	int		 seq_loaded;
	int		 seq_dirty;

	void		(*wakeup)(void *);
	void		*wakeup_arg;

	/* Where store_expire's walk over the codes goes on. */
	uint8_t		 codes_from[CODE_HASH_LEN];
	int		 codes_from_set;

	struct store_reg *regs;		/* for the current or next batch */
	size_t		 nregs;
	size_t		 regcap;
	struct store_run *runs;		/* innermost first */

	char		 err[256];
};

static void
be32enc(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
be32dec(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
be64enc(uint8_t *p, uint64_t v)
{
	be32enc(p, v >> 32);
	be32enc(p + 4, (uint32_t)v);
}

static uint64_t
be64dec(const uint8_t *p)
{
	return (uint64_t)be32dec(p) << 32 | be32dec(p + 4);
}

static MDB_val
val(const void *p, size_t n)
{
	MDB_val v;

	v.mv_data = (void *)p;
	v.mv_size = n;
	return v;
}

static void
seterr(struct store *st, const char *what, int rc)
{
	snprintf(st->err, sizeof(st->err), "%s: %s", what, mdb_strerror(rc));
}

/* Map and disk exhaustion are temporary: deletes or an operator free
 * space, so callers answer "try later" instead of failing hard. */
static int
status_of(int rc)
{
	if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT)
		return STORE_FULL;
	return STORE_ERR;
}

/*
 * Begin a transaction, adopting a map another process has grown.  The
 * remap would pull the pages from under a read in progress (a scan
 * whose callback writes), so then the caller just gets the error.
 */
static int
txn_begin(struct store *st, unsigned flags, MDB_txn **t)
{
	int rc;

	*t = NULL;
	rc = mdb_txn_begin(st->env, NULL, flags, t);
	if (rc == MDB_MAP_RESIZED && !st->rtxn_busy &&
	    (rc = mdb_env_set_mapsize(st->env, 0)) == 0)
		rc = mdb_txn_begin(st->env, NULL, flags, t);
	if (rc != 0)
		*t = NULL;
	return rc;
}

/*
 * Run and drop the pending registrations.  The list is detached first,
 * so callbacks may register for the next batch, write, commit or call
 * store_forget (which also looks at st->runs) without disturbing it.
 */
static void
run_callbacks(struct store *st, int status)
{
	struct store_run run;
	size_t		 cap, i;

	run.v = st->regs;
	run.n = st->nregs;
	run.prev = st->runs;
	cap = st->regcap;
	st->regs = NULL;
	st->nregs = st->regcap = 0;
	st->runs = &run;

	for (i = 0; i < run.n; i++) {
		if (run.v[i].cb != NULL)
			run.v[i].cb(status, run.v[i].arg);
	}

	st->runs = run.prev;
	if (st->regs == NULL) {
		st->regs = run.v;
		st->regcap = cap;
	} else
		free(run.v);
}

/* Abort the open batch; st->err already says why. */
static int
batch_abort(struct store *st, int status)
{
	if (st->txn != NULL)
		mdb_txn_abort(st->txn);
	st->txn = NULL;
	st->seq_loaded = st->seq_dirty = 0;
	run_callbacks(st, status);
	return status;
}

static int
batch_fail(struct store *st, const char *what, int rc)
{
	seterr(st, what, rc);
	return batch_abort(st, status_of(rc));
}

static int
batch_begin(struct store *st)
{
	int rc;

	if (st->txn != NULL)
		return STORE_OK;
	if (st->closing) {
		snprintf(st->err, sizeof(st->err), "store is closing");
		return STORE_ERR;
	}

	if ((rc = txn_begin(st, 0, &st->txn)) != 0)
		return batch_fail(st, "mdb_txn_begin", rc);
	st->seq_loaded = st->seq_dirty = 0;

	if (st->wakeup != NULL)
		st->wakeup(st->wakeup_arg);
	return STORE_OK;
}

/* A read-only transaction: the cached one when it is free, so that
 * most reads cost a renew instead of a reader-slot allocation. */
static int
read_begin(struct store *st, MDB_txn **t)
{
	int rc;

	if (st->rtxn != NULL && !st->rtxn_busy) {
		if (mdb_txn_renew(st->rtxn) == 0) {
			st->rtxn_busy = 1;
			*t = st->rtxn;
			return STORE_OK;
		}
		mdb_txn_abort(st->rtxn);
		st->rtxn = NULL;
	}

	if ((rc = txn_begin(st, MDB_RDONLY, t)) != 0) {
		seterr(st, "mdb_txn_begin", rc);
		return STORE_ERR;
	}
	if (st->rtxn == NULL) {
		st->rtxn = *t;
		st->rtxn_busy = 1;
	}
	return STORE_OK;
}

static void
read_end(struct store *st, MDB_txn *t)
{
	if (t == st->rtxn) {
		mdb_txn_reset(t);
		st->rtxn_busy = 0;
	} else
		mdb_txn_abort(t);
}

static int
check_len(struct store *st, const char *s, size_t max, size_t *len)
{
	size_t n;

	n = strnlen(s, max + 1);
	if (n == 0 || n > max) {
		snprintf(st->err, sizeof(st->err), "name length out of range");
		return -1;
	}
	*len = n;
	return 0;
}

/*
 * LMDB keeps its reader table in lock.mdb, written through a shared
 * mapping, and creates that file sparse: the first reader slot on a
 * page never written before would fault, and on a full disk the fault
 * is a SIGBUS.  Giving the file its blocks now (it never grows) leaves
 * no such page.  Best effort: a filesystem without fallocate, or one
 * already full, keeps the old risk, which needs dozens of concurrent
 * readers to bite.
 */
static void
lock_file_allocate(const char *dir)
{
	struct stat	sb;
	char		path[PATH_MAX];
	int		fd, n;

	n = snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1)
		return;
	if (fstat(fd, &sb) == 0 && sb.st_size > 0)
		(void)fallocate(fd, 0, 0, sb.st_size);
	close(fd);
}

int
store_open(struct store **out, const char *dir, size_t map_size, char *err,
    size_t errlen)
{
	struct store	*st;
	MDB_txn		*txn = NULL;
	const char	*what;
	int		 i, rc;

	*out = NULL;
	if (sodium_init() == -1) {
		snprintf(err, errlen, "sodium_init failed");
		return STORE_ERR;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return STORE_ERR;
	}
	snprintf(st->err, sizeof(st->err), "no error");

	what = "mdb_env_create";
	if ((rc = mdb_env_create(&st->env)) != 0)
		goto fail;
	what = "mdb_env_set_mapsize";
	if ((rc = mdb_env_set_mapsize(st->env, map_size)) != 0)
		goto fail;
	what = "mdb_env_set_maxdbs";
	if ((rc = mdb_env_set_maxdbs(st->env, DB_COUNT)) != 0)
		goto fail;

	/*
	 * NOTLS: reads open their own transactions while the batch's
	 * write transaction is open in the same thread.  Never
	 * MDB_WRITEMAP: pages stored through the map would grow the file
	 * by page faults, and a fault on a full disk is a SIGBUS, where
	 * LMDB's own write(2) gives ENOSPC, which becomes STORE_FULL.
	 */
	what = "mdb_env_open";
	if ((rc = mdb_env_open(st->env, dir, MDB_NOTLS, 0600)) != 0)
		goto fail;
	lock_file_allocate(dir);

	what = "mdb_txn_begin";
	if ((rc = txn_begin(st, 0, &txn)) != 0)
		goto fail;
	what = "mdb_dbi_open";
	for (i = 0; i < DB_COUNT; i++) {
		rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &st->dbi[i]);
		if (rc != 0)
			goto fail;
	}
	what = "mdb_txn_commit";
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail;

	*out = st;
	return STORE_OK;

fail:
	snprintf(err, errlen, "%s: %s: %s", dir, what, mdb_strerror(rc));
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (st->env != NULL)
		mdb_env_close(st->env);
	free(st);
	return STORE_ERR;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;

	/* From here on nothing may open a batch or register, so the
	 * callbacks below cannot keep the store alive. */
	st->closing = 1;
	if (st->txn != NULL || st->nregs > 0) {
		snprintf(st->err, sizeof(st->err),
		    "store closed before the batch committed");
		batch_abort(st, STORE_ERR);
	}

	if (st->rtxn != NULL)
		mdb_txn_abort(st->rtxn);
	mdb_env_close(st->env);
	free(st->regs);
	free(st);
}

const char *
store_strerror(const struct store *st)
{
	return st->err;
}

void
store_set_wakeup(struct store *st, void (*fn)(void *), void *arg)
{
	st->wakeup = fn;
	st->wakeup_arg = arg;
}

int
store_on_commit(struct store *st, void *owner, store_done_cb *cb, void *arg)
{
	struct store_reg *v;
	size_t		  cap;

	if (st->closing) {
		snprintf(st->err, sizeof(st->err), "store is closing");
		return STORE_ERR;
	}
	if (st->nregs == st->regcap) {
		cap = st->regcap ? st->regcap * 2 : 64;
		v = reallocarray(st->regs, cap, sizeof(*v));
		if (v == NULL) {
			snprintf(st->err, sizeof(st->err), "%s",
			    strerror(errno));
			return STORE_ERR;
		}
		st->regs = v;
		st->regcap = cap;
	}

	v = &st->regs[st->nregs++];
	v->owner = owner;
	v->cb = cb;
	v->arg = arg;
	return STORE_OK;
}

/* Linear in the pending registrations, which one batch bounds. */
void
store_forget(struct store *st, void *owner)
{
	struct store_run *r;
	size_t		  i;

	for (i = 0; i < st->nregs; i++) {
		if (st->regs[i].owner == owner)
			st->regs[i].cb = NULL;
	}
	for (r = st->runs; r != NULL; r = r->prev) {
		for (i = 0; i < r->n; i++) {
			if (r->v[i].owner == owner)
				r->v[i].cb = NULL;
		}
	}
}

static int
seq_flush(struct store *st)
{
	MDB_val	k = val("seq", 3), v;
	uint8_t	b[8];

	if (!st->seq_dirty)
		return 0;
	be64enc(b, st->seq_next);
	v = val(b, sizeof(b));
	return mdb_put(st->txn, st->dbi[DB_META], &k, &v, 0);
}

int
store_commit(struct store *st)
{
	int rc, status = STORE_OK;

	if (st->txn == NULL) {
		/* Registrations made between batches wait on nothing. */
		if (st->nregs > 0)
			run_callbacks(st, STORE_OK);
		return STORE_OK;
	}

	if ((rc = seq_flush(st)) != 0)
		return batch_fail(st, "mdb_put", rc);

	rc = mdb_txn_commit(st->txn);
	st->txn = NULL;
	st->seq_loaded = st->seq_dirty = 0;
	if (rc != 0) {
		seterr(st, "mdb_txn_commit", rc);
		status = status_of(rc);
	}

	run_callbacks(st, status);
	return status;
}

int
store_batch_open(const struct store *st)
{
	return st->txn != NULL;
}

/* --- users, devices, enrolment codes --- */

static size_t
devkey(uint8_t *key, const char *addr, size_t alen, uint32_t dev)
{
	memcpy(key, addr, alen);
	key[alen] = '\0';
	be32enc(key + alen + 1, dev);
	return alen + 1 + 4;
}

/* Count addr's devices as transaction t sees them, stopping at max.
 * Returns 0 or an LMDB error. */
static int
devices_count(struct store *st, MDB_txn *t, const char *addr, size_t alen,
    size_t max, size_t *n)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	uint8_t		 key[DEVKEY_MAX];
	size_t		 klen;
	int		 rc;

	*n = 0;
	if ((rc = mdb_cursor_open(t, st->dbi[DB_DEVICES], &c)) != 0)
		return rc;

	klen = devkey(key, addr, alen, 0);
	k = val(key, klen);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && *n < max) {
		if (k.mv_size != klen || memcmp(k.mv_data, key, alen + 1))
			break;
		(*n)++;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}

	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The one call here that reads the clock itself: the creation time is
 * only shown to operators, so the caller's "now" is not needed. */
int
store_user_add(struct store *st, const char *addr)
{
	MDB_val	k, v;
	uint8_t	rec[8];
	size_t	alen;
	int	rc, s;

	if (check_len(st, addr, SP_ADDR_MAX, &alen) == -1)
		return STORE_ERR;
	if ((s = batch_begin(st)) != STORE_OK)
		return s;

	be64enc(rec, (uint64_t)time(NULL));
	k = val(addr, alen);
	v = val(rec, sizeof(rec));
	rc = mdb_put(st->txn, st->dbi[DB_USERS], &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return STORE_EXISTS;
	if (rc != 0)
		return batch_fail(st, "mdb_put", rc);
	return STORE_OK;
}

int
store_user_exists(struct store *st, const char *addr)
{
	MDB_txn	*t;
	MDB_val	 k, v;
	size_t	 alen;
	int	 rc, s;

	if (check_len(st, addr, SP_ADDR_MAX, &alen) == -1)
		return STORE_ERR;
	if ((s = read_begin(st, &t)) != STORE_OK)
		return s;

	k = val(addr, alen);
	rc = mdb_get(t, st->dbi[DB_USERS], &k, &v);
	read_end(st, t);
	if (rc == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	if (rc != 0) {
		seterr(st, "mdb_get", rc);
		return STORE_ERR;
	}
	return STORE_OK;
}

/* One read transaction for the whole walk, so the listing is one
 * consistent picture even while the relay writes. */
int
store_users_scan(struct store *st, store_user_cb *cb, void *arg)
{
	MDB_txn		*t;
	MDB_cursor	*c;
	MDB_val		 k, v;
	char		 addr[SP_ADDR_MAX + 1];
	size_t		 ndevs;
	int		 rc, s;

	if ((s = read_begin(st, &t)) != STORE_OK)
		return s;
	if ((rc = mdb_cursor_open(t, st->dbi[DB_USERS], &c)) != 0) {
		seterr(st, "mdb_cursor_open", rc);
		read_end(st, t);
		return STORE_ERR;
	}

	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0) {
		if (k.mv_size == 0 || k.mv_size > SP_ADDR_MAX) {
			snprintf(st->err, sizeof(st->err), "users: bad record");
			s = STORE_ERR;
			break;
		}
		memcpy(addr, k.mv_data, k.mv_size);
		addr[k.mv_size] = '\0';
		rc = devices_count(st, t, addr, k.mv_size, SIZE_MAX, &ndevs);
		if (rc != 0 || cb(arg, addr, ndevs) != 0)
			break;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		seterr(st, "store_users_scan", rc);
		s = STORE_ERR;
	}

	mdb_cursor_close(c);
	read_end(st, t);
	return s;
}

/* Write a fresh code, "XXXXX-XXXXX-XXXXX-XXXXX", into code. */
static void
code_make(char *code)
{
	size_t i, j = 0;

	for (i = 0; i < CODE_SYMBOLS; i++) {
		if (i > 0 && i % CODE_GROUP_LEN == 0)
			code[j++] = '-';
		code[j++] = code_alphabet[randombytes_uniform(32)];
	}
	code[j] = '\0';
}

/* Hash the normalised code; -1 when it cannot be one of ours. */
static int
code_hash(const char *code, uint8_t h[CODE_HASH_LEN])
{
	char		 norm[CODE_SYMBOLS];
	size_t		 n = 0;
	const char	*p;
	int		 c, ok = 1;

	for (p = code; *p != '\0' && ok; p++) {
		c = *p;
		if (c == '-' || c == ' ')
			continue;
		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		if (c == 'O')
			c = '0';
		else if (c == 'I' || c == 'L')
			c = '1';
		if (n == CODE_SYMBOLS || strchr(code_alphabet, c) == NULL)
			ok = 0;
		else
			norm[n++] = c;
	}
	if (ok && n == CODE_SYMBOLS)
		crypto_generichash(h, CODE_HASH_LEN, (uint8_t *)norm, n,
		    NULL, 0);
	sodium_memzero(norm, sizeof(norm));
	return ok && n == CODE_SYMBOLS ? 0 : -1;
}

int
store_code_issue(struct store *st, const char *addr, uint64_t expires,
    char code[SP_CODE_MAX + 1])
{
	MDB_val	k, v;
	uint8_t	h[CODE_HASH_LEN], rec[8 + SP_ADDR_MAX];
	size_t	alen;
	int	rc, s, tries;

	code[0] = '\0';
	if (check_len(st, addr, SP_ADDR_MAX, &alen) == -1)
		return STORE_ERR;
	if ((s = batch_begin(st)) != STORE_OK)
		return s;

	k = val(addr, alen);
	rc = mdb_get(st->txn, st->dbi[DB_USERS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	if (rc != 0)
		return batch_fail(st, "mdb_get", rc);

	be64enc(rec, expires);
	memcpy(rec + 8, addr, alen);

	/* A collision of 100 random bits is not expected; retrying keeps
	 * even that from handing out a code that is somebody else's. */
	for (tries = 0; tries < 3; tries++) {
		code_make(code);
		code_hash(code, h);
		k = val(h, sizeof(h));
		v = val(rec, 8 + alen);
		rc = mdb_put(st->txn, st->dbi[DB_CODES], &k, &v,
		    MDB_NOOVERWRITE);
		if (rc != MDB_KEYEXIST)
			break;
	}
	sodium_memzero(h, sizeof(h));
	if (rc != 0) {
		sodium_memzero(code, SP_CODE_MAX + 1);
		return batch_fail(st, "mdb_put", rc);
	}
	return STORE_OK;
}

/* Take the next device id from the counter in meta. */
static int
dev_take(struct store *st, uint32_t *dev)
{
	MDB_val		k = val("dev", 3), v;
	uint8_t		b[4];
	uint32_t	next = 1;
	int		rc;

	rc = mdb_get(st->txn, st->dbi[DB_META], &k, &v);
	if (rc == 0 && v.mv_size == sizeof(b))
		next = be32dec(v.mv_data);
	else if (rc == 0) {
		snprintf(st->err, sizeof(st->err), "meta: bad device counter");
		return batch_abort(st, STORE_ERR);
	} else if (rc != MDB_NOTFOUND)
		return batch_fail(st, "mdb_get", rc);

	if (next == 0 || next == UINT32_MAX) {
		snprintf(st->err, sizeof(st->err), "device ids exhausted");
		return batch_abort(st, STORE_ERR);
	}
	be32enc(b, next + 1);
	v = val(b, sizeof(b));
	if ((rc = mdb_put(st->txn, st->dbi[DB_META], &k, &v, 0)) != 0)
		return batch_fail(st, "mdb_put", rc);
	*dev = next;
	return STORE_OK;
}

int
store_code_redeem(struct store *st, const char *addr, const char *code,
    uint64_t now, const uint8_t spk[SP_SIGN_PK_LEN],
    const uint8_t bpk[SP_BOX_PK_LEN], uint32_t *dev)
{
	MDB_val		k, v;
	uint8_t		h[CODE_HASH_LEN], key[DEVKEY_MAX], rec[DEVREC_LEN];
	uint64_t	expires;
	size_t		alen, ndevs;
	int		rc, s, mine;

	*dev = 0;
	if (check_len(st, addr, SP_ADDR_MAX, &alen) == -1)
		return STORE_ERR;
	if (code_hash(code, h) == -1)
		return STORE_NOTFOUND;
	if ((s = batch_begin(st)) != STORE_OK)
		goto out;

	/* Looked up in the batch, so a code spent earlier in the same
	 * batch is already gone. */
	k = val(h, sizeof(h));
	rc = mdb_get(st->txn, st->dbi[DB_CODES], &k, &v);
	if (rc == MDB_NOTFOUND) {
		s = STORE_NOTFOUND;
		goto out;
	}
	if (rc != 0) {
		s = batch_fail(st, "mdb_get", rc);
		goto out;
	}
	if (v.mv_size < 8) {
		snprintf(st->err, sizeof(st->err), "codes: bad record");
		s = STORE_ERR;
		goto out;
	}
	expires = be64dec(v.mv_data);
	mine = v.mv_size - 8 == alen &&
	    memcmp((uint8_t *)v.mv_data + 8, addr, alen) == 0;

	/* Another user's code stays valid for that user. */
	if (!mine) {
		s = STORE_NOTFOUND;
		goto out;
	}

	/*
	 * A "keys" answer lists at most SP_DEVICES_MAX devices, so no
	 * more may exist.  Counted in the batch, so devices enrolled
	 * earlier in it count; the code stays, usable once the operator
	 * removed a device.
	 */
	if (expires > now) {
		rc = devices_count(st, st->txn, addr, alen, SP_DEVICES_MAX,
		    &ndevs);
		if (rc != 0) {
			s = batch_fail(st, "mdb_cursor_get", rc);
			goto out;
		}
		if (ndevs >= SP_DEVICES_MAX) {
			s = STORE_LIMIT;
			goto out;
		}
	}

	/* Spent or dead: either way the code goes. */
	if ((rc = mdb_del(st->txn, st->dbi[DB_CODES], &k, NULL)) != 0) {
		s = batch_fail(st, "mdb_del", rc);
		goto out;
	}
	if (expires <= now) {
		s = STORE_NOTFOUND;
		goto out;
	}

	if ((s = dev_take(st, dev)) != STORE_OK)
		goto out;
	memcpy(rec, spk, SP_SIGN_PK_LEN);
	memcpy(rec + SP_SIGN_PK_LEN, bpk, SP_BOX_PK_LEN);
	be64enc(rec + SP_SIGN_PK_LEN + SP_BOX_PK_LEN, now);
	k = val(key, devkey(key, addr, alen, *dev));
	v = val(rec, sizeof(rec));
	if ((rc = mdb_put(st->txn, st->dbi[DB_DEVICES], &k, &v, 0)) != 0) {
		*dev = 0;
		s = batch_fail(st, "mdb_put", rc);
	}

out:
	sodium_memzero(h, sizeof(h));
	return s;
}

static int
devrec_dec(struct store *st, const MDB_val *v, uint32_t dev,
    struct store_device *out)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size != DEVREC_LEN) {
		snprintf(st->err, sizeof(st->err), "devices: bad record");
		return STORE_ERR;
	}
	out->dev = dev;
	memcpy(out->spk, p, SP_SIGN_PK_LEN);
	memcpy(out->bpk, p + SP_SIGN_PK_LEN, SP_BOX_PK_LEN);
	out->created = be64dec(p + SP_SIGN_PK_LEN + SP_BOX_PK_LEN);
	return STORE_OK;
}

int
store_device_get(struct store *st, const char *addr, uint32_t dev,
    struct store_device *out)
{
	MDB_txn	*t;
	MDB_val	 k, v;
	uint8_t	 key[DEVKEY_MAX];
	size_t	 alen;
	int	 rc, s;

	if (check_len(st, addr, SP_ADDR_MAX, &alen) == -1)
		return STORE_ERR;
	if ((s = read_begin(st, &t)) != STORE_OK)
		return s;

	k = val(key, devkey(key, addr, alen, dev));
	rc = mdb_get(t, st->dbi[DB_DEVICES], &k, &v);
	if (rc == 0)
		s = devrec_dec(st, &v, dev, out);
	else if (rc == MDB_NOTFOUND)
		s = STORE_NOTFOUND;
	else {
		seterr(st, "mdb_get", rc);
		s = STORE_ERR;
	}
	read_end(st, t);
	return s;
}

int
store_devices_list(struct store *st, const char *addr,
    struct store_device *out, size_t max, size_t *n)
{
	MDB_txn		*t;
	MDB_cursor	*c;
	MDB_val		 k, v;
	uint8_t		 key[DEVKEY_MAX];
	size_t		 alen, klen;
	int		 rc, s = STORE_OK;

	*n = 0;
	if (check_len(st, addr, SP_ADDR_MAX, &alen) == -1)
		return STORE_ERR;
	if ((s = read_begin(st, &t)) != STORE_OK)
		return s;
	if ((rc = mdb_cursor_open(t, st->dbi[DB_DEVICES], &c)) != 0) {
		seterr(st, "mdb_cursor_open", rc);
		read_end(st, t);
		return STORE_ERR;
	}

	klen = devkey(key, addr, alen, 0);
	k = val(key, klen);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && *n < max && s == STORE_OK) {
		if (k.mv_size != klen || memcmp(k.mv_data, key, alen + 1))
			break;
		s = devrec_dec(st, &v, be32dec((uint8_t *)k.mv_data + alen + 1),
		    &out[*n]);
		if (s == STORE_OK)
			(*n)++;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		seterr(st, "mdb_cursor_get", rc);
		s = STORE_ERR;
	}

	mdb_cursor_close(c);
	read_end(st, t);
	return s;
}

int
store_device_remove(struct store *st, const char *addr, uint32_t dev)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	uint8_t		 key[DEVKEY_MAX], prefix[4];
	size_t		 alen;
	int		 rc, s;

	if (check_len(st, addr, SP_ADDR_MAX, &alen) == -1)
		return STORE_ERR;
	if ((s = batch_begin(st)) != STORE_OK)
		return s;

	k = val(key, devkey(key, addr, alen, dev));
	rc = mdb_del(st->txn, st->dbi[DB_DEVICES], &k, NULL);
	if (rc == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	if (rc != 0)
		return batch_fail(st, "mdb_del", rc);

	/* The mailbox goes too.  Its ids stay in "seen" and its expiry
	 * entries find nothing to drop; the sweep clears both. */
	if ((rc = mdb_cursor_open(st->txn, st->dbi[DB_MAILBOX], &c)) != 0)
		return batch_fail(st, "mdb_cursor_open", rc);
	be32enc(prefix, dev);
	for (;;) {
		k = val(prefix, sizeof(prefix));
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc != 0 || k.mv_size < sizeof(prefix) ||
		    memcmp(k.mv_data, prefix, sizeof(prefix)) != 0)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return batch_fail(st, "mdb_cursor_del", rc);
	return STORE_OK;
}

int
store_user_remove(struct store *st, const char *addr)
{
	struct store_device	 devs[SP_DEVICES_MAX];
	MDB_cursor		*c;
	MDB_val			 k, v;
	size_t			 alen, n, i;
	int			 rc, s;

	if (check_len(st, addr, SP_ADDR_MAX, &alen) == -1)
		return STORE_ERR;
	if ((s = store_devices_list(st, addr, devs, SP_DEVICES_MAX, &n)) !=
	    STORE_OK)
		return s;
	if ((s = batch_begin(st)) != STORE_OK)
		return s;

	k = val(addr, alen);
	rc = mdb_del(st->txn, st->dbi[DB_USERS], &k, NULL);
	if (rc == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	if (rc != 0)
		return batch_fail(st, "mdb_del", rc);

	for (i = 0; i < n; i++) {
		s = store_device_remove(st, addr, devs[i].dev);
		if (s != STORE_OK && s != STORE_NOTFOUND)
			return s;
	}

	/* Codes not yet spent would let a device enrol for a user that
	 * is gone.  Codes are few and keyed by hash: walk them. */
	if ((rc = mdb_cursor_open(st->txn, st->dbi[DB_CODES], &c)) != 0)
		return batch_fail(st, "mdb_cursor_open", rc);
	while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
		if (v.mv_size == 8 + alen &&
		    memcmp((uint8_t *)v.mv_data + 8, addr, alen) == 0 &&
		    (rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return batch_fail(st, "mdb_cursor_del", rc);
	return STORE_OK;
}

/* --- envelopes --- */

/*
 * Key of an entry in a queue: be32 dev || be64 seq in the mailbox,
 * peer NUL be64 seq in the outbound queue.  Returns its length; the
 * prefix shared by one queue's entries is that length minus 8.
 */
static size_t
qkey(uint8_t *key, int kind, uint32_t dev, const char *peer, size_t plen,
    uint64_t seq)
{
	size_t n;

	if (kind == QUEUE_MAILBOX) {
		be32enc(key, dev);
		n = 4;
	} else {
		memcpy(key, peer, plen);
		key[plen] = '\0';
		n = plen + 1;
	}
	be64enc(key + n, seq);
	return n + 8;
}

static MDB_dbi
queue_db(struct store *st, int kind)
{
	return st->dbi[kind == QUEUE_MAILBOX ? DB_MAILBOX : DB_OUTBOUND];
}

static int
seq_take(struct store *st, uint64_t *seq)
{
	MDB_val	k = val("seq", 3), v;
	int	rc;

	if (!st->seq_loaded) {
		rc = mdb_get(st->txn, st->dbi[DB_META], &k, &v);
		if (rc == MDB_NOTFOUND)
			st->seq_next = 1;
		else if (rc != 0)
			return batch_fail(st, "mdb_get", rc);
		else if (v.mv_size != 8) {
			snprintf(st->err, sizeof(st->err),
			    "meta: bad sequence counter");
			return batch_abort(st, STORE_ERR);
		} else
			st->seq_next = be64dec(v.mv_data);
		st->seq_loaded = 1;
	}
	*seq = st->seq_next++;
	st->seq_dirty = 1;
	return STORE_OK;
}

static int
queue_put(struct store *st, int kind, uint32_t dev, const char *peer,
    const uint8_t id[SP_ID_LEN], uint64_t exp, const uint8_t *env,
    size_t len, uint64_t *seq)
{
	MDB_txn	*child;
	MDB_val	 k, v;
	uint8_t	 where[1 + QKEY_MAX], ekey[EXPKEY_LEN], b[8];
	size_t	 plen = 0, klen;
	int	 rc, s;

	*seq = 0;
	if (kind == QUEUE_OUTBOUND &&
	    check_len(st, peer, SP_DOMAIN_MAX, &plen) == -1)
		return STORE_ERR;
	if ((s = batch_begin(st)) != STORE_OK)
		return s;
	if ((s = seq_take(st, seq)) != STORE_OK)
		return s;

	/*
	 * One envelope's puts go in a child transaction: when the map is
	 * full only this envelope is refused, and the acks and hand-overs
	 * already in the batch still commit (they free the space).  A
	 * sequence number taken for a refused envelope is simply skipped.
	 */
	if ((rc = mdb_txn_begin(st->env, st->txn, 0, &child)) != 0) {
		*seq = 0;
		return batch_fail(st, "mdb_txn_begin", rc);
	}

	/* The duplicate check and the claim on the id are one put in
	 * the batch, so it sees ids taken earlier in the same batch. */
	be64enc(b, exp);
	k = val(id, SP_ID_LEN);
	v = val(b, sizeof(b));
	rc = mdb_put(child, st->dbi[DB_SEEN], &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		mdb_txn_abort(child);
		*seq = 0;
		return STORE_DUP;
	}
	if (rc != 0)
		goto fail;

	where[0] = kind;
	klen = qkey(where + 1, kind, dev, peer, plen, *seq);
	k = val(where + 1, klen);
	v = val(env, len);
	if ((rc = mdb_put(child, queue_db(st, kind), &k, &v, 0)) != 0)
		goto fail;

	be64enc(ekey, exp);
	memcpy(ekey + 8, id, SP_ID_LEN);
	k = val(ekey, sizeof(ekey));
	v = val(where, 1 + klen);
	if ((rc = mdb_put(child, st->dbi[DB_EXPIRY], &k, &v, 0)) != 0)
		goto fail;
	if ((rc = mdb_txn_commit(child)) != 0) {
		*seq = 0;
		return batch_fail(st, "mdb_txn_commit", rc);
	}
	return STORE_OK;

fail:
	mdb_txn_abort(child);
	*seq = 0;
	if (status_of(rc) == STORE_FULL) {
		seterr(st, "mdb_put", rc);
		return STORE_FULL;
	}
	return batch_fail(st, "mdb_put", rc);
}

static int
queue_del(struct store *st, int kind, uint32_t dev, const char *peer,
    uint64_t seq)
{
	MDB_val	k;
	uint8_t	key[QKEY_MAX];
	size_t	plen = 0;
	int	rc, s;

	if (kind == QUEUE_OUTBOUND &&
	    check_len(st, peer, SP_DOMAIN_MAX, &plen) == -1)
		return STORE_ERR;
	if ((s = batch_begin(st)) != STORE_OK)
		return s;

	k = val(key, qkey(key, kind, dev, peer, plen, seq));
	rc = mdb_del(st->txn, queue_db(st, kind), &k, NULL);
	if (rc == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	if (rc != 0)
		return batch_fail(st, "mdb_del", rc);
	return STORE_OK;
}

/*
 * Walk one queue from seq "from" on, oldest first: call cb for each
 * entry when cb is not NULL, count them in *n.  Stops after max
 * entries or when cb returns non-zero.
 */
static int
queue_walk(struct store *st, int kind, uint32_t dev, const char *peer,
    uint64_t from, size_t max, store_item_cb *cb, void *arg, size_t *n)
{
	MDB_txn		*t;
	MDB_cursor	*c;
	MDB_val		 k, v;
	uint8_t		 key[QKEY_MAX];
	size_t		 plen = 0, klen;
	int		 rc, s;

	*n = 0;
	if (kind == QUEUE_OUTBOUND &&
	    check_len(st, peer, SP_DOMAIN_MAX, &plen) == -1)
		return STORE_ERR;
	if ((s = read_begin(st, &t)) != STORE_OK)
		return s;
	if ((rc = mdb_cursor_open(t, queue_db(st, kind), &c)) != 0) {
		seterr(st, "mdb_cursor_open", rc);
		read_end(st, t);
		return STORE_ERR;
	}

	klen = qkey(key, kind, dev, peer, plen, from);
	k = val(key, klen);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && *n < max) {
		if (k.mv_size != klen || memcmp(k.mv_data, key, klen - 8))
			break;
		(*n)++;
		if (cb != NULL && cb(arg, be64dec((uint8_t *)k.mv_data +
		    klen - 8), v.mv_data, v.mv_size) != 0)
			break;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	s = STORE_OK;
	if (rc != 0 && rc != MDB_NOTFOUND) {
		seterr(st, "mdb_cursor_get", rc);
		s = STORE_ERR;
	}

	mdb_cursor_close(c);
	read_end(st, t);
	return s;
}

int
store_mailbox_put(struct store *st, uint32_t dev,
    const uint8_t id[SP_ID_LEN], uint64_t exp, const uint8_t *env,
    size_t len, uint64_t *seq)
{
	return queue_put(st, QUEUE_MAILBOX, dev, NULL, id, exp, env, len,
	    seq);
}

int
store_outbound_put(struct store *st, const char *peer,
    const uint8_t id[SP_ID_LEN], uint64_t exp, const uint8_t *env,
    size_t len, uint64_t *seq)
{
	return queue_put(st, QUEUE_OUTBOUND, 0, peer, id, exp, env, len,
	    seq);
}

int
store_mailbox_del(struct store *st, uint32_t dev, uint64_t seq)
{
	return queue_del(st, QUEUE_MAILBOX, dev, NULL, seq);
}

int
store_outbound_del(struct store *st, const char *peer, uint64_t seq)
{
	return queue_del(st, QUEUE_OUTBOUND, 0, peer, seq);
}

int
store_mailbox_scan(struct store *st, uint32_t dev, uint64_t after,
    size_t max, store_item_cb *cb, void *arg)
{
	size_t n;

	if (after == UINT64_MAX)
		return STORE_OK;
	return queue_walk(st, QUEUE_MAILBOX, dev, NULL, after + 1, max, cb,
	    arg, &n);
}

int
store_outbound_scan(struct store *st, const char *peer, uint64_t after,
    size_t max, store_item_cb *cb, void *arg)
{
	size_t n;

	if (after == UINT64_MAX)
		return STORE_OK;
	return queue_walk(st, QUEUE_OUTBOUND, 0, peer, after + 1, max, cb,
	    arg, &n);
}

/* Counting walks the queue: O(n) in its length. */
int
store_outbound_count(struct store *st, const char *peer, size_t *n)
{
	return queue_walk(st, QUEUE_OUTBOUND, 0, peer, 0, SIZE_MAX, NULL,
	    NULL, n);
}

int
store_mailbox_count(struct store *st, uint32_t dev, size_t *n)
{
	return queue_walk(st, QUEUE_MAILBOX, dev, NULL, 0, SIZE_MAX, NULL,
	    NULL, n);
}

/*
 * Drop the oldest expiry entry, the queue entry it names (if it is
 * still waiting) and its id in "seen".  *dropped is set to 1 when an
 * undelivered envelope went.
 */
static int
expire_one(struct store *st, const MDB_val *ek, const MDB_val *ev,
    int *dropped)
{
	MDB_val		 k;
	uint8_t		 key[EXPKEY_LEN], where[1 + QKEY_MAX];
	size_t		 wlen = ev->mv_size;
	int		 rc;

	/* Deletes move pages around: copy what we still need first. */
	memcpy(key, ek->mv_data, sizeof(key));
	if (wlen > sizeof(where))
		wlen = 0;
	memcpy(where, ev->mv_data, wlen);

	*dropped = 0;
	if (wlen > 1 &&
	    (where[0] == QUEUE_MAILBOX || where[0] == QUEUE_OUTBOUND)) {
		k = val(where + 1, wlen - 1);
		rc = mdb_del(st->txn, queue_db(st, where[0]), &k, NULL);
		if (rc == 0)
			*dropped = 1;
		else if (rc != MDB_NOTFOUND)
			return rc;
	}

	k = val(key + 8, SP_ID_LEN);
	rc = mdb_del(st->txn, st->dbi[DB_SEEN], &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;

	k = val(key, sizeof(key));
	return mdb_del(st->txn, st->dbi[DB_EXPIRY], &k, NULL);
}

/*
 * Delete expired codes, looking at no more than budget of them, from
 * where the last walk stopped.  Codes live a day or so and there are
 * few of them, so an O(n) walk sharing the sweep's bound is cheap;
 * an index by expiry would cost more on every issue.  Returns a store
 * status; a failure aborts the batch.
 */
static int
expire_codes(struct store *st, uint64_t now, size_t budget, int *more)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	uint8_t		 pos[CODE_HASH_LEN];
	int		 rc, bad = 0;

	if ((rc = mdb_cursor_open(st->txn, st->dbi[DB_CODES], &c)) != 0)
		return batch_fail(st, "mdb_cursor_open", rc);

	if (st->codes_from_set) {
		memcpy(pos, st->codes_from, sizeof(pos));
		k = val(pos, sizeof(pos));
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	} else
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);

	while (rc == 0) {
		if (k.mv_size != CODE_HASH_LEN || v.mv_size < 8) {
			bad = 1;
			break;
		}
		if (budget == 0) {
			memcpy(st->codes_from, k.mv_data, CODE_HASH_LEN);
			st->codes_from_set = 1;
			*more = 1;
			break;
		}
		budget--;

		if (be64dec(v.mv_data) > now) {
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
			continue;
		}

		/* Find the next one again from the deleted key. */
		memcpy(pos, k.mv_data, sizeof(pos));
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
		k = val(pos, sizeof(pos));
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	}
	mdb_cursor_close(c);

	if (bad) {
		snprintf(st->err, sizeof(st->err), "codes: bad record");
		return batch_abort(st, STORE_ERR);
	}

	/* At the end: the next walk starts over. */
	if (rc == MDB_NOTFOUND) {
		st->codes_from_set = 0;
		rc = 0;
	}
	if (rc != 0)
		return batch_fail(st, "store_expire", rc);
	return STORE_OK;
}

int
store_expire(struct store *st, uint64_t now, size_t max, size_t *dropped,
    int *more)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	size_t		 n = 0;
	int		 rc, s, d;

	*dropped = 0;
	*more = 0;
	if ((s = batch_begin(st)) != STORE_OK)
		return s;
	if ((rc = mdb_cursor_open(st->txn, st->dbi[DB_EXPIRY], &c)) != 0)
		return batch_fail(st, "mdb_cursor_open", rc);

	/* Always the first entry: the one before it was just deleted. */
	for (;;) {
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		if (rc != 0)
			break;
		if (k.mv_size != EXPKEY_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (be64dec(k.mv_data) > now)
			break;
		if (n == max) {
			*more = 1;
			break;
		}
		if ((rc = expire_one(st, &k, &v, &d)) != 0)
			break;
		*dropped += d;
		n++;
	}
	mdb_cursor_close(c);

	if (rc != 0 && rc != MDB_NOTFOUND)
		return batch_fail(st, "store_expire", rc);

	return expire_codes(st, now, max - n, more);
}

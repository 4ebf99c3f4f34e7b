/*
 * test_store.c - the durable store on a real LMDB environment in a
 * temporary directory.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"

#define MAP_BIG		(64u << 20)
#define MAP_TINY	(1u << 20)

struct fixture {
	char		 dir[64];
	struct store	*st;
};

/* What a scan saw. */
struct seen {
	uint64_t	seq[256];
	size_t		len[256];
	uint8_t		first[256];
	size_t		n;
	size_t		stop_at;	/* stop after this many, 0 = never */
};

/* One registration's outcome. */
struct done {
	int	calls;
	int	status;
};

static int
collect(void *arg, uint64_t seq, const uint8_t *env, size_t len)
{
	struct seen *s = arg;

	assert_true(s->n < 256);
	s->seq[s->n] = seq;
	s->len[s->n] = len;
	s->first[s->n] = len > 0 ? env[0] : 0;
	s->n++;
	return s->stop_at != 0 && s->n == s->stop_at;
}

static void
done_cb(int status, void *arg)
{
	struct done *d = arg;

	d->calls++;
	d->status = status;
}

static void
wakeup_cb(void *arg)
{
	(*(int *)arg)++;
}

static void
make_id(uint8_t id[SP_ID_LEN], unsigned n)
{
	memset(id, 0xa5, SP_ID_LEN);
	id[0] = n >> 24;
	id[1] = n >> 16;
	id[2] = n >> 8;
	id[3] = n;
}

static void
remove_env(const char *dir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
}

static struct store *
open_store(const char *dir, size_t map)
{
	struct store	*st;
	char		 err[256];

	if (store_open(&st, dir, map, err, sizeof(err)) != STORE_OK)
		fail_msg("store_open: %s", err);
	return st;
}

static int
setup_map(void **state, size_t map)
{
	struct fixture *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sealpost-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	f->st = open_store(f->dir, map);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_map(state, MAP_BIG);
}

static int
setup_tiny(void **state)
{
	return setup_map(state, MAP_TINY);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->st);
	remove_env(f->dir);
	free(f);
	return 0;
}

static void
add_user(struct store *st, const char *addr)
{
	assert_int_equal(store_user_add(st, addr), STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
}

/* Issue a code and enrol a device with keys filled with tag. */
static uint32_t
enrol(struct store *st, const char *addr, uint8_t tag)
{
	char		code[SP_CODE_MAX + 1];
	uint8_t		spk[SP_SIGN_PK_LEN], bpk[SP_BOX_PK_LEN];
	uint32_t	dev;

	memset(spk, tag, sizeof(spk));
	memset(bpk, tag ^ 0xff, sizeof(bpk));
	assert_int_equal(store_code_issue(st, addr, 2000, code), STORE_OK);
	assert_int_equal(store_code_redeem(st, addr, code, 1000, spk, bpk,
	    &dev), STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
	return dev;
}

static void
test_users(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = f->st;

	assert_int_equal(store_user_add(st, "alice@acme.test"), STORE_OK);
	assert_true(store_batch_open(st));

	/* Reads see committed state only; the batch sees its own. */
	assert_int_equal(store_user_exists(st, "alice@acme.test"),
	    STORE_NOTFOUND);
	assert_int_equal(store_user_add(st, "alice@acme.test"), STORE_EXISTS);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_false(store_batch_open(st));

	assert_int_equal(store_user_exists(st, "alice@acme.test"), STORE_OK);
	assert_int_equal(store_user_exists(st, "bob@acme.test"),
	    STORE_NOTFOUND);
	assert_int_equal(store_user_add(st, "alice@acme.test"), STORE_EXISTS);
	assert_int_equal(store_commit(st), STORE_OK);

	assert_int_equal(store_user_add(st, ""), STORE_ERR);
	assert_false(store_batch_open(st));
}

static void
test_code_once(void **state)
{
	struct fixture		*f = *state;
	struct store		*st = f->st;
	struct store_device	 d;
	char			 code[SP_CODE_MAX + 1], lower[SP_CODE_MAX + 1];
	uint8_t			 spk[SP_SIGN_PK_LEN], bpk[SP_BOX_PK_LEN];
	uint32_t		 dev, dev2;
	size_t			 i, j;

	memset(spk, 1, sizeof(spk));
	memset(bpk, 2, sizeof(bpk));
	add_user(st, "alice@acme.test");
	assert_int_equal(store_code_issue(st, "alice@acme.test", 2000, code),
	    STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);

	/* Four groups of five, dashes between. */
	assert_int_equal(strlen(code), 23);
	for (i = 0; i < 23; i++) {
		if (i % 6 == 5)
			assert_int_equal(code[i], '-');
		else
			assert_non_null(strchr(
			    "0123456789ABCDEFGHJKMNPQRSTVWXYZ", code[i]));
	}

	assert_int_equal(store_code_redeem(st, "alice@acme.test", code, 1000,
	    spk, bpk, &dev), STORE_OK);
	assert_int_equal(dev, 1);

	/* Spent within the batch already, and after the commit. */
	assert_int_equal(store_code_redeem(st, "alice@acme.test", code, 1000,
	    spk, bpk, &dev2), STORE_NOTFOUND);
	assert_int_equal(dev2, 0);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(store_code_redeem(st, "alice@acme.test", code, 1000,
	    spk, bpk, &dev2), STORE_NOTFOUND);
	assert_int_equal(store_commit(st), STORE_OK);

	assert_int_equal(store_device_get(st, "alice@acme.test", 1, &d),
	    STORE_OK);
	assert_int_equal(d.dev, 1);
	assert_memory_equal(d.spk, spk, sizeof(spk));
	assert_memory_equal(d.bpk, bpk, sizeof(bpk));
	assert_int_equal(d.created, 1000);
	assert_int_equal(store_device_get(st, "alice@acme.test", 2, &d),
	    STORE_NOTFOUND);

	/* Typed by a person: lower case, no dashes, O for 0, l for 1. */
	assert_int_equal(store_code_issue(st, "alice@acme.test", 2000, code),
	    STORE_OK);
	for (i = j = 0; code[i] != '\0'; i++) {
		if (code[i] == '-')
			continue;
		lower[j] = code[i] == '0' ? 'O' : code[i] == '1' ? 'l' :
		    (code[i] >= 'A' && code[i] <= 'Z') ? code[i] + 32 :
		    code[i];
		j++;
	}
	lower[j] = '\0';
	assert_int_equal(store_code_redeem(st, "alice@acme.test", lower, 1000,
	    spk, bpk, &dev2), STORE_OK);
	assert_int_equal(dev2, 2);
	assert_int_equal(store_commit(st), STORE_OK);

	/* Nothing that is not a code of ours gets near the database. */
	assert_int_equal(store_code_redeem(st, "alice@acme.test", "", 1000,
	    spk, bpk, &dev2), STORE_NOTFOUND);
	assert_int_equal(store_code_redeem(st, "alice@acme.test",
	    "UUUUU-UUUUU-UUUUU-UUUUU", 1000, spk, bpk, &dev2),
	    STORE_NOTFOUND);
	assert_null(strstr(store_strerror(st), code));
}

static void
test_code_expired(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = f->st;
	char		 code[SP_CODE_MAX + 1];
	uint8_t		 spk[SP_SIGN_PK_LEN] = { 0 };
	uint8_t		 bpk[SP_BOX_PK_LEN] = { 0 };
	uint32_t	 dev;

	add_user(st, "alice@acme.test");
	assert_int_equal(store_code_issue(st, "alice@acme.test", 1000, code),
	    STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(store_code_redeem(st, "alice@acme.test", code, 1000,
	    spk, bpk, &dev), STORE_NOTFOUND);
	assert_int_equal(store_commit(st), STORE_OK);

	/* An expired code is gone for good, even at an earlier clock. */
	assert_int_equal(store_code_redeem(st, "alice@acme.test", code, 999,
	    spk, bpk, &dev), STORE_NOTFOUND);

	assert_int_equal(store_code_issue(st, "alice@acme.test", 1000, code),
	    STORE_OK);
	assert_int_equal(store_code_redeem(st, "alice@acme.test", code, 999,
	    spk, bpk, &dev), STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
}

static void
test_code_other_user(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = f->st;
	char		 code[SP_CODE_MAX + 1];
	uint8_t		 spk[SP_SIGN_PK_LEN] = { 0 };
	uint8_t		 bpk[SP_BOX_PK_LEN] = { 0 };
	uint32_t	 dev;

	assert_int_equal(store_code_issue(st, "nobody@acme.test", 2000, code),
	    STORE_NOTFOUND);
	assert_string_equal(code, "");

	add_user(st, "alice@acme.test");
	add_user(st, "bob@acme.test");
	assert_int_equal(store_code_issue(st, "alice@acme.test", 2000, code),
	    STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);

	assert_int_equal(store_code_redeem(st, "bob@acme.test", code, 1000,
	    spk, bpk, &dev), STORE_NOTFOUND);
	assert_int_equal(store_commit(st), STORE_OK);

	/* Bob's attempt did not spend alice's code. */
	assert_int_equal(store_code_redeem(st, "alice@acme.test", code, 1000,
	    spk, bpk, &dev), STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
}

/* What a user scan saw. */
struct users_seen {
	char	addr[8][SP_ADDR_MAX + 1];
	size_t	ndevs[8];
	size_t	n;
	size_t	stop_at;	/* stop after this many, 0 = never */
};

static int
collect_user(void *arg, const char *addr, size_t ndevs)
{
	struct users_seen *u = arg;

	assert_true(u->n < 8);
	snprintf(u->addr[u->n], sizeof(u->addr[u->n]), "%s", addr);
	u->ndevs[u->n] = ndevs;
	u->n++;
	return u->stop_at != 0 && u->n == u->stop_at;
}

static void
test_users_scan(void **state)
{
	struct fixture		*f = *state;
	struct store		*st = f->st;
	struct users_seen	 u = { .n = 0 };

	assert_int_equal(store_users_scan(st, collect_user, &u), STORE_OK);
	assert_int_equal(u.n, 0);

	add_user(st, "bob@acme.test");
	add_user(st, "alice@acme.test");
	add_user(st, "alice@acme.tes");
	enrol(st, "alice@acme.test", 1);
	enrol(st, "alice@acme.tes", 2);
	enrol(st, "alice@acme.test", 3);

	/* Only committed users; the prefix "alice@acme.tes" sorts first
	 * and does not take "alice@acme.test"'s devices. */
	assert_int_equal(store_user_add(st, "aaron@acme.test"), STORE_OK);
	assert_int_equal(store_users_scan(st, collect_user, &u), STORE_OK);
	assert_int_equal(u.n, 3);
	assert_string_equal(u.addr[0], "alice@acme.tes");
	assert_int_equal(u.ndevs[0], 1);
	assert_string_equal(u.addr[1], "alice@acme.test");
	assert_int_equal(u.ndevs[1], 2);
	assert_string_equal(u.addr[2], "bob@acme.test");
	assert_int_equal(u.ndevs[2], 0);
	assert_int_equal(store_commit(st), STORE_OK);

	/* The callback stops the walk. */
	u.n = 0;
	u.stop_at = 2;
	assert_int_equal(store_users_scan(st, collect_user, &u), STORE_OK);
	assert_int_equal(u.n, 2);
	assert_string_equal(u.addr[0], "aaron@acme.test");
	assert_int_equal(u.ndevs[0], 0);
	assert_string_equal(u.addr[1], "alice@acme.tes");
}

static void
test_device_limit(void **state)
{
	struct fixture		*f = *state;
	struct store		*st = f->st;
	struct store_device	 d[SP_DEVICES_MAX + 1];
	char			 a[SP_CODE_MAX + 1], b[SP_CODE_MAX + 1];
	char			 old[SP_CODE_MAX + 1];
	uint8_t			 spk[SP_SIGN_PK_LEN] = { 0 };
	uint8_t			 bpk[SP_BOX_PK_LEN] = { 0 };
	uint32_t		 dev, first;
	size_t			 n;
	int			 i;

	add_user(st, "alice@acme.test");
	first = enrol(st, "alice@acme.test", 0);
	for (i = 1; i < SP_DEVICES_MAX - 1; i++)
		enrol(st, "alice@acme.test", i);
	assert_int_equal(store_code_issue(st, "alice@acme.test", 2000, a),
	    STORE_OK);
	assert_int_equal(store_code_issue(st, "alice@acme.test", 2000, b),
	    STORE_OK);
	assert_int_equal(store_code_issue(st, "alice@acme.test", 1500, old),
	    STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);

	/* The last free place is taken in this batch; the next code
	 * sees it and is refused, unspent, with the batch left open. */
	assert_int_equal(store_code_redeem(st, "alice@acme.test", a, 1000,
	    spk, bpk, &dev), STORE_OK);
	assert_int_equal(store_code_redeem(st, "alice@acme.test", b, 1000,
	    spk, bpk, &dev), STORE_LIMIT);
	assert_int_equal(dev, 0);
	assert_true(store_batch_open(st));
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(store_devices_list(st, "alice@acme.test", d,
	    SP_DEVICES_MAX + 1, &n), STORE_OK);
	assert_int_equal(n, SP_DEVICES_MAX);

	/* Refused again after the commit; an expired code is just gone. */
	assert_int_equal(store_code_redeem(st, "alice@acme.test", b, 1000,
	    spk, bpk, &dev), STORE_LIMIT);
	assert_int_equal(store_code_redeem(st, "alice@acme.test", old, 1600,
	    spk, bpk, &dev), STORE_NOTFOUND);
	assert_int_equal(store_commit(st), STORE_OK);

	/* With a device removed, the refused code still works. */
	assert_int_equal(store_device_remove(st, "alice@acme.test", first),
	    STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(store_code_redeem(st, "alice@acme.test", b, 1000,
	    spk, bpk, &dev), STORE_OK);
	assert_true(dev > 0);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(store_code_redeem(st, "alice@acme.test", old, 1000,
	    spk, bpk, &dev), STORE_NOTFOUND);
	assert_int_equal(store_devices_list(st, "alice@acme.test", d,
	    SP_DEVICES_MAX + 1, &n), STORE_OK);
	assert_int_equal(n, SP_DEVICES_MAX);
}

static void
test_devices(void **state)
{
	struct fixture		*f = *state;
	struct store		*st = f->st;
	struct store_device	 d[8];
	uint8_t			 id[SP_ID_LEN], env[4] = { 1, 2, 3, 4 };
	uint64_t		 seq;
	size_t			 n;
	uint32_t		 a1, a2, a3, b1;

	add_user(st, "alice@acme.test");
	add_user(st, "alice@acme.tes");
	a1 = enrol(st, "alice@acme.test", 0x11);
	b1 = enrol(st, "alice@acme.tes", 0x22);
	a2 = enrol(st, "alice@acme.test", 0x33);
	a3 = enrol(st, "alice@acme.test", 0x44);
	assert_true(a1 < b1 && b1 < a2 && a2 < a3);

	assert_int_equal(store_devices_list(st, "alice@acme.test", d, 8, &n),
	    STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(d[0].dev, a1);
	assert_int_equal(d[1].dev, a2);
	assert_int_equal(d[2].dev, a3);
	assert_int_equal(d[1].spk[0], 0x33);
	assert_int_equal(d[1].bpk[0], 0x33 ^ 0xff);

	assert_int_equal(store_devices_list(st, "alice@acme.test", d, 2, &n),
	    STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_devices_list(st, "alice@acme.tes", d, 8, &n),
	    STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].dev, b1);
	assert_int_equal(store_devices_list(st, "zed@acme.test", d, 8, &n),
	    STORE_OK);
	assert_int_equal(n, 0);

	/* Removing a device takes its mailbox, and only its mailbox. */
	make_id(id, 1);
	assert_int_equal(store_mailbox_put(st, a2, id, 5000, env, 4, &seq),
	    STORE_OK);
	make_id(id, 2);
	assert_int_equal(store_mailbox_put(st, a2, id, 5000, env, 4, &seq),
	    STORE_OK);
	make_id(id, 3);
	assert_int_equal(store_mailbox_put(st, a3, id, 5000, env, 4, &seq),
	    STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);

	assert_int_equal(store_device_remove(st, "alice@acme.test", a2),
	    STORE_OK);
	assert_int_equal(store_device_remove(st, "alice@acme.tes", a3),
	    STORE_NOTFOUND);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(store_device_remove(st, "alice@acme.test", a2),
	    STORE_NOTFOUND);
	assert_int_equal(store_commit(st), STORE_OK);

	assert_int_equal(store_mailbox_count(st, a2, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_mailbox_count(st, a3, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_devices_list(st, "alice@acme.test", d, 8, &n),
	    STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(d[0].dev, a1);
	assert_int_equal(d[1].dev, a3);
}

static void
test_mailbox_commit(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = f->st;
	struct seen	 s = { .n = 0 };
	struct done	 d1 = { 0, 99 }, d2 = { 0, 99 };
	uint8_t		 id[SP_ID_LEN], env[100];
	uint64_t	 seq[3];
	size_t		 n;
	int		 wakeups = 0, i;

	store_set_wakeup(st, wakeup_cb, &wakeups);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(wakeups, 0);

	for (i = 0; i < 3; i++) {
		make_id(id, i);
		memset(env, 'a' + i, sizeof(env));
		assert_int_equal(store_mailbox_put(st, 7, id, 5000, env,
		    10 + i, &seq[i]), STORE_OK);
	}
	assert_int_equal(wakeups, 1);
	assert_int_equal(seq[0], 1);
	assert_true(seq[0] < seq[1] && seq[1] < seq[2]);
	assert_int_equal(store_on_commit(st, &d1, done_cb, &d1), STORE_OK);

	/* Not readable, not acknowledged: nothing is durable yet. */
	assert_int_equal(store_mailbox_scan(st, 7, 0, 10, collect, &s),
	    STORE_OK);
	assert_int_equal(s.n, 0);
	assert_int_equal(d1.calls, 0);

	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(d1.calls, 1);
	assert_int_equal(d1.status, STORE_OK);

	assert_int_equal(store_mailbox_scan(st, 7, 0, 10, collect, &s),
	    STORE_OK);
	assert_int_equal(s.n, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(s.seq[i], seq[i]);
		assert_int_equal(s.len[i], 10 + i);
		assert_int_equal(s.first[i], 'a' + i);
	}
	assert_int_equal(store_mailbox_count(st, 7, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(store_mailbox_count(st, 8, &n), STORE_OK);
	assert_int_equal(n, 0);

	/* after and max bound the scan. */
	s.n = 0;
	assert_int_equal(store_mailbox_scan(st, 7, seq[0], 1, collect, &s),
	    STORE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.seq[0], seq[1]);

	/* A registration between batches runs at the next commit. */
	assert_int_equal(store_on_commit(st, &d2, done_cb, &d2), STORE_OK);
	assert_int_equal(store_mailbox_del(st, 7, seq[1]), STORE_OK);
	assert_int_equal(wakeups, 2);
	assert_int_equal(store_mailbox_del(st, 7, seq[1]), STORE_NOTFOUND);
	assert_int_equal(store_mailbox_del(st, 8, seq[0]), STORE_NOTFOUND);
	assert_int_equal(d2.calls, 0);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(d2.calls, 1);
	assert_int_equal(d2.status, STORE_OK);
	assert_int_equal(d1.calls, 1);

	s.n = 0;
	assert_int_equal(store_mailbox_scan(st, 7, 0, 10, collect, &s),
	    STORE_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.seq[0], seq[0]);
	assert_int_equal(s.seq[1], seq[2]);
}

static void
test_dup(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = f->st;
	uint8_t		 id[SP_ID_LEN], other[SP_ID_LEN], env[8] = { 0 };
	uint64_t	 seq, seq2;
	size_t		 n;

	make_id(id, 42);
	make_id(other, 43);
	assert_int_equal(store_mailbox_put(st, 1, id, 5000, env, 8, &seq),
	    STORE_OK);
	assert_int_equal(store_mailbox_put(st, 1, id, 5000, env, 8, &seq2),
	    STORE_DUP);
	assert_int_equal(seq2, 0);
	assert_int_equal(store_outbound_put(st, "b.test", id, 5000, env, 8,
	    &seq2), STORE_DUP);
	assert_true(store_batch_open(st));
	assert_int_equal(store_commit(st), STORE_OK);

	assert_int_equal(store_mailbox_put(st, 2, id, 5000, env, 8, &seq2),
	    STORE_DUP);
	assert_int_equal(store_outbound_put(st, "b.test", other, 5000, env, 8,
	    &seq2), STORE_OK);
	assert_true(seq2 > seq);
	assert_int_equal(store_commit(st), STORE_OK);

	/* Delivery does not free the id. */
	assert_int_equal(store_mailbox_del(st, 1, seq), STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(store_mailbox_put(st, 1, id, 5000, env, 8, &seq2),
	    STORE_DUP);
	assert_int_equal(store_commit(st), STORE_OK);

	assert_int_equal(store_mailbox_count(st, 1, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_mailbox_count(st, 2, &n), STORE_OK);
	assert_int_equal(n, 0);
}

static void
test_outbound(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = f->st;
	struct seen	 s = { .n = 0 };
	const char	*peers[3] = { "a.test", "b.test", "a.tes" };
	uint8_t		 id[SP_ID_LEN], env[8];
	uint64_t	 seq[30];
	size_t		 n;
	int		 i;

	/* Interleaved: a, b, a.tes, a, b, ... */
	for (i = 0; i < 30; i++) {
		make_id(id, 100 + i);
		memset(env, i, sizeof(env));
		assert_int_equal(store_outbound_put(st, peers[i % 3], id, 5000,
		    env, sizeof(env), &seq[i]), STORE_OK);
		if (i > 0)
			assert_true(seq[i] > seq[i - 1]);
		if (i % 7 == 6)
			assert_int_equal(store_commit(st), STORE_OK);
	}
	assert_int_equal(store_commit(st), STORE_OK);

	for (i = 0; i < 3; i++) {
		assert_int_equal(store_outbound_count(st, peers[i], &n),
		    STORE_OK);
		assert_int_equal(n, 10);
	}
	assert_int_equal(store_outbound_count(st, "c.test", &n), STORE_OK);
	assert_int_equal(n, 0);

	assert_int_equal(store_outbound_scan(st, "b.test", 0, 100, collect,
	    &s), STORE_OK);
	assert_int_equal(s.n, 10);
	for (i = 0; i < 10; i++) {
		assert_int_equal(s.seq[i], seq[3 * i + 1]);
		assert_int_equal(s.first[i], 3 * i + 1);
	}

	/* The callback can stop the walk; after resumes it. */
	s.n = 0;
	s.stop_at = 4;
	assert_int_equal(store_outbound_scan(st, "a.test", 0, 100, collect,
	    &s), STORE_OK);
	assert_int_equal(s.n, 4);
	assert_int_equal(store_outbound_scan(st, "a.test", s.seq[3], 100,
	    collect, &s), STORE_OK);
	assert_int_equal(s.n, 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(s.seq[i], seq[3 * i]);

	/* Deleting in order, as a peer's "accepted" answers arrive. */
	for (i = 0; i < 5; i++)
		assert_int_equal(store_outbound_del(st, "a.test", seq[3 * i]),
		    STORE_OK);
	assert_int_equal(store_outbound_del(st, "b.test", seq[0]),
	    STORE_NOTFOUND);
	assert_int_equal(store_outbound_del(st, "a.tes", seq[0]),
	    STORE_NOTFOUND);
	assert_int_equal(store_commit(st), STORE_OK);

	assert_int_equal(store_outbound_count(st, "a.test", &n), STORE_OK);
	assert_int_equal(n, 5);
	assert_int_equal(store_outbound_count(st, "a.tes", &n), STORE_OK);
	assert_int_equal(n, 10);
	s.n = 0;
	s.stop_at = 0;
	assert_int_equal(store_outbound_scan(st, "a.test", 0, 100, collect,
	    &s), STORE_OK);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.seq[0], seq[15]);
}

static void
test_expire(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = f->st;
	uint8_t		 id1[SP_ID_LEN], id2[SP_ID_LEN], id3[SP_ID_LEN];
	uint8_t		 env[8] = { 0 };
	uint64_t	 s1, s2, s3, seq;
	size_t		 dropped, n;
	int		 more;

	make_id(id1, 1);
	make_id(id2, 2);
	make_id(id3, 3);
	assert_int_equal(store_mailbox_put(st, 5, id1, 100, env, 8, &s1),
	    STORE_OK);
	assert_int_equal(store_mailbox_put(st, 5, id2, 200, env, 8, &s2),
	    STORE_OK);
	assert_int_equal(store_outbound_put(st, "b.test", id3, 300, env, 8,
	    &s3), STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(store_mailbox_del(st, 5, s2), STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);

	assert_int_equal(store_expire(st, 99, 10, &dropped, &more), STORE_OK);
	assert_int_equal(dropped, 0);
	assert_int_equal(more, 0);

	assert_int_equal(store_expire(st, 250, 1, &dropped, &more), STORE_OK);
	assert_int_equal(dropped, 1);
	assert_int_equal(more, 1);
	assert_int_equal(store_expire(st, 250, 10, &dropped, &more),
	    STORE_OK);
	assert_int_equal(dropped, 0);		/* delivered before */
	assert_int_equal(more, 0);
	assert_int_equal(store_commit(st), STORE_OK);

	assert_int_equal(store_mailbox_count(st, 5, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_outbound_count(st, "b.test", &n), STORE_OK);
	assert_int_equal(n, 1);

	/* Expired ids are forgotten; the live one is not. */
	assert_int_equal(store_mailbox_put(st, 5, id1, 1000, env, 8, &seq),
	    STORE_OK);
	assert_true(seq > s3);
	assert_int_equal(store_mailbox_put(st, 5, id2, 1000, env, 8, &seq),
	    STORE_OK);
	assert_int_equal(store_mailbox_put(st, 5, id3, 1000, env, 8, &seq),
	    STORE_DUP);
	assert_int_equal(store_commit(st), STORE_OK);

	assert_int_equal(store_expire(st, 300, 10, &dropped, &more), STORE_OK);
	assert_int_equal(dropped, 1);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(store_outbound_count(st, "b.test", &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_mailbox_count(st, 5, &n), STORE_OK);
	assert_int_equal(n, 2);
}

/* Redeem at a clock before every expiry: OK if the sweep left the code. */
static int
still_there(struct store *st, const char *code)
{
	uint8_t		spk[SP_SIGN_PK_LEN] = { 0 };
	uint8_t		bpk[SP_BOX_PK_LEN] = { 0 };
	uint32_t	dev;
	int		s;

	s = store_code_redeem(st, "alice@acme.test", code, 1, spk, bpk,
	    &dev);
	assert_int_equal(store_commit(st), STORE_OK);
	return s == STORE_OK;
}

static void
test_expire_codes(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = f->st;
	char		 dead[6][SP_CODE_MAX + 1], live[SP_CODE_MAX + 1];
	uint8_t		 id[SP_ID_LEN], env[8] = { 0 };
	uint64_t	 seq;
	size_t		 dropped;
	int		 more, i, calls;

	add_user(st, "alice@acme.test");
	for (i = 0; i < 6; i++)
		assert_int_equal(store_code_issue(st, "alice@acme.test",
		    100 + i, dead[i]), STORE_OK);
	assert_int_equal(store_code_issue(st, "alice@acme.test", 5000, live),
	    STORE_OK);
	make_id(id, 1);
	assert_int_equal(store_mailbox_put(st, 1, id, 100, env, 8, &seq),
	    STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);

	/* Not due yet: the walk looks at all seven and deletes none. */
	assert_int_equal(store_expire(st, 99, 10, &dropped, &more), STORE_OK);
	assert_int_equal(more, 0);

	/* The envelope takes the whole bound: no code is looked at. */
	assert_int_equal(store_expire(st, 200, 1, &dropped, &more), STORE_OK);
	assert_int_equal(dropped, 1);
	assert_int_equal(more, 1);

	/* Then two codes a call, resuming where the last call stopped:
	 * seven codes take four calls, and each dead one goes once. */
	for (calls = 1; calls < 10; calls++) {
		assert_int_equal(store_expire(st, 200, 2, &dropped, &more),
		    STORE_OK);
		assert_int_equal(dropped, 0);
		if (!more)
			break;
	}
	assert_int_equal(calls, 4);
	assert_int_equal(store_commit(st), STORE_OK);

	for (i = 0; i < 6; i++)
		assert_false(still_there(st, dead[i]));
	assert_true(still_there(st, live));

	/* Nothing left: the next sweep starts over and finds nothing. */
	assert_int_equal(store_expire(st, 200, 2, &dropped, &more), STORE_OK);
	assert_int_equal(more, 0);
	assert_int_equal(store_commit(st), STORE_OK);
}

static void
test_map_full(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = f->st;
	struct done	 d[200];
	uint8_t		 id[SP_ID_LEN], env[3000];
	uint64_t	 seqs[2000], seq;
	size_t		 committed = 0, batch_start, n, i, kept = 0;
	unsigned	 next = 0, failed_first;
	int		 b, s = STORE_OK, deleted, wakeups = 0;

	memset(env, 0x5a, sizeof(env));
	memset(d, 0, sizeof(d));
	store_set_wakeup(st, wakeup_cb, &wakeups);

	/* Batches of ten envelopes of one overflow page each. */
	for (b = 0; b < 200 && s == STORE_OK; b++) {
		batch_start = committed;
		assert_int_equal(store_on_commit(st, st, done_cb, &d[b]),
		    STORE_OK);
		for (i = 0, kept = 0; i < 10 && s == STORE_OK; i++) {
			make_id(id, next++);
			s = store_mailbox_put(st, 3, id, 5000, env,
			    sizeof(env), &seqs[batch_start + i]);
			if (s == STORE_OK)
				kept++;
		}
		if (s == STORE_OK && (s = store_commit(st)) == STORE_OK)
			committed += 10;
		if (s != STORE_OK)
			break;
		assert_int_equal(d[b].calls, 1);
		assert_int_equal(d[b].status, STORE_OK);
	}
	assert_int_equal(s, STORE_FULL);
	assert_true(b > 5 && b < 200);
	assert_non_null(strstr(store_strerror(st), "MDB_MAP_FULL"));

	/* Only the envelope that did not fit was refused: the batch is
	 * still open with those before it.  Its commit may yet find no
	 * page to record the free list in; then the whole batch fails,
	 * and its callback says so. */
	assert_true(store_batch_open(st));
	assert_int_equal(d[b].calls, 0);
	s = store_commit(st);
	assert_true(s == STORE_OK || s == STORE_FULL);
	assert_int_equal(d[b].calls, 1);
	assert_int_equal(d[b].status, s);
	assert_false(store_batch_open(st));
	assert_int_equal(wakeups, b + 1);
	if (s == STORE_OK)
		committed += kept;
	failed_first = next - 1;
	print_message("map full after %zu envelopes in %d batches\n",
	    committed, b);

	/* Nothing of the refused envelope was kept. */
	assert_int_equal(store_mailbox_count(st, 3, &n), STORE_OK);
	assert_int_equal(n, committed);

	/* Deletes of ordered keys need few fresh pages, and the pages
	 * they free serve the next batches. */
	for (deleted = 0; deleted < 40; deleted += 5) {
		for (i = 0; i < 5; i++)
			assert_int_equal(store_mailbox_del(st, 3,
			    seqs[deleted + i]), STORE_OK);
		assert_int_equal(store_commit(st), STORE_OK);
	}
	assert_int_equal(wakeups, b + 1 + 8);
	assert_int_equal(store_mailbox_count(st, 3, &n), STORE_OK);
	assert_int_equal(n, committed - 40);

	/* The refused id is free, and there is room. */
	for (i = 0; i < 10; i++) {
		make_id(id, failed_first + i);
		assert_int_equal(store_mailbox_put(st, 3, id, 5000, env,
		    sizeof(env), &seq), STORE_OK);
		assert_true(seq > seqs[committed - 1]);
	}
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(store_mailbox_count(st, 3, &n), STORE_OK);
	assert_int_equal(n, committed - 40 + 10);
}

static void
forget_cb(int status, void *arg)
{
	struct fixture *f = arg;

	/* The owner of the next registration goes away mid-run. */
	store_forget(f->st, f->dir);
}

static void
test_forget(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = f->st;
	struct done	 a = { 0, 99 }, b = { 0, 99 }, c = { 0, 99 };
	uint8_t		 id[SP_ID_LEN], env[8] = { 0 };
	uint64_t	 seq;

	make_id(id, 1);
	assert_int_equal(store_mailbox_put(st, 1, id, 5000, env, 8, &seq),
	    STORE_OK);
	assert_int_equal(store_on_commit(st, &a, done_cb, &a), STORE_OK);
	assert_int_equal(store_on_commit(st, &b, done_cb, &b), STORE_OK);
	assert_int_equal(store_on_commit(st, &a, done_cb, &a), STORE_OK);
	store_forget(st, &a);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 1);

	/* From inside a callback of the same batch. */
	make_id(id, 2);
	assert_int_equal(store_mailbox_put(st, 1, id, 5000, env, 8, &seq),
	    STORE_OK);
	assert_int_equal(store_on_commit(st, &b, forget_cb, f), STORE_OK);
	assert_int_equal(store_on_commit(st, f->dir, done_cb, &c), STORE_OK);
	assert_int_equal(store_on_commit(st, &b, done_cb, &b), STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
	assert_int_equal(c.calls, 0);
	assert_int_equal(b.calls, 2);
}

static void
test_reopen(void **state)
{
	struct fixture	*f = *state;
	struct done	 d = { 0, 99 };
	struct seen	 s = { .n = 0 };
	uint8_t		 id[SP_ID_LEN], env[8] = { 7 };
	uint64_t	 seq1, seq2, seq3;
	size_t		 n;

	add_user(f->st, "alice@acme.test");
	make_id(id, 1);
	assert_int_equal(store_mailbox_put(f->st, 9, id, 5000, env, 8,
	    &seq1), STORE_OK);
	assert_int_equal(store_commit(f->st), STORE_OK);

	/* Closed with a batch open, as if the process died. */
	assert_int_equal(store_user_add(f->st, "bob@acme.test"), STORE_OK);
	make_id(id, 2);
	assert_int_equal(store_mailbox_put(f->st, 9, id, 5000, env, 8,
	    &seq2), STORE_OK);
	assert_int_equal(store_on_commit(f->st, &d, done_cb, &d), STORE_OK);
	store_close(f->st);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.status, STORE_ERR);

	f->st = open_store(f->dir, MAP_BIG);
	assert_int_equal(store_user_exists(f->st, "alice@acme.test"),
	    STORE_OK);
	assert_int_equal(store_user_exists(f->st, "bob@acme.test"),
	    STORE_NOTFOUND);
	assert_int_equal(store_mailbox_scan(f->st, 9, 0, 10, collect, &s),
	    STORE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.seq[0], seq1);
	assert_int_equal(s.first[0], 7);
	assert_int_equal(store_mailbox_count(f->st, 9, &n), STORE_OK);
	assert_int_equal(n, 1);

	/* The uncommitted id is free again, the committed one is not. */
	make_id(id, 1);
	assert_int_equal(store_mailbox_put(f->st, 9, id, 5000, env, 8,
	    &seq3), STORE_DUP);
	make_id(id, 2);
	assert_int_equal(store_mailbox_put(f->st, 9, id, 5000, env, 8,
	    &seq3), STORE_OK);
	assert_true(seq3 > seq1);
	assert_int_equal(store_commit(f->st), STORE_OK);
}

/*
 * The operator's "user add" in its own process, as it runs beside the
 * relay: a separate environment handle, its own batches.  LMDB must
 * not see one environment opened twice in one process, hence fork.
 */
static int
operator_child(const char *dir, int fd)
{
	struct store	*st;
	char		 err[256], code[SP_CODE_MAX + 1];
	uint8_t		 id[SP_ID_LEN], env[8] = { 0 };
	uint64_t	 seq;

	if (store_open(&st, dir, MAP_BIG, err, sizeof(err)) != STORE_OK)
		return 10;
	if (store_user_exists(st, "alice@acme.test") != STORE_OK)
		return 11;
	if (store_user_add(st, "alice@acme.test") != STORE_EXISTS)
		return 12;
	if (store_user_add(st, "carol@acme.test") != STORE_OK ||
	    store_code_issue(st, "carol@acme.test", 2000, code) != STORE_OK)
		return 13;
	make_id(id, 77);
	if (store_mailbox_put(st, 1, id, 5000, env, 8, &seq) != STORE_OK)
		return 14;
	if (store_commit(st) != STORE_OK)
		return 15;
	store_close(st);

	if (write(fd, &seq, sizeof(seq)) != sizeof(seq) ||
	    write(fd, code, sizeof(code)) != sizeof(code))
		return 16;
	return 0;
}

static void
test_second_process(void **state)
{
	struct fixture	*f = *state;
	struct store	*st = f->st;
	char		 code[SP_CODE_MAX + 1];
	uint8_t		 id[SP_ID_LEN], env[8] = { 0 };
	uint8_t		 spk[SP_SIGN_PK_LEN] = { 0 };
	uint8_t		 bpk[SP_BOX_PK_LEN] = { 0 };
	uint64_t	 seq, child_seq;
	uint32_t	 dev, adev;
	pid_t		 pid;
	int		 fds[2], status;

	add_user(st, "alice@acme.test");
	adev = enrol(st, "alice@acme.test", 1);
	make_id(id, 76);
	assert_int_equal(store_mailbox_put(st, adev, id, 5000, env, 8, &seq),
	    STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);

	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		_exit(operator_child(f->dir, fds[1]));
	}
	assert_true(pid > 0);
	close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(read(fds[0], &child_seq, sizeof(child_seq)),
	    sizeof(child_seq));
	assert_int_equal(read(fds[0], code, sizeof(code)), sizeof(code));
	close(fds[0]);

	/* Both handles share the counters. */
	assert_true(child_seq > seq);
	assert_int_equal(store_user_exists(st, "carol@acme.test"), STORE_OK);
	assert_int_equal(store_code_redeem(st, "carol@acme.test", code, 1000,
	    spk, bpk, &dev), STORE_OK);
	assert_true(dev > adev);
	make_id(id, 78);
	assert_int_equal(store_mailbox_put(st, dev, id, 5000, env, 8, &seq),
	    STORE_OK);
	assert_true(seq > child_seq);
	make_id(id, 77);
	assert_int_equal(store_mailbox_put(st, dev, id, 5000, env, 8, &seq),
	    STORE_DUP);
	assert_int_equal(store_commit(st), STORE_OK);
}

static void
test_open_errors(void **state)
{
	struct store	*st = (struct store *)1;
	char		 err[256];

	assert_int_equal(store_open(&st, "/nonexistent/sealpost", MAP_BIG,
	    err, sizeof(err)), STORE_ERR);
	assert_null(st);
	assert_non_null(strstr(err, "/nonexistent/sealpost"));
	assert_non_null(strstr(err, "mdb_env_open"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_code_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_code_expired, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_code_other_user, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_users_scan, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_device_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_commit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire_codes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_map_full, setup_tiny,
		    teardown),
		cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_process, setup,
		    teardown),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * identity.h - the device's identity file.
 *
 * A libconfig file, mode 0600, holding everything the client needs to
 * reach its relay and prove who it is:
 *
 *   address = "alice@acme.test";
 *   dev = 1;
 *   relay = { host = "127.0.0.1"; port = 7400; ca = "/path/ca.crt"; };
 *   keys = { sign_public = "hex"; sign_secret = "hex";
 *            box_public = "hex"; box_secret = "hex"; };
 *
 * The secret keys never leave this file and the process that read it;
 * identity_wipe clears them from memory.
 */
#ifndef SEALPOST_IDENTITY_H
#define SEALPOST_IDENTITY_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

#define IDENTITY_HOST_MAX	255

struct identity {
	struct sp_identity	 keys;		/* address, dev, key pairs */
	char			 host[IDENTITY_HOST_MAX + 1];
	uint16_t		 port;
	char			 ca[PATH_MAX];	/* absolute path */
	char			 path[PATH_MAX];	/* the file itself,
						 * set by identity_load */
};

/*
 * Choose the identity file: opt when not NULL, else $SEALPOST_IDENTITY,
 * else ~/.sealpost/identity (*is_default is then set).  Returns 0, or
 * -1 with a reason in err when no path can be formed.
 */
int identity_path(char *out, size_t outlen, const char *opt,
    int *is_default, char *err, size_t errlen);

/*
 * Read and check the identity at path.  Refuses a file that group or
 * others may access, and any missing, malformed or inconsistent key
 * (the public keys must derive from the secret ones).  Returns 0, or -1
 * with a reason in err (for a missing file, a hint to enrol first); id
 * holds no secret after a failure.
 */
int identity_load(struct identity *id, const char *path, char *err,
    size_t errlen);

/*
 * Create path exclusively with mode 0600, so that an existing identity
 * is never overwritten and the name is reserved before enrolling.  With
 * mkparent set the parent directory is created (mode 0700) when
 * missing.  Returns the open descriptor, or -1 with a reason in err.
 */
int identity_create(const char *path, int mkparent, char *err,
    size_t errlen);

/*
 * Write id into fd (from identity_create), sync and close it.
 * Returns 0, or -1 with a reason in err (fd is closed either way).
 */
int identity_write(int fd, const struct identity *id, char *err,
    size_t errlen);

/* Clear every secret (and everything else) in id. */
void identity_wipe(struct identity *id);

#endif /* SEALPOST_IDENTITY_H */

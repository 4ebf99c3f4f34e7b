/*
 * identity.c - read and write the device's identity file.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>
#include <sodium.h>

#include "address.h"
#include "identity.h"

/* stdio buffer for the file: ours, so the hex secrets that pass through
 * it can be wiped after fclose. */
#define IDENTITY_IOBUF	8192

static const char *secret_paths[] = { "keys.sign_secret", "keys.box_secret" };

static void
wipe_config_secrets(config_t *cfg)
{
	const char	*s;
	size_t		 i;

	/*
	 * libconfig keeps its own copy of every string and frees it
	 * without clearing; wipe the secret ones in place first.
	 */
	for (i = 0; i < sizeof(secret_paths) / sizeof(secret_paths[0]); i++)
		if (config_lookup_string(cfg, secret_paths[i], &s) ==
		    CONFIG_TRUE)
			sodium_memzero((char *)s, strlen(s));
}

int
identity_path(char *out, size_t outlen, const char *opt, int *is_default,
    char *err, size_t errlen)
{
	const char	*home, *env;
	struct passwd	*pw;
	int		 n;

	*is_default = 0;
	if (opt == NULL && (env = getenv("SEALPOST_IDENTITY")) != NULL &&
	    *env != '\0')
		opt = env;
	if (opt != NULL) {
		if (strlen(opt) >= outlen) {
			snprintf(err, errlen, "identity path too long");
			return -1;
		}
		strcpy(out, opt);
		return 0;
	}

	if ((home = getenv("HOME")) == NULL || *home == '\0') {
		if ((pw = getpwuid(getuid())) == NULL) {
			snprintf(err, errlen, "no home directory; use -i");
			return -1;
		}
		home = pw->pw_dir;
	}
	n = snprintf(out, outlen, "%s/.sealpost/identity", home);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "identity path too long");
		return -1;
	}
	*is_default = 1;
	return 0;
}

static int
read_hex(const config_t *cfg, const char *path, uint8_t *out, size_t len,
    char *err, size_t errlen)
{
	const char	*s;
	size_t		 n;

	if (config_lookup_string(cfg, path, &s) != CONFIG_TRUE) {
		snprintf(err, errlen, "%s missing", path);
		return -1;
	}
	if (strlen(s) != len * 2 ||
	    sodium_hex2bin(out, len, s, len * 2, NULL, &n, NULL) != 0 ||
	    n != len) {
		snprintf(err, errlen, "%s is not %zu hex bytes", path, len);
		return -1;
	}
	return 0;
}

static int
read_string(const config_t *cfg, const char *path, char *out, size_t outlen,
    char *err, size_t errlen)
{
	const char	*s;

	if (config_lookup_string(cfg, path, &s) != CONFIG_TRUE) {
		snprintf(err, errlen, "%s missing", path);
		return -1;
	}
	if (*s == '\0' || strlen(s) >= outlen) {
		snprintf(err, errlen, "%s empty or too long", path);
		return -1;
	}
	strcpy(out, s);
	return 0;
}

static int
check_keys(const struct identity *id, char *err, size_t errlen)
{
	uint8_t	 pk[crypto_sign_PUBLICKEYBYTES];
	int	 bad;

	/* A hand-edited or truncated file must not half-work. */
	crypto_sign_ed25519_sk_to_pk(pk, id->keys.ssk);
	bad = sodium_memcmp(pk, id->keys.spk, sizeof(pk)) != 0;
	if (crypto_scalarmult_base(pk, id->keys.bsk) != 0 ||
	    sodium_memcmp(pk, id->keys.bpk, sizeof(pk)) != 0)
		bad = 1;
	if (bad)
		snprintf(err, errlen, "public keys do not match secret keys");
	return bad ? -1 : 0;
}

static int
identity_parse(struct identity *id, const config_t *cfg, char *err,
    size_t errlen)
{
	long long	 dev;
	int		 port;

	if (read_string(cfg, "address", id->keys.addr,
	    sizeof(id->keys.addr), err, errlen) == -1)
		return -1;
	if (!sp_addr_is_canonical(id->keys.addr)) {
		snprintf(err, errlen, "address is not canonical");
		return -1;
	}
	if (config_lookup_int64(cfg, "dev", &dev) != CONFIG_TRUE ||
	    dev < 1 || dev > UINT32_MAX) {
		snprintf(err, errlen, "dev missing or out of range");
		return -1;
	}
	id->keys.dev = (uint32_t)dev;

	if (read_string(cfg, "relay.host", id->host, sizeof(id->host), err,
	    errlen) == -1 ||
	    read_string(cfg, "relay.ca", id->ca, sizeof(id->ca), err,
	    errlen) == -1)
		return -1;
	if (config_lookup_int(cfg, "relay.port", &port) != CONFIG_TRUE ||
	    port < 1 || port > 65535) {
		snprintf(err, errlen, "relay.port missing or out of range");
		return -1;
	}
	id->port = (uint16_t)port;

	if (read_hex(cfg, "keys.sign_public", id->keys.spk,
	    sizeof(id->keys.spk), err, errlen) == -1 ||
	    read_hex(cfg, "keys.sign_secret", id->keys.ssk,
	    sizeof(id->keys.ssk), err, errlen) == -1 ||
	    read_hex(cfg, "keys.box_public", id->keys.bpk,
	    sizeof(id->keys.bpk), err, errlen) == -1 ||
	    read_hex(cfg, "keys.box_secret", id->keys.bsk,
	    sizeof(id->keys.bsk), err, errlen) == -1)
		return -1;
	return check_keys(id, err, errlen);
}

int
identity_load(struct identity *id, const char *path, char *err,
    size_t errlen)
{
	char		 iobuf[IDENTITY_IOBUF];
	char		 why[256];
	config_t	 cfg;
	struct stat	 st;
	FILE		*fp;
	int		 fd, rc = -1;

	memset(id, 0, sizeof(*id));
	if (strlen(path) >= sizeof(id->path)) {
		snprintf(err, errlen, "identity path too long");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s: no identity file; run "
			    "'sealpost enrol' first (or choose one with -i)",
			    path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s: group or others may access it "
		    "(chmod 600 it)", path);
		close(fd);
		return -1;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));

	config_init(&cfg);
	if (config_read(&cfg, fp) != CONFIG_TRUE) {
		snprintf(err, errlen, "%s:%d: %s", path,
		    config_error_line(&cfg), config_error_text(&cfg));
		goto done;
	}
	if (identity_parse(id, &cfg, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto done;
	}
	strcpy(id->path, path);
	rc = 0;

done:
	wipe_config_secrets(&cfg);
	config_destroy(&cfg);
	fclose(fp);
	sodium_memzero(iobuf, sizeof(iobuf));
	if (rc == -1)
		identity_wipe(id);
	return rc;
}

int
identity_create(const char *path, int mkparent, char *err, size_t errlen)
{
	char	 dir[PATH_MAX];
	int	 fd;

	if (mkparent) {
		if (strlen(path) >= sizeof(dir)) {
			snprintf(err, errlen, "%s: path too long", path);
			return -1;
		}
		strcpy(dir, path);
		if (mkdir(dirname(dir), 0700) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			return -1;
		}
	}

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		if (errno == EEXIST)
			snprintf(err, errlen, "%s exists; refusing to "
			    "overwrite an identity", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return fd;
}

static int
add_string(config_setting_t *parent, const char *name, const char *value)
{
	config_setting_t	*s;

	if ((s = config_setting_add(parent, name, CONFIG_TYPE_STRING)) == NULL)
		return -1;
	return config_setting_set_string(s, value) == CONFIG_TRUE ? 0 : -1;
}

static int
add_hex(config_setting_t *parent, const char *name, const uint8_t *p,
    size_t len)
{
	char	 hex[SP_SIGN_SK_LEN * 2 + 1];
	int	 rc;

	sodium_bin2hex(hex, sizeof(hex), p, len);
	rc = add_string(parent, name, hex);
	sodium_memzero(hex, sizeof(hex));
	return rc;
}

static int
identity_build(config_t *cfg, const struct identity *id)
{
	config_setting_t	*root, *s, *relay, *keys;

	root = config_root_setting(cfg);
	if (add_string(root, "address", id->keys.addr) == -1)
		return -1;
	/* A plain int reads better; libconfig's int is 32-bit signed. */
	if (id->keys.dev <= INT_MAX) {
		if ((s = config_setting_add(root, "dev",
		    CONFIG_TYPE_INT)) == NULL ||
		    config_setting_set_int(s, (int)id->keys.dev) != CONFIG_TRUE)
			return -1;
	} else if ((s = config_setting_add(root, "dev",
	    CONFIG_TYPE_INT64)) == NULL ||
	    config_setting_set_int64(s, id->keys.dev) != CONFIG_TRUE)
		return -1;

	if ((relay = config_setting_add(root, "relay",
	    CONFIG_TYPE_GROUP)) == NULL ||
	    add_string(relay, "host", id->host) == -1 ||
	    (s = config_setting_add(relay, "port", CONFIG_TYPE_INT)) == NULL ||
	    config_setting_set_int(s, id->port) != CONFIG_TRUE ||
	    add_string(relay, "ca", id->ca) == -1)
		return -1;

	if ((keys = config_setting_add(root, "keys",
	    CONFIG_TYPE_GROUP)) == NULL ||
	    add_hex(keys, "sign_public", id->keys.spk,
	    sizeof(id->keys.spk)) == -1 ||
	    add_hex(keys, "sign_secret", id->keys.ssk,
	    sizeof(id->keys.ssk)) == -1 ||
	    add_hex(keys, "box_public", id->keys.bpk,
	    sizeof(id->keys.bpk)) == -1 ||
	    add_hex(keys, "box_secret", id->keys.bsk,
	    sizeof(id->keys.bsk)) == -1)
		return -1;
	return 0;
}

int
identity_write(int fd, const struct identity *id, char *err, size_t errlen)
{
	char		 iobuf[IDENTITY_IOBUF];
	config_t	 cfg;
	FILE		*fp;
	int		 rc = -1;

	if ((fp = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));

	config_init(&cfg);
	if (identity_build(&cfg, id) == -1) {
		snprintf(err, errlen, "cannot build the identity");
		goto done;
	}
	config_write(&cfg, fp);
	if (fflush(fp) == EOF || ferror(fp) || fsync(fd) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto done;
	}
	rc = 0;

done:
	wipe_config_secrets(&cfg);
	config_destroy(&cfg);
	if (fclose(fp) == EOF && rc == 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		rc = -1;
	}
	sodium_memzero(iobuf, sizeof(iobuf));
	return rc;
}

void
identity_wipe(struct identity *id)
{
	sodium_memzero(id, sizeof(*id));
}

/*
 * log.c - levelled log lines on stderr.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <sodium.h>

#include "log.h"

/* Longest line written, newline included; longer ones end in "...". */
#define LOG_LINE_MAX	2048

int log_verbosity = LOG_LEVEL_INFO;

static const char *const log_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

static void	log_libevent(int, const char *);

void
log_init(enum log_level level)
{
	log_verbosity = level;
	event_set_log_callback(log_libevent);
}

int
log_level_parse(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(name, log_names[i]) == 0)
			return (int)i;
	return -1;
}

void
log_emit(enum log_level level, const char *subsys, const char *fmt, ...)
{
	char	 line[LOG_LINE_MAX];
	va_list	 ap;
	size_t	 len, i, room;
	ssize_t	 w;
	int	 n, saved_errno = errno;

	if ((int)level > log_verbosity)
		return;
	if ((int)level < LOG_LEVEL_ERROR)
		level = LOG_LEVEL_ERROR;

	/* One byte always stays free for the newline. */
	room = sizeof(line) - 1;
	n = snprintf(line, room, "%s: %s: ", log_names[level], subsys);
	len = n < 0 ? 0 : (size_t)n >= room ? room - 1 : (size_t)n;

	va_start(ap, fmt);
	n = vsnprintf(line + len, room - len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n >= room - len) {
		len = room - 1;
		memcpy(line + len - 3, "...", 3);
	} else if (n > 0)
		len += (size_t)n;

	/* A line break inside a message would forge a second line. */
	for (i = 0; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[len++] = '\n';

	/* One write, so lines from concurrent writers never interleave. */
	do
		w = write(STDERR_FILENO, line, len);
	while (w == -1 && errno == EINTR);

	errno = saved_errno;
}

/* libevent's own diagnostics, with its severities mapped onto ours. */
static void
log_libevent(int severity, const char *msg)
{
	enum log_level	level;

	switch (severity) {
	case EVENT_LOG_DEBUG:
		level = LOG_LEVEL_DEBUG;
		break;
	case EVENT_LOG_MSG:
		level = LOG_LEVEL_INFO;
		break;
	case EVENT_LOG_WARN:
		level = LOG_LEVEL_WARN;
		break;
	default:
		level = LOG_LEVEL_ERROR;
		break;
	}
	log_at(level, "libevent", "%s", msg);
}

void
log_ssl_errors(const char *subsys, const char *what)
{
	char		 reason[256], extra[256];
	const char	*data;
	unsigned long	 e;
	int		 flags, any = 0;

	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		any = 1;
		ERR_error_string_n(e, reason, sizeof(reason));

		/* The extra text can quote a peer's certificate. */
		if (data != NULL && (flags & ERR_TXT_STRING) && *data != '\0') {
			log_escape(extra, sizeof(extra), data, strlen(data));
			log_warn(subsys, "%s: %s (%s)", what, reason, extra);
		} else
			log_warn(subsys, "%s: %s", what, reason);
	}

	if (!any)
		log_warn(subsys, "%s: no detail from OpenSSL", what);
}

/* How many characters byte c takes once escaped. */
static size_t
log_escaped_len(unsigned char c)
{
	if (c == '\\')
		return 2;
	if (c < 0x20 || c > 0x7e)
		return 4;
	return 1;
}

const char *
log_escape(char *out, size_t outlen, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, j, o = 0, need, rest, cap, keep;

	if (outlen == 0)
		return out;
	cap = outlen - 1;		/* room for characters, NUL aside */
	keep = cap > 3 ? cap - 3 : 0;	/* and with "..." reserved */

	for (i = 0; i < len; i++) {
		need = log_escaped_len(p[i]);
		if (o + need > keep) {
			/* Does everything left fit without the "..."? */
			rest = 0;
			for (j = i; j < len && o + rest <= cap; j++)
				rest += log_escaped_len(p[j]);
			if (o + rest > cap) {
				for (j = 0; j < 3 && o < cap; j++)
					out[o++] = '.';
				break;
			}
		}

		if (need == 1)
			out[o++] = (char)p[i];
		else if (need == 2) {
			out[o++] = '\\';
			out[o++] = '\\';
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[p[i] >> 4];
			out[o++] = hex[p[i] & 0xf];
		}
	}
	out[o] = '\0';
	return out;
}

const char *
log_hex(char *out, const unsigned char *p, size_t n)
{
	return sodium_bin2hex(out, 2 * n + 1, p, n);
}

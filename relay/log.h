/*
 * log.h - levelled, structured log lines for the relay.
 *
 * Every line reads "level: subsystem: message", e.g.
 *   warn: fedout: partner.test: connect failed: Connection refused
 * and a hand-over is one line of key=value pairs.  The level is checked
 * before anything is formatted.  Lines go to stderr (one write(2) per
 * line, so a supervisor such as systemd can timestamp them).
 * Never pass a payload, a key or an enrolment code to these functions;
 * text that came from a peer goes through log_escape first.
 */
#ifndef SEALPOST_LOG_H
#define SEALPOST_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

extern int log_verbosity;	/* enum log_level; lines above it are dropped */

/* Set the level, and route libevent's own messages into the log
 * under subsystem "libevent".  May be called again to change level. */
void log_init(enum log_level level);

/* "error", "warn", "info", "debug" -> level; -1 if unknown. */
int log_level_parse(const char *name);

/* Write one line (use the macros below, which skip the formatting of
 * filtered lines).  A line over 2 KiB is cut and ends in "..."; a CR or
 * LF inside becomes a space.  errno is preserved. */
void log_emit(enum log_level level, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_at(lvl, subsys, ...) do {					\
	if ((int)(lvl) <= log_verbosity)				\
		log_emit((lvl), (subsys), __VA_ARGS__);			\
} while (0)
#define log_error(subsys, ...)	log_at(LOG_LEVEL_ERROR, subsys, __VA_ARGS__)
#define log_warn(subsys, ...)	log_at(LOG_LEVEL_WARN, subsys, __VA_ARGS__)
#define log_info(subsys, ...)	log_at(LOG_LEVEL_INFO, subsys, __VA_ARGS__)
#define log_debug(subsys, ...)	log_at(LOG_LEVEL_DEBUG, subsys, __VA_ARGS__)

/* Log every entry of OpenSSL's error queue for this thread at level
 * warn under subsys, prefixed by what, and clear the queue; with the
 * queue empty, one line still says that what failed. */
void log_ssl_errors(const char *subsys, const char *what);

/*
 * Copy the len bytes of untrusted text at s into out (outlen bytes,
 * always NUL-terminated when outlen > 0), replacing every byte outside
 * printable ASCII (NUL included) by \xHH and a backslash by two, so
 * the result is unambiguous.  When it does not fit, it is cut at a
 * character boundary and ends in "...".  Returns out.
 */
const char *log_escape(char *out, size_t outlen, const char *s, size_t len);

/* Lower-case hex of n bytes into out (2n+1 bytes). Returns out. */
const char *log_hex(char *out, const unsigned char *p, size_t n);

#endif /* SEALPOST_LOG_H */

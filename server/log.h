/*
 * log.h -- leveled log lines on stderr.
 *
 * Each line: "2026-11-28T06:30:00.123Z LEVEL [context] message". The context
 * is a request id or a subsystem name ("db:writer"), so an operator can
 * follow one request or one connection through the log.
 */
#ifndef COMPSTAT_LOG_H
#define COMPSTAT_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Lines above this level are dropped. Default LOG_INFO. */
void log_set_level(enum log_level level);
/* "error", "warn", "info", "debug" -> level; -1 when unknown. */
int log_level_parse(const char *name);

#if defined(__GNUC__)
#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LOG_PRINTF(a, b)
#endif

void log_msg(enum log_level level, const char *context, const char *fmt, ...)
    LOG_PRINTF(3, 4);

#define log_error(ctx, ...) log_msg(LOG_ERROR, ctx, __VA_ARGS__)
#define log_warn(ctx, ...) log_msg(LOG_WARN, ctx, __VA_ARGS__)
#define log_info(ctx, ...) log_msg(LOG_INFO, ctx, __VA_ARGS__)
#define log_debug(ctx, ...) log_msg(LOG_DEBUG, ctx, __VA_ARGS__)

#endif

/* Time is UTC seconds since the epoch; text is ISO 8601 ("2026-11-23T10:00:00Z"). */
#ifndef P25_TIME_H
#define P25_TIME_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t p25_time;

#define P25_TIME_STRLEN 24
#define P25_HOUR	3600
#define P25_DAY		86400

/* Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM", "YYYY-MM-DDTHH:MM:SS", each with optional "Z". */
int p25_time_parse(const char *text, p25_time *out, char *err, size_t errlen);
char *p25_time_format(p25_time t, char *buf, size_t buflen);
/* "90s", "30m", "48h", "14d", "2w": a positive whole number and a unit. */
int p25_duration_parse(const char *text, int64_t *seconds, char *err, size_t errlen);
/*
 * An expiry given on the command line: an ISO date or time, or a duration
 * counted from now ("30d").  A bare date means the end of that day in UTC.
 */
int p25_expiry_parse(const char *text, p25_time now, p25_time *out, char *err, size_t errlen);
p25_time p25_time_now(void);
/* Days from 1970-01-01 to y-m-d (m 1..12) in the proleptic Gregorian calendar. */
int64_t p25_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif

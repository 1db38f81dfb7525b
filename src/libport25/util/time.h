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
 * counted from now ("30d").  A bare date means the end of that day where the
 * operator is: in the local zone (p25_time_set_local_zone), UTC by default.
 * A time is UTC.
 */
int p25_expiry_parse(const char *text, p25_time now, p25_time *out, char *err, size_t errlen);
/*
 * The operator's zone for bare dates (util/tz.h), set once by a front end
 * from its configuration before it reads any input; NULL: UTC.  Stays the
 * caller's.
 */
struct p25_tz;
void p25_time_set_local_zone(const struct p25_tz *tz);
const struct p25_tz *p25_time_local_zone(void);
/* Whether text is a bare date ("2026-12-31"), read in the local zone by the parsers below. */
int p25_time_is_date(const char *text);
/*
 * A moment to act at (a scheduled activation): an ISO date or time, or a
 * duration counted from now ("2d").  A bare date means the start of that day
 * in the local zone.
 */
int p25_when_parse(const char *text, p25_time now, p25_time *out, char *err, size_t errlen);
/*
 * A moment in the past to list from: an ISO date or time (a bare date: its
 * start in the local zone), or a duration back from now ("7d").
 */
int p25_since_parse(const char *text, p25_time now, p25_time *out, char *err, size_t errlen);
p25_time p25_time_now(void);
/* Days from 1970-01-01 to y-m-d (m 1..12) in the proleptic Gregorian calendar. */
int64_t p25_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif

/*
 * The operator's time zone, for dates typed without a time: "--expires
 * 2026-12-31" is the end of that day where the operator is (Colorado's
 * 5 pm UTC is not it), said back in UTC.  A zone is a name from the system's
 * time zone database (America/Denver: /usr/share/zoneinfo, or $TZDIR) or a
 * POSIX TZ rule (MST7MDT,M3.2.0,M11.1.0); "UTC" or nothing is UTC.
 */
#ifndef P25_TZ_H
#define P25_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "util/time.h"

struct p25_tz;

/* 0, or -1 with err naming the zone and what is wrong. */
int p25_tz_load(const char *spec, struct p25_tz **out, char *err, size_t errlen);
void p25_tz_free(struct p25_tz *tz);
/* As configured ("America/Denver"); NULL: "UTC". */
const char *p25_tz_name(const struct p25_tz *tz);
/* Seconds east of UTC at instant t (NULL: 0). */
int32_t p25_tz_offset(const struct p25_tz *tz, p25_time t);
/* The instant of a wall-clock time (seconds since the epoch as if local were UTC). */
p25_time p25_tz_local_to_utc(const struct p25_tz *tz, int64_t local);
/*
 * The zone named by `timezone` in the configuration file at conf_path
 * (*out NULL: none, UTC).  0, or -1 with err (an unreadable file, a bad zone).
 */
int p25_tz_from_conf(const char *conf_path, struct p25_tz **out, char *err, size_t errlen);

#endif

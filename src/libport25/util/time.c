#include "util/time.h"
#include "util/tz.h"

/* The operator's zone for bare dates: set once by a front end, before it reads input. */
static const struct p25_tz *local_zone;

#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

static int days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

/* Howard Hinnant's days_from_civil: whole eras of 400 years, then the day of the era. */
int64_t p25_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int p25_time_parse(const char *text, p25_time *out, char *err, size_t errlen)
{
	int y, mo, d, h = 0, mi = 0, s = 0, n = 0;
	size_t len;

	if (!text || !*text) {
		snprintf(err, errlen, "empty time");
		return -1;
	}
	len = strlen(text);
	if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		goto bad;
	if ((size_t)n < len) {
		const char *t = text + n;
		int m = 0;
		if (*t != 'T' && *t != ' ')
			goto zone;
		t++;
		if (sscanf(t, "%2d:%2d%n", &h, &mi, &m) != 2 || m != 5)
			goto bad;
		t += m;
		if (*t == ':') {
			if (sscanf(t, ":%2d%n", &s, &m) != 1 || m != 3)
				goto bad;
			t += m;
		}
		n = (int)(t - text);
	}
zone:
	if ((size_t)n < len && strcmp(text + n, "Z") != 0 && strcmp(text + n, "+00:00") != 0)
		goto bad;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || s > 59 || h < 0 || mi < 0 || s < 0) {
		snprintf(err, errlen, "'%s': no such date or time", text);
		return -1;
	}
	*out = p25_days_from_civil(y, (unsigned)mo, (unsigned)d) * P25_DAY + h * 3600 + mi * 60 + s;
	return 0;
bad:
	snprintf(err, errlen, "'%s': expected an ISO 8601 UTC time like 2026-11-23 or 2026-11-23T10:00:00Z",
		 text);
	return -1;
}

char *p25_time_format(p25_time t, char *buf, size_t buflen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, buflen, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, buflen, "?");
	return buf;
}

int p25_duration_parse(const char *text, int64_t *seconds, char *err, size_t errlen)
{
	long long v = 0;
	const char *c = text;
	int64_t unit;

	if (!text || !*text || *text < '0' || *text > '9')
		goto bad;
	while (*c >= '0' && *c <= '9') {
		v = v * 10 + (*c++ - '0');
		if (v > 100000000LL)
			goto bad;
	}
	switch (*c) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = P25_HOUR; break;
	case 'd': unit = P25_DAY; break;
	case 'w': unit = 7 * P25_DAY; break;
	default: goto bad;
	}
	if (c[1] != '\0' || v == 0)
		goto bad;
	*seconds = v * unit;
	return 0;
bad:
	snprintf(err, errlen, "'%s': expected a duration like 30m, 48h, 14d or 2w", text ? text : "");
	return -1;
}

int p25_expiry_parse(const char *text, p25_time now, p25_time *out, char *err, size_t errlen)
{
	int64_t secs;
	char scratch[8];

	if (text && strlen(text) > 0 && strchr("smhdw", text[strlen(text) - 1]) &&
	    p25_duration_parse(text, &secs, scratch, sizeof scratch) == 0) {
		*out = now + secs;
		return 0;
	}
	if (p25_time_parse(text, out, err, errlen) < 0) {
		snprintf(err, errlen,
			 "'%s': expected an expiry date (2026-12-31, 2026-12-31T18:00:00Z) or a duration (30d)",
			 text ? text : "");
		return -1;
	}
	if (strlen(text) == 10)
		*out = p25_tz_local_to_utc(local_zone, *out + P25_DAY - 1);
	return 0;
}

void p25_time_set_local_zone(const struct p25_tz *tz)
{
	local_zone = tz;
}

const struct p25_tz *p25_time_local_zone(void)
{
	return local_zone;
}

int p25_time_is_date(const char *text)
{
	return text && strlen(text) == 10 && text[4] == '-' && text[7] == '-';
}

/*
 * A time given as an ISO date or time (a bare date: its start where the
 * operator is), or as a duration counted from now, forward (sign 1) or back
 * (sign -1).  expected: the forms the message names when text is neither.
 */
static int time_or_duration(const char *text, p25_time now, int sign, const char *expected,
                            p25_time *out, char *err, size_t errlen)
{
	int64_t secs;
	char scratch[8];

	if (text && strlen(text) > 0 && strchr("smhdw", text[strlen(text) - 1]) &&
	    p25_duration_parse(text, &secs, scratch, sizeof scratch) == 0) {
		*out = now + sign * secs;
		return 0;
	}
	if (p25_time_parse(text, out, err, errlen) < 0) {
		snprintf(err, errlen, "'%s': expected %s", text ? text : "", expected);
		return -1;
	}
	if (p25_time_is_date(text))
		*out = p25_tz_local_to_utc(local_zone, *out);
	return 0;
}

int p25_when_parse(const char *text, p25_time now, p25_time *out, char *err, size_t errlen)
{
	return time_or_duration(
	    text, now, 1, "a time (2026-12-01T06:00:00Z, 2026-12-01) or a duration from now (2d)",
	    out, err, errlen);
}

int p25_since_parse(const char *text, p25_time now, p25_time *out, char *err, size_t errlen)
{
	return time_or_duration(
	    text, now, -1,
	    "a time (2026-11-20, 2026-11-20T08:00:00Z) or a duration back from now (7d)", out, err,
	    errlen);
}

p25_time p25_time_now(void)
{
	return (p25_time)time(NULL);
}

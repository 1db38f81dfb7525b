#include "util/tz.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/conf.h"

/* When a POSIX rule switches: Jn, n or Mm.w.d, at a local time. */
struct when {
	char kind; /* 'J', 'N' (zero-based day), 'M' */
	int a, b, c;
	int32_t time;
};

struct rule {
	int32_t std_off, dst_off; /* seconds east of UTC */
	bool has_dst;
	struct when start, end;
};

struct p25_tz {
	char name[128];
	int64_t *trans; /* transitions (UTC), ascending */
	int32_t *off;   /* the offset from each transition on */
	size_t ntrans;
	int32_t first_off; /* before the first */
	bool has_rule;     /* after the last: the POSIX rule (a TZif footer, or the whole zone) */
	struct rule rule;
};

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int year_of(int64_t day)
{
	/* civil_from_days, the year only */
	day += 719468;
	int64_t era = (day >= 0 ? day : day - 146096) / 146097;
	unsigned doe = (unsigned)(day - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	return (int)(y + (mp >= 10));
}

/* ---- POSIX TZ rules ---- */

static const char *parse_name(const char *p)
{
	if (*p == '<') {
		while (*p && *p != '>')
			p++;
		return *p == '>' ? p + 1 : NULL;
	}
	const char *s = p;
	while (isalpha((unsigned char)*p))
		p++;
	return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] as seconds; NULL when malformed. */
static const char *parse_hms(const char *p, int32_t *out, int maxh)
{
	int sign = 1, h = 0, m = 0, s = 0, n = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p) && n++ < 3)
		h = h * 10 + (*p++ - '0');
	if (*p == ':') {
		p++;
		if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
			return NULL;
		m = (p[0] - '0') * 10 + (p[1] - '0');
		p += 2;
		if (*p == ':') {
			p++;
			if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
				return NULL;
			s = (p[0] - '0') * 10 + (p[1] - '0');
			p += 2;
		}
	}
	if (h > maxh || m > 59 || s > 59)
		return NULL;
	*out = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *parse_int(const char *p, int *out, int lo, int hi)
{
	int v = 0, n = 0;

	while (isdigit((unsigned char)*p) && n++ < 4)
		v = v * 10 + (*p++ - '0');
	if (!n || v < lo || v > hi)
		return NULL;
	*out = v;
	return p;
}

static const char *parse_when(const char *p, struct when *w)
{
	memset(w, 0, sizeof *w);
	w->time = 2 * 3600;
	if (*p == 'J') {
		w->kind = 'J';
		p = parse_int(p + 1, &w->a, 1, 365);
	} else if (*p == 'M') {
		w->kind = 'M';
		if ((p = parse_int(p + 1, &w->a, 1, 12)) && *p == '.' &&
		    (p = parse_int(p + 1, &w->b, 1, 5)) && *p == '.')
			p = parse_int(p + 1, &w->c, 0, 6);
		else
			p = NULL;
	} else {
		w->kind = 'N';
		p = parse_int(p, &w->a, 0, 365);
	}
	if (p && *p == '/')
		p = parse_hms(p + 1, &w->time, 167);
	return p;
}

static int parse_rule(const char *s, struct rule *r)
{
	const char *p = parse_name(s);
	int32_t off;

	memset(r, 0, sizeof *r);
	if (!p || !(p = parse_hms(p, &off, 24)))
		return -1;
	r->std_off = -off; /* POSIX offsets are west of Greenwich */
	if (!*p)
		return 0;
	if (!(p = parse_name(p)))
		return -1;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*p && *p != ',') {
		if (!(p = parse_hms(p, &off, 24)))
			return -1;
		r->dst_off = -off;
	}
	if (!*p) {
		/* No rule: the United States' since 2007, as POSIX leaves it to the system. */
		r->start = (struct when){'M', 3, 2, 0, 7200};
		r->end = (struct when){'M', 11, 1, 0, 7200};
		return 0;
	}
	if (*p != ',' || !(p = parse_when(p + 1, &r->start)) || *p != ',' ||
	    !(p = parse_when(p + 1, &r->end)) || *p)
		return -1;
	return 0;
}

/* The local seconds (since the epoch, as if UTC) at which w happens in year y. */
static int64_t when_local(const struct when *w, int y)
{
	int64_t day;

	switch (w->kind) {
	case 'J':
		day = days_from_civil(y, 1, 1) + w->a - 1 + (leap(y) && w->a >= 60);
		break;
	case 'N':
		day = days_from_civil(y, 1, 1) + w->a;
		break;
	default: {
		static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
		int64_t first = days_from_civil(y, (unsigned)w->a, 1);
		int wd = (int)((first % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
		int dim = mdays[w->a - 1] + (w->a == 2 && leap(y));
		int d = 1 + (w->c - wd + 7) % 7 + 7 * (w->b - 1);
		while (d > dim)
			d -= 7;
		day = first + d - 1;
	}
	}
	return day * 86400 + w->time;
}

static int32_t rule_offset(const struct rule *r, p25_time t)
{
	int y;
	int64_t start, end;

	if (!r->has_dst)
		return r->std_off;
	y = year_of((t + r->std_off) / 86400 - ((t + r->std_off) % 86400 < 0));
	start = when_local(&r->start, y) - r->std_off;
	end = when_local(&r->end, y) - r->dst_off;
	if (start < end)
		return t >= start && t < end ? r->dst_off : r->std_off;
	/* The southern hemisphere: daylight time spans the new year. */
	return t >= end && t < start ? r->std_off : r->dst_off;
}

/* ---- TZif (RFC 8536) ---- */

static int64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	if (n == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

static int parse_tzif(struct p25_tz *tz, const unsigned char *d, size_t len)
{
	size_t pos = 0, cnt[6];
	int version, tsize = 4;

	if (len < 44 || memcmp(d, "TZif", 4) != 0)
		return -1;
	version = d[4] ? d[4] - '0' : 1;
	for (int pass = 0; pass < 2; pass++) {
		if (pos + 44 > len || memcmp(d + pos, "TZif", 4) != 0)
			return -1;
		for (int i = 0; i < 6; i++)
			cnt[i] = (size_t)be(d + pos + 20 + 4 * i, 4);
		/* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
		size_t body = cnt[3] * (size_t)tsize + cnt[3] + cnt[4] * 6 + cnt[5] +
			      cnt[2] * (size_t)(tsize + 4) + cnt[1] + cnt[0];
		pos += 44;
		if (pos + body > len || cnt[4] == 0)
			return -1;
		if (version >= 2 && pass == 0) {
			pos += body; /* the 32-bit data: the 64-bit block follows */
			tsize = 8;
			continue;
		}
		const unsigned char *times = d + pos, *idx = times + cnt[3] * (size_t)tsize,
				    *types = idx + cnt[3];
		tz->trans = calloc(cnt[3] + 1, sizeof *tz->trans);
		tz->off = calloc(cnt[3] + 1, sizeof *tz->off);
		if (!tz->trans || !tz->off)
			return -1;
		for (size_t i = 0; i < cnt[3]; i++) {
			if (idx[i] >= cnt[4])
				return -1;
			tz->trans[i] = be(times + i * (size_t)tsize, tsize);
			tz->off[i] = (int32_t)be(types + idx[i] * 6, 4);
		}
		tz->ntrans = cnt[3];
		tz->first_off = (int32_t)be(types, 4);
		pos += body;
		break;
	}
	/* The footer: the rule for times after the last transition. */
	if (version >= 2 && pos < len && d[pos] == '\n') {
		const char *f = (const char *)d + pos + 1, *e = memchr(f, '\n', len - pos - 1);
		if (e && e > f) {
			char rule[128];
			snprintf(rule, sizeof rule, "%.*s", (int)(e - f), f);
			tz->has_rule = parse_rule(rule, &tz->rule) == 0;
		}
	}
	return 0;
}

static bool safe_name(const char *s)
{
	if (!*s || *s == '/' || strstr(s, ".."))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("/_-+", *s))
			return false;
	return true;
}

int p25_tz_load(const char *spec, struct p25_tz **out, char *err, size_t errlen)
{
	struct p25_tz *tz;

	*out = NULL;
	if (!spec || !*spec || !strcmp(spec, "UTC") || !strcmp(spec, "Etc/UTC") ||
	    !strcmp(spec, "Z"))
		return 0;
	if (!(tz = calloc(1, sizeof *tz))) {
		snprintf(err, errlen, "timezone '%s': out of memory", spec);
		return -1;
	}
	snprintf(tz->name, sizeof tz->name, "%s", spec);
	if (safe_name(spec) && strchr(spec, '/')) {
		const char *dir = getenv("TZDIR");
		char path[512];
		FILE *f;
		snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", spec);
		if ((f = fopen(path, "rb"))) {
			unsigned char *buf = malloc(1 << 20);
			size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
			int rc = buf ? parse_tzif(tz, buf, n) : -1;
			free(buf);
			fclose(f);
			if (rc == 0) {
				*out = tz;
				return 0;
			}
			snprintf(err, errlen, "timezone '%s': %s is not a time zone file", spec, path);
		} else {
			snprintf(err, errlen,
				 "timezone '%s': no such zone in %s (a name like America/Denver, "
				 "or a POSIX rule like MST7MDT,M3.2.0,M11.1.0)",
				 spec, dir && *dir ? dir : "/usr/share/zoneinfo");
		}
		p25_tz_free(tz);
		return -1;
	}
	if (parse_rule(spec, &tz->rule) < 0) {
		snprintf(err, errlen,
			 "timezone '%s': neither a zone name (America/Denver) nor a POSIX rule "
			 "(MST7MDT,M3.2.0,M11.1.0)",
			 spec);
		p25_tz_free(tz);
		return -1;
	}
	tz->has_rule = true;
	*out = tz;
	return 0;
}

void p25_tz_free(struct p25_tz *tz)
{
	if (!tz)
		return;
	free(tz->trans);
	free(tz->off);
	free(tz);
}

const char *p25_tz_name(const struct p25_tz *tz)
{
	return tz ? tz->name : "UTC";
}

int32_t p25_tz_offset(const struct p25_tz *tz, p25_time t)
{
	size_t lo = 0, hi;

	if (!tz)
		return 0;
	if (tz->ntrans == 0)
		return tz->has_rule ? rule_offset(&tz->rule, t) : tz->first_off;
	if (t < tz->trans[0])
		return tz->first_off;
	if (t >= tz->trans[tz->ntrans - 1] && tz->has_rule)
		return rule_offset(&tz->rule, t);
	/* The last transition at or before t. */
	hi = tz->ntrans;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->off[lo];
}

p25_time p25_tz_local_to_utc(const struct p25_tz *tz, int64_t local)
{
	int32_t off = p25_tz_offset(tz, local - p25_tz_offset(tz, local));
	p25_time utc = local - off;

	/* Near a transition the first guess can be an hour off: settle it. */
	if (p25_tz_offset(tz, utc) != off)
		utc = local - p25_tz_offset(tz, utc);
	return utc;
}

int p25_tz_from_conf(const char *conf_path, struct p25_tz **out, char *err, size_t errlen)
{
	char value[128], why[400];
	int rc = p25_conf_get(conf_path, "timezone", value, sizeof value, why, sizeof why);

	*out = NULL;
	if (rc < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (rc == 0)
		return 0;
	if (p25_tz_load(value, out, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", conf_path, why);
		return -1;
	}
	return 0;
}

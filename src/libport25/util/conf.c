#include "util/conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/text.h"

/* Keys of the top level that belong to no one component: every reader passes them over. */
static const char *const shared_keys[] = {"registry", "enforce", NULL};

/*
 * Flat keys (top-level keys written before sections existed) by the prefix
 * that names their component: a reader of another section passes them by,
 * so one component's flat key is never reported as another's typo.
 * Watch's and analyze's flat keys carry no common prefix: they are the
 * keys no prefix here claims.
 */
static const struct {
	const char *prefix, *section;
} flat_owners[] = {
    {"serve-", "serve"},       {"notify", "notify"},        {"verify-", "notify"},
    {"campaign-", "notify"},   {"portal-url", "notify"},    {"operator-name", "notify"},
};

const char *p25_conf_flat_owner(const char *key)
{
	for (size_t i = 0; i < sizeof flat_owners / sizeof flat_owners[0]; i++)
		if (!strncmp(key, flat_owners[i].prefix, strlen(flat_owners[i].prefix)))
			return flat_owners[i].section;
	return NULL;
}

const char *p25_conf_path(void)
{
	const char *p = getenv("PORT25_CONFIG");

	return p && *p ? p : P25_CONFIG_PATH;
}

static bool known_section(const char *name)
{
	static const char *const sections[] = {"watch", "enforce", "serve", "notify", "analyze",
	                                       NULL};

	for (const char *const *n = sections; *n; n++)
		if (!strcmp(*n, name))
			return true;
	return false;
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

enum line_kind { LINE_BLANK, LINE_SECTION, LINE_ENTRY, LINE_BAD };

/*
 * One line, parsed in place: a section header (*key is its name), an entry
 * (*key, *value, unquoted), blank, or bad (why says what is wrong).
 */
static enum line_kind parse_line(char *line, char **key, char **value, const char **why)
{
	char *s = p25_text_trim(line), *eq, *v, *out;

	*key = *value = NULL;
	if (!*s || *s == '#')
		return LINE_BLANK;
	if (*s == '[') {
		char *end = strchr(s, ']'), *rest = end ? end + 1 + strspn(end + 1, " \t") : NULL;
		if (!end || (*rest && *rest != '#')) {
			*why = "expected [section]";
			return LINE_BAD;
		}
		*end = '\0';
		*key = p25_text_trim(s + 1);
		return LINE_SECTION;
	}
	if (!(eq = strchr(s, '=')) || eq == s) {
		*why = "expected key = value";
		return LINE_BAD;
	}
	*eq = '\0';
	*key = p25_text_trim(s);
	for (char *k = *key; *k; k++) {
		if (!is_key_char(*k)) {
			*why = "expected key = value";
			return LINE_BAD;
		}
	}
	v = eq + 1;
	v += strspn(v, " \t");
	if (*v != '"') {
		v[strcspn(v, "#")] = '\0';
		*value = p25_text_trim(v);
		return LINE_ENTRY;
	}
	/* "quoted": \" and \\ stand for themselves; only a comment may follow. */
	*value = out = v;
	for (v++; *v && *v != '"'; v++) {
		if (*v == '\\' && (v[1] == '"' || v[1] == '\\'))
			v++;
		*out++ = *v;
	}
	if (*v != '"') {
		*why = "a quoted value is never closed";
		return LINE_BAD;
	}
	v++;
	v += strspn(v, " \t");
	if (*v && *v != '#') {
		*why = "text after the closing quote (a comment starts with #)";
		return LINE_BAD;
	}
	*out = '\0';
	return LINE_ENTRY;
}

/* The whole file; a missing one is *text NULL. */
static int read_all(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	*text = NULL;
	*len = 0;
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	do {
		if (cap - n < 4096) {
			char *nb = realloc(buf, cap = cap ? 2 * cap : 8192);
			if (!nb) {
				free(buf);
				fclose(f);
				snprintf(err, errlen, "%s: out of memory", path);
				return -1;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

void p25_conf_free(struct p25_conf *c)
{
	free(c->path);
	free(c->v);
	free(c->text);
	memset(c, 0, sizeof *c);
}

int p25_conf_load(const char *path, bool required, struct p25_conf *c, char *err, size_t errlen)
{
	const char *section = "";
	size_t len, cap = 0;
	unsigned lineno = 0;
	char *line, *next;

	memset(c, 0, sizeof *c);
	if (!(c->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (read_all(path, &c->text, &len, err, errlen) < 0)
		return -1;
	if (!c->text) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(ENOENT));
		return -1;
	}
	if (strlen(c->text) != len) {
		snprintf(err, errlen, "%s: a NUL byte: not a configuration file", path);
		return -1;
	}
	for (line = c->text; line; line = next) {
		const char *why = NULL;
		char *key, *value;

		lineno++;
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		switch (parse_line(line, &key, &value, &why)) {
		case LINE_BLANK:
			continue;
		case LINE_BAD:
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			return -1;
		case LINE_SECTION:
			if (!known_section(key)) {
				snprintf(err, errlen, "%s:%u: unknown section [%s] (sections: %s)", path,
				         lineno, key, P25_CONF_SECTIONS);
				return -1;
			}
			section = key;
			continue;
		case LINE_ENTRY:
			break;
		}
		for (size_t i = 0; i < c->n; i++) {
			if (!strcmp(c->v[i].section, section) && !strcmp(c->v[i].key, key)) {
				snprintf(err, errlen, "%s:%u: '%s' is set twice%s%s%s (first on line %u)",
				         path, lineno, key, *section ? " in [" : "", section,
				         *section ? "]" : "", c->v[i].line);
				return -1;
			}
		}
		if (c->n == cap) {
			struct p25_conf_entry *nv = realloc(c->v, (cap = cap ? 2 * cap : 32) * sizeof *nv);
			if (!nv) {
				snprintf(err, errlen, "%s: out of memory", path);
				return -1;
			}
			c->v = nv;
		}
		c->v[c->n++] = (struct p25_conf_entry){section, key, value, lineno};
	}
	return 0;
}

static bool is_shared(const char *key)
{
	for (const char *const *k = shared_keys; *k; k++)
		if (!strcmp(*k, key))
			return true;
	return false;
}

int p25_conf_apply(const struct p25_conf *c, const char *section, enum p25_conf_top top,
                   p25_conf_set_fn set, void *ctx, char *err, size_t errlen, char *warn,
                   size_t warnlen)
{
	if (warnlen)
		warn[0] = '\0';
	for (size_t i = 0; i < c->n; i++) {
		const struct p25_conf_entry *e = &c->v[i];
		bool mine = !strcmp(e->section, section);
		char msg[512] = "";
		int rc;

		if (!mine && *e->section)
			continue; /* another component's section: its reader checks it */
		const char *owner = mine ? NULL : p25_conf_flat_owner(e->key);

		if (owner && strcmp(owner, section))
			continue; /* another component's flat key */
		rc = set(ctx, e, msg, sizeof msg);
		if (rc < 0) {
			snprintf(err, errlen, "%s:%u: %s", c->path, e->line, msg);
			return -1;
		}
		if (rc > 0 || (!mine && is_shared(e->key)))
			continue;
		if (mine) {
			snprintf(err, errlen, "%s:%u: unknown setting '%s' in [%s]", c->path, e->line,
			         e->key, section);
			return -1;
		}
		if (owner) {
			/* Named as this component's ("serve-..."), yet not one of its keys: a typo. */
			snprintf(err, errlen, "%s:%u: unknown setting '%s'", c->path, e->line, e->key);
			return -1;
		}
		if (top == P25_CONF_TOP_STRICT) {
			snprintf(err, errlen, "%s:%u: unknown setting '%s'", c->path, e->line, e->key);
			return -1;
		}
		/* Another command's flat key, or a typo: say so, do not stop a gateway. */
		if (top == P25_CONF_TOP_WARN && warnlen && !warn[0])
			snprintf(warn, warnlen, "%s:%u: setting '%s' is not %s's, ignored", c->path,
			         e->line, e->key, section);
	}
	return warnlen && warn[0] ? 1 : 0;
}

int p25_conf_read(const char *path, bool required, const char *section, enum p25_conf_top top,
                  p25_conf_set_fn set, void *ctx, char *err, size_t errlen, char *warn,
                  size_t warnlen)
{
	struct p25_conf c;
	char bad[1024];
	int loaded = p25_conf_load(path, required, &c, bad, sizeof bad);
	int rc = p25_conf_apply(&c, section, top, set, ctx, err, errlen, warn, warnlen);

	p25_conf_free(&c);
	if (rc < 0)
		return -1;
	if (loaded < 0) {
		snprintf(err, errlen, "%s", bad);
		return -1;
	}
	return rc;
}

int p25_conf_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") ||
	    !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") ||
	         !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

int p25_conf_get(const char *path, const char *key, char *out, size_t outlen, char *err,
		 size_t errlen)
{
	bool top = true;
	int found = 0;
	size_t len;
	char *text, *line, *next;

	if (read_all(path, &text, &len, err, errlen) < 0)
		return -1;
	for (line = text; line && found >= 0; line = next) {
		const char *why;
		char *k, *v;

		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		switch (parse_line(line, &k, &v, &why)) {
		case LINE_SECTION:
			top = false;
			break;
		case LINE_ENTRY:
			if (!top || strcmp(k, key) != 0)
				break;
			if (strlen(v) >= outlen) {
				snprintf(err, errlen, "%s: %s: value too long", path, key);
				found = -1;
				break;
			}
			strcpy(out, v);
			found = 1; /* the last line that sets it, as the file's readers did before */
			break;
		default:
			break;
		}
	}
	free(text);
	return found;
}

int p25_conf_registry_path(char *out, size_t outlen, char *err, size_t errlen)
{
	const char *conf = p25_conf_path();
	int rc = p25_conf_get(conf, "registry", out, outlen, err, errlen);

	if (rc < 0)
		return -1;
	if (rc > 0 && !*out) {
		snprintf(err, errlen, "%s: registry: empty value", conf);
		return -1;
	}
	if (rc == 0) {
		if (strlen(P25_REGISTRY_PATH) >= outlen) {
			snprintf(err, errlen, "registry path too long");
			return -1;
		}
		strcpy(out, P25_REGISTRY_PATH);
	}
	return 0;
}

#include "model/model.h"
#include "util/names.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

void p25_model_init(struct p25_model *m)
{
	memset(m, 0, sizeof *m);
}

void p25_model_free(struct p25_model *m)
{
	for (size_t i = 0; i < m->norgs; i++) {
		free(m->orgs[i].handle);
		free(m->orgs[i].name);
	}
	for (size_t i = 0; i < m->nspaces; i++)
		free(m->spaces[i].description);
	for (size_t i = 0; i < m->npermits; i++) {
		free(m->permits[i].description);
		free(m->permits[i].requested_by);
		free(m->permits[i].approved_by);
	}
	free(m->orgs);
	free(m->spaces);
	free(m->permits);
	p25_model_init(m);
}

static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *p;

	if (n < *cap)
		return true;
	c = *cap ? *cap * 2 : 16;
	p = realloc(*v, c * size);
	if (!p)
		return false;
	*v = p;
	*cap = c;
	return true;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

ssize_t p25_model_add_org(struct p25_model *m, int64_t id, const char *handle, const char *name,
			  enum p25_enrollment e, enum p25_mode mode, enum p25_action action)
{
	struct p25_org *o;

	if (!grow((void **)&m->orgs, &m->orgs_cap, m->norgs, sizeof *m->orgs))
		return -1;
	o = &m->orgs[m->norgs];
	o->id = id;
	o->handle = dup_or_empty(handle);
	o->name = dup_or_empty(name);
	o->enrollment = e;
	o->mode = mode;
	o->action = action;
	if (!o->handle || !o->name) {
		free(o->handle);
		free(o->name);
		return -1;
	}
	return (ssize_t)m->norgs++;
}

ssize_t p25_model_add_space(struct p25_model *m, int64_t id, size_t org,
			    const struct p25_prefix *p, const char *description)
{
	struct p25_space *s;

	if (!grow((void **)&m->spaces, &m->spaces_cap, m->nspaces, sizeof *m->spaces))
		return -1;
	s = &m->spaces[m->nspaces];
	s->id = id;
	s->org = org;
	s->prefix = *p;
	s->description = dup_or_empty(description);
	if (!s->description)
		return -1;
	return (ssize_t)m->nspaces++;
}

ssize_t p25_model_add_permit(struct p25_model *m, const struct p25_permit *p)
{
	struct p25_permit *q;

	if (!grow((void **)&m->permits, &m->permits_cap, m->npermits, sizeof *m->permits))
		return -1;
	q = &m->permits[m->npermits];
	*q = *p;
	q->description = dup_or_empty(p->description);
	q->requested_by = dup_or_empty(p->requested_by);
	q->approved_by = dup_or_empty(p->approved_by);
	if (!q->description || !q->requested_by || !q->approved_by) {
		free(q->description);
		free(q->requested_by);
		free(q->approved_by);
		return -1;
	}
	return (ssize_t)m->npermits++;
}

static const char *const enrollment_names[] = {"none", "pending", "active", "suspended"};
static const char *const mode_names[] = {"outbound", "both"};
static const char *const action_names[] = {"reject", "drop"};
static const char *const kind_names[] = {"mail-server", "application-server", "network-device"};

P25_NAMES(enum p25_enrollment, p25_enrollment_name, p25_enrollment_parse, enrollment_names)
P25_NAMES(enum p25_mode, p25_mode_name, p25_mode_parse, mode_names)
P25_NAMES(enum p25_action, p25_action_name, p25_action_parse, action_names)

const char *p25_kind_name(enum p25_permit_kind k)
{
	return p25_name_of(kind_names, 3, (unsigned)k);
}

/* The kinds also go by a short name, as members write them. */
int p25_kind_parse(const char *s, enum p25_permit_kind *out)
{
	static const char *const short_names[] = {"mail", "app", "device"};
	int i = p25_name_index(kind_names, 3, s);

	if (i < 0)
		i = p25_name_index(short_names, 3, s);
	if (i < 0)
		return -1;
	*out = (enum p25_permit_kind)i;
	return 0;
}

/*
 * What enforce last loaded, kept so that a change need not read 100,000
 * elements back from the kernel to know what is there.
 *
 * The cache is one file per network namespace (and boot): a snapshot of the
 * state sent (chains, then every set's blocks, sorted) written whole by apply
 * and sync, followed by a journal of the element changes that targeted
 * updates sent since, each batch closed by a record of the ruleset
 * generation (NFT_MSG_GETGEN) its commit produced.  The kernel bumps that
 * generation on every commit of any table, so when it still equals the last
 * one recorded nothing has touched the ruleset since, and the cache is the
 * truth; otherwise it is not used and the kernel is read back.  A batch is
 * recorded only when its commit moved the generation by exactly one (no one
 * else committed in between).  A lock file serializes port25's own writers.
 *
 * Kept in /run/port25 by default: tmpfs, gone at boot like the kernel's
 * table; the boot id in the header guards a cache on persistent storage.
 *
 * The file is named by the namespace's inode, which the kernel reuses once
 * a namespace is gone, and a fresh namespace counts its ruleset generations
 * from the same start: a re-created namespace can find a predecessor's cache
 * whose generation matches its own.  So the header also holds the
 * namespace's cookie (never reused while the system runs) and the handle of
 * the table as the kernel reported it, and enforce.c trusts the cache only
 * when the kernel still has that table under that handle.
 */
#include "enforce/enforce_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "P25ENF03"
#define NO_CHAIN UINT32_MAX
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* Linux 5.14; older kernels: 0, and the table handle decides */
#endif

enum { J_ADD = 1, J_DEL = 2, J_COMMIT = 3 };

struct hdr {
	char magic[8];
	char boot_id[40];
	uint64_t netns_dev, netns_ino, netns_cookie;
	uint64_t table_handle; /* of table inet port25 when the snapshot was taken */
	uint64_t generation;
	uint64_t nrec[NSETS];
	uint32_t genid;
	uint32_t nchains;
	char hash[24];
};

struct crec {
	p25_u128 lo, hi;
	uint32_t chain; /* index into the chains, NO_CHAIN for plain sets */
	uint32_t pad[3];
};

struct cchain {
	char name[CHAIN_LEN];
	char sig[SIG_LEN];
	int32_t dir;
	int32_t pad;
};

struct jrec {
	p25_u128 lo, hi;
	uint32_t op, set, genid, pad;
};

struct enf_cache {
	char path[256], tmp[280];
	bool locked; /* holds one level of enf_lock */
	bool valid;
	uint32_t genid;
	const uint8_t *map;
	size_t maplen;
	const struct hdr *h;
	const struct cchain *chains;
	const struct crec *recs[NSETS];
	struct rlist jadd[NSETS], jdel[NSETS]; /* the journal, net */
};

/* ---- shared helpers of the state representation ---- */

int rl_push(struct rlist *l, const struct range *r)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct range *n = realloc(l->v, cap * sizeof *n);
		if (!n)
			return -1;
		l->v = n;
		l->cap = cap;
	}
	l->v[l->n++] = *r;
	return 0;
}

void st_free(struct st *s)
{
	for (int i = 0; i < NSETS; i++)
		free(s->sets[i].v);
	free(s->chains);
	memset(s, 0, sizeof *s);
}

struct chain_st *st_add_chain(struct st *s)
{
	if (s->nchains == s->chains_cap) {
		size_t cap = s->chains_cap ? s->chains_cap * 2 : 16;
		struct chain_st *n = realloc(s->chains, cap * sizeof *n);
		if (!n)
			return NULL;
		s->chains = n;
		s->chains_cap = cap;
	}
	memset(&s->chains[s->nchains], 0, sizeof *s->chains);
	return &s->chains[s->nchains++];
}

int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return strcmp(x->chain, y->chain);
}

int chain_cmp(const void *a, const void *b)
{
	return strcmp(((const struct chain_st *)a)->name, ((const struct chain_st *)b)->name);
}

p25_u128 fam_top(int fam)
{
	return p25_mask(fam == 0 ? 32 : 128);
}

p25_u128 fam_unit(int fam)
{
	return (p25_u128)1 << (fam == 0 ? 96 : 0);
}

/* ---- the delta of one permit change ---- */

static unsigned fam_bits(int fam)
{
	return fam == 0 ? 32 : 128;
}

/* Is [lo, hi] covered by the sorted, disjoint blocks v? */
static bool covers(const struct rlist *v, int fam, p25_u128 lo, p25_u128 hi)
{
	p25_u128 next = lo; /* first address not yet covered */

	for (size_t i = 0; i < v->n; i++) {
		if (v->v[i].hi < next)
			continue;
		if (v->v[i].lo > next)
			return false;
		if (v->v[i].hi >= hi)
			return true;
		next = v->v[i].hi + fam_unit(fam);
	}
	return false;
}

/* The fewest CIDR blocks of [lo, hi], appended to out. */
static int decompose(int fam, p25_u128 lo, p25_u128 hi, struct rlist *out)
{
	unsigned w = fam_bits(fam), shift = 128 - w;
	p25_u128 a = lo >> shift, b = hi >> shift, max = fam_top(fam) >> shift;

	for (;;) {
		unsigned k = 0; /* the block is 2^k addresses */
		struct range r;
		for (; k < w; k++) {
			bool ok;
			if (k + 1 == 128) { /* the whole IPv6 space: 2^128 does not fit */
				ok = a == 0 && b == max;
			} else {
				p25_u128 size = (p25_u128)1 << (k + 1);
				ok = (a & (size - 1)) == 0 && a + (size - 1) <= b;
			}
			if (!ok)
				break;
		}
		memset(&r, 0, sizeof r);
		r.lo = a << shift;
		r.hi = (k == 128 ? max : a + (((p25_u128)1 << k) - 1)) << shift;
		if (rl_push(out, &r) < 0)
			return -1;
		if ((r.hi >> shift) >= b)
			return 0;
		a = (r.hi >> shift) + 1;
	}
}

static void prefix_bounds(const struct p25_prefix *p, int fam, p25_u128 *lo, p25_u128 *hi)
{
	*lo = p->net;
	*hi = p->net | (~p25_mask(p->len) & fam_top(fam));
}

int enf_permit_delta(int fam, const struct p25_prefix *p, const struct p25_prefix *cover,
		     size_t ncover, enf_view_fn view, void *ctx, struct rlist *del,
		     struct rlist *ins)
{
	struct rlist old = {0}, cov = {0}, pieces = {0}, fresh = {0};
	struct p25_prefix q = *p;
	p25_u128 plo, phi, qlo, qhi;
	bool p_full;
	int rc = -1;

	prefix_bounds(p, fam, &plo, &phi);
	/* what of p stays permitted, as sorted disjoint ranges */
	for (size_t i = 0; i < ncover; i++) {
		struct range r;
		memset(&r, 0, sizeof r);
		prefix_bounds(&cover[i], fam, &r.lo, &r.hi);
		if (r.hi < plo || r.lo > phi)
			continue;
		r.lo = r.lo < plo ? plo : r.lo;
		r.hi = r.hi > phi ? phi : r.hi;
		if (rl_push(&cov, &r) < 0)
			goto out;
	}
	if (cov.n)
		qsort(cov.v, cov.n, sizeof *cov.v, range_cmp);
	p_full = covers(&cov, fam, plo, phi);
	/* grow the region while either state covers it whole: then it may merge upwards */
	for (;;) {
		bool before, after;
		prefix_bounds(&q, fam, &qlo, &qhi);
		old.n = 0;
		if (view(ctx, fam, qlo, qhi, &old) < 0)
			goto out;
		before = covers(&old, fam, qlo, qhi);
		if (q.len == p->len) {
			after = p_full;
		} else {
			/* Q \ P covered before, and P covered after */
			after = p_full && (plo == qlo || covers(&old, fam, qlo, plo - fam_unit(fam))) &&
				(phi == qhi || covers(&old, fam, phi + fam_unit(fam), qhi));
		}
		if ((!before && !after) || q.len == 0)
			break;
		q.len--;
		q.net &= p25_mask(q.len);
	}
	/* the new state inside Q: the old blocks less P, plus what of P is covered */
	for (size_t i = 0; i < old.n; i++) {
		struct range r = old.v[i];
		if (r.hi < plo || r.lo > phi) {
			if (rl_push(&pieces, &r) < 0)
				goto out;
			continue;
		}
		if (r.lo < plo) {
			struct range a = r;
			a.hi = plo - fam_unit(fam);
			if (rl_push(&pieces, &a) < 0)
				goto out;
		}
		if (r.hi > phi) {
			struct range b = r;
			b.lo = phi + fam_unit(fam);
			if (rl_push(&pieces, &b) < 0)
				goto out;
		}
	}
	for (size_t i = 0; i < cov.n; i++)
		if (rl_push(&pieces, &cov.v[i]) < 0)
			goto out;
	if (pieces.n)
		qsort(pieces.v, pieces.n, sizeof *pieces.v, range_cmp);
	/* merge into runs, each run into its fewest blocks */
	for (size_t i = 0; i < pieces.n;) {
		p25_u128 lo = pieces.v[i].lo, hi = pieces.v[i].hi;
		size_t j = i + 1;
		while (j < pieces.n && hi != fam_top(fam) && pieces.v[j].lo <= hi + fam_unit(fam)) {
			if (pieces.v[j].hi > hi)
				hi = pieces.v[j].hi;
			j++;
		}
		if (decompose(fam, lo, hi, &fresh) < 0)
			goto out;
		i = j;
	}
	/* old and fresh are both sorted: the difference */
	{
		size_t i = 0, j = 0;
		while (i < old.n || j < fresh.n) {
			int c = i == old.n	  ? 1
				: j == fresh.n ? -1
				: old.v[i].lo != fresh.v[j].lo
					? (old.v[i].lo < fresh.v[j].lo ? -1 : 1)
				: old.v[i].hi != fresh.v[j].hi ? (old.v[i].hi < fresh.v[j].hi ? -1 : 1)
							       : 0;
			if (c == 0) {
				i++;
				j++;
			} else if (c < 0) {
				if (rl_push(del, &old.v[i++]) < 0)
					goto out;
			} else if (rl_push(ins, &fresh.v[j++]) < 0) {
				goto out;
			}
		}
	}
	rc = 0;
out:
	free(old.v);
	free(cov.v);
	free(pieces.v);
	free(fresh.v);
	return rc;
}

/* ---- the cache file ---- */

static int netns_id(uint64_t *dev, uint64_t *ino)
{
	struct stat sb;

	if (stat("/proc/self/ns/net", &sb) < 0)
		return -1;
	*dev = (uint64_t)sb.st_dev;
	*ino = (uint64_t)sb.st_ino;
	return 0;
}

/* This network namespace's cookie: unique for as long as the system runs. */
static uint64_t netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof cookie;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0 || len != sizeof cookie)
		cookie = 0;
	close(fd);
	return cookie;
}

static void boot_id(char out[40])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	memset(out, 0, 40);
	if (f) {
		if (!fgets(out, 40, f))
			out[0] = '\0';
		fclose(f);
	}
	out[strcspn(out, "\n")] = '\0';
}

static size_t recs_total(const struct hdr *h)
{
	size_t n = 0;

	for (int i = 0; i < NSETS; i++)
		n += h->nrec[i];
	return n;
}

/* Journal changes cancel: a block added then deleted leaves nothing. */
static int net_put(struct rlist *add, struct rlist *del, const struct range *r, bool is_add)
{
	struct rlist *same = is_add ? add : del, *other = is_add ? del : add;

	for (size_t i = 0; i < other->n; i++) {
		if (other->v[i].lo == r->lo && other->v[i].hi == r->hi) {
			other->v[i] = other->v[--other->n];
			return 0;
		}
	}
	return rl_push(same, r);
}

static void cache_parse(struct enf_cache *c)
{
	const struct hdr *h = (const void *)c->map;
	uint64_t dev, ino;
	char boot[40];
	size_t off, nj;
	const struct jrec *j;

	if (c->maplen < sizeof *h || memcmp(h->magic, MAGIC, 8) != 0)
		return;
	boot_id(boot);
	if (netns_id(&dev, &ino) < 0 || h->netns_dev != dev || h->netns_ino != ino ||
	    h->netns_cookie != netns_cookie() || strncmp(h->boot_id, boot, sizeof h->boot_id) != 0)
		return;
	if (h->nchains > c->maplen / sizeof(struct cchain) ||
	    recs_total(h) > c->maplen / sizeof(struct crec))
		return;
	off = sizeof *h + h->nchains * sizeof(struct cchain);
	off = (off + 15) & ~(size_t)15;
	if (off + recs_total(h) * sizeof(struct crec) > c->maplen)
		return;
	c->h = h;
	c->chains = (const void *)(c->map + sizeof *h);
	for (int s = 0; s < NSETS; s++) {
		c->recs[s] = (const void *)(c->map + off);
		off += h->nrec[s] * sizeof(struct crec);
	}
	c->genid = h->genid;
	/* the journal: only batches closed by their commit record count */
	j = (const void *)(c->map + off);
	nj = (c->maplen - off) / sizeof *j;
	size_t committed = 0;
	for (size_t i = 0; i < nj; i++) {
		if (j[i].op == J_COMMIT)
			committed = i + 1;
		else if ((j[i].op != J_ADD && j[i].op != J_DEL) || j[i].set >= NSETS)
			return;
	}
	for (size_t i = 0; i < committed; i++) {
		struct range r;
		if (j[i].op == J_COMMIT) {
			c->genid = j[i].genid;
			continue;
		}
		memset(&r, 0, sizeof r);
		r.lo = j[i].lo;
		r.hi = j[i].hi;
		if (net_put(&c->jadd[j[i].set], &c->jdel[j[i].set], &r, j[i].op == J_ADD) < 0)
			return;
	}
	/* a batch without its commit record: written, maybe not committed */
	c->valid = committed == nj;
}

/*
 * The lock of this namespace's enforcers.  flock() belongs to an open file,
 * so a process that already holds it (p25_enforce_lock around a registry
 * read and the update it leads to) would block on a second open: it is held
 * once per process, with a depth.  One thread of a process enforces.
 */
static struct {
	int fd;
	unsigned depth;
	pid_t pid; /* a forked child inherits the record, not the right to it */
	char path[280];
} held = {.fd = -1};

static int lock_path(const char *dir, char *out, size_t len, char *err, size_t errlen)
{
	uint64_t dev, ino;

	if (netns_id(&dev, &ino) < 0) {
		snprintf(err, errlen, "/proc/self/ns/net: %s", strerror(errno));
		return -1;
	}
	snprintf(out, len, "%s/enforce-%llu.lock", dir, (unsigned long long)ino);
	return 0;
}

int enf_lock(const char *dir, char *err, size_t errlen)
{
	char path[280];
	int fd;

	if (lock_path(dir, path, sizeof path, err, errlen) < 0)
		return -1;
	if (held.depth && held.pid != getpid()) {
		close(held.fd); /* the parent's open file: closing it here leaves the parent's lock */
		held.fd = -1;
		held.depth = 0;
	}
	if (held.depth) {
		if (strcmp(path, held.path) != 0) {
			snprintf(err, errlen, "%s: this process already holds %s", path, held.path);
			return -1;
		}
		held.depth++;
		return 0;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	held.fd = fd;
	held.depth = 1;
	held.pid = getpid();
	snprintf(held.path, sizeof held.path, "%s", path);
	return 0;
}

void enf_unlock(void)
{
	if (held.depth && held.pid != getpid()) {
		held.depth = 0;
		close(held.fd);
		held.fd = -1;
		return;
	}
	if (held.depth && --held.depth == 0) {
		close(held.fd); /* releases the lock */
		held.fd = -1;
	}
}

struct enf_cache *enf_cache_open(const char *dir, char *err, size_t errlen)
{
	struct enf_cache *c = calloc(1, sizeof *c);
	uint64_t dev, ino;
	struct stat sb;
	int fd;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (netns_id(&dev, &ino) < 0) {
		snprintf(err, errlen, "/proc/self/ns/net: %s", strerror(errno));
		free(c);
		return NULL;
	}
	if (enf_lock(dir, err, errlen) < 0) {
		free(c);
		return NULL;
	}
	c->locked = true;
	snprintf(c->path, sizeof c->path, "%s/enforce-%llu.state", dir, (unsigned long long)ino);
	snprintf(c->tmp, sizeof c->tmp, "%s.tmp", c->path);
	fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &sb) == 0 && sb.st_size > 0) {
		void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			c->map = m;
			c->maplen = (size_t)sb.st_size;
			cache_parse(c);
		}
	}
	if (fd >= 0)
		close(fd);
	return c;
}

void enf_cache_close(struct enf_cache *c)
{
	if (!c)
		return;
	if (c->map)
		munmap((void *)c->map, c->maplen);
	for (int s = 0; s < NSETS; s++) {
		free(c->jadd[s].v);
		free(c->jdel[s].v);
	}
	if (c->locked)
		enf_unlock();
	free(c);
}

bool enf_cache_valid(const struct enf_cache *c, uint32_t *genid)
{
	if (!c || !c->valid)
		return false;
	*genid = c->genid;
	return true;
}

bool enf_cache_journal(const struct enf_cache *c)
{
	for (int s = 0; c && s < NSETS; s++)
		if (c->jadd[s].n || c->jdel[s].n)
			return true;
	return false;
}

uint64_t enf_cache_table_handle(const struct enf_cache *c)
{
	return c && c->valid ? c->h->table_handle : 0;
}

uint64_t enf_cache_generation(const struct enf_cache *c)
{
	return c && c->valid ? c->h->generation : 0;
}

bool enf_cache_has_chain(const struct enf_cache *c, const char *name)
{
	size_t lo = 0, hi;

	if (!c || !c->valid)
		return false;
	hi = c->h->nchains;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strncmp(c->chains[mid].name, name, CHAIN_LEN);
		if (r == 0)
			return true;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static void rec_range(const struct enf_cache *c, const struct crec *r, struct range *out)
{
	memset(out, 0, sizeof *out);
	out->lo = r->lo;
	out->hi = r->hi;
	if (r->chain != NO_CHAIN && r->chain < c->h->nchains)
		snprintf(out->chain, sizeof out->chain, "%s", c->chains[r->chain].name);
}

int enf_cache_load(const struct enf_cache *c, struct st *s)
{
	memset(s, 0, sizeof *s);
	if (!c->valid)
		return -1;
	s->table = s->base = true;
	s->handle = c->h->table_handle;
	s->nbase = 2;
	snprintf(s->comment, sizeof s->comment, "port25 generation %llu",
		 (unsigned long long)c->h->generation);
	for (size_t i = 0; i < c->h->nchains; i++) {
		struct chain_st *ch = st_add_chain(s);
		if (!ch)
			return -1;
		memcpy(ch->name, c->chains[i].name, sizeof ch->name);
		memcpy(ch->sig, c->chains[i].sig, sizeof ch->sig);
		ch->name[CHAIN_LEN - 1] = ch->sig[SIG_LEN - 1] = '\0';
		ch->dir = c->chains[i].dir;
	}
	for (int set = 0; set < NSETS; set++) {
		struct rlist *l = &s->sets[set];
		const struct rlist *del = &c->jdel[set];
		for (size_t i = 0; i < c->h->nrec[set]; i++) {
			struct range r;
			bool gone = false;
			rec_range(c, &c->recs[set][i], &r);
			for (size_t k = 0; k < del->n && !gone; k++)
				gone = del->v[k].lo == r.lo && del->v[k].hi == r.hi;
			if (!gone && rl_push(l, &r) < 0)
				return -1;
		}
		for (size_t k = 0; k < c->jadd[set].n; k++)
			if (rl_push(l, &c->jadd[set].v[k]) < 0)
				return -1;
		if (c->jadd[set].n && l->n)
			qsort(l->v, l->n, sizeof *l->v, range_cmp);
	}
	return 0;
}

/* Blocks of one snapshot set intersecting [lo, hi], less dels, to out. */
static int view_set(const struct enf_cache *c, int set, p25_u128 lo, p25_u128 hi,
		    const struct rlist *dels, const struct rlist *adds, struct rlist *out)
{
	const struct crec *v = c->recs[set];
	size_t a = 0, b = c->h->nrec[set];

	/* the set's blocks are disjoint and sorted, so their ends are sorted too */
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (v[mid].hi < lo)
			a = mid + 1;
		else
			b = mid;
	}
	for (size_t i = a; i < c->h->nrec[set] && v[i].lo <= hi; i++) {
		bool gone = false;
		for (int k = 0; k < 2 && !gone; k++) {
			const struct rlist *d = k ? &c->jdel[set] : &dels[set];
			for (size_t x = 0; x < d->n && !gone; x++)
				gone = d->v[x].lo == v[i].lo && d->v[x].hi == v[i].hi;
		}
		if (!gone) {
			struct range r;
			rec_range(c, &v[i], &r);
			if (rl_push(out, &r) < 0)
				return -1;
		}
	}
	for (int k = 0; k < 2; k++) {
		const struct rlist *ad = k ? &adds[set] : &c->jadd[set];
		for (size_t x = 0; x < ad->n; x++) {
			if (ad->v[x].hi < lo || ad->v[x].lo > hi)
				continue;
			/* a journal addition the overlay deleted again */
			bool gone = false;
			for (size_t y = 0; k == 0 && y < dels[set].n && !gone; y++)
				gone = dels[set].v[y].lo == ad->v[x].lo && dels[set].v[y].hi == ad->v[x].hi;
			if (!gone && rl_push(out, &ad->v[x]) < 0)
				return -1;
		}
	}
	return 0;
}

int enf_overlay_view(void *ctx, int fam, p25_u128 lo, p25_u128 hi, struct rlist *out)
{
	const struct enf_overlay *ov = ctx;
	size_t first = out->n;

	if (view_set(ov->c, SET_PERMIT(fam), lo, hi, ov->del, ov->add, out) < 0 ||
	    view_set(ov->c, SET_HOSTS(fam), lo, hi, ov->del, ov->add, out) < 0)
		return -1;
	if (out->n - first > 1)
		qsort(out->v + first, out->n - first, sizeof *out->v, range_cmp);
	return 0;
}

int enf_overlay_put(struct enf_overlay *ov, int set, const struct range *r, bool add)
{
	return net_put(&ov->add[set], &ov->del[set], r, add);
}

void enf_overlay_free(struct enf_overlay *ov)
{
	for (int s = 0; s < NSETS; s++) {
		free(ov->add[s].v);
		free(ov->del[s].v);
	}
	memset(ov, 0, sizeof *ov);
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static uint32_t chain_index(const struct st *s, const char *name)
{
	size_t lo = 0, hi = s->nchains;

	if (!name[0])
		return NO_CHAIN;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(s->chains[mid].name, name);
		if (r == 0)
			return (uint32_t)mid;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NO_CHAIN - 1; /* a jump to a chain we do not know: not cacheable */
}

int enf_cache_store(struct enf_cache *c, const struct st *s, uint32_t genid, uint64_t table_handle,
		    uint64_t generation, const char *hash)
{
	struct hdr h;
	size_t off, cap = 1 << 16, n = 0;
	struct crec *buf = NULL;
	int fd, rc = -1;

	memset(&h, 0, sizeof h);
	memcpy(h.magic, MAGIC, 8);
	boot_id(h.boot_id);
	if (netns_id(&h.netns_dev, &h.netns_ino) < 0)
		return -1;
	h.netns_cookie = netns_cookie();
	h.table_handle = table_handle;
	h.generation = generation;
	h.genid = genid;
	h.nchains = (uint32_t)s->nchains;
	snprintf(h.hash, sizeof h.hash, "%s", hash ? hash : "");
	for (int i = 0; i < NSETS; i++)
		h.nrec[i] = s->sets[i].n;
	fd = open(c->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, &h, sizeof h) < 0)
		goto out;
	for (size_t i = 0; i < s->nchains; i++) {
		struct cchain cc;
		memset(&cc, 0, sizeof cc);
		snprintf(cc.name, sizeof cc.name, "%s", s->chains[i].name);
		snprintf(cc.sig, sizeof cc.sig, "%s", s->chains[i].sig);
		cc.dir = s->chains[i].dir;
		if (write_all(fd, &cc, sizeof cc) < 0)
			goto out;
	}
	off = sizeof h + s->nchains * sizeof(struct cchain);
	if (off % 16) {
		static const uint8_t zero[16];
		if (write_all(fd, zero, 16 - off % 16) < 0)
			goto out;
	}
	if (!(buf = malloc(cap * sizeof *buf)))
		goto out;
	for (int set = 0; set < NSETS; set++) {
		for (size_t i = 0; i < s->sets[set].n; i++) {
			const struct range *r = &s->sets[set].v[i];
			memset(&buf[n], 0, sizeof buf[n]);
			buf[n].lo = r->lo;
			buf[n].hi = r->hi;
			buf[n].chain = chain_index(s, r->chain);
			if (buf[n].chain == NO_CHAIN - 1)
				goto out;
			if (++n == cap) {
				if (write_all(fd, buf, n * sizeof *buf) < 0)
					goto out;
				n = 0;
			}
		}
	}
	if (n && write_all(fd, buf, n * sizeof *buf) < 0)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	rc = rename(c->tmp, c->path);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		unlink(c->tmp);
		unlink(c->path);
	}
	return rc;
}

int enf_cache_append(struct enf_cache *c, const struct enf_overlay *ov, uint32_t genid)
{
	struct jrec *j;
	size_t n = 1, k = 0;
	int fd, rc;

	for (int s = 0; s < NSETS; s++)
		n += ov->add[s].n + ov->del[s].n;
	if (!(j = calloc(n, sizeof *j)))
		return -1;
	for (int s = 0; s < NSETS; s++) {
		for (int a = 0; a < 2; a++) {
			const struct rlist *l = a ? &ov->add[s] : &ov->del[s];
			for (size_t i = 0; i < l->n; i++, k++) {
				j[k].op = a ? J_ADD : J_DEL;
				j[k].set = (uint32_t)s;
				j[k].lo = l->v[i].lo;
				j[k].hi = l->v[i].hi;
			}
		}
	}
	j[k].op = J_COMMIT;
	j[k].genid = genid;
	fd = open(c->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	/* one write: a torn one leaves a batch without its commit record, so no cache */
	rc = fd < 0 ? -1 : write_all(fd, j, n * sizeof *j);
	if (fd >= 0 && close(fd) < 0)
		rc = -1;
	free(j);
	if (rc < 0)
		unlink(c->path);
	return rc;
}

void enf_cache_forget(struct enf_cache *c)
{
	if (c) {
		unlink(c->path);
		c->valid = false;
	}
}

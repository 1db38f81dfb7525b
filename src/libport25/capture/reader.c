/*
 * pcap and pcapng reading over a sliding window.
 *
 * Every source is reduced to one window of bytes [win, win+len) whose first
 * byte sits at stream offset `base`.  A mapped or in-memory file is a single
 * window covering everything, so the parsers never copy; chunked and gzip
 * sources refill a private buffer, moving the unread tail to its front.  The
 * parsers ask for "n contiguous bytes at pos" and need not know which.
 *
 * A source that fails (gzip damage, read error) only marks itself ended and
 * keeps the message: the parsers first drain every whole record already
 * decoded, then report the failure, so no good packet is lost.
 */
#define ZLIB_CONST
#include "capture/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define DEFAULT_CHUNK ((size_t)1 << 20)
/* Bigger records or blocks are taken for corruption, not data. */
#define MAX_BLOCK ((uint32_t)64 << 20)
#define GZ_IN_CHUNK ((size_t)256 << 10)
/*
 * Taking a page fault per 4 KiB of a mapping costs more than copying the
 * bytes would; populating the page tables a window at a time, ahead of
 * the cursor, leaves mapping cheaper than read().
 */
#define POP_WINDOW ((size_t)32 << 20)
#define PREFETCH_AHEAD ((size_t)8 << 10)
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

#define PCAP_MAGIC_US	0xa1b2c3d4u
#define PCAP_MAGIC_NS	0xa1b23c4du
#define PCAP_MAGIC_KUZ	0xa1b2cd34u /* "modified" pcap: 24-byte records */
#define NG_SHB		0x0a0d0d0au
#define NG_BOM		0x1a2b3c4du
#define NG_IDB		1u
#define NG_OPB		2u
#define NG_SPB		3u
#define NG_EPB		6u

enum src_kind { SRC_MEM, SRC_FD, SRC_GZ };
enum state { ST_OK, ST_EOF, ST_ERR };

struct iface {
	uint32_t linktype;
	uint32_t snaplen;
	/* ts units to ns: ts*mul, or ts/div, or (ts*1e9)>>shift */
	uint64_t mul, div;
	uint8_t shift;
	bool binary;
	int64_t offset_ns;
};

struct p25_capture {
	char *name;
	enum src_kind src;
	int fd;
	bool own_fd;

	const uint8_t *win;
	size_t pos, len;
	uint64_t base;

	uint8_t *buf; /* window storage for SRC_FD and SRC_GZ */
	size_t cap, chunk;
	void *map;
	size_t maplen;
	bool mapped;
	size_t pop_mark; /* mapped: prefault the next window once pos passes this */
	size_t drop_mark; /* mapped: pages below this were handed back */
	size_t pf;	 /* SRC_MEM: prefetched up to here */
	bool src_eof;
	char src_err[256];

	/* gzip input: from memory (in_mem) or from fd through zin */
	z_stream z;
	bool zinit, gz, member_end;
	const uint8_t *in_mem;
	uint64_t in_len, in_pos;
	uint8_t *zin;

	enum state state;
	enum p25_capture_format fmt;
	uint64_t packets;

	/* classic pcap */
	bool swap;
	uint32_t linktype, snaplen, maxcap, tsmul;
	unsigned rechdr;

	/* pcapng, current section */
	struct iface *ifs;
	size_t nifs, ifcap;
	uint32_t first_link;

	char err[512];
};

static inline uint16_t ld16(const uint8_t *p, bool swap)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return swap ? __builtin_bswap16(v) : v;
}

static inline uint32_t ld32(const uint8_t *p, bool swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static inline uint64_t ld64(const uint8_t *p, bool swap)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return swap ? __builtin_bswap64(v) : v;
}

__attribute__((format(printf, 3, 4))) static int fail(struct p25_capture *c, uint64_t off,
						       const char *fmt, ...)
{
	char what[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(c->err, sizeof c->err, "%s: offset %" PRIu64 "%s: %s", c->name, off,
		 c->gz ? " (decompressed)" : "", what);
	c->state = ST_ERR;
	return -1;
}

static void src_fail(struct p25_capture *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void src_fail(struct p25_capture *c, const char *fmt, ...)
{
	va_list ap;
	if (!c->src_err[0]) {
		va_start(ap, fmt);
		vsnprintf(c->src_err, sizeof c->src_err, fmt, ap);
		va_end(ap);
	}
	c->src_eof = true;
}

static ssize_t read_full(int fd, uint8_t *p, size_t n)
{
	ssize_t r;
	do
		r = read(fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Next compressed input: 1 some, 0 none left, -1 read error. */
static int gz_feed(struct p25_capture *c)
{
	if (c->z.avail_in)
		return 1;
	if (c->in_mem) {
		uint64_t left = c->in_len - c->in_pos;
		if (!left)
			return 0;
		uInt n = left > (1u << 30) ? (1u << 30) : (uInt)left;
		c->z.next_in = c->in_mem + c->in_pos;
		c->z.avail_in = n;
		c->in_pos += n;
		return 1;
	}
	ssize_t n = read_full(c->fd, c->zin, GZ_IN_CHUNK);
	if (n < 0) {
		src_fail(c, "read error: %s", strerror(errno));
		return -1;
	}
	if (n == 0)
		return 0;
	c->z.next_in = c->zin;
	c->z.avail_in = (uInt)n;
	c->in_pos += (uint64_t)n;
	return 1;
}

static void gz_fill(struct p25_capture *c, size_t need)
{
	while (c->len < need && !c->src_eof) {
		if (c->member_end) {
			int f = gz_feed(c);
			/* Trailing bytes that do not start another member are
			 * ignored, as gzip -d does. */
			if (f <= 0 || c->z.next_in[0] != 0x1f) {
				c->src_eof = true;
				break;
			}
			inflateReset(&c->z);
			c->member_end = false;
		}
		if (!c->z.avail_in) {
			int f = gz_feed(c);
			if (f < 0)
				break;
			if (f == 0) {
				src_fail(c,
					 "gzip stream ends early at compressed offset %" PRIu64
					 " (file truncated?)",
					 c->in_pos);
				break;
			}
		}
		c->z.next_out = c->buf + c->len;
		c->z.avail_out = (uInt)(c->cap - c->len);
		int ret = inflate(&c->z, Z_NO_FLUSH);
		c->len = c->cap - c->z.avail_out;
		if (ret == Z_STREAM_END)
			c->member_end = true;
		else if (ret != Z_OK && ret != Z_BUF_ERROR)
			src_fail(c, "corrupt gzip data at compressed offset %" PRIu64 ": %s",
				 c->in_pos - c->z.avail_in, c->z.msg ? c->z.msg : "inflate failed");
	}
}

/*
 * Make at least need bytes available at pos if the source has them.
 * Returns -1 only when need cannot be buffered at all.
 */
static int refill(struct p25_capture *c, size_t need)
{
	if (c->src == SRC_MEM || c->src_eof)
		return 0;
	size_t have = c->len - c->pos;
	if (c->pos) {
		memmove(c->buf, c->buf + c->pos, have);
		c->base += c->pos;
		c->pos = 0;
		c->len = have;
	}
	if (need > c->cap) {
		size_t ncap = c->cap * 2 > need ? c->cap * 2 : need;
		uint8_t *nb = realloc(c->buf, ncap);
		if (!nb)
			return fail(c, c->base, "out of memory buffering %zu bytes", need);
		c->buf = nb;
		c->cap = ncap;
	}
	c->win = c->buf;
	if (c->src == SRC_GZ) {
		/* Fill up to a chunk at least, so small records do not mean
		 * small inflate calls. */
		size_t want = need > c->chunk ? need : c->chunk;
		gz_fill(c, want > c->cap ? c->cap : want);
		return 0;
	}
	while (c->len < need) {
		ssize_t n = read_full(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0) {
			src_fail(c, "read error: %s", strerror(errno));
			break;
		}
		if (n == 0) {
			c->src_eof = true;
			break;
		}
		c->len += (size_t)n;
	}
	return 0;
}

/* 1: n bytes at pos; 0: the source ended short; -1: error set. */
static inline int avail(struct p25_capture *c, size_t n)
{
	if (__builtin_expect(c->len - c->pos >= n, 1))
		return 1;
	if (refill(c, n) < 0)
		return -1;
	return c->len - c->pos >= n;
}

/*
 * The source ended with `have` bytes of an unfinished `what` at pos: clean
 * end of file when have is 0 and the source did not fail.
 */
static int ended(struct p25_capture *c, const char *what, size_t want)
{
	size_t have = c->len - c->pos;
	uint64_t off = c->base + c->pos;
	if (c->src_err[0]) {
		if (have)
			return fail(c, off, "%s; the %s here is incomplete (%zu of %zu bytes)",
				    c->src_err, what, have, want);
		return fail(c, off, "%s", c->src_err);
	}
	if (!have) {
		c->state = ST_EOF;
		return 0;
	}
	return fail(c, off, "file truncated inside a %s: %zu of %zu bytes present", what, have, want);
}

/* ---- classic pcap ---- */

static int pcap_header(struct p25_capture *c, uint32_t magic)
{
	int a = avail(c, 24);
	if (a < 0)
		return -1;
	if (!a)
		return fail(c, c->base + c->len, "file truncated inside the 24-byte pcap header");
	const uint8_t *p = c->win + c->pos;
	c->fmt = P25_FMT_PCAP;
	c->swap = magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS && magic != PCAP_MAGIC_KUZ;
	uint32_t m = c->swap ? __builtin_bswap32(magic) : magic;
	c->tsmul = m == PCAP_MAGIC_NS ? 1 : 1000;
	c->rechdr = m == PCAP_MAGIC_KUZ ? 24 : 16;
	uint16_t major = ld16(p + 4, c->swap);
	if (major != 2)
		return fail(c, 4, "unsupported pcap version %u.%u", major, ld16(p + 6, c->swap));
	c->snaplen = ld32(p + 16, c->swap);
	/* The top bits carry FCS information, not the link type. */
	c->linktype = ld32(p + 20, c->swap) & 0x03ffffff;
	c->maxcap = c->snaplen > 262144 ? c->snaplen : 262144;
	if (c->maxcap > MAX_BLOCK)
		c->maxcap = MAX_BLOCK;
	c->pos += 24;
	return 0;
}

static int pcap_next_rec(struct p25_capture *c, struct p25_packet *pkt)
{
	unsigned hl = c->rechdr;
	int a = avail(c, hl);
	if (a <= 0)
		return a < 0 ? -1 : ended(c, "packet record header", hl);
	const uint8_t *p = c->win + c->pos;
	uint32_t sec = ld32(p, c->swap), frac = ld32(p + 4, c->swap);
	uint32_t incl = ld32(p + 8, c->swap), orig = ld32(p + 12, c->swap);
	if (__builtin_expect(incl > c->maxcap, 0))
		return fail(c, c->base + c->pos,
			    "corrupt packet record: captured length %" PRIu32
			    " exceeds the snapshot length %" PRIu32,
			    incl, c->snaplen);
	size_t total = hl + (size_t)incl;
	a = avail(c, total);
	if (a <= 0)
		return a < 0 ? -1 : ended(c, "packet record", total);
	p = c->win + c->pos;
	pkt->ts_ns = (uint64_t)sec * 1000000000u + (uint64_t)frac * c->tsmul;
	pkt->data = p + hl;
	pkt->caplen = incl;
	pkt->origlen = orig;
	pkt->linktype = c->linktype;
	pkt->ifindex = 0;
	c->pos += total;
	return 1;
}

/* ---- pcapng ---- */

static const uint64_t pow10tab[20] = {
	1u,
	10u,
	100u,
	1000u,
	10000u,
	100000u,
	1000000u,
	10000000u,
	100000000u,
	1000000000u,
	10000000000u,
	100000000000u,
	1000000000000u,
	10000000000000u,
	100000000000000u,
	1000000000000000u,
	10000000000000000u,
	100000000000000000u,
	1000000000000000000u,
	10000000000000000000u,
};

static int ng_idb(struct p25_capture *c, const uint8_t *p, uint32_t blen, uint64_t off)
{
	if (blen < 20)
		return fail(c, off, "corrupt interface description block: length %" PRIu32, blen);
	struct iface f = { 0 };
	f.linktype = ld16(p + 8, c->swap);
	f.snaplen = ld32(p + 12, c->swap);
	f.mul = 1000; /* default resolution: microseconds */
	size_t o = 16, end = blen - 4;
	while (o + 4 <= end) {
		uint16_t code = ld16(p + o, c->swap), olen = ld16(p + o + 2, c->swap);
		if (code == 0)
			break;
		if (o + 4 + olen > end)
			return fail(c, off + o, "corrupt option %u in interface description block",
				    code);
		const uint8_t *v = p + o + 4;
		if (code == 9 && olen >= 1) { /* if_tsresol */
			unsigned e = v[0] & 0x7f;
			if (v[0] & 0x80) {
				f.binary = true;
				f.shift = (uint8_t)e;
			} else if (e <= 9) {
				f.mul = pow10tab[9 - e];
				f.div = 0;
			} else if (e <= 19) {
				f.mul = 0;
				f.div = pow10tab[e - 9];
			} else {
				return fail(c, off + o, "unsupported timestamp resolution 10^-%u", e);
			}
		} else if (code == 14 && olen == 8) { /* if_tsoffset, seconds */
			f.offset_ns = (int64_t)((uint64_t)ld64(v, c->swap) * 1000000000u);
		}
		o += 4 + (((size_t)olen + 3) & ~(size_t)3);
	}
	if (c->nifs == c->ifcap) {
		size_t ncap = c->ifcap ? c->ifcap * 2 : 4;
		struct iface *n = realloc(c->ifs, ncap * sizeof *n);
		if (!n)
			return fail(c, off, "out of memory");
		c->ifs = n;
		c->ifcap = ncap;
	}
	c->ifs[c->nifs++] = f;
	if (c->first_link == UINT32_MAX)
		c->first_link = f.linktype;
	return 0;
}

static inline uint64_t ng_ts(const struct iface *f, uint64_t ts)
{
	uint64_t ns;
	if (f->binary)
		ns = (uint64_t)(((unsigned __int128)ts * 1000000000u) >> f->shift);
	else if (f->mul)
		ns = ts * f->mul;
	else
		ns = ts / f->div;
	return ns + (uint64_t)f->offset_ns;
}

static int ng_shb(struct p25_capture *c, const uint8_t *p, uint64_t off)
{
	uint32_t bom;
	memcpy(&bom, p + 8, 4);
	if (bom == NG_BOM)
		c->swap = false;
	else if (bom == __builtin_bswap32(NG_BOM))
		c->swap = true;
	else
		return fail(c, off + 8, "bad byte-order magic 0x%08" PRIx32 " in section header block",
			    bom);
	return 0;
}

static int ng_next_block(struct p25_capture *c, struct p25_packet *pkt)
{
	for (;;) {
		int a = avail(c, 12);
		if (a < 0)
			return -1;
		if (!a) {
			/* 8 bytes are the least a block can have before its
			 * body; fewer is a torn header, more a torn block. */
			return ended(c, "block header", 12);
		}
		const uint8_t *p = c->win + c->pos;
		uint64_t off = c->base + c->pos;
		uint32_t type = ld32(p, c->swap);
		if (type == NG_SHB && ng_shb(c, p, off) < 0)
			return -1;
		uint32_t blen = ld32(p + 4, c->swap);
		if (blen < 12 || blen % 4)
			return fail(c, off, "corrupt block of type 0x%08" PRIx32 ": length %" PRIu32,
				    type, blen);
		if (blen > MAX_BLOCK)
			return fail(c, off,
				    "corrupt block of type 0x%08" PRIx32 ": implausible length %" PRIu32,
				    type, blen);
		a = avail(c, blen);
		if (a <= 0)
			return a < 0 ? -1 : ended(c, "block", blen);
		p = c->win + c->pos;
		uint32_t trail = ld32(p + blen - 4, c->swap);
		if (trail != blen)
			return fail(c, off,
				    "corrupt block of type 0x%08" PRIx32 ": length %" PRIu32
				    " at the start but %" PRIu32 " at the end",
				    type, blen, trail);
		switch (type) {
		case NG_EPB:
		case NG_OPB: {
			if (blen < 32)
				return fail(c, off, "corrupt packet block: length %" PRIu32, blen);
			uint32_t ifid = type == NG_EPB ? ld32(p + 8, c->swap) : ld16(p + 8, c->swap);
			uint32_t hi = ld32(p + 12, c->swap), lo = ld32(p + 16, c->swap);
			uint32_t cap = ld32(p + 20, c->swap), orig = ld32(p + 24, c->swap);
			if (cap > blen - 32)
				return fail(c, off,
					    "corrupt packet block: captured length %" PRIu32
					    " exceeds the block (%" PRIu32 " bytes)",
					    cap, blen);
			if (ifid >= c->nifs)
				return fail(c, off,
					    "packet block names interface %" PRIu32
					    " but the section defines %zu",
					    ifid, c->nifs);
			const struct iface *f = &c->ifs[ifid];
			pkt->ts_ns = ng_ts(f, (uint64_t)hi << 32 | lo);
			pkt->data = p + 28;
			pkt->caplen = cap;
			pkt->origlen = orig;
			pkt->linktype = f->linktype;
			pkt->ifindex = ifid;
			c->pos += blen;
			return 1;
		}
		case NG_SPB: {
			if (blen < 16)
				return fail(c, off, "corrupt simple packet block: length %" PRIu32, blen);
			if (!c->nifs)
				return fail(c, off, "simple packet block before any interface");
			const struct iface *f = &c->ifs[0];
			uint32_t orig = ld32(p + 8, c->swap), cap = orig;
			if (f->snaplen && cap > f->snaplen)
				cap = f->snaplen;
			if (cap > blen - 16)
				cap = blen - 16;
			pkt->ts_ns = 0; /* SPBs carry no time */
			pkt->data = p + 12;
			pkt->caplen = cap;
			pkt->origlen = orig;
			pkt->linktype = f->linktype;
			pkt->ifindex = 0;
			c->pos += blen;
			return 1;
		}
		case NG_SHB: {
			if (blen < 28)
				return fail(c, off, "corrupt section header block: length %" PRIu32, blen);
			uint16_t major = ld16(p + 12, c->swap);
			if (major != 1)
				return fail(c, off, "unsupported pcapng version %u.%u", major,
					    ld16(p + 14, c->swap));
			c->nifs = 0;
			break;
		}
		case NG_IDB:
			if (ng_idb(c, p, blen, off) < 0)
				return -1;
			break;
		default:
			/* Statistics, name resolution, custom and unknown
			 * blocks: nothing for us. */
			break;
		}
		c->pos += blen;
	}
}

/* ---- opening ---- */

static struct p25_capture *new_capture(const char *name, char *err, size_t errlen)
{
	struct p25_capture *c = calloc(1, sizeof *c);
	if (c)
		c->name = strdup(name);
	if (!c || !c->name) {
		free(c);
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	c->fd = -1;
	c->pop_mark = SIZE_MAX;
	c->first_link = UINT32_MAX;
	c->chunk = DEFAULT_CHUNK;
	return c;
}

static int start_gzip(struct p25_capture *c)
{
	c->src = SRC_GZ;
	c->gz = true;
	c->cap = c->chunk * 2;
	c->buf = malloc(c->cap);
	if (!c->buf || inflateInit2(&c->z, 15 + 16) != Z_OK)
		return fail(c, 0, "cannot start gzip decompression");
	c->zinit = true;
	c->win = c->buf;
	c->pos = c->len = 0;
	c->base = 0;
	return 0;
}

/* Identify the format; the window holds the start of the (decompressed) stream. */
static int start(struct p25_capture *c)
{
	int a = avail(c, 4);
	if (a < 0)
		return -1;
	if (!a) {
		if (c->src_err[0])
			return fail(c, 0, "%s", c->src_err);
		return fail(c, 0, "too short for a capture file (%zu bytes)", c->len - c->pos);
	}
	const uint8_t *p = c->win + c->pos;
	uint32_t m;
	memcpy(&m, p, 4);
	if (m == PCAP_MAGIC_US || m == PCAP_MAGIC_NS || m == PCAP_MAGIC_KUZ ||
	    m == __builtin_bswap32(PCAP_MAGIC_US) || m == __builtin_bswap32(PCAP_MAGIC_NS) ||
	    m == __builtin_bswap32(PCAP_MAGIC_KUZ))
		return pcap_header(c, m);
	if (m == NG_SHB) {
		c->fmt = P25_FMT_PCAPNG;
		a = avail(c, 12);
		if (a < 0)
			return -1;
		if (!a)
			return fail(c, 0, "file truncated inside the pcapng section header");
		return ng_shb(c, c->win + c->pos, 0);
	}
	return fail(c, 0,
		    "not a pcap or pcapng file (starts with %02x %02x %02x %02x; "
		    "expected a pcap magic such as d4 c3 b2 a1, pcapng 0a 0d 0d 0a, or gzip 1f 8b)",
		    p[0], p[1], p[2], p[3]);
}

static struct p25_capture *finish_open(struct p25_capture *c, char *err, size_t errlen)
{
	if (start(c) < 0) {
		snprintf(err, errlen, "%s", c->err);
		p25_capture_close(c);
		return NULL;
	}
	return c;
}

static bool is_gzip(const uint8_t *p, size_t n)
{
	return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

struct p25_capture *p25_capture_open_mem(const void *buf, size_t len, const char *name, char *err,
					 size_t errlen)
{
	struct p25_capture *c = new_capture(name ? name : "(memory)", err, errlen);
	if (!c)
		return NULL;
	if (is_gzip(buf, len)) {
		c->in_mem = buf;
		c->in_len = len;
		if (start_gzip(c) < 0)
			return finish_open(c, err, errlen);
	} else {
		c->src = SRC_MEM;
		c->win = buf;
		c->len = len;
	}
	return finish_open(c, err, errlen);
}

struct p25_capture *p25_capture_open_ex(const char *path, unsigned flags, size_t chunk, char *err,
					size_t errlen)
{
	struct p25_capture *c = new_capture(path, err, errlen);
	if (!c)
		return NULL;
	if (chunk)
		c->chunk = chunk < MAX_BLOCK ? chunk : MAX_BLOCK; /* zlib counts in 32 bits */
	if (strcmp(path, "-") == 0) {
		c->fd = 0;
	} else {
		c->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (c->fd < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			p25_capture_close(c);
			return NULL;
		}
		c->own_fd = true;
	}
	struct stat st;
	if (fstat(c->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size <= SIZE_MAX && !(flags & P25_CAPTURE_NO_MMAP)) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, c->fd, 0);
		if (m != MAP_FAILED) {
			c->map = m;
			c->maplen = (size_t)st.st_size;
			c->mapped = true;
			madvise(m, c->maplen, MADV_SEQUENTIAL);
			if (is_gzip(m, c->maplen)) {
				c->in_mem = m;
				c->in_len = c->maplen;
				start_gzip(c);
			} else {
				c->src = SRC_MEM;
				c->win = m;
				c->len = c->maplen;
				/* Page-aligned windows: [0, W) now, then [k*W + W/2 ...) */
				madvise(m, c->maplen < POP_WINDOW ? c->maplen : POP_WINDOW,
					MADV_POPULATE_READ);
				c->pop_mark = POP_WINDOW / 2;
			}
			return finish_open(c, err, errlen);
		}
	}
	if (S_ISREG(st.st_mode))
		posix_fadvise(c->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	c->src = SRC_FD;
	c->cap = c->chunk * 2;
	c->buf = malloc(c->cap);
	if (!c->buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		p25_capture_close(c);
		return NULL;
	}
	c->win = c->buf;
	if (refill(c, 2) == 0 && is_gzip(c->win, c->len)) {
		/* What was read is compressed input; hand it to zlib. */
		size_t n = c->len;
		c->zin = malloc(n > GZ_IN_CHUNK ? n : GZ_IN_CHUNK);
		if (!c->zin) {
			snprintf(err, errlen, "%s: out of memory", path);
			p25_capture_close(c);
			return NULL;
		}
		memcpy(c->zin, c->buf, n);
		free(c->buf);
		c->buf = NULL;
		if (start_gzip(c) == 0) {
			c->z.next_in = c->zin;
			c->z.avail_in = (uInt)n;
			c->in_pos = n;
			c->src_eof = false;
		}
	}
	return finish_open(c, err, errlen);
}

struct p25_capture *p25_capture_open(const char *path, char *err, size_t errlen)
{
	return p25_capture_open_ex(path, 0, 0, err, errlen);
}

void p25_capture_close(struct p25_capture *c)
{
	if (!c)
		return;
	if (c->zinit)
		inflateEnd(&c->z);
	if (c->map)
		munmap(c->map, c->maplen);
	if (c->own_fd && c->fd >= 0)
		close(c->fd);
	free(c->zin);
	free(c->buf);
	free(c->ifs);
	free(c->name);
	free(c);
}

static void populate(struct p25_capture *c)
{
	size_t from = c->pop_mark + POP_WINDOW / 2;
	/*
	 * Hand back the pages a window behind the cursor: they stay in the page
	 * cache, but the process's resident size stays a few windows instead of
	 * growing to the file's size, and the page tables are torn down here
	 * rather than all at once in munmap.  64 KiB alignment suits any page size.
	 */
	if (c->pos > POP_WINDOW) {
		size_t upto = (c->pos - POP_WINDOW) & ~(size_t)0xffff;
		if (upto > c->drop_mark) {
			madvise((uint8_t *)c->map + c->drop_mark, upto - c->drop_mark, MADV_DONTNEED);
			c->drop_mark = upto;
		}
	}
	if (from >= c->maplen) {
		c->pop_mark = SIZE_MAX;
		return;
	}
	size_t n = c->maplen - from < POP_WINDOW ? c->maplen - from : POP_WINDOW;
	/* Old kernels say EINVAL: then faults do the work, as before. */
	madvise((uint8_t *)c->map + from, n, MADV_POPULATE_READ);
	c->pop_mark += POP_WINDOW;
}

int p25_capture_next(struct p25_capture *c, struct p25_packet *pkt)
{
	if (__builtin_expect(c->state != ST_OK, 0))
		return c->state == ST_EOF ? 0 : -1;
	if (__builtin_expect(c->pos >= c->pop_mark, 0))
		populate(c);
	if (c->src == SRC_MEM) {
		/*
		 * Walking a mapping touches one or two lines per packet, too
		 * sparse for the hardware prefetcher: each record header
		 * would be a trip to memory.  Stream the lines ahead instead.
		 */
		size_t end = c->pos + PREFETCH_AHEAD;
		if (end > c->len)
			end = c->len;
		if (c->pf < c->pos)
			c->pf = c->pos & ~(size_t)63;
		for (; c->pf < end; c->pf += 64)
			__builtin_prefetch(c->win + c->pf);
	}
	int r = c->fmt == P25_FMT_PCAP ? pcap_next_rec(c, pkt) : ng_next_block(c, pkt);
	if (__builtin_expect(r == 1, 1))
		c->packets++;
	return r;
}

int p25_capture_foreach(struct p25_capture *c, p25_packet_fn fn, void *ctx)
{
	struct p25_packet pkt;
	int r;
	while ((r = p25_capture_next(c, &pkt)) == 1) {
		int s = fn(ctx, &pkt);
		if (s)
			return s;
	}
	return r;
}

const char *p25_capture_strerror(const struct p25_capture *c)
{
	return c->err[0] ? c->err : "no error";
}

enum p25_capture_format p25_capture_format(const struct p25_capture *c)
{
	return c->fmt;
}

uint32_t p25_capture_linktype(const struct p25_capture *c)
{
	return c->fmt == P25_FMT_PCAP ? c->linktype : c->first_link;
}

uint64_t p25_capture_offset(const struct p25_capture *c)
{
	return c->base + c->pos;
}

uint64_t p25_capture_packets(const struct p25_capture *c)
{
	return c->packets;
}

int p25_capture_is_gzip(const struct p25_capture *c)
{
	return c->gz;
}

int p25_capture_is_mapped(const struct p25_capture *c)
{
	return c->mapped;
}

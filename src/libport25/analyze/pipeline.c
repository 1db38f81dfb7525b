/*
 * Reading a capture file for the analyzer, on two cores when there are two.
 *
 * Nearly all of a capture is traffic the analyzer ignores, and finding the
 * few SMTP segments among it (walking the records, decoding the headers)
 * costs as much as analysing them.  So a decode thread walks the file and
 * hands only the TCP segments on SMTP ports, payload copied, to the
 * calling thread in blocks; the calling thread analyses them in the file's
 * order, so the results are the same as with one thread.  Blocks cycle
 * through a small fixed set: memory stays bounded whatever the file size.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/analyze_int.h"
#include "capture/capture.h"

#define BLOCK_SEGS  512
#define BLOCK_BYTES (1u << 20) /* payload room: any one segment (< 64 kB) fits an empty block */
#define NBLOCKS     8
/* Segments ahead whose hash slots (far) and records (near) are loaded early. */
#define PREFETCH_FAR  8
#define PREFETCH_NEAR 4

struct seg_block {
	size_t nsegs, used;
	struct p25_tcp_segment segs[BLOCK_SEGS];
	uint8_t bytes[BLOCK_BYTES];
};

/* Blocks move from the free list to the full queue (decoder) and back (analyzer). */
struct pipeline {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct seg_block *free_list[NBLOCKS], *full[NBLOCKS];
	size_t nfree, full_head, nfull;
	bool done; /* the decoder has queued its last block */
	bool stop; /* the analyzer gives up (not used on the normal path) */

	struct p25_capture *cap;
	const struct p25_port_filter *filter;
	struct p25_decode_stats decode; /* the decoder's own, added at the end */
	int rc;                         /* p25_capture_next's last result */
};

static struct seg_block *take_free(struct pipeline *pl)
{
	struct seg_block *b = NULL;

	pthread_mutex_lock(&pl->lock);
	while (pl->nfree == 0 && !pl->stop)
		pthread_cond_wait(&pl->changed, &pl->lock);
	if (pl->nfree)
		b = pl->free_list[--pl->nfree];
	pthread_mutex_unlock(&pl->lock);
	if (b)
		b->nsegs = b->used = 0;
	return b;
}

static void put_full(struct pipeline *pl, struct seg_block *b, bool last)
{
	pthread_mutex_lock(&pl->lock);
	if (b)
		pl->full[(pl->full_head + pl->nfull++) % NBLOCKS] = b;
	if (last)
		pl->done = true;
	pthread_cond_broadcast(&pl->changed);
	pthread_mutex_unlock(&pl->lock);
}

static void *decode_thread(void *arg)
{
	struct pipeline *pl = arg;
	struct seg_block *b = take_free(pl);
	struct p25_packet pkt;
	struct p25_tcp_segment s;

	while (b && (pl->rc = p25_capture_next(pl->cap, &pkt)) == 1) {
		if (p25_decode_tcp(&pkt, pl->filter, &s, &pl->decode) != P25_DEC_TCP)
			continue;
		if (b->nsegs == BLOCK_SEGS || BLOCK_BYTES - b->used < s.payload_len) {
			put_full(pl, b, false);
			if (!(b = take_free(pl)))
				break;
		}
		if (s.payload_len) {
			memcpy(b->bytes + b->used, s.payload, s.payload_len);
			s.payload = b->bytes + b->used;
			b->used += s.payload_len;
		}
		b->segs[b->nsegs++] = s;
	}
	put_full(pl, b && b->nsegs ? b : NULL, true);
	if (b && !b->nsegs) {
		pthread_mutex_lock(&pl->lock);
		pl->free_list[pl->nfree++] = b;
		pthread_mutex_unlock(&pl->lock);
	}
	return NULL;
}

static void decode_stats_add(struct p25_decode_stats *to, const struct p25_decode_stats *from)
{
	to->packets += from->packets;
	to->bytes += from->bytes;
	for (int i = 0; i < P25_DEC_NREASONS; i++)
		to->count[i] += from->count[i];
}

/* The file on two threads: p25_capture_next's last result, or -2 when no thread could start. */
static int read_pipelined(struct p25_analyzer *a, struct p25_capture *cap)
{
	struct pipeline pl = {.cap = cap, .filter = &a->filter};
	struct seg_block *blocks = calloc(NBLOCKS, sizeof *blocks);
	pthread_t tid;
	int rc = -2;

	if (!blocks)
		return -2;
	pthread_mutex_init(&pl.lock, NULL);
	pthread_cond_init(&pl.changed, NULL);
	for (size_t i = 0; i < NBLOCKS; i++)
		pl.free_list[pl.nfree++] = &blocks[i];
	if (pthread_create(&tid, NULL, decode_thread, &pl) != 0)
		goto out;
	for (;;) {
		struct seg_block *b = NULL;
		pthread_mutex_lock(&pl.lock);
		while (pl.nfull == 0 && !pl.done)
			pthread_cond_wait(&pl.changed, &pl.lock);
		if (pl.nfull) {
			b = pl.full[pl.full_head];
			pl.full_head = (pl.full_head + 1) % NBLOCKS;
			pl.nfull--;
		}
		pthread_mutex_unlock(&pl.lock);
		if (!b)
			break;
		for (size_t i = 0; i < b->nsegs; i++) {
			if (i + PREFETCH_FAR < b->nsegs)
				p25_an_prefetch(a, &b->segs[i + PREFETCH_FAR], 0);
			if (i + PREFETCH_NEAR < b->nsegs)
				p25_an_prefetch(a, &b->segs[i + PREFETCH_NEAR], 1);
			p25_an_segment(a, &b->segs[i]);
		}
		pthread_mutex_lock(&pl.lock);
		pl.free_list[pl.nfree++] = b;
		pthread_cond_broadcast(&pl.changed);
		pthread_mutex_unlock(&pl.lock);
	}
	pthread_join(tid, NULL);
	decode_stats_add(&a->stats.decode, &pl.decode);
	rc = pl.rc;
out:
	pthread_cond_destroy(&pl.changed);
	pthread_mutex_destroy(&pl.lock);
	free(blocks);
	return rc;
}

void p25_an_set_threads(struct p25_analyzer *a, unsigned threads)
{
	a->threads = threads ? threads : 1;
}

unsigned p25_an_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 1 ? 2 : 1;
}

int p25_an_read_capture(struct p25_analyzer *a, const char *path, char *err, size_t errlen)
{
	struct p25_capture *cap = p25_capture_open(path, err, errlen);
	struct p25_packet pkt;
	int rc = -2;

	a->stats.files++;
	if (!cap) {
		a->stats.files_failed++;
		return -1;
	}
	if (a->threads > 1)
		rc = read_pipelined(a, cap);
	if (rc == -2) /* one thread, or none could be started: nothing was read yet */
		while ((rc = p25_capture_next(cap, &pkt)) == 1)
			p25_an_packet(a, &pkt);
	if (rc < 0) {
		snprintf(err, errlen, "%s", p25_capture_strerror(cap));
		a->stats.files_failed++;
	}
	p25_capture_close(cap);
	return rc < 0 ? -1 : 0;
}

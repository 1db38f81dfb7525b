/*
 * Reading capture files for the analyzer, on two cores when there are two.
 *
 * Nearly all of a capture is traffic the analyzer ignores, and finding the
 * few SMTP segments or flow records among it (walking the records,
 * decoding headers or templates) costs as much as analysing them.  So a
 * reader thread walks the file and hands only what concerns SMTP ports,
 * copied, to the calling thread in blocks; the calling thread analyses it
 * in the file's order and with the same batch boundaries, so the results
 * are the same as with one thread.  Blocks cycle through a small fixed
 * set: memory stays bounded whatever the file size.
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
#define BLOCK_FLOWS 2048       /* a multiple of the decoder's batches (P25_FLOW_BATCH) */
#define NBLOCKS     8
/* Segments ahead whose hash slots (far) and records (near) are loaded early. */
#define PREFETCH_FAR  8
#define PREFETCH_NEAR 4

struct block {
	size_t n;      /* segments or flow records */
	size_t used;   /* payload bytes (segments) */
	uint64_t seen; /* flow records the decoder gave, SMTP or not */
	size_t nbatches;
	uint16_t batch_end[BLOCK_FLOWS]; /* where each decoder batch's records end */
	union {
		struct {
			struct p25_tcp_segment segs[BLOCK_SEGS];
			uint8_t bytes[BLOCK_BYTES];
		};
		struct p25_flow flows[BLOCK_FLOWS];
	};
};

/* Blocks move from the free list to the full queue (reader) and back (analyzer). */
struct pipeline {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct block *free_list[NBLOCKS], *full[NBLOCKS];
	size_t nfree, full_head, nfull;
	bool done; /* the reader has queued its last block */

	struct block *cur; /* the reader's block being filled */
	/* packet captures */
	struct p25_capture *cap;
	const struct p25_port_filter *filter;
	struct p25_decode_stats decode; /* the reader's own, added at the end */
	int rc;                         /* p25_capture_next's last result */
	/* captures of flow export packets */
	const char *path;
	uint16_t port;
	struct p25_flow_decoder *dec;
	long frc;
	char err[512];
};

static struct block *take_free(struct pipeline *pl)
{
	struct block *b;

	pthread_mutex_lock(&pl->lock);
	while (pl->nfree == 0)
		pthread_cond_wait(&pl->changed, &pl->lock);
	b = pl->free_list[--pl->nfree];
	pthread_mutex_unlock(&pl->lock);
	b->n = b->used = b->nbatches = 0;
	b->seen = 0;
	return b;
}

/* Queue b (may be NULL); last: nothing more will come. */
static void put_full(struct pipeline *pl, struct block *b, bool last)
{
	pthread_mutex_lock(&pl->lock);
	if (b)
		pl->full[(pl->full_head + pl->nfull++) % NBLOCKS] = b;
	if (last)
		pl->done = true;
	pthread_cond_broadcast(&pl->changed);
	pthread_mutex_unlock(&pl->lock);
}

/* The next block to analyse, or NULL when the reader is done. */
static struct block *take_full(struct pipeline *pl)
{
	struct block *b = NULL;

	pthread_mutex_lock(&pl->lock);
	while (pl->nfull == 0 && !pl->done)
		pthread_cond_wait(&pl->changed, &pl->lock);
	if (pl->nfull) {
		b = pl->full[pl->full_head];
		pl->full_head = (pl->full_head + 1) % NBLOCKS;
		pl->nfull--;
	}
	pthread_mutex_unlock(&pl->lock);
	return b;
}

static void give_back(struct pipeline *pl, struct block *b)
{
	pthread_mutex_lock(&pl->lock);
	pl->free_list[pl->nfree++] = b;
	pthread_cond_broadcast(&pl->changed);
	pthread_mutex_unlock(&pl->lock);
}

/* The reader's last block: queued if it holds anything, else returned. */
static void finish_reader(struct pipeline *pl)
{
	struct block *b = pl->cur;

	if (b && (b->n || b->seen)) {
		put_full(pl, b, true);
	} else {
		if (b)
			give_back(pl, b);
		put_full(pl, NULL, true);
	}
	pl->cur = NULL;
}

static void *segment_reader(void *arg)
{
	struct pipeline *pl = arg;
	struct p25_packet pkt;
	struct p25_tcp_segment s;

	pl->cur = take_free(pl);
	while ((pl->rc = p25_capture_next(pl->cap, &pkt)) == 1) {
		struct block *b = pl->cur;
		if (p25_decode_tcp(&pkt, pl->filter, &s, &pl->decode) != P25_DEC_TCP)
			continue;
		if (b->n == BLOCK_SEGS || BLOCK_BYTES - b->used < s.payload_len) {
			put_full(pl, b, false);
			b = pl->cur = take_free(pl);
		}
		if (s.payload_len) {
			memcpy(b->bytes + b->used, s.payload, s.payload_len);
			s.payload = b->bytes + b->used;
			b->used += s.payload_len;
		}
		b->segs[b->n++] = s;
	}
	finish_reader(pl);
	return NULL;
}

/* The decoder's callback on the reader thread: keep SMTP records, and the batch's end. */
static void keep_flows(void *arg, const struct p25_flow *f, size_t n)
{
	struct pipeline *pl = arg;
	struct block *b = pl->cur;
	size_t start;

	if (BLOCK_FLOWS - b->n < n) {
		put_full(pl, b, false);
		b = pl->cur = take_free(pl);
	}
	start = b->n;
	b->seen += n;
	for (size_t i = 0; i < n; i++)
		if (p25_an_flow_wanted(&f[i]))
			b->flows[b->n++] = f[i];
	if (b->n > start)
		b->batch_end[b->nbatches++] = (uint16_t)b->n;
}

static void *flow_reader(void *arg)
{
	struct pipeline *pl = arg;

	pl->cur = take_free(pl);
	pl->frc = p25_flow_read_pcap(pl->path, pl->port, pl->dec, keep_flows, pl, pl->err,
	                             sizeof pl->err);
	finish_reader(pl);
	return NULL;
}

void p25_an_segments(struct p25_analyzer *a, const struct p25_tcp_segment *segs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i + PREFETCH_FAR < n)
			p25_an_prefetch(a, &segs[i + PREFETCH_FAR], 0);
		if (i + PREFETCH_NEAR < n)
			p25_an_prefetch(a, &segs[i + PREFETCH_NEAR], 1);
		p25_an_segment(a, &segs[i]);
	}
}

static void analyse_segments(struct p25_analyzer *a, const struct block *b)
{
	p25_an_segments(a, b->segs, b->n);
}

static void analyse_flows(struct p25_analyzer *a, const struct block *b)
{
	size_t from = 0;

	/* Records the reader left out were counted as seen, as p25_an_flows would. */
	a->stats.flows += b->seen - b->n;
	for (size_t k = 0; k < b->nbatches; k++) {
		p25_an_flows(a, b->flows + from, b->batch_end[k] - from);
		from = b->batch_end[k];
	}
}

static void decode_stats_add(struct p25_decode_stats *to, const struct p25_decode_stats *from)
{
	to->packets += from->packets;
	to->bytes += from->bytes;
	to->tcp_options_cut += from->tcp_options_cut;
	for (int i = 0; i < P25_DEC_NREASONS; i++)
		to->count[i] += from->count[i];
}

/* Run reader on its thread and analyse what it queues; false when no thread could start. */
static bool run_pipeline(struct p25_analyzer *a, struct pipeline *pl, void *(*reader)(void *),
                         void (*analyse)(struct p25_analyzer *, const struct block *))
{
	struct block *blocks = malloc(NBLOCKS * sizeof *blocks);
	struct block *b;
	pthread_t tid;
	bool ran = false;

	if (!blocks)
		return false;
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->changed, NULL);
	for (size_t i = 0; i < NBLOCKS; i++)
		pl->free_list[pl->nfree++] = &blocks[i];
	if (pthread_create(&tid, NULL, reader, pl) == 0) {
		while ((b = take_full(pl))) {
			analyse(a, b);
			give_back(pl, b);
		}
		pthread_join(tid, NULL);
		ran = true;
	}
	pthread_cond_destroy(&pl->changed);
	pthread_mutex_destroy(&pl->lock);
	free(blocks);
	return ran;
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
	int rc;

	a->stats.files++;
	if (!cap) {
		a->stats.files_failed++;
		return -1;
	}
	struct pipeline pl = {.cap = cap, .filter = &a->filter};
	if (a->threads > 1 && run_pipeline(a, &pl, segment_reader, analyse_segments)) {
		decode_stats_add(&a->stats.decode, &pl.decode);
		rc = pl.rc;
	} else {
		while ((rc = p25_capture_next(cap, &pkt)) == 1)
			p25_an_packet(a, &pkt);
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s", p25_capture_strerror(cap));
		a->stats.files_failed++;
	}
	p25_capture_close(cap);
	return rc < 0 ? -1 : 0;
}

long p25_an_read_flow_capture(struct p25_analyzer *a, struct p25_flow_decoder *dec,
                              const char *path, uint16_t port, char *err, size_t errlen)
{
	struct pipeline pl = {.path = path, .port = port, .dec = dec};

	if (a->threads > 1 && run_pipeline(a, &pl, flow_reader, analyse_flows)) {
		if (pl.frc < 0)
			snprintf(err, errlen, "%s", pl.err);
		return pl.frc;
	}
	return p25_flow_read_pcap(path, port, dec, p25_an_flows, a, err, errlen);
}

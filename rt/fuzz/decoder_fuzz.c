/* libFuzzer target: the runtime's decoding of what reaches it over the
 * update channel (rt/loom.h, docs/fuzzing.md).
 *
 * The runtime is compiled in here, as in a rewritten program, for a made-up
 * manifest of FUZZ_NHOOKS hooks and FUZZ_NFUNCS functions.  Its constructor
 * opens no channel (LOOM_DISABLE, set before it runs): no socket, no engine
 * thread.  The first byte of an input says what the rest is:
 *
 *   bit 0 clear: a filter image, as a sealed memfd holds it.  It goes to
 *     loom__validate_image; an image that passes goes on to what the runtime
 *     does with a valid one (loom__make_filter, loom__build_table,
 *     loom__set_switches), each checked against the image and ASan.
 *   bit 0 set: a connection.  Bytes 1-2 (little-endian) are how many of the
 *     bytes after them the CLI sends on the socket; the rest is a filter image
 *     put in a memfd.  Bits 1-4 choose the descriptors sent along (enum
 *     fdset), bit 5 sends them with the second half of the bytes rather than
 *     the first.  The peer then shuts its side and loom__serve, the engine's
 *     handler for one connection, runs on the other end of a socketpair in
 *     this thread: credentials, hello, header, payload, ancillary data, PUSH
 *     (seals, mapping, validation), POP and LIST.  The eventfd is never
 *     signalled, so nothing can be committed: no evacuation, no thread.
 *
 * Invariants, each an abort (a crash for libFuzzer): a rejected image says
 * why with a status; an accepted one has every index in range and builds a
 * table whose ops point at its own locks; a connection gets a well-formed
 * hello, then exactly one well-formed answer (a reply that is never OK, or a
 * listing of no filter) when the request was complete and nothing when it
 * was cut short; afterwards no filter is installed and no descriptor is
 * left open.
 *
 * `decoder_fuzz --write-seeds=DIR` writes the seed inputs (rt/fuzz/seeds)
 * from the wire structs below, so that they follow the format. */
#define FUZZ_NHOOKS 64u
#define FUZZ_NFUNCS 8u
#define LOOM_MANIFEST_ID "f022f022f022f022"
#define LOOM_MANIFEST_PATH "/nonexistent/loom-manifest.json"
#define LOOM_NHOOKS FUZZ_NHOOKS
#define LOOM_NFUNCS FUZZ_NFUNCS
#include "loom.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What goes along with a message (bits 1-4 of the first byte, modulo
 * NFDSETS). */
enum fdset {
	FDS_NONE,
	FDS_PUSH,        /* eventfd, sealed memfd with the image: what loom push sends */
	FDS_EVENTFD,     /* the eventfd alone */
	FDS_MEMFD,       /* the memfd alone */
	FDS_UNSEALED,    /* eventfd, memfd without seals */
	FDS_SWAPPED,     /* memfd, eventfd */
	FDS_THREE,       /* eventfd, memfd, eventfd: one too many */
	FDS_EMPTY,       /* eventfd, a sealed memfd of 0 bytes */
	FDS_MANY,        /* more eventfds than the runtime's control buffer holds */
	NFDSETS
};
#define HOW_MESSAGE 0x1
#define HOW_FDS(how) ((((how) >> 1) & 15) % NFDSETS)
#define HOW_LATE 0x20
#define MANY 16

static void __attribute__((format(printf, 1, 2), noreturn)) broken(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("decoder_fuzz: invariant broken: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

#define CHECK(cond, ...) do { if (!(cond)) broken(__VA_ARGS__); } while (0)

/* DECODER_FUZZ_VERBOSE=1: say what the runtime answered to each input (to
 * see which path a seed or a crash takes). */
static bool verbose;

static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* Before the runtime's constructor (default priority, so later): without
 * this it would open the update channel of the fuzzer process. */
__attribute__((constructor(101))) static void no_channel(void)
{
	setenv("LOOM_DISABLE", "1", 1);
}

/* ======================================================================
 * Images
 * ====================================================================== */

/* An image that passed loom__validate_image: what the runtime builds from
 * it must stay inside it. */
static void check_accepted(const unsigned char *base)
{
	const struct loom_image *im = (const void *)base;
	struct loom__filter *f = loom__make_filter(base);
	struct loom__table *t;
	unsigned per_hook[FUZZ_NHOOKS + 2] = { 0 };
	int err, over = 0;

	CHECK(f, "loom__make_filter failed on a valid image");
	CHECK(strlen(f->text) == im->text_len, "filter text of %zu bytes, image says %u", strlen(f->text),
	      im->text_len);
	for (loom_u32 i = 0; i < f->nops; i++) {
		const struct loom_image_op *o = &f->ops[i];
		unsigned kind = o->kind & ~LOOM_OP_SOLO;
		int use = loom__lock_use(o->kind);

		CHECK(o->hook >= 1 && o->hook <= FUZZ_NHOOKS, "op %u at hook %u", i, o->hook);
		CHECK(o->lock < f->nlocks, "op %u uses lock %u of %u", i, o->lock, f->nlocks);
		CHECK(kind >= LOOM_OP_ENTER && kind <= LOOM_OP_POST_MARKED, "op %u of kind %#x", i, o->kind);
		if (kind == LOOM_OP_ENTER_RANGE || kind == LOOM_OP_LEAVE_RANGE)
			CHECK(o->region < im->nregions, "op %u in region %u of %u", i, o->region, im->nregions);
		CHECK(f->locks[o->lock].sem == (use == 2) && f->locks[o->lock].solo == (use == 1),
		      "lock %u is not what op %u uses it as", o->lock, i);
		over |= ++per_hook[o->hook] > LOOM_OPS_PER_HOOK_MAX;
	}
	for (loom_u32 i = 0; i < f->ndanger; i++)
		CHECK(f->danger[i] >= 1 && f->danger[i] <= FUZZ_NHOOKS, "dangerous hook %u", f->danger[i]);
	for (loom_u32 i = 0; i < f->nfns; i++)
		CHECK((f->fns[i] & ~LOOM_FN_WRAP) < FUZZ_NFUNCS, "function %#x", f->fns[i]);

	/* Installed alone, as loom__install_push would (without the threads). */
	loom__lock_rt();
	loom__rt.filters = f;
	t = loom__build_table(loom__rt.filters, &err);
	CHECK((t == NULL) == over && (t ? err == 0 : err == LOOM_E_LIMIT),
	      "table %p, error %d, more than %u ops at a hook: %d", (void *)t, err, LOOM_OPS_PER_HOOK_MAX, over);
	if (t) {
		CHECK(t->start[0] == 0 && t->start[FUZZ_NHOOKS + 1] == f->nops, "table of %u ops for %u",
		      t->start[FUZZ_NHOOKS + 1], f->nops);
		for (loom_u32 h = 0; h <= FUZZ_NHOOKS; h++) {
			CHECK(t->start[h + 1] - t->start[h] == per_hook[h], "hook %u: %u ops in the table, %u in the image",
			      h, t->start[h + 1] - t->start[h], per_hook[h]);
			for (loom_u32 k = t->start[h]; k < t->start[h + 1]; k++)
				CHECK(t->ops[k].lock >= f->locks && t->ops[k].lock < f->locks + f->nlocks,
				      "table op %u points outside the filter's locks", k);
		}
	}
	loom__set_switches();
	for (loom_u32 i = 0; i < f->nfns; i++)
		CHECK(loom__slow[f->fns[i] & ~LOOM_FN_WRAP] == (f->fns[i] & LOOM_FN_WRAP ? LOOM__WRAP : LOOM__SLOW)
		      || (f->fns[i] & LOOM_FN_WRAP && loom__slow[f->fns[i] & ~LOOM_FN_WRAP] == LOOM__SLOW),
		      "function %#x runs %u", f->fns[i], loom__slow[f->fns[i] & ~LOOM_FN_WRAP]);
	loom__rt.filters = NULL;
	loom__set_switches();
	loom__unlock_rt();
	loom__free_table(t);
	loom__free_filter(f);
}

static void fuzz_image(const uint8_t *data, size_t size)
{
	struct loom__reply rep;
	unsigned char *base;

	if (size > LOOM_IMAGE_MAX_SIZE)
		return;
	/* A copy exactly SIZE long (ASan sees any read past it), aligned as a
	 * mapping is. */
	base = malloc(size ? size : 1);
	CHECK(base, "out of memory");
	memcpy(base, data, size);
	memset(&rep, 0, sizeof rep);
	if (loom__validate_image(base, size, &rep) == 0) {
		say("image: accepted\n");
		check_accepted(base);
	} else {
		say("image: rejected: %s\n", rep.text);
		CHECK((rep.r.status == LOOM_E_MALFORMED || rep.r.status == LOOM_E_MANIFEST) && rep.text[0],
		      "image rejected with status %d, text '%s'", rep.r.status, rep.text);
	}
	free(base);
}

/* ======================================================================
 * Connections
 * ====================================================================== */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	CHECK(d, "cannot list /proc/self/fd");
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int new_memfd(const void *data, size_t size, int seal)
{
	int fd = memfd_create("decoder-fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CHECK(fd >= 0, "memfd_create: %m");
	CHECK(!size || write(fd, data, size) == (ssize_t)size, "cannot write the memfd");
	if (seal)
		CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == 0,
		      "cannot seal the memfd");
	return fd;
}

/* The descriptors of SET for an image of N bytes at IMG; returns how many. */
static int make_fds(unsigned set, const uint8_t *img, size_t n, int fds[MANY])
{
	switch (set) {
	case FDS_NONE:
		return 0;
	case FDS_PUSH:
		fds[0] = eventfd(0, EFD_CLOEXEC);
		fds[1] = new_memfd(img, n, 1);
		return 2;
	case FDS_EVENTFD:
		fds[0] = eventfd(0, EFD_CLOEXEC);
		return 1;
	case FDS_MEMFD:
		fds[0] = new_memfd(img, n, 1);
		return 1;
	case FDS_UNSEALED:
		fds[0] = eventfd(0, EFD_CLOEXEC);
		fds[1] = new_memfd(img, n, 0);
		return 2;
	case FDS_SWAPPED:
		fds[0] = new_memfd(img, n, 1);
		fds[1] = eventfd(0, EFD_CLOEXEC);
		return 2;
	case FDS_THREE:
		fds[0] = eventfd(0, EFD_CLOEXEC);
		fds[1] = new_memfd(img, n, 1);
		fds[2] = eventfd(0, EFD_CLOEXEC);
		return 3;
	case FDS_EMPTY:
		fds[0] = eventfd(0, EFD_CLOEXEC);
		fds[1] = new_memfd(NULL, 0, 1);
		return 2;
	default:
		for (int i = 0; i < MANY; i++)
			fds[i] = eventfd(0, EFD_CLOEXEC);
		return MANY;
	}
}

/* Sends N bytes at P on SOCK, with NFDS descriptors if any (a stream socket
 * carries them only with at least one byte).  The peer's buffer holds far
 * more than an input, but the socket does not block either way. */
static void send_part(int sock, const uint8_t *p, size_t n, const int *fds, int nfds)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(MANY * sizeof(int))]; } control;
	struct iovec iov = { (void *)p, n };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (!n)
		return;
	if (nfds) {
		memset(&control, 0, sizeof control);
		msg.msg_control = control.b;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		control.h.cmsg_level = SOL_SOCKET;
		control.h.cmsg_type = SCM_RIGHTS;
		control.h.cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(&control.h), fds, nfds * sizeof(int));
	}
	(void)sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Reads what the runtime sent until the end of the stream. */
static size_t drain(int sock, unsigned char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n < cap && (r = recv(sock, buf + n, cap - n, MSG_DONTWAIT)) > 0)
		n += (size_t)r;
	CHECK(n < cap, "the runtime sent more than %zu bytes", cap);
	return n;
}

/* One message of the runtime's at *AT in BUF[0..N): its header in *H and
 * payload at *PAYLOAD; advances *AT.  False at the end of the stream. */
static bool next_msg(const unsigned char *buf, size_t n, size_t *at, struct loom_msg_header *h,
                     const unsigned char **payload)
{
	if (*at == n)
		return false;
	CHECK(n - *at >= sizeof *h, "a message header cut short (%zu bytes)", n - *at);
	memcpy(h, buf + *at, sizeof *h);
	CHECK(h->magic == LOOM_WIRE_MAGIC && h->version == LOOM_WIRE_VERSION,
	      "the runtime sent magic %#x version %u", h->magic, h->version);
	CHECK(h->length <= n - *at - sizeof *h, "message of type %u says %u bytes, %zu follow", h->type,
	      h->length, n - *at - sizeof *h);
	*payload = buf + *at + sizeof *h;
	*at += sizeof *h + h->length;
	return true;
}

/* Whether the request in MSG[0..N) is complete: a header that is rejected
 * as it stands, or one followed by all of its payload.  64 bytes is the
 * largest payload loom__serve reads (its buffer; no request needs more). */
static bool complete(const uint8_t *msg, size_t n)
{
	struct loom_msg_header h;

	if (n < sizeof h)
		return false;
	memcpy(&h, msg, sizeof h);
	if (h.magic != LOOM_WIRE_MAGIC || h.version != LOOM_WIRE_VERSION || h.length > 64)
		return true;
	return n - sizeof h >= h.length;
}

static void check_answer(const unsigned char *buf, size_t n, const uint8_t *msg, size_t nmsg)
{
	struct loom_msg_header h;
	const unsigned char *p;
	struct loom_hello hello;
	size_t at = 0;

	CHECK(next_msg(buf, n, &at, &h, &p) && h.type == LOOM_MSG_HELLO, "no hello");
	CHECK(h.length == sizeof hello + strlen(LOOM_MANIFEST_PATH), "hello of %u bytes", h.length);
	memcpy(&hello, p, sizeof hello);
	CHECK(hello.pid == (loom_u32)getpid() && hello.nhooks == FUZZ_NHOOKS
	      && !memcmp(hello.manifest_id, LOOM_MANIFEST_ID, LOOM_ID_LEN)
	      && hello.path_len == strlen(LOOM_MANIFEST_PATH)
	      && !memcmp(p + sizeof hello, LOOM_MANIFEST_PATH, hello.path_len), "a wrong hello");
	if (!next_msg(buf, n, &at, &h, &p)) {
		say("connection: no answer\n");
		CHECK(!complete(msg, nmsg), "no answer to a complete request");
		return;
	}
	CHECK(complete(msg, nmsg), "an answer (type %u) to a request cut short", h.type);
	if (h.type == LOOM_MSG_LISTING) {
		loom_u32 count;

		CHECK(h.length == 4, "a listing of %u bytes", h.length);
		memcpy(&count, p, 4);
		CHECK(count == 0, "a listing of %u filters", count);
		say("connection: a listing of %u filters\n", count);
	} else {
		struct loom_reply r;

		CHECK(h.type == LOOM_MSG_REPLY && h.length >= sizeof r, "answer of type %u, %u bytes", h.type,
		      h.length);
		memcpy(&r, p, sizeof r);
		CHECK(r.status > LOOM_OK && r.status <= LOOM_E_DENIED && r.status != LOOM_E_TIMEOUT,
		      "reply with status %d", r.status);
		CHECK(r.nthreads == 0 && r.filter_id == 0, "reply with %u threads, filter %u", r.nthreads,
		      r.filter_id);
		CHECK(r.text_len > 0 && r.text_len < sizeof ((struct loom__reply *)0)->text
		      && h.length == sizeof r + r.text_len && !memchr(p + sizeof r, 0, r.text_len),
		      "reply text of %u bytes in %u", r.text_len, h.length);
		say("connection: status %d: %.*s\n", r.status, (int)r.text_len, (const char *)p + sizeof r);
	}
	CHECK(!next_msg(buf, n, &at, &h, &p), "a second answer (type %u)", h.type);
}

static void fuzz_connection(const uint8_t *data, size_t size)
{
	unsigned how = data[0], set = HOW_FDS(how);
	size_t want = size >= 3 ? (size_t)data[1] | (size_t)data[2] << 8 : 0;
	const uint8_t *msg = data + (size >= 3 ? 3 : size);
	size_t left = size - (size_t)(msg - data), nmsg = want < left ? want : left, half;
	int sv[2], fds[MANY], nfds, before = count_fds();
	static unsigned char out[4096];
	size_t nout;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %m");
	nfds = make_fds(set, msg + nmsg, left - nmsg, fds);
	for (int i = 0; i < nfds; i++)
		CHECK(fds[i] >= 0, "cannot make descriptor set %u", set);
	half = how & HOW_LATE ? nmsg / 2 : nmsg;
	send_part(sv[1], msg, half, fds, how & HOW_LATE ? 0 : nfds);
	send_part(sv[1], msg + half, nmsg - half, fds, how & HOW_LATE ? nfds : 0);
	shutdown(sv[1], SHUT_WR);

	loom__serve(sv[0]);

	close(sv[0]);
	nout = drain(sv[1], out, sizeof out);
	close(sv[1]);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	check_answer(out, nout, msg, nmsg);
	CHECK(!loom__rt.filters && !loom__rt.table && !__atomic_load_n(&loom__active, __ATOMIC_SEQ_CST),
	      "a filter got installed");
	CHECK(count_fds() == before, "%d descriptors open before, %d after", before, count_fds());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & HOW_MESSAGE)
		fuzz_connection(data, size);
	else
		fuzz_image(data + 1, size - 1);
	return 0;
}

/* ======================================================================
 * Seeds
 * ====================================================================== */

struct seed_image {
	const char *text;
	const struct loom_image_op *ops;
	loom_u32 nops, nlocks, nregions;
	const loom_u32 *danger;
	loom_u32 ndanger;
	const loom_u32 *fns;
	loom_u32 nfns;
};

/* S laid out as cli/filter.c lays an image out; returns its size. */
static size_t lay_out(const struct seed_image *s, unsigned char *buf, size_t cap)
{
	struct loom_image im = { 0 };
	size_t text_len = strlen(s->text), size;

	im.magic = LOOM_IMAGE_MAGIC;
	im.version = LOOM_IMAGE_VERSION;
	im.nhooks = FUZZ_NHOOKS;
	memcpy(im.manifest_id, LOOM_MANIFEST_ID, LOOM_ID_LEN);
	im.timeout_ms = 1000;
	im.text_off = sizeof im;
	im.text_len = (loom_u32)text_len;
	im.nlocks = s->nlocks;
	im.nregions = s->nregions;
	im.ops_off = (loom_u32)((sizeof im + text_len + 3) & ~(size_t)3);
	im.nops = s->nops;
	im.danger_off = im.ops_off + s->nops * (loom_u32)sizeof *s->ops;
	im.ndanger = s->ndanger;
	im.fns_off = im.danger_off + s->ndanger * 4;
	im.nfns = s->nfns;
	size = im.fns_off + s->nfns * 4;
	im.size = (loom_u32)size;
	if (size > cap)
		abort();
	memset(buf, 0, size);
	memcpy(buf, &im, sizeof im);
	memcpy(buf + im.text_off, s->text, text_len);
	memcpy(buf + im.ops_off, s->ops, s->nops * sizeof *s->ops);
	if (s->ndanger)
		memcpy(buf + im.danger_off, s->danger, s->ndanger * 4);
	if (s->nfns)
		memcpy(buf + im.fns_off, s->fns, s->nfns * 4);
	return size;
}

static void write_seed(const char *dir, const char *name, const void *a, size_t na, const void *b, size_t nb)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(a, 1, na, f) != na || (nb && fwrite(b, 1, nb, f) != nb) || fclose(f)) {
		perror(path);
		exit(1);
	}
}

#define N(a) (loom_u32)(sizeof (a) / sizeof (a)[0])

static void write_seeds(const char *dir)
{
	/* Hooks 3..12 are a function (entry 3, exits 11 and 12) of function 1. */
	static const loom_u32 danger[] = { 4, 5, 6, 7, 8, 9, 10, 11, 12 }, fns[] = { 1 }, two_fns[] = { 1, 5 };
	static const struct loom_image_op mutex[] = {
		{ 3, LOOM_OP_ENTER, 0, 0 }, { 11, LOOM_OP_LEAVE, 0, 0 }, { 12, LOOM_OP_LEAVE, 0, 0 },
	};
	static const struct loom_image_op alone[] = {
		{ 3, LOOM_OP_ENTER | LOOM_OP_SOLO, 0, 0 }, { 11, LOOM_OP_LEAVE | LOOM_OP_SOLO, 0, 0 },
	};
	static const struct loom_image_op range[] = {
		{ 5, LOOM_OP_ENTER_RANGE, 0, 0 }, { 8, LOOM_OP_LEAVE_RANGE, 0, 0 }, { 11, LOOM_OP_LEAVE_RANGE, 0, 0 },
		{ 40, LOOM_OP_ENTER_RANGE, 1, 1 }, { 44, LOOM_OP_LEAVE_RANGE, 1, 1 },
	};
	static const struct loom_image_op order[] = {
		{ 7, LOOM_OP_MARK, 0, 0 }, { 8, LOOM_OP_POST_MARKED, 0, 0 }, { 42, LOOM_OP_WAIT, 0, 3 },
		{ 3, LOOM_OP_POST, 1, 0 }, { 45, LOOM_OP_WAIT, 1, 1 },
	};
	static const struct loom_image_op all[] = {
		{ 3, LOOM_OP_ENTER, 0, 0 }, { 11, LOOM_OP_LEAVE, 0, 0 },
		{ 20, LOOM_OP_ENTER_RANGE | LOOM_OP_SOLO, 1, 0 }, { 24, LOOM_OP_LEAVE_RANGE | LOOM_OP_SOLO, 1, 0 },
		{ 30, LOOM_OP_POST, 2, 0 }, { 31, LOOM_OP_WAIT, 2, 2 }, { 64, LOOM_OP_MARK, 3, 0 },
		{ 1, LOOM_OP_POST_MARKED, 3, 0 },
	};
	static struct loom_image_op crowded[LOOM_OPS_PER_HOOK_MAX + 1];
	const struct seed_image images[] = {
		{ "f <> self", mutex, N(mutex), 1, 0, danger, N(danger), fns, N(fns) },
		{ "f <> *", alone, N(alone), 1, 0, danger, N(danger), fns, N(fns) },
		{ "f.c:5-7 <> g.c:40-43", range, N(range), 2, 2, danger, 3, two_fns, N(two_fns) },
		{ "f.c:7{3} > g.c:42\nf:entry > g.c:45", order, N(order), 2, 0, danger + 2, 2, two_fns, N(two_fns) },
		{ "# every kind\nf <> self; {a:entry, b:exit} <> *; a > b; c > d", all, N(all), 4, 1, danger, 1,
		  fns, N(fns) },
		{ "65 times f <> self", crowded, N(crowded), 1, 0, NULL, 0, fns, N(fns) },
	};
	static const char *const image_names[] = { "image-mutex", "image-alone", "image-range", "image-order",
	                                           "image-all", "image-crowded" };
	static unsigned char buf[8192];
	unsigned char how;
	size_t n;

	for (unsigned i = 0; i < N(crowded); i++)
		crowded[i] = (struct loom_image_op){ 3, LOOM_OP_ENTER, 0, 0 };
	for (unsigned i = 0; i < N(images); i++) {
		how = 0;
		n = lay_out(&images[i], buf, sizeof buf);
		write_seed(dir, image_names[i], &how, 1, buf, n);
	}

	/* Connections: HOW, the message's length, the message, the image. */
	struct {
		const char *name;
		unsigned char how;
		struct loom_msg_header h;
		unsigned char payload[8];
		size_t npayload;
		int image; /* index into images, -1: none */
	} const conns[] = {
		{ "conn-push", HOW_MESSAGE | FDS_PUSH << 1, { LOOM_WIRE_MAGIC, 1, LOOM_MSG_PUSH, 0 }, { 0 }, 0, 0 },
		{ "conn-push-late", HOW_MESSAGE | FDS_PUSH << 1 | HOW_LATE, { LOOM_WIRE_MAGIC, 1, LOOM_MSG_PUSH, 0 },
		  { 0 }, 0, 3 },
		{ "conn-push-unsealed", HOW_MESSAGE | FDS_UNSEALED << 1, { LOOM_WIRE_MAGIC, 1, LOOM_MSG_PUSH, 0 },
		  { 0 }, 0, 2 },
		{ "conn-pop", HOW_MESSAGE, { LOOM_WIRE_MAGIC, 1, LOOM_MSG_POP, 8 }, { 1, 0, 0, 0, 0xe8, 3, 0, 0 }, 8,
		  -1 },
		{ "conn-list", HOW_MESSAGE, { LOOM_WIRE_MAGIC, 1, LOOM_MSG_LIST, 0 }, { 0 }, 0, -1 },
		{ "conn-list-fds", HOW_MESSAGE | FDS_THREE << 1, { LOOM_WIRE_MAGIC, 1, LOOM_MSG_LIST, 0 }, { 0 }, 0,
		  -1 },
		{ "conn-list-many", HOW_MESSAGE | FDS_MANY << 1, { LOOM_WIRE_MAGIC, 1, LOOM_MSG_LIST, 0 }, { 0 }, 0,
		  -1 },
		{ "conn-bad-magic", HOW_MESSAGE, { 0x4d4f4f4d, 1, LOOM_MSG_LIST, 0 }, { 0 }, 0, -1 },
	};

	for (unsigned i = 0; i < N(conns); i++) {
		size_t nmsg = sizeof conns[i].h + conns[i].npayload, at = 0;

		buf[at++] = conns[i].how;
		buf[at++] = (unsigned char)nmsg;
		buf[at++] = (unsigned char)(nmsg >> 8);
		memcpy(buf + at, &conns[i].h, sizeof conns[i].h);
		at += sizeof conns[i].h;
		memcpy(buf + at, conns[i].payload, conns[i].npayload);
		at += conns[i].npayload;
		if (conns[i].image >= 0)
			at += lay_out(&images[conns[i].image], buf + at, sizeof buf - at);
		write_seed(dir, conns[i].name, buf, at, NULL, 0);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	verbose = getenv("DECODER_FUZZ_VERBOSE") && *getenv("DECODER_FUZZ_VERBOSE") == '1';
	for (int i = 1; i < *argc; i++)
		if (!strncmp((*argv)[i], "--write-seeds=", 14)) {
			write_seeds((*argv)[i] + 14);
			exit(0);
		}
	return 0;
}

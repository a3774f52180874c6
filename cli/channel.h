/* The CLI's end of the update channel (DESIGN §6, docs/design.md). */
#ifndef LOOM_CHANNEL_H
#define LOOM_CHANNEL_H

#include <sys/types.h>

#include "util.h"

#define LOOM_WIRE_ONLY
#include "loom.h"

struct loom_conn {
	int fd;
	pid_t pid;
	struct loom_hello hello;
	char manifest_id[LOOM_ID_LEN + 1];
	char *manifest_path; /* the manifest the process was built from */
};

/* Connects to process PID's update channel and reads its hello.  Fails with
 * ERR explaining why: no such process, no Loom runtime in it, another user's
 * process, a stale socket. */
int loom_connect(pid_t pid, struct loom_conn *c, struct loom_error *err);
void loom_disconnect(struct loom_conn *c);

/* Sends one message with optional descriptors (SCM_RIGHTS). */
int loom_send(struct loom_conn *c, enum loom_msg_type type, const void *payload, size_t len,
              const int *fds, int nfds, struct loom_error *err);

/* Receives one message, waiting at most TIMEOUT_MS.  *PAYLOAD (malloc'd,
 * caller frees) gets its body, checked against the header's length. */
int loom_recv(struct loom_conn *c, struct loom_msg_header *h, unsigned char **payload,
              unsigned timeout_ms, struct loom_error *err);

#endif

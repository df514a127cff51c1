/* SPDX-License-Identifier: MIT */
/*
 * gvm/auth.h - who may join a cluster: a shared secret, the handshake that
 * proves it, and the tags that keep proving it on every message.
 *
 * Written once in the engine (core/auth.c), used by every connection-
 * oriented backend: a backend carries the three handshake messages below
 * in frames of its own and, on a connection whose handshake agreed on
 * tags, one tag per message. The crypto is HMAC-SHA256 behind the OS seam
 * (OpenSSL's libcrypto in userspace, the kernel's crypto API in the
 * module), so kernel and userspace nodes interoperate.
 *
 * One connection, dialer D to acceptor A:
 *   offer   D -> A  D's hello, a fresh nonce, D's flags
 *   answer  A -> D  A's offer (its hello, nonce, flags), then A's proof
 *   proof   D -> A  D's proof
 * A proof is HMAC(cluster key, role || D's offer || A's offer): both nonces,
 * both node ids and every setting a hello carries, so a proof from another
 * connection, a replayed one or one reflected back to its sender fails.
 * Without a secret an offer is the hello alone; a node with a secret and one
 * without refuse each other, saying which lacks it.
 *
 * After the handshake each direction of the connection has its own key,
 * derived from the same transcript; a message's tag is HMAC(key, sequence
 * number || message), truncated to GVM_TAG_LEN, so a message forged,
 * altered, replayed, reordered or dropped by a man in the middle fails the
 * next check. Page contents are not encrypted (README: "Authentication").
 */
#ifndef GVM_AUTH_H
#define GVM_AUTH_H

#include <gvm/transport.h>

#define GVM_AUTH_KEY_LEN 32u
#define GVM_SECRET_MIN 16u /* bytes: shorter secrets are refused */
#define GVM_NONCE_LEN 32u
#define GVM_PROOF_LEN 32u
#define GVM_TAG_LEN 16u
#define GVM_OFFER_LEN (GVM_HELLO_LEN + GVM_NONCE_LEN + 4u)
#define GVM_ANSWER_LEN (GVM_OFFER_LEN + GVM_PROOF_LEN)
#define GVM_AUTH_MAX_IOV 10u /* pieces of one tagged message */

/* Flags an offer carries; both ends must set the same. */
#define GVM_AUTH_TAGS (1u << 0) /* every message after the handshake is tagged */

/* What a member knows: the key derived from the cluster secret. */
struct gvm_auth {
	uint8_t key[GVM_AUTH_KEY_LEN];
	uint32_t flags; /* GVM_AUTH_* */
};

/*
 * Derive a node's key from the secret's bytes. Returns 0, -EINVAL for a
 * secret shorter than GVM_SECRET_MIN, -ENOMEM.
 */
int gvm_auth_init(struct gvm_auth *a, const void *secret, size_t len,
		  uint32_t flags);

/*
 * A node without a secret: may it run? Logs why not (or, once per process,
 * that its peers are not authenticated) and returns 0 or -EACCES. A backend
 * calls it at open: loopback says every address it listens on is a
 * loopback one; insecure_ok is the user's GVM_INSECURE=1.
 */
int gvm_auth_unsecured(const char *backend, gvm_node_id self, bool loopback,
		       bool insecure_ok);

/* One direction of an authenticated connection. */
struct gvm_auth_dir {
	void *mac;    /* the OS seam's keyed HMAC */
	uint64_t seq; /* messages tagged or checked so far */
};

/* A connection's handshake and, once it is done, its tag keys. */
struct gvm_handshake {
	const struct gvm_auth *auth; /* NULL: hellos only */
	bool dialer;
	bool done;
	uint8_t offer[GVM_OFFER_LEN];  /* the dialer's */
	uint8_t answer[GVM_OFFER_LEN]; /* the acceptor's, less its proof */
	uint32_t offer_len, answer_len;
	struct gvm_auth_dir tx, rx; /* after done, if both set GVM_AUTH_TAGS */
};

static inline bool gvm_handshake_tagged(const struct gvm_handshake *hs)
{
	return hs->done && hs->tx.mac;
}

/*
 * Dialer: begin hs and write the offer into out[GVM_OFFER_LEN]; returns its
 * length.
 */
uint32_t gvm_handshake_offer(struct gvm_handshake *hs,
			     const struct gvm_auth *auth,
			     const struct gvm_hello *hello, void *out);

/*
 * Acceptor: the dialer's offer. Returns 0 with *peer its hello (compare it:
 * gvm_hello_compare), then call gvm_handshake_answer. -EPROTO with
 * *why == NULL if msg is no offer at all, or with a reason to refuse it
 * for (one of the two nodes has no secret, or the flags differ).
 */
int gvm_handshake_accept(struct gvm_handshake *hs, const struct gvm_auth *auth,
			 const void *msg, size_t len, struct gvm_hello *peer,
			 const char **why);

/*
 * Acceptor: write the answer to an accepted offer into
 * out[GVM_ANSWER_LEN]; returns its length, or -ENOMEM. Without a secret the
 * handshake is done; with one it awaits the dialer's proof.
 */
int gvm_handshake_answer(struct gvm_handshake *hs,
			 const struct gvm_hello *hello, void *out);

/*
 * Dialer: the acceptor's answer. Returns 0 with *peer its hello (compare
 * it) and, with a secret, the proof to send in proof[GVM_PROOF_LEN]
 * (*proof_len 0 without one); the handshake is then done. -EPROTO with
 * *why == NULL if msg is no answer, or with the reason (a proof that does
 * not match our secret: a wrong secret or an impostor); -ENOMEM.
 */
int gvm_handshake_finish(struct gvm_handshake *hs, const void *msg,
			 size_t len, struct gvm_hello *peer, void *proof,
			 uint32_t *proof_len, const char **why);

/*
 * Acceptor: the dialer's proof. Returns 0 (done), or -EACCES with *why,
 * -ENOMEM.
 */
int gvm_handshake_verify(struct gvm_handshake *hs, const void *msg,
			 size_t len, const char **why);

/* Release a handshake's keys (any state; hs may be zeroed memory). */
void gvm_handshake_end(struct gvm_handshake *hs);

/*
 * Tag the next message sent (tx) into tag[GVM_TAG_LEN], or check the next
 * one received (rx): true if its tag is right. The message is iov[0..n).
 * One caller at a time per direction.
 */
void gvm_auth_tag(struct gvm_auth_dir *tx, const struct gvm_iov *iov,
		  unsigned int n, uint8_t *tag);
bool gvm_auth_check(struct gvm_auth_dir *rx, const struct gvm_iov *iov,
		    unsigned int n, const uint8_t *tag);

#endif /* GVM_AUTH_H */

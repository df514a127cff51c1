// SPDX-License-Identifier: MIT
/*
 * auth.c - the cluster secret's handshake and message tags (gvm/auth.h),
 * the same for every backend and in both worlds.
 */
#include <gvm/auth.h>

#include "os/gvm_os.h"

/* Labels keep each use of the key apart: a proof is never a tag key. */
static const char label_key[] = "gvm-dsm cluster key v1";
static const char label_dialer[] = "gvm-dsm dialer proof";
static const char label_acceptor[] = "gvm-dsm acceptor proof";
static const char label_d2a[] = "gvm-dsm tags dialer to acceptor";
static const char label_a2d[] = "gvm-dsm tags acceptor to dialer";

/* HMAC(key, label || parts...), one shot. */
static int hmac_once(const void *key, size_t keylen, const char *label,
		     const struct gvm_iov *parts, unsigned int n, uint8_t *out)
{
	struct gvm_iov iov[3];
	void *h = gvm_os_hmac_new(key, keylen);
	int err;

	if (!h)
		return -ENOMEM;
	iov[0].base = label;
	iov[0].len = 0;
	while (label[iov[0].len])
		iov[0].len++;
	for (unsigned int i = 0; i < n; i++)
		iov[i + 1] = parts[i];
	err = gvm_os_hmac(h, iov, n + 1, out);
	gvm_os_hmac_free(h);
	return err;
}

int gvm_auth_init(struct gvm_auth *a, const void *secret, size_t len,
		  uint32_t flags)
{
	struct gvm_iov none = {label_key, 0};

	if (len < GVM_SECRET_MIN)
		return -EINVAL;
	a->flags = flags;
	return hmac_once(secret, len, label_key, &none, 0, a->key);
}

int gvm_auth_unsecured(const char *backend, gvm_node_id self, bool loopback,
		       bool insecure_ok)
{
	static bool warned;

	if (!loopback && !insecure_ok) {
		gvm_log_err("%s: node %u listens beyond loopback without a cluster secret: "
			    "set GVM_SECRET_FILE (or GVM_INSECURE=1 to admit any host that can reach it)",
			    backend, self);
		return -EACCES;
	}
	if (!warned) {
		warned = true;
		gvm_log_warn("%s: node %u has no cluster secret: its peers are not authenticated%s",
			     backend, self, loopback ? " (loopback only)" : " (GVM_INSECURE=1)");
	}
	return 0;
}

/* Constant time: how much of a proof matched must not leak through timing. */
static bool same_bytes(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint8_t diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return !diff;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* hello || nonce || flags (hello alone without a secret). */
static uint32_t encode_offer(const struct gvm_auth *auth,
			     const struct gvm_hello *hello, uint8_t *out)
{
	gvm_hello_encode(hello, out);
	if (!auth)
		return GVM_HELLO_LEN;
	gvm_os_random(out + GVM_HELLO_LEN, GVM_NONCE_LEN);
	out[GVM_HELLO_LEN + GVM_NONCE_LEN] = (uint8_t)auth->flags;
	out[GVM_HELLO_LEN + GVM_NONCE_LEN + 1] = (uint8_t)(auth->flags >> 8);
	out[GVM_HELLO_LEN + GVM_NONCE_LEN + 2] = (uint8_t)(auth->flags >> 16);
	out[GVM_HELLO_LEN + GVM_NONCE_LEN + 3] = (uint8_t)(auth->flags >> 24);
	return GVM_OFFER_LEN;
}

/*
 * A peer's offer (the first GVM_OFFER_LEN bytes of an answer): its hello,
 * and whether it has the secret and our flags.
 */
static int decode_offer(const struct gvm_auth *auth, const uint8_t *msg,
			size_t len, struct gvm_hello *peer, const char **why)
{
	*why = NULL;
	if (len != GVM_HELLO_LEN && len != GVM_OFFER_LEN)
		return -EPROTO;
	if (gvm_hello_decode(msg, GVM_HELLO_LEN, peer, why)) {
		*why = NULL;
		return -EPROTO;
	}
	if (auth && len == GVM_HELLO_LEN)
		*why = "it has no cluster secret and this node has one (GVM_SECRET_FILE)";
	else if (!auth && len == GVM_OFFER_LEN)
		*why = "it has a cluster secret and this node has none (GVM_SECRET_FILE)";
	else if (auth && get32(msg + GVM_HELLO_LEN + GVM_NONCE_LEN) != auth->flags)
		*why = (auth->flags & GVM_AUTH_TAGS) ?
			       "it sends messages without tags and this node tags them (GVM_MAC)" :
			       "it tags its messages and this node does not (GVM_MAC)";
	return *why ? -EPROTO : 0;
}

static int proof(const struct gvm_handshake *hs, const char *label, uint8_t *out)
{
	const struct gvm_iov transcript[2] = {
		{hs->offer, hs->offer_len},
		{hs->answer, hs->answer_len},
	};

	return hmac_once(hs->auth->key, GVM_AUTH_KEY_LEN, label, transcript, 2, out);
}

/* Both directions' tag keys, from the transcript. */
static int derive_tags(struct gvm_handshake *hs)
{
	uint8_t d2a[32], a2d[32];
	int err;

	hs->done = true;
	if (!(hs->auth->flags & GVM_AUTH_TAGS))
		return 0;
	err = proof(hs, label_d2a, d2a);
	if (!err)
		err = proof(hs, label_a2d, a2d);
	if (err)
		return err;
	hs->tx.mac = gvm_os_hmac_new(hs->dialer ? d2a : a2d, 32);
	hs->rx.mac = gvm_os_hmac_new(hs->dialer ? a2d : d2a, 32);
	gvm_memset(d2a, 0, sizeof(d2a));
	gvm_memset(a2d, 0, sizeof(a2d));
	if (!hs->tx.mac || !hs->rx.mac) {
		gvm_handshake_end(hs);
		return -ENOMEM;
	}
	return 0;
}

uint32_t gvm_handshake_offer(struct gvm_handshake *hs,
			     const struct gvm_auth *auth,
			     const struct gvm_hello *hello, void *out)
{
	gvm_memset(hs, 0, sizeof(*hs));
	hs->auth = auth;
	hs->dialer = true;
	hs->offer_len = encode_offer(auth, hello, hs->offer);
	gvm_memcpy(out, hs->offer, hs->offer_len);
	return hs->offer_len;
}

int gvm_handshake_accept(struct gvm_handshake *hs, const struct gvm_auth *auth,
			 const void *msg, size_t len, struct gvm_hello *peer,
			 const char **why)
{
	int err;

	gvm_memset(hs, 0, sizeof(*hs));
	hs->auth = auth;
	err = decode_offer(auth, msg, len, peer, why);
	if (err)
		return err;
	gvm_memcpy(hs->offer, msg, len);
	hs->offer_len = (uint32_t)len;
	return 0;
}

int gvm_handshake_answer(struct gvm_handshake *hs,
			 const struct gvm_hello *hello, void *out)
{
	uint8_t *p = out;
	int err;

	hs->answer_len = encode_offer(hs->auth, hello, hs->answer);
	gvm_memcpy(p, hs->answer, hs->answer_len);
	if (!hs->auth) {
		hs->done = true;
		return (int)hs->answer_len;
	}
	err = proof(hs, label_acceptor, p + hs->answer_len);
	return err ? err : (int)(hs->answer_len + GVM_PROOF_LEN);
}

int gvm_handshake_finish(struct gvm_handshake *hs, const void *msg,
			 size_t len, struct gvm_hello *peer, void *out,
			 uint32_t *proof_len, const char **why)
{
	const uint8_t *p = msg;
	uint8_t expect[GVM_PROOF_LEN];
	/* An answer without a proof is a hello alone: decode_offer says so. */
	size_t offer = hs->auth && len == GVM_ANSWER_LEN ? GVM_OFFER_LEN : len;
	int err;

	*proof_len = 0;
	err = decode_offer(hs->auth, p, offer, peer, why);
	if (err)
		return err;
	if (hs->auth && offer + GVM_PROOF_LEN != len)
		return -EPROTO; /* an offer without its proof */
	gvm_memcpy(hs->answer, p, offer);
	hs->answer_len = (uint32_t)offer;
	if (!hs->auth) {
		hs->done = true;
		return 0;
	}
	err = proof(hs, label_acceptor, expect);
	if (err)
		return err;
	if (!same_bytes(expect, p + offer, GVM_PROOF_LEN)) {
		*why = "its proof does not match this node's secret (a wrong secret, or not the node it claims to be)";
		return -EPROTO;
	}
	err = proof(hs, label_dialer, out);
	if (!err)
		err = derive_tags(hs);
	if (err)
		return err;
	*proof_len = GVM_PROOF_LEN;
	return 0;
}

int gvm_handshake_verify(struct gvm_handshake *hs, const void *msg,
			 size_t len, const char **why)
{
	uint8_t expect[GVM_PROOF_LEN];
	int err;

	*why = NULL;
	if (!hs->auth || hs->done || !hs->answer_len) {
		*why = "a proof out of turn";
		return -EACCES;
	}
	err = proof(hs, label_dialer, expect);
	if (err)
		return err;
	if (len != GVM_PROOF_LEN || !same_bytes(expect, msg, GVM_PROOF_LEN)) {
		*why = "its proof does not match this node's secret (a wrong secret, or a replayed handshake)";
		return -EACCES;
	}
	return derive_tags(hs);
}

void gvm_handshake_end(struct gvm_handshake *hs)
{
	if (hs->tx.mac)
		gvm_os_hmac_free(hs->tx.mac);
	if (hs->rx.mac)
		gvm_os_hmac_free(hs->rx.mac);
	hs->tx.mac = hs->rx.mac = NULL;
}

/* HMAC(direction key, seq || message), truncated. */
static int tag_of(struct gvm_auth_dir *d, const struct gvm_iov *iov,
		  unsigned int n, uint8_t *out)
{
	struct gvm_iov v[1 + GVM_AUTH_MAX_IOV];
	uint8_t seq[8], full[32];
	int err;

	if (n > GVM_AUTH_MAX_IOV)
		return -EINVAL;
	for (unsigned int i = 0; i < 8; i++)
		seq[i] = (uint8_t)(d->seq >> (8 * i));
	d->seq++;
	v[0].base = seq;
	v[0].len = sizeof(seq);
	for (unsigned int i = 0; i < n; i++)
		v[i + 1] = iov[i];
	err = gvm_os_hmac(d->mac, v, n + 1, full);
	gvm_memcpy(out, full, GVM_TAG_LEN);
	return err;
}

void gvm_auth_tag(struct gvm_auth_dir *tx, const struct gvm_iov *iov,
		  unsigned int n, uint8_t *tag)
{
	/* A tag that could not be made is one the peer refuses. */
	if (tag_of(tx, iov, n, tag))
		gvm_memset(tag, 0, GVM_TAG_LEN);
}

bool gvm_auth_check(struct gvm_auth_dir *rx, const struct gvm_iov *iov,
		    unsigned int n, const uint8_t *tag)
{
	uint8_t expect[GVM_TAG_LEN];

	return !tag_of(rx, iov, n, expect) && same_bytes(expect, tag, GVM_TAG_LEN);
}

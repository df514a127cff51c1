// SPDX-License-Identifier: MIT
/*
 * Description: the cluster secret's handshake (core/auth.c) admits two
 * holders of one secret and nobody else: a wrong secret at either end, a
 * proof replayed from another connection or reflected back, an answer
 * without its proof, a node without a secret or with other flags are all
 * refused with a reason. Tags (and the tcp framing of frame.h) catch a
 * flipped bit, a replayed, dropped or reordered frame and a changed
 * header, and the frames a dialer queued before the proof come out tagged.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gvm/auth.h>

#include "helpers.h"
#include "../../transports/tcp/frame.h"

static struct gvm_auth key_a, key_b, key_a_untagged;
static const struct gvm_hello dialer_hello = {.proto = 1, .cluster_id = 9, .nodes = 4,
					      .node = 1, .page_shift = 12, .manager = 1};
static const struct gvm_hello acceptor_hello = {.proto = 1, .cluster_id = 9, .nodes = 4,
						.node = 0, .page_shift = 12, .manager = 1};

/* A connection's handshake, as its two ends see it. */
struct conn {
	struct gvm_handshake d, a;
	uint8_t offer[GVM_OFFER_LEN], answer[GVM_ANSWER_LEN], proof[GVM_PROOF_LEN];
	uint32_t offer_len, answer_len, proof_len;
};

/* Run the handshake up to the dialer's proof; returns finish's result. */
static int handshake(struct conn *c, const struct gvm_auth *dk, const struct gvm_auth *ak,
		     const char **why)
{
	struct gvm_hello peer;
	int n;

	memset(c, 0, sizeof(*c));
	c->offer_len = gvm_handshake_offer(&c->d, dk, &dialer_hello, c->offer);
	if (gvm_handshake_accept(&c->a, ak, c->offer, c->offer_len, &peer, why))
		return -1000;
	CHECK(peer.node == 1);
	n = gvm_handshake_answer(&c->a, &acceptor_hello, c->answer);
	CHECK(n > 0);
	c->answer_len = (uint32_t)n;
	return gvm_handshake_finish(&c->d, c->answer, c->answer_len, &peer, c->proof,
				    &c->proof_len, why);
}

static void end(struct conn *c)
{
	gvm_handshake_end(&c->d);
	gvm_handshake_end(&c->a);
}

static void members_are_admitted(void)
{
	struct conn c;
	const char *why = NULL;
	uint8_t msg[100] = "a grant", tag[GVM_TAG_LEN];
	struct gvm_iov iov = {msg, sizeof(msg)};

	CHECK(handshake(&c, &key_a, &key_a, &why) == 0);
	CHECK(c.proof_len == GVM_PROOF_LEN && c.d.done && !c.a.done);
	CHECK(gvm_handshake_verify(&c.a, c.proof, c.proof_len, &why) == 0);
	CHECK(c.a.done && gvm_handshake_tagged(&c.a) && gvm_handshake_tagged(&c.d));
	/* Each direction's tags check at the other end, in order. */
	for (int i = 0; i < 3; i++) {
		gvm_auth_tag(&c.d.tx, &iov, 1, tag);
		CHECK(gvm_auth_check(&c.a.rx, &iov, 1, tag));
		gvm_auth_tag(&c.a.tx, &iov, 1, tag);
		CHECK(gvm_auth_check(&c.d.rx, &iov, 1, tag));
	}
	/* A direction's key is its own: a tag made one way fails the other. */
	gvm_auth_tag(&c.d.tx, &iov, 1, tag);
	CHECK(!gvm_auth_check(&c.d.rx, &iov, 1, tag));
	end(&c);

	CHECK(handshake(&c, &key_a_untagged, &key_a_untagged, &why) == 0);
	CHECK(gvm_handshake_verify(&c.a, c.proof, c.proof_len, &why) == 0);
	CHECK(c.a.done && !gvm_handshake_tagged(&c.a) && !gvm_handshake_tagged(&c.d));
	end(&c);

	CHECK(handshake(&c, NULL, NULL, &why) == 0); /* no secret: hellos only */
	CHECK(c.d.done && c.a.done && c.proof_len == 0 && c.offer_len == GVM_HELLO_LEN);
	end(&c);
}

static void strangers_are_refused(void)
{
	struct conn c, old;
	const char *why = NULL;
	struct gvm_hello peer;
	uint32_t len;

	/* The dialer has another secret: it refuses the acceptor's proof. */
	CHECK(handshake(&c, &key_b, &key_a, &why) == -EPROTO);
	CHECK(why && strstr(why, "proof does not match"));
	CHECK(!c.d.done && c.proof_len == 0);
	end(&c);
	/* An impostor's proof reaches an acceptor: refused. */
	CHECK(handshake(&c, &key_a, &key_a, &why) == 0);
	{
		struct conn other;

		CHECK(handshake(&other, &key_b, &key_b, &why) == 0);
		CHECK(gvm_handshake_verify(&c.a, other.proof, GVM_PROOF_LEN, &why) == -EACCES);
		CHECK(strstr(why, "proof does not match"));
		end(&other);
	}
	end(&c);
	/* A proof recorded from an earlier connection: the nonces differ. */
	CHECK(handshake(&old, &key_a, &key_a, &why) == 0);
	CHECK(handshake(&c, &key_a, &key_a, &why) == 0);
	CHECK(gvm_handshake_verify(&c.a, old.proof, GVM_PROOF_LEN, &why) == -EACCES);
	/* The acceptor's own proof sent back as the dialer's. */
	CHECK(gvm_handshake_verify(&c.a, c.answer + GVM_OFFER_LEN, GVM_PROOF_LEN, &why) ==
	      -EACCES);
	CHECK(gvm_handshake_verify(&c.a, c.proof, GVM_PROOF_LEN - 1, &why) == -EACCES);
	CHECK(!c.a.done);
	end(&c);
	end(&old);
	/* An answer that leaves out its proof is no answer. */
	memset(&c, 0, sizeof(c));
	gvm_handshake_offer(&c.d, &key_a, &dialer_hello, c.offer);
	gvm_handshake_offer(&c.a, &key_a, &acceptor_hello, c.answer);
	why = NULL;
	CHECK(gvm_handshake_finish(&c.d, c.answer, GVM_OFFER_LEN, &peer, c.proof, &len, &why) ==
	      -EPROTO);
	CHECK(!why && !c.d.done);
	end(&c);
	/* One end without a secret, or with other flags: refused, saying so. */
	CHECK(handshake(&c, NULL, &key_a, &why) == -1000 && strstr(why, "has no cluster secret"));
	end(&c);
	CHECK(handshake(&c, &key_a, NULL, &why) == -1000 && strstr(why, "has a cluster secret"));
	end(&c);
	CHECK(handshake(&c, &key_a_untagged, &key_a, &why) == -1000 && strstr(why, "GVM_MAC"));
	end(&c);
	{
		struct gvm_auth shorty;

		CHECK(gvm_auth_init(&shorty, "fifteen bytes!!", 15, 0) == -EINVAL);
	}
}

/* Tagged tcp frames: whatever a man in the middle changes fails. */
static void tags_catch_tampering(void)
{
	struct conn c;
	const char *why;
	uint8_t frames[4][TCP_HDR + 64 + GVM_TAG_LEN];
	uint32_t len;

	CHECK(handshake(&c, &key_a, &key_a, &why) == 0);
	CHECK(gvm_handshake_verify(&c.a, c.proof, c.proof_len, &why) == 0);
	for (int i = 0; i < 4; i++) {
		struct gvm_iov body = {frames[i] + TCP_HDR, 64};

		memset(frames[i] + TCP_HDR, 'a' + i, 64);
		tcp_tagged_header(&c.d, frames[i], 64, TCP_MSG);
		tcp_frame_tag(&c.d, frames[i], &body, 1, frames[i] + TCP_HDR + 64);
	}
	len = 64 + GVM_TAG_LEN;
	CHECK(tcp_frame_untag(&c.a, frames[0], &len) && len == 64); /* in order: fine */
	/* frame 1 is dropped: frame 2 fails (it is checked as the 2nd) */
	len = 64 + GVM_TAG_LEN;
	CHECK(!tcp_frame_untag(&c.a, frames[2], &len));
	end(&c);

	CHECK(handshake(&c, &key_a, &key_a, &why) == 0);
	CHECK(gvm_handshake_verify(&c.a, c.proof, c.proof_len, &why) == 0);
	for (int i = 0; i < 3; i++) {
		struct gvm_iov body = {frames[i] + TCP_HDR, 64};

		tcp_tagged_header(&c.d, frames[i], 64, TCP_MSG);
		tcp_frame_tag(&c.d, frames[i], &body, 1, frames[i] + TCP_HDR + 64);
	}
	len = 64 + GVM_TAG_LEN;
	CHECK(tcp_frame_untag(&c.a, frames[0], &len));
	len = 64 + GVM_TAG_LEN;
	CHECK(!tcp_frame_untag(&c.a, frames[0], &len)); /* replayed */
	end(&c);

	for (int what = 0; what < 3; what++) { /* a bit of the body, the tag, the kind */
		CHECK(handshake(&c, &key_a, &key_a, &why) == 0);
		CHECK(gvm_handshake_verify(&c.a, c.proof, c.proof_len, &why) == 0);
		{
			struct gvm_iov body = {frames[0] + TCP_HDR, 64};

			tcp_tagged_header(&c.d, frames[0], 64, TCP_MSG);
			tcp_frame_tag(&c.d, frames[0], &body, 1, frames[0] + TCP_HDR + 64);
		}
		frames[0][what == 0 ? TCP_HDR + 7 : what == 1 ? TCP_HDR + 64 + 3 : 4] ^= 1;
		len = 64 + GVM_TAG_LEN;
		CHECK(!tcp_frame_untag(&c.a, frames[0], &len));
		end(&c);
	}
	len = 3; /* shorter than a tag */
	CHECK(!tcp_frame_untag(&c.a, frames[0], &len));
}

static uint8_t out[1024];
static size_t out_len;

static int append(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	CHECK(out_len + n <= sizeof(out));
	memcpy(out + out_len, p, n);
	out_len += n;
	return 0;
}

/* What a dialer queued before the proof leaves after it, tagged. */
static void queued_frames_leave_tagged(void)
{
	struct conn c;
	const char *why;
	uint8_t queued[2 * TCP_HDR + 10 + 0], proof[TCP_HDR + GVM_PROOF_LEN];
	uint32_t blen;
	uint8_t kind;
	size_t off;

	CHECK(handshake(&c, &key_a, &key_a, &why) == 0);
	tcp_frame_header(queued, 10, TCP_MSG);
	memset(queued + TCP_HDR, 7, 10);
	tcp_frame_header(queued + TCP_HDR + 10, 0, TCP_HEARTBEAT);
	tcp_frame_header(proof, GVM_PROOF_LEN, TCP_PROOF);
	memcpy(proof + TCP_HDR, c.proof, GVM_PROOF_LEN);
	out_len = 0;
	CHECK(tcp_release_queued(&c.d, proof, sizeof(proof), queued, sizeof(queued), append,
				 NULL) == 0);
	/* The proof first, untagged; then the MSG and the HEARTBEAT, tagged. */
	CHECK(tcp_frame_parse(out, true, &blen, &kind) && kind == TCP_PROOF &&
	      blen == GVM_PROOF_LEN);
	CHECK(gvm_handshake_verify(&c.a, out + TCP_HDR, blen, &why) == 0);
	off = TCP_HDR + blen;
	CHECK(tcp_frame_parse(out + off, false, &blen, &kind) && kind == TCP_MSG &&
	      blen == 10 + GVM_TAG_LEN);
	CHECK(tcp_frame_untag(&c.a, out + off, &blen) && blen == 10 &&
	      out[off + TCP_HDR + 9] == 7);
	off += TCP_HDR + 10 + GVM_TAG_LEN;
	CHECK(tcp_frame_parse(out + off, false, &blen, &kind) && kind == TCP_HEARTBEAT);
	CHECK(tcp_frame_untag(&c.a, out + off, &blen) && blen == 0);
	CHECK(off + TCP_HDR + GVM_TAG_LEN == out_len);
	end(&c);
}

int main(void)
{
	static const char secret_a[] = "the first cluster's secret, 32 b";
	static const char secret_b[] = "another cluster's secret, 32 byt";

	CHECK(gvm_auth_init(&key_a, secret_a, 32, GVM_AUTH_TAGS) == 0);
	CHECK(gvm_auth_init(&key_a_untagged, secret_a, 32, 0) == 0);
	CHECK(gvm_auth_init(&key_b, secret_b, 32, GVM_AUTH_TAGS) == 0);
	members_are_admitted();
	strangers_are_refused();
	tags_catch_tampering();
	queued_frames_leave_tagged();
	return test_exit("unit-auth");
}

// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the CXL ring's consumer over slots, payload area and
 * control words a peer forged. The input starts with a well-formed ring
 * that holds a few messages (so mutations stay near what a peer writes),
 * overwritten by the fuzzer's bytes; the consumer then reads until the
 * ring is empty or refuses a message with a reason, and every message it
 * hands over fits the buffer it was given.
 */
#include <stdlib.h>
#include <string.h>

#include "../../transports/cxl/ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOTS 16u
#define PSIZE 1024u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t mem[(SLOTS * CXL_SLOT + PSIZE + 4096) & ~63u]
		__attribute__((aligned(64)));
	static uint8_t buf[PSIZE];
	uint64_t bytes = cxl_ring_bytes(SLOTS, PSIZE);
	struct cxl_ring prod, cons;
	uint8_t msg[300];
	const char *why;

	if (bytes > sizeof(mem))
		abort();
	/* A ring with a short message, a long one (payload area), a short. */
	cxl_ring_format(mem, SLOTS, PSIZE);
	cxl_ring_attach(&prod, mem, SLOTS, PSIZE, CXL_SYNC_NONE);
	memset(msg, 0x5a, sizeof(msg));
	for (size_t len = 20; len <= sizeof(msg); len += 140) {
		struct gvm_iov iov = {msg, len};

		cxl_ring_send(&prod, &iov, 1, len, &why);
	}
	memcpy(mem, data, size < bytes ? size : bytes);
	cxl_ring_attach(&cons, mem, SLOTS, PSIZE, CXL_SYNC_NONE);
	if (cons.max_msg > sizeof(buf))
		abort();
	for (int i = 0; i < 64; i++) {
		size_t len = 0;
		int r;

		why = NULL;
		r = cxl_ring_recv(&cons, buf, &len, &why);
		if (r < 0 && (!why || !*why))
			abort(); /* a refusal always says why */
		if (r <= 0)
			break;
		if (len > cons.max_msg)
			abort();
	}
	return 0;
}

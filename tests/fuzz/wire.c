// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the engine's wire decoder. Whatever the bytes, decoding
 * either refuses them with a reason or yields a message that encodes back
 * to bytes decoding to the same message.
 */
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct gvm_wire_geom geoms[] = {
	{.nodes = 4, .page_size = 256, .npages = 64, .slots = 8},
	{.nodes = 1024, .page_size = 4096, .npages = 1u << 20, .slots = 0},
};

static void same(const struct gvm_wire_geom *g, const struct gvm_msg *a,
		 const struct gvm_msg *b)
{
	if (a->type != b->type || a->flags != b->flags || a->page != b->page ||
	    a->version != b->version || a->tag != b->tag || a->req_id != b->req_id ||
	    a->slot != b->slot || a->node != b->node || a->hops != b->hops ||
	    a->access != b->access || !a->payload != !b->payload ||
	    !a->copyset != !b->copyset)
		abort();
	if (a->copyset && memcmp(a->copyset, b->copyset, (g->nodes + 7) / 8))
		abort();
	if (a->payload && memcmp(a->payload, b->payload, g->page_size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[GVM_WIRE_FIXED_MAX + 128 + 4096];

	for (size_t i = 0; i < sizeof(geoms) / sizeof(geoms[0]); i++) {
		const struct gvm_wire_geom *g = &geoms[i];
		struct gvm_msg m, again;
		const char *why = NULL;
		size_t n;

		if (gvm_wire_decode(g, data, size, &m, &why)) {
			if (!why || !*why)
				abort(); /* a refusal always says why */
			continue;
		}
		n = gvm_wire_encode(g, &m, m.payload ? g->page_size : 0, out);
		if (m.payload)
			memcpy(out + n, m.payload, g->page_size);
		if (gvm_wire_decode(g, out, n + (m.payload ? g->page_size : 0), &again, &why))
			abort(); /* what we encode, we accept */
		same(g, &m, &again);
	}
	return 0;
}

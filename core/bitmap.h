/* SPDX-License-Identifier: MIT */
/*
 * bitmap.h - node sets sized at cluster creation (copysets, closed peers).
 * Words are uint64_t; on the wire a set is little-endian bytes, bit i of
 * byte j standing for node 8*j+i, so the encoding does not depend on the
 * host's word size or byte order.
 */
#ifndef GVM_BITMAP_H
#define GVM_BITMAP_H

#include "os/gvm_os.h"

static inline uint32_t gvm_bitmap_words(uint32_t nbits)
{
	return (nbits + 63) / 64;
}

static inline uint32_t gvm_bitmap_wire_bytes(uint32_t nbits)
{
	return (nbits + 7) / 8;
}

static inline void gvm_bitmap_set(uint64_t *map, uint32_t bit)
{
	map[bit / 64] |= 1ull << (bit % 64);
}

static inline void gvm_bitmap_clear(uint64_t *map, uint32_t bit)
{
	map[bit / 64] &= ~(1ull << (bit % 64));
}

static inline bool gvm_bitmap_test(const uint64_t *map, uint32_t bit)
{
	return (map[bit / 64] >> (bit % 64)) & 1;
}

static inline void gvm_bitmap_zero(uint64_t *map, uint32_t nbits)
{
	gvm_memset(map, 0, gvm_bitmap_words(nbits) * sizeof(uint64_t));
}

static inline bool gvm_bitmap_empty(const uint64_t *map, uint32_t nbits)
{
	for (uint32_t i = 0; i < gvm_bitmap_words(nbits); i++)
		if (map[i])
			return false;
	return true;
}

static inline uint32_t gvm_bitmap_weight(const uint64_t *map, uint32_t nbits)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < gvm_bitmap_words(nbits); i++)
		n += gvm_os_popcount64(map[i]);
	return n;
}

/* First set bit at or after from, or nbits if none. */
static inline uint32_t gvm_bitmap_next(const uint64_t *map, uint32_t nbits,
				       uint32_t from)
{
	while (from < nbits) {
		uint64_t w = map[from / 64] >> (from % 64);

		if (w)
			return from + (uint32_t)__builtin_ctzll(w);
		from = (from / 64 + 1) * 64;
	}
	return nbits;
}

#define gvm_bitmap_for_each(bit, map, nbits)                                  \
	for ((bit) = gvm_bitmap_next(map, nbits, 0); (bit) < (nbits);         \
	     (bit) = gvm_bitmap_next(map, nbits, (bit) + 1))

/* Wire bytes from a bitmap of nbits. */
static inline void gvm_bitmap_to_wire(uint8_t *out, const uint64_t *map,
				      uint32_t nbits)
{
	for (uint32_t j = 0; j < gvm_bitmap_wire_bytes(nbits); j++)
		out[j] = (uint8_t)(map[j / 8] >> (8 * (j % 8)));
}

/*
 * Bitmap from wire bytes; the caller has checked that no bit at or above
 * nbits is set (gvm_wire_decode does).
 */
static inline void gvm_bitmap_from_wire(uint64_t *map, const uint8_t *in,
					uint32_t nbits)
{
	gvm_bitmap_zero(map, nbits);
	for (uint32_t j = 0; j < gvm_bitmap_wire_bytes(nbits); j++)
		map[j / 8] |= (uint64_t)in[j] << (8 * (j % 8));
}

#endif /* GVM_BITMAP_H */

// SPDX-License-Identifier: MIT
/*
 * Description: node bitmaps of any size up to the cluster limit: set,
 * clear, iteration, weight, and the byte-order-free wire form.
 */
#include "bitmap.h"
#include "helpers.h"

int main(void)
{
	static const uint32_t sizes[] = {1, 7, 8, 9, 63, 64, 65, 1024, 1025,
					 GVM_MAX_NODES};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t n = sizes[s], bit, count = 0, prev = 0;
		uint64_t *a = calloc(gvm_bitmap_words(n), 8);
		uint64_t *b = calloc(gvm_bitmap_words(n), 8);
		uint8_t *wire = calloc(gvm_bitmap_wire_bytes(n), 1);

		CHECK(gvm_bitmap_empty(a, n));
		for (uint32_t i = 0; i < n; i += 3)
			gvm_bitmap_set(a, i);
		gvm_bitmap_set(a, n - 1);
		gvm_bitmap_for_each(bit, a, n) {
			CHECK(bit == n - 1 || bit % 3 == 0);
			CHECK(count == 0 || bit > prev);
			prev = bit;
			count++;
		}
		CHECK(count == gvm_bitmap_weight(a, n));
		CHECK(count == (n + 2) / 3 + ((n - 1) % 3 != 0));
		gvm_bitmap_to_wire(wire, a, n);
		CHECK((wire[0] & 1) == 1);
		gvm_bitmap_from_wire(b, wire, n);
		CHECK(!memcmp(a, b, gvm_bitmap_words(n) * 8));
		gvm_bitmap_clear(a, n - 1);
		CHECK(!gvm_bitmap_test(a, n - 1));
		CHECK(gvm_bitmap_next(a, n, n - 1) == n);
		free(a);
		free(b);
		free(wire);
	}
	return test_exit("unit-bitmap");
}

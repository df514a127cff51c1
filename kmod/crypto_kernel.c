// SPDX-License-Identifier: MIT
/*
 * crypto_kernel.c - the crypto gvm_os.h promises, in the kernel: HMAC-
 * SHA256 from the crypto API ("hmac(sha256)", the CPU's SHA extensions
 * where the kernel has a driver for them), nonces from get_random_bytes.
 * The same algorithm as userspace's libcrypto, so kernel and userspace
 * nodes prove the same secret to each other.
 */
#include <crypto/hash.h>
#include <linux/random.h>
#include <linux/slab.h>

#include <gvm/transport.h>

#include "os/gvm_os.h"

void *gvm_os_hmac_new(const void *key, size_t len)
{
	struct crypto_shash *tfm = crypto_alloc_shash("hmac(sha256)", 0, 0);

	if (IS_ERR(tfm))
		return NULL;
	if (crypto_shash_setkey(tfm, key, len)) {
		crypto_free_shash(tfm);
		return NULL;
	}
	return tfm;
}

void gvm_os_hmac_free(void *h)
{
	crypto_free_shash(h);
}

int gvm_os_hmac(void *h, const struct gvm_iov *iov, unsigned int n, uint8_t *out)
{
	SHASH_DESC_ON_STACK(desc, (struct crypto_shash *)h);
	int err;

	desc->tfm = h;
	err = crypto_shash_init(desc);
	for (unsigned int i = 0; !err && i < n; i++)
		err = crypto_shash_update(desc, iov[i].base, iov[i].len);
	if (!err)
		err = crypto_shash_final(desc, out);
	shash_desc_zero(desc);
	return err;
}

void gvm_os_random(void *buf, size_t len)
{
	get_random_bytes(buf, len);
}

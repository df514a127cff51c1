// SPDX-License-Identifier: MIT
/*
 * crypto_user.c - the crypto gvm_os.h promises, in userspace: HMAC-SHA256
 * from OpenSSL's libcrypto (Debian's most widely deployed and audited
 * crypto library, using the CPU's SHA extensions where it has them, and the
 * same algorithm the kernel's crypto API offers the module), nonces from
 * getrandom(2).
 */
#include "gvm_os.h"

#include <errno.h>
#include <pthread.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <gvm/transport.h>

static EVP_MAC *hmac;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void)
{
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

void *gvm_os_hmac_new(const void *key, size_t len)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx;

	pthread_once(&hmac_once, hmac_fetch);
	if (!hmac)
		return NULL;
	ctx = EVP_MAC_CTX_new(hmac);
	if (ctx && !EVP_MAC_init(ctx, key, len, params)) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

void gvm_os_hmac_free(void *h)
{
	EVP_MAC_CTX_free(h);
}

int gvm_os_hmac(void *h, const struct gvm_iov *iov, unsigned int n, uint8_t *out)
{
	EVP_MAC_CTX *ctx = h;
	size_t len = 0;

	/* No key: start again from the one set at new (its pads are kept). */
	if (!EVP_MAC_init(ctx, NULL, 0, NULL))
		return -EIO;
	for (unsigned int i = 0; i < n; i++)
		if (!EVP_MAC_update(ctx, iov[i].base, iov[i].len))
			return -EIO;
	return EVP_MAC_final(ctx, out, &len, 32) && len == 32 ? 0 : -EIO;
}

void gvm_os_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = getrandom(p, len, 0);

		if (r > 0) {
			p += r;
			len -= (size_t)r;
		}
	}
}

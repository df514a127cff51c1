// SPDX-License-Identifier: MIT
/*
 * noop.c - the default policy: watches nothing, promotes nothing. Every hook
 * is left out, so the engine skips them at no cost.
 */
#include <gvm/policy.h>

const struct gvm_policy_ops gvm_policy_noop = {
	.size = sizeof(struct gvm_policy_ops),
	.abi_version = GVM_POLICY_ABI_VERSION,
	.name = "noop",
};

/* SPDX-License-Identifier: MIT */
/* policy_options.h - "key=value,key=value" options of the built-in policies. */
#ifndef GVM_POLICY_OPTIONS_H
#define GVM_POLICY_OPTIONS_H

#include <gvm/types.h>

struct gvm_policy_option {
	const char *key;
	uint64_t value; /* the default on entry, the user's on return */
	uint64_t min, max;
};

/*
 * Parse s (NULL or "" leaves the defaults) into opts; returns 0, or
 * -EINVAL after logging the unknown key or the value out of range.
 */
int gvm_policy_options_parse(const char *policy, const char *s,
			     struct gvm_policy_option *opts, uint32_t nopts);

#endif /* GVM_POLICY_OPTIONS_H */

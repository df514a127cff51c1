// SPDX-License-Identifier: MIT
/*
 * transport_registry.c - backends built into a userspace program announce
 * themselves here (GVM_TRANSPORT_REGISTER runs before main), so tools pick
 * one by name.
 */
#include <string.h>

#include <gvm/transport.h>

static struct gvm_transport_entry *registry;

void gvm_transport_register(struct gvm_transport_entry *e)
{
	e->next = registry;
	registry = e;
}

const struct gvm_transport_ops *gvm_transport_find(const char *name)
{
	for (struct gvm_transport_entry *e = registry; e; e = e->next)
		if (!strcmp(e->ops->name, name))
			return e->ops;
	return NULL;
}

const struct gvm_transport_entry *
gvm_transport_next(const struct gvm_transport_entry *prev)
{
	return prev ? prev->next : registry;
}

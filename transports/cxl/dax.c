// SPDX-License-Identifier: MIT
/*
 * dax.c - devdax discovery with libdaxctl (dax.h): is this device there,
 * enabled, in devdax mode (not onlined as system RAM), and how large and
 * how aligned is it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <daxctl/libdaxctl.h>

#include "dax.h"

static const char *dax_mode(struct daxctl_dev *dev)
{
	/* A device handed to the kmem driver has a memory object. */
	return daxctl_dev_get_memory(dev) ? "system-ram" : "devdax";
}

int cxl_dax_check(const char *path, uint64_t *size, uint64_t *align,
		  char *why, size_t len)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct daxctl_ctx *ctx;
	struct daxctl_region *region;
	struct daxctl_dev *dev, *found = NULL;
	char seen[160] = "";
	size_t off = 0;
	int err = daxctl_new(&ctx), count = 0;

	if (err) {
		snprintf(why, len, "%s: libdaxctl could not start: %s", path, strerror(-err));
		return err;
	}
	daxctl_region_foreach(ctx, region)
		daxctl_dev_foreach(region, dev) {
			const char *dn = daxctl_dev_get_devname(dev);

			count++;
			if (!strcmp(dn, name))
				found = dev;
			else if (off < sizeof(seen))
				off += (size_t)snprintf(seen + off, sizeof(seen) - off,
							"%s%s", off ? ", " : "", dn);
		}
	if (!found) {
		if (!count)
			snprintf(why, len, "%s: libdaxctl lists no dax devices on this machine (no CXL or persistent memory configured as devdax)",
				 path);
		else
			snprintf(why, len, "%s: no such dax device (there are: %s)", path, seen);
		err = -ENODEV;
	} else if (!daxctl_dev_is_enabled(found)) {
		snprintf(why, len, "%s: device is disabled (daxctl enable-device %s)", path, name);
		err = -EINVAL;
	} else if (strcmp(dax_mode(found), "devdax")) {
		snprintf(why, len, "%s: device is in %s mode, want devdax (daxctl reconfigure-device --mode=devdax %s)",
			 path, dax_mode(found), name);
		err = -EINVAL;
	} else {
		*size = daxctl_dev_get_size(found);
		*align = daxctl_dev_get_align(found);
		if (!*align)
			*align = 4096;
	}
	daxctl_unref(ctx);
	return err;
}

int cxl_dax_list(FILE *f)
{
	struct daxctl_ctx *ctx;
	struct daxctl_region *region;
	struct daxctl_dev *dev;
	int err = daxctl_new(&ctx), count = 0;

	if (err)
		return err;
	daxctl_region_foreach(ctx, region)
		daxctl_dev_foreach(region, dev) {
			fprintf(f, "/dev/%s  region %d  size %llu  align %lu  %s  %s\n",
				daxctl_dev_get_devname(dev), daxctl_region_get_id(region),
				daxctl_dev_get_size(dev), daxctl_dev_get_align(dev),
				dax_mode(dev),
				daxctl_dev_is_enabled(dev) ? "enabled" : "disabled");
			count++;
		}
	daxctl_unref(ctx);
	return count;
}

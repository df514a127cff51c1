# transports/cxl: always built (file and memfd regions need nothing). The
# devdax source when configure found libdaxctl (HAVE_LIBDAXCTL; Debian:
# libdaxctl-dev); without it dax= is refused with a message saying why.
TP_SRCS += transports/cxl/cxl.c transports/cxl/ring.c
TP_SRCS += $(if $(HAVE_LIBDAXCTL),transports/cxl/dax.c)

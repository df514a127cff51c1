# transports/cxl: always built (file and memfd regions need nothing). The
# devdax source needs libdaxctl (pkg-config libdaxctl; Debian: libdaxctl-dev).
TP_SRCS += transports/cxl/cxl.c transports/cxl/ring.c
ifeq ($(shell pkg-config --exists libdaxctl && echo yes),yes)
TP_SRCS += transports/cxl/dax.c
DEFS    += -DGVM_HAVE_LIBDAXCTL $(shell pkg-config --cflags libdaxctl)
LIBS    += $(shell pkg-config --libs libdaxctl)
else
$(info cxl: libdaxctl not found (pkg-config libdaxctl; Debian: libdaxctl-dev): dax= sources refused, path= and memfd= only)
endif

# transports/tcp: always built. The io_uring poller needs liburing
# (pkg-config liburing, Debian: liburing-dev); without it, epoll only.
TP_SRCS += transports/tcp/tcp.c transports/tcp/poller_epoll.c
ifeq ($(shell pkg-config --exists liburing && echo yes),yes)
TP_SRCS += transports/tcp/poller_uring.c
DEFS    += -DGVM_HAVE_LIBURING $(shell pkg-config --cflags liburing)
LIBS    += $(shell pkg-config --libs liburing)
else
$(info tcp: liburing not found (pkg-config liburing; Debian: liburing-dev): io_uring path not built, epoll only)
endif

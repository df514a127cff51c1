# transports/tcp: always built. The io_uring poller when configure found
# liburing (HAVE_LIBURING; Debian: liburing-dev); without it, epoll only.
TP_SRCS += transports/tcp/tcp.c transports/tcp/poller_epoll.c
TP_SRCS += $(if $(HAVE_LIBURING),transports/tcp/poller_uring.c)

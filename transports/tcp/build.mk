# transports/tcp: always built (sockets and epoll are in every Linux libc).
TP_SRCS += transports/tcp/tcp.c

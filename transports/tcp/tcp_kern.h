/* SPDX-License-Identifier: MIT */
/*
 * tcp_kern.h - the kernel-socket TCP backend (tcp_kern.c), for the kernel
 * module. Same address list, options, frames and handshake as tcp.c, with
 * numeric addresses only; gvm_transport_params.ctx may carry a listening
 * struct socket (from sockfd_lookup) that the endpoint then owns.
 */
#ifndef GVM_TCP_KERN_H
#define GVM_TCP_KERN_H

#include <gvm/transport.h>

extern const struct gvm_transport_ops gvm_tcp_kern_ops;

#endif /* GVM_TCP_KERN_H */

# transports/sim: always built (no dependencies).
TP_SRCS += transports/sim/sim.c

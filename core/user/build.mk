# core/user: PMIx bootstrap when libpmix is found (Debian: libpmix-dev).
ifeq ($(shell pkg-config --exists pmix && echo yes),yes)
USER_SRCS += core/user/pmix.c
DEFS      += -DGVM_HAVE_PMIX $(shell pkg-config --cflags pmix)
LIBS      += $(shell pkg-config --libs pmix)
else
$(info core/user: libpmix not found (pkg-config pmix; Debian: libpmix-dev): no PMIx bootstrap, gvmrun and GVM_* only)
endif

# core/user: the PMIx bootstrap when configure found libpmix (HAVE_PMIX;
# Debian: libpmix-dev); without it, gvmrun and GVM_* settings only.
USER_SRCS += $(if $(HAVE_PMIX),core/user/pmix.c)

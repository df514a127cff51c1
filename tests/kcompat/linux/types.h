/* Stand-in for the kernel's <linux/types.h>: compiler-provided types only. */
#ifndef KCOMPAT_LINUX_TYPES_H
#define KCOMPAT_LINUX_TYPES_H
typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __INT64_TYPE__ int64_t;
typedef __SIZE_TYPE__ size_t;
typedef _Bool bool;
#define true 1
#define false 0
#endif

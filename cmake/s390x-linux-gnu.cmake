# A toolchain file for a big-endian target, s390x: clang, with Debian's s390x
# C library, GCC runtime and binutils (libc6-dev-s390x-cross,
# libgcc-12-dev-s390x-cross, libstdc++-12-dev-s390x-cross,
# binutils-s390x-linux-gnu). Debian's s390x gcc cannot be installed beside
# gcc-multilib, which the 32-bit build needs. scripts/test_all.cmake runs the
# tests through qemu-s390x (QEMU_LD_PREFIX=/usr/s390x-linux-gnu).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR s390x)
set(CMAKE_C_COMPILER clang)
set(CMAKE_C_COMPILER_TARGET s390x-linux-gnu)
set(CMAKE_CXX_COMPILER clang++)
set(CMAKE_CXX_COMPILER_TARGET s390x-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/s390x-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

# Builds and runs every test in every configuration the project promises. CMake only:
#
#   cmake -P scripts/test_all.cmake       (from the repository root)
#   cmake -DJOBS=1 -P scripts/test_all.cmake   (build and test with 1 job; the
#                                              default is every core)
#
# Always: Debug (with line coverage of src/ gated at 100% where gcovr is
# installed), Release (-DNDEBUG, with real programs from Debian on the drop-in
# malloc, each skipped with a message if not installed) and ASan+UBSan with gcc,
# and ThreadSanitizer where a threaded program built with it runs. When the
# tools are installed (CI installs them): clang, the whole suite under Valgrind
# memcheck, and a 32-bit build (gcc-multilib; natively where the kernel runs
# 32-bit programs, else through qemu-i386; its Valgrind checks run only where
# Valgrind can start a 32-bit program, which needs libc6-dbg:i386), and a
# big-endian build (s390x: clang with Debian's s390x libraries, through qemu). A
# configuration whose tools are missing is skipped with a message; any that
# runs must pass.
# Warnings are errors when CI=true (or -DBUDDY_WERROR=ON before -P).
# Build trees go to build-test/<configuration>.
cmake_minimum_required(VERSION 3.25)
get_filename_component(source_dir "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
if(NOT DEFINED BUDDY_WERROR)
  if("$ENV{CI}" STREQUAL "true")
    set(BUDDY_WERROR ON)
  else()
    set(BUDDY_WERROR OFF)
  endif()
endif()
if(DEFINED JOBS)
  set(jobs ${JOBS})
elseif(DEFINED ENV{CMAKE_BUILD_PARALLEL_LEVEL})
  set(jobs $ENV{CMAKE_BUILD_PARALLEL_LEVEL})
else()
  cmake_host_system_information(RESULT jobs QUERY NUMBER_OF_LOGICAL_CORES)
endif()
if(NOT jobs MATCHES "^[1-9][0-9]*$")
  message(FATAL_ERROR "JOBS: '${jobs}' is not a job count (a whole number from 1)")
endif()
message(STATUS "==== ${jobs} parallel jobs (-DJOBS=N to change)")
set(build_root "${source_dir}/build-test")
file(MAKE_DIRECTORY "${build_root}")

# The gcc configurations name gcc and g++, so that CC and CXX in the
# environment (clang, say) do not change them: the coverage gate reads gcc's
# counters, and Valgrind does not read clang 14's DWARF 5. The clang and s390x
# configurations name their own compilers.
find_program(gcc_program gcc)
find_program(gxx_program g++)
set(gcc "")
set(probe_cc cc)
if(gcc_program)
  list(APPEND gcc -DCMAKE_C_COMPILER=${gcc_program})
  set(probe_cc ${gcc_program})
else()
  message(STATUS "==== gcc is not installed: the gcc configurations use the default C compiler")
endif()
if(gxx_program)
  list(APPEND gcc -DCMAKE_CXX_COMPILER=${gxx_program})
endif()

# Configures, builds and tests one configuration; stops everything on a failure.
# A tree configured before with another C or C++ compiler is made anew: CMake
# would delete its cache, and this call's -D options with it.
function(run_configuration name)
  set(binary_dir "${build_root}/${name}")
  foreach(argument ${ARGN})
    if(argument MATCHES "^-D(CMAKE_C_COMPILER|CMAKE_CXX_COMPILER)=(.*)$"
        AND EXISTS "${binary_dir}/CMakeCache.txt")
      set(variable "${CMAKE_MATCH_1}")
      set(compiler "${CMAKE_MATCH_2}")
      file(STRINGS "${binary_dir}/CMakeCache.txt" cached REGEX "^${variable}:")
      string(REGEX REPLACE "^[^=]*=" "" cached "${cached}")
      if(cached AND NOT cached STREQUAL compiler)
        message(STATUS "==== ${name}: configured before with ${cached}; made anew with ${compiler}")
        file(REMOVE_RECURSE "${binary_dir}")
      endif()
    endif()
  endforeach()
  string(TIMESTAMP started "%s")
  message(STATUS "==== ${name}: configure, build, test")
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${source_dir} -B ${binary_dir}
      -DBUDDY_WERROR=${BUDDY_WERROR} -DBUDDY_BUILD_BENCH=OFF ${ARGN} RESULT_VARIABLE failed)
  if(NOT failed)
    execute_process(COMMAND ${CMAKE_COMMAND} --build ${binary_dir} -j ${jobs} RESULT_VARIABLE failed)
  endif()
  if(NOT failed)
    execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${binary_dir} --output-on-failure
        -j ${jobs} RESULT_VARIABLE failed)
  endif()
  if(failed)
    message(FATAL_ERROR "==== ${name}: FAILED")
  endif()
  string(TIMESTAMP finished "%s")
  math(EXPR took "${finished} - ${started}")
  message(STATUS "==== ${name}: passed in ${took} s")
  set(ran "${ran} ${name}" PARENT_SCOPE)
endfunction()

function(skip name why)
  message(STATUS "==== ${name}: skipped (${why})")
  set(skipped "${skipped} ${name}" PARENT_SCOPE)
endfunction()

# Debug, with line coverage of src/ gated at 100% where gcovr is installed.
# Without the x86-64-v3 copy of alloc and free: the release, ASan and
# Valgrind configurations run it on a CPU that has it, this one the portable
# copy.
find_program(gcovr_program gcovr)
if(gcovr_program)
  file(GLOB_RECURSE stale "${build_root}/debug/*.gcda")
  if(stale)
    file(REMOVE ${stale})
  endif()
  run_configuration(debug ${gcc} -DCMAKE_BUILD_TYPE=Debug -DBUDDY_DISPATCH=OFF -DCMAKE_C_FLAGS=--coverage
    -DCMAKE_EXE_LINKER_FLAGS=--coverage -DCMAKE_SHARED_LINKER_FLAGS=--coverage)
  # The threads tests race on gcov's counters, which can make a branch count
  # negative; branch lines are not what the gate measures, so gcovr skips
  # them. (Atomic counters, -fprofile-update=atomic, tripled this build's time.)
  execute_process(COMMAND ${gcovr_program} --root ${source_dir} --filter ${source_dir}/src/
      --gcov-ignore-parse-errors
      --object-directory ${build_root}/debug --fail-under-line 100 --print-summary
      ${build_root}/debug # search only this build: other builds' data would be stale
    RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "==== debug: below 100% of lines in src/")
  endif()
else()
  message(STATUS "==== debug: without line coverage (gcovr is not installed)")
  run_configuration(debug ${gcc} -DCMAKE_BUILD_TYPE=Debug -DBUDDY_DISPATCH=OFF)
endif()
run_configuration(release ${gcc} -DCMAKE_BUILD_TYPE=Release -DBUDDY_REAL_PROGRAM_TESTS=ON)
run_configuration(asan ${gcc} -DCMAKE_BUILD_TYPE=Debug -DBUDDY_SANITIZE=ON)

# ThreadSanitizer: the whole suite, threads tests included. Probed by running
# a threaded program, since some kernels' memory layouts defeat it.
set(probe "${build_root}/tsan_probe")
file(WRITE "${probe}.c" "#include <pthread.h>\nstatic void *run(void *a) { return a; }\nint main(void) { pthread_t t; pthread_create(&t, 0, run, 0); return pthread_join(t, 0); }\n")
execute_process(COMMAND ${probe_cc} -fsanitize=thread "${probe}.c" -o "${probe}" -lpthread
  RESULT_VARIABLE no_tsan OUTPUT_QUIET ERROR_QUIET)
if(NOT no_tsan)
  execute_process(COMMAND "${probe}" RESULT_VARIABLE no_tsan OUTPUT_QUIET ERROR_QUIET)
endif()
if(no_tsan)
  skip(tsan "a program built with -fsanitize=thread does not build or run here")
else()
  run_configuration(tsan ${gcc} -DCMAKE_BUILD_TYPE=Debug -DBUDDY_TSAN=ON -DBUDDY_PYTHON_TESTS=OFF)
endif()

find_program(clang_program clang)
find_program(clangxx_program clang++)
if(clang_program AND clangxx_program)
  run_configuration(clang -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=${clang_program}
    -DCMAKE_CXX_COMPILER=${clangxx_program} -DBUDDY_LONG_TESTS=OFF)
else()
  skip(clang "clang is not installed")
endif()

# Without the environment's CFLAGS and CXXFLAGS: Valgrind does not decode
# every instruction they may let the compiler use (AVX-512, from -march=native
# on a CPU that has it), and this configuration runs every test under it.
find_program(valgrind_program valgrind)
if(valgrind_program)
  run_configuration(valgrind ${gcc} -DCMAKE_BUILD_TYPE=Debug -DBUDDY_TEST_UNDER_VALGRIND=ON
    -DBUDDY_PYTHON_TESTS=OFF -DCMAKE_C_FLAGS= -DCMAKE_CXX_FLAGS=)
else()
  skip(valgrind "valgrind is not installed")
endif()

# 32-bit: needs gcc-multilib; runs natively or through qemu-i386.
set(probe "${build_root}/m32_probe")
file(WRITE "${probe}.c" "int main(void) { return sizeof(void *) == 4 ? 0 : 1; }\n")
execute_process(COMMAND ${probe_cc} -m32 "${probe}.c" -o "${probe}" RESULT_VARIABLE no_m32 OUTPUT_QUIET ERROR_QUIET)
find_program(qemu_i386 qemu-i386)
if(no_m32)
  skip(m32 "gcc-multilib is not installed")
else()
  execute_process(COMMAND "${probe}" RESULT_VARIABLE no_native OUTPUT_QUIET ERROR_QUIET)
  if(NOT no_native)
    message(STATUS "==== m32: this kernel runs 32-bit programs natively")
    run_configuration(m32 ${gcc} -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-m32 -DCMAKE_CXX_FLAGS=-m32
      -DBUDDY_PYTHON_TESTS=OFF)
  elseif(qemu_i386)
    message(STATUS "==== m32: this kernel runs no 32-bit programs: through ${qemu_i386}")
    run_configuration(m32 ${gcc} -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-m32 -DCMAKE_CXX_FLAGS=-m32
      -DBUDDY_PYTHON_TESTS=OFF -DBUDDY_TEST_EMULATOR=${qemu_i386})
  else()
    skip(m32 "this kernel runs no 32-bit programs and qemu-user is not installed")
  endif()
endif()

# Big-endian, with an unsigned char: s390x, built by clang with Debian's s390x
# libraries and binutils (cmake/s390x-linux-gnu.cmake says which) and run
# through qemu-s390x. The probe exits 0 only on a big-endian target.
set(probe "${build_root}/s390x_probe")
file(WRITE "${probe}.cpp" "int main() { unsigned one = 1; return *(unsigned char *)&one; }\n")
set(no_s390x "clang++ is not installed")
if(clangxx_program)
  execute_process(COMMAND ${clangxx_program} --target=s390x-linux-gnu "${probe}.cpp" -o "${probe}"
    RESULT_VARIABLE no_s390x OUTPUT_QUIET ERROR_QUIET)
endif()
find_program(qemu_s390x qemu-s390x)
if(no_s390x)
  skip(s390x "clang builds no s390x program here (binutils-s390x-linux-gnu and the s390x libc6-dev, libgcc-12-dev and libstdc++-12-dev -cross packages)")
elseif(NOT qemu_s390x)
  skip(s390x "qemu-s390x is not installed (qemu-user)")
else()
  set(ENV{QEMU_LD_PREFIX} /usr/s390x-linux-gnu)
  execute_process(COMMAND ${qemu_s390x} "${probe}" RESULT_VARIABLE no_s390x OUTPUT_QUIET ERROR_QUIET)
  if(no_s390x)
    skip(s390x "${qemu_s390x} does not run an s390x program here as a big-endian one")
  else()
    run_configuration(s390x -DCMAKE_TOOLCHAIN_FILE=${source_dir}/cmake/s390x-linux-gnu.cmake
      -DCMAKE_BUILD_TYPE=Debug -DBUDDY_PYTHON_TESTS=OFF -DBUDDY_TEST_EMULATOR=${qemu_s390x})
  endif()
endif()

message(STATUS "==== passed:${ran}")
if(skipped)
  message(STATUS "==== skipped:${skipped}")
endif()

# Builds the libFuzzer targets with clang and runs each for SECONDS (default
# 60), starting from fuzz/corpus/<target> and adding what it finds to a work
# corpus in build-fuzz/corpus/<target>:
#
#   cmake -DSECONDS=3600 -P scripts/fuzz.cmake
#
# A finding is saved as build-fuzz/<target>-crash-*; replay it with
# build-fuzz/fuzz/fuzz_<target>_replay FILE, fix the bug, and add the file to
# fuzz/corpus/<target> so CTest replays it from then on.
cmake_minimum_required(VERSION 3.25)
get_filename_component(source_dir "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
if(NOT DEFINED SECONDS)
  set(SECONDS 60)
endif()
set(binary_dir "${source_dir}/build-fuzz")
find_program(clang_program clang REQUIRED)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${source_dir} -B ${binary_dir} -DCMAKE_C_COMPILER=${clang_program}
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUDDY_FUZZ=ON -DBUDDY_BUILD_TOOLS=OFF -DBUDDY_BUILD_BENCH=OFF
    -DBUDDY_PYTHON_TESTS=OFF COMMAND_ERROR_IS_FATAL ANY)
set(targets range heap cache trace shared)
list(TRANSFORM targets PREPEND fuzz_ OUTPUT_VARIABLE fuzzers)
list(TRANSFORM fuzzers APPEND _replay OUTPUT_VARIABLE replays)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${binary_dir} --target ${fuzzers} ${replays}
  COMMAND_ERROR_IS_FATAL ANY)
foreach(target ${targets})
  file(MAKE_DIRECTORY ${binary_dir}/corpus/${target})
  file(GLOB seeds ${source_dir}/fuzz/corpus/${target}/*)
  file(COPY ${seeds} DESTINATION ${binary_dir}/corpus/${target})
  message(STATUS "==== fuzz_${target}: ${SECONDS} s")
  execute_process(COMMAND ${binary_dir}/fuzz/fuzz_${target} -max_total_time=${SECONDS}
      -print_final_stats=1 -artifact_prefix=${binary_dir}/${target}- ${binary_dir}/corpus/${target}
    RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "==== fuzz_${target}: a finding, see ${binary_dir}/${target}-*")
  endif()
endforeach()

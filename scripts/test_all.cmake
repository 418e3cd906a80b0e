# Builds and runs every test in the three configurations the project
# promises: Debug, Release (-DNDEBUG) and ASan+UBSan. CMake only:
#
#   cmake -P scripts/test_all.cmake       (from the repository root)
#
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
cmake_host_system_information(RESULT jobs QUERY NUMBER_OF_LOGICAL_CORES)

set(configurations
  "debug|-DCMAKE_BUILD_TYPE=Debug"
  "release|-DCMAKE_BUILD_TYPE=Release"
  "asan|-DCMAKE_BUILD_TYPE=Debug|-DBUDDY_SANITIZE=ON")

foreach(entry IN LISTS configurations)
  string(REPLACE "|" ";" entry "${entry}")
  list(POP_FRONT entry name)
  set(binary_dir "${source_dir}/build-test/${name}")
  message(STATUS "==== ${name}: configure, build, test")
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${source_dir} -B ${binary_dir}
      -DBUDDY_WERROR=${BUDDY_WERROR} -DBUDDY_BUILD_BENCH=OFF ${entry}
    RESULT_VARIABLE failed)
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
endforeach()
message(STATUS "==== all configurations passed: debug, release, asan")

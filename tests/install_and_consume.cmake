# Installs the build tree BUILD into a scratch prefix, then builds and runs a
# consumer that finds buddy with find_package and with pkg-config, with the
# build's compiler and flags (C_FLAGS, LINK_FLAGS): a library built with
# -flto=thin holds bitcode that only such a link reads.
set(prefix "${BUILD}/install-test/prefix")
file(REMOVE_RECURSE "${BUILD}/install-test")
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${prefix} COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${BUILD}/install-test/consumer
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER} "-DCMAKE_C_FLAGS=${C_FLAGS}"
  "-DCMAKE_EXE_LINKER_FLAGS=${LINK_FLAGS}" COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD}/install-test/consumer COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${BUILD}/install-test/consumer/consumer COMMAND_ERROR_IS_FATAL ANY)
find_program(pkg_config pkg-config)
if(pkg_config)
  set(ENV{PKG_CONFIG_PATH} "${prefix}/lib/pkgconfig")
  execute_process(COMMAND ${pkg_config} --cflags --libs --static buddy
    OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  separate_arguments(flags UNIX_COMMAND "${C_FLAGS} ${flags} ${LINK_FLAGS}")
  execute_process(COMMAND ${C_COMPILER} ${SOURCE}/main.c ${flags} -o ${BUILD}/install-test/pc-consumer
    COMMAND_ERROR_IS_FATAL ANY)
  set(ENV{LD_LIBRARY_PATH} "${prefix}/lib")
  execute_process(COMMAND ${BUILD}/install-test/pc-consumer COMMAND_ERROR_IS_FATAL ANY)
endif()

# The installed command: the demo, then a recording through the interposer in
# its private folder (never the public libdir), replayed; and the man page.
set(bin "${prefix}/bin/buddy")
set(work "${BUILD}/install-test")
if(EXISTS "${prefix}/lib/libbuddy_record.so")
  message(FATAL_ERROR "libbuddy_record.so went to the public libdir")
endif()
file(GLOB_RECURSE record_library "${prefix}/libbuddy_record.so")
file(GLOB_RECURSE man_page "${prefix}/buddy.1")
if(NOT record_library MATCHES "/lib[^/]*/buddy/libbuddy_record.so$" OR NOT man_page MATCHES "/man1/")
  message(FATAL_ERROR "missing from the install: lib*/buddy/libbuddy_record.so or man1/buddy.1")
endif()
execute_process(COMMAND ${bin} demo --out ${work}/demo.svg OUTPUT_VARIABLE demo
  COMMAND_ERROR_IS_FATAL ANY)
if(NOT demo MATCHES "invariant check: BUDDY_OK")
  message(FATAL_ERROR "the installed buddy demo printed:\n${demo}")
endif()
execute_process(COMMAND ${bin} record --output ${work}/true.trace -- /usr/bin/true
  COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${bin} replay ${work}/true.trace OUTPUT_VARIABLE replay
  COMMAND_ERROR_IS_FATAL ANY)
if(NOT replay MATCHES "failed allocations 0")
  message(FATAL_ERROR "the installed buddy replay printed:\n${replay}")
endif()

# The drop-in malloc in the public libdir, which the installed `buddy run` finds:
# the installed buddy itself runs on it.
file(GLOB malloc_library "${prefix}/lib*/libbuddy_malloc.so")
if(malloc_library)
  execute_process(COMMAND ${bin} run -- ${bin} demo --out ${work}/run-demo.svg
    OUTPUT_QUIET ERROR_VARIABLE run COMMAND_ERROR_IS_FATAL ANY)
  if(NOT run MATCHES "buddy malloc: pid [0-9]+ buddy: peak")
    message(FATAL_ERROR "the installed buddy run printed:\n${run}")
  endif()
endif()

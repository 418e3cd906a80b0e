# Installs the build tree BUILD into a scratch prefix, then builds and runs a
# consumer that finds buddy with find_package and with pkg-config.
set(prefix "${BUILD}/install-test/prefix")
file(REMOVE_RECURSE "${BUILD}/install-test")
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${prefix} COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${BUILD}/install-test/consumer
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER} COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD}/install-test/consumer COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${BUILD}/install-test/consumer/consumer COMMAND_ERROR_IS_FATAL ANY)
find_program(pkg_config pkg-config)
if(pkg_config)
  set(ENV{PKG_CONFIG_PATH} "${prefix}/lib/pkgconfig")
  execute_process(COMMAND ${pkg_config} --cflags --libs --static buddy
    OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  execute_process(COMMAND ${C_COMPILER} ${SOURCE}/main.c ${flags} -o ${BUILD}/install-test/pc-consumer
    COMMAND_ERROR_IS_FATAL ANY)
  set(ENV{LD_LIBRARY_PATH} "${prefix}/lib")
  execute_process(COMMAND ${BUILD}/install-test/pc-consumer COMMAND_ERROR_IS_FATAL ANY)
endif()

# SPDX-License-Identifier: Apache-2.0
# Builds and runs tests/consumer against fresco, the way a user would.
#   MODE=install: cmake --install the build into a fresh prefix, then
#                 find_package(fresco) from there (and from nowhere else).
#   MODE=subdir:  add_subdirectory(<fresco source>) in the consumer.
# Other inputs: FRESCO_SOURCE_DIR, FRESCO_BINARY_DIR, WORK_DIR, CONFIG,
# GENERATOR, CXX_COMPILER.
cmake_minimum_required(VERSION 3.21)

function(run)
  string(REPLACE ";" " " pretty "${ARGN}")
  message(STATUS "$ ${pretty}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${pretty}")
  endif()
endfunction()

if(NOT CONFIG)
  set(CONFIG Release)
endif()
set(work ${WORK_DIR}/${MODE})
file(REMOVE_RECURSE ${work})
set(build ${work}/consumer-build)
set(configure_args -S ${FRESCO_SOURCE_DIR}/tests/consumer -B ${build} -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
if(MODE STREQUAL "subdir")
  # This mode compiles the whole library again; unoptimised and without debug
  # information (128 -> 99 s for the library on 2 cores) it proves the same thing.
  set(CONFIG Debug)
  list(APPEND configure_args -DCMAKE_CXX_FLAGS_DEBUG=-O0)
endif()
list(APPEND configure_args -DCMAKE_BUILD_TYPE=${CONFIG})

if(MODE STREQUAL "install")
  set(prefix ${work}/prefix)
  run(${CMAKE_COMMAND} --install ${FRESCO_BINARY_DIR} --prefix ${prefix} --config ${CONFIG})
  # Only the install tree may satisfy find_package: not the build tree's
  # export, not the user package registry.
  run(${CMAKE_COMMAND} ${configure_args} -DCMAKE_PREFIX_PATH=${prefix}
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
  file(STRINGS ${build}/CMakeCache.txt fresco_dir REGEX "^fresco_DIR:")
  string(REGEX REPLACE "^[^=]*=" "" fresco_dir "${fresco_dir}")
  if(NOT fresco_dir MATCHES "^${prefix}/")
    message(FATAL_ERROR "find_package(fresco) found ${fresco_dir}, not the install in ${prefix}")
  endif()
  foreach(file include/fresco/version.hpp include/fresco/tensor/tensor.hpp)
    if(NOT EXISTS ${prefix}/${file})
      message(FATAL_ERROR "not installed: ${file}")
    endif()
  endforeach()
elseif(MODE STREQUAL "subdir")
  run(${CMAKE_COMMAND} ${configure_args} -DFRESCO_CONSUMER_MODE=subdir
      -DFRESCO_SOURCE_DIR=${FRESCO_SOURCE_DIR})
else()
  message(FATAL_ERROR "MODE must be install or subdir, not '${MODE}'")
endif()

run(${CMAKE_COMMAND} --build ${build} --config ${CONFIG} --parallel 2)
run(${CMAKE_COMMAND} -E chdir ${build} ${CMAKE_CTEST_COMMAND} -C ${CONFIG} --output-on-failure)

# SPDX-License-Identifier: Apache-2.0
# cmake -DINCLUDE_DIR=<include> -P check_public_headers.cmake
# Fails if a public header includes a private dependency: oneDNN, Eigen and
# OpenMP belong in src/kernels/*.cpp; zlib, giflib, stb and nlohmann_json in src/ only.
set(forbidden "dnnl|oneapi/|mkldnn|Eigen/|unsupported/Eigen|omp\\.h|zlib\\.h|gif_lib\\.h|stb_|stb/|nlohmann/")
file(GLOB_RECURSE headers RELATIVE ${INCLUDE_DIR} ${INCLUDE_DIR}/*)
set(found "")
foreach(header IN LISTS headers)
  file(STRINGS ${INCLUDE_DIR}/${header} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](${forbidden})")
  foreach(line IN LISTS lines)
    string(STRIP "${line}" line)
    string(APPEND found "\n  include/${header}: ${line}")
  endforeach()
endforeach()
list(LENGTH headers count)
if(found)
  message(FATAL_ERROR "public headers include private dependencies:${found}\n"
                      "Move these includes into a .cpp under src/ (oneDNN, Eigen, OpenMP: src/kernels/).")
endif()
message(STATUS "${count} public headers, none includes oneDNN, Eigen, OpenMP, zlib, giflib, stb or nlohmann_json")

# SPDX-License-Identifier: Apache-2.0
# fresco_read_version(<header> <out-var>): sets <out-var> to "MAJOR.MINOR.PATCH"
# read from the FRESCO_VERSION_* macros of <header>, and stops the configure
# if FRESCO_VERSION_STRING says otherwise, so the two can never drift apart.
function(fresco_read_version header out_var)
  file(STRINGS ${header} lines REGEX "^#define FRESCO_VERSION_[A-Z]+ ")
  foreach(part MAJOR MINOR PATCH)
    if(NOT lines MATCHES "#define FRESCO_VERSION_${part} +([0-9]+)")
      message(FATAL_ERROR "${header}: no '#define FRESCO_VERSION_${part} <number>'")
    endif()
    set(${part} ${CMAKE_MATCH_1})
  endforeach()
  set(version "${MAJOR}.${MINOR}.${PATCH}")
  if(NOT lines MATCHES "#define FRESCO_VERSION_STRING +\"([^\"]*)\"")
    message(FATAL_ERROR "${header}: no '#define FRESCO_VERSION_STRING \"...\"'")
  endif()
  if(NOT CMAKE_MATCH_1 STREQUAL version)
    message(FATAL_ERROR "${header}: FRESCO_VERSION_STRING is \"${CMAKE_MATCH_1}\" but the "
                        "MAJOR/MINOR/PATCH macros say ${version}; make them agree")
  endif()
  set(${out_var} ${version} PARENT_SCOPE)
endfunction()

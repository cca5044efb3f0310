# SPDX-License-Identifier: Apache-2.0
# Install rules: the library, the public headers, and a CMake package so that
# consumers write find_package(fresco 0.1 REQUIRED) and link fresco::fresco.
include(CMakePackageConfigHelpers)

set(FRESCO_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/fresco CACHE STRING
    "Where to install frescoConfig.cmake, relative to the prefix")

install(TARGETS fresco EXPORT frescoTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/fresco
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(EXPORT frescoTargets NAMESPACE fresco:: DESTINATION ${FRESCO_CMAKE_DIR})

# A static libfresco.a names its private dependencies in its link interface
# ($<LINK_ONLY:DNNL::dnnl> ... $<LINK_ONLY:GIF::GIF>), so the config must find them too; a shared
# library has them in its DT_NEEDED entries and needs only fmt.
get_target_property(FRESCO_LIBRARY_TYPE fresco TYPE)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/frescoConfig.cmake.in
  ${PROJECT_BINARY_DIR}/frescoConfig.cmake INSTALL_DESTINATION ${FRESCO_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/frescoConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/frescoConfig.cmake ${PROJECT_BINARY_DIR}/frescoConfigVersion.cmake
  DESTINATION ${FRESCO_CMAKE_DIR})


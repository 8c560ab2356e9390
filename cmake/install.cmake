# What `cmake --install` puts under the prefix: the libraries, the public
# headers (include/roster), the CMake package (find_package(roster CONFIG)
# gives roster::roster, roster::metrics, roster::core and roster::crypto),
# roster.pc and roster-metrics.pc for pkg-config, and the commands when
# they are built.
include(CMakePackageConfigHelpers)

set(ROSTER_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/roster)
install(TARGETS roster_metrics roster_net roster_core roster_crypto
                roster_proto
        EXPORT rosterTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/lib/include/roster
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(EXPORT rosterTargets NAMESPACE roster::
        DESTINATION ${ROSTER_CMAKE_DIR})

# The package file finds what the libraries' users need: abseil (the API
# speaks absl::Status and absl::Duration), protobuf (in roster::proto's
# link interface) and prometheus-cpp (roster::metrics speaks its types)
# always; with static archives also what the archives were linked against.
get_target_property(ROSTER_LIBRARY_TYPE roster_net TYPE)
if(ROSTER_LIBRARY_TYPE STREQUAL "SHARED_LIBRARY")
  set(ROSTER_STATIC OFF)
else()
  set(ROSTER_STATIC ON)
endif()
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/rosterConfig.cmake.in
  ${PROJECT_BINARY_DIR}/rosterConfig.cmake
  INSTALL_DESTINATION ${ROSTER_CMAKE_DIR})
# Before 1.0 a minor version may change the API.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/rosterConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/rosterConfig.cmake
              ${PROJECT_BINARY_DIR}/rosterConfigVersion.cmake
        DESTINATION ${ROSTER_CMAKE_DIR})

# The .pc file finds the prefix from where it lies, so that an install
# with `cmake --install --prefix` elsewhere works as it is.
file(RELATIVE_PATH ROSTER_PC_TO_PREFIX
     /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${CMAKE_CURRENT_LIST_DIR}/roster.pc.in
               ${PROJECT_BINARY_DIR}/roster.pc @ONLY)
configure_file(${CMAKE_CURRENT_LIST_DIR}/roster-metrics.pc.in
               ${PROJECT_BINARY_DIR}/roster-metrics.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/roster.pc
              ${PROJECT_BINARY_DIR}/roster-metrics.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(ROSTER_BUILD_TOOLS)
  install(TARGETS roster_cli roster-sim
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

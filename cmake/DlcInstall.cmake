# Installation and the CMake package: `cmake --install build --prefix P` installs
#   P/bin/dlc                         the command-line tool
#   P/lib/libdl_*.a                   the libraries
#   P/include/dlc/{ir,frontend,...}/  the public headers (included as "ir/ir.h", ...)
#   P/lib/cmake/dlc/                  dlcConfig.cmake: find_package(dlc) -> dlc::dlc
# dlc::dlc brings every library and, through find_dependency, their link dependencies
# (LLVM 16, fmt, zlib, threads). The in-tree build has the same target as an alias.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

add_library(dlc_api INTERFACE)
set_target_properties(dlc_api PROPERTIES EXPORT_NAME dlc)
target_link_libraries(dlc_api INTERFACE dl_train dl_runtime dl_codegen dl_passes dl_frontend dl_data dl_ir)
target_include_directories(dlc_api INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/dlc>)
target_compile_features(dlc_api INTERFACE cxx_std_20)
add_library(dlc::dlc ALIAS dlc_api)

set(DLC_INSTALLED_LIBS dl_ir dl_data dl_frontend dl_passes dl_codegen dl_runtime dl_train)
install(TARGETS ${DLC_INSTALLED_LIBS} dlc_api EXPORT dlcTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS dlc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Public headers: every header of the libraries except the LLVM-facing internals of
# codegen/, plus the .def tables they include.
foreach(dir ir frontend passes codegen runtime runtime/data train)
  file(GLOB headers ${PROJECT_SOURCE_DIR}/${dir}/*.h ${PROJECT_SOURCE_DIR}/${dir}/*.def)
  list(FILTER headers EXCLUDE REGEX "codegen/(llvm_support|kernel_emitter)\\.h$")
  install(FILES ${headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/dlc/${dir})
endforeach()

set(DLC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/dlc)
install(EXPORT dlcTargets NAMESPACE dlc:: DESTINATION ${DLC_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/dlcConfig.cmake.in
  ${PROJECT_BINARY_DIR}/dlcConfig.cmake INSTALL_DESTINATION ${DLC_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/dlcConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/dlcConfig.cmake ${PROJECT_BINARY_DIR}/dlcConfigVersion.cmake
  DESTINATION ${DLC_CMAKE_DIR})

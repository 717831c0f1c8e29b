# `cmake --install build --prefix P`: the libraries (static, or shared with BUILD_SHARED_LIBS=ON),
# the public headers (P/include/deepcomp/deepcomp.h and the two internal headers they include),
# the deepcomp binary, the CMake package (find_package(deepcomp) -> deepcomp::deepcomp) and
# deepcomp.pc. docs/LIBRARY.md shows how a project uses them.
include(CMakePackageConfigHelpers)

set(DEEPCOMP_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/deepcomp)

install(TARGETS ${DEEPCOMP_INSTALL_TARGETS} deepcomp_api EXPORT deepcompTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS deepcomp RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/deepcomp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
# The public headers use the library's Status/Result and CompressReport (plain std-only headers).
install(FILES ${PROJECT_SOURCE_DIR}/core/status.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/deepcomp/core)
install(FILES ${PROJECT_SOURCE_DIR}/compress/report.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/deepcomp/compress)

install(EXPORT deepcompTargets NAMESPACE deepcomp:: DESTINATION ${DEEPCOMP_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/deepcompConfig.cmake.in
  ${PROJECT_BINARY_DIR}/deepcompConfig.cmake INSTALL_DESTINATION ${DEEPCOMP_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/deepcompConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/deepcompConfig.cmake
  ${PROJECT_BINARY_DIR}/deepcompConfigVersion.cmake DESTINATION ${DEEPCOMP_CMAKE_DIR})

# pkg-config: the libraries in link order, then what they link.
set(DEEPCOMP_PC_LIBS "-ldeepcomp -ldeepcomp_toolkit -ldeepcomp_onnx_io -ldeepcomp_compress \
-ldeepcomp_runtime -ldeepcomp_data -ldeepcomp_kernels -ldeepcomp_core -lonnx -lonnx_proto")
# Shared builds: programs built from the .pc find the libraries at run time without
# LD_LIBRARY_PATH.
if(BUILD_SHARED_LIBS)
  set(DEEPCOMP_PC_RPATH "-Wl,-rpath,\${libdir}")
endif()
# Relocatable: the prefix is found from the .pc file's own folder, so --prefix P at install time
# works whatever CMAKE_INSTALL_PREFIX was at configure time.
string(REGEX REPLACE "[^/]+" ".." DEEPCOMP_PC_UP "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
configure_file(${PROJECT_SOURCE_DIR}/cmake/deepcomp.pc.in ${PROJECT_BINARY_DIR}/deepcomp.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/deepcomp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

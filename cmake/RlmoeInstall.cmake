# Installs the headers and an exported rlmoeConfig.cmake so that outside projects can use
# find_package(rlmoe CONFIG REQUIRED) and link rlmoe::rlmoe, or find_package(rlmoe COMPONENTS cuda)
# and link rlmoe::cuda (exported apart, in rlmoeCudaTargets.cmake, read only when asked for), and
# likewise the components mpi and nccl (rlmoe::mpi, rlmoe::nccl).
include(CMakePackageConfigHelpers)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/rlmoe" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS rlmoe EXPORT rlmoeTargets)

set(RLMOE_CONFIG_INSTALL_DIR "${CMAKE_INSTALL_DATADIR}/cmake/rlmoe")
install(EXPORT rlmoeTargets NAMESPACE rlmoe:: DESTINATION "${RLMOE_CONFIG_INSTALL_DIR}")
if(TARGET rlmoe_cuda)
  install(TARGETS rlmoe_cuda EXPORT rlmoeCudaTargets)
  install(EXPORT rlmoeCudaTargets NAMESPACE rlmoe:: DESTINATION "${RLMOE_CONFIG_INSTALL_DIR}")
endif()
# The distributed components likewise, each in its own file: rlmoe::mpi, rlmoe::nccl.
if(TARGET rlmoe_mpi)
  install(TARGETS rlmoe_mpi EXPORT rlmoeMpiTargets)
  install(EXPORT rlmoeMpiTargets NAMESPACE rlmoe:: DESTINATION "${RLMOE_CONFIG_INSTALL_DIR}")
endif()
if(TARGET rlmoe_nccl)
  install(TARGETS rlmoe_nccl EXPORT rlmoeNcclTargets)
  install(EXPORT rlmoeNcclTargets NAMESPACE rlmoe:: DESTINATION "${RLMOE_CONFIG_INSTALL_DIR}")
endif()

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/rlmoeConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/rlmoeConfig.cmake"
  INSTALL_DESTINATION "${RLMOE_CONFIG_INSTALL_DIR}")
# Header-only, so the package fits any architecture.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/rlmoeConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion
  ARCH_INDEPENDENT)
install(FILES
  "${PROJECT_BINARY_DIR}/rlmoeConfig.cmake"
  "${PROJECT_BINARY_DIR}/rlmoeConfigVersion.cmake"
  DESTINATION "${RLMOE_CONFIG_INSTALL_DIR}")

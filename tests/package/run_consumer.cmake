# Configures, builds and runs the consumer project against rlmoe (MODE):
#   find_package      after `cmake --install` of RLMOE_BUILD_DIR, with the cuda component when
#                     rlmoe was built with CUDA;
#   add_subdirectory, fetchcontent   rlmoe's sources, with CUDA when rlmoe was built with it;
#   cpu_only          the same install, used by a CPU-only project on a machine where the CUDA
#                     toolkit cannot be found (hidden): it must build, and asking for the cuda
#                     component must fail with a message that says why.
# Where there is no GPU the CUDA programs run on the host (they fall back to it).
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${result}): ${command}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(configure_args -DRLMOE_CONSUME=${MODE} -DRLMOE_SOURCE_DIR=${RLMOE_SOURCE_DIR})
set(environment "")
if(MODE STREQUAL "find_package" OR MODE STREQUAL "cpu_only")
  run(${CMAKE_COMMAND} --install "${RLMOE_BUILD_DIR}" --prefix "${WORK_DIR}/prefix")
  list(APPEND configure_args "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix" -DRLMOE_CONSUME=find_package)
endif()
if(MODE STREQUAL "cpu_only")
  # No nvcc on PATH, no toolkit for find_package(CUDAToolkit).
  set(environment ${CMAKE_COMMAND} -E env --unset=CUDA_PATH --unset=CUDAToolkit_ROOT --unset=CUDACXX PATH=/usr/bin:/bin)
  list(APPEND configure_args -DCMAKE_DISABLE_FIND_PACKAGE_CUDAToolkit=ON)
elseif(WITH_CUDA)
  list(APPEND configure_args -DCONSUMER_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)
else()
  list(APPEND configure_args -DRLMOE_ENABLE_CUDA=OFF)
endif()
run(${environment} ${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=Release
    ${configure_args})
run(${environment} ${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/group_means")
if(WITH_CUDA AND NOT MODE STREQUAL "cpu_only")
  run("${WORK_DIR}/build/group_means_cuda")
endif()
if(MODE STREQUAL "cpu_only")
  execute_process(COMMAND ${environment} ${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/build_cuda" -G "${GENERATOR}"
                          ${configure_args} -DCONSUMER_ASKS_FOR_CUDA=ON
                  RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(result EQUAL 0)
    message(FATAL_ERROR "find_package(rlmoe COMPONENTS cuda) succeeded without a CUDA toolkit:\n${output}")
  endif()
  if(WITH_CUDA)
    set(expected "the cuda component needs the CUDA toolkit")
  else()
    set(expected "this rlmoe was installed without the Cuda backend")
  endif()
  string(FIND "${output}" "${expected}" found)
  if(found LESS 0)
    message(FATAL_ERROR "find_package(rlmoe COMPONENTS cuda) failed without saying \"${expected}\":\n${output}")
  endif()
endif()

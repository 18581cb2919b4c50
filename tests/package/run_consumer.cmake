# Configures, builds and runs the consumer project against rlmoe in one of three ways (MODE):
# find_package after `cmake --install` of RLMOE_BUILD_DIR, add_subdirectory, or FetchContent.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${result}): ${command}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(configure_args -DRLMOE_CONSUME=${MODE} -DRLMOE_SOURCE_DIR=${RLMOE_SOURCE_DIR})
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install "${RLMOE_BUILD_DIR}" --prefix "${WORK_DIR}/prefix")
  list(APPEND configure_args "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix")
  if(WITH_CUDA)
    list(APPEND configure_args -DCONSUMER_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)
  endif()
else()
  # The library alone: a project that adds rlmoe gets no rlmoe tests, examples or CUDA.
  list(APPEND configure_args -DRLMOE_ENABLE_CUDA=OFF)
endif()
run(${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=Release ${configure_args})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/group_means")
if(MODE STREQUAL "find_package" AND WITH_CUDA)
  run("${WORK_DIR}/build/group_means_cuda")  # on the GPU when there is one, else on the host
endif()

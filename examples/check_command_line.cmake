# Runs PROGRAM with ARGUMENTS (a list) and checks its exit status (STATUS) and that its output
# contains EXPECT, literally.
execute_process(COMMAND ${PROGRAM} ${ARGUMENTS} RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT status EQUAL STATUS)
  message(FATAL_ERROR "${PROGRAM} ${ARGUMENTS} exited with ${status}, not ${STATUS}:\n${output}")
endif()
string(FIND "${output}" "${EXPECT}" found)
if(found LESS 0)
  message(FATAL_ERROR "${PROGRAM} ${ARGUMENTS} did not say\n  ${EXPECT}\nbut:\n${output}")
endif()
message(STATUS "${ARGUMENTS}: exit ${status}, as expected")

# Compiles SOURCE twice with the C++ compiler (syntax only): with -DRLMOE_EXPECT_SUCCESS it must
# compile, which shows the file is otherwise sound; without it, it must fail with a diagnostic
# that matches EXPECT (the name of the concept that refuses the type).
separate_arguments(flags UNIX_COMMAND "${FLAGS}")
execute_process(COMMAND ${COMPILER} ${flags} -DRLMOE_EXPECT_SUCCESS -fsyntax-only "${SOURCE}"
                RESULT_VARIABLE good_result OUTPUT_VARIABLE good_output ERROR_VARIABLE good_output)
if(NOT good_result EQUAL 0)
  message(FATAL_ERROR "the accepted variant of ${SOURCE} does not compile:\n${good_output}")
endif()
execute_process(COMMAND ${COMPILER} ${flags} -fsyntax-only "${SOURCE}"
                RESULT_VARIABLE bad_result OUTPUT_VARIABLE bad_output ERROR_VARIABLE bad_output)
if(bad_result EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but its type should have been refused")
endif()
if(NOT bad_output MATCHES "${EXPECT}")
  message(FATAL_ERROR "${SOURCE} failed to compile, but the diagnostic does not name ${EXPECT}:\n${bad_output}")
endif()
message(STATUS "refused, naming ${EXPECT}")

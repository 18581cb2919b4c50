# Compiles SOURCE twice with the C++ compiler (syntax only): with -DRLMOE_EXPECT_SUCCESS it must
# compile, which shows the file is otherwise sound; without it, it must fail with a diagnostic
# that contains EXPECT (and EXPECT_ALSO, literally) and, when ERRORS is given, with exactly that many errors: the
# refusal's one message, and no follow-on errors after it.
separate_arguments(flags UNIX_COMMAND "${FLAGS}")
execute_process(COMMAND ${COMPILER} ${flags} -DRLMOE_EXPECT_SUCCESS -fsyntax-only "${SOURCE}"
                RESULT_VARIABLE good_result OUTPUT_VARIABLE good_output ERROR_VARIABLE good_output)
if(NOT good_result EQUAL 0)
  message(FATAL_ERROR "the accepted variant of ${SOURCE} does not compile:\n${good_output}")
endif()
execute_process(COMMAND ${COMPILER} ${flags} -fdiagnostics-plain-output -fsyntax-only "${SOURCE}"
                RESULT_VARIABLE bad_result OUTPUT_VARIABLE bad_output ERROR_VARIABLE bad_output)
if(bad_result EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but its type should have been refused")
endif()
foreach(expected IN ITEMS "${EXPECT}" "${EXPECT_ALSO}")
  string(FIND "${bad_output}" "${expected}" found)
  if(found LESS 0)
    message(FATAL_ERROR "${SOURCE} failed to compile, but the diagnostic does not contain\n  ${expected}\n${bad_output}")
  endif()
endforeach()
if(DEFINED ERRORS)
  string(REGEX MATCHALL "error: " errors "${bad_output}")
  list(LENGTH errors count)
  if(NOT count EQUAL ERRORS)
    message(FATAL_ERROR "${SOURCE} failed with ${count} errors, not ${ERRORS}:\n${bad_output}")
  endif()
endif()
message(STATUS "refused with: ${EXPECT}")

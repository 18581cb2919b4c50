# Runs fault_probe under mpirun (MODE throw or hang, RANK the failing one) and checks that every
# rank ends within LIMIT seconds, that mpirun exits non-zero, and that the output names the
# failing rank and its error (throw) or the collective and the rank it waited for (hang).
#   cmake -DMPIEXEC=... -DRANKS=4 -DPROBE=... -DMODE=throw -DRANK=2 -DLIMIT=30 [-DFLAGS=...] -P check_faults.cmake
separate_arguments(flags UNIX_COMMAND "${FLAGS}")
string(TIMESTAMP start "%s")
execute_process(COMMAND ${MPIEXEC} -n ${RANKS} ${flags} ${PROBE} ${MODE} ${RANK}
                RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output TIMEOUT 120)
string(TIMESTAMP end "%s")
math(EXPR seconds "${end} - ${start}")
message(STATUS "mpirun exited with '${result}' after ${seconds} s:\n${output}")
if(result EQUAL 0 OR result MATCHES "timeout")
  message(FATAL_ERROR "a failing rank should end the job with a non-zero status, but mpirun gave '${result}'")
endif()
if(seconds GREATER LIMIT)
  message(FATAL_ERROR "the job took ${seconds} s to end after one rank failed (limit ${LIMIT} s)")
endif()
if(MODE STREQUAL "throw")
  set(expected "rank ${RANK} of ${RANKS} failed: GrpoConfig: prompts_per_step is 0")
else()
  # Whichever waiting rank reports first ends the job, so the rank that reports is not fixed.
  set(expected "barrier (collective #2) on 'world' (${RANKS} ranks) at rank ")
  set(also "waited 3 s for ranks ${RANK} (at collective #1)")
endif()
foreach(part IN ITEMS "${expected}" "${also}")
  string(FIND "${output}" "${part}" found)
  if(found LESS 0)
    message(FATAL_ERROR "the output does not contain\n  ${part}")
  endif()
endforeach()

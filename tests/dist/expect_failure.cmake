# SPDX-License-Identifier: Apache-2.0
# Runs COMMAND (a ;-list) and passes when it fails (exit status not 0)
# within LIMIT seconds and its output matches EXPECT: a run whose process
# died or hung must end, with an error that says why, not hang.
string(TIMESTAMP start "%s")
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT ${LIMIT})
string(TIMESTAMP end "%s")
math(EXPR took "${end} - ${start}")
message("exit status: ${rc}, ${took} s\n--- output:\n${out}\n--- errors:\n${err}")
if(rc STREQUAL "0")
  message(FATAL_ERROR "expected the run to fail, it succeeded")
endif()
if(rc MATCHES "timeout|Process terminated due to timeout")
  message(FATAL_ERROR "the run did not end within ${LIMIT} s")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "the output does not say '${EXPECT}'")
endif()

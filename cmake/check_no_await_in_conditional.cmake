# SPDX-License-Identifier: Apache-2.0
# check_no_await_in_conditional.cmake — fails when a source line puts co_await inside a
# conditional expression (cond ? co_await a : co_await b). GCC 12 destroys such a
# temporary twice: a refused UNLINK crashed the cluster cleanup with a double free.
# Write an if/else instead. Run as: cmake -DROOT=<source dir> -P check_no_await_in_conditional.cmake
cmake_minimum_required(VERSION 3.25)
file(GLOB_RECURSE files "${ROOT}/src/*.cpp" "${ROOT}/src/*.hpp" "${ROOT}/include/*.hpp" "${ROOT}/tests/*.cpp")
set(bad "")
foreach(f IN LISTS files)
  file(STRINGS "${f}" lines REGEX "co_await")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "//.*$" "" code "${line}")
    if(code MATCHES "\\?[^;:]*co_await" OR code MATCHES "\\?[^;]*:[^:;][^;]*co_await")
      string(APPEND bad "\n  ${f}: ${line}")
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "co_await inside a conditional expression (use if/else):${bad}")
endif()

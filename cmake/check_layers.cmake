# SPDX-License-Identifier: Apache-2.0
# check_layers.cmake — fails the build when a file includes a header of a layer above
# its own (DESIGN.md, "Layers"). Run as: cmake -DROOT=<source dir> -P check_layers.cmake
#
# A file's layer is its folder (src/<layer>/, tests/<layer>/, include/swarmkeeper/<layer>/);
# an included header's layer likewise. Each layer may include its own
# headers and those of the layers listed for it.
cmake_minimum_required(VERSION 3.25)
set(allowed_resp    "resp")
set(allowed_metrics "metrics")
set(allowed_queue   "queue")
set(allowed_sched   "sched")
set(blocks          "metrics;queue;sched")
set(allowed_net     "net;resp;${blocks}")
set(allowed_client  "client;net;resp;${blocks}")
set(allowed_cache   "cache;client;net;resp;${blocks}")
set(allowed_coord   "coord;cache;client;net;resp;${blocks}")
set(allowed_monitor "monitor;coord;cache;client;net;resp;${blocks}")
set(allowed_cli     "cli;monitor;coord;cache;client;net;resp;${blocks}")
set(allowed_support "support;net;resp;${blocks}")

set(layers resp metrics queue sched net client cache coord monitor cli)

# A header's layer is its folder: swarmkeeper/<layer>/x.hpp (public) or <layer>/x.hpp
# (private, under src/). The few public headers directly in swarmkeeper/ (error.hpp,
# version.hpp) are the base every layer may include: they count as resp, the lowest.
function(layer_of_header header out)
  if(header MATCHES "^swarmkeeper/([a-z_]+)/")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  elseif(header MATCHES "^swarmkeeper/[^/]+$")
    set(${out} "resp" PARENT_SCOPE)
  elseif(header MATCHES "^([a-z_]+)/")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

file(GLOB_RECURSE files RELATIVE "${ROOT}" "${ROOT}/src/*.cpp" "${ROOT}/src/*.hpp" "${ROOT}/include/*.hpp"
     "${ROOT}/tests/*.cpp" "${ROOT}/tests/*.hpp")
set(errors "")
foreach(f ${files})
  set(layer "")
  if(f MATCHES "^(src|tests)/([a-z_]+)/")
    set(layer "${CMAKE_MATCH_2}")
  elseif(f MATCHES "^include/(.*)$")
    layer_of_header("${CMAKE_MATCH_1}" layer)
  endif()
  if(NOT DEFINED allowed_${layer})
    continue()
  endif()
  # tests/<layer>/ may also use the test support.
  set(ok ${allowed_${layer}})
  if(f MATCHES "^tests/")
    list(APPEND ok support)
  endif()
  file(STRINGS "${ROOT}/${f}" lines REGEX "^#include \"")
  foreach(line ${lines})
    string(REGEX REPLACE "^#include \"([^\"]+)\".*$" "\\1" header "${line}")
    layer_of_header("${header}" target)
    if(target STREQUAL "" OR target IN_LIST ok)
      continue()
    endif()
    string(APPEND errors "  ${f} (layer ${layer}) includes ${header} (layer ${target}); ${layer} may include: ${ok}\n")
  endforeach()
endforeach()
if(errors)
  message(FATAL_ERROR "wrong-way includes (DESIGN.md, \"Layers\": a layer includes only those below it):\n${errors}")
endif()

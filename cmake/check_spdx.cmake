# SPDX-License-Identifier: Apache-2.0
# check_spdx.cmake — fails when a source, header, script, build or web file lacks the
# licence line (SPDX-License-Identifier: Apache-2.0) in its first three lines.
# Data files (JSON, the fuzz corpus) and prose (Markdown) carry none.
# Run as: cmake -DROOT=<source dir> -P check_spdx.cmake
cmake_minimum_required(VERSION 3.25)
set(patterns)
foreach(dir src include tests bench fuzz examples scripts cmake deploy packaging web docs)
  foreach(ext cpp hpp h sh cmake js mjs css html yml yaml conf cron service timer in)
    list(APPEND patterns "${ROOT}/${dir}/*.${ext}")
  endforeach()
endforeach()
file(GLOB_RECURSE files ${patterns})
file(GLOB packaging_files "${ROOT}/packaging/deb/*")
list(APPEND files "${ROOT}/CMakeLists.txt" "${ROOT}/run.sh" ${packaging_files})
list(FILTER files EXCLUDE REGEX "/node_modules/|/fuzz/corpus/")
set(missing "")
set(checked 0)
foreach(f IN LISTS files)
  file(STRINGS "${f}" head LIMIT_COUNT 3)
  math(EXPR checked "${checked} + 1")
  if(NOT head MATCHES "SPDX-License-Identifier: Apache-2\\.0")
    string(APPEND missing "\n  ${f}")
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "files without the licence line (SPDX-License-Identifier: Apache-2.0 in the first three lines):${missing}")
endif()
message(STATUS "${checked} files carry the licence line")

# Installs the npm packages the integration tests read our outputs with (package.json +
# package-lock.json of SRC_DIR, `npm ci` into WORK_DIR/node_modules). Run with cmake -P at build
# time; a failed install warns and the tests that need a package skip instead of failing the build.
file(MAKE_DIRECTORY "${WORK_DIR}")
foreach(f package.json package-lock.json)
  file(COPY_FILE "${SRC_DIR}/${f}" "${WORK_DIR}/${f}" ONLY_IF_DIFFERENT)
endforeach()
execute_process(COMMAND "${NPM}" ci --ignore-scripts --no-audit --no-fund --loglevel=error
                WORKING_DIRECTORY "${WORK_DIR}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err TIMEOUT 300)
if(NOT rc EQUAL 0 OR NOT EXISTS "${WORK_DIR}/node_modules/pmtiles/package.json")
  message(WARNING "tests: `npm ci` in ${WORK_DIR} failed (${rc}): ${err}; the PMTiles node-decoder test will skip")
  return()
endif()
file(TOUCH "${WORK_DIR}/installed.stamp")

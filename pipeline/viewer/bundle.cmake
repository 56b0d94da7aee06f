# Assembles the viewer of `qinling serve` into OUT_DIR: our page files from SRC_DIR and OpenLayers'
# prebuilt bundle (dist/ol.js, ol.css) from the npm package ol@OL_VERSION, fetched once with
# `npm pack` into WORK_DIR. Run with cmake -P; a failed fetch warns and leaves the viewer disabled
# (the server then says so at /) instead of failing the build.
file(MAKE_DIRECTORY "${OUT_DIR}" "${WORK_DIR}")
foreach(f index.html viewer.js viewer.css)
  file(COPY_FILE "${SRC_DIR}/${f}" "${OUT_DIR}/${f}" ONLY_IF_DIFFERENT)
endforeach()
set(tgz "${WORK_DIR}/ol-${OL_VERSION}.tgz")
if(NOT EXISTS "${tgz}")
  execute_process(COMMAND "${NPM}" pack "ol@${OL_VERSION}" --silent
                  WORKING_DIRECTORY "${WORK_DIR}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err TIMEOUT 300)
  if(NOT rc EQUAL 0 OR NOT EXISTS "${tgz}")
    message(WARNING "viewer: `npm pack ol@${OL_VERSION}` failed (${rc}): ${err}; `qinling serve` will run without its viewer page")
    return()
  endif()
endif()
file(ARCHIVE_EXTRACT INPUT "${tgz}" DESTINATION "${WORK_DIR}" PATTERNS package/dist/ol.js package/ol.css)
if(NOT EXISTS "${WORK_DIR}/package/dist/ol.js" OR NOT EXISTS "${WORK_DIR}/package/ol.css")
  message(WARNING "viewer: ol@${OL_VERSION} has no prebuilt dist/ol.js + ol.css; pick a version that does (QINLING_OL_VERSION)")
  return()
endif()
file(COPY_FILE "${WORK_DIR}/package/dist/ol.js" "${OUT_DIR}/ol.js" ONLY_IF_DIFFERENT)
file(COPY_FILE "${WORK_DIR}/package/ol.css" "${OUT_DIR}/ol.css" ONLY_IF_DIFFERENT)

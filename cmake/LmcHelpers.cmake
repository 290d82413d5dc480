# lmc_cc_library(NAME SRCS ... DEPS ...): a static library of the lmc tree.
# lmc_cc_test(NAME SRCS ... DEPS ... [LABELS ...]): a GoogleTest binary registered
# with CTest. Both mirror abseil's absl_cc_library / absl_cc_test.
include(CMakeParseArguments)

function(lmc_cc_library)
  cmake_parse_arguments(L "" "NAME" "SRCS;DEPS;COPTS" ${ARGN})
  add_library(${L_NAME} STATIC ${L_SRCS})
  target_include_directories(${L_NAME} PUBLIC ${PROJECT_SOURCE_DIR}
                                              ${PROJECT_BINARY_DIR})
  target_link_libraries(${L_NAME} PUBLIC ${L_DEPS})
  target_compile_options(${L_NAME} PRIVATE ${LMC_WARNINGS} ${L_COPTS})
endfunction()

function(lmc_cc_test)
  if(NOT LMC_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SRCS})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_options(${T_NAME} PRIVATE ${LMC_WARNINGS})
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT}
                       LABELS "${T_LABELS}"
                       ENVIRONMENT "LMC_SOURCE_DIR=${PROJECT_SOURCE_DIR};LMC_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()

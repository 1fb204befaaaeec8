# Helpers that give every module the same shape (DESIGN.md, "Layout"; STYLE.md habit 11).

set(WRIT_WARNINGS -Wall -Wextra -Wpedantic -Werror -Wshadow -Wnon-virtual-dtor -Wold-style-cast
                  -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # g++ 12 at -O2 reports false "maybe uninitialized" positives inside std::variant and simdjson
  # (GCC bugs 105562, 107138); clang's -Wsometimes-uninitialized keeps watch in the asan build.
  # g++ 12 also warns on designated initializers that leave members to their defaults, which is
  # exactly how options structs are meant to be used (STYLE.md habit 7).
  list(APPEND WRIT_WARNINGS -Wno-maybe-uninitialized -Wno-missing-field-initializers)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # clang 14 with libstdc++ 12 does not enable Asio's coroutine support by itself (DESIGN.md quirks).
  add_compile_definitions(BOOST_ASIO_HAS_CO_AWAIT BOOST_ASIO_HAS_STD_COROUTINE)
  # g++ 12's -Wnull-dereference fires inside inlined CLI11 and Asio code, so only clang checks it.
  list(APPEND WRIT_WARNINGS -Wthread-safety -Wnull-dereference)
endif()

if(WRIT_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # clang 14's -fsanitize=function prologue data cannot be emitted for C++20 coroutine bodies
    # ("Cannot represent a difference across sections" in Asio code); the rest of UBSan stays on.
    add_compile_options(-fno-sanitize=function)
  endif()
  add_link_options(-fsanitize=address,undefined)
endif()

# writ_module(<name> SOURCES <files...> DEPS <targets...> [PRIVATE_DEPS <targets...>])
# Declares the static library writ_<name> built from src/<name>/. Its public headers are
# included as "<name>/<header>.h"; DEPS are the writ modules and libraries it may use.
function(writ_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(writ_${name} STATIC ${ARG_SOURCES})
  target_include_directories(writ_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(writ_${name} PRIVATE ${WRIT_WARNINGS})
  # Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
  target_compile_options(writ_${name} PRIVATE -include utility)
  target_link_libraries(writ_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  set_property(GLOBAL APPEND PROPERTY WRIT_MODULE_DEPS "${name}:${ARG_DEPS};${ARG_PRIVATE_DEPS}")
endfunction()

# writ_tests(<module> SOURCES <files...> [DEPS <targets...>] [LABELS <labels...>])
# Builds one GoogleTest binary writ_<module>_tests and registers it with CTest. Tests run from
# the repository root, so shared data is at ../shared (WRIT_SHARED_DIR) and the build tree at
# WRIT_BINARY_DIR.
function(writ_tests module)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  set(target writ_${module}_tests)
  add_executable(${target} ${ARG_SOURCES})
  target_compile_options(${target} PRIVATE ${WRIT_WARNINGS} -include utility)
  target_link_libraries(${target} PRIVATE writ_${module} writ_testing ${ARG_DEPS}
                                          GTest::gmock GTest::gtest GTest::gtest_main)
  target_compile_definitions(${target} PRIVATE
    WRIT_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    WRIT_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared"
    WRIT_BINARY_DIR="${PROJECT_BINARY_DIR}")
  add_test(NAME ${module} COMMAND ${target} --gtest_brief=1
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  set_tests_properties(${module} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${module};${ARG_LABELS}")
endfunction()

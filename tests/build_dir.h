/* tests/build_dir.h — where a test writes scratch files: the build tree of the
 * run, $BUILD (make asan: build-asan), else build; tests run from the
 * repository root. Header-only, for the C tests. */
#ifndef BH_TESTS_BUILD_DIR_H
#define BH_TESTS_BUILD_DIR_H

#include <stdio.h>
#include <stdlib.h>

/* buf = BUILD_DIR/name */
static inline void test_build_path(char *buf, size_t cap, const char *name)
{
    const char *bd = getenv("BUILD");
    snprintf(buf, cap, "%s/%s", bd && *bd ? bd : "build", name);
}

#endif

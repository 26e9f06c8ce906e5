/* tests/asan.h — defines BH_TEST_ASAN when the test is built with
 * AddressSanitizer (GCC's __SANITIZE_ADDRESS__ or clang's __has_feature),
 * for the tests that cap the address space: ASan's shadow memory alone is
 * far above any such cap, so they skip there. Header-only. */
#ifndef BH_TESTS_ASAN_H
#define BH_TESTS_ASAN_H

#if defined(__SANITIZE_ADDRESS__)
#define BH_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BH_TEST_ASAN 1
#endif
#endif

#endif

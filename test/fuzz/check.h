// FUZZ_CHECK: an invariant of a fuzz target. A broken one prints what broke
// and aborts, which libFuzzer (and the corpus replay) reports as a crash.
#ifndef ROSTER_TEST_FUZZ_CHECK_H_
#define ROSTER_TEST_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                          \
  do {                                                                 \
    if (!(condition)) {                                                \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, \
                   __LINE__, #condition);                              \
      std::abort();                                                    \
    }                                                                  \
  } while (0)

#endif  // ROSTER_TEST_FUZZ_CHECK_H_

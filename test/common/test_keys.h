// Keys and keyrings for the tests: a key is one byte repeated.
#ifndef ROSTER_TEST_COMMON_TEST_KEYS_H_
#define ROSTER_TEST_COMMON_TEST_KEYS_H_

#include <memory>
#include <string>
#include <vector>

#include "roster/keyring.h"

namespace roster {

inline std::string Key(char fill) {
  return std::string(Keyring::kKeyBytes, fill);
}

// Aborts the test binary on a bad key list: the tests only pass good ones.
inline std::shared_ptr<Keyring> Ring(const std::vector<std::string>& keys) {
  return Keyring::Create(keys).value();
}

}  // namespace roster

#endif  // ROSTER_TEST_COMMON_TEST_KEYS_H_

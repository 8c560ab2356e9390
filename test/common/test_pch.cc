// The program whose only job is to build the tests' precompiled header
// (test/CMakeLists.txt, roster_test_pch): an executable, so that it is
// compiled as every test is (position-independent for an executable), and
// every test can reuse it.
int main() { return 0; }

#!/usr/bin/env bash
# Runs the test suite under a sanitizer: scripts/sanitize.sh address|thread [swift test options…]
#
# jemalloc, TapeGrad's allocator, replaces malloc and operator new for the whole process, and a
# sanitizer must own them itself; so these builds set TAPEGRAD_SYSTEM_ALLOCATOR=1, which makes
# Package.swift build the CJemalloc module on the C library's allocator (Sources/CJemallocFallback)
# and the sanitizer's allocator the only one. The tests that count allocations skip themselves
# there (they need jemalloc's statistics). Each sanitizer builds in its own scratch path
# (.build-asan, .build-tsan), leaving .build alone. OpenBLAS runs on one thread.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizer="${1:-}"
case "$sanitizer" in
    address) scratch=.build-asan ;;
    thread) scratch=.build-tsan ;;
    *) echo "usage: $0 address|thread [swift test options…]" >&2; exit 2 ;;
esac
shift

export TAPEGRAD_SYSTEM_ALLOCATOR=1
export OPENBLAS_NUM_THREADS=1
# ASan: stop at the first error; LeakSanitizer on, with scripts/lsan.supp. TSan: report every
# race, then fail (exit 66), with scripts/tsan.supp.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp:print_suppressions=1}"

# gold warns once per ASan helper symbol it cannot export (about 150 lines): not shown.
swift build --build-tests --scratch-path "$scratch" --sanitize="$sanitizer" 2>&1 \
    | { grep -v "warning: Cannot export local symbol '__asan_" || true; }
# The suite is Swift Testing's only (no XCTest cases): --disable-xctest skips XCTest's empty run.
swift test --skip-build --disable-xctest --scratch-path "$scratch" --sanitize="$sanitizer" "$@"

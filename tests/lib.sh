# Shared by the shell tests: `source "$(dirname "$0")/lib.sh"`.
#   check NAME CONDITION...   counts CONDITION's success, says FAIL: NAME otherwise
#   finish TEST_NAME          prints the tally; exits non-zero if anything failed
#   need_npm TEST_NAME DIR    exits non-zero unless DIR's pinned npm packages are installed
pass=0 fail=0
check() {
  local name=$1
  shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name" >&2; fi
}
finish() {
  echo "$1: $pass passed, $fail failed"
  ((fail == 0))
  exit
}
need_npm() {
  [[ -d $2/node_modules ]] || { echo "$1: no $2/node_modules; run scripts/install-deps.sh"; exit 1; }
}

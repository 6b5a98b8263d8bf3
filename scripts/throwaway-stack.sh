# Sourced by test.sh, soak.sh, fuzz.sh and bench.sh: builds (a failed build stops the
# caller, loudly), then starts a throwaway stack under .run/NAME/ on its own ports, and
# stops it when the caller exits.
#   throwaway_stack NAME PORT_PREFIX BUILD_CONFIG
# Ports: PREFIX080 public, PREFIX443 TLS, PREFIX081 internal, PREFIX082 static, and SMTP on
# <first digit>2525. A debug build includes the tests.
throwaway_stack() {
    local name="$1" prefix="$2" config="$3"
    export STACK_DIR="$REPO/.run/$name" PUBLIC_PORT="${prefix}080" TLS_PORT="${prefix}443" INTERNAL_PORT="${prefix}081" \
           STATIC_PORT="${prefix}082" SMTP_PORT="${prefix:0:1}2525" BUILD_CONFIG="$config"
    echo "== build ($config)"
    if [ "$config" = debug ]; then
        swift build --build-tests
    else
        swift build -c "$config"
    fi
    echo "== start a throwaway stack in $STACK_DIR"
    scripts/stack.sh stop >/dev/null 2>&1 || true
    rm -rf "$STACK_DIR"
    trap 'throwaway_cleanup' EXIT
    SKIP_BUILD=1 scripts/stack.sh start
}

# Extra teardown a caller may set (a function name), run before the stack stops.
THROWAWAY_EXTRA_CLEANUP=""
throwaway_cleanup() {
    local status=$?
    [ -n "$THROWAWAY_EXTRA_CLEANUP" ] && "$THROWAWAY_EXTRA_CLEANUP"
    scripts/stack.sh stop >/dev/null 2>&1 || true
    exit $status
}

# The README's commands. Each script says what it does at its top.
.PHONY: run stop test test-cluster build clean bench soak fuzz

run:
	@scripts/install-deps.sh
	@scripts/stack.sh start

stop:
	@scripts/stack.sh stop
	@STACK_DIR=$(CURDIR)/.run/test scripts/stack.sh stop >/dev/null 2>&1 || true

test:
	@scripts/install-deps.sh
	@scripts/test.sh

test-cluster:
	@scripts/install-deps.sh
	@scripts/test-cluster.sh

build:
	swift build -c release

clean: stop
	rm -rf .run .build

bench:
	@scripts/install-deps.sh
	@scripts/bench.sh

soak:
	@scripts/install-deps.sh
	@scripts/soak.sh

fuzz:
	@scripts/install-deps.sh
	@scripts/fuzz.sh

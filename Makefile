# libdrt - the two commands of the README, and a few shortcuts.
#   make demo    install dependencies, build, run the demo
#   make check   install dependencies, run everything CI runs
.PHONY: demo check deps build test fuzz install clean

demo: deps
	sh scripts/demo.sh

check: deps
	sh scripts/check.sh

deps:
	sh scripts/deps.sh

build: deps
	cmake -S . -B build/dev -DDRT_WERROR=ON
	cmake --build build/dev -j

test: build
	ctest --test-dir build/dev --output-on-failure -j

fuzz: deps
	sh scripts/fuzz.sh $(or $(SECONDS),60)

install: build
	cmake --install build/dev $(if $(PREFIX),--prefix $(PREFIX),)

clean:
	rm -rf build

# The two commands of README.md: `make run` and `make test`.
.PHONY: run test build bench vet

run:
	go run ./cmd/tasker serve

# test installs redis-server, chromium and systemd-analyze when the machine
# has none (the store tests need a real Redis, the console's tests a real
# browser, the unit file's test systemd-analyze), then runs every test with
# the race detector.
test:
	./scripts/ensure-test-tools
	go vet ./...
	go test -race -count=1 -timeout 12m ./...

build:
	go build -o bin/tasker ./cmd/tasker

vet:
	gofmt -l . | (! grep .) && go vet ./...

GO ?= go
BIN := livechat

.PHONY: build run test race lint fuzz bench generate clean

build:
	$(GO) build -o $(BIN) ./cmd/livechat

run: build
	./$(BIN) serve

test:
	$(GO) test -race -count=1 -timeout 15m ./...

generate:
	protoc --proto_path=. --go_out=. --go_opt=module=livechat persistence/pb/records.proto actors/pb/messages.proto

clean:
	rm -f $(BIN)

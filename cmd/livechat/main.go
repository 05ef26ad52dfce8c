// Command livechat is the LiveChat chat engine: `serve` runs the server,
// `client` is a terminal chat client, `bench` a load generator that speaks
// the wire protocol, `backup` and `restore` copy the database, `version`
// prints the build.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
)

const usage = `usage: livechat <command> [flags]

commands:
  serve     run the server (REST + WebSocket, embedded database)
  client    terminal chat client (client --help)
  bench     load generator over real sockets (bench --help)
  backup    copy the database, running or stopped (backup --help)
  restore   load a backup into an empty data directory (restore --help)
  version   print the version
`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(args[1:])
	case "client":
		return runClient(args[1:])
	case "bench":
		return runBench(args[1:])
	case "backup":
		return runBackup(args[1:])
	case "restore":
		return runRestore(args[1:])
	case "version", "--version", "-version":
		fmt.Println("livechat", version())
		return 0
	case "help", "-h", "--help":
		fmt.Print(usage)
		return 0
	}
	fmt.Fprintf(os.Stderr, "livechat: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
		return bi.Main.Version
	}
	return "devel"
}

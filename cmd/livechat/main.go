// Command livechat is the LiveChat chat engine: `serve` runs the server,
// `client` is a terminal chat client, `bench` a load generator that speaks
// the wire protocol, `backup` and `restore` copy the database, `cluster
// local` runs a cluster of serve processes on one machine, `version`
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
  cluster   run a cluster of nodes on this machine (cluster local --help)
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
	case "cluster":
		return runCluster(args[1:])
	case "version", "--version", "-version":
		fmt.Println("livechat", buildVersion(version, debug.ReadBuildInfo))
		return 0
	case "help", "-h", "--help":
		fmt.Print(usage)
		return 0
	}
	fmt.Fprintf(os.Stderr, "livechat: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// version is set when building: make build passes
// -ldflags "-X main.version=$(git describe --always --dirty)".
var version string

// buildVersion is the version set at build time, else the commit Go
// stamped into the binary (go build in a git checkout does), else the
// module version (go install livechat@v1.2.3), else "devel".
func buildVersion(set string, readBuildInfo func() (*debug.BuildInfo, bool)) string {
	if set != "" {
		return set
	}
	bi, ok := readBuildInfo()
	if !ok {
		return "devel"
	}
	var revision, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(revision) >= 12 {
		return revision[:12] + dirty
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	return "devel"
}

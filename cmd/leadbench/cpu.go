package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc's CPU times: USER_HZ, 100 on every Linux
// architecture leadbench runs on.
const userHZ = 100

// cpuSample is the CPU time (user and system) processes had used at one
// instant: the server's, and all of PostgreSQL's and Redis's processes'.
type cpuSample struct {
	server, postgres, redis time.Duration
}

// sampleCPU reads the CPU times of the server pid (0: none) and of every
// postgres and redis-server process of the machine.
func sampleCPU(pid int) cpuSample {
	s := cpuSample{}
	if pid != 0 {
		s.server, _ = procCPU(filepath.Join("/proc", strconv.Itoa(pid)))
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		comm, err := os.ReadFile(filepath.Join(dir, "comm"))
		if err != nil {
			continue // gone meanwhile
		}
		switch strings.TrimSpace(string(comm)) {
		case "postgres":
			d, _ := procCPU(dir)
			s.postgres += d
		case "redis-server":
			d, _ := procCPU(dir)
			s.redis += d
		}
	}
	return s
}

// procCPU returns the user and system CPU time of the process of the /proc
// directory dir, all its threads together, and of its children that have
// exited. PostgreSQL's backends are the postmaster's children: one that
// exits during a run leaves its time in the postmaster's, so the sum over
// the postgres processes never goes back.
func procCPU(dir string) (time.Duration, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return 0, err
	}
	return parseStat(raw)
}

// parseStat reads utime, stime, cutime and cstime (fields 14 to 17) of a
// /proc/PID/stat line; the command name (field 2) may hold spaces and
// parentheses, so the fields are counted from its closing parenthesis.
func parseStat(raw []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %q: no command", raw)
	}
	fields := strings.Fields(string(raw[i+1:]))
	if len(fields) < 15 {
		return 0, fmt.Errorf("stat %q: too short", raw)
	}
	var ticks int64
	for _, f := range fields[11:15] { // utime, stime, cutime, cstime: fields 14 to 17 of the line
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat %q: %w", raw, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// cpuReport is the CPU time a run cost per lead created, in microseconds.
type cpuReport struct {
	// Server is what Server names (the process given by --server-pid, or
	// leadbench's own when it runs the server, the load's work included)
	// spent per lead; 0 without a process.
	ServerUS float64 `json:"serverUs"`
	Server   string  `json:"server,omitempty"`
	// Postgres and Redis are every postgres and redis-server process of
	// the machine together.
	PostgresUS float64 `json:"postgresUs"`
	RedisUS    float64 `json:"redisUs"`
}

// perLead is the CPU used from before to after, per lead of created.
func perLead(before, after cpuSample, created int64, server string) *cpuReport {
	if created <= 0 {
		return nil
	}
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(created) }
	return &cpuReport{ServerUS: us(after.server - before.server), Server: server,
		PostgresUS: us(after.postgres - before.postgres), RedisUS: us(after.redis - before.redis)}
}

// print writes the report on one line.
func (c *cpuReport) print(w io.Writer) {
	fmt.Fprintf(w, "  CPU µs per lead ")
	if c.Server != "" {
		fmt.Fprintf(w, "%s %.0f  ", c.Server, c.ServerUS)
	}
	fmt.Fprintf(w, "postgres %.0f  redis %.0f\n", c.PostgresUS, c.RedisUS)
}

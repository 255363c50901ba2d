package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat.
// Linux fixes it at 100 on every architecture Go supports; reading it
// would take cgo (sysconf).
const clockTicks = 100

// loadAverage returns the 1-minute load average, or -1 if unreadable.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// procStat is the part of /proc/<pid>/stat the suite reads.
type procStat struct {
	comm           string
	ppid           int
	utime, stime   int64 // ticks used by the process
	cutime, cstime int64 // ticks used by its waited-for children
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// comm is in parentheses and may contain spaces: split after the last ')'.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state); utime is field 14, so f[11].
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	num := func(i int) int64 { v, _ := strconv.ParseInt(f[i], 10, 64); return v }
	return procStat{
		comm: string(b[open+1 : end]), ppid: int(num(1)),
		utime: num(11), stime: num(12), cutime: num(13), cstime: num(14),
	}, nil
}

func ticksToDuration(t int64) time.Duration { return time.Duration(t) * time.Second / clockTicks }

// processCPU returns the CPU time (user + system) pid has used so far.
func processCPU(pid int) (time.Duration, error) {
	st, err := readProcStat(pid)
	if err != nil {
		return 0, err
	}
	return ticksToDuration(st.utime + st.stime), nil
}

// commandCPU returns the CPU time used so far by every process named comm,
// plus, for the ones whose parent has another name (a postmaster), what
// their exited children used: the CPU of a PostgreSQL server, backends
// that came and went included.
func commandCPU(comm string) time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	stats := map[int]procStat{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readProcStat(pid); err == nil && st.comm == comm {
			stats[pid] = st
		}
	}
	var ticks int64
	for _, st := range stats {
		ticks += st.utime + st.stime
		if _, child := stats[st.ppid]; !child {
			ticks += st.cutime + st.cstime
		}
	}
	return ticksToDuration(ticks)
}

// selfCPU returns the CPU time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// listenerPID returns the pid of the process listening on the TCP port of
// addr (host:port) on this machine, found through /proc/net/tcp{,6} and the
// processes' socket file descriptors. It needs the rights to read other
// processes' fds (root, or the same user).
func listenerPID(addr string) (int, error) {
	_, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return 0, fmt.Errorf("port of %s: %w", addr, err)
	}
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		collectListenInodes(f, port, inodes)
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no process listens on port %d here", port)
	}
	procs, err := filepath.Glob("/proc/[0-9]*/fd/*")
	if err != nil {
		return 0, err
	}
	for _, fd := range procs {
		link, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			pid, err := strconv.Atoi(strings.Split(fd, "/")[2])
			if err == nil {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("port %d: listening socket found but not its process (not allowed to read /proc/*/fd?)", port)
}

// collectListenInodes adds the inodes of the sockets listening on port
// listed in file (/proc/net/tcp format) to inodes.
func collectListenInodes(file string, port int, inodes map[string]bool) {
	f, err := os.Open(file)
	if err != nil {
		return
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// sl local_address rem_address st ... inode (field 9)
		if len(fields) < 10 || fields[3] != "0A" || !strings.HasSuffix(fields[1], want) {
			continue
		}
		inodes[fields[9]] = true
	}
}

// Durability says whether a PostgreSQL server commits durably.
type Durability struct {
	Fsync             string `json:"fsync"`
	SynchronousCommit string `json:"synchronous_commit"`
	// Durable is true only when both are on: with either off, a crash of
	// the machine can lose commits Temporal was told were durable.
	Durable bool   `json:"durable"`
	Error   string `json:"error,omitempty"`
}

func (d Durability) String() string {
	if d.Error != "" {
		return "durability unknown (" + d.Error + ")"
	}
	s := fmt.Sprintf("fsync=%s synchronous_commit=%s", d.Fsync, d.SynchronousCommit)
	if d.Durable {
		return s + ": commits are durable"
	}
	return s + ": commits are NOT durable, figures are an upper bound"
}

// pgDurability reads fsync and synchronous_commit from the PostgreSQL at dsn.
func pgDurability(ctx context.Context, dsn string) Durability {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return Durability{Error: err.Error()}
	}
	defer conn.Close(ctx)
	var d Durability
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&d.Fsync); err != nil {
		return Durability{Error: err.Error()}
	}
	if err := conn.QueryRow(ctx, "SHOW synchronous_commit").Scan(&d.SynchronousCommit); err != nil {
		return Durability{Error: err.Error()}
	}
	// synchronous_commit local, remote_write, remote_apply and on all
	// flush the local WAL before acknowledging; only off does not.
	d.Durable = d.Fsync == "on" && d.SynchronousCommit != "off"
	return d
}

// Machine describes where a report was measured.
type Machine struct {
	Cores     int    `json:"cores"`
	CPU       string `json:"cpu,omitempty"`
	MemoryGiB int    `json:"memory_gib,omitempty"`
	Kernel    string `json:"kernel,omitempty"`
	GoVersion string `json:"go_version"`
}

func describeMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryGiB = int((kb + 1<<19) >> 20)
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

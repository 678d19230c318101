package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// rssEvery is how often the service's resident memory is sampled.
const rssEvery = 50 * time.Millisecond

// readRSS returns the resident set size of a process in bytes, from
// VmRSS in /proc/<pid>/status.
func readRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read memory of process %d: VmRSS %q: %w", pid, strings.TrimSpace(rest), err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("read memory of process %d: no VmRSS line", pid)
}

// readCPU returns the user plus system CPU time a process has used, from
// utime and stime in /proc/<pid>/stat.
func readCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read CPU time of process %d: %w", pid, err)
	}
	// The command name in parentheses may hold spaces: fields start after
	// its closing parenthesis, with the state (field 3) first.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("read CPU time of process %d: malformed stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("read CPU time of process %d: short stat", pid)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime and stime, fields 14 and 15
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read CPU time of process %d: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// sampleRSS samples the process's resident memory every rssEvery until the
// returned function is called; that function returns the peak in bytes, or
// -1 when no sample could be read.
func sampleRSS(pid int) (stop func() int64) {
	m := watchRSS(pid)
	return func() int64 {
		m.stop()
		peak, _ := m.read()
		return peak
	}
}

// rssWatch samples a process's resident memory every rssEvery, for runs
// that read it while it goes on and measure it in phases.
type rssWatch struct {
	mu         sync.Mutex
	peak, last int64 // bytes; -1 until a sample was read
	quit, done chan struct{}
	once       sync.Once
}

// watchRSS starts sampling; stop ends it.
func watchRSS(pid int) *rssWatch {
	w := &rssWatch{peak: -1, last: -1, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(rssEvery)
		defer tick.Stop()
		for {
			if rss, err := readRSS(pid); err == nil {
				w.mu.Lock()
				w.last, w.peak = rss, max(w.peak, rss)
				w.mu.Unlock()
			}
			select {
			case <-w.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// read returns the peak since the start or the last phase, and the latest sample.
func (w *rssWatch) read() (peak, last int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.peak, w.last
}

// phase returns the peak so far and starts a new one from the latest sample.
func (w *rssWatch) phase() (peak int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	peak, w.peak = w.peak, w.last
	return peak
}

// stop ends the sampling; read still answers afterwards. It may be called
// more than once.
func (w *rssWatch) stop() {
	w.once.Do(func() { close(w.quit) })
	<-w.done
}

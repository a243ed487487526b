// Package procstat reads a process's memory figures from /proc (Linux): the
// soak test and the benchmark report them.
package procstat

import (
	"bufio"
	"fmt"
	"os"
)

// KiB is a "<key> <n> kB" line of /proc/<pid>/status ("self" for this
// process), e.g. key "VmRSS" (resident now) or "VmHWM" (peak resident);
// -1 when it cannot be read.
func KiB(pid, key string) int64 {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb int64
		if n, _ := fmt.Sscanf(sc.Text(), key+": %d kB", &kb); n == 1 {
			return kb
		}
	}
	return -1
}

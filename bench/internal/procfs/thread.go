package procfs

import "syscall"

// ThreadCPU is the CPU time of the calling OS thread in nanoseconds (0 if
// it cannot be read). With one intra-op thread ONNX Runtime computes on the
// caller's thread, so around a recogniser call on a locked OS thread this
// measures the call without the time other processes take from it.
func ThreadCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// rusageThread is Linux's RUSAGE_THREAD.
const rusageThread = 1

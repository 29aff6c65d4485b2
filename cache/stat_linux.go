//go:build linux

package cache

import (
	"io/fs"
	"syscall"
)

func sysStat(fi fs.FileInfo, k *statKey) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	k.Ctime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	k.Ino = st.Ino
	k.Dev = uint64(st.Dev)
}

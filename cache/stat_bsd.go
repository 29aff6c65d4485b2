//go:build darwin || freebsd

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
	k.Ctime = st.Ctimespec.Sec*1e9 + st.Ctimespec.Nsec
	k.Ino = uint64(st.Ino)
	k.Dev = uint64(st.Dev)
}

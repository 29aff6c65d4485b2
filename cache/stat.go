package cache

import "io/fs"

// statKey is what the stat cache compares: if any field differs from the
// recorded one, the file is rehashed. ctime catches writes that restore the
// old mtime (touch -d, rsync -t, tar x); inode and dev catch a file replaced
// by a rename.
type statKey struct {
	Size  int64
	Mtime int64 // ns since 1970
	Ctime int64 // ns since 1970; 0 where the platform has none
	Ino   uint64
	Dev   uint64
}

// statKeyOf extracts the key from a FileInfo returned by os.Stat.
func statKeyOf(fi fs.FileInfo) statKey {
	k := statKey{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
	sysStat(fi, &k)
	return k
}

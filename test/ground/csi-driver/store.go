package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// The driver's whole state is a directory tree, so a restarted driver picks up where it left off
// and a test can look at it:
//
//	<state>/volumes/<id>/meta.json, data/     a volume: its recorded size and its files
//	<state>/snapshots/<id>/meta.json, data/   a snapshot: an independent copy of a volume's files
//	<state>/tmp/                              half-built or half-deleted entries, cleared at start
//
// An entry is built under tmp/ and renamed into place, so it exists completely or not at all.

type volumeMeta struct {
	Name             string `json:"name"`
	CapacityBytes    int64  `json:"capacityBytes"`
	SourceSnapshotID string `json:"sourceSnapshotId,omitempty"`
}

type snapshotMeta struct {
	Name           string    `json:"name"`
	SourceVolumeID string    `json:"sourceVolumeId"`
	SizeBytes      int64     `json:"sizeBytes"`
	CreationTime   time.Time `json:"creationTime"`
	ReadyToUse     bool      `json:"readyToUse"`
}

type store struct{ root string }

func openStore(root string) (*store, error) {
	s := &store{root: root}
	if err := os.RemoveAll(filepath.Join(root, "tmp")); err != nil {
		return nil, err
	}
	for _, d := range []string{"volumes", "snapshots", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// idFor derives an ID from the name the CO chose, so a retried create finds its first attempt.
func idFor(prefix, name string) string {
	sum := sha256.Sum256([]byte(name))
	return prefix + hex.EncodeToString(sum[:12])
}

func (s *store) volumeDir(id string) string   { return filepath.Join(s.root, "volumes", id) }
func (s *store) snapshotDir(id string) string { return filepath.Join(s.root, "snapshots", id) }

// validID keeps IDs from the CO from walking out of the state directory.
func validID(id string) bool {
	return id != "" && id != "." && id != ".." && filepath.Base(id) == id
}

// readMeta returns fs.ErrNotExist when the entry does not exist.
func readMeta(dir string, into any) error {
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, "meta.json"), err)
	}
	return nil
}

func (s *store) volume(id string) (*volumeMeta, error) {
	if !validID(id) {
		return nil, fs.ErrNotExist
	}
	var m volumeMeta
	if err := readMeta(s.volumeDir(id), &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func (s *store) snapshot(id string) (*snapshotMeta, error) {
	if !validID(id) {
		return nil, fs.ErrNotExist
	}
	var m snapshotMeta
	if err := readMeta(s.snapshotDir(id), &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// create builds an entry: data/ is a copy of copyFrom (or empty), then meta.json, then the rename.
func (s *store) create(final string, meta any, copyFrom string) error {
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "new-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	data := filepath.Join(tmp, "data")
	if copyFrom != "" {
		err = copyTree(copyFrom, data)
	} else if err = os.Mkdir(data, 0o777); err == nil {
		// Any pod user may write to a fresh volume (test ground; fsGroup still applies).
		err = os.Chmod(data, 0o777)
	}
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "meta.json"), b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, final)
}

// remove moves an entry out of sight first, so a crash never leaves half an entry in place.
func (s *store) remove(dir string) error {
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "del-")
	if err != nil {
		return err
	}
	if err := os.Rename(dir, filepath.Join(tmp, "entry")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		os.RemoveAll(tmp)
		return err
	}
	return os.RemoveAll(tmp)
}

func (s *store) snapshotIDs() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.root, "snapshots"))
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		ids = append(ids, e.Name())
	}
	return ids, nil
}

// copyTree copies a directory tree with its modes, owners, times and symlinks. Sockets are
// skipped (they mean nothing without their process); device files are refused.
func copyTree(src, dst string) error {
	var dirs []string // directory times are set last, after their contents were written
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			if err := os.Mkdir(to, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, path)
		case mode.IsRegular():
			if err := copyFile(path, to); err != nil {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, to); err != nil {
				return err
			}
		case mode&fs.ModeNamedPipe != 0:
			if err := syscall.Mkfifo(to, 0o600); err != nil {
				return err
			}
		case mode&fs.ModeSocket != 0:
			return nil
		default:
			return fmt.Errorf("%s: cannot copy a file of type %s", path, mode.Type())
		}
		return copyAttributes(info, to)
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		info, err := os.Lstat(dirs[i])
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, dirs[i])
		if err := os.Chtimes(filepath.Join(dst, rel), info.ModTime(), info.ModTime()); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyAttributes sets owner, mode (with setuid/setgid/sticky) and modification time.
func copyAttributes(info fs.FileInfo, to string) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if ok {
		if err := os.Lchown(to, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		return nil // Linux has no symlink modes, and Chtimes would follow the link
	}
	if err := os.Chmod(to, info.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	return os.Chtimes(to, info.ModTime(), info.ModTime())
}

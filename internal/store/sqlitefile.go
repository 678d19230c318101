package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ProbeSQLite tells whether the SQLite file a database URL names exists,
// and whether it could be opened for writing, or created and written, as
// serve would (with createDirs, after creating its missing directories).
// It leaves nothing behind: a file or directory it creates to find out is
// removed. The error gives the operating system's reason ("permission
// denied", "not a directory"), or wraps ErrNoDirectory.
func ProbeSQLite(databaseURL string, createDirs bool) (exists bool, err error) {
	path, err := SQLitePath(databaseURL)
	if err != nil {
		return false, err
	}
	return probeSQLite(path, createDirs)
}

func probeSQLite(path string, createDirs bool) (exists bool, err error) {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return true, fmt.Errorf("%s is a directory", path)
	case err == nil:
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return true, fmt.Errorf("the file cannot be opened for writing: %w", reason(err))
		}
		f.Close()
		// SQLite creates its -wal and -shm files beside the database.
		return true, canCreateIn(filepath.Dir(path))
	case !errors.Is(err, fs.ErrNotExist):
		return false, err // "stat /a/b.db: not a directory", "permission denied"
	}
	dir := filepath.Dir(path)
	if err := dirExists(dir); err != nil {
		if !createDirs || !errors.Is(err, ErrNoDirectory) {
			return false, err
		}
		// The directories would be made in the nearest one that exists.
		for parent := filepath.Dir(dir); ; parent = filepath.Dir(parent) {
			err := dirExists(parent)
			if err == nil {
				return false, canCreateIn(parent)
			}
			if !errors.Is(err, ErrNoDirectory) || parent == filepath.Dir(parent) {
				return false, err
			}
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, fmt.Errorf("the file cannot be created: %w", reason(err))
	}
	_, werr := f.Write([]byte("probe"))
	if err := f.Close(); werr == nil {
		werr = err
	}
	os.Remove(path)
	if werr != nil {
		return false, fmt.Errorf("the file cannot be written: %w", reason(werr))
	}
	return false, nil
}

// CreateSQLiteDir creates the missing directories of the SQLite file a
// database URL names, and returns the directory when it created any.
func CreateSQLiteDir(databaseURL string) (created string, err error) {
	path, err := SQLitePath(databaseURL)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(path)
	if err := dirExists(dir); !errors.Is(err, ErrNoDirectory) {
		return "", nil // there, or not creatable: Open explains which
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("create database directory %s: %w", dir, reason(err))
	}
	return dir, nil
}

// dirExists reports a missing directory as ErrNoDirectory, and why another
// one cannot be used.
func dirExists(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s", ErrNoDirectory, dir)
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// canCreateIn tells whether new files can be created in dir, by creating
// one and removing it.
func canCreateIn(dir string) error {
	f, err := os.CreateTemp(dir, ".webhook-receiver-probe-*")
	if err != nil {
		return fmt.Errorf("no file can be created in %s: %w", dir, reason(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// reason is the operating system's reason in a path error, without the
// path and operation the caller names already.
func reason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

//go:build windows

package report

import (
	"os"
	"path/filepath"
)

// pendingFile is a temporary file renamed over the target. renameio does not support Windows;
// os.Rename there is MoveFileEx with MOVEFILE_REPLACE_EXISTING, which replaces in one step on
// NTFS.
type pendingFile struct {
	*os.File
	path string
	done bool
}

func newPendingFile(path string) (*pendingFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	return &pendingFile{File: f, path: path}, nil
}

func (p *pendingFile) commit() error {
	if err := p.Sync(); err != nil {
		return err
	}
	if err := p.Close(); err != nil {
		return err
	}
	if err := os.Rename(p.Name(), p.path); err != nil {
		return err
	}
	p.done = true
	return nil
}

func (p *pendingFile) cleanup() {
	if p.done {
		return
	}
	_ = p.Close()
	_ = os.Remove(p.Name())
}

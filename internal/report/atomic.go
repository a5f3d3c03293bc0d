package report

import (
	"bufio"
	"fmt"
	"io"
)

// WriteFileAtomic writes a file through write so that readers (node_exporter's textfile
// collector, a browser, a CI job) see either the old file or the whole new one, never a half
// written file: it writes a temporary file in the same directory, fsyncs it and renames it over
// path. If write fails, path is left untouched.
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	f, err := newPendingFile(path)
	if err != nil {
		return fmt.Errorf("write %s: %w (check that the directory exists and is writable)", path, err)
	}
	defer f.cleanup()
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.commit(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

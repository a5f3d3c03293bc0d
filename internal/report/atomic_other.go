//go:build !windows

package report

import "github.com/google/renameio/v2"

// pendingFile is renameio's temp-file-then-rename, which also fsyncs the directory.
type pendingFile struct{ *renameio.PendingFile }

func newPendingFile(path string) (*pendingFile, error) {
	// 0644: outputs are meant to be read by other users (node_exporter, a web server).
	pf, err := renameio.NewPendingFile(path, renameio.WithPermissions(0o644))
	if err != nil {
		return nil, err
	}
	return &pendingFile{pf}, nil
}

func (p *pendingFile) commit() error { return p.CloseAtomicallyReplace() }

// cleanup removes the temporary file; after commit it is a no-op.
func (p *pendingFile) cleanup() { _ = p.Cleanup() }

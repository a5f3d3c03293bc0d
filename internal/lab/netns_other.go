//go:build !linux

package lab

func inNetns(path string, fn func() error) error { return ErrUnsupported }

func lockEtc() (func(), error) { return nil, ErrUnsupported }

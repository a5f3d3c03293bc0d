//go:build !linux

package lab

import "context"

func delaySynAcks(context.Context, *Lab, *Host, DelaySynAcks) (func(context.Context) error, error) {
	return nil, ErrUnsupported
}

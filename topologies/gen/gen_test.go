package main

import (
	"bytes"
	"os"
	"testing"
)

// TestCommittedFileIsGenerated: topologies/large-estate.yaml is exactly what gen writes, so
// nobody edits it by hand and loses the change on the next run.
func TestCommittedFileIsGenerated(t *testing.T) {
	want, err := os.ReadFile("../large-estate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := generate(); !bytes.Equal(got, want) {
		t.Errorf("topologies/large-estate.yaml is stale: run go run ./topologies/gen -o topologies/large-estate.yaml")
	}
}

package gitstore

import (
	"context"
	"testing"

	"github.com/promptreg/promptreg/registry"
)

// TestTransferSlots: what needs the clone to itself waits for, or gives up
// on, the transfers running, and never keeps part of the slots.
func TestTransferSlots(t *testing.T) {
	s := &Store{transfers: make(chan struct{}, maxTransfers)}
	if err := s.acquireTransfer(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.tryExclusive(); ok {
		t.Fatal("tryExclusive succeeded while a transfer runs")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.exclusive(ctx, "test"); registry.ErrorCode(err) != registry.ETIMEOUT {
		t.Fatalf("exclusive with an ended context while a transfer runs: %v, want ETIMEOUT", err)
	}
	if got := len(s.transfers); got != 1 {
		t.Fatalf("%d slots taken after giving up, want the transfer's 1", got)
	}
	// Another transfer may still start, and run beside the first.
	if err := s.acquireTransfer(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	s.releaseTransfer()
	s.releaseTransfer()
	release, ok := s.tryExclusive()
	if !ok {
		t.Fatal("tryExclusive failed with no transfer running")
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := s.acquireTransfer(ctx, "test"); registry.ErrorCode(err) != registry.ETIMEOUT {
		t.Errorf("a transfer during an exclusive section with an ended context: %v, want ETIMEOUT", err)
	}
	release()
	if got := len(s.transfers); got != 0 {
		t.Errorf("%d slots taken after release, want 0", got)
	}
}

// TestFetchRefRefusesTheCloneOwnRefs: no remote ref may move a keep ref.
func TestFetchRefRefusesTheCloneOwnRefs(t *testing.T) {
	s := &Store{transfers: make(chan struct{}, maxTransfers)}
	for _, ref := range []string{"refs/promptreg/keep/0123456789012345678901234567890123456789", "refs/promptreg/other"} {
		if _, err := s.FetchRef(context.Background(), ref); registry.ErrorCode(err) != registry.EINVALID {
			t.Errorf("FetchRef(%s) = %v, want EINVALID before any network I/O", ref, err)
		}
	}
}
